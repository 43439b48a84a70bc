//! flotilla-sandbox: a Kubernetes API server emulator for tests and `flotilla quickstart`.
//!
//! A [`Sandbox`] is one emulated cluster: a real HTTPS server on 127.0.0.1 (fresh CA, bearer
//! token, generated kubeconfig) that the `kube` crate and `kubectl` drive unchanged. State is
//! in memory; one process can host hundreds of sandboxes. The core (store, merge, rbac,
//! discovery, selectors) is pure; `server` and `api` are the IO edge.
//!
//! | Area | Emulated | Knowingly different from kube-apiserver |
//! | --- | --- | --- |
//! | Transport | HTTPS (rustls, ring), HTTP/1.1 and HTTP/2, self-signed CA per sandbox; JSON and YAML bodies; protobuf request bodies of the kinds `kubectl create` subcommands send (Namespace, ConfigMap, Secret, ServiceAccount, RBAC) | answers JSON only (no protobuf, CBOR or Table output; kubectl prints client-side); other protobuf bodies answer 415 |
//! | Auth | admin bearer token (`system:masters`), extra users' tokens (`add_user`); `Impersonate-User`/`Impersonate-Group`, checked against RBAC `impersonate` for non-admins | no client certificates, no TokenReview, no `Impersonate-Extra`/`Uid` |
//! | Authorization | RBAC over stored Role/ClusterRole/RoleBinding/ClusterRoleBinding: verbs, apiGroups, resources (incl. subresources), resourceNames, `*` | no aggregation, no nonResourceURLs (discovery is open to all); `cluster-admin`/`admin`/`edit`/`view` exist implicitly (admin = all); SelfSubjectAccessReview/SubjectAccessReview answered (`kubectl auth can-i`), no rules reviews |
//! | Discovery | /version, /api, /api/v1, /apis, /apis/G, /apis/G/V: core, apps, batch, rbac, networking, policy, autoscaling/v2, coordination, storage, apiextensions, authorization, plus CRD groups; /openapi/v3 index and per-group-version documents declaring the PATCH query parameters (kubectl 1.32 reads them to see that `fieldValidation` is supported and then leaves validation to the server, so no `--validate=false` is needed) | legacy discovery only (kubectl falls back from the aggregated form); OpenAPI documents carry no schemas; no /openapi/v2 |
//! | Verbs | get, list, watch, create, update, patch, delete, deletecollection; `/status` subresource | no `scale` or other subresources; no pagination (`limit` ignored, no `continue`); status writes keep the main managedFields (no `subresource: status` entries) |
//! | Selectors | labelSelector (equality and set-based), fieldSelector on any string field | real servers only allow a few fields per type |
//! | Watch | newline-delimited events after a resourceVersion; initial ADDED without one; 410 when history (2048 events) is gone | no periodic bookmarks (only the watch-list one) |
//! | Patch | JSON merge, JSON patch, strategic merge (built-in types, merge keys by field name), server-side apply | SMP/SSA keys come from a field-name table, not OpenAPI; CR lists are atomic |
//! | Server-side apply | managedFields per manager (FieldsV1 `f:`/`k:`), conflicts (409 with causes), force, removal of dropped fields, create-on-apply | the only defaulting is port `protocol: TCP` (a list-map key, so keys read `k:{"containerPort":80,"protocol":"TCP"}` as on a real server); no other defaults (imagePullPolicy, strategy, ...); no `v:` sets |
//! | Metadata | uid, resourceVersion (one counter), generation (spec changes), creationTimestamp, managedFields for Update | generation is set on the same kinds as the real server only approximately |
//! | Lifecycle | namespace deletion removes its contents at once; CRD deletion removes its objects; Namespace Active, CRD Established at once | no finalizers, no graceful deletion, no garbage collection of owner references; no real controllers: with `Options::ready_workloads` (default) workloads get a ready status at once, without it their status stays as written |
//! | Validation | apiVersion/kind/namespace checks, RFC 1123 names (labels for namespaces), 404 in a missing namespace, `default`/`kube-system`/`kube-public` cannot be deleted | no schema validation (CRD schemas and built-in fields are not checked, `fieldValidation` is ignored) |
//! | Dry run | `dryRun=All` on every mutating verb | |
//! | Storage | objects as compact JSON in a BTreeMap per sandbox (about 1 KiB per small object, ~20 KiB per idle sandbox) | nothing persists; one global resourceVersion counter per sandbox |

pub mod api;
pub mod controllers;
pub mod discovery;
pub mod error;
pub mod merge;
pub mod meta;
pub mod proto;
pub mod rbac;
pub mod resources;
pub mod selector;
pub mod server;
pub mod store;
pub mod tls;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use error::{ApiError, Error, Result};
pub use store::StoreView;

