//! Transformer configuration: the field specs each built-in transformer works on, as
//! kustomize's defaults give them, extended by `configurations` files and by `crds` (OpenAPI
//! definitions with `x-kubernetes-*` extensions). A `Config` holds only the additions; the
//! defaults are implicit, so an empty one is free to clone and merge.
//! Never applies anything; the transformers in `mod.rs` do.

use super::fieldspec::{self, FieldSpec, NameRef};
use crate::kustomization::canonical_object;
use serde_json::{Map, Value};

/// Additions to kustomize's default transformer configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Config {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameRef>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

const KEYS: &[&str] = &[
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "templateLabels",
    "commonAnnotations",
    "nameReference",
    "varReference",
    "images",
    "replicas",
];

/// Adds `spec` to `specs` as kustomize merges one field spec into a list: one for the same
/// type and path is kept (a different `create` flag is a conflict).
pub(crate) fn merge_spec(specs: &mut Vec<FieldSpec>, spec: FieldSpec) -> Result<(), String> {
    let same = |s: &FieldSpec| {
        (&s.group, &s.version, &s.kind, &s.path)
            == (&spec.group, &spec.version, &spec.kind, &spec.path)
    };
    match specs.iter().find(|s| same(s)) {
        Some(s) if s.create != spec.create => Err(format!(
            "conflicting fieldspecs for `{}` (create differs)",
            spec.path.join("/")
        )),
        Some(_) => Ok(()),
        None => {
            specs.push(spec);
            Ok(())
        }
    }
}

fn add_specs(dst: &mut Vec<FieldSpec>, more: &[FieldSpec]) {
    for s in more {
        if !dst.contains(s) {
            dst.push(s.clone());
        }
    }
}

impl Config {
    pub fn is_empty(&self) -> bool {
        *self == Config::default()
    }

    /// Adds everything `other` holds that `self` lacks; a spec for the same kind and path
    /// with another `create` flag is a conflict, as kubectl says.
    pub fn merge(&mut self, other: &Config) -> Result<(), String> {
        if other.is_empty() {
            return Ok(());
        }
        let tables: [(&str, &[FieldSpec], &[FieldSpec]); 9] = [
            ("namePrefix", &self.name_prefix, &other.name_prefix),
            ("nameSuffix", &self.name_suffix, &other.name_suffix),
            ("namespace", &self.namespace, &other.namespace),
            ("commonLabels", &self.common_labels, &other.common_labels),
            (
                "templateLabels",
                &self.template_labels,
                &other.template_labels,
            ),
            (
                "commonAnnotations",
                &self.common_annotations,
                &other.common_annotations,
            ),
            ("varReference", &self.var_reference, &other.var_reference),
            ("images", &self.images, &other.images),
            ("replicas", &self.replicas, &other.replicas),
        ];
        for (key, mine, theirs) in tables {
            let clash = theirs.iter().find(|t| {
                mine.iter().any(|m| {
                    (&m.group, &m.version, &m.kind, &m.path)
                        == (&t.group, &t.version, &t.kind, &t.path)
                        && m.create != t.create
                })
            });
            if let Some(t) = clash {
                return Err(format!(
                    "failed to merge {key} fieldSpec for `{}`: conflicting fieldspecs (create differs)",
                    t.path.join("/")
                ));
            }
        }
        add_specs(&mut self.name_prefix, &other.name_prefix);
        add_specs(&mut self.name_suffix, &other.name_suffix);
        add_specs(&mut self.namespace, &other.namespace);
        add_specs(&mut self.common_labels, &other.common_labels);
        add_specs(&mut self.template_labels, &other.template_labels);
        add_specs(&mut self.common_annotations, &other.common_annotations);
        add_specs(&mut self.var_reference, &other.var_reference);
        add_specs(&mut self.images, &other.images);
        add_specs(&mut self.replicas, &other.replicas);
        for nr in &other.name_reference {
            add_name_ref(&mut self.name_reference, nr.clone());
        }
        Ok(())
    }

