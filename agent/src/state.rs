//! The agent's local state in sled: the last accepted signed bundle, the applied generation
//! and each unit's record (inventory, prune flag, last status), so the agent keeps enforcing
//! and prunes correctly across restarts.
//!
//! The only module that names sled. Every call runs in `spawn_blocking`; keys have one
//! explicit encoding each. The applied generation must never go back.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::object::ObjRef;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("state in {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("state: {0}")]
    Sled(#[from] sled::Error),
    #[error("state: record `{key}` is corrupt: {message}")]
    Corrupt { key: String, message: String },
    #[error("state: unit namespace of {len} bytes is too long for a unit key")]
    KeyTooLong { len: usize },
    #[error("state: blocking task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// The key of a unit: its namespace and name. Encoded as the namespace's length (u16,
/// big-endian), the namespace, then the name, so no name can collide with another. A
/// namespace too long for the prefix is refused, never cut: a cut key could collide with
/// another or end inside a UTF-8 character and never decode. `plan` fails such units first.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitKey {
    pub namespace: String,
    pub name: String,
}

impl UnitKey {
    pub fn new(namespace: &str, name: &str) -> UnitKey {
        UnitKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    fn encode(&self) -> Result<Vec<u8>> {
        let namespace = self.namespace.as_bytes();
        let len = u16::try_from(namespace.len()).map_err(|_| Error::KeyTooLong {
            len: namespace.len(),
        })?;
        let mut out = Vec::with_capacity(2 + namespace.len() + self.name.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(namespace);
        out.extend_from_slice(self.name.as_bytes());
        Ok(out)
    }

    fn decode(bytes: &[u8]) -> Option<UnitKey> {
        let (len, rest) = bytes.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        let (namespace, name) = (rest.get(..len)?, rest.get(len..)?);
        Some(UnitKey {
            namespace: String::from_utf8(namespace.to_vec()).ok()?,
            name: String::from_utf8(name.to_vec()).ok()?,
        })
    }
}

impl std::fmt::Display for UnitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What the agent remembers of a unit between applies. Fields added later default when an
/// older record lacks them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnitRecord {
    /// Objects the agent applied for the unit and still owns.
    pub inventory: Vec<ObjRef>,
    /// Whether the unit asked for prune when last seen; decides what happens to its
    /// inventory when it disappears from the bundle.
    pub prune: bool,
    /// Service account the unit was applied as, for pruning after it is gone.
    pub service_account: String,
    /// `namespace/name` of the unit that declared this one when last seen; empty for the
    /// root. While that parent is in the bundle with an error, this unit is not removed.
    pub parent: String,
    /// Last reported readiness; `None` until the unit has been reconciled once.
    pub ready: Option<bool>,
    pub message: String,
    /// Revision of the last successful apply.
    pub revision: String,
    pub last_applied_unix: i64,
}

/// Handle to the agent's sled database. Cheap to clone.
#[derive(Clone)]
pub struct State {
    db: sled::Db,
    /// Singletons: the accepted bundle and the generation counters.
    meta: sled::Tree,
    /// `UnitKey::encode` → JSON `UnitRecord`.
    units: sled::Tree,
}

const ACCEPTED_BUNDLE: &[u8] = b"accepted_bundle";
const ACCEPTED_GENERATION: &[u8] = b"accepted_generation";
const APPLIED_GENERATION: &[u8] = b"applied_generation";

impl State {
    pub async fn open(dir: &Path) -> Result<State> {
        let path = dir.to_path_buf();
        tokio::task::spawn_blocking(move || State::open_blocking(&path)).await?
    }

