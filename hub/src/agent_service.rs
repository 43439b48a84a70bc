//! The agent-facing gRPC service: one bidirectional session per connected agent.
//!
//! The client certificate decides which cluster a session serves; the agent's Hello must
//! agree with it, and a session only ever reads its own cluster's bundle channel, so no
//! agent can receive another cluster's bundle. Acks, statuses and heartbeats update what
//! the admin API shows.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use flotilla_proto::agent_service_server::AgentService;
use flotilla_proto::{agent_message, hub_message, AgentMessage, Heartbeat, Hello, HubMessage};
use futures::Stream;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status, Streaming};
use tracing::{info, info_span, warn, Instrument};

use crate::error::{blocking, Error};
use crate::pki::Identity;
use crate::reconciler::unix_now;
use crate::state::State;
use crate::store::AgentRecord;
use crate::tls::peer_identity;

/// How long a session waits for the agent's Hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the hub sends a heartbeat down an idle session.
const HEARTBEAT: Duration = Duration::from_secs(15);

pub struct AgentSessions {
    state: Arc<State>,
    shutdown: CancellationToken,
    sessions: TaskTracker,
}

impl AgentSessions {
    /// Session tasks run on `sessions`, so the hub can wait for them on shutdown.
    pub fn new(
        state: Arc<State>,
        shutdown: CancellationToken,
        sessions: TaskTracker,
    ) -> AgentSessions {
        AgentSessions {
            state,
            shutdown,
            sessions,
        }
    }
}

type HubStream = Pin<Box<dyn Stream<Item = Result<HubMessage, Status>> + Send>>;

#[tonic::async_trait]
impl AgentService for AgentSessions {
    type SessionStream = HubStream;

