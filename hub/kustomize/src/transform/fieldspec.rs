//! Field specs: "this path in objects of this group/version/kind", the unit kustomize's
//! transformers are configured in, plus the default tables for labels, annotations and
//! name references. Walking a path visits every element of a list on the way.

use crate::resource::{Gvk, Resource};
use serde_json::{Map, Value};

/// A path in objects of a (possibly wildcard) kind.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: Vec<String>,
    /// The path as written: kustomize compares field specs by it (`/spec/x` is not
    /// `spec/x` to it), and its special cases (`metadata/namespace`) too.
    pub text: String,
    pub create: bool,
}

impl FieldSpec {
    pub fn new(group: &str, kind: &str, path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            group: group.into(),
            version: String::new(),
            kind: kind.into(),
            path: split_path(path),
            text: path.into(),
            create,
        }
    }

    pub fn matches(&self, gvk: &Gvk) -> bool {
        (self.group.is_empty() || self.group == gvk.group)
            && (self.version.is_empty() || self.version == gvk.version)
            && (self.kind.is_empty() || self.kind == gvk.kind)
    }

    /// Decodes a user field spec (`path`, `group`, `version`, `kind`, `create`).
    pub fn from_value(v: &Value) -> Result<FieldSpec, String> {
        let m = crate::kustomization::canonical_object(
            v,
            &["path", "group", "version", "kind", "create", "behavior"],
        )?;
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let path = m
            .get("path")
            .and_then(Value::as_str)
            .ok_or("a field spec needs a path")?;
        let segments = split_spec_path(path);
        if segments.len() > crate::yaml::MAX_DEPTH {
            return Err(crate::yaml::too_deep(&format!("path {path:?}")));
        }
        Ok(FieldSpec {
            group: s("group"),
            version: s("version"),
            kind: s("kind"),
            path: segments,
            text: path.into(),
            create: m.get("create").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

/// Splits a field spec's path as kustomize does: an empty segment (`a//b`, `a/b/`) stays,
/// and makes an error where the walk reaches it; a leading `/` is nothing.
fn split_spec_path(path: &str) -> Vec<String> {
    let mut out = split_segments(path.strip_prefix('/').unwrap_or(path));
    // kubectl looks each segment up with the blanks around it trimmed.
    for seg in &mut out {
        if seg.starts_with(char::is_whitespace) || seg.ends_with(char::is_whitespace) {
            *seg = seg.trim().to_string();
        }
    }
    out
}

/// Splits `a/b\/c/d` into `["a", "b/c", "d"]`, empty segments left out.
pub fn split_path(path: &str) -> Vec<String> {
    let mut out = split_segments(path);
    out.retain(|s| !s.is_empty());
    out
}

fn split_segments(path: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                chars.next();
                if let Some(last) = out.last_mut() {
                    last.push('/');
                }
            }
            '/' => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

/// One step of the way to a visited value: a map key or a list index.
#[derive(Clone, Copy, Debug)]
pub enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

/// The keys (list indexes as text) of the way `steps` describe.
pub fn keys(steps: &[Step<'_>]) -> Vec<String> {
    steps
        .iter()
        .map(|s| match s {
            Step::Key(k) => k.to_string(),
            Step::Index(i) => i.to_string(),
        })
        .collect()
}

/// The JSON pointer of the value at the end of `steps`.
pub fn pointer(steps: &[Step<'_>]) -> String {
    crate::yaml::parse::json_pointer(&keys(steps))
}

/// `spec/containers[0]/env`, for messages.
fn shown(steps: &[Step<'_>]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// What a visitor is called with: the value and the way to it.
pub type Visitor<'f> = dyn FnMut(&mut Value, &[Step<'_>]) -> Result<(), String> + 'f;

/// Calls `f` on every value at `path` under `v`, walking as kustomize walks a field spec: a
/// list on the way is walked element by element with the same path, a null on the way ends
/// the walk, and a scalar where the path goes on is an error. With `create` (the value a
/// missing leaf starts as), missing fields are made, maps on the way, and a null found on
/// the way becomes a map. A `name[]` segment names a list: it is never created, and a null
/// there becomes an empty list.
pub fn visit(
    v: &mut Value,
    path: &[String],
    create: Option<&Value>,
    f: &mut Visitor<'_>,
) -> Result<(), String> {
    visit_at(v, path, create, &mut Vec::new(), f)
}

fn visit_at<'p>(
    v: &mut Value,
    path: &'p [String],
    create: Option<&Value>,
    steps: &mut Vec<Step<'p>>,
    f: &mut Visitor<'_>,
) -> Result<(), String> {
    let Some((head, rest)) = path.split_first() else {
        return f(v, steps);
    };
    match v {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                steps.push(Step::Index(i));
                let r = visit_at(item, path, create, steps, f);
                steps.pop();
                r?;
            }
            Ok(())
        }
        Value::Object(m) => {
            // An empty segment: kubectl can neither look it up in a map nor create it.
            if head.is_empty() {
                return Err("cannot set or create an empty field name".into());
            }
            let (head, is_list) = match head.strip_suffix("[]") {
                Some(h) => (h, true),
                None => (head.as_str(), false),
            };
            if head == "*" {
                return Err("a `*` in a field spec path is not supported by kubectl".into());
            }
            // kubectl's lookup reads a segment Go reads as an integer, a `-` and a
            // `[...]` as a list position.
            let position = head == "-" || (head.starts_with('[') && head.ends_with(']'));
            if reads_as_go_int(head) || position {
                let at = match steps.is_empty() {
                    true => "the object".to_string(),
                    false => format!("`{}`", shown(steps)),
                };
                return Err(format!(
                    "{at} is a map, where the field name {head} reads as a list position"
                ));
            }
            if !m.contains_key(head) {
                let Some(leaf) = create.filter(|_| !is_list) else {
                    return Ok(());
                };
                let new = if rest.is_empty() {
                    leaf.clone()
                } else {
                    Value::Object(Map::new())
                };
                m.insert(head.to_string(), new);
            }
            let Some(child) = m.get_mut(head) else {
                return Ok(());
            };
            // A null found takes the kind the walk needs (a map leaf where maps are
            // created); a null scalar leaf stays for `f`, which reads its text.
            if child.is_null() {
                if is_list {
                    *child = Value::Array(Vec::new());
                } else if let Some(leaf) = create {
                    if !rest.is_empty() {
                        *child = Value::Object(Map::new());
                    } else if leaf.is_object() {
                        *child = leaf.clone();
                    }
                }
            }
            steps.push(Step::Key(head));
            let r = visit_at(child, rest, create, steps, f);
            steps.pop();
            r
        }
        _ => Err(format!(
            "`{}` is {}, not a map or a list",
            shown(steps),
            kind_name(v)
        )),
    }
}

/// Whether Go's `strconv.Atoi` reads `s`: an optional sign, then decimal digits that fit
/// in 64 bits.
fn reads_as_go_int(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && s.parse::<i64>().is_ok()
}

/// `a map`, `a list`, `a string`... for messages.
pub fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Applies `f` at every field spec of `r` that matches its kind. `create` is what a missing
/// leaf starts as where a spec asks for creation (`None` for a transformer that never
/// creates, as kustomize's name references, images and vars).
pub fn apply(
    r: &mut Resource,
    specs: &[FieldSpec],
    create: Option<&Value>,
    f: &mut Visitor<'_>,
) -> Result<(), String> {
    let gvk = r.gvk();
    let mut obj = Value::Object(std::mem::take(&mut r.obj));
    let mut result = Ok(());
    for spec in specs.iter().filter(|s| s.matches(&gvk)) {
        if let Err(e) = visit(&mut obj, &spec.path, create.filter(|_| spec.create), f) {
            result = Err((spec.path.join("/"), e));
            break;
        }
    }
    if let Value::Object(m) = obj {
        r.obj = m;
    }
    result.map_err(|(path, e)| format!("field `{path}` of {}: {e}", r.describe()))
}

/// Sets every scalar at `specs` to `value`, creating it where a spec says so, as
/// kustomize's scalar setter does (whatever the scalar held): a map or a list there is an
/// error. A quoted scalar stays quoted, so a string that reads as another type (`"1"`)
/// takes the value as a string. With `unset_only`, a scalar that holds something (not
/// null, not empty) is left as it is.
pub fn set_scalar(
    r: &mut Resource,
    specs: &[FieldSpec],
    value: &Value,
    unset_only: bool,
) -> Result<(), String> {
    // A string that reads as no string sits on a quoted node, which keeps its quotes,
    // unless a patch put it onto a plain one; so does one written quoted.
    let texts = r.texts.clone();
    let quoted_node = |steps: &[Step<'_>]| {
        texts.as_ref().is_some_and(|t| {
            !t.quoted.is_empty()
                && t.quoted
                    .contains(&crate::yaml::parse::json_pointer(&keys(steps)))
        })
    };
    let plain_node = |steps: &[Step<'_>]| {
        texts.as_ref().is_some_and(|t| {
            (!t.unquoted.is_empty() || !t.tagged.is_empty()) && {
                let pointer = crate::yaml::parse::json_pointer(&keys(steps));
                t.unquoted.contains(&pointer) || t.tagged.contains(&pointer)
            }
        })
    };
    apply(r, specs, Some(&Value::Null), &mut |v, steps| {
        *v = match (&*v, value) {
            (Value::Array(_) | Value::Object(_), _) => {
                return Err(format!("expected a scalar, found {}", kind_name(v)))
            }
            (Value::Null, _) => value.clone(),
            (Value::String(s), _) if unset_only && !s.is_empty() => return Ok(()),
            (Value::Number(_) | Value::Bool(_), _) if unset_only => return Ok(()),
            (Value::String(s), Value::Number(_) | Value::Bool(_))
                if (!crate::yaml::parse::resolve_plain(s).is_string() || quoted_node(steps))
                    && !plain_node(steps) =>
            {
                Value::String(crate::yaml::emit::scalar_text(value).unwrap_or_default())
            }
            _ => value.clone(),
        };
        Ok(())
    })
}

/// Pod-template metadata paths, which labels and annotations also reach.
fn template_meta(leaf: &str) -> Vec<FieldSpec> {
    let t = |g: &str, k: &str, p: &str| FieldSpec::new(g, k, &format!("{p}/{leaf}"), true);
    // kustomize's two lists differ in one group: labels go to `apps` StatefulSets only,
    // annotations to StatefulSets of any group.
    let stateful_group = if leaf == "labels" { "apps" } else { "" };
    vec![
        FieldSpec {
            version: "v1".into(),
            ..t("", "ReplicationController", "spec/template/metadata")
        },
        t("", "Deployment", "spec/template/metadata"),
        t("", "ReplicaSet", "spec/template/metadata"),
        t("", "DaemonSet", "spec/template/metadata"),
        t(stateful_group, "StatefulSet", "spec/template/metadata"),
        t("batch", "Job", "spec/template/metadata"),
        t("batch", "CronJob", "spec/jobTemplate/metadata"),
        t(
            "batch",
            "CronJob",
            "spec/jobTemplate/spec/template/metadata",
        ),
    ]
}

/// Where `commonAnnotations` go.
pub fn annotation_specs() -> Vec<FieldSpec> {
    let mut v = vec![FieldSpec::new("", "", "metadata/annotations", true)];
    v.extend(template_meta("annotations"));
    v
}

/// Where labels go on objects' own and templates' metadata.
pub fn metadata_label_specs(templates: bool) -> Vec<FieldSpec> {
    let mut v = vec![FieldSpec::new("", "", "metadata/labels", true)];
    if templates {
        v.extend(template_meta("labels"));
    }
    v
}

/// Where `commonLabels` (and `labels` with `includeSelectors`) also go: selectors.
pub fn selector_label_specs() -> Vec<FieldSpec> {
    let aff = [
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
    ];
    let mut v = vec![
        FieldSpec {
            version: "v1".into(),
            ..FieldSpec::new("", "Service", "spec/selector", true)
        },
        FieldSpec {
            version: "v1".into(),
            ..FieldSpec::new("", "ReplicationController", "spec/selector", true)
        },
        FieldSpec::new("", "Deployment", "spec/selector/matchLabels", true),
    ];
    v.extend(
        aff.iter()
            .map(|p| FieldSpec::new("apps", "Deployment", p, false)),
    );
    v.push(FieldSpec::new(
        "",
        "ReplicaSet",
        "spec/selector/matchLabels",
        true,
    ));
    v.push(FieldSpec::new(
        "",
        "DaemonSet",
        "spec/selector/matchLabels",
        true,
    ));
    v.push(FieldSpec::new(
        "apps",
        "StatefulSet",
        "spec/selector/matchLabels",
        true,
    ));
    v.push(FieldSpec::new(
        "apps",
        "StatefulSet",
        "spec/volumeClaimTemplates[]/metadata/labels",
        true,
    ));
    v.extend(
        aff.iter()
            .map(|p| FieldSpec::new("apps", "StatefulSet", p, false)),
    );
    v.push(FieldSpec::new(
        "batch",
        "Job",
        "spec/selector/matchLabels",
        false,
    ));
    v.push(FieldSpec::new(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ));
    v.push(FieldSpec::new(
        "policy",
        "PodDisruptionBudget",
        "spec/selector/matchLabels",
        false,
    ));
    for p in [
        "spec/podSelector/matchLabels",
        "spec/ingress/from/podSelector/matchLabels",
        "spec/egress/to/podSelector/matchLabels",
    ] {
        v.push(FieldSpec::new(
            "networking.k8s.io",
            "NetworkPolicy",
            p,
            false,
        ));
    }
    v
}

/// A kind whose renames are followed, and where objects refer to it by name.
#[derive(Clone, Debug, PartialEq)]
pub struct NameRef {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub specs: Vec<FieldSpec>,
}

fn nr(group: &str, kind: &str, specs: Vec<FieldSpec>) -> NameRef {
    // kustomize names a version for these targets (which then match only it, and which a
    // configuration's entry must name too to add to them).
    const AT_V1: &[&str] = &[
        "ConfigMap",
        "Secret",
        "Service",
        "ServiceAccount",
        "PersistentVolumeClaim",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
    ];
    NameRef {
        group: group.into(),
        version: if AT_V1.contains(&kind) { "v1" } else { "" }.into(),
        kind: kind.into(),
        specs,
    }
}

/// Pod-spec-bearing kinds and the prefix of their pod spec.
const POD_HOLDERS: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("PodTemplate", "template/spec"),
    ("Deployment", "spec/template/spec"),
    ("ReplicaSet", "spec/template/spec"),
    ("DaemonSet", "spec/template/spec"),
    ("StatefulSet", "spec/template/spec"),
    ("Job", "spec/template/spec"),
    ("CronJob", "spec/jobTemplate/spec/template/spec"),
    ("ReplicationController", "spec/template/spec"),
];

/// Where a built-in kind holds its pod spec (`spec/template/spec`), if it holds one.
pub(crate) fn pod_spec_path(kind: &str) -> Option<&'static str> {
    POD_HOLDERS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, path)| *path)
}

