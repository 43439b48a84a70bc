//! The resolver: turns one cluster's Flux tree into units, the way Flux's controllers would
//! reconcile it, without a cluster.
//!
//! The cluster's root path is rendered as the root unit (Flux's `flux-system`
//! Kustomization). Every Flux `Kustomization` in a unit's output becomes a unit of its own,
//! rendered from its source and path, recursively; `GitRepository` objects are collected
//! so the hub can fetch them, and neither is shipped. Everything else is shipped as is.
//! A unit that cannot be rendered carries its error and no objects; the other units still
//! ship. Pure: sources arrive as in-memory snapshots, nothing here does IO.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use flotilla_config::flux::{self, GitRepositorySpec, Kustomization, KustomizationSpec};
use flotilla_config::{ClusterConfig, TenantConfig};
use flotilla_kustomize::{BuildOptions, FileSystem, MemFs};
use flotilla_proto::Unit;
use serde_json::Value;

use crate::policy;
use crate::substitute::substitute;

/// Deepest chain of Kustomizations pointing at Kustomizations that is followed.
pub const MAX_DEPTH: usize = 16;
/// Most units one cluster may have.
pub const MAX_UNITS: usize = 1000;

/// A GitRepository, by namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceKey {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for SourceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// What the hub knows of one source: the newest good snapshot, or why there is none.
#[derive(Clone, Debug)]
pub enum SourceState {
    Ready { revision: String, fs: Arc<MemFs> },
    Failed(String),
}

pub struct Input<'a> {
    pub cluster: &'a ClusterConfig,
    /// The source holding `clusters/<name>/`.
    pub platform: &'a SourceKey,
    pub sources: &'a BTreeMap<SourceKey, SourceState>,
    pub tenants: &'a [TenantConfig],
    /// Units of the cluster's previous bundle: the children a failing unit declared last
    /// time are carried over from here.
    pub previous: &'a [Unit],
    /// Rendered subtrees shared across renders and clusters, keyed by content.
    pub cache: Option<&'a flotilla_kustomize::Cache>,
    /// (namespace, name) of the Kustomizations an operator suspended on this cluster.
    pub suspended: &'a BTreeSet<(String, String)>,
}

/// One cluster's resolved tree.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Units in dependency order.
    pub units: Vec<Unit>,
    /// GitRepository objects found in the tree, to be fetched.
    pub git_repositories: BTreeMap<SourceKey, GitRepositorySpec>,
}

struct Pending {
    namespace: String,
    name: String,
    spec: KustomizationSpec,
    depth: usize,
    /// `namespace/name` of the unit whose output declared this one.
    parent: String,
}

