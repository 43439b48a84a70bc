//! The agent as one value: opens its state and clients, then runs two loops until shutdown:
//! sessions with the hub (reconnecting with backoff) and the applier (the newest accepted
//! bundle, on arrival, at startup and periodically, checking for drift before each periodic
//! re-apply).
//!
//! Wiring only; must never verify, plan or apply by itself, and never spin without backoff.

use flotilla_config::AgentConfig;
use flotilla_proto::{Bundle, Hello, SignedBundle, StatusReport};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::time::{sleep, Instant};
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;
use tracing::{info, info_span, warn, Instrument};

use crate::apply::Applier;
use crate::cluster::{self, Cluster};
use crate::drift::Drift;
use crate::endpoint;
use crate::intake::Intake;
use crate::session::Session;
use crate::state::{self, State};
use crate::timing::{Reconnect, Timing};
use crate::verify::{self, KeyError, PinnedKeys};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("hub keys: {0}")]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Endpoint(#[from] endpoint::Error),
    #[error(transparent)]
    State(#[from] state::Error),
    #[error(transparent)]
    Cluster(#[from] cluster::Error),
}

pub struct Agent {
    cluster_name: String,
    endpoint: Endpoint,
    keys: PinnedKeys,
    state: State,
    cluster: Cluster,
    timing: Timing,
}

impl Agent {
    /// Loads the pinned keys and TLS files, opens the state in `data_dir` and builds the
    /// Kubernetes client. Installs ring as the process's rustls provider if none is set.
    pub async fn new(config: AgentConfig) -> Result<Agent> {
        Agent::with_timing(config, Timing::default()).await
    }

    pub async fn with_timing(config: AgentConfig, timing: Timing) -> Result<Agent> {
        // Fails only when a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let keys = PinnedKeys::load(&config.hub_keys)?;
        let endpoint = endpoint::endpoint(&config, &timing)?;
        let state = State::open(&config.data_dir).await?;
        let cluster = Cluster::connect(config.kubeconfig.as_deref()).await?;
        let timing = Timing {
            reapply: config.drift_interval(),
            ..timing
        };
        Ok(Agent {
            cluster_name: config.cluster,
            endpoint,
            keys,
            state,
            cluster,
            timing,
        })
    }

    /// Keeps the cluster in line with the hub until `shutdown` fires. Returns once both
    /// loops have stopped; an apply in progress finishes first, so callers bound the wait.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let accepted = self.state.accepted_generation().await?;
        let (wake_tx, wake_rx) = watch::channel(accepted);
        let (status_tx, status_rx) = watch::channel(None);
        let intake = Intake::new(
            self.cluster_name.clone(),
            self.keys.clone(),
            self.state.clone(),
            wake_tx,
        );
        let applying = ApplyLoop {
            applier: Applier::new(self.cluster, self.state.clone()).with_shutdown(shutdown.clone()),
            state: self.state.clone(),
            keys: self.keys,
            cluster_name: self.cluster_name.clone(),
            timing: self.timing.clone(),
            drift: Drift::default(),
        }
        .run(wake_rx, status_tx, shutdown.clone())
        .instrument(info_span!("agent_apply", cluster = %self.cluster_name));
        let sessions = connect_loop(
            &self.endpoint,
            intake,
            &self.state,
            &self.cluster_name,
            status_rx,
            &self.timing,
            &shutdown,
        );
        tokio::join!(applying, sessions);
        info!(cluster = %self.cluster_name, "agent stopped");
        Ok(())
    }
}

/// Dials the hub again and again, backing off between failed sessions.
async fn connect_loop(
    endpoint: &Endpoint,
    intake: Intake,
    state: &State,
    cluster: &str,
    status: watch::Receiver<Option<StatusReport>>,
    timing: &Timing,
    shutdown: &CancellationToken,
) {
    let mut reconnect = Reconnect::new(timing);
    let mut attempt: u64 = 0;
    while !shutdown.is_cancelled() {
        attempt += 1;
        let applied_generation = match state.applied_generation().await {
            Ok(generation) => generation,
            Err(err) => {
                warn!(error = %err, "cannot read applied generation; reporting 0");
                0
            }
        };
        let applied_digest = applied_digest(state, applied_generation).await;
        let session = Session {
            endpoint,
            intake: &intake,
            hello: Hello {
                cluster: cluster.to_string(),
                applied_generation,
                agent_version: env!("CARGO_PKG_VERSION").to_string(),
                applied_digest,
            },
            status: status.clone(),
            timing,
        };
        let started = Instant::now();
        let span = info_span!("agent_session", cluster, hub = %endpoint.uri(), attempt);
        match session.run(shutdown).instrument(span).await {
            Ok(()) => break,
            Err(err) => warn!(cluster, attempt, error = %err, "session ended"),
        }
        let delay = reconnect.delay_after(started.elapsed());
        info!(
            cluster,
            delay_ms = delay.as_millis() as u64,
            "reconnecting after backoff"
        );
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = sleep(delay) => {}
        }
    }
}