    /// Refuses specs that conflict with kustomize's defaults.
    pub fn check_against_defaults(&self) -> Result<(), String> {
        let tables: [(&str, Vec<FieldSpec>, &[FieldSpec]); 9] = [
            ("namePrefix", name_defaults(), &self.name_prefix),
            ("nameSuffix", name_defaults(), &self.name_suffix),
            ("namespace", namespace_defaults(), &self.namespace),
            ("commonLabels", common_label_defaults(), &self.common_labels),
            (
                "templateLabels",
                template_label_defaults(),
                &self.template_labels,
            ),
            (
                "commonAnnotations",
                fieldspec::annotation_specs(),
                &self.common_annotations,
            ),
            (
                "varReference",
                var_reference_defaults(),
                &self.var_reference,
            ),
            ("images", image_defaults(), &self.images),
            ("replicas", replica_defaults(), &self.replicas),
        ];
        for (key, defaults, extra) in tables {
            if let Some(m) = conflict(&defaults, extra) {
                return Err(format!("{key}: {m}"));
            }
        }
        Ok(())
    }

    /// Decodes a `configurations` file.
    pub fn parse(text: &str) -> Result<Config, String> {
        let docs = crate::yaml::parse_documents(text)
            .map_err(|e| format!("line {}: {}", e.line, e.message))?;
        let mut out = Config::default();
        for doc in docs.into_iter().filter(|d| !d.value.is_null()) {
            let m = canonical_object(&doc.value, KEYS)?;
            for (key, v) in &m {
                if v.is_null() {
                    continue;
                }
                let items = v
                    .as_array()
                    .ok_or_else(|| format!("{key}: expected a list"))?;
                if key == "nameReference" {
                    for item in items {
                        add_name_ref(&mut out.name_reference, name_ref(item)?);
                    }
                    continue;
                }
                let specs = items
                    .iter()
                    .map(FieldSpec::from_value)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("{key}: {e}"))?;
                let dst = match key.as_str() {
                    "namePrefix" => &mut out.name_prefix,
                    "nameSuffix" => &mut out.name_suffix,
                    "namespace" => &mut out.namespace,
                    "commonLabels" => &mut out.common_labels,
                    "templateLabels" => &mut out.template_labels,
                    "commonAnnotations" => &mut out.common_annotations,
                    "varReference" => &mut out.var_reference,
                    "images" => &mut out.images,
                    _ => &mut out.replicas,
                };
                add_specs(dst, &specs);
            }
        }
        Ok(out)
    }

    /// Reads OpenAPI definitions (the `crds` field): properties marked with
    /// `x-kubernetes-annotation`, `x-kubernetes-label-selector`, `x-kubernetes-identity` and
    /// `x-kubernetes-object-ref-*` extend annotations, labels, prefixes and name references.
    pub fn from_openapi(text: &str) -> Result<Config, String> {
        if text.is_empty() {
            return Err("the file is empty".into());
        }
        let docs = crate::yaml::parse_documents(text)
            .map_err(|e| format!("line {}: {}", e.line, e.message))?;
        let mut out = Config::default();
        let defs = match docs.into_iter().next().map(|d| d.value) {
            None | Some(Value::Null) => return Ok(out),
            Some(Value::Object(defs)) => defs,
            Some(other) => {
                return Err(format!(
                    "expected a map of definitions, found {}",
                    fieldspec::kind_name(&other)
                ))
            }
        };
        check_definitions(&defs)?;
        for (type_name, def) in &defs {
            let props = schema_props(def);
            if !["kind", "apiVersion", "metadata"]
                .iter()
                .all(|k| props.is_some_and(|p| p.contains_key(*k)))
            {
                continue;
            }
            let kind = type_name.rsplit('.').next().unwrap_or(type_name);
            let mut path = Vec::new();
            let mut seen = Vec::new();
            crd_walk(&mut out, kind, &defs, type_name, &mut path, &mut seen);
        }
        Ok(out)
    }
}

