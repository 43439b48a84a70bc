//! Certificates and TLS for one sandbox: a fresh CA and a server certificate per sandbox
//! (rcgen), the rustls server configuration (ring provider, set explicitly), and the
//! kubeconfig that trusts that CA. Never reads or writes key files.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::{Error, Result};

/// The CA (PEM, for the kubeconfig) and the server's TLS configuration.
pub struct Pki {
    pub ca_pem: String,
    pub server_config: Arc<rustls::ServerConfig>,
}

/// Generates a CA and a server certificate for 127.0.0.1 and localhost.
pub fn generate() -> Result<Pki> {
    let ca_key = KeyPair::generate().map_err(Error::Certificate)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(Error::Certificate)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "flotilla-sandbox-ca");
    let ca = ca_params.self_signed(&ca_key).map_err(Error::Certificate)?;

    let key = KeyPair::generate().map_err(Error::Certificate)?;
    let mut params =
        CertificateParams::new(vec!["localhost".to_string()]).map_err(Error::Certificate)?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params
        .distinguished_name
        .push(DnType::CommonName, "flotilla-sandbox");
    let cert = params
        .signed_by(&key, &ca, &ca_key)
        .map_err(Error::Certificate)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone(), ca.der().clone()];
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(Error::Tls)?;
    server_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Pki {
        ca_pem: ca.pem(),
        server_config: Arc::new(server_config),
    })
}

/// A kubeconfig with cluster, user and context all named "sandbox".
pub fn kubeconfig(addr: SocketAddr, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster:
    server: https://{addr}
    certificate-authority-data: {ca}
users:
- name: sandbox
  user:
    token: {token}
contexts:
- name: sandbox
  context:
    cluster: sandbox
    user: sandbox
    namespace: default
current-context: sandbox
preferences: {{}}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_config_with_alpn() {
        let pki = generate().unwrap();
        assert!(pki.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(pki.server_config.alpn_protocols.len(), 2);
    }

    #[test]
    fn kubeconfig_names_context_sandbox() {
        let k = kubeconfig("127.0.0.1:1234".parse().unwrap(), "pem", "tok");
        assert!(k.contains("current-context: sandbox"));
        assert!(k.contains("server: https://127.0.0.1:1234"));
        assert!(k.contains("token: tok"));
    }
}
