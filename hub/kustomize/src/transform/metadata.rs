//! `buildMetadata`: origin annotations (`config.kubernetes.io/origin`, the file or the
//! generator an object came from) and the `app.kubernetes.io/managed-by` label.
//! and transformer annotations (`alpha.config.kubernetes.io/transformations`, every built-in
//! transformer that ran over an object).

use crate::kustomization::Kustomization;
use crate::resource::Resource;
use crate::{fs, Result};
use serde_json::{Map, Value};

const ORIGIN: &str = "config.kubernetes.io/origin";
const TRANSFORMATIONS: &str = "alpha.config.kubernetes.io/transformations";
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// What `kubectl kustomize` (a kustomize built into kubectl) writes as its version.
const MANAGED_BY_VALUE: &str = "kustomize-(devel)";

/// Which build metadata a kustomization asks for.
#[derive(Default)]
pub(crate) struct BuildMetadata {
    pub origin: bool,
    pub managed_by: bool,
    pub transformers: bool,
}

impl BuildMetadata {
    pub(crate) fn parse(k: &Kustomization) -> Result<BuildMetadata> {
        let mut out = BuildMetadata::default();
        for opt in k.str_list("buildMetadata")? {
            match opt.as_str() {
                "originAnnotations" => out.origin = true,
                "managedByLabel" => out.managed_by = true,
                "transformerAnnotations" => out.transformers = true,
                other => {
                    return Err(k.field_err(
                        "buildMetadata",
                        format!("invalid option {other:?}; use originAnnotations, managedByLabel or transformerAnnotations"),
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// Annotates each object not yet annotated with where it came from, relative to `k`.
pub(crate) fn add_origins(k: &Kustomization, res: &mut [Resource]) {
    for r in res.iter_mut() {
        if r.meta_map("annotations")
            .is_some_and(|m| m.contains_key(ORIGIN))
        {
            continue;
        }
        let rel = relative(&k.dir, &r.origin);
        let text = match (r.generated_by, &r.generator_config) {
            (Some(kind), None) => format!(
                "configuredIn: {rel}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n"
            ),
            (Some(kind), Some(name)) => format!(
                "configuredIn: {rel}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n  name: {name}\n"
            ),
            (None, _) => format!("path: {rel}\n"),
        };
        set_meta(r, "annotations", ORIGIN, text);
    }
}

/// Writes each object's noted transformations, paths relative to the root `dir`.
pub(crate) fn add_transformations(dir: &str, res: &mut [Resource]) {
    for r in res.iter_mut() {
        if r.transformations.is_empty() {
            continue;
        }
        let mut text = String::new();
        for (file, kind, name) in &r.transformations {
            text.push_str(&format!(
                "- configuredIn: {}\n  configuredBy:\n    apiVersion: builtin\n    kind: {kind}\n",
                relative(dir, file)
            ));
            if let Some(name) = name {
                text.push_str(&format!("    name: {name}\n"));
            }
        }
        set_meta(r, "annotations", TRANSFORMATIONS, text);
    }
}

/// The `'static` name of a built-in plugin kind (others never run).
pub(crate) fn builtin_kind(kind: &str) -> &'static str {
    const KINDS: &[&str] = &[
        "NamespaceTransformer",
        "PrefixSuffixTransformer",
        "PrefixTransformer",
        "SuffixTransformer",
        "LabelTransformer",
        "AnnotationsTransformer",
        "ImageTagTransformer",
        "ReplicaCountTransformer",
        "PatchTransformer",
        "PatchStrategicMergeTransformer",
        "PatchJson6902Transformer",
        "ReplacementTransformer",
        "HashTransformer",
    ];
    KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("Unknown")
}

/// Labels every object as managed by kustomize.
pub(crate) fn add_managed_by(res: &mut [Resource]) {
    for r in res.iter_mut() {
        set_meta(r, "labels", MANAGED_BY, MANAGED_BY_VALUE.to_string());
    }
}

fn set_meta(r: &mut Resource, map: &str, key: &str, value: String) {
    let meta = r.metadata_mut();
    let slot = meta.entry(map).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(m) = slot {
        m.insert(key.into(), Value::String(value));
    }
}

/// `to` relative to directory `from` (both relative to the file-system root).
fn relative(from: &str, to: &str) -> String {
    let split = |p: &str| -> Vec<String> {
        fs::join("", p)
            .unwrap_or_default()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (split(from), split(to));
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); a.len() - common];
    parts.extend(b[common..].iter().cloned());
    parts.join("/")
}

#[cfg(test)]
mod tests {
    #[test]
    fn relative_paths() {
        assert_eq!(super::relative("ov", "base/d.yaml"), "../base/d.yaml");
        assert_eq!(super::relative("ov", "ov/d.yaml"), "d.yaml");
        assert_eq!(super::relative("", "a/b.yaml"), "a/b.yaml");
    }
}