/// Each definition must be a map (or null) whose `Schema` is a map and whose
/// `Dependencies` are strings, as kubectl decodes them: a CustomResourceDefinition object
/// listed under `crds` is not.
fn check_definitions(defs: &Map<String, Value>) -> Result<(), String> {
    for (name, def) in defs {
        let fields = match def {
            Value::Null => continue,
            Value::Object(fields) => fields,
            other => {
                return Err(format!(
                    "definition {name:?}: expected a map, found {}",
                    fieldspec::kind_name(other)
                ))
            }
        };
        for (key, v) in fields {
            let expected = match crate::kustomization::canonical(key, &["Schema", "Dependencies"]) {
                Some("Schema") if !v.is_object() && !v.is_null() => "a map",
                Some("Dependencies")
                    if !v.is_null()
                        && !v
                            .as_array()
                            .is_some_and(|a| a.iter().all(|d| d.is_string() || d.is_null())) =>
                {
                    "a list of strings"
                }
                _ => continue,
            };
            return Err(format!(
                "definition {name:?}: {key}: expected {expected}, found {}",
                fieldspec::kind_name(v)
            ));
        }
    }
    Ok(())
}

fn schema_props(def: &Value) -> Option<&Map<String, Value>> {
    // kubectl decodes a definition's fields whatever their case, a later key over an
    // earlier one.
    def.as_object()?
        .iter()
        .rfind(|(k, _)| k.eq_ignore_ascii_case("schema"))
        .and_then(|(_, s)| s.get("properties"))
        .and_then(Value::as_object)
}

fn crd_walk(
    out: &mut Config,
    kind: &str,
    defs: &Map<String, Value>,
    type_name: &str,
    path: &mut Vec<String>,
    seen: &mut Vec<String>,
) {
    if seen.iter().any(|s| s == type_name) {
        return;
    }
    let Some(props) = defs.get(type_name).and_then(schema_props) else {
        return;
    };
    seen.push(type_name.to_string());
    for (prop, schema) in props {
        path.push(prop.clone());
        let spec = |p: &[String]| FieldSpec {
            kind: kind.to_string(),
            ..FieldSpec::new("", "", &p.join("/"), false)
        };
        let ext = |k: &str| schema.get(k).and_then(Value::as_str);
        if ext("x-kubernetes-annotation").is_some() {
            add_specs(&mut out.common_annotations, &[spec(path)]);
        }
        if ext("x-kubernetes-label-selector").is_some() {
            add_specs(&mut out.common_labels, &[spec(path)]);
        }
        if ext("x-kubernetes-identity").is_some() {
            add_specs(&mut out.name_prefix, &[spec(path)]);
        }
        if let (Some(version), Some(ref_kind)) = (
            ext("x-kubernetes-object-ref-api-version"),
            ext("x-kubernetes-object-ref-kind"),
        ) {
            let key = ext("x-kubernetes-object-ref-name-key").unwrap_or("name");
            let mut p = path.clone();
            p.push(key.to_string());
            add_name_ref(
                &mut out.name_reference,
                NameRef {
                    group: String::new(),
                    version: version.to_string(),
                    kind: ref_kind.to_string(),
                    specs: vec![spec(&p)],
                },
            );
        }
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let r = r.to_string();
            crd_walk(out, kind, defs, &r, path, seen);
        }
        path.pop();
    }
    seen.pop();
}

fn name_ref(v: &Value) -> Result<NameRef, String> {
    let m = canonical_object(v, &["group", "version", "kind", "fieldSpecs"])?;
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let specs = match m.get("fieldSpecs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(FieldSpec::from_value)
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err("nameReference.fieldSpecs: expected a list".into()),
    };
    Ok(NameRef {
        group: s("group"),
        version: s("version"),
        kind: s("kind"),
        specs,
    })
}

