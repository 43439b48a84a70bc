//! Bundles: one cluster's resolved units, encoded with prost and signed with the hub's
//! ed25519 key over the exact encoded bytes.
//!
//! A cluster's generation grows by one exactly when the content changes; re-rendering the
//! same content keeps the stored bundle and its generation. Nothing here sends or stores:
//! the caller persists the returned bundle before any agent sees it.

use std::path::Path;

use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use flotilla_proto::{Bundle, SignedBundle, Unit};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::store::StoredBundle;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot read signing key: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a PKCS#8 PEM ed25519 private key: {message}", path.display())]
    Key {
        path: std::path::PathBuf,
        message: String,
    },
}

/// The hub's bundle-signing key. `Debug` shows the key id only, never the key.
pub struct Signer {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl Signer {
    pub fn new(key: SigningKey) -> Signer {
        let key_id = key_id(&key.verifying_key());
        Signer { key, key_id }
    }

    pub fn load(path: &Path) -> Result<Signer, Error> {
        let pem = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let key = SigningKey::from_pkcs8_pem(&pem).map_err(|err| Error::Key {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
        Ok(Signer::new(key))
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn sign(&self, bundle: &Bundle) -> SignedBundle {
        let payload = bundle.encode_to_vec();
        let signature = self.key.sign(&payload).to_bytes().to_vec();
        SignedBundle {
            payload,
            signature,
            key_id: self.key_id.clone(),
        }
    }
}

/// The id agents pick the pinned key by (see [`flotilla_proto::key_id`]).
pub fn key_id(key: &VerifyingKey) -> String {
    flotilla_proto::key_id(key.as_bytes())
}

/// SHA-256 of the bundle's encoding with the generation zeroed.
pub fn content_hash(bundle: &Bundle) -> [u8; 32] {
    let unnumbered = Bundle {
        generation: 0,
        ..bundle.clone()
    };
    Sha256::digest(unnumbered.encode_to_vec()).into()
}

/// The cluster's next bundle for `units`, or `None` when `previous` already holds this
/// content.
pub fn next_bundle(
    previous: Option<&StoredBundle>,
    cluster: &str,
    revision: &str,
    units: Vec<Unit>,
    signer: &Signer,
) -> Option<StoredBundle> {
    let mut bundle = Bundle {
        cluster: cluster.to_string(),
        generation: 0,
        revision: revision.to_string(),
        units,
    };
    let hash = content_hash(&bundle);
    if previous.is_some_and(|p| p.content_hash == hash) {
        return None;
    }
    bundle.generation = previous.map_or(0, |p| p.generation) + 1;
    Some(StoredBundle {
        generation: bundle.generation,
        content_hash: hash,
        revision: revision.to_string(),
        signed: signer.sign(&bundle),
    })
}

/// The same content as `stored`, re-signed at `generation`; `None` when the stored payload
/// does not decode.
pub fn renumber(stored: &StoredBundle, generation: u64, signer: &Signer) -> Option<StoredBundle> {
    let mut bundle = Bundle::decode(stored.signed.payload.as_slice()).ok()?;
    bundle.generation = generation;
    Some(StoredBundle {
        generation,
        content_hash: stored.content_hash,
        revision: stored.revision.clone(),
        signed: signer.sign(&bundle),
    })
}

/// Keeps a bundle under `limit` encoded bytes: while it is over, the unit with the most
/// rendered bytes ships with an error instead of its objects (so the agent leaves what
/// the cluster has, rather than the whole cluster going without updates).
pub fn enforce_size_limit(units: &mut [Unit], limit: usize) {
    let mut total: usize = units.iter().map(|u| u.encoded_len() + 8).sum();
    while total > limit {
        let Some(largest) = units
            .iter_mut()
            .filter(|u| !u.objects.is_empty())
            .max_by_key(|u| u.encoded_len())
        else {
            return;
        };
        let before = largest.encoded_len();
        largest.error = format!(
            "unit renders {before} bytes, which would take the cluster's bundle over its {limit} byte limit"
        );
        largest.objects.clear();
        total = total - before + largest.encoded_len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, Verifier};

    fn signer() -> Signer {
        Signer::new(SigningKey::from_bytes(&[7; 32]))
    }

    fn units(image: &str) -> Vec<Unit> {
        vec![Unit {
            name: "sample".into(),
            namespace: "flux-system".into(),
            objects: vec![format!("{{\"image\":\"{image}\"}}")],
            ..Default::default()
        }]
    }

    #[test]
    fn generation_grows_only_when_content_changes() {
        let signer = signer();
        let first = next_bundle(None, "c1", "main@sha1:a", units("nginx:1"), &signer).unwrap();
        assert_eq!(first.generation, 1);
        assert!(
            next_bundle(Some(&first), "c1", "main@sha1:a", units("nginx:1"), &signer).is_none()
        );
        let second =
            next_bundle(Some(&first), "c1", "main@sha1:b", units("nginx:2"), &signer).unwrap();
        assert_eq!(second.generation, 2);
        let decoded = Bundle::decode(second.signed.payload.as_slice()).unwrap();
        assert_eq!(decoded.generation, 2);
        assert_eq!(decoded.cluster, "c1");
        assert_eq!(decoded.units, units("nginx:2"));
    }

    #[test]
    fn a_new_revision_is_new_content() {
        // Units report the revision they were applied at, so a commit that leaves a
        // cluster's objects alone still moves its generation, as Flux re-applies on every
        // revision of its source.
        let signer = signer();
        let first = next_bundle(None, "c1", "main@sha1:a", units("nginx:1"), &signer).unwrap();
        let second = next_bundle(Some(&first), "c1", "main@sha1:b", units("nginx:1"), &signer);
        assert_eq!(second.map(|b| b.generation), Some(2));
    }

    #[test]
    fn renumbering_keeps_content_and_signs_the_new_generation() {
        let signer = signer();
        let first = next_bundle(None, "c1", "r", units("nginx:1"), &signer).unwrap();
        let moved = renumber(&first, 58, &signer).unwrap();
        let decoded = Bundle::decode(moved.signed.payload.as_slice()).unwrap();
        assert_eq!((moved.generation, decoded.generation), (58, 58));
        assert_eq!(decoded.units, units("nginx:1"));
        assert_eq!(moved.content_hash, first.content_hash);
    }

    #[test]
    fn oversized_units_ship_with_an_error_instead_of_objects() {
        let big = |name: &str, size: usize| Unit {
            name: name.into(),
            objects: vec!["x".repeat(size)],
            ..Default::default()
        };
        let mut units = vec![big("small", 10), big("huge", 5000), big("medium", 900)];
        enforce_size_limit(&mut units, 2000);
        assert!(units[1].objects.is_empty());
        assert!(units[1].error.contains("byte limit"), "{}", units[1].error);
        assert_eq!(units[0].objects.len(), 1);
        assert_eq!(units[2].objects.len(), 1);
    }

    #[test]
    fn signature_covers_the_exact_payload() {
        let signer = signer();
        let bundle = next_bundle(None, "c1", "r", units("nginx:1"), &signer)
            .unwrap()
            .signed;
        let public = signer.key.verifying_key();
        assert_eq!(bundle.key_id, key_id(&public));
        let signature = Signature::from_slice(&bundle.signature).unwrap();
        public.verify(&bundle.payload, &signature).unwrap();
        let mut tampered = bundle.payload.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(public.verify(&tampered, &signature).is_err());
    }

    #[test]
    fn loads_the_key_pki_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (private, _public) = crate::pki::generate_signing_key().unwrap();
        let path = dir.path().join("signing-key.pem");
        std::fs::write(&path, private).unwrap();
        assert_eq!(Signer::load(&path).unwrap().key_id().len(), 16);
        std::fs::write(&path, "garbage").unwrap();
        let err = Signer::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("signing-key.pem") && err.contains("PKCS#8"),
            "{err}"
        );
    }
}
