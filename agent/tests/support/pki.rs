//! Certificates and signing keys generated at test time with rcgen, shaped like the hub's
//! (`flotilla://cluster/<name>` URI SAN for an agent). Test code only; no key is checked in.

use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::SigningKey;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

pub struct CertifiedKey {
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    pub fn generate() -> Ca {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "test-ca");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    pub fn cert_pem(&self) -> String {
        self.cert.pem()
    }

    pub fn issue_hub(&self, ip: &str) -> CertifiedKey {
        let san = SanType::IpAddress(ip.parse().unwrap());
        self.issue("flotilla-hub", san, ExtendedKeyUsagePurpose::ServerAuth)
    }

    pub fn issue_agent(&self, cluster: &str) -> CertifiedKey {
        let uri = format!("flotilla://cluster/{cluster}");
        let san = SanType::URI(uri.as_str().try_into().unwrap());
        self.issue(cluster, san, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, name: &str, san: SanType, usage: ExtendedKeyUsagePurpose) -> CertifiedKey {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.subject_alt_names = vec![san];
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        CertifiedKey {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// A fresh bundle-signing key pair: (PKCS#8 private key PEM, SPKI public key PEM), the
/// formats `flotilla pki` writes.
pub fn generate_signing_key() -> (String, String) {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (private, public)
}
