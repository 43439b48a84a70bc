//! A whole fleet on one machine: a Git repository, a PKI, a hub, and per cluster an agent
//! and (unless a kubeconfig for a real cluster is given) a sandbox API server.
//!
//! Configuration goes through files, exactly as the binaries read them: the harness writes
//! `hub.yaml` and `agent-<cluster>.yaml` and loads them back with the real loaders.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use flotilla_config::{
    AgentConfig, ClusterConfig, HubConfig, ListenConfig, SourceConfig, TenantConfig, TlsFiles,
};
use flotilla_hub::pki::{self, files};
use flotilla_proto::admin_service_client::AdminServiceClient;
use flotilla_proto::{KustomizationInfo, ListKustomizationsRequest, ReconcileSourceRequest};
use flotilla_sandbox::Sandbox;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::gitfix::GitRepo;
use crate::scenario;

pub struct FleetOptions {
    pub clusters: Vec<String>,
    /// How often the hub polls Git.
    pub interval: String,
    /// Clusters to run against a real API server instead of a sandbox.
    pub kubeconfigs: BTreeMap<String, PathBuf>,
    pub tenants: Vec<TenantConfig>,
    /// How often agents look for drift (and re-apply their bundle).
    pub drift_interval: String,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            clusters: vec!["cluster-1".to_string(), "cluster-2".to_string()],
            interval: "2s".to_string(),
            kubeconfigs: BTreeMap::new(),
            tenants: Vec::new(),
            drift_interval: "5m".to_string(),
        }
    }
}

struct RunningAgent {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

struct HubProcess {
    shutdown: CancellationToken,
    hub: flotilla_hub::RunningHub,
}

pub struct Fleet {
    pub dir: PathBuf,
    pub repo: GitRepo,
    /// The commit that wrote the seed scenario.
    pub seed_commit: String,
    pub options: FleetOptions,
    pub sandboxes: BTreeMap<String, Sandbox>,
    hub: Option<HubProcess>,
    agents_addr: SocketAddr,
    admin_addr: SocketAddr,
    metrics_addr: SocketAddr,
    agents: BTreeMap<String, RunningAgent>,
}

impl Fleet {
    /// Writes the seed repository, keys and configs under `dir`, then starts everything.
    pub async fn start(dir: &Path, options: FleetOptions) -> Result<Fleet> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        std::fs::create_dir_all(dir)?;
        let pki_dir = dir.join("pki");
        pki::init(
            &pki_dir,
            &["127.0.0.1".to_string(), "localhost".to_string()],
        )?;
        for cluster in &options.clusters {
            pki::issue_agent(&pki_dir, cluster)?;
        }
        let repo = GitRepo::init(&dir.join("repo"))?;
        let seed_commit = scenario::write_seed(&repo, &options.clusters)?;
        let unbound: SocketAddr = "127.0.0.1:0".parse()?;
        let mut fleet = Fleet {
            dir: dir.to_path_buf(),
            repo,
            seed_commit,
            options,
            sandboxes: BTreeMap::new(),
            hub: None,
            agents_addr: unbound,
            admin_addr: unbound,
            metrics_addr: unbound,
            agents: BTreeMap::new(),
        };
        fleet.start_hub().await?;
        for cluster in fleet.options.clusters.clone() {
            fleet.start_agent(&cluster).await?;
        }
        Ok(fleet)
    }

    /// Starts everything and waits until every cluster is Ready at the seed commit.
    pub async fn start_ready(dir: &Path, options: FleetOptions) -> Result<Fleet> {
        let fleet = Fleet::start(dir, options).await?;
        fleet
            .wait_ready_at(&fleet.seed_commit, Duration::from_secs(60))
            .await?;
        Ok(fleet)
    }

    pub fn hub_config_path(&self) -> PathBuf {
        self.dir.join("hub.yaml")
    }

    pub fn pki_dir(&self) -> PathBuf {
        self.dir.join("pki")
    }

    /// `https://127.0.0.1:PORT` agents dial.
    pub fn agents_address(&self) -> String {
        format!("https://{}", self.agents_addr)
    }

    /// `127.0.0.1:PORT` of the hub's plain-HTTP metrics endpoint.
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// `https://127.0.0.1:PORT` of the admin API.
    pub fn admin_address(&self) -> String {
        format!("https://{}", self.admin_addr)
    }

    fn hub_config(&self) -> HubConfig {
        let pki = self.pki_dir();
        HubConfig {
            data_dir: self.dir.join("hub-data"),
            listen: ListenConfig {
                agents: self.agents_addr,
                admin: self.admin_addr,
                metrics: Some(self.metrics_addr),
            },
            tls: TlsFiles {
                ca: pki.join(files::CA),
                cert: pki.join(files::HUB),
                key: pki.join(files::HUB_KEY),
            },
            signing_key: pki.join(files::SIGNING_KEY),
            source: SourceConfig {
                name: "flux-system".to_string(),
                namespace: "flux-system".to_string(),
                url: self.repo.url(),
                branch: "main".to_string(),
                interval: self.options.interval.clone(),
                auth: Default::default(),
            },
            clusters: self
                .options
                .clusters
                .iter()
                .map(|name| ClusterConfig {
                    name: name.clone(),
                    path: None,
                    labels: BTreeMap::from([("env".to_string(), "quickstart".to_string())]),
                    variables: BTreeMap::from([("cluster_name".to_string(), name.clone())]),
                })
                .collect(),
            tenants: self.options.tenants.clone(),
            // The harness's repositories are folders on this machine.
            allow_file_sources: true,
        }
    }

