//! `buildMetadata`: origin annotations (`config.kubernetes.io/origin`, the file or the
//! generator an object came from) and the `app.kubernetes.io/managed-by` label.
//! and transformer annotations (`alpha.config.kubernetes.io/transformations`, every built-in
//! transformer that ran over an object).

use crate::kustomization::Kustomization;
use crate::resource::{ConfigId, ConfiguredBy, Resource};
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
                // kubectl looks for these three only and builds on past any other value.
                _ => {}
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
        let text = origin_text(&k.dir, r);
        set_meta(r, "annotations", ORIGIN, text);
    }
}

/// An object's origin annotation, paths relative to the root `dir`.
fn origin_text(dir: &str, r: &Resource) -> String {
    if let Some(by) = &r.origin_by {
        return configured(by, "");
    }
    let file = (r.written.clone()).unwrap_or_else(|| relative(dir, &r.origin));
    match r.generated_by {
        Some(kind) => {
            let by = ConfiguredBy {
                file,
                kind,
                config: r.generator_config.clone(),
            };
            configured(&by, "")
        }
        None => format!("path: {}\n", scalar(&file)),
    }
}

/// A string as kubectl writes it as a value in its notes: plain where it reads back as
/// itself, quoted where not (`"yes"`, `'#1.yaml'`).
fn scalar(s: &str) -> String {
    let mut one = serde_json::Map::new();
    one.insert("v".into(), Value::String(s.to_string()));
    let text = crate::yaml::emit::to_yaml_document(&Value::Object(one));
    let text = text.strip_prefix("v: ").unwrap_or(&text);
    text.strip_suffix('\n').unwrap_or(text).to_string()
}

/// The `configuredIn` and `configuredBy` lines naming `by`, each line after the first
/// indented by `indent`.
fn configured(by: &ConfiguredBy, indent: &str) -> String {
    let mut text = format!(
        "configuredIn: {}\n{indent}configuredBy:\n{indent}  apiVersion: builtin\n{indent}  kind: {}\n",
        scalar(&by.file),
        by.kind,
    );
    if let Some(ConfigId { name, namespace }) = &by.config {
        text.push_str(&format!("{indent}  name: {}\n", scalar(name)));
        if !namespace.is_empty() {
            text.push_str(&format!("{indent}  namespace: {}\n", scalar(namespace)));
        }
    }
    text
}

/// The origin annotation around one patch. With `originAnnotations`, kubectl annotates
/// each object as it reads it, so a patch sees that annotation and may take it away; the
/// patch's transformer then becomes the object's origin. This engine writes origins at the
/// end, so while a patch runs it puts the annotation in place where it is not.
pub(crate) struct OriginWatch {
    /// The annotation before the patch.
    before: String,
    /// Whether it was put in place for the patch.
    lent: bool,
    /// Whether the object had an annotations map before.
    had_map: bool,
    /// The other annotations it had.
    others: Vec<String>,
}

/// Puts `r`'s origin annotation in place for a patch, if the root asks for origins (its
/// directory is `root`).
pub(crate) fn watch_origin(r: &mut Resource, root: Option<&str>) -> Option<OriginWatch> {
    let root = root?;
    let annotations = r.meta_map("annotations");
    let had_map = annotations.is_some();
    let others = annotations
        .map(|m| m.keys().filter(|k| *k != ORIGIN).cloned().collect())
        .unwrap_or_default();
    if let Some(now) = annotations.and_then(|m| m.get(ORIGIN)) {
        let before = now.as_str().unwrap_or_default().to_string();
        return Some(OriginWatch {
            before,
            lent: false,
            had_map,
            others,
        });
    }
    let before = origin_text(root, r);
    set_meta(r, "annotations", ORIGIN, before.clone());
    Some(OriginWatch {
        before,
        lent: true,
        had_map,
        others,
    })
}

/// After the patch: an origin it took away makes `by` the origin; one it left as it was
/// goes back to being written at the end; one it rewrote stays, and must read as an
/// origin, as kubectl reads it.
pub(crate) fn settle_origin(
    r: &mut Resource,
    watch: Option<OriginWatch>,
    (by, entry): (impl FnOnce() -> ConfiguredBy, usize),
) -> std::result::Result<(), String> {
    let Some(watch) = watch else { return Ok(()) };
    let annotations = r.meta_map("annotations");
    let now = annotations
        .and_then(|m| m.get(ORIGIN))
        .map(|v| v.as_str().unwrap_or_default().to_string());
    if now.as_deref() == Some(watch.before.as_str()) {
        // Left as it was: written at the end again, if it was lent.
        if watch.lent {
            let meta = r.metadata_mut();
            if let Some(Value::Object(a)) = meta.get_mut("annotations") {
                a.shift_remove(ORIGIN);
                if a.is_empty() && !watch.had_map {
                    meta.shift_remove("annotations");
                }
            }
        }
        return Ok(());
    }
    // Taken away or rewritten: the transformations noted in the annotations went with them,
    // unless the patch touched the origin alone.
    let kept = annotations.is_some_and(|m| watch.others.iter().all(|k| m.contains_key(k)));
    if !kept || watch.others.is_empty() {
        r.transformations.clear();
    }
    match now {
        None => {
            r.origin_by = Some(by());
            // This entry of the transformer, and the ones before it, are noted no more.
            r.origin_taken = entry + 1;
        }
        Some(text) if !reads_as_origin(&text) => {
            return Err(format!(
                "metadata.annotations.{ORIGIN}: {text:?} does not read as an origin (a map of path, repo, ref, configuredIn and configuredBy)"
            ));
        }
        Some(_) => {}
    }
    Ok(())
}

/// Whether an origin annotation reads as kubectl's origin record.
fn reads_as_origin(text: &str) -> bool {
    let Ok(docs) = crate::yaml::parse_documents(text) else {
        return false;
    };
    match docs.into_iter().next().map(|d| d.value) {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.iter().all(|(k, v)| match k.as_str() {
            "path" | "repo" | "ref" | "configuredIn" => v.is_string() || v.is_null(),
            "configuredBy" => v.is_object() || v.is_null(),
            _ => true,
        }),
        Some(_) => false,
    }
}

/// Takes the origin and transformation annotations a patch may have written off objects
/// whose root did not ask for them, as kubectl does at the end of a build.
pub(crate) fn drop_unasked(res: &mut [Resource], origins: bool, transformations: bool) {
    for r in res.iter_mut() {
        let Some(Value::Object(meta)) = r.obj.get_mut("metadata") else {
            continue;
        };
        let Some(Value::Object(a)) = meta.get_mut("annotations") else {
            continue;
        };
        let before = a.len();
        if !origins {
            a.shift_remove(ORIGIN);
        }
        if !transformations {
            a.shift_remove(TRANSFORMATIONS);
        }
        if a.is_empty() && before > 0 {
            meta.shift_remove("annotations");
        }
    }
}

/// Writes each object's noted transformations.
pub(crate) fn add_transformations(res: &mut [Resource]) {
    for r in res.iter_mut() {
        if r.transformations.is_empty() {
            continue;
        }
        let mut text = String::new();
        for by in &r.transformations {
            text.push_str("- ");
            text.push_str(&configured(by, "  "));
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
        "ValueAddTransformer",
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
