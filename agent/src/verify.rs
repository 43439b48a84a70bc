//! Decides whether a pushed `SignedBundle` may be applied: a pinned hub key signed the exact
//! payload bytes, the bundle names this cluster, and its generation is newer than what the
//! agent already holds.
//!
//! Pure. Must never decode a payload before its signature checks out, and never accept a
//! bundle for another cluster or an older generation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::{Signature, VerifyingKey};
use flotilla_proto::{Bundle, SignedBundle};
use prost::Message;

use crate::status::printable;

/// Why a bundle was refused. `AlreadyApplied` is not a refusal of the hub's intent: the
/// agent already holds that generation, acks it as accepted and does nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("bundle signed by unknown key `{key_id}`; pin the hub's signing key in hub_keys")]
    UnknownKey { key_id: String },
    #[error("bundle signature is malformed: expected 64 bytes, got {len}")]
    MalformedSignature { len: usize },
    #[error("bundle signature does not verify with key `{key_id}`")]
    BadSignature { key_id: String },
    #[error("bundle payload does not decode: {message}")]
    Decode { message: String },
    #[error(
        "bundle generation {generation} is for cluster `{bundle}`, this agent serves `{agent}`"
    )]
    WrongCluster {
        bundle: String,
        agent: String,
        generation: u64,
    },
    #[error("bundle generation {generation} is older than applied generation {applied}; refusing replay")]
    Replay { generation: u64, applied: u64 },
    #[error("bundle generation {generation} is already applied")]
    AlreadyApplied { generation: u64 },
}

impl VerifyError {
    /// The generation the refused bundle carries, when its signature verified; else 0.
    pub fn generation(&self) -> u64 {
        match self {
            VerifyError::WrongCluster { generation, .. }
            | VerifyError::Replay { generation, .. }
            | VerifyError::AlreadyApplied { generation } => *generation,
            _ => 0,
        }
    }
}

/// Failure to load the pinned keys from the agent's configuration.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not an ed25519 SPKI PEM public key: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

/// The hub signing keys this agent trusts, by key id.
#[derive(Clone, Debug, Default)]
pub struct PinnedKeys {
    keys: BTreeMap<String, VerifyingKey>,
}

impl PinnedKeys {
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> PinnedKeys {
        PinnedKeys {
            // The hub's own definition of a key id, so the two can never disagree.
            keys: keys
                .into_iter()
                .map(|key| (flotilla_proto::key_id(key.as_bytes()), key))
                .collect(),
        }
    }

