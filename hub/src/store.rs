//! The hub's durable state in sled: signed bundles with their generations, agent reports,
//! and source revisions.
//!
//! This is the only module that names sled. Every tree has a typed accessor and an explicit
//! key encoding; values are either fixed binary layouts or prost messages, never ad-hoc
//! strings. A bundle and its generation live in one value, so a crash can never leave a
//! generation without its bundle. Callers run these blocking calls in `spawn_blocking`.

use std::path::Path;

use flotilla_proto::{DriftedObject, SignedBundle, StatusReport, UnitStatus};
use prost::Message;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("store {}: {source}", path.display())]
    Open {
        path: std::path::PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: corrupt {tree} record for `{key}`: {message}")]
    Corrupt {
        tree: &'static str,
        key: String,
        message: String,
    },
}

const BUNDLES: &str = "bundles";
const STATUS: &str = "unit_status";
const AGENTS: &str = "agents";
const SOURCES: &str = "sources";
const DRIFT: &str = "drift";
const SUSPENDED: &str = "suspended";

/// The newest bundle built for one cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredBundle {
    pub generation: u64,
    /// SHA-256 over the bundle's content with the generation zeroed: equal hashes mean
    /// nothing changed and no new generation is due.
    pub content_hash: [u8; 32],
    pub revision: String,
    pub signed: SignedBundle,
}

/// What an agent last told the hub about itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentRecord {
    pub applied_generation: u64,
    pub last_seen_unix: i64,
}

