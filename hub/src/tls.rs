//! Mutual TLS for the hub's two listeners, and reading a peer's identity.
//!
//! Both listeners require a client certificate chaining to the configured CA; the TLS layer
//! (tonic over rustls) refuses anything else before a request exists. This module then
//! maps the verified certificate to a Flotilla identity; it never accepts an identity from
//! anywhere but a verified certificate.

use flotilla_config::TlsFiles;
use tonic::transport::{Certificate, Identity as TlsIdentity, ServerTlsConfig};

use crate::error::{read, Error, Result};
use crate::pki::{identity_of, Identity};

pub fn server_config(files: &TlsFiles) -> Result<ServerTlsConfig> {
    let ca = read(&files.ca)?;
    let cert = read(&files.cert)?;
    let key = read(&files.key)?;
    Ok(ServerTlsConfig::new()
        .identity(TlsIdentity::from_pem(cert, key))
        .client_ca_root(Certificate::from_pem(ca)))
}

/// The identity of the client that sent `request`, from its verified certificate.
pub fn peer_identity<T>(request: &tonic::Request<T>) -> Result<Identity> {
    let certs = request
        .peer_certs()
        .ok_or_else(|| Error::PermissionDenied("no client certificate".to_string()))?;
    let leaf = certs
        .first()
        .ok_or_else(|| Error::PermissionDenied("no client certificate".to_string()))?;
    identity_of(leaf.as_ref()).map_err(|err| Error::PermissionDenied(err.to_string()))
}
