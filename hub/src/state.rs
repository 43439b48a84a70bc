//! The hub's shared state: configuration, the store, the signer, the newest bundle of each
//! cluster (a watch channel agents' sessions subscribe to) and what is known of sources
//! and agent sessions.
//!
//! Bundles reach a channel only after the store has them on disk.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use flotilla_config::HubConfig;
use tokio::sync::{mpsc, oneshot, watch};

use crate::bundle::Signer;
use crate::resolve::{SourceKey, SourceState};
use crate::store::{Store, StoredBundle};

/// A request to fetch and render now; answered with the platform revision or an error.
pub type ReconcileRequest = oneshot::Sender<Result<String, String>>;

pub struct State {
    pub config: HubConfig,
    pub store: Store,
    pub signer: Signer,
    pub clusters: BTreeMap<String, ClusterState>,
    pub sources: Mutex<BTreeMap<SourceKey, SourceState>>,
    pub reconcile: mpsc::Sender<ReconcileRequest>,
    /// Kustomize subtrees rendered for one cluster and reused for the next: clusters that
    /// share bases cost what differs between them, not a full render each.
    pub render_cache: flotilla_kustomize::Cache,
    /// Set while a fetch of the platform source runs, so fetches never overlap.
    pub fetching: std::sync::atomic::AtomicBool,
    pub metrics: Arc<crate::metrics::Metrics>,
}

pub struct ClusterState {
    pub bundle: watch::Sender<Option<Arc<StoredBundle>>>,
    pub session: Mutex<Session>,
    /// Held while a new bundle for the cluster is computed, stored and published, so the
    /// reconciler and a session renumbering the bundle never interleave.
    publish: Mutex<()>,
}

/// The live session of a cluster's agent, if any.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// Counts sessions, so an old session ending cannot mark a newer one disconnected.
    pub id: u64,
    pub connected: bool,
}

impl State {
    pub fn platform_key(&self) -> SourceKey {
        SourceKey {
            namespace: self.config.source.namespace.clone(),
            name: self.config.source.name.clone(),
        }
    }

    pub fn sources(&self) -> std::sync::MutexGuard<'_, BTreeMap<SourceKey, SourceState>> {
        self.sources
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ClusterState {
    pub fn new(bundle: Option<StoredBundle>) -> ClusterState {
        ClusterState {
            bundle: watch::Sender::new(bundle.map(Arc::new)),
            session: Mutex::new(Session::default()),
            publish: Mutex::new(()),
        }
    }

    pub fn publishing(&self) -> std::sync::MutexGuard<'_, ()> {
        self.publish
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
