//! Starting the hub: open the store, load the signing key, restore the newest bundles, bind
//! both mutual-TLS listeners, and run the reconcile loop until shutdown.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use flotilla_config::HubConfig;
use flotilla_proto::admin_service_server::AdminServiceServer;
use flotilla_proto::agent_service_server::AgentServiceServer;
use flotilla_proto::MAX_MESSAGE_BYTES;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::Router;
use tonic::transport::Server;
use tracing::{info, Instrument};

use crate::admin_service::Admin;
use crate::agent_service::AgentSessions;
use crate::bundle::Signer;
use crate::error::{blocking, Error, Result};
use crate::metrics::Metrics;
use crate::state::{ClusterState, State};
use crate::store::Store;
use crate::tls::server_config;

/// A hub that is serving.
pub struct RunningHub {
    pub agents_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    tasks: JoinSet<Result<()>>,
    sessions: TaskTracker,
}

impl RunningHub {
    /// Waits for every task to finish (after the shutdown token is cancelled).
    pub async fn wait(mut self) -> Result<()> {
        while let Some(done) = self.tasks.join_next().await {
            done??;
        }
        self.sessions.close();
        self.sessions.wait().await;
        Ok(())
    }
}

pub async fn start(config: HubConfig, shutdown: CancellationToken) -> Result<RunningHub> {
    let signer = Signer::load(&config.signing_key)?;
    let agents_tls = server_config(&config.tls)?;
    let admin_tls = server_config(&config.tls)?;
    let store_dir = config.data_dir.join("store");
    let store = blocking(move || Ok(Store::open(&store_dir)?)).await?;
    let mut clusters = BTreeMap::new();
    for cluster in &config.clusters {
        let store = store.clone();
        let name = cluster.name.clone();
        let bundle = blocking(move || Ok(store.bundle(&name)?)).await?;
        clusters.insert(cluster.name.clone(), ClusterState::new(bundle));
    }
    let (reconcile_tx, reconcile_rx) = mpsc::channel(16);
    let state = Arc::new(State {
        config,
        store,
        signer,
        clusters,
        sources: Mutex::new(BTreeMap::new()),
        reconcile: reconcile_tx,
        render_cache: flotilla_kustomize::Cache::new(),
        fetching: Default::default(),
        metrics: Arc::new(Metrics::new()),
    });
    info!(key_id = state.signer.key_id(), "signing key loaded");

    let agents = bind(state.config.listen.agents).await?;
    let admin = bind(state.config.listen.admin).await?;
    let agents_addr = local_addr(&agents, state.config.listen.agents)?;
    let admin_addr = local_addr(&admin, state.config.listen.admin)?;

    let mut tasks = JoinSet::new();
    let metrics_addr = match state.config.listen.metrics {
        Some(addr) => {
            let listener = bind(addr).await?;
            let bound = local_addr(&listener, addr)?;
            tasks.spawn(
                crate::metrics::serve(listener, state.metrics.clone(), shutdown.clone())
                    .instrument(tracing::info_span!("metrics_listener", addr = %bound)),
            );
            Some(bound)
        }
        None => None,
    };
    let session_tasks = TaskTracker::new();
    let sessions = AgentServiceServer::new(AgentSessions::new(
        state.clone(),
        shutdown.clone(),
        session_tasks.clone(),
    ))
    .send_compressed(CompressionEncoding::Gzip)
    .accept_compressed(CompressionEncoding::Gzip)
    .max_decoding_message_size(MAX_MESSAGE_BYTES)
    .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let agents_router = Server::builder()
        .tls_config(agents_tls)
        .map_err(|err| Error::Tls(err.to_string()))?
        .add_service(sessions);
    tasks.spawn(
        serve(agents_router, agents, shutdown.clone())
            .instrument(tracing::info_span!("agent_listener", addr = %agents_addr)),
    );
    let admin_router = Server::builder()
        .tls_config(admin_tls)
        .map_err(|err| Error::Tls(err.to_string()))?
        .add_service(AdminServiceServer::new(Admin::new(state.clone())));
    tasks.spawn(
        serve(admin_router, admin, shutdown.clone())
            .instrument(tracing::info_span!("admin_listener", addr = %admin_addr)),
    );
    let reconciler_state = state.clone();
    let token = shutdown.clone();
    tasks.spawn(
        async move {
            // First render at once, then at the interval or on request.
            if let Err(err) = crate::reconciler::reconcile_once(reconciler_state.clone()).await {
                tracing::warn!(error = %err, "first reconcile failed");
            }
            crate::reconciler::run(reconciler_state, reconcile_rx, token).await;
            Ok(())
        }
        .instrument(tracing::info_span!("reconciler")),
    );
    info!(%agents_addr, %admin_addr, "hub serving");
    Ok(RunningHub {
        agents_addr,
        admin_addr,
        metrics_addr,
        tasks,
        sessions: session_tasks,
    })
}

async fn serve(router: Router, listener: TcpListener, shutdown: CancellationToken) -> Result<()> {
    router
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled_owned())
        .await
        .map_err(|err| Error::Serve(err.to_string()))
}

async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Listen { addr, source })
}

fn local_addr(listener: &TcpListener, addr: SocketAddr) -> Result<SocketAddr> {
    listener
        .local_addr()
        .map_err(|source| Error::Listen { addr, source })
}
