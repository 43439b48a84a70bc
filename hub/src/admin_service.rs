//! The admin gRPC service: what `flotilla get ...` and `flotilla reconcile` talk to.
//!
//! Only clients whose certificate carries an admin identity are served. Answers are built
//! from the store and the live session table; nothing here changes a bundle.

use std::sync::Arc;

use flotilla_proto::admin_service_server::AdminService;
use flotilla_proto::{
    Bundle, ClusterInfo, DriftInfo, KustomizationInfo, ListClustersRequest, ListClustersResponse,
    ListDriftRequest, ListDriftResponse, ListKustomizationsRequest, ListKustomizationsResponse,
    ListSourcesRequest, ListSourcesResponse, ReconcileSourceRequest, ReconcileSourceResponse,
    SetSuspendedRequest, SetSuspendedResponse, SourceInfo,
};
use prost::Message;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

use crate::error::{blocking, Error, Result};
use crate::pki::Identity;
use crate::state::State;
use crate::tls::peer_identity;

pub struct Admin {
    state: Arc<State>,
}

impl Admin {
    pub fn new(state: Arc<State>) -> Admin {
        Admin { state }
    }
}

fn authorize<T>(request: &Request<T>) -> Result<()> {
    match peer_identity(request)? {
        Identity::Admin(_) => Ok(()),
        Identity::Cluster(name) => Err(Error::PermissionDenied(format!(
            "agent identity `{name}` cannot use the admin API"
        ))),
    }
}

#[tonic::async_trait]
impl AdminService for Admin {
    async fn list_clusters(
        &self,
        request: Request<ListClustersRequest>,
    ) -> Result<Response<ListClustersResponse>, Status> {
        authorize(&request)?;
        let state = self.state.clone();
        let clusters = blocking(move || list_clusters(&state)).await?;
        Ok(Response::new(ListClustersResponse { clusters }))
    }

    async fn list_kustomizations(
        &self,
        request: Request<ListKustomizationsRequest>,
    ) -> Result<Response<ListKustomizationsResponse>, Status> {
        authorize(&request)?;
        let wanted = request.into_inner().cluster;
        if !wanted.is_empty() && !self.state.clusters.contains_key(&wanted) {
            return Err(Error::NotFound(format!("cluster `{wanted}` is not registered")).into());
        }
        let state = self.state.clone();
        let kustomizations = blocking(move || list_kustomizations(&state, &wanted)).await?;
        Ok(Response::new(ListKustomizationsResponse { kustomizations }))
    }

    async fn list_sources(
        &self,
        request: Request<ListSourcesRequest>,
    ) -> Result<Response<ListSourcesResponse>, Status> {
        authorize(&request)?;
        let state = self.state.clone();
        let sources = blocking(move || list_sources(&state)).await?;
        Ok(Response::new(ListSourcesResponse { sources }))
    }

    async fn list_drift(
        &self,
        request: Request<ListDriftRequest>,
    ) -> Result<Response<ListDriftResponse>, Status> {
        authorize(&request)?;
        let wanted = request.into_inner().cluster;
        if !wanted.is_empty() && !self.state.clusters.contains_key(&wanted) {
            return Err(Error::NotFound(format!("cluster `{wanted}` is not registered")).into());
        }
        let state = self.state.clone();
        let drift = blocking(move || list_drift(&state, &wanted)).await?;
        Ok(Response::new(ListDriftResponse { drift }))
    }

    async fn set_suspended(
        &self,
        request: Request<SetSuspendedRequest>,
    ) -> Result<Response<SetSuspendedResponse>, Status> {
        authorize(&request)?;
        let wanted = request.into_inner();
        let state = self.state.clone();
        let clusters = blocking(move || {
            let mut clusters = Vec::new();
            for cluster in &state.config.clusters {
                if !wanted.cluster.is_empty() && cluster.name != wanted.cluster {
                    continue;
                }
                let Some(live) = state.clusters.get(&cluster.name) else {
                    continue;
                };
                let has_unit = live.bundle.borrow().as_deref().is_some_and(|stored| {
                    Bundle::decode(stored.signed.payload.as_slice()).is_ok_and(|bundle| {
                        bundle
                            .units
                            .iter()
                            .any(|u| u.namespace == wanted.namespace && u.name == wanted.name)
                    })
                });
                if has_unit {
                    state.store.set_suspended(
                        &cluster.name,
                        &wanted.namespace,
                        &wanted.name,
                        wanted.suspended,
                    )?;
                    clusters.push(cluster.name.clone());
                }
            }
            if clusters.is_empty() {
                let place = if wanted.cluster.is_empty() {
                    "any cluster".to_string()
                } else {
                    format!("cluster `{}`", wanted.cluster)
                };
                return Err(Error::NotFound(format!(
                    "Kustomization {}/{} not found on {place}",
                    wanted.namespace, wanted.name
                )));
            }
            crate::reconciler::publish_all(&state)?;
            Ok(clusters)
        })
        .await?;
        Ok(Response::new(SetSuspendedResponse { clusters }))
    }