/// Adds a name reference, joining the field specs of one already there for the same kind.
pub(crate) fn add_name_ref(list: &mut Vec<NameRef>, nr: NameRef) {
    if let Some(existing) = list
        .iter_mut()
        .find(|e| e.group == nr.group && e.version == nr.version && e.kind == nr.kind)
    {
        add_specs(&mut existing.specs, &nr.specs);
    } else {
        list.push(nr);
    }
}

/// kustomize's default name references followed by the additions, each merged as
/// [`with_defaults`] merges field specs.
pub(crate) fn name_refs(extra: &Config) -> Vec<NameRef> {
    let mut all = fieldspec::name_refs();
    for nr in &extra.name_reference {
        // Only an entry for the very same group, version and kind adds to a default one.
        if let Some(existing) = all
            .iter_mut()
            .find(|e| (&e.group, &e.version, &e.kind) == (&nr.group, &nr.version, &nr.kind))
        {
            // Each spec joins unless one already there for its path is of its kinds.
            for spec in &nr.specs {
                if !existing.specs.iter().any(|e| selects(spec, e)) {
                    existing.specs.push(spec.clone());
                }
            }
        } else {
            all.push(nr.clone());
        }
    }
    all
}

/// kustomize's `defaults` with a kustomization's own `extra` specs, merged as kustomize
/// merges them: of two specs for one path where one's group, version and kind (those
/// given) select the other's, only the narrower stays. So a `metadata/labels` spec for
/// one kind takes that path away from every other kind, and a spec for any kind adds
/// nothing where one for a kind exists.
pub(crate) fn with_defaults(defaults: Vec<FieldSpec>, extra: &[FieldSpec]) -> Vec<FieldSpec> {
    if extra.is_empty() {
        return defaults;
    }
    let mut all = defaults;
    add_specs(&mut all, extra);
    let keep: Vec<bool> = all
        .iter()
        .enumerate()
        .map(|(i, g)| {
            !all.iter().enumerate().any(|(j, s)| {
                // `s` narrower than `g`, or the same kinds and earlier.
                j != i && selects(g, s) && (!selects(s, g) || j < i)
            })
        })
        .collect();
    all.into_iter()
        .zip(keep)
        .filter_map(|(s, keep)| keep.then_some(s))
        .collect()
}

/// Whether spec `g` covers spec `s`: the same path, and `g`'s group, version and kind
/// (where given) are `s`'s.
fn selects(g: &FieldSpec, s: &FieldSpec) -> bool {
    let sel = |want: &str, have: &str| want.is_empty() || want == have;
    g.path == s.path
        && sel(&g.group, &s.group)
        && sel(&g.version, &s.version)
        && sel(&g.kind, &s.kind)
}

/// An extra spec whose first default covering or covered by it (in kustomize's order, by
/// group, version and kind) has another `create` flag, which kubectl refuses as
/// conflicting.
fn conflict(defaults: &[FieldSpec], extra: &[FieldSpec]) -> Option<String> {
    let mut sorted: Vec<&FieldSpec> = defaults.iter().collect();
    sorted.sort_by(|a, b| (&a.group, &a.version, &a.kind).cmp(&(&b.group, &b.version, &b.kind)));
    extra.iter().find_map(|u| {
        sorted
            .iter()
            .find(|d| selects(d, u) || selects(u, d))
            .filter(|d| d.create != u.create)
            .map(|d| {
                format!(
                    "the field spec for `{}` conflicts with kustomize's default, which has create: {}",
                    u.path.join("/"),
                    d.create
                )
            })
    })
}

/// Where `commonLabels` go by default: labels and selectors.
pub(crate) fn common_label_defaults() -> Vec<FieldSpec> {
    let mut specs = fieldspec::metadata_label_specs(true);
    specs.extend(fieldspec::selector_label_specs());
    specs
}

/// Where `labels` with `includeTemplates` go by default: labels of objects and of their
/// templates, a StatefulSet's volume claim templates among them.
pub(crate) fn template_label_defaults() -> Vec<FieldSpec> {
    let mut specs = fieldspec::metadata_label_specs(true);
    specs.push(FieldSpec::new(
        "apps",
        "StatefulSet",
        "spec/volumeClaimTemplates[]/metadata/labels",
        true,
    ));
    specs
}