    async fn session(
        &self,
        request: Request<Streaming<AgentMessage>>,
    ) -> Result<Response<HubStream>, Status> {
        let cluster = match peer_identity(&request)? {
            Identity::Cluster(name) => name,
            Identity::Admin(name) => {
                return Err(Error::PermissionDenied(format!(
                    "admin identity `{name}` cannot open an agent session"
                ))
                .into())
            }
        };
        if !self.state.clusters.contains_key(&cluster) {
            return Err(
                Error::PermissionDenied(format!("cluster `{cluster}` is not registered")).into(),
            );
        }
        let mut inbound = request.into_inner();
        let hello = match tokio::time::timeout(HELLO_TIMEOUT, inbound.message()).await {
            Ok(Ok(Some(AgentMessage {
                msg: Some(agent_message::Msg::Hello(hello)),
            }))) => hello,
            Ok(Err(status)) => return Err(status),
            _ => return Err(Status::invalid_argument("the first message must be Hello")),
        };
        if hello.cluster != cluster {
            return Err(Error::PermissionDenied(format!(
                "certificate names cluster `{cluster}` but Hello names `{}`",
                hello.cluster
            ))
            .into());
        }
        let (tx, rx) = mpsc::channel(8);
        let span = info_span!("agent_session", %cluster);
        let state = self.state.clone();
        let shutdown = self.shutdown.clone();
        self.sessions.spawn(
            async move {
                info!(applied = hello.applied_generation, "agent connected");
                let metrics = state.metrics.clone();
                metrics.agents_connected.inc();
                renumber_if_behind(&state, &cluster, &hello).await;
                serve(
                    state,
                    cluster,
                    hello.applied_generation,
                    inbound,
                    tx,
                    shutdown,
                )
                .await;
                metrics.agents_connected.dec();
                info!("agent disconnected");
            }
            .instrument(span),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

async fn serve(
    state: Arc<State>,
    cluster: String,
    mut applied: u64,
    mut inbound: Streaming<AgentMessage>,
    tx: mpsc::Sender<Result<HubMessage, Status>>,
    shutdown: CancellationToken,
) {
    let Some(cluster_state) = state.clusters.get(&cluster) else {
        return;
    };
    let session_id = {
        let mut session = cluster_state.session();
        session.id += 1;
        session.connected = true;
        session.id
    };
    record_agent(&state, &cluster, applied).await;
    let mut bundles = cluster_state.bundle.subscribe();
    bundles.mark_changed();
    let mut sent = applied;
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            changed = bundles.changed() => {
                if changed.is_err() {
                    break;
                }
                let newest = bundles.borrow_and_update().clone();
                let Some(bundle) = newest else { continue };
                if bundle.generation <= sent {
                    continue;
                }
                let message = HubMessage { msg: Some(hub_message::Msg::Bundle(bundle.signed.clone())) };
                if !send(&tx, message, &shutdown).await {
                    break;
                }
                info!(generation = bundle.generation, "bundle sent");
                sent = bundle.generation;
            }
            message = inbound.message() => match message {
                Ok(Some(AgentMessage { msg: Some(msg) })) => {
                    handle(&state, &cluster, &mut applied, msg).await;
                }
                Ok(Some(AgentMessage { msg: None })) => {}
                Ok(None) => break,
                Err(status) => {
                    warn!(error = %status, "agent stream failed");
                    break;
                }
            },
            _ = heartbeat.tick() => {
                let beat = HubMessage { msg: Some(hub_message::Msg::Heartbeat(Heartbeat { unix_millis: unix_now() * 1000 })) };
                if !send(&tx, beat, &shutdown).await {
                    break;
                }
            }
        }
    }
    let mut session = cluster_state.session();
    if session.id == session_id {
        session.connected = false;
    }
}

/// How long a send may wait for an agent that stopped reading before the session ends.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// Sends unless the hub shuts down or the agent stops reading; false ends the session.
async fn send(
    tx: &mpsc::Sender<Result<HubMessage, Status>>,
    message: HubMessage,
    shutdown: &CancellationToken,
) -> bool {
    tokio::select! {
        biased;
        _ = shutdown.cancelled() => false,
        sent = tokio::time::timeout(SEND_TIMEOUT, tx.send(Ok(message))) => matches!(sent, Ok(Ok(()))),
    }
}

/// An agent holding a later generation than the hub's newest, or the same generation with
/// other content (the hub's store was restored from an older backup), gets the hub's
/// content re-signed above its generation; it would refuse anything at or below it.
async fn renumber_if_behind(state: &Arc<State>, cluster: &str, hello: &Hello) {
    let newest = state
        .clusters
        .get(cluster)
        .and_then(|c| c.bundle.borrow().clone());
    let Some(newest) = newest else {
        return;
    };
    let applied = hello.applied_generation;
    let same_content = hello.applied_digest.is_empty()
        || hello.applied_digest.as_slice() == Sha256::digest(&newest.signed.payload).as_slice();
    let behind = applied > newest.generation || (applied == newest.generation && !same_content);
    if !behind {
        return;
    }
    let owned = state.clone();
    let cluster = cluster.to_string();
    if let Err(err) =
        blocking(move || crate::reconciler::republish_above(&owned, &cluster, applied)).await
    {
        warn!(error = %err, "cannot renumber the bundle above the agent's generation");
    }
}

async fn handle(state: &Arc<State>, cluster: &str, applied: &mut u64, msg: agent_message::Msg) {
    match msg {
        agent_message::Msg::Ack(ack) => {
            if ack.accepted {
                info!(generation = ack.generation, "bundle accepted");
            } else {
                warn!(generation = ack.generation, reason = %ack.message, "bundle rejected");
            }
        }
        agent_message::Msg::Status(report) => {
            *applied = (*applied).max(report.generation);
            let store = state.store.clone();
            let owned = cluster.to_string();
            let stored = blocking(move || {
                store.put_unit_statuses(&owned, &report.units)?;
                // Reports between drift checks carry no drift; keep the last check's.
                if report.drift_checked_unix != 0 {
                    store.put_drift(&owned, &report.drift, report.drift_checked_unix)?;
                }
                Ok(())
            })
            .await;
            if let Err(err) = stored {
                warn!(error = %err, "cannot store the agent's report");
            }
            record_agent(state, cluster, *applied).await;
        }
        agent_message::Msg::Heartbeat(_) => record_agent(state, cluster, *applied).await,
        agent_message::Msg::Hello(_) => warn!("ignoring a second Hello"),
    }
}

async fn record_agent(state: &Arc<State>, cluster: &str, applied: u64) {
    let store = state.store.clone();
    let cluster = cluster.to_string();
    let record = AgentRecord {
        applied_generation: applied,
        last_seen_unix: unix_now(),
    };
    if let Err(err) = blocking(move || Ok(store.put_agent(&cluster, &record)?)).await {
        warn!(error = %err, "cannot record agent");
    }
}