/// The outcome of the last fetch of one source.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceRecord {
    pub url: String,
    pub branch: String,
    /// Last revision fetched successfully, kept when a later fetch fails.
    pub revision: String,
    /// Empty when the last fetch succeeded.
    pub error: String,
    pub last_fetch_unix: i64,
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    bundles: sled::Tree,
    status: sled::Tree,
    agents: sled::Tree,
    sources: sled::Tree,
    drift: sled::Tree,
    suspended: sled::Tree,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let db = open_db(path)?;
        Ok(Store {
            bundles: db.open_tree(BUNDLES)?,
            status: db.open_tree(STATUS)?,
            agents: db.open_tree(AGENTS)?,
            sources: db.open_tree(SOURCES)?,
            drift: db.open_tree(DRIFT)?,
            suspended: db.open_tree(SUSPENDED)?,
            db,
        })
    }

    pub fn bundle(&self, cluster: &str) -> Result<Option<StoredBundle>> {
        self.bundles
            .get(cluster.as_bytes())?
            .map(|bytes| decode_bundle(cluster, &bytes))
            .transpose()
    }

    /// Stores `bundle` as the cluster's newest and flushes it to disk before returning, so a
    /// bundle is never sent before it is durable.
    pub fn put_bundle(&self, cluster: &str, bundle: &StoredBundle) -> Result<()> {
        self.bundles
            .insert(cluster.as_bytes(), encode_bundle(bundle))?;
        self.db.flush()?;
        Ok(())
    }

    /// Replaces every stored unit status of `cluster` with `units`.
    pub fn put_unit_statuses(&self, cluster: &str, units: &[UnitStatus]) -> Result<()> {
        let prefix = status_prefix(cluster);
        let mut batch = sled::Batch::default();
        for old in self.status.scan_prefix(&prefix).keys() {
            batch.remove(old?);
        }
        for unit in units {
            batch.insert(
                status_key(cluster, &unit.namespace, &unit.name),
                unit.encode_to_vec(),
            );
        }
        self.status.apply_batch(batch)?;
        Ok(())
    }

    pub fn unit_statuses(&self, cluster: &str) -> Result<Vec<UnitStatus>> {
        self.status
            .scan_prefix(status_prefix(cluster))
            .map(|entry| {
                let (key, value) = entry?;
                UnitStatus::decode(value.as_ref()).map_err(|err| Error::Corrupt {
                    tree: STATUS,
                    key: String::from_utf8_lossy(&key).into_owned(),
                    message: err.to_string(),
                })
            })
            .collect()
    }

    /// Marks a cluster's Kustomization suspended (or not) by an operator, durably.
    pub fn set_suspended(
        &self,
        cluster: &str,
        namespace: &str,
        name: &str,
        suspended: bool,
    ) -> Result<()> {
        let key = status_key(cluster, namespace, name);
        if suspended {
            self.suspended.insert(key, &[])?;
        } else {
            self.suspended.remove(key)?;
        }
        self.db.flush()?;
        Ok(())
    }

    /// The (namespace, name) of every Kustomization an operator suspended on `cluster`.
    pub fn suspended(&self, cluster: &str) -> Result<std::collections::BTreeSet<(String, String)>> {
        let prefix = status_prefix(cluster);
        let mut out = std::collections::BTreeSet::new();
        for key in self.suspended.scan_prefix(&prefix).keys() {
            let key = key?;
            let rest = &key[prefix.len()..];
            let corrupt = || Error::Corrupt {
                tree: SUSPENDED,
                key: String::from_utf8_lossy(&key).into_owned(),
                message: "expected namespace, NUL, name".to_string(),
            };
            let split = rest.iter().position(|b| *b == 0).ok_or_else(corrupt)?;
            let namespace = std::str::from_utf8(&rest[..split]).map_err(|_| corrupt())?;
            let name = std::str::from_utf8(&rest[split + 1..]).map_err(|_| corrupt())?;
            out.insert((namespace.to_string(), name.to_string()));
        }
        Ok(out)
    }

    /// Replaces the cluster's last drift report: the drifted objects and when they were
    /// checked, kept as a `StatusReport` holding only those fields.
    pub fn put_drift(
        &self,
        cluster: &str,
        drift: &[DriftedObject],
        checked_unix: i64,
    ) -> Result<()> {
        let report = StatusReport {
            drift: drift.to_vec(),
            drift_checked_unix: checked_unix,
            ..Default::default()
        };
        self.drift
            .insert(cluster.as_bytes(), report.encode_to_vec())?;
        Ok(())
    }

    /// The cluster's last drift report: drifted objects and when they were checked.
    pub fn drift(&self, cluster: &str) -> Result<(Vec<DriftedObject>, i64)> {
        let Some(value) = self.drift.get(cluster.as_bytes())? else {
            return Ok((Vec::new(), 0));
        };
        let report = StatusReport::decode(value.as_ref()).map_err(|err| Error::Corrupt {
            tree: DRIFT,
            key: cluster.to_string(),
            message: err.to_string(),
        })?;
        Ok((report.drift, report.drift_checked_unix))
    }

    pub fn put_agent(&self, cluster: &str, record: &AgentRecord) -> Result<()> {
        let mut value = Vec::with_capacity(16);
        value.extend_from_slice(&record.applied_generation.to_be_bytes());
        value.extend_from_slice(&record.last_seen_unix.to_be_bytes());
        self.agents.insert(cluster.as_bytes(), value)?;
        Ok(())
    }

    pub fn agent(&self, cluster: &str) -> Result<Option<AgentRecord>> {
        let Some(value) = self.agents.get(cluster.as_bytes())? else {
            return Ok(None);
        };
        let corrupt = || Error::Corrupt {
            tree: AGENTS,
            key: cluster.to_string(),
            message: format!("expected 16 bytes, found {}", value.len()),
        };
        let generation = value.get(0..8).ok_or_else(corrupt)?;
        let seen = value.get(8..16).ok_or_else(corrupt)?;
        Ok(Some(AgentRecord {
            applied_generation: u64::from_be_bytes(generation.try_into().map_err(|_| corrupt())?),
            last_seen_unix: i64::from_be_bytes(seen.try_into().map_err(|_| corrupt())?),
        }))
    }

    pub fn put_source(&self, key: &str, record: &SourceRecord) -> Result<()> {
        let value = serde_json::to_vec(record).map_err(|err| Error::Corrupt {
            tree: SOURCES,
            key: key.to_string(),
            message: err.to_string(),
        })?;
        self.sources.insert(key.as_bytes(), value)?;
        Ok(())
    }

    pub fn source(&self, key: &str) -> Result<Option<SourceRecord>> {
        let Some(value) = self.sources.get(key.as_bytes())? else {
            return Ok(None);
        };
        serde_json::from_slice(&value)
            .map(Some)
            .map_err(|err| Error::Corrupt {
                tree: SOURCES,
                key: key.to_string(),
                message: err.to_string(),
            })
    }
}