    /// Starts the hub from `hub.yaml`; after the first start it keeps its ports, so agents
    /// find it again after a restart.
    pub async fn start_hub(&mut self) -> Result<()> {
        if self.hub.is_some() {
            bail!("the hub is already running");
        }
        let path = self.hub_config_path();
        std::fs::write(&path, serde_norway::to_string(&self.hub_config())?)?;
        let config = HubConfig::load(&path)?;
        let shutdown = CancellationToken::new();
        let hub = flotilla_hub::start(config, shutdown.clone()).await?;
        self.agents_addr = hub.agents_addr;
        self.admin_addr = hub.admin_addr;
        if let Some(addr) = hub.metrics_addr {
            self.metrics_addr = addr;
        }
        self.hub = Some(HubProcess { shutdown, hub });
        Ok(())
    }

    pub async fn stop_hub(&mut self) -> Result<()> {
        if let Some(process) = self.hub.take() {
            process.shutdown.cancel();
            tokio::time::timeout(Duration::from_secs(10), process.hub.wait())
                .await
                .context("hub did not stop within 10s")??;
        }
        Ok(())
    }

    async fn start_agent(&mut self, cluster: &str) -> Result<()> {
        let kubeconfig = match self.options.kubeconfigs.get(cluster) {
            Some(path) => path.clone(),
            None => {
                let sandbox = match self.sandboxes.remove(cluster) {
                    Some(sandbox) => sandbox,
                    None => Sandbox::start().await?,
                };
                let path = self.dir.join(format!("kubeconfig-{cluster}.yaml"));
                sandbox.write_kubeconfig(&path)?;
                self.sandboxes.insert(cluster.to_string(), sandbox);
                path
            }
        };
        let pki = self.pki_dir();
        let (cert, key) = files::agent(cluster);
        let config = AgentConfig {
            hub: format!("https://{}", self.agents_addr),
            cluster: cluster.to_string(),
            tls: TlsFiles {
                ca: pki.join(files::CA),
                cert: pki.join(cert),
                key: pki.join(key),
            },
            hub_keys: vec![pki.join(files::SIGNING_PUB)],
            data_dir: self.dir.join(format!("agent-data-{cluster}")),
            kubeconfig: Some(kubeconfig),
            drift_interval: self.options.drift_interval.clone(),
        };
        let path = self.dir.join(format!("agent-{cluster}.yaml"));
        std::fs::write(&path, serde_norway::to_string(&config)?)?;
        let config = AgentConfig::load(&path)?;
        let agent = flotilla_agent::Agent::new(config).await?;
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            if let Err(err) = agent.run(token).await {
                tracing::error!(error = %err, "agent stopped");
            }
        });
        self.agents
            .insert(cluster.to_string(), RunningAgent { shutdown, task });
        Ok(())
    }

    pub async fn stop_agent(&mut self, cluster: &str) -> Result<()> {
        if let Some(agent) = self.agents.remove(cluster) {
            agent.shutdown.cancel();
            tokio::time::timeout(Duration::from_secs(10), agent.task)
                .await
                .context("agent did not stop within 10s")??;
        }
        Ok(())
    }

    pub async fn restart_agent(&mut self, cluster: &str) -> Result<()> {
        self.stop_agent(cluster).await?;
        self.start_agent(cluster).await
    }

    /// An admin API client with the admin certificate.
    pub async fn admin(&self) -> Result<AdminServiceClient<Channel>> {
        let pki = self.pki_dir();
        Ok(flotilla_hub::client::admin_client(
            &self.admin_address(),
            &pki.join(files::CA),
            &pki.join(files::ADMIN),
            &pki.join(files::ADMIN_KEY),
        )
        .await?)
    }

    /// Asks the hub to fetch now; returns the revision it rendered.
    pub async fn reconcile(&self) -> Result<String> {
        let mut admin = self.admin().await?;
        let response = admin
            .reconcile_source(ReconcileSourceRequest::default())
            .await?;
        Ok(response.into_inner().revision)
    }

    pub async fn kustomizations(&self) -> Result<Vec<KustomizationInfo>> {
        let mut admin = self.admin().await?;
        Ok(admin
            .list_kustomizations(ListKustomizationsRequest::default())
            .await?
            .into_inner()
            .kustomizations)
    }

    /// Polls the admin API until `done` holds for the kustomizations, or fails after
    /// `timeout` showing the last table seen.
    pub async fn wait_for<F>(
        &self,
        timeout: Duration,
        mut done: F,
    ) -> Result<Vec<KustomizationInfo>>
    where
        F: FnMut(&[KustomizationInfo]) -> bool,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = Vec::new();
        loop {
            if let Ok(list) = self.kustomizations().await {
                if done(&list) {
                    return Ok(list);
                }
                last = list;
            }
            if tokio::time::Instant::now() > deadline {
                bail!("condition not met within {timeout:?}; last seen: {last:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every cluster's `sample` unit (and every other unit) is Ready at `commit`.
    pub async fn wait_ready_at(
        &self,
        commit: &str,
        timeout: Duration,
    ) -> Result<Vec<KustomizationInfo>> {
        let revision = format!("main@sha1:{commit}");
        let expected = self.options.clusters.len();
        self.wait_for(timeout, |list| {
            let samples = list.iter().filter(|k| k.name == "sample").count();
            samples == expected
                && list
                    .iter()
                    .all(|k| k.ready == "True" && k.revision == revision)
        })
        .await
    }

    pub async fn shutdown(mut self) -> Result<()> {
        for cluster in self.agents.keys().cloned().collect::<Vec<_>>() {
            self.stop_agent(&cluster).await?;
        }
        self.stop_hub().await?;
        for (_, sandbox) in std::mem::take(&mut self.sandboxes) {
            sandbox.shutdown().await;
        }
        Ok(())
    }
}
