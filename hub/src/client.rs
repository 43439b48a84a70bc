//! A client for the hub's admin API over mutual TLS, for the CLI and for tests.

use std::path::Path;

use flotilla_proto::admin_service_client::AdminServiceClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::error::{read, Error, Result};

/// Connects to the admin API at `address` (`https://host:port`) with the CA that signed the
/// hub's certificate and an admin certificate and key.
pub async fn admin_client(
    address: &str,
    ca: &Path,
    cert: &Path,
    key: &Path,
) -> Result<AdminServiceClient<Channel>> {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(ca)?))
        .identity(Identity::from_pem(read(cert)?, read(key)?));
    let endpoint = Endpoint::from_shared(address.to_string())
        .map_err(|err| Error::InvalidArgument(format!("hub address `{address}`: {err}")))?
        .tls_config(tls)
        .map_err(|err| Error::Tls(err.to_string()))?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|err| Error::Connect(format!("{address}: {}", source_chain(&err))))?;
    Ok(AdminServiceClient::new(channel))
}

/// An error and its causes on one line, for transport errors whose own text is vague.
pub fn source_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