    fn open_blocking(dir: &Path) -> Result<State> {
        let open_err = |source| Error::Open {
            path: dir.to_path_buf(),
            source,
        };
        // sled's background flusher keeps a just-dropped handle (an agent restarted in
        // this process) holding the lock for a moment: wait for it, briefly.
        let mut waited = 0;
        let db = loop {
            match sled::open(dir) {
                Err(sled::Error::Io(e))
                    if waited < 60 && e.to_string().contains("could not acquire lock") =>
                {
                    waited += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => break other.map_err(open_err)?,
            }
        };
        let meta = db.open_tree("meta").map_err(open_err)?;
        let units = db.open_tree("units").map_err(open_err)?;
        Ok(State { db, meta, units })
    }

    /// Records a verified bundle (the exact `SignedBundle` bytes) as the one to enforce, and
    /// flushes it to disk before returning; the caller applies only afterwards.
    pub async fn accept_bundle(&self, generation: u64, signed: Vec<u8>) -> Result<()> {
        let this = self.clone();
        self.blocking(move || {
            let mut batch = sled::Batch::default();
            batch.insert(ACCEPTED_BUNDLE, signed);
            batch.insert(ACCEPTED_GENERATION, &generation.to_be_bytes());
            this.meta.apply_batch(batch)?;
            this.db.flush()?;
            Ok(())
        })
        .await
    }

    /// The accepted bundle and its generation, if any.
    pub async fn accepted_bundle(&self) -> Result<Option<(u64, Vec<u8>)>> {
        let this = self.clone();
        self.blocking(move || {
            let Some(bytes) = this.meta.get(ACCEPTED_BUNDLE)? else {
                return Ok(None);
            };
            let generation = this.read_u64(ACCEPTED_GENERATION)?;
            Ok(Some((generation, bytes.to_vec())))
        })
        .await
    }

    pub async fn accepted_generation(&self) -> Result<u64> {
        let this = self.clone();
        self.blocking(move || this.read_u64(ACCEPTED_GENERATION))
            .await
    }

    pub async fn applied_generation(&self) -> Result<u64> {
        let this = self.clone();
        self.blocking(move || this.read_u64(APPLIED_GENERATION))
            .await
    }

    /// Raises the applied generation to `generation`; a lower value leaves it unchanged.
    pub async fn set_applied_generation(&self, generation: u64) -> Result<u64> {
        let this = self.clone();
        self.blocking(move || {
            let updated = this.meta.update_and_fetch(APPLIED_GENERATION, |old| {
                let old = old.and_then(decode_u64).unwrap_or(0);
                Some(old.max(generation).to_be_bytes().to_vec())
            })?;
            this.db.flush()?;
            Ok(updated.as_deref().and_then(decode_u64).unwrap_or(0))
        })
        .await
    }

    pub async fn units(&self) -> Result<Vec<(UnitKey, UnitRecord)>> {
        let this = self.clone();
        self.blocking(move || {
            let mut out = Vec::new();
            for entry in this.units.iter() {
                let (key, value) = entry?;
                let unit = UnitKey::decode(&key).ok_or_else(|| Error::Corrupt {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    message: "not a unit key".to_string(),
                })?;
                out.push((unit.clone(), decode_record(&unit, &value)?));
            }
            Ok(out)
        })
        .await
    }

    pub async fn unit(&self, key: &UnitKey) -> Result<Option<UnitRecord>> {
        let this = self.clone();
        let key = key.clone();
        self.blocking(move || {
            this.units
                .get(key.encode()?)?
                .map(|value| decode_record(&key, &value))
                .transpose()
        })
        .await
    }

    /// Writes a unit's record and flushes, so an inventory survives a crash right after.
    pub async fn put_unit(&self, key: &UnitKey, record: &UnitRecord) -> Result<()> {
        let this = self.clone();
        let encoded = key.encode()?;
        let key = key.clone();
        let value = serde_json::to_vec(record).map_err(|err| Error::Corrupt {
            key: key.to_string(),
            message: err.to_string(),
        })?;
        self.blocking(move || {
            this.units.insert(encoded, value)?;
            this.db.flush()?;
            Ok(())
        })
        .await
    }

    pub async fn remove_unit(&self, key: &UnitKey) -> Result<()> {
        let this = self.clone();
        let encoded = key.encode()?;
        self.blocking(move || {
            this.units.remove(encoded)?;
            this.db.flush()?;
            Ok(())
        })
        .await
    }

    fn read_u64(&self, key: &[u8]) -> Result<u64> {
        Ok(self
            .meta
            .get(key)?
            .as_deref()
            .and_then(decode_u64)
            .unwrap_or(0))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        tokio::task::spawn_blocking(f).await?
    }
}

fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

fn decode_record(key: &UnitKey, value: &[u8]) -> Result<UnitRecord> {
    serde_json::from_slice(value).map_err(|err| Error::Corrupt {
        key: key.to_string(),
        message: err.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(name: &str) -> ObjRef {
        ObjRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: "apps".into(),
            name: name.into(),
        }
    }

    #[tokio::test]
    async fn bundle_generation_and_units_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let key = UnitKey::new("flux-system", "apps");
        {
            let state = State::open(dir.path()).await.unwrap();
            assert_eq!(state.accepted_bundle().await.unwrap(), None);
            assert_eq!(state.applied_generation().await.unwrap(), 0);
            state.accept_bundle(4, vec![1, 2, 3]).await.unwrap();
            assert_eq!(state.set_applied_generation(4).await.unwrap(), 4);
            let record = UnitRecord {
                inventory: vec![obj("a"), obj("b")],
                prune: true,
                ..UnitRecord::default()
            };
            state.put_unit(&key, &record).await.unwrap();
        }
        let state = State::open(dir.path()).await.unwrap();
        assert_eq!(
            state.accepted_bundle().await.unwrap(),
            Some((4, vec![1, 2, 3]))
        );
        assert_eq!(state.accepted_generation().await.unwrap(), 4);
        let units = state.units().await.unwrap();
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].0, key);
        assert_eq!(units[0].1.inventory, vec![obj("a"), obj("b")]);
        state.remove_unit(&key).await.unwrap();
        assert_eq!(state.unit(&key).await.unwrap(), None);
    }

