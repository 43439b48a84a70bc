//! `generators:` and `transformers:` entries: configurations of kustomize's built-in
//! plugins (`apiVersion: builtin`), given as files, directories (whose build output is the
//! list of configurations) or inline YAML. Each runs the same code as the matching
//! kustomization field, with the field specs the configuration names.
//! Exec, container and Go plugins, and Helm, are refused naming the field.

use super::fieldspec::FieldSpec;
use super::{generators, patch, replacements, Config, Layer};
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
    for c in &configs {
        run_one(b, k, field, c, layer)?;
        if b.track && field == "transformers" {
            let file = if c.origin == origin {
                k.file.clone()
            } else {
                c.origin.clone()
            };
            let kind = super::metadata::builtin_kind(c.kind());
            for r in layer.res.iter_mut() {
                r.transformations
                    .push((file.clone(), kind, Some(c.name().to_string())));
            }
        }
    }
    Ok(())
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
    let cfg = &c.obj;
    let err = |m: String| k.field_err(field, format!("{kind} {}: {m}", c.name()));
    let specs = field_specs(cfg).map_err(err)?;
    let synthetic = |key: &str, v: Value| {
        let mut fields = Map::new();
        fields.insert(key.to_string(), v);
        Kustomization {
            file: k.file.clone(),
            dir: k.dir.clone(),
            fields,
        }
    };
    let get = |key: &str| cfg.get(key).cloned().unwrap_or(Value::Null);
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
            g.insert("name".into(), Value::String(c.name().to_string()));
            if !c.namespace().is_empty() {
                g.insert("namespace".into(), Value::String(c.namespace().to_string()));
            }
            let g = canonical_object(&Value::Object(g), generators::GEN_FIELDS).map_err(err)?;
            let (gen_field, res_kind) = if kind == "SecretGenerator" {
                ("secretGenerator", "Secret")
            } else {
                ("configMapGenerator", "ConfigMap")
            };
            let before = layer.res.len();
            generators::generate(
                b.fsys,
                k,
                gen_field,
                res_kind,
                &g,
                &generators::Options::default(),
                &mut layer.res,
            )?;
            // A new object records the plugin configuration that made it.
            if layer.res.len() > before {
                if let Some(r) = layer.res.last_mut() {
                    if !c.origin.ends_with(&format!(" ({field})")) {
                        r.origin = c.origin.clone();
                    }
                    r.generator_config = Some(c.name().to_string());
                }
            }
            Ok(())
        }
        "NamespaceTransformer" => {
            let unset_only = match cfg.get("unsetOnly") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(v) => {
                    return Err(err(format!(
                        "unsetOnly: expected true or false, found {}",
                        super::fieldspec::kind_name(v)
                    )))
                }
            };
            let subjects = match cfg.get("setRoleBindingSubjects") {
                None | Some(Value::Null) => super::Subjects::DefaultOnly,
                Some(Value::String(s)) => match s.as_str() {
                    "" | "defaultOnly" => super::Subjects::DefaultOnly,
                    "allServiceAccounts" => super::Subjects::AllServiceAccounts,
                    "none" => super::Subjects::None,
                    other => {
                        return Err(err(format!(
                        "setRoleBindingSubjects {other:?}: use defaultOnly, allServiceAccounts or none"
                    )))
                    }
                },
                Some(v) => {
                    return Err(err(format!(
                        "setRoleBindingSubjects: expected a string, found {}",
                        super::fieldspec::kind_name(v)
                    )))
                }
            };
            // With no namespace the transformer does nothing.
            let ns = c.namespace().to_string();
            if ns.is_empty() {
                return Ok(());
            }
            for r in layer.res.iter_mut() {
                super::namespace_one(r, &ns, &specs, unset_only, subjects).map_err(err)?;
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
            if specs.is_empty() {
                return Err(err("fieldSpecs is not expected to be nil".into()));
            }
            let config = Config {
                name_prefix: specs.clone(),
                name_suffix: specs.clone(),
                ..Config::default()
            };
            let (prefix, suffix) = match kind {
                "PrefixTransformer" => (string("prefix"), String::new()),
                "SuffixTransformer" => (String::new(), string("suffix")),
                _ => (string("prefix"), string("suffix")),
            };
            super::prefix_suffix(&mut layer.res, &prefix, &suffix, Some(&specs), &config)
                .map_err(err)
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
            super::set_all(&specs, &mut layer.res, &pairs).map_err(err)
        }
        "ImageTagTransformer" => {
            let img = canonical_object(&get("imageTag"), super::IMAGE_FIELDS).map_err(err)?;
            super::set_image(&mut layer.res, &img, &specs, true).map_err(err)
        }
        "ReplicaCountTransformer" => {
            let rep = canonical_object(&get("replica"), &["name", "count"]).map_err(err)?;
            super::set_replicas(&mut layer.res, &rep, &specs).map_err(err)
        }
        "PatchTransformer" => {
            let mut p = Map::new();
            for key in ["path", "patch", "target", "options"] {
                if let Some(v) = cfg.get(key).filter(|v| !v.is_null()) {
                    p.insert(key.into(), v.clone());
                }
            }
            let sk = synthetic("patches", Value::Array(vec![Value::Object(p)]));
            patch::patches_field(b.fsys, &sk, &mut layer.res)
        }
        "PatchStrategicMergeTransformer" => {
            let mut list: Vec<Value> = match get("paths") {
                Value::Array(a) => a,
                _ => Vec::new(),
            };
            if let Some(Value::String(text)) = cfg.get("patches") {
                list.push(Value::String(text.clone()));
            }
            let sk = synthetic("patchesStrategicMerge", Value::Array(list));
            patch::strategic_merge_field(b.fsys, &sk, &mut layer.res)
        }
        "PatchJson6902Transformer" => {
            let mut p = Map::new();
            p.insert("target".into(), get("target"));
            if let Some(v) = cfg.get("path").filter(|v| !v.is_null()) {
                p.insert("path".into(), v.clone());
            }
            if let Some(v) = cfg.get("jsonOp").filter(|v| !v.is_null()) {
                p.insert("patch".into(), v.clone());
            }
            let sk = synthetic("patchesJson6902", Value::Array(vec![Value::Object(p)]));
            patch::json6902_field(b.fsys, &sk, &mut layer.res)
        }
        "HashTransformer" => {
            super::hash_names(&mut layer.res);
            Ok(())
        }
        "ReplacementTransformer" => {
            let sk = synthetic("replacements", get("replacements"));
            replacements::field(b.fsys, &sk, &mut layer.res)
        }
        other => Err(unsupported(format!("the built-in plugin {other}"))),
    }
}

fn field_specs(cfg: &Map<String, Value>) -> std::result::Result<Vec<FieldSpec>, String> {
    match cfg.get("fieldSpecs") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(FieldSpec::from_value).collect(),
        Some(_) => Err("fieldSpecs: expected a list".into()),
    }
}