struct ApplyLoop {
    applier: Applier,
    state: State,
    keys: PinnedKeys,
    cluster_name: String,
    timing: Timing,
    /// What the last drift check found; every report carries it.
    drift: Drift,
}

impl ApplyLoop {
    /// Applies the accepted bundle at startup, whenever a newer one is accepted, and every
    /// `reapply` period so the cluster keeps matching it while the hub is away.
    async fn run(
        mut self,
        mut wake: watch::Receiver<u64>,
        status: watch::Sender<Option<StatusReport>>,
        shutdown: CancellationToken,
    ) {
        let mut periodic = false;
        loop {
            wake.borrow_and_update();
            self.apply_accepted(&status, periodic).await;
            periodic = false;
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                changed = wake.changed() => if changed.is_err() { break },
                _ = sleep(self.timing.reapply) => periodic = true,
            }
        }
    }

    /// Applies the accepted bundle; a `periodic` re-apply checks for drift first, and the
    /// report of what it found goes up with the statuses of the re-apply that corrects it.
    async fn apply_accepted(
        &mut self,
        status: &watch::Sender<Option<StatusReport>>,
        periodic: bool,
    ) {
        let bundle = match self.load().await {
            Ok(Some(bundle)) => bundle,
            Ok(None) => return,
            Err(message) => {
                warn!(%message, "accepted bundle not applied");
                return;
            }
        };
        if periodic {
            match self.applier.check_drift(&bundle).await {
                Ok(drift) => {
                    info!(objects = drift.objects.len(), "drift checked");
                    self.drift = drift;
                }
                Err(err) => warn!(error = %err, "drift not checked"),
            }
        }
        let generation = bundle.generation;
        info!(generation, revision = %bundle.revision, "applying bundle");
        match self.applier.apply(&bundle).await {
            Ok(report) => {
                let ready = report.units.iter().filter(|u| u.ready).count();
                if let Err(err) = self.state.set_applied_generation(generation).await {
                    warn!(error = %err, generation, "cannot record applied generation");
                }
                info!(
                    generation,
                    units = report.units.len(),
                    ready,
                    "bundle applied"
                );
                status.send_replace(Some(StatusReport {
                    drift: self.drift.objects.clone(),
                    drift_checked_unix: self.drift.checked_unix,
                    ..report
                }));
            }
            Err(err) => warn!(error = %err, generation, "apply stopped: local state failed"),
        }
    }

    /// The accepted bundle, verified again: a key unpinned since it was accepted stops
    /// its enforcement.
    async fn load(&self) -> Result<Option<Bundle>, String> {
        let Some((generation, bytes)) = self
            .state
            .accepted_bundle()
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        let signed = SignedBundle::decode(bytes.as_slice())
            .map_err(|err| format!("stored bundle does not decode: {err}"))?;
        verify::verify(
            &signed,
            &self.keys,
            &self.cluster_name,
            generation.saturating_sub(1),
        )
        .map(Some)
        .map_err(|err| format!("stored bundle: {err}"))
    }
}

/// SHA-256 of the payload of the bundle at `applied`, so a hub whose store went back in
/// time can tell that it holds other content under the same generation. Empty when the
/// stored bundle is not the applied one or cannot be read.
async fn applied_digest(state: &State, applied: u64) -> Vec<u8> {
    match state.accepted_bundle().await {
        Ok(Some((generation, bytes))) if generation == applied => {
            SignedBundle::decode(bytes.as_slice())
                .map(|signed| Sha256::digest(&signed.payload).to_vec())
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}