    #[tokio::test]
    async fn too_long_namespace_is_refused_not_cut() {
        // Regression: namespaces were cut at 65535 bytes, so these two keys collided, and a
        // cut inside `é` left a key that never decoded, failing every later `units()`.
        let max = "a".repeat(usize::from(u16::MAX));
        let fits = UnitKey::new(&max, "bc");
        let cut = UnitKey::new(&format!("{max}b"), "c");
        assert_eq!(UnitKey::decode(&fits.encode().unwrap()), Some(fits.clone()));
        assert!(matches!(
            cut.encode(),
            Err(Error::KeyTooLong { len: 65_536 })
        ));
        let in_char = UnitKey::new(&format!("{}é", &max[1..]), "x");
        assert!(in_char.encode().is_err());

        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).await.unwrap();
        state.put_unit(&fits, &UnitRecord::default()).await.unwrap();
        assert!(state.put_unit(&cut, &UnitRecord::default()).await.is_err());
        assert!(state
            .put_unit(&in_char, &UnitRecord::default())
            .await
            .is_err());
        assert_eq!(state.units().await.unwrap().len(), 1);
        assert_eq!(
            state.unit(&fits).await.unwrap(),
            Some(UnitRecord::default())
        );
    }

    #[test]
    fn records_without_newer_fields_still_decode() {
        let old = br#"{"inventory":[],"prune":true,"service_account":"","ready":true,
            "message":"m","revision":"r","last_applied_unix":1}"#;
        let record = decode_record(&UnitKey::new("a", "b"), old).unwrap();
        assert!(record.prune);
        assert_eq!(record.parent, "");
    }

    #[tokio::test]
    async fn applied_generation_never_goes_back() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).await.unwrap();
        assert_eq!(state.set_applied_generation(7).await.unwrap(), 7);
        assert_eq!(state.set_applied_generation(3).await.unwrap(), 7);
        assert_eq!(state.applied_generation().await.unwrap(), 7);
    }

    proptest::proptest! {
        #[test]
        fn unit_key_encoding_is_a_bijection(a_ns in ".*", a_name in ".*", b_ns in ".*", b_name in ".*") {
            let a = UnitKey::new(&a_ns, &a_name);
            let b = UnitKey::new(&b_ns, &b_name);
            let (a_key, b_key) = (a.encode().unwrap(), b.encode().unwrap());
            proptest::prop_assert_eq!(UnitKey::decode(&a_key), Some(a.clone()));
            proptest::prop_assert_eq!(a_key == b_key, a == b);
        }
    }

    #[test]
    fn unit_key_round_trips_without_collisions() {
        for (namespace, name) in [
            ("ns", "name"),
            ("a/b", "c"),
            ("a", "b/c"),
            ("", "x"),
            ("x", ""),
        ] {
            let key = UnitKey::new(namespace, name);
            assert_eq!(UnitKey::decode(&key.encode().unwrap()), Some(key));
        }
        assert_ne!(
            UnitKey::new("a/b", "c").encode().unwrap(),
            UnitKey::new("a", "b/c").encode().unwrap()
        );
        assert_eq!(UnitKey::decode(b"\x00"), None);
        assert_eq!(UnitKey::decode(b"\x00\x09short"), None);
    }
}