/// Opens the database, waiting briefly for a lock still held by a store this process just
/// closed: sled's background flusher keeps the previous handle alive for a moment after it
/// is dropped (a hub restarted in-process, or a test reopening its store).
fn open_db(path: &Path) -> Result<sled::Db> {
    const ATTEMPTS: u32 = 60;
    let mut attempt = 0;
    loop {
        match sled::open(path) {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(err))
                if err.kind() == std::io::ErrorKind::Other
                    && err.to_string().contains("could not acquire lock")
                    && attempt < ATTEMPTS =>
            {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(source) => {
                return Err(Error::Open {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// `cluster \0 namespace \0 name`: names cannot hold NUL, so prefixes never collide.
fn status_key(cluster: &str, namespace: &str, name: &str) -> Vec<u8> {
    let mut key = status_prefix(cluster);
    key.extend_from_slice(namespace.as_bytes());
    key.push(0);
    key.extend_from_slice(name.as_bytes());
    key
}

fn status_prefix(cluster: &str) -> Vec<u8> {
    let mut key = cluster.as_bytes().to_vec();
    key.push(0);
    key
}

/// Layout: generation (u64 BE) | content hash (32) | revision length (u32 BE) | revision |
/// encoded SignedBundle.
fn encode_bundle(bundle: &StoredBundle) -> Vec<u8> {
    let signed = bundle.signed.encode_to_vec();
    let mut value = Vec::with_capacity(44 + bundle.revision.len() + signed.len());
    value.extend_from_slice(&bundle.generation.to_be_bytes());
    value.extend_from_slice(&bundle.content_hash);
    value.extend_from_slice(&(bundle.revision.len() as u32).to_be_bytes());
    value.extend_from_slice(bundle.revision.as_bytes());
    value.extend_from_slice(&signed);
    value
}

fn decode_bundle(cluster: &str, value: &[u8]) -> Result<StoredBundle> {
    let corrupt = |message: &str| Error::Corrupt {
        tree: BUNDLES,
        key: cluster.to_string(),
        message: message.to_string(),
    };
    let (generation, rest) = value
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("short"))?;
    let (hash, rest) = rest
        .split_first_chunk::<32>()
        .ok_or_else(|| corrupt("short"))?;
    let (len, rest) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| corrupt("short"))?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err(corrupt("revision overruns the record"));
    }
    let (revision, signed) = rest.split_at(len);
    Ok(StoredBundle {
        generation: u64::from_be_bytes(*generation),
        content_hash: *hash,
        revision: String::from_utf8(revision.to_vec())
            .map_err(|_| corrupt("revision is not UTF-8"))?,
        signed: SignedBundle::decode(signed).map_err(|err| corrupt(&err.to_string()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(generation: u64) -> StoredBundle {
        StoredBundle {
            generation,
            content_hash: [generation as u8; 32],
            revision: "main@sha1:abc".into(),
            signed: SignedBundle {
                payload: vec![1, 2, 3],
                signature: vec![4; 64],
                key_id: "k".into(),
            },
        }
    }

    #[test]
    fn bundles_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.bundle("cluster-1").unwrap(), None);
            store.put_bundle("cluster-1", &bundle(1)).unwrap();
            store.put_bundle("cluster-1", &bundle(2)).unwrap();
            store.put_bundle("cluster-2", &bundle(7)).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.bundle("cluster-1").unwrap(), Some(bundle(2)));
        assert_eq!(store.bundle("cluster-2").unwrap(), Some(bundle(7)));
    }

    #[test]
    fn statuses_are_per_cluster_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let unit = |name: &str| UnitStatus {
            name: name.into(),
            namespace: "flux-system".into(),
            ready: true,
            ..Default::default()
        };
        store
            .put_unit_statuses("c1", &[unit("a"), unit("b")])
            .unwrap();
        // A cluster whose name extends another's must not see its statuses.
        store.put_unit_statuses("c10", &[unit("z")]).unwrap();
        store.put_unit_statuses("c1", &[unit("b")]).unwrap();
        let names: Vec<_> = store
            .unit_statuses("c1")
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["b"]);
        assert_eq!(store.unit_statuses("c10").unwrap().len(), 1);
    }

    #[test]
    fn corrupt_records_are_errors_not_panics() {
        for value in [&b""[..], &[0; 10], &[0; 43], &[0, 0, 0, 0, 0, 0, 0, 1, 255]] {
            assert!(decode_bundle("c", value).is_err());
        }
        let mut overrun = encode_bundle(&bundle(1));
        overrun[40..44].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_bundle("c", &overrun).is_err());
    }

    #[test]
    fn suspensions_are_per_cluster_and_durable() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .set_suspended("c1", "flux-system", "sample", true)
                .unwrap();
            store
                .set_suspended("c10", "flux-system", "other", true)
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let pair = ("flux-system".to_string(), "sample".to_string());
        assert_eq!(
            store
                .suspended("c1")
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            [pair]
        );
        store
            .set_suspended("c1", "flux-system", "sample", false)
            .unwrap();
        assert!(store.suspended("c1").unwrap().is_empty());
        assert_eq!(store.suspended("c10").unwrap().len(), 1);
    }

    #[test]
    fn drift_reports_replace_each_other_per_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.drift("c1").unwrap(), (vec![], 0));
        let drifted = DriftedObject {
            unit: "flux-system/sample".into(),
            state: "deleted".into(),
            ..Default::default()
        };
        store
            .put_drift("c1", std::slice::from_ref(&drifted), 100)
            .unwrap();
        assert_eq!(store.drift("c1").unwrap(), (vec![drifted], 100));
        store.put_drift("c1", &[], 200).unwrap();
        assert_eq!(store.drift("c1").unwrap(), (vec![], 200));
        assert_eq!(store.drift("c2").unwrap(), (vec![], 0));
    }

    #[test]
    fn agent_and_source_records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let agent = AgentRecord {
            applied_generation: 3,
            last_seen_unix: 1_700_000_000,
        };
        store.put_agent("c1", &agent).unwrap();
        assert_eq!(store.agent("c1").unwrap(), Some(agent));
        let source = SourceRecord {
            revision: "main@sha1:1".into(),
            ..Default::default()
        };
        store
            .put_source("flux-system/flux-system", &source)
            .unwrap();
        assert_eq!(
            store.source("flux-system/flux-system").unwrap(),
            Some(source)
        );
    }
}