    /// Reads SPKI PEM public keys, one per file.
    pub fn load(paths: &[PathBuf]) -> Result<PinnedKeys, KeyError> {
        let keys = paths
            .iter()
            .map(|path| load_key(path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PinnedKeys::new(keys))
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    fn get(&self, key_id: &str) -> Option<&VerifyingKey> {
        self.keys.get(key_id)
    }
}

fn load_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    VerifyingKey::from_public_key_pem(&pem).map_err(|err| KeyError::Parse {
        path: path.to_path_buf(),
        message: err.to_string(),
    })
}

/// Checks `signed` and returns the decoded bundle when this agent should apply it.
/// `applied` is the newest generation the agent already holds (0 for none).
pub fn verify(
    signed: &SignedBundle,
    keys: &PinnedKeys,
    cluster: &str,
    applied: u64,
) -> Result<Bundle, VerifyError> {
    let key = keys
        .get(&signed.key_id)
        .ok_or_else(|| VerifyError::UnknownKey {
            key_id: printable(&signed.key_id),
        })?;
    let signature =
        Signature::from_slice(&signed.signature).map_err(|_| VerifyError::MalformedSignature {
            len: signed.signature.len(),
        })?;
    key.verify_strict(&signed.payload, &signature)
        .map_err(|_| VerifyError::BadSignature {
            key_id: printable(&signed.key_id),
        })?;
    let bundle = Bundle::decode(signed.payload.as_slice()).map_err(|err| VerifyError::Decode {
        message: err.to_string(),
    })?;
    if bundle.cluster != cluster {
        return Err(VerifyError::WrongCluster {
            bundle: printable(&bundle.cluster),
            agent: cluster.to_string(),
            generation: bundle.generation,
        });
    }
    match bundle.generation.cmp(&applied) {
        std::cmp::Ordering::Greater => Ok(bundle),
        std::cmp::Ordering::Equal => Err(VerifyError::AlreadyApplied {
            generation: bundle.generation,
        }),
        std::cmp::Ordering::Less => Err(VerifyError::Replay {
            generation: bundle.generation,
            applied,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn key_id(key: &VerifyingKey) -> String {
        flotilla_proto::key_id(key.as_bytes())
    }

    fn signing_key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn sign(key: &SigningKey, bundle: &Bundle) -> SignedBundle {
        let payload = bundle.encode_to_vec();
        SignedBundle {
            signature: key.sign(&payload).to_bytes().to_vec(),
            payload,
            key_id: key_id(&key.verifying_key()),
        }
    }

    fn bundle(cluster: &str, generation: u64) -> Bundle {
        Bundle {
            cluster: cluster.into(),
            generation,
            revision: "main@sha1:abc".into(),
            units: vec![],
        }
    }

    fn check(signed: &SignedBundle, applied: u64, expected: Result<u64, VerifyError>) {
        let keys = PinnedKeys::new([signing_key(1).verifying_key()]);
        let got = verify(signed, &keys, "cluster-1", applied).map(|b| b.generation);
        assert_eq!(got, expected);
    }

    #[test]
    fn pinned_keys_are_found_by_the_hubs_key_id() {
        let key = signing_key(1).verifying_key();
        let keys = PinnedKeys::new([key]);
        assert_eq!(
            keys.ids().collect::<Vec<_>>(),
            vec![flotilla_proto::key_id(key.as_bytes()).as_str()]
        );
    }

    #[test]
    fn accepts_a_newer_bundle_for_this_cluster() {
        check(&sign(&signing_key(1), &bundle("cluster-1", 3)), 2, Ok(3));
    }

    #[test]
    fn rejects_tampered_payload() {
        let mut signed = sign(&signing_key(1), &bundle("cluster-1", 3));
        let last = signed.payload.len() - 1;
        signed.payload[last] ^= 1;
        let pinned = signed.key_id.clone();
        check(
            &signed,
            0,
            Err(VerifyError::BadSignature { key_id: pinned }),
        );
    }

    #[test]
    fn rejects_other_key_even_with_a_pinned_key_id() {
        let other = signing_key(2);
        let signed = sign(&other, &bundle("cluster-1", 3));
        let unknown = signed.key_id.clone();
        check(&signed, 0, Err(VerifyError::UnknownKey { key_id: unknown }));

        let mut forged = sign(&other, &bundle("cluster-1", 3));
        forged.key_id = key_id(&signing_key(1).verifying_key());
        let pinned = forged.key_id.clone();
        check(
            &forged,
            0,
            Err(VerifyError::BadSignature { key_id: pinned }),
        );
    }

    #[test]
    fn rejects_malformed_signature() {
        let mut signed = sign(&signing_key(1), &bundle("cluster-1", 3));
        signed.signature.truncate(10);
        check(&signed, 0, Err(VerifyError::MalformedSignature { len: 10 }));
    }

    #[test]
    fn rejects_wrong_cluster() {
        let signed = sign(&signing_key(1), &bundle("cluster-2", 3));
        check(
            &signed,
            0,
            Err(VerifyError::WrongCluster {
                bundle: "cluster-2".into(),
                agent: "cluster-1".into(),
                generation: 3,
            }),
        );
    }

    #[test]
    fn rejects_replay_and_recognises_already_applied() {
        let signed = sign(&signing_key(1), &bundle("cluster-1", 3));
        check(
            &signed,
            4,
            Err(VerifyError::Replay {
                generation: 3,
                applied: 4,
            }),
        );
        check(
            &signed,
            3,
            Err(VerifyError::AlreadyApplied { generation: 3 }),
        );
    }

    #[test]
    fn rejects_signed_garbage_without_panicking() {
        let key = signing_key(1);
        let payload = vec![0xff; 7];
        let signed = SignedBundle {
            signature: key.sign(&payload).to_bytes().to_vec(),
            payload,
            key_id: key_id(&key.verifying_key()),
        };
        let keys = PinnedKeys::new([key.verifying_key()]);
        assert!(matches!(
            verify(&signed, &keys, "cluster-1", 0),
            Err(VerifyError::Decode { .. })
        ));
    }

    #[test]
    fn loads_spki_pem_keys() {
        use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePublicKey};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.pub");
        let key = signing_key(1).verifying_key();
        std::fs::write(&path, key.to_public_key_pem(LineEnding::LF).unwrap()).unwrap();
        let keys = PinnedKeys::load(std::slice::from_ref(&path)).unwrap();
        assert_eq!(keys.ids().collect::<Vec<_>>(), vec![key_id(&key)]);

        std::fs::write(&path, "not a key").unwrap();
        let err = PinnedKeys::load(&[path]).unwrap_err().to_string();
        assert!(err.contains("signing.pub") && err.contains("SPKI"), "{err}");
    }
}