fn pod_refs(kinds: &[&str], suffixes: &[&str]) -> Vec<FieldSpec> {
    let mut v = Vec::new();
    for (kind, prefix) in POD_HOLDERS.iter().filter(|(k, _)| kinds.contains(k)) {
        for s in suffixes {
            v.push(FieldSpec::new("", kind, &format!("{prefix}/{s}"), false));
        }
    }
    v
}

/// kustomize's default name-reference configuration.
pub fn name_refs() -> Vec<NameRef> {
    let workloads = [
        "Pod",
        "PodTemplate",
        "Deployment",
        "ReplicaSet",
        "DaemonSet",
        "StatefulSet",
        "Job",
        "CronJob",
    ];
    let mut cm = pod_refs(
        &workloads,
        &[
            "volumes/configMap/name",
            "containers/env/valueFrom/configMapKeyRef/name",
            "initContainers/env/valueFrom/configMapKeyRef/name",
            "containers/envFrom/configMapRef/name",
            "initContainers/envFrom/configMapRef/name",
            "volumes/projected/sources/configMap/name",
        ],
    );
    cm.push(FieldSpec::new(
        "",
        "Node",
        "spec/configSource/configMap",
        false,
    ));
    cm.push(FieldSpec::new("", "Role", "rules/resourceNames", false));
    cm.push(FieldSpec::new(
        "",
        "ClusterRole",
        "rules/resourceNames",
        false,
    ));
    cm.push(FieldSpec::new(
        "",
        "Ingress",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
        false,
    ));
    let mut secret = pod_refs(
        &workloads,
        &[
            "volumes/secret/secretName",
            "containers/env/valueFrom/secretKeyRef/name",
            "initContainers/env/valueFrom/secretKeyRef/name",
            "containers/envFrom/secretRef/name",
            "initContainers/envFrom/secretRef/name",
            "imagePullSecrets/name",
            "volumes/projected/sources/secret/name",
        ],
    );
    for p in [
        "spec/tls/secretName",
        "metadata/annotations/ingress.kubernetes.io\\/auth-secret",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret",
        // Listed twice in kustomize's defaults: a TLS secret name is looked up again after
        // it changed, which can pick another Secret that once had the new name.
        "spec/tls/secretName",
    ] {
        secret.push(FieldSpec::new("", "Ingress", p, false));
    }
    secret.push(FieldSpec::new(
        "",
        "ServiceAccount",
        "imagePullSecrets/name",
        false,
    ));
    for p in [
        "parameters/secretName",
        "parameters/adminSecretName",
        "parameters/userSecretName",
        "parameters/secretRef",
    ] {
        secret.push(FieldSpec::new("", "StorageClass", p, false));
    }
    secret.push(FieldSpec::new("", "Role", "rules/resourceNames", false));
    secret.push(FieldSpec::new(
        "",
        "ClusterRole",
        "rules/resourceNames",
        false,
    ));
    secret.push(FieldSpec {
        version: "v1".into(),
        ..FieldSpec::new(
            "serving.knative.dev",
            "Service",
            "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
            false,
        )
    });
    secret.push(FieldSpec::new(
        "",
        "PersistentVolume",
        "spec/azureFile/secretName",
        false,
    ));
    let service = vec![
        FieldSpec::new("apps", "StatefulSet", "spec/serviceName", false),
        FieldSpec::new(
            "",
            "Ingress",
            "spec/rules/http/paths/backend/serviceName",
            false,
        ),
        FieldSpec::new("", "Ingress", "spec/backend/serviceName", false),
        FieldSpec::new(
            "",
            "Ingress",
            "spec/rules/http/paths/backend/service/name",
            false,
        ),
        FieldSpec::new("", "Ingress", "spec/defaultBackend/service/name", false),
        FieldSpec::new(
            "apiregistration.k8s.io",
            "APIService",
            "spec/service/name",
            false,
        ),
        FieldSpec::new(
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration",
            "webhooks/clientConfig/service",
            false,
        ),
        FieldSpec::new(
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration",
            "webhooks/clientConfig/service",
            false,
        ),
    ];
    let sa_kinds = [
        "StatefulSet",
        "Deployment",
        "ReplicationController",
        "CronJob",
        "Job",
        "DaemonSet",
    ];
    let mut sa = vec![
        FieldSpec::new(
            "rbac.authorization.k8s.io",
            "RoleBinding",
            "subjects",
            false,
        ),
        FieldSpec::new(
            "rbac.authorization.k8s.io",
            "ClusterRoleBinding",
            "subjects",
            false,
        ),
        FieldSpec::new("", "Pod", "spec/serviceAccountName", false),
    ];
    sa.extend(pod_refs(&sa_kinds, &["serviceAccountName"]));
    let pvc_kinds = [
        "Pod",
        "StatefulSet",
        "Deployment",
        "ReplicationController",
        "CronJob",
        "Job",
        "DaemonSet",
    ];
    let prio = pvc_kinds;
    let hpa = |k: &str| {
        nr(
            "",
            k,
            vec![FieldSpec::new(
                "",
                "HorizontalPodAutoscaler",
                "spec/scaleTargetRef/name",
                false,
            )],
        )
    };
    // kustomize's Pod specs for ConfigMaps and Secrets name version v1: a Pod of another
    // version keeps those references.
    for spec in cm.iter_mut().chain(secret.iter_mut()) {
        if spec.kind == "Pod" {
            spec.version = "v1".into();
        }
    }
    vec![
        hpa("Deployment"),
        hpa("ReplicationController"),
        hpa("ReplicaSet"),
        hpa("StatefulSet"),
        nr("", "ConfigMap", cm),
        nr("", "Secret", secret),
        nr("", "Service", service),
        nr(
            "rbac.authorization.k8s.io",
            "Role",
            vec![FieldSpec::new(
                "rbac.authorization.k8s.io",
                "RoleBinding",
                "roleRef/name",
                false,
            )],
        ),
        nr(
            "rbac.authorization.k8s.io",
            "ClusterRole",
            vec![
                FieldSpec::new(
                    "rbac.authorization.k8s.io",
                    "RoleBinding",
                    "roleRef/name",
                    false,
                ),
                FieldSpec::new(
                    "rbac.authorization.k8s.io",
                    "ClusterRoleBinding",
                    "roleRef/name",
                    false,
                ),
            ],
        ),
        nr("", "ServiceAccount", sa),
        nr(
            "",
            "PersistentVolumeClaim",
            pod_refs(&pvc_kinds, &["volumes/persistentVolumeClaim/claimName"]),
        ),
        nr(
            "",
            "PersistentVolume",
            vec![
                FieldSpec::new("", "PersistentVolumeClaim", "spec/volumeName", false),
                FieldSpec::new("", "ClusterRole", "rules/resourceNames", false),
            ],
        ),
        nr(
            "storage.k8s.io",
            "StorageClass",
            vec![
                FieldSpec::new("", "PersistentVolume", "spec/storageClassName", false),
                FieldSpec::new("", "PersistentVolumeClaim", "spec/storageClassName", false),
                FieldSpec::new(
                    "",
                    "StatefulSet",
                    "spec/volumeClaimTemplates/spec/storageClassName",
                    false,
                ),
            ],
        ),
        nr(
            "scheduling.k8s.io",
            "PriorityClass",
            pod_refs(&prio, &["priorityClassName"]),
        ),
        nr(
            "admissionregistration.k8s.io",
            "ValidatingAdmissionPolicy",
            vec![FieldSpec::new(
                "admissionregistration.k8s.io",
                "ValidatingAdmissionPolicyBinding",
                "spec/policyName",
                false,
            )],
        ),
    ]
}