    async fn reconcile_source(
        &self,
        request: Request<ReconcileSourceRequest>,
    ) -> Result<Response<ReconcileSourceResponse>, Status> {
        authorize(&request)?;
        let (tx, rx) = oneshot::channel();
        self.state
            .reconcile
            .send(tx)
            .await
            .map_err(|_| Status::unavailable("the hub is shutting down"))?;
        let revision = rx
            .await
            .map_err(|_| Status::unavailable("the hub is shutting down"))?
            .map_err(Status::unavailable)?;
        Ok(Response::new(ReconcileSourceResponse { revision }))
    }
}

/// The platform source first, then every GitRepository the trees declared.
fn list_sources(state: &State) -> Result<Vec<SourceInfo>> {
    let platform = state.platform_key();
    let mut keys = vec![platform.clone()];
    keys.extend(state.sources().keys().filter(|k| **k != platform).cloned());
    let mut out = Vec::new();
    for key in keys {
        let record = state.store.source(&key.to_string())?.unwrap_or_default();
        let ready = if record.revision.is_empty() && record.error.is_empty() {
            "Unknown"
        } else if record.error.is_empty() {
            "True"
        } else {
            "False"
        };
        let message = if record.error.is_empty() {
            format!("stored artifact for revision '{}'", record.revision)
        } else {
            record.error.clone()
        };
        out.push(SourceInfo {
            name: key.name,
            namespace: key.namespace,
            url: record.url,
            branch: record.branch,
            revision: record.revision,
            ready: ready.to_string(),
            message,
            last_fetch_unix: record.last_fetch_unix,
        });
    }
    Ok(out)
}

/// What each agent's last drift check found, in cluster order.
fn list_drift(state: &State, wanted: &str) -> Result<Vec<DriftInfo>> {
    let mut out = Vec::new();
    for cluster in &state.config.clusters {
        if !wanted.is_empty() && cluster.name != wanted {
            continue;
        }
        let (drifted, checked_unix) = state.store.drift(&cluster.name)?;
        for item in drifted {
            let object = item.object.unwrap_or_default();
            let name = if object.namespace.is_empty() {
                object.name
            } else {
                format!("{}/{}", object.namespace, object.name)
            };
            out.push(DriftInfo {
                cluster: cluster.name.clone(),
                unit: item.unit,
                object: format!("{} {} {name}", object.api_version, object.kind),
                state: item.state,
                fields: item.fields,
                checked_unix,
            });
        }
    }
    Ok(out)
}

fn list_clusters(state: &State) -> Result<Vec<ClusterInfo>> {
    let mut out = Vec::new();
    for cluster in &state.config.clusters {
        let Some(live) = state.clusters.get(&cluster.name) else {
            continue;
        };
        let bundle = live.bundle.borrow().clone();
        let agent = state.store.agent(&cluster.name)?.unwrap_or_default();
        out.push(ClusterInfo {
            name: cluster.name.clone(),
            connected: live.session().connected,
            generation: bundle.as_ref().map_or(0, |b| b.generation),
            applied_generation: agent.applied_generation,
            revision: bundle.map(|b| b.revision.clone()).unwrap_or_default(),
            last_seen_unix: agent.last_seen_unix,
            labels: cluster.labels.clone().into_iter().collect(),
        });
    }
    Ok(out)
}

/// Every unit of the newest bundle of each cluster, with the agent's last report on it.
fn list_kustomizations(state: &State, wanted: &str) -> Result<Vec<KustomizationInfo>> {
    let mut out = Vec::new();
    for cluster in &state.config.clusters {
        if !wanted.is_empty() && cluster.name != wanted {
            continue;
        }
        let Some(live) = state.clusters.get(&cluster.name) else {
            continue;
        };
        let Some(stored) = live.bundle.borrow().clone() else {
            continue;
        };
        let bundle = Bundle::decode(stored.signed.payload.as_slice()).map_err(|err| {
            Error::Internal(format!(
                "stored bundle of `{}` does not decode: {err}",
                cluster.name
            ))
        })?;
        let statuses = state.store.unit_statuses(&cluster.name)?;
        for unit in bundle.units {
            let status = statuses
                .iter()
                .find(|s| s.name == unit.name && s.namespace == unit.namespace);
            let (ready, message, revision) = if !unit.error.is_empty() {
                ("False", unit.error.clone(), unit.revision.clone())
            } else {
                match status {
                    Some(s) => (
                        if s.ready { "True" } else { "False" },
                        s.message.clone(),
                        s.revision.clone(),
                    ),
                    None => (
                        "Unknown",
                        "Reconciliation in progress".to_string(),
                        String::new(),
                    ),
                }
            };
            out.push(KustomizationInfo {
                cluster: cluster.name.clone(),
                name: unit.name,
                namespace: unit.namespace,
                tenant: unit.tenant,
                ready: ready.to_string(),
                message,
                revision,
                suspended: unit.suspend,
            });
        }
    }
    Ok(out)
}
