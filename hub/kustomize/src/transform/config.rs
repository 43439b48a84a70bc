//! Transformer configuration: the field specs each built-in transformer works on, as
//! kustomize's defaults give them, extended by `configurations` files and by `crds` (OpenAPI
//! definitions with `x-kubernetes-*` extensions). A `Config` is accumulated as kustomize
//! accumulates it (see [`Config`]); the defaults alone, the common case, are shared, so
//! cloning and merging them is free. Never applies anything; the transformers in `mod.rs`
//! do.

use super::fieldspec::{self, FieldSpec, NameRef};
use crate::kustomization::canonical_object;
use crate::yaml::emit::text_for_string_field;
use serde_json::{Map, Value};
use std::sync::Arc;

/// One list of field specs per built-in transformer, as kustomize's transformer
/// configuration holds them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Lists {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    /// Where each `labels` entry sets its pairs too (none by default).
    pub labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameRef>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

/// A kustomization's transformer configuration as kustomize accumulates it: empty at
/// first; then the configuration of each base directory is merged in, then the
/// kustomization's own (kustomize's defaults with its `configurations` files), then its
/// `crds`. Merging an entry in checks it against the entries already there, so the same
/// files can narrow, widen or conflict depending on what came before, as in kubectl.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) enum Config {
    #[default]
    Empty,
    /// Exactly kustomize's defaults: the common case, shared and merged for free.
    Defaults,
    Full(Arc<Lists>),
}

const KEYS: &[&str] = &[
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "templateLabels",
    "labels",
    "commonAnnotations",
    "nameReference",
    "varReference",
    "images",
    "replicas",
];

