//! The agent's handle on its Kubernetes API server: clients (its own and one per impersonated
//! service account), discovery, and the calls it makes: server-side apply (also as a dry run),
//! get and delete.
//!
//! A thin IO edge: no decisions about what to apply or prune live here, and nothing here
//! may act on an object without the caller naming the client it acts as.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Discovery, Scope};
use kube::{Client, Config};

use crate::object::{ObjRef, Object};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Field manager of every apply; `kubectl` shows it in `managedFields`.
pub const FIELD_MANAGER: &str = "flotilla";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubeconfig {}: {source}", path.display())]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("in-cluster configuration: {0}; set kubeconfig in the agent config when running outside a cluster")]
    InCluster(#[source] kube::config::InClusterError),
    #[error("kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error("discovery failed: {}", api_message(.0))]
    Discovery(#[source] kube::Error),
}

/// Where an object lives in the API: its resource and whether it is namespaced.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

pub struct Cluster {
    config: Config,
    client: Client,
    /// Clients impersonating `system:serviceaccount:<ns>:<name>`, by that user name.
    impersonated: HashMap<String, Client>,
    discovery: Option<Discovery>,
}

impl Cluster {
    /// Connects with `kubeconfig`, or with the in-cluster service account when `None`.
    pub async fn connect(kubeconfig: Option<&Path>) -> Result<Cluster> {
        let config = match kubeconfig {
            Some(path) => {
                let kubeconfig_err = |source| Error::Kubeconfig {
                    path: path.to_path_buf(),
                    source,
                };
                let file = Kubeconfig::read_from(path).map_err(kubeconfig_err)?;
                Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                    .await
                    .map_err(kubeconfig_err)?
            }
            None => Config::incluster().map_err(Error::InCluster)?,
        };
        Cluster::from_config(config)
    }

    pub fn from_config(config: Config) -> Result<Cluster> {
        let client = Client::try_from(config.clone()).map_err(Error::Client)?;
        Ok(Cluster {
            config,
            client,
            impersonated: HashMap::new(),
            discovery: None,
        })
    }

    /// The client to act as for a unit: the agent's own, or one impersonating the unit's
    /// service account in the unit's namespace.
    pub fn client_for(&mut self, namespace: &str, service_account: &str) -> Result<Client> {
        if service_account.is_empty() {
            return Ok(self.client.clone());
        }
        let user = format!("system:serviceaccount:{namespace}:{service_account}");
        if let Some(client) = self.impersonated.get(&user) {
            return Ok(client.clone());
        }
        let mut config = self.config.clone();
        config.auth_info.impersonate = Some(user.clone());
        let client = Client::try_from(config).map_err(Error::Client)?;
        self.impersonated.insert(user, client.clone());
        Ok(client)
    }

    /// Re-reads the API server's resource list (after CRDs change, and once per apply).
    pub async fn refresh_discovery(&mut self) -> Result<()> {
        let discovery = Discovery::new(self.client.clone())
            .run()
            .await
            .map_err(Error::Discovery)?;
        self.discovery = Some(discovery);
        Ok(())
    }

    /// The resource of `object`'s kind, or `None` when discovery does not know it.
    pub fn resolve(&self, object: &ObjRef) -> Option<Resolved> {
        let gvk = GroupVersionKind::gvk(object.group(), object.version(), &object.kind);
        let (resource, capabilities) = self.discovery.as_ref()?.resolve_gvk(&gvk)?;
        Some(Resolved {
            resource,
            namespaced: capabilities.scope == Scope::Namespaced,
        })
    }

    /// Server-side applies `object` as `client`, forcing ownership of conflicting fields.
    pub async fn apply(
        client: &Client,
        resolved: &Resolved,
        object: &Object,
    ) -> Result<(), String> {
        let api = api(client, resolved, &object.id.namespace);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(&object.id.name, &params, &Patch::Apply(&object.body))
            .await
            .map(drop)
            .map_err(|err| api_message(&err))
    }

    /// What a server-side apply of `object` as `client` would make of the live object,
    /// without persisting it (`dryRun=All`).
    pub async fn dry_run_apply(
        client: &Client,
        resolved: &Resolved,
        object: &Object,
    ) -> Result<serde_json::Value, String> {
        let api = api(client, resolved, &object.id.namespace);
        let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
        let result = api
            .patch(&object.id.name, &params, &Patch::Apply(&object.body))
            .await
            .map_err(|err| api_message(&err))?;
        serde_json::to_value(result).map_err(|err| err.to_string())
    }

    /// Reads the live `object` as `client`; `None` when it does not exist.
    pub async fn get(
        client: &Client,
        resolved: &Resolved,
        object: &ObjRef,
    ) -> Result<Option<serde_json::Value>, String> {
        let api = api(client, resolved, &object.namespace);
        match api.get_opt(&object.name).await {
            Ok(Some(live)) => serde_json::to_value(live)
                .map(Some)
                .map_err(|err| err.to_string()),
            Ok(None) => Ok(None),
            Err(err) => Err(api_message(&err)),
        }
    }

    /// Deletes `object` as `client` with background propagation; an object already gone
    /// counts as deleted.
    pub async fn delete(
        client: &Client,
        resolved: &Resolved,
        object: &ObjRef,
    ) -> Result<(), String> {
        let api = api(client, resolved, &object.namespace);
        match api.delete(&object.name, &DeleteParams::background()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(err) => Err(api_message(&err)),
        }
    }
}

fn api(client: &Client, resolved: &Resolved, namespace: &str) -> Api<DynamicObject> {
    if resolved.namespaced {
        Api::namespaced_with(client.clone(), namespace, &resolved.resource)
    } else {
        Api::all_with(client.clone(), &resolved.resource)
    }
}

/// The API server's own words for a failed call, else the client error.
pub fn api_message(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        kube::Error::Api(status) if !status.reason.is_empty() => status.reason.clone(),
        other => other.to_string(),
    }
}
