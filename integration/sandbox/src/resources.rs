//! The resource table: which group/version/resource the sandbox serves, with the flags
//! discovery reports (namespaced, verbs, short names) and the flags the verbs need (status
//! subresource, generation). Built-in types are a static table shared by all sandboxes;
//! custom resources come from stored CustomResourceDefinitions. Pure data, no IO.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

/// One served resource (a plural name in a group, served at one or more versions).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceInfo {
    pub group: String,
    /// Served versions; the first is the preferred one.
    pub versions: Vec<String>,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Has a `/status` subresource: writes to the main resource keep the stored status.
    pub has_status: bool,
    /// Has `metadata.generation`.
    pub has_generation: bool,
    /// Built-in type: strategic merge patch is allowed and list merge keys are known.
    pub builtin: bool,
}

/// The only group whose resources are reviews: answered, never stored (create only).
pub const REVIEW_GROUP: &str = "authorization.k8s.io";

impl ResourceInfo {
    /// `deployments.apps`, or `configmaps` for the core group: the store key and message name.
    pub fn group_resource(&self) -> String {
        crate::error::qualified(&self.plural, &self.group)
    }

    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{}", self.group, version)
        }
    }

    pub fn serves(&self, version: &str) -> bool {
        self.versions.iter().any(|v| v == version)
    }
}

/// (group, version, plural, singular, kind, namespaced, short names, status, generation, "all")
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
    bool,
    bool,
);

#[rustfmt::skip]
const BUILTINS: &[Row] = &[
    ("", "v1", "namespaces", "namespace", "Namespace", false, &["ns"], true, false, false),
    ("", "v1", "configmaps", "configmap", "ConfigMap", true, &["cm"], false, false, false),
    ("", "v1", "secrets", "secret", "Secret", true, &[], false, false, false),
    ("", "v1", "services", "service", "Service", true, &["svc"], true, false, true),
    ("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, &["sa"], false, false, false),
    ("", "v1", "pods", "pod", "Pod", true, &["po"], true, true, true),
    ("", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, &["pvc"], true, false, false),
    ("", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume", false, &["pv"], true, false, false),
    ("", "v1", "events", "event", "Event", true, &["ev"], false, false, false),
    ("", "v1", "endpoints", "endpoints", "Endpoints", true, &["ep"], false, false, false),
    ("", "v1", "limitranges", "limitrange", "LimitRange", true, &["limits"], false, false, false),
    ("", "v1", "resourcequotas", "resourcequota", "ResourceQuota", true, &["quota"], true, false, false),
    ("", "v1", "nodes", "node", "Node", false, &["no"], true, false, false),
    ("", "v1", "replicationcontrollers", "replicationcontroller", "ReplicationController", true, &["rc"], true, true, true),
    ("apps", "v1", "deployments", "deployment", "Deployment", true, &["deploy"], true, true, true),
    ("apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, &["sts"], true, true, true),
    ("apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, &["ds"], true, true, true),
    ("apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, &["rs"], true, true, true),
    ("apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision", true, &[], false, false, false),
    ("batch", "v1", "jobs", "job", "Job", true, &[], true, true, true),
    ("batch", "v1", "cronjobs", "cronjob", "CronJob", true, &["cj"], true, true, true),
    ("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", true, &[], false, false, false),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", true, &[], false, false, false),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", false, &[], false, false, false),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false, &[], false, false, false),
    ("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", true, &["netpol"], false, true, false),
    ("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", true, &["ing"], true, true, false),
    ("networking.k8s.io", "v1", "ingressclasses", "ingressclass", "IngressClass", false, &[], false, true, false),
    ("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", true, &["pdb"], true, true, false),
    ("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler", "HorizontalPodAutoscaler", true, &["hpa"], true, false, true),
    ("coordination.k8s.io", "v1", "leases", "lease", "Lease", true, &[], false, false, false),
    ("storage.k8s.io", "v1", "storageclasses", "storageclass", "StorageClass", false, &["sc"], false, false, false),
    ("storage.k8s.io", "v1", "csidrivers", "csidriver", "CSIDriver", false, &[], false, false, false),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "selfsubjectaccessreview", "SelfSubjectAccessReview", false, &[], false, false, false),
    ("authorization.k8s.io", "v1", "subjectaccessreviews", "subjectaccessreview", "SubjectAccessReview", false, &[], false, false, false),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition", "CustomResourceDefinition", false, &["crd", "crds"], true, true, false),
];

/// The built-in resources, built once per process and shared by every sandbox.
pub fn builtins() -> &'static [Arc<ResourceInfo>] {
    static TABLE: OnceLock<Vec<Arc<ResourceInfo>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        BUILTINS
            .iter()
            .map(|r| {
                Arc::new(ResourceInfo {
                    group: r.0.into(),
                    versions: vec![r.1.into()],
                    plural: r.2.into(),
                    singular: r.3.into(),
                    kind: r.4.into(),
                    namespaced: r.5,
                    short_names: r.6.iter().map(|s| s.to_string()).collect(),
                    categories: if r.9 { vec!["all".into()] } else { vec![] },
                    has_status: r.7,
                    has_generation: r.8,
                    builtin: true,
                })
            })
            .collect()
    })
}

/// The groups whose version every sandbox serves, in discovery order.
pub const BUILTIN_GROUPS: &[(&str, &str)] = &[
    ("apps", "v1"),
    ("batch", "v1"),
    ("rbac.authorization.k8s.io", "v1"),
    ("networking.k8s.io", "v1"),
    ("policy", "v1"),
    ("autoscaling", "v2"),
    ("coordination.k8s.io", "v1"),
    ("storage.k8s.io", "v1"),
    ("apiextensions.k8s.io", "v1"),
    ("authorization.k8s.io", "v1"),
];

/// The resource a CustomResourceDefinition defines, if its spec is complete enough.
pub fn from_crd(crd: &Value) -> Option<ResourceInfo> {
    let spec = crd.get("spec")?;
    let names = spec.get("names")?;
    let str_list = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let versions: Vec<&Value> = spec
        .get("versions")?
        .as_array()?
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(true))
        .collect();
    let has_status = versions
        .iter()
        .any(|v| v.pointer("/subresources/status").is_some());
    let plural = names.get("plural")?.as_str()?.to_string();
    let kind = names.get("kind")?.as_str()?.to_string();
    Some(ResourceInfo {
        group: spec.get("group")?.as_str()?.to_string(),
        versions: versions
            .iter()
            .filter_map(|v| v.get("name").and_then(Value::as_str).map(String::from))
            .collect(),
        singular: names
            .get("singular")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| kind.to_lowercase()),
        plural,
        kind,
        namespaced: spec.get("scope").and_then(Value::as_str) != Some("Cluster"),
        short_names: str_list(names.get("shortNames")),
        categories: str_list(names.get("categories")),
        has_status,
        has_generation: true,
        builtin: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtins_cover_required_groups() {
        for (g, v) in BUILTIN_GROUPS {
            assert!(
                builtins().iter().any(|r| r.group == *g && r.serves(v)),
                "{g}"
            );
        }
        let deploy = builtins()
            .iter()
            .find(|r| r.plural == "deployments")
            .unwrap();
        assert_eq!(deploy.group_resource(), "deployments.apps");
        assert!(deploy.namespaced);
    }

    #[test]
    fn crd_becomes_resource() {
        let crd = json!({"spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                          "subresources": {"status": {}}}]}});
        let r = from_crd(&crd).unwrap();
        assert_eq!(r.group_resource(), "widgets.example.com");
        assert_eq!(r.singular, "widget");
        assert!(r.has_status && r.namespaced && !r.builtin);
    }
}