/// Adds `spec` to `specs` as kustomize merges one field spec into a list: the first one
/// for the same path whose type `spec` selects (its group, version and kind, where given)
/// stands for it, and a different `create` flag there is a conflict.
pub(crate) fn merge_spec(specs: &mut Vec<FieldSpec>, spec: FieldSpec) -> Result<(), String> {
    match specs.iter().find(|s| selects(&spec, s)) {
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

impl Lists {
    /// The field spec lists with their keys in a configuration file.
    fn specs_mut(&mut self) -> [(&'static str, &mut Vec<FieldSpec>); 10] {
        [
            ("namePrefix", &mut self.name_prefix),
            ("nameSuffix", &mut self.name_suffix),
            ("namespace", &mut self.namespace),
            ("commonLabels", &mut self.common_labels),
            ("templateLabels", &mut self.template_labels),
            ("labels", &mut self.labels),
            ("commonAnnotations", &mut self.common_annotations),
            ("varReference", &mut self.var_reference),
            ("images", &mut self.images),
            ("replicas", &mut self.replicas),
        ]
    }

    fn specs(&self) -> [&Vec<FieldSpec>; 10] {
        [
            &self.name_prefix,
            &self.name_suffix,
            &self.namespace,
            &self.common_labels,
            &self.template_labels,
            &self.labels,
            &self.common_annotations,
            &self.var_reference,
            &self.images,
            &self.replicas,
        ]
    }

    /// Each list in kustomize's order of types (stable, so one type keeps its order).
    fn sort(&mut self) {
        use crate::sort::type_order_key;
        for (_, list) in self.specs_mut() {
            list.sort_by_cached_key(|s| type_order_key(&s.group, &s.version, &s.kind));
        }
        self.name_reference
            .sort_by_cached_key(|nr| type_order_key(&nr.group, &nr.version, &nr.kind));
    }

    /// `self` with `other` merged in, as kustomize merges two configurations: each entry
    /// of `other` in its order (see [`merge_spec`]; name references join the one for the
    /// very same type), then every list sorted.
    fn merged(&self, other: &Lists) -> Result<Lists, String> {
        let mut out = self.clone();
        for ((key, mine), theirs) in out.specs_mut().into_iter().zip(other.specs()) {
            for spec in theirs {
                merge_spec(mine, spec.clone())
                    .map_err(|m| format!("failed to merge {key}: {m}"))?;
            }
        }
        for nr in &other.name_reference {
            join_name_ref(&mut out.name_reference, nr, |specs, spec| {
                merge_spec(specs, spec.clone())
                    .map_err(|m| format!("failed to merge nameReference: {m}"))
            })?;
        }
        out.sort();
        Ok(out)
    }

    /// kustomize's default configuration, as its lists are written.
    fn written_defaults() -> Lists {
        let mut lists = Lists {
            name_prefix: name_defaults(),
            name_suffix: name_defaults(),
            namespace: namespace_defaults(),
            common_labels: common_label_defaults(),
            template_labels: template_label_defaults(),
            labels: Vec::new(),
            common_annotations: fieldspec::annotation_specs(),
            name_reference: fieldspec::name_refs(),
            var_reference: var_reference_defaults(),
            images: image_defaults(),
            replicas: replica_defaults(),
        };
        lists.sort();
        lists
    }
}

/// kustomize's default configuration merged into an empty one, as every build starts.
fn defaults() -> &'static Lists {
    static DEFAULTS: std::sync::OnceLock<Lists> = std::sync::OnceLock::new();
    DEFAULTS.get_or_init(|| {
        let written = Lists::written_defaults();
        Lists::default().merged(&written).unwrap_or(written)
    })
}

impl Config {
    /// The lists this configuration holds.
    pub fn lists(&self) -> &Lists {
        static EMPTY: Lists = Lists {
            name_prefix: Vec::new(),
            name_suffix: Vec::new(),
            namespace: Vec::new(),
            common_labels: Vec::new(),
            template_labels: Vec::new(),
            labels: Vec::new(),
            common_annotations: Vec::new(),
            name_reference: Vec::new(),
            var_reference: Vec::new(),
            images: Vec::new(),
            replicas: Vec::new(),
        };
        match self {
            Config::Empty => &EMPTY,
            Config::Defaults => defaults(),
            Config::Full(lists) => lists,
        }
    }

    /// A kustomization's own configuration: kustomize's defaults with its
    /// `configurations` files (each as [`Config::parse`] read it) merged in. A conflict
    /// names the first file that has it, where one alone does.
    pub fn own(files: &[Lists]) -> Result<Config, (Option<usize>, String)> {
        if files.is_empty() {
            return Ok(Config::Defaults);
        }
        let mut user = Lists::default();
        for (i, f) in files.iter().enumerate() {
            user = user.merged(f).map_err(|m| (Some(i), m))?;
        }
        match defaults().merged(&user) {
            Ok(lists) => Ok(Config::Full(Arc::new(lists))),
            Err(m) => {
                let alone = |f: &Lists| {
                    Lists::default()
                        .merged(f)
                        .and_then(|u| defaults().merged(&u))
                };
                Err((files.iter().position(|f| alone(f).is_err()), m))
            }
        }
    }

    /// Merges `other` in, as kustomize merges a configuration into the one it has
    /// accumulated.
    pub fn merge(&mut self, other: &Config) -> Result<(), String> {
        let merged = match (&*self, other) {
            (_, Config::Empty) => return Ok(()),
            (Config::Empty | Config::Defaults, Config::Defaults) => Config::Defaults,
            (mine, theirs) => Config::Full(Arc::new(mine.lists().merged(theirs.lists())?)),
        };
        *self = merged;
        Ok(())
    }

    /// Merges `lists` in (a `crds` file's additions).
    pub fn merge_lists(&mut self, lists: Lists) -> Result<(), String> {
        self.merge(&Config::Full(Arc::new(lists)))
    }

    /// The configuration gathered anew, as kustomize gathers a component's result: merged
    /// into an empty one.
    pub fn gather_again(&mut self) -> Result<(), String> {
        let mut again = Config::Empty;
        again.merge(self)?;
        *self = again;
        Ok(())
    }

    /// Decodes a `configurations` file, whose first document alone kubectl reads (as it
    /// reads kustomization files).
    pub fn parse(text: &str) -> Result<Lists, String> {
        let first = crate::yaml::parse_first_document(text, false)
            .map_err(|e| format!("line {}: {}", e.line, e.message))?;
        let mut out = Lists::default();
        // kubectl decodes the file strictly: a repeated key fails.
        if let Some((at, key)) = first.as_ref().and_then(|d| d.notes.repeated.first()) {
            let at = if at.is_empty() { "the file" } else { at };
            return Err(format!("key {key:?} repeated in {at}"));
        }
        if let Some(doc) = first.filter(|d| !d.value.is_null()) {
            let m = strict_object(&doc.value, KEYS)?;
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
                    .map(file_field_spec)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("{key}: {e}"))?;
                let dst = match key.as_str() {
                    "namePrefix" => &mut out.name_prefix,
                    "nameSuffix" => &mut out.name_suffix,
                    "namespace" => &mut out.namespace,
                    "commonLabels" => &mut out.common_labels,
                    "templateLabels" => &mut out.template_labels,
                    "labels" => &mut out.labels,
                    "commonAnnotations" => &mut out.common_annotations,
                    "varReference" => &mut out.var_reference,
                    "images" => &mut out.images,
                    _ => &mut out.replicas,
                };
                add_specs(dst, &specs);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Reads OpenAPI definitions (the `crds` field): properties marked with
    /// `x-kubernetes-annotation`, `x-kubernetes-label-selector`, `x-kubernetes-identity` and
    /// `x-kubernetes-object-ref-*` extend annotations, labels, prefixes and name references.
    pub fn from_openapi(text: &str) -> Result<Lists, String> {
        if text.is_empty() {
            return Err("the file is empty".into());
        }
        let docs = crate::yaml::parse_documents(text)
            .map_err(|e| format!("line {}: {}", e.line, e.message))?;
        let mut out = Lists::default();
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
    out: &mut Lists,
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
            // An empty name key is a key too: a path ending in an empty segment.
            let key = ext("x-kubernetes-object-ref-name-key").unwrap_or("name");
            let mut p = path.clone();
            p.push(key.to_string());
            let mut ref_spec = spec(path);
            ref_spec.path = p;
            add_name_ref(
                &mut out.name_reference,
                NameRef {
                    group: String::new(),
                    version: version.to_string(),
                    kind: ref_kind.to_string(),
                    specs: vec![ref_spec],
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
    let m = strict_object(v, &["group", "version", "kind", "fieldSpecs"])?;
    check_types(&m, &["group", "version", "kind"], "nameReference")?;
    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let specs = match m.get("fieldSpecs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(file_field_spec)
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

/// A field spec from a `configurations` file as kubectl decodes it: its `path` takes a
/// number or a boolean as its text (Go's YAML reader converts scalars for a string
/// field), but its kind, group and version must be strings and `create` a boolean.
fn file_field_spec(v: &Value) -> Result<FieldSpec, String> {
    let mut m = strict_object(v, &["path", "group", "version", "kind", "create"])?;
    check_types(&m, &["group", "version", "kind"], "fieldSpecs")?;
    if let Some(path) = m.get_mut("path") {
        match path {
            Value::Number(_) | Value::Bool(_) => {
                *path = Value::String(text_for_string_field(path).unwrap_or_default());
            }
            Value::String(_) | Value::Null => {}
            other => {
                return Err(format!(
                    "fieldSpecs.path: expected a string, found {}",
                    fieldspec::kind_name(other)
                ))
            }
        }
    }
    match m.get("create") {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(other) => {
            return Err(format!(
                "fieldSpecs.create: expected a boolean, found {}",
                fieldspec::kind_name(other)
            ))
        }
    }
    FieldSpec::from_value(&Value::Object(m))
}

/// A map of a `configurations` file, decoded strictly as kubectl decodes the file: an
/// unknown key fails, and so do two keys naming one field (`path` and `PATH`).
fn strict_object(v: &Value, known: &[&str]) -> Result<Map<String, Value>, String> {
    if let Value::Object(m) = v {
        let mut seen = std::collections::HashSet::new();
        for key in m.keys() {
            let field = crate::kustomization::canonical(key, known)
                .ok_or_else(|| format!("unknown field {key:?}"))?;
            if !seen.insert(field) {
                return Err(format!("field {field:?} given twice (as {key:?} too)"));
            }
        }
    }
    canonical_object(v, known)
}

/// Each of `keys` in `m` is a string, or null.
fn check_types(m: &Map<String, Value>, keys: &[&str], at: &str) -> Result<(), String> {
    for key in keys {
        match m.get(*key) {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(other) => {
                return Err(format!(
                    "{at}.{key}: expected a string, found {}",
                    fieldspec::kind_name(other)
                ))
            }
        }
    }
    Ok(())
}

/// Adds a name reference, joining the field specs of one already there for the same kind.
pub(crate) fn add_name_ref(list: &mut Vec<NameRef>, nr: NameRef) {
    let added = join_name_ref(list, &nr, |specs, spec| {
        add_specs(specs, std::slice::from_ref(spec));
        Ok(())
    });
    debug_assert!(added.is_ok());
}

/// Adds `nr` to `list`: to the one already there for the very same type, each of its
/// specs by `add`, or else whole.
fn join_name_ref(
    list: &mut Vec<NameRef>,
    nr: &NameRef,
    mut add: impl FnMut(&mut Vec<FieldSpec>, &FieldSpec) -> Result<(), String>,
) -> Result<(), String> {
    let same =
        |e: &&mut NameRef| (&e.group, &e.version, &e.kind) == (&nr.group, &nr.version, &nr.kind);
    match list.iter_mut().find(same) {
        Some(existing) => nr
            .specs
            .iter()
            .try_for_each(|spec| add(&mut existing.specs, spec)),
        None => {
            list.push(nr.clone());
            Ok(())
        }
    }
}

/// Whether spec `g` covers spec `s`: the same path, and `g`'s group, version and kind
/// (where given) are `s`'s.
fn selects(g: &FieldSpec, s: &FieldSpec) -> bool {
    let sel = |want: &str, have: &str| want.is_empty() || want == have;
    g.text == s.text
        && sel(&g.group, &s.group)
        && sel(&g.version, &s.version)
        && sel(&g.kind, &s.kind)
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
        // kustomize v5.5 gives a CronJob no NFS server of its pod volumes.
        if kind != "CronJob" {
            v.push(FieldSpec::new(
                "",
                kind,
                &format!("{prefix}/volumes/nfs/server"),
                false,
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `Config::Defaults` stands for the defaults merged into an empty configuration or
    /// into themselves, which must therefore leave them as they are.
    #[test]
    fn defaults_gathered_again_stay_the_defaults() {
        let d = defaults();
        assert_eq!(&d.merged(d).unwrap(), d);
        assert_eq!(
            &Lists::default().merged(&Lists::written_defaults()).unwrap(),
            d
        );
        assert!(!d.name_reference.is_empty() && !d.common_labels.is_empty());
    }

    /// A kinded spec for a default path joins the defaults after a base directory's
    /// configuration, and conflicts with them gathered alone.
    #[test]
    fn a_kinded_spec_meets_the_defaults_by_order() {
        let user = Config::parse(
            "images:\n- path: spec/template/spec/containers[]/image\n  kind: Rollout\n",
        )
        .unwrap();
        let own = Config::own(&[user]).unwrap();
        let mut with_base = Config::Defaults;
        with_base.merge(&own).unwrap();
        assert!(with_base.lists().images.iter().any(|s| s.kind == "Rollout"));
        let mut alone = Config::Empty;
        assert!(alone.merge(&own).unwrap_err().contains("conflicting"));
    }
}
