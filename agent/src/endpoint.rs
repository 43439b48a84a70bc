//! The hub endpoint: the `https://host:port` address with mutual TLS from the agent's CA,
//! certificate and key files, and the HTTP/2 settings of a long-lived stream.
//!
//! Builds configuration only; must never dial, and never fall back to plain text.

use std::path::{Path, PathBuf};

use flotilla_config::AgentConfig;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::timing::Timing;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("hub address `{address}`: {message}")]
    Address { address: String, message: String },
    #[error("hub TLS configuration: {0}")]
    Tls(#[source] tonic::transport::Error),
}

/// The hub's endpoint, ready to connect.
pub fn endpoint(config: &AgentConfig, timing: &Timing) -> Result<Endpoint> {
    let address_err = |message: String| Error::Address {
        address: config.hub.clone(),
        message,
    };
    let uri: tonic::codegen::http::Uri = config
        .hub
        .parse()
        .map_err(|err| address_err(format!("not a URL: {err}")))?;
    if uri.scheme_str() != Some("https") {
        return Err(address_err("must start with https://".to_string()));
    }
    let host = uri
        .host()
        .ok_or_else(|| address_err("has no host".to_string()))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();

    let ca = Certificate::from_pem(read(&config.tls.ca)?);
    let identity = Identity::from_pem(read(&config.tls.cert)?, read(&config.tls.key)?);
    let tls = ClientTlsConfig::new()
        .ca_certificate(ca)
        .identity(identity)
        .domain_name(host);

    let mut endpoint = Endpoint::from(uri).tls_config(tls).map_err(Error::Tls)?;
    if let Some(timeout) = timing.connect_timeout {
        endpoint = endpoint.connect_timeout(timeout);
    }
    if let Some((interval, timeout)) = timing.keepalive {
        endpoint = endpoint
            .http2_keep_alive_interval(interval)
            .keep_alive_timeout(timeout)
            .keep_alive_while_idle(true);
    }
    Ok(endpoint)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}