impl Pending {
    fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

pub fn resolve(input: &Input<'_>) -> Resolution {
    let mut resolution = Resolution::default();
    let root = Pending {
        namespace: input.platform.namespace.clone(),
        name: input.platform.name.clone(),
        spec: KustomizationSpec {
            path: Some(input.cluster.root_path()),
            source_ref: flux::CrossNamespaceSourceReference {
                kind: "GitRepository".to_string(),
                name: input.platform.name.clone(),
                namespace: Some(input.platform.namespace.clone()),
                api_version: None,
            },
            prune: true,
            ..Default::default()
        },
        depth: 0,
        parent: String::new(),
    };
    let mut queue = VecDeque::from([root]);
    // Every unit id declared so far, with the spec and parent of its first declaration.
    let mut declared: BTreeMap<String, (KustomizationSpec, String)> = BTreeMap::new();
    let mut conflicts: BTreeMap<String, String> = BTreeMap::new();
    let mut units: Vec<Unit> = Vec::new();
    let mut var_sources = VarSources::new();
    while let Some(pending) = queue.pop_front() {
        let mut unit = unit_header(input, &pending);
        let tenant = tenant_of(input, &pending.namespace);
        let rendered = match tenant {
            Some(tenant) => enforce_tenant_before(tenant, &pending, &mut unit)
                .and_then(|()| render(input, &pending, &var_sources))
                .and_then(|rendered| enforce_tenant_after(tenant, &rendered).map(|()| rendered)),
            None => render(input, &pending, &var_sources),
        };
        match rendered {
            Ok(rendered) => {
                collect_var_sources(&rendered.objects, &mut var_sources);
                unit.objects = rendered.objects.iter().map(Value::to_string).collect();
                resolution
                    .git_repositories
                    .extend(rendered.git_repositories);
                if let Err(message) = enqueue_children(
                    &pending,
                    rendered.kustomizations,
                    &mut declared,
                    &mut conflicts,
                    &mut queue,
                    units.len(),
                ) {
                    unit.error = message;
                }
            }
            Err(message) => unit.error = message,
        }
        if !unit.error.is_empty() {
            unit.objects.clear();
        }
        let failed = (!unit.error.is_empty()).then(|| unit_id(&unit));
        units.push(unit);
        if let Some(failed) = failed {
            carry_descendants(&failed, input.previous, &mut declared, &mut units);
        }
    }
    for unit in &mut units {
        if let Some(message) = conflicts.get(&unit_id(unit)) {
            unit.error = message.clone();
            unit.objects.clear();
        }
    }
    resolution.units = order_by_dependencies(units);
    resolution
}

fn unit_id(unit: &Unit) -> String {
    format!("{}/{}", unit.namespace, unit.name)
}

fn unit_header(input: &Input<'_>, pending: &Pending) -> Unit {
    let spec = &pending.spec;
    let source = source_key(&pending.namespace, spec);
    let revision = match input.sources.get(&source) {
        Some(SourceState::Ready { revision, .. }) => revision.clone(),
        _ => String::new(),
    };
    let tenant = tenant_of(input, &pending.namespace)
        .map(|t| t.name.clone())
        .unwrap_or_default();
    Unit {
        name: pending.name.clone(),
        namespace: pending.namespace.clone(),
        tenant,
        revision,
        path: spec.path.clone().unwrap_or_else(|| "./".to_string()),
        prune: spec.prune,
        wait: spec.wait,
        suspend: spec.suspend
            || input
                .suspended
                .contains(&(pending.namespace.clone(), pending.name.clone())),
        service_account: spec.service_account_name.clone().unwrap_or_default(),
        target_namespace: spec.target_namespace.clone().unwrap_or_default(),
        depends_on: spec
            .depends_on
            .iter()
            .map(|d| {
                let ns = d.namespace.as_deref().unwrap_or(&pending.namespace);
                format!("{ns}/{}", d.name)
            })
            .collect(),
        timeout_seconds: spec
            .timeout
            .as_deref()
            .or(spec.interval.as_deref())
            .and_then(flotilla_config::parse_duration)
            .map_or(0, |d| d.as_secs()),
        error: String::new(),
        objects: Vec::new(),
        parent: pending.parent.clone(),
    }
}

/// The tenant whose namespaces hold `namespace`, if any.
fn tenant_of<'a>(input: &Input<'a>, namespace: &str) -> Option<&'a TenantConfig> {
    input
        .tenants
        .iter()
        .find(|t| t.namespaces.iter().any(|ns| ns == namespace))
}

/// Tenant rules that hold before rendering: a service account, and a source in the unit's
/// own namespace.
fn enforce_tenant_before(
    tenant: &TenantConfig,
    pending: &Pending,
    unit: &mut Unit,
) -> Result<(), String> {
    unit.service_account = policy::service_account(tenant, &unit.service_account)?;
    let source = source_key(&pending.namespace, &pending.spec);
    policy::check_source(tenant, &pending.namespace, &source.namespace)
}

/// Tenant rules over what the unit rendered: its objects, and the Kustomizations and
/// GitRepositories it declares, all in the tenant's namespaces.
fn enforce_tenant_after(tenant: &TenantConfig, rendered: &Rendered) -> Result<(), String> {
    for object in &rendered.objects {
        policy::check_object(tenant, object)?;
    }
    for child in &rendered.kustomizations {
        let what = format!(
            "{}/v1 Kustomization {}",
            flux::KUSTOMIZATION_GROUP,
            child.id()
        );
        policy::check_namespace(tenant, &what, Some(&child.namespace))?;
    }
    for (key, _) in &rendered.git_repositories {
        let what = format!("{}/v1 GitRepository {key}", flux::SOURCE_GROUP);
        policy::check_namespace(tenant, &what, Some(&key.namespace))?;
    }
    Ok(())
}

fn source_key(namespace: &str, spec: &KustomizationSpec) -> SourceKey {
    SourceKey {
        namespace: spec
            .source_ref
            .namespace
            .clone()
            .unwrap_or_else(|| namespace.to_string()),
        name: spec.source_ref.name.clone(),
    }
}