/// What the connections of one sandbox share.
pub struct Shared {
    pub(crate) store: store::Store,
    pub(crate) token: String,
    pub(crate) server_address: String,
    pub(crate) cancel: CancellationToken,
    /// Extra bearer tokens and the users they authenticate.
    pub(crate) users: std::sync::Mutex<Vec<(String, rbac::UserInfo)>>,
}

impl Shared {
    pub(crate) fn user_for_token(&self, token: &str) -> Option<rbac::UserInfo> {
        let users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        users
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, u)| u.clone())
    }
}

/// How a sandbox behaves where a real cluster depends on its controllers.
#[derive(Debug, Clone)]
pub struct Options {
    /// Workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, Pod, PVC) get a ready
    /// status at their current generation on every write, as if controllers and nodes had
    /// done their work. On by default; turn off to test waiting for health (then set status
    /// through the `/status` subresource).
    pub ready_workloads: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ready_workloads: true,
        }
    }
}

/// One emulated cluster. Stops when shut down or dropped.
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    ca_pem: String,
    task: Option<JoinHandle<()>>,
}

const DEFAULT_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

impl Sandbox {
    /// Binds 127.0.0.1:0, generates a CA, a server certificate and an admin token, seeds
    /// the default namespaces and starts serving, with default [`Options`].
    pub async fn start() -> Result<Sandbox> {
        Self::start_with(Options::default()).await
    }

    /// [`Sandbox::start`] with options.
    pub async fn start_with(options: Options) -> Result<Sandbox> {
        let pki = tls::generate()?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(Error::Bind)?;
        let addr = listener.local_addr().map_err(Error::Bind)?;
        let token = format!("{:016x}{:016x}", meta::random_u64(), meta::random_u64());
        let shared = Arc::new(Shared {
            store: store::Store::default(),
            token,
            server_address: addr.to_string(),
            cancel: CancellationToken::new(),
            users: std::sync::Mutex::new(Vec::new()),
        });
        shared
            .store
            .lock()
            .set_ready_workloads(options.ready_workloads);
        seed(&shared);
        let span = tracing::info_span!("sandbox", %addr);
        let task = tokio::spawn(tracing::Instrument::instrument(
            server::serve(listener, pki.server_config, shared.clone()),
            span,
        ));
        Ok(Sandbox {
            shared,
            addr,
            ca_pem: pki.ca_pem,
            task: Some(task),
        })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin bearer token (`system:masters`).
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The CA certificate (PEM) that signed the server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A kubeconfig with `certificate-authority-data` and the token; context "sandbox".
    pub fn kubeconfig_yaml(&self) -> String {
        tls::kubeconfig(self.addr, &self.ca_pem, &self.shared.token)
    }

    pub fn write_kubeconfig(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// Registers a user (authenticated, plus `groups`) and returns its new bearer token.
    /// Its requests are authorized by RBAC; it may impersonate only where RBAC grants the
    /// `impersonate` verb on `users`/`groups`.
    pub fn add_user(&self, name: &str, groups: &[&str]) -> String {
        let token = format!("{:016x}{:016x}", meta::random_u64(), meta::random_u64());
        let mut all: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        all.push("system:authenticated".into());
        let user = rbac::UserInfo {
            name: name.to_string(),
            groups: all,
        };
        let mut users = self.shared.users.lock().unwrap_or_else(|p| p.into_inner());
        users.push((token.clone(), user));
        token
    }

    /// A kubeconfig like [`Sandbox::kubeconfig_yaml`] that authenticates with `token`.
    pub fn kubeconfig_yaml_with_token(&self, token: &str) -> String {
        tls::kubeconfig(self.addr, &self.ca_pem, token)
    }

    /// Direct read access to the stored objects.
    pub fn store(&self) -> StoreView {
        StoreView(self.shared.clone())
    }

    /// Stops serving and waits for the listener to end.
    pub async fn shutdown(mut self) {
        self.shared.cancel.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

fn seed(shared: &Shared) {
    let Some(ns) = resources::builtins()
        .iter()
        .find(|r| r.plural == "namespaces")
    else {
        return;
    };
    let mut st = shared.store.lock();
    for name in DEFAULT_NAMESPACES {
        let obj = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name}, "status": {"phase": "Active"}});
        let key = store::ObjectKey {
            group_resource: "namespaces".into(),
            namespace: String::new(),
            name: name.to_string(),
        };
        let _ = api::write::commit(
            &mut st,
            api::write::Write {
                resource: ns,
                api_version: "v1",
                key,
                old: None,
                new: obj,
                ownership: api::write::Ownership::Computed(Vec::new()),
                status_subresource: false,
                dry_run: false,
            },
        );
    }
}