/// Where name prefixes and suffixes go by default.
pub(crate) fn name_defaults() -> Vec<FieldSpec> {
    vec![FieldSpec::new("", "", "metadata/name", false)]
}

/// Where `vars` are substituted by default.
pub(crate) fn var_reference_defaults() -> Vec<FieldSpec> {
    let mut v = Vec::new();
    let containers = |prefix: &str, kind: &str, v: &mut Vec<FieldSpec>| {
        for c in ["containers", "initContainers"] {
            for leaf in ["args", "command", "env/value", "volumeMounts/mountPath"] {
                v.push(FieldSpec::new(
                    "",
                    kind,
                    &format!("{prefix}/{c}/{leaf}"),
                    false,
                ));
            }
        }
        v.push(FieldSpec::new(
            "",
            kind,
            &format!("{prefix}/volumes/nfs/server"),
            false,
        ));
    };
    containers("spec/jobTemplate/spec/template/spec", "CronJob", &mut v);
    containers("spec/template/spec", "DaemonSet", &mut v);
    containers("spec/template/spec", "Deployment", &mut v);
    for p in ["spec/rules/host", "spec/tls/hosts", "spec/tls/secretName"] {
        v.push(FieldSpec::new("", "Ingress", p, false));
    }
    containers("spec/template/spec", "Job", &mut v);
    containers("spec", "Pod", &mut v);
    containers("spec/template/spec", "ReplicaSet", &mut v);
    v.push(FieldSpec::new("", "Service", "spec/ports/port", false));
    v.push(FieldSpec::new(
        "",
        "Service",
        "spec/ports/targetPort",
        false,
    ));
    containers("spec/template/spec", "StatefulSet", &mut v);
    // The StatefulSet's own pod volumes are replaced by its claim templates' NFS server.
    v.pop();
    v.push(FieldSpec::new(
        "",
        "StatefulSet",
        "spec/volumeClaimTemplates/spec/nfs/server",
        false,
    ));
    v.push(FieldSpec::new(
        "",
        "PersistentVolume",
        "spec/nfs/server",
        false,
    ));
    v.push(FieldSpec::new(
        "",
        "Deployment",
        "spec/template/metadata/annotations",
        false,
    ));
    v.push(FieldSpec::new("", "", "metadata/labels", false));
    v.push(FieldSpec::new("", "", "metadata/annotations", false));
    v
}

/// Where the namespace transformer writes besides `metadata/namespace`: the service
/// namespaces of API services (created) and of CRD conversion webhooks.
pub(crate) fn namespace_defaults() -> Vec<FieldSpec> {
    vec![
        FieldSpec::new(
            "apiregistration.k8s.io",
            "APIService",
            "spec/service/namespace",
            true,
        ),
        FieldSpec::new(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "spec/conversion/webhook/clientConfig/service/namespace",
            false,
        ),
    ]
}

/// Where `images` apply by default (besides every `containers`/`initContainers` list).
pub(crate) fn image_defaults() -> Vec<FieldSpec> {
    [
        "spec/containers[]/image",
        "spec/initContainers[]/image",
        "spec/template/spec/containers[]/image",
        "spec/template/spec/initContainers[]/image",
    ]
    .iter()
    // Marked to create, as kustomize's table has them, though the image transformer
    // never creates anything: what matters is that a configuration saying otherwise
    // conflicts.
    .map(|p| FieldSpec::new("", "", p, true))
    .collect()
}

/// Where `replicas` apply by default.
pub(crate) fn replica_defaults() -> Vec<FieldSpec> {
    [
        "Deployment",
        "StatefulSet",
        "ReplicaSet",
        "ReplicationController",
    ]
    .iter()
    .map(|k| FieldSpec::new("", k, "spec/replicas", true))
    .collect()
}