struct Rendered {
    objects: Vec<Value>,
    kustomizations: Vec<Pending>,
    git_repositories: Vec<(SourceKey, GitRepositorySpec)>,
}

fn render(
    input: &Input<'_>,
    pending: &Pending,
    var_sources: &VarSources,
) -> Result<Rendered, String> {
    let spec = &pending.spec;
    for (field, value) in [
        ("spec.timeout", &spec.timeout),
        ("spec.interval", &spec.interval),
    ] {
        if let Some(text) = value {
            if flotilla_config::parse_duration(text).is_none() {
                return Err(format!(
                    "{field} `{text}` is not a duration such as 5m or 30s"
                ));
            }
        }
    }
    if spec.source_ref.kind != "GitRepository" {
        return Err(format!(
            "spec.sourceRef.kind `{}` is not supported: use GitRepository",
            spec.source_ref.kind
        ));
    }
    let key = source_key(&pending.namespace, spec);
    let fs = match input.sources.get(&key) {
        Some(SourceState::Ready { fs, .. }) => fs,
        Some(SourceState::Failed(message)) => {
            return Err(format!("GitRepository {key} is not ready: {message}"))
        }
        None => return Err(format!("GitRepository {key} not found")),
    };
    let shown = spec.path.clone().unwrap_or_else(|| "./".to_string());
    let path = normalize_path(&shown)
        .ok_or_else(|| format!("spec.path `{shown}` escapes the source root"))?;
    if fs.kind(&path).is_none() {
        return Err(format!("kustomization path not found: {shown}"));
    }
    let options = BuildOptions {
        namespace: spec.target_namespace.clone().filter(|ns| !ns.is_empty()),
        flux_autodetect: true,
    };
    let resources = match input.cache {
        Some(cache) => flotilla_kustomize::build_with_cache(fs.as_ref(), &path, &options, cache),
        None => flotilla_kustomize::build(fs.as_ref(), &path, &options),
    }
    .map_err(|err| format!("kustomize build failed: {err}"))?;
    let vars = match &spec.post_build {
        Some(post) => Some(substitutions(input, pending, post, var_sources)?),
        None => None,
    };
    let mut rendered = Rendered {
        objects: Vec::new(),
        kustomizations: Vec::new(),
        git_repositories: Vec::new(),
    };
    for resource in resources {
        let mut object = resource.to_json();
        if let Some(vars) = &vars {
            if !substitution_disabled(&object) {
                object = substitute_object(&object, vars).map_err(|err| {
                    format!("{}: postBuild substitution: {err}", describe(&object))
                })?;
            }
        }
        classify(pending, object, &mut rendered)?;
    }
    Ok(rendered)
}

fn classify(pending: &Pending, mut object: Value, rendered: &mut Rendered) -> Result<(), String> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let group = flux::api_group(api_version);
    let kind = object["kind"].as_str().unwrap_or_default();
    match (group, kind) {
        (flux::KUSTOMIZATION_GROUP, "Kustomization") => {
            let parsed: Kustomization = serde_json::from_value(object.clone())
                .map_err(|err| format!("{}: {err}", describe(&object)))?;
            let namespace = parsed
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| pending.namespace.clone());
            rendered.kustomizations.push(Pending {
                namespace,
                name: parsed.metadata.name,
                spec: parsed.spec,
                depth: 0,
                parent: String::new(),
            });
        }
        (flux::SOURCE_GROUP, "GitRepository") => {
            let parsed: flux::GitRepository = serde_json::from_value(object.clone())
                .map_err(|err| format!("{}: {err}", describe(&object)))?;
            let key = SourceKey {
                namespace: parsed
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| pending.namespace.clone()),
                name: parsed.metadata.name,
            };
            rendered.git_repositories.push((key, parsed.spec));
        }
        _ => {
            label_owner(&mut object, pending);
            rendered.objects.push(object);
        }
    }
    Ok(())
}

/// Marks an object with the unit that owns it, as Flux does.
fn label_owner(object: &mut Value, pending: &Pending) {
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(labels) = labels.as_object_mut() {
        labels.insert(
            "kustomize.toolkit.fluxcd.io/name".into(),
            Value::String(pending.name.clone()),
        );
        labels.insert(
            "kustomize.toolkit.fluxcd.io/namespace".into(),
            Value::String(pending.namespace.clone()),
        );
    }
}

