//! `generators:` and `transformers:` entries: configurations of kustomize's built-in
//! plugins (`apiVersion: builtin`), given as files, directories (whose build output is the
//! list of configurations) or inline YAML. Each runs the same code as the matching
//! kustomization field, with the field specs the configuration names.
//! Exec, container and Go plugins, and Helm, are refused naming the field.

use super::fieldspec::FieldSpec;
use super::{generators, patch, replacements, Layer};
use crate::build::Builder;
use crate::kustomization::{canonical_object, Kustomization};
use crate::resource::Resource;
use crate::{Error, Result};
use serde_json::{Map, Value};

/// Runs the plugin configurations listed under `field` (`generators` or `transformers`).
pub(crate) fn run(
    b: &mut Builder<'_>,
    k: &Kustomization,
    field: &str,
    layer: &mut Layer,
    depth: usize,
) -> Result<()> {
    // As kubectl does: an entry that reads as objects (even a one-line flow map) is an
    // inline configuration, and all of those come first, in order; then the files and
    // directories, in order.
    let origin = format!("{} ({field})", k.file);
    let mut configs = Vec::new();
    let mut paths = Vec::new();
    for entry in k.str_list(field)? {
        match crate::build::parse_resources(&entry, &origin) {
            Ok(res) => configs.extend(res),
            // Several lines are meant inline: their error says more than a missing file.
            Err(e) if entry.contains('\n') => return Err(e),
            Err(_) => paths.push(entry),
        }
    }
    for entry in &paths {
        configs.extend(b.resource_entry(k, field, entry, depth)?.res);
    }
    // The configurations are one set of objects to kubectl: each id once.
    let mut ids = std::collections::HashSet::new();
    for c in &configs {
        let namespace = crate::resource::or_default(c.namespace());
        if !ids.insert((c.api_version(), c.kind(), c.name(), namespace)) {
            return Err(k.field_err(field, format!("{} is configured twice", c.describe())));
        }
    }
    for c in &configs {
        run_one(b, k, field, c, layer)?;
        if b.track && field == "transformers" {
            let file = config_file(k, field, c);
            let kind = super::metadata::builtin_kind(c.kind());
            for r in layer.res.iter_mut() {
                // A transformer that took an object's origin away is its origin instead.
                if std::mem::take(&mut r.origin_taken) == 0 {
                    r.transformations.push(crate::resource::ConfiguredBy {
                        file: file.clone(),
                        kind,
                        config: Some(c.config_id()),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The file a plugin configuration `c` comes from, as origins and transformation notes
/// write it: the kustomization's own for an inline one.
fn config_file(k: &Kustomization, field: &str, c: &Resource) -> String {
    if c.origin == format!("{} ({field})", k.file) {
        k.written_file()
    } else {
        c.written.clone().unwrap_or_else(|| c.origin.clone())
    }
}

fn run_one(
    b: &mut Builder<'_>,
    k: &Kustomization,
    field: &str,
    c: &Resource,
    layer: &mut Layer,
) -> Result<()> {
    let api = c.api_version();
    let kind = c.kind();
    let config_file = config_file(k, field, c);
    let plugin = Some((config_file.as_str(), c.config_id()));
    let unsupported = |what: String| Error::Unsupported {
        path: k.file.clone(),
        field: field.to_string(),
        what,
    };
    if kind == "HelmChartInflationGenerator" {
        return Err(unsupported("Helm chart inflation".into()));
    }
    if api != "builtin" {
        return Err(unsupported(format!(
            "plugin {api} {kind} (exec, container and Go plugins)"
        )));
    }
    // Each built-in plugin is either a generator or a transformer, and serves only there.
    let generator = matches!(
        kind,
        "ConfigMapGenerator" | "SecretGenerator" | "IAMPolicyGenerator"
    );
    let known = generator || kind == "ValueAddTransformer" || config_shape(kind).is_some();
    if known && generator != (field == "generators") {
        let role = if generator {
            "generator"
        } else {
            "transformer"
        };
        return Err(k.field_err(
            field,
            format!(
                "{kind} {} is a {role}; it cannot serve under {field}",
                c.name()
            ),
        ));
    }
    // kubectl decodes a configuration leniently: fields it does not know are dropped, and
    // some string fields take numbers and booleans as their text.
    let mut conformed = Value::Object(c.obj.clone());
    if let Some(shape) = config_shape(kind) {
        conform(&mut conformed, shape, "")
            .map_err(|m| k.field_err(field, format!("{kind} {}: {m}", c.name())))?;
    }
    let Value::Object(cfg) = &conformed else {
        unreachable!("a configuration is an object")
    };
    let meta = |key: &str| {
        cfg.get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (name, namespace) = (meta("name"), meta("namespace"));
    let err = |m: String| k.field_err(field, format!("{kind} {name}: {m}"));
    let specs = field_specs(cfg).map_err(err)?;
    let synthetic = |key: &str, v: Value| {
        let mut fields = Map::new();
        fields.insert(key.to_string(), v);
        Kustomization {
            file: k.file.clone(),
            dir: k.dir.clone(),
            written: k.written.clone(),
            fields,
        }
    };
    let get = |key: &str| cfg.get(key).cloned().unwrap_or(Value::Null);
    // A missing or null object field decodes as an empty one.
    let object = |key: &str| match get(key) {
        Value::Null => Value::Object(Map::new()),
        v => v,
    };
    let string = |key: &str| {
        cfg.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match kind {
        "ConfigMapGenerator" | "SecretGenerator" => {
            let mut g = cfg.clone();
            for key in ["apiVersion", "kind", "metadata"] {
                g.shift_remove(key);
            }
            // A name or namespace of the generator's own wins over the metadata's.
            for (key, value) in [("name", &name), ("namespace", &namespace)] {
                let own = g
                    .get(key)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty());
                if !own && !value.is_empty() {
                    g.insert(key.into(), Value::String(value.clone()));
                }
            }
            let g = canonical_object(&Value::Object(g), generators::GEN_FIELDS).map_err(err)?;
            let (gen_field, res_kind) = if kind == "SecretGenerator" {
                ("secretGenerator", "Secret")
            } else {
                ("configMapGenerator", "ConfigMap")
            };
            let made = generators::generate(
                b.fsys,
                k,
                gen_field,
                res_kind,
                &g,
                &generators::Options::default(),
                &mut layer.res,
            )?;
            // A new or replaced object records the plugin configuration that made it.
            if let Some(i) = made {
                if let Some(r) = layer.res.get_mut(i) {
                    if !c.origin.ends_with(&format!(" ({field})")) {
                        r.origin = c.origin.clone();
                        r.written = c.written.clone();
                    }
                    r.generator_config = Some(c.config_id());
                }
            }
            Ok(())
        }
        "NamespaceTransformer" => {
            // Both were checked to be a boolean and a string (or null).
            let unset_only = cfg.get("unsetOnly") == Some(&Value::Bool(true));
            let subjects = match string("setRoleBindingSubjects").as_str() {
                "" | "defaultOnly" => super::Subjects::DefaultOnly,
                "allServiceAccounts" => super::Subjects::AllServiceAccounts,
                "none" => super::Subjects::None,
                other => {
                    return Err(err(format!(
                    "setRoleBindingSubjects {other:?}: use defaultOnly, allServiceAccounts or none"
                )))
                }
            };
            // With no namespace the transformer does nothing.
            if namespace.is_empty() {
                return Ok(());
            }
            for r in layer.res.iter_mut() {
                super::record_rename(r);
                super::namespace_one(r, &namespace, &specs, unset_only, subjects).map_err(err)?;
            }
            let mut seen = std::collections::HashSet::new();
            for r in &layer.res {
                if !seen.insert(r.id_key()) {
                    return Err(err(format!(
                        "gives two objects the same id: {}",
                        r.describe()
                    )));
                }
            }
            Ok(())
        }
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            // An empty list is a list: only a missing one is refused, as in kubectl.
            if !cfg.get("fieldSpecs").is_some_and(Value::is_array) {
                return Err(err("fieldSpecs is not expected to be nil".into()));
            }
            let (prefix, suffix) = match kind {
                "PrefixTransformer" => (string("prefix"), String::new()),
                "SuffixTransformer" => (String::new(), string("suffix")),
                _ => (string("prefix"), string("suffix")),
            };
            super::prefix_suffix(&mut layer.res, &prefix, &suffix, &specs).map_err(err)
        }
        "LabelTransformer" | "AnnotationsTransformer" => {
            let key = if kind == "LabelTransformer" {
                "labels"
            } else {
                "annotations"
            };
            let pairs = match cfg.get(key) {
                None | Some(Value::Null) => Map::new(),
                Some(v) => super::string_pairs(v)
                    .ok_or_else(|| err(format!("{key}: expected a map of strings")))?,
            };
            if key == "annotations" {
                super::own_notes_refused(&pairs).map_err(err)?;
            }
            // kubectl cannot set an empty key: an error wherever the field specs reach.
            if pairs.contains_key("") {
                let created = Value::Object(Map::new());
                for r in &layer.res {
                    super::fieldspec::apply(&mut r.clone(), &specs, Some(&created), &mut |_, _| {
                        Err(format!("{key}: a key is empty"))
                    })
                    .map_err(err)?;
                }
            }
            super::set_all(&specs, &mut layer.res, &pairs).map_err(err)
        }
        "ImageTagTransformer" => {
            let img = canonical_object(&object("imageTag"), super::IMAGE_FIELDS).map_err(err)?;
            super::set_image(&mut layer.res, &img, &specs, true).map_err(err)
        }
        "ReplicaCountTransformer" => {
            let rep = canonical_object(&object("replica"), &["name", "count"]).map_err(err)?;
            super::set_replicas(&mut layer.res, &rep, &specs).map_err(err)
        }
        "PatchTransformer" => {
            let (patch, path) = (string("patch"), string("path"));
            match (patch.trim().is_empty(), path.is_empty()) {
                (true, true) => return Err(err("must specify one of patch and path".into())),
                (false, false) => {
                    return Err(err("patch and path can't be set at the same time".into()))
                }
                _ => {}
            }
            // Blank patch text counts as none, as the path is then what kubectl reads.
            let mut p = Map::new();
            if patch.trim().is_empty() {
                p.insert("path".into(), Value::String(path));
            } else {
                p.insert("patch".into(), Value::String(patch));
            }
            for key in ["target", "options"] {
                if let Some(v) = cfg.get(key).filter(|v| !v.is_null()) {
                    p.insert(key.into(), v.clone());
                }
            }
            let sk = synthetic("patches", Value::Array(vec![Value::Object(p)]));
            b.openapi.read_bundled();
            patch::patches_field(b.fsys, &sk, &mut layer.res, &super::patch_ctx(b, plugin))
        }
        "PatchStrategicMergeTransformer" => {
            let paths: Vec<Value> = match get("paths") {
                Value::Array(a) => a,
                _ => Vec::new(),
            };
            let inline = string("patches");
            if paths.is_empty() && inline.is_empty() {
                return Err(err("empty file path and empty patch content".into()));
            }
            // Files and inline text that together hold no patch are an error too.
            let mut any = holds_patches(&inline);
            for path in paths.iter().filter_map(Value::as_str) {
                any |= holds_patches(&crate::build::read_local_text(b.fsys, k, field, path)?.0);
            }
            if !any {
                return Err(err("patch appears to be empty".into()));
            }
            let mut list = paths;
            if !inline.is_empty() {
                list.push(Value::String(inline));
            }
            let sk = synthetic("patchesStrategicMerge", Value::Array(list));
            b.openapi.read_bundled();
            patch::strategic_merge_field(b.fsys, &sk, &mut layer.res, &super::patch_ctx(b, plugin))
        }
        "PatchJson6902Transformer" => {
            let (path, op) = (string("path"), string("jsonOp"));
            if path.is_empty() && op.is_empty() {
                return Err(err("empty file path and empty jsonOp".into()));
            }
            let text = if path.is_empty() {
                op
            } else {
                crate::build::read_local_text(b.fsys, k, field, &path)?.0
            };
            if !holds_patches(&text) {
                return Err(err("patch appears to be empty".into()));
            }
            let mut p = Map::new();
            p.insert("target".into(), get("target"));
            if let Some(v) = cfg.get("path").filter(|v| !v.is_null()) {
                p.insert("path".into(), v.clone());
            }
            if let Some(v) = cfg.get("jsonOp").filter(|v| !v.is_null()) {
                p.insert("patch".into(), v.clone());
            }
            let sk = synthetic("patchesJson6902", Value::Array(vec![Value::Object(p)]));
            patch::json6902_field(b.fsys, &sk, &mut layer.res, &super::patch_ctx(b, plugin))
        }
        "HashTransformer" => super::hash_names(&mut layer.res),
        "ValueAddTransformer" => {
            // The value, or else the name of the kustomization's folder.
            let mut value = match cfg.get("value") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.trim().to_string(),
                // kubectl reads a number or boolean here as its text.
                Some(v @ (Value::Number(_) | Value::Bool(_))) => config_text(v).unwrap_or_default(),
                Some(_) => return Err(err("value: expected a string".into())),
            };
            if value.is_empty() {
                value = k.dir.rsplit('/').next().unwrap_or("").to_string();
            }
            let mut targets = match get("targets") {
                Value::Null => Vec::new(),
                Value::Array(t) => t,
                _ => return Err(err("targets: expected a list".into())),
            };
            let shared = string("targetFilePath");
            if !shared.is_empty() {
                let (text, path) = crate::build::read_local_text(b.fsys, k, field, &shared)?;
                let docs = crate::yaml::parse_documents(&text).map_err(|e| Error::Yaml {
                    path,
                    line: e.line,
                    message: e.message,
                })?;
                if let Some(Value::Array(more)) = docs
                    .into_iter()
                    .next()
                    .and_then(|d| d.value.get("targets").cloned())
                {
                    targets.extend(more);
                }
            }
            if targets.is_empty() {
                return Err(err("must specify at least one target".into()));
            }
            let mut parsed = Vec::new();
            for t in &targets {
                let t = canonical_object(t, &["selector", "fieldPath", "filePathPosition"])
                    .map_err(err)?;
                let selector = match t.get("selector") {
                    Some(s) if !s.is_null() => Some(patch::Target::parse(s).map_err(err)?),
                    _ => None,
                };
                let path = t.get("fieldPath").and_then(Value::as_str).unwrap_or("");
                if path.is_empty() {
                    return Err(err("fieldPath cannot be empty".into()));
                }
                let position = match t.get("filePathPosition") {
                    None | Some(Value::Null) => 0,
                    Some(p) => crate::schema::go_int(p)
                        .ok_or_else(|| err("filePathPosition: expected a whole number".into()))?,
                };
                if position < 0 {
                    return Err(err(format!(
                        "value of FilePathPosition ({position}) cannot be negative"
                    )));
                }
                parsed.push((selector, path.to_string(), position as usize));
            }
            for (selector, path, position) in &parsed {
                for r in layer
                    .res
                    .iter_mut()
                    .filter(|r| selector.as_ref().is_none_or(|s| s.matches(r)))
                {
                    if path == "metadata/namespace" {
                        super::namespace_one(r, &value, &[], false, super::Subjects::DefaultOnly)
                            .map_err(err)?;
                    } else {
                        value_add(r, path, &value, *position)
                            .map_err(|m| err(format!("{}: {path}: {m}", r.describe())))?;
                    }
                }
            }
            Ok(())
        }
        "IAMPolicyGenerator" => {
            // A ServiceAccount bound to a Google service account (GKE workload identity).
            let cloud = string("cloud");
            if cloud != "gke" {
                return Err(err(format!("cloud provider {cloud} not supported yet")));
            }
            if cfg.get("serviceAccount").is_none_or(Value::is_null) {
                return Err(err("serviceAccount: required".into()));
            }
            let part = |outer: &str, key: &str| match cfg.get(outer).and_then(|o| o.get(key)) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(err(format!("{outer}.{key}: expected a string"))),
            };
            // kubectl pastes the values into YAML text unquoted: one that does not read
            // back as itself there (a comment, a number, a flow collection) takes a shape
            // no rule gives.
            let pasted = |what: &str, text: String| {
                let doc = format!("value: {text}\n");
                let reads_back = crate::yaml::parse_manifests(&doc).is_ok_and(|docs| {
                    docs.first().and_then(|d| d.value.get("value"))
                        == Some(&Value::String(text.clone()))
                });
                if reads_back {
                    Ok(Value::String(text))
                } else {
                    Err(unsupported(format!(
                        "IAMPolicyGenerator {name}: {what} {text:?}, which kubectl writes unquoted into YAML that reads it otherwise,"
                    )))
                }
            };
            let mut meta = Map::new();
            let mut annotations = Map::new();
            let account = format!(
                "{}@{}.iam.gserviceaccount.com",
                part("serviceAccount", "name")?,
                part("serviceAccount", "projectId")?
            );
            annotations.insert(
                "iam.gke.io/gcp-service-account".into(),
                pasted("service account", account)?,
            );
            meta.insert("annotations".into(), Value::Object(annotations));
            let sa_name = part("kubernetesService", "name")?;
            meta.insert("name".into(), pasted("kubernetesService.name", sa_name)?);
            let ns = part("kubernetesService", "namespace")?;
            if !ns.is_empty() {
                meta.insert(
                    "namespace".into(),
                    pasted("kubernetesService.namespace", ns)?,
                );
            }
            let mut obj = Map::new();
            obj.insert("apiVersion".into(), Value::String("v1".into()));
            obj.insert("kind".into(), Value::String("ServiceAccount".into()));
            obj.insert("metadata".into(), Value::Object(meta));
            let mut r = Resource::new(obj, &k.file);
            r.quote_as_written_out();
            // Its origin is the configuration that made it.
            if b.origins.is_some() {
                r.origin_by = Some(crate::resource::ConfiguredBy {
                    file: config_file.clone(),
                    kind: "IAMPolicyGenerator",
                    config: Some(c.config_id()),
                });
            }
            layer.res.push(r);
            Ok(())
        }
        "ReplacementTransformer" => {
            let sk = synthetic("replacements", get("replacements"));
            replacements::field(b.fsys, &sk, &mut layer.res, b.track)
        }
        other => Err(unsupported(format!("the built-in plugin {other}"))),
    }
}

/// Puts `value` at `path` (`/`-separated, `[key=value]` picks a list element), creating
/// what is missing, as the ValueAddTransformer does; with a `position`, the field holds a
/// file path and `value` goes in as its `position`th part (1 is the first).
fn value_add(
    r: &mut Resource,
    path: &str,
    value: &str,
    position: usize,
) -> std::result::Result<(), String> {
    let segs = super::fieldspec::split_path(path);
    let mut obj = Value::Object(std::mem::take(&mut r.obj));
    let result = value_add_at(&mut obj, &segs, value, position);
    if let Value::Object(m) = obj {
        r.obj = m;
    }
    result
}

fn value_add_at(
    cur: &mut Value,
    segs: &[String],
    value: &str,
    position: usize,
) -> std::result::Result<(), String> {
    let Some((seg, rest)) = segs.split_first() else {
        let old = match &*cur {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            Value::Array(_) | Value::Object(_) => return Err("expected a scalar".into()),
            other => crate::yaml::emit::scalar_text(other).unwrap_or_default(),
        };
        *cur = Value::String(if position > 0 {
            insert_path_part(&old, position - 1, value)
        } else {
            value.to_string()
        });
        return Ok(());
    };
    if cur.is_null() {
        *cur = if seg.starts_with('[') {
            Value::Array(Vec::new())
        } else {
            Value::Object(Map::new())
        };
    }
    match (seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')), cur) {
        (Some(pair), Value::Array(items)) => {
            let (key, want) = pair
                .split_once('=')
                .ok_or_else(|| format!("{seg}: a list element is picked by [key=value]"))?;
            let found = items.iter().position(|item| {
                item.get(key)
                    .and_then(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        other => crate::yaml::emit::scalar_text(other),
                    })
                    .is_some_and(|t| t == want)
            });
            let i = match found {
                Some(i) => i,
                None => {
                    let mut elem = Map::new();
                    elem.insert(key.to_string(), Value::String(want.to_string()));
                    items.push(Value::Object(elem));
                    items.len() - 1
                }
            };
            value_add_at(&mut items[i], rest, value, position)
        }
        (None, Value::Object(m)) => {
            let child = m.entry(seg.clone()).or_insert(Value::Null);
            value_add_at(child, rest, value, position)
        }
        (_, other) => Err(format!(
            "{seg}: expected {}, found {}",
            if seg.starts_with('[') {
                "a list"
            } else {
                "a map"
            },
            super::fieldspec::kind_name(other)
        )),
    }
}

/// `part` inserted as the `pos`th part (from 0) of the file path `path`, an absolute path
/// staying absolute; a position past the end appends.
fn insert_path_part(path: &str, pos: usize, part: &str) -> String {
    let mut parts: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else if path == "/" {
        vec![""]
    } else {
        let mut p: Vec<&str> = path.split('/').collect();
        if p.len() > 1 && p.last() == Some(&"") {
            p.pop();
        }
        p
    };
    let absolute = parts.first() == Some(&"");
    let mut at = pos.min(parts.len());
    if absolute && at < parts.len() {
        at += 1;
    }
    parts.insert(at, part);
    let joined: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    if absolute {
        format!("/{}", joined.join("/"))
    } else {
        joined.join("/")
    }
}

fn field_specs(cfg: &Map<String, Value>) -> std::result::Result<Vec<FieldSpec>, String> {
    match cfg.get("fieldSpecs") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(FieldSpec::from_value).collect(),
        Some(_) => Err("fieldSpecs: expected a list".into()),
    }
}

/// Whether patch text holds any patch: an object or an operation. Text that does not
/// parse is left for the patch step to report.
fn holds_patches(text: &str) -> bool {
    crate::yaml::parse_documents(text).map_or(true, |docs| {
        docs.iter().any(|d| match &d.value {
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Null => false,
            _ => true,
        })
    })
}

/// What kubectl reads of a plugin configuration: everything else it ignores.
#[derive(Clone, Copy)]
enum Shape {
    /// Kept as written (checked where it is used).
    Any,
    /// A string; with `true`, a number or boolean is read as its text, as kubectl's decoder
    /// does for a field of the configuration's own (not for one it embeds).
    Str(bool),
    Bool,
    /// A map of strings (a null value is the empty string).
    StrMap(bool),
    Obj(&'static [(&'static str, Shape)]),
    List(&'static Shape),
}

const TEXT: Shape = Shape::Str(true);
const STRICT: Shape = Shape::Str(false);
const META: Shape = Shape::Obj(&[
    ("name", TEXT),
    ("namespace", TEXT),
    ("labels", Shape::StrMap(true)),
    ("annotations", Shape::StrMap(true)),
]);
const HEAD: [(&str, Shape); 3] = [
    ("apiVersion", Shape::Any),
    ("kind", Shape::Any),
    ("metadata", META),
];
const FIELD_SPECS: Shape = Shape::List(&Shape::Obj(&[
    ("path", TEXT),
    ("group", STRICT),
    ("version", STRICT),
    ("kind", STRICT),
    ("create", Shape::Bool),
]));
const STRINGS: Shape = Shape::List(&TEXT);
const STRICT_STRINGS: Shape = Shape::List(&STRICT);
/// A patch target: its id fields are embedded in kubectl's selector, its selectors not.
const TARGET: Shape = Shape::Obj(&[
    ("group", STRICT),
    ("version", STRICT),
    ("kind", STRICT),
    ("name", STRICT),
    ("namespace", STRICT),
    ("labelSelector", TEXT),
    ("annotationSelector", TEXT),
]);
/// Replacements are embedded in kubectl's entry type: nothing in them is read as text.
const REPLACEMENT_SELECTOR: Shape = Shape::Obj(&[
    ("group", STRICT),
    ("version", STRICT),
    ("kind", STRICT),
    ("name", STRICT),
    ("namespace", STRICT),
    ("labelSelector", STRICT),
    ("annotationSelector", STRICT),
]);
const REPLACEMENT_OPTIONS: Shape = Shape::Obj(&[
    ("delimiter", STRICT),
    ("index", Shape::Any),
    ("create", Shape::Bool),
]);
const REPLACEMENTS: Shape = Shape::List(&Shape::Obj(&[
    (
        "source",
        Shape::Obj(&[
            ("group", STRICT),
            ("version", STRICT),
            ("kind", STRICT),
            ("name", STRICT),
            ("namespace", STRICT),
            ("fieldPath", STRICT),
            ("options", REPLACEMENT_OPTIONS),
        ]),
    ),
    (
        "targets",
        Shape::List(&Shape::Obj(&[
            ("select", REPLACEMENT_SELECTOR),
            ("reject", Shape::List(&REPLACEMENT_SELECTOR)),
            ("fieldPaths", STRICT_STRINGS),
            ("options", REPLACEMENT_OPTIONS),
        ])),
    ),
    ("path", TEXT),
]));
/// A generator's arguments are embedded in kubectl's plugin type: nothing in them is read
/// as text, and the legacy `env` is not read at all.
const GENERATOR: [(&str, Shape); 7] = [
    ("name", STRICT),
    ("namespace", STRICT),
    ("behavior", STRICT),
    ("literals", STRICT_STRINGS),
    ("files", STRICT_STRINGS),
    ("envs", STRICT_STRINGS),
    (
        "options",
        Shape::Obj(&[
            ("labels", Shape::StrMap(false)),
            ("annotations", Shape::StrMap(false)),
            ("disableNameSuffixHash", Shape::Bool),
            ("immutable", Shape::Bool),
        ]),
    ),
];

/// The shape of a built-in plugin's configuration (`None` for kinds not run here).
fn config_shape(kind: &str) -> Option<Shape> {
    macro_rules! obj {
        ($($rest:expr),* $(,)?) => {{
            const FIELDS: &[(&str, Shape)] = &[HEAD[0], HEAD[1], HEAD[2], $($rest),*];
            Shape::Obj(FIELDS)
        }};
    }
    Some(match kind {
        "ConfigMapGenerator" => obj!(
            GENERATOR[0],
            GENERATOR[1],
            GENERATOR[2],
            GENERATOR[3],
            GENERATOR[4],
            GENERATOR[5],
            GENERATOR[6]
        ),
        "SecretGenerator" => obj!(
            GENERATOR[0],
            GENERATOR[1],
            GENERATOR[2],
            GENERATOR[3],
            GENERATOR[4],
            GENERATOR[5],
            GENERATOR[6],
            ("type", STRICT)
        ),
        "NamespaceTransformer" => obj!(
            ("fieldSpecs", FIELD_SPECS),
            ("unsetOnly", Shape::Bool),
            ("setRoleBindingSubjects", TEXT),
        ),
        "PrefixSuffixTransformer" => obj!(
            ("prefix", TEXT),
            ("suffix", TEXT),
            ("fieldSpecs", FIELD_SPECS)
        ),
        "PrefixTransformer" => obj!(("prefix", TEXT), ("fieldSpecs", FIELD_SPECS)),
        "SuffixTransformer" => obj!(("suffix", TEXT), ("fieldSpecs", FIELD_SPECS)),
        "LabelTransformer" => obj!(("labels", Shape::StrMap(true)), ("fieldSpecs", FIELD_SPECS)),
        "AnnotationsTransformer" => obj!(
            ("annotations", Shape::StrMap(true)),
            ("fieldSpecs", FIELD_SPECS)
        ),
        "ImageTagTransformer" => obj!(
            (
                "imageTag",
                Shape::Obj(&[
                    ("name", TEXT),
                    ("newName", TEXT),
                    ("newTag", TEXT),
                    ("digest", TEXT),
                    ("tagSuffix", TEXT),
                ])
            ),
            ("fieldSpecs", FIELD_SPECS)
        ),
        "ReplicaCountTransformer" => obj!(
            (
                "replica",
                Shape::Obj(&[("name", TEXT), ("count", Shape::Any)])
            ),
            ("fieldSpecs", FIELD_SPECS)
        ),
        "PatchTransformer" => obj!(
            ("path", TEXT),
            ("patch", TEXT),
            ("target", TARGET),
            ("options", Shape::Any)
        ),
        "PatchJson6902Transformer" => obj!(("target", TARGET), ("path", TEXT), ("jsonOp", TEXT)),
        "PatchStrategicMergeTransformer" => obj!(("paths", STRINGS), ("patches", TEXT)),
        "ReplacementTransformer" => obj!(("replacements", REPLACEMENTS)),
        "HashTransformer" => obj!(),
        _ => return None,
    })
}

/// Brings `v` to `shape` as kubectl's decoder reads it: unknown keys dropped (a key
/// matches a field exactly or else ignoring case), numbers and booleans read as text where
/// the shape says so, and a value of the wrong kind refused, naming where (`at`).
fn conform(v: &mut Value, shape: Shape, at: &str) -> std::result::Result<(), String> {
    let kind_name = super::fieldspec::kind_name;
    let here = |key: &str| {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    };
    match (shape, &mut *v) {
        (_, Value::Null) | (Shape::Any, _) | (Shape::Bool, Value::Bool(_)) => Ok(()),
        (Shape::Str(text), _) => as_string(v, text, at),
        (Shape::Bool, other) => Err(format!(
            "{at}: expected true or false, found {}",
            kind_name(other)
        )),
        (Shape::StrMap(text), Value::Object(m)) => {
            for (key, x) in m.iter_mut() {
                if x.is_null() {
                    *x = Value::String(String::new());
                }
                as_string(x, text, &here(key))?;
            }
            Ok(())
        }
        (Shape::Obj(fields), Value::Object(m)) => {
            let known: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
            for (key, mut x) in std::mem::take(m) {
                let Some(canon) = crate::kustomization::canonical(&key, &known) else {
                    continue;
                };
                let Some((_, inner)) = fields.iter().find(|(k, _)| *k == canon) else {
                    continue;
                };
                conform(&mut x, *inner, &here(canon))?;
                m.insert(canon.to_string(), x);
            }
            Ok(())
        }
        (Shape::List(inner), Value::Array(items)) => {
            for (i, x) in items.iter_mut().enumerate() {
                conform(x, *inner, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (Shape::StrMap(_) | Shape::Obj(_), other) => {
            Err(format!("{at}: expected a map, found {}", kind_name(other)))
        }
        (Shape::List(_), other) => {
            Err(format!("{at}: expected a list, found {}", kind_name(other)))
        }
    }
}

/// A number's or boolean's text where a plugin's config wants a string: kubectl reads the
/// config back with go-yaml v2, so a whole float is an integer (`1e6` is `1000000`) and
/// another float a 32-bit one (`20240101.1` is `2.0240102e+07`).
fn config_text(v: &Value) -> Option<String> {
    let whole = v
        .as_f64()
        .filter(|f| v.as_i64().is_none() && f.fract() == 0.0 && f.abs() < 9.2e18)
        .map(|f| Value::from(f as i64));
    crate::yaml::emit::text_for_string_field(whole.as_ref().unwrap_or(v))
}

/// A string as it is, or (with `text`) a number or boolean as its text.
fn as_string(v: &mut Value, text: bool, at: &str) -> std::result::Result<(), String> {
    match v {
        Value::String(_) => Ok(()),
        Value::Number(_) | Value::Bool(_) if text => {
            if let Some(t) = config_text(v) {
                *v = Value::String(t);
            }
            Ok(())
        }
        other => Err(format!(
            "{at}: expected a string, found {}",
            super::fieldspec::kind_name(other)
        )),
    }
}
