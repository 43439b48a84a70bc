//! Flotilla's certificates and keys: a CA, the hub's server certificate, agent and admin
//! client certificates, and the ed25519 bundle-signing key pair.
//!
//! Identities travel as URI subject alternative names: `flotilla://cluster/<name>` for an
//! agent, `flotilla://admin/<name>` for an operator. The hub trusts a peer's identity only
//! from a certificate that chained to its CA during the TLS handshake; this module parses
//! that identity and never decides trust itself.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::SigningKey;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("peer certificate: {0}")]
    Peer(String),
    #[error("{0}")]
    Name(String),
}

const URI_PREFIX: &str = "flotilla://";

/// Who a client certificate speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    Cluster(String),
    Admin(String),
}

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct CertifiedKey {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The certificate authority that signs every hub, agent and admin certificate.
pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    pub fn generate(common_name: &str) -> Result<Ca> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Ca { cert, key })
    }

    /// Loads a CA written by [`Ca::cert_pem`] and [`Ca::key_pem`].
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Ca> {
        let cert_pem = read(cert_path)?;
        let key_pem = read(key_path)?;
        let key = KeyPair::from_pem(&key_pem).map_err(|err| Error::Invalid {
            path: key_path.to_path_buf(),
            message: format!("not a PEM private key: {err}"),
        })?;
        let params =
            CertificateParams::from_ca_cert_pem(&cert_pem).map_err(|err| Error::Invalid {
                path: cert_path.to_path_buf(),
                message: format!("not a PEM CA certificate: {err}"),
            })?;
        // Re-signing the same subject with the same key yields an equivalent issuer.
        let cert = params.self_signed(&key)?;
        Ok(Ca { cert, key })
    }

    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// The hub's server certificate, valid for the given DNS names and IP addresses.
    pub fn issue_hub(&self, hosts: &[String]) -> Result<CertifiedKey> {
        let sans = hosts
            .iter()
            .map(|host| match host.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName(host.as_str().try_into()?)),
            })
            .collect::<Result<Vec<_>>>()?;
        self.issue("flotilla-hub", sans, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// An agent's client certificate, naming the one cluster it serves.
    pub fn issue_agent(&self, cluster: &str) -> Result<CertifiedKey> {
        check_name("cluster", cluster)?;
        let uri = format!("{URI_PREFIX}cluster/{cluster}");
        self.issue(
            cluster,
            vec![SanType::URI(uri.as_str().try_into()?)],
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    /// An operator's client certificate for the admin API.
    pub fn issue_admin(&self, user: &str) -> Result<CertifiedKey> {
        check_name("admin", user)?;
        let uri = format!("{URI_PREFIX}admin/{user}");
        self.issue(
            user,
            vec![SanType::URI(uri.as_str().try_into()?)],
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    fn issue(
        &self,
        common_name: &str,
        sans: Vec<SanType>,
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<CertifiedKey> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(common_name);
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.cert, &self.key)?;
        Ok(CertifiedKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Identities become file and certificate names; only cluster-style names are accepted.
fn check_name(what: &str, name: &str) -> Result<()> {
    if flotilla_config::is_dns_label(name) {
        return Ok(());
    }
    Err(Error::Name(format!(
        "{what} name `{name}` must be lowercase letters, digits and '-', at most 63"
    )))
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "flotilla");
    dn
}

/// Reads the Flotilla identity from a DER client certificate. The caller must only pass
/// certificates the TLS layer has already verified against the CA.
pub fn identity_of(cert_der: &[u8]) -> Result<Identity> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|err| Error::Peer(format!("cannot parse: {err}")))?;
    let sans = cert
        .subject_alternative_name()
        .map_err(|err| Error::Peer(format!("bad subjectAltName: {err}")))?
        .ok_or_else(|| Error::Peer("no subjectAltName".to_string()))?;
    let mut found = None;
    for san in &sans.value.general_names {
        let x509_parser::extensions::GeneralName::URI(uri) = san else {
            continue;
        };
        let Some(rest) = uri.strip_prefix(URI_PREFIX) else {
            continue;
        };
        let identity = match rest.split_once('/') {
            Some(("cluster", name)) if valid_name(name) => Identity::Cluster(name.to_string()),
            Some(("admin", name)) if valid_name(name) => Identity::Admin(name.to_string()),
            _ => return Err(Error::Peer(format!("unrecognised identity `{uri}`"))),
        };
        if found.replace(identity).is_some() {
            return Err(Error::Peer("more than one flotilla identity".to_string()));
        }
    }
    found.ok_or_else(|| Error::Peer("no flotilla:// identity".to_string()))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

/// A fresh ed25519 bundle-signing key pair: (PKCS#8 private key PEM, SPKI public key PEM).
pub fn generate_signing_key() -> Result<(String, String)> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|err| Error::Peer(format!("encode signing key: {err}")))?;
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|err| Error::Peer(format!("encode public key: {err}")))?;
    Ok((private.to_string(), public))
}

/// File names `flotilla pki init` writes, relative to the PKI folder.
pub mod files {
    pub const CA: &str = "ca.pem";
    pub const CA_KEY: &str = "ca-key.pem";
    pub const HUB: &str = "hub.pem";
    pub const HUB_KEY: &str = "hub-key.pem";
    pub const ADMIN: &str = "admin.pem";
    pub const ADMIN_KEY: &str = "admin-key.pem";
    pub const SIGNING_KEY: &str = "signing-key.pem";
    pub const SIGNING_PUB: &str = "signing.pub";

    pub fn agent(cluster: &str) -> (String, String) {
        (
            format!("agent-{cluster}.pem"),
            format!("agent-{cluster}-key.pem"),
        )
    }
}

/// Writes a CA, a hub certificate for `hosts`, an admin certificate and a signing key pair
/// into `dir`. Refuses to overwrite an existing CA, which would orphan every issued cert.
pub fn init(dir: &Path, hosts: &[String]) -> Result<()> {
    let ca_path = dir.join(files::CA);
    if ca_path.exists() {
        return Err(Error::Invalid {
            path: ca_path,
            message: "already exists; remove the folder to start a new CA".to_string(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let ca = Ca::generate("flotilla-ca")?;
    let hub = ca.issue_hub(hosts)?;
    let admin = ca.issue_admin("admin")?;
    let (signing, public) = generate_signing_key()?;
    write_private(&dir.join(files::CA_KEY), &ca.key_pem())?;
    write_private(&dir.join(files::HUB_KEY), &hub.key_pem)?;
    write_private(&dir.join(files::ADMIN_KEY), &admin.key_pem)?;
    write_private(&dir.join(files::SIGNING_KEY), &signing)?;
    write(&dir.join(files::HUB), &hub.cert_pem)?;
    write(&dir.join(files::ADMIN), &admin.cert_pem)?;
    write(&dir.join(files::SIGNING_PUB), &public)?;
    write(&ca_path, &ca.cert_pem())
}

/// Issues `agent-<cluster>.pem` and its key into `dir`, signed by the CA there.
pub fn issue_agent(dir: &Path, cluster: &str) -> Result<(PathBuf, PathBuf)> {
    let ca = Ca::load(&dir.join(files::CA), &dir.join(files::CA_KEY))?;
    let agent = ca.issue_agent(cluster)?;
    let (cert, key) = files::agent(cluster);
    let (cert, key) = (dir.join(cert), dir.join(key));
    write_private(&key, &agent.key_pem)?;
    write(&cert, &agent.cert_pem)?;
    Ok((cert, key))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    file.write_all(contents.as_bytes())
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(pem: &str) -> Vec<u8> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        pem.contents
    }

    #[test]
    fn identities_round_trip() {
        let ca = Ca::generate("test-ca").unwrap();
        let agent = ca.issue_agent("cluster-1").unwrap();
        assert_eq!(
            identity_of(&der(&agent.cert_pem)).unwrap(),
            Identity::Cluster("cluster-1".into())
        );
        let admin = ca.issue_admin("ops").unwrap();
        assert_eq!(
            identity_of(&der(&admin.cert_pem)).unwrap(),
            Identity::Admin("ops".into())
        );
        let hub = ca
            .issue_hub(&["127.0.0.1".into(), "localhost".into()])
            .unwrap();
        assert!(identity_of(&der(&hub.cert_pem)).is_err());
        assert!(identity_of(b"not a certificate").is_err());
        for bad in ["../x", "Cluster_1", ""] {
            assert!(ca.issue_agent(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn init_then_issue_from_reloaded_ca() {
        let dir = tempfile::tempdir().unwrap();
        init(dir.path(), &["127.0.0.1".into()]).unwrap();
        assert!(init(dir.path(), &[])
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        let (cert, _) = issue_agent(dir.path(), "cluster-2").unwrap();
        let pem = std::fs::read_to_string(cert).unwrap();
        assert_eq!(
            identity_of(&der(&pem)).unwrap(),
            Identity::Cluster("cluster-2".into())
        );
        // The reloaded CA must sign certificates the original CA certificate verifies.
        let ca_pem = std::fs::read_to_string(dir.path().join(files::CA)).unwrap();
        let ca_der = der(&ca_pem);
        let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        let leaf_der = der(&pem);
        let (_, leaf) = x509_parser::parse_x509_certificate(&leaf_der).unwrap();
        leaf.verify_signature(Some(ca_cert.public_key())).unwrap();
    }
}