/// The data of the ConfigMaps and Secrets shipped so far, by (kind, namespace, name): what
/// `postBuild.substituteFrom` reads, as Flux reads them from the cluster.
type VarSources = BTreeMap<(String, String, String), BTreeMap<String, String>>;

fn collect_var_sources(objects: &[Value], sources: &mut VarSources) {
    use base64::Engine as _;
    for object in objects {
        let kind = object["kind"].as_str().unwrap_or_default();
        if object["apiVersion"] != "v1" || !matches!(kind, "ConfigMap" | "Secret") {
            continue;
        }
        let (Some(namespace), Some(name)) = (
            object["metadata"]["namespace"].as_str(),
            object["metadata"]["name"].as_str(),
        ) else {
            continue;
        };
        let mut data = BTreeMap::new();
        if let Some(map) = object["data"].as_object() {
            for (key, value) in map {
                let Some(text) = value.as_str() else { continue };
                let text = if kind == "Secret" {
                    match base64::engine::general_purpose::STANDARD.decode(text) {
                        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                        Err(_) => continue,
                    }
                } else {
                    text.to_string()
                };
                data.insert(key.clone(), text);
            }
        }
        if let Some(map) = object["stringData"].as_object() {
            for (key, value) in map {
                if let Some(text) = value.as_str() {
                    data.insert(key.clone(), text.to_string());
                }
            }
        }
        sources.insert(
            (kind.to_string(), namespace.to_string(), name.to_string()),
            data,
        );
    }
}

/// A unit's substitution variables, lowest precedence first: the cluster's variables from
/// the hub config, then each `substituteFrom` in order, then `substitute`.
fn substitutions(
    input: &Input<'_>,
    pending: &Pending,
    post: &flux::PostBuild,
    var_sources: &VarSources,
) -> Result<BTreeMap<String, String>, String> {
    let mut vars = input.cluster.substitutions();
    for reference in &post.substitute_from {
        if !matches!(reference.kind.as_str(), "ConfigMap" | "Secret") {
            return Err(format!(
                "spec.postBuild.substituteFrom: kind `{}` is not ConfigMap or Secret",
                reference.kind
            ));
        }
        let key = (
            reference.kind.clone(),
            pending.namespace.clone(),
            reference.name.clone(),
        );
        match var_sources.get(&key) {
            Some(data) => vars.extend(data.clone()),
            None if reference.optional => {}
            None => {
                return Err(format!(
                    "spec.postBuild.substituteFrom: {} {}/{} not found among the objects this cluster ships before this unit",
                    reference.kind, pending.namespace, reference.name
                ))
            }
        }
    }
    vars.extend(post.substitute.clone());
    Ok(vars)
}

fn substitution_disabled(object: &Value) -> bool {
    const KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
    let metadata = &object["metadata"];
    metadata["annotations"][KEY] == "disabled" || metadata["labels"][KEY] == "disabled"
}

/// Substitutes on the object's YAML text, as Flux does, so `replicas: ${n}` becomes a number.
fn substitute_object(object: &Value, vars: &BTreeMap<String, String>) -> Result<Value, String> {
    let text = serde_norway::to_string(object).map_err(|err| err.to_string())?;
    if !text.contains("${") {
        return Ok(object.clone());
    }
    let text = substitute(&text, vars).map_err(|err| err.to_string())?;
    serde_norway::from_str(&text).map_err(|err| format!("result is not valid YAML: {err}"))
}

/// `apps/v1 Deployment sample/web`, the way every message names an object.
pub fn describe(object: &Value) -> String {
    let api_version = object["apiVersion"].as_str().unwrap_or("<no apiVersion>");
    let kind = object["kind"].as_str().unwrap_or("<no kind>");
    let name = object["metadata"]["name"].as_str().unwrap_or("<no name>");
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{api_version} {kind} {ns}/{name}"),
        None => format!("{api_version} {kind} {name}"),
    }
}

/// `./apps/sample/` → `apps/sample`; `None` when `..` climbs above the root.
fn normalize_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

mod declare;
mod order;

use declare::{carry_descendants, enqueue_children};
use order::order_by_dependencies;

#[cfg(test)]
mod tests;
