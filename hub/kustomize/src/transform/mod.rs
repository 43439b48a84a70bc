//! Generators and transformers of one kustomization, run in kustomize's order, and the
//! steps run once at the end of the root build (content hashes, name references).
//! Anything not implemented is an error naming the field.

mod fieldspec;
mod generators;
mod patch;

use crate::build::Builder;
use crate::kustomization::{canonical_object, Kustomization};
use crate::resource::Resource;
use crate::{scope, Error, Result};
use fieldspec::FieldSpec;
use serde_json::{Map, Value};

/// Fields not implemented yet: an error, never a silently different result.
const PENDING: &[&str] = &[
    "replacements",
    "vars",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "buildMetadata",
];

/// Runs one kustomization's components, generators and transformers over `acc`.
pub(crate) fn run(
    b: &mut Builder<'_>,
    k: &Kustomization,
    acc: &mut Vec<Resource>,
    depth: usize,
) -> Result<()> {
    for field in PENDING {
        if k.get(field).is_some() {
            return Err(Error::Unsupported {
                path: k.file.clone(),
                field: field.to_string(),
                what: "this field".into(),
            });
        }
    }
    for c in k.str_list("components")? {
        b.component(k, &c, acc, depth)?;
    }
    generators::run(b.fsys, k, acc)?;
    patch::strategic_merge_field(b.fsys, k, acc)?;
    patch::patches_field(b.fsys, k, acc)?;
    if let Some(ns) = k.str_field("namespace")? {
        if !ns.is_empty() {
            namespace(acc, &ns);
        }
    }
    prefix_suffix(k, acc)?;
    labels(k, acc)?;
    annotations(k, acc)?;
    patch::json6902_field(b.fsys, k, acc)?;
    replicas(k, acc)?;
    images(k, acc)?;
    Ok(())
}

/// The namespace transformer: namespaced objects, plus RoleBinding subjects that name a
/// ServiceAccount in the `default` namespace... as kustomize's default subject mode does.
fn namespace(acc: &mut [Resource], ns: &str) {
    for r in acc.iter_mut() {
        let gvk = r.gvk();
        if !scope::is_cluster_scoped(&gvk) {
            record_rename(r);
            r.set_namespace(ns);
        }
        if gvk.group == "rbac.authorization.k8s.io"
            && (gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding")
        {
            if let Some(Value::Array(subjects)) = r.obj.get_mut("subjects") {
                for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
                    let is_sa = s.get("kind").and_then(Value::as_str) == Some("ServiceAccount");
                    let default_name = s.get("name").and_then(Value::as_str) == Some("default");
                    if is_sa && default_name {
                        s.insert("namespace".into(), Value::String(ns.into()));
                    }
                }
            }
        }
    }
}

/// Remembers the current name and namespace before a change, for name references.
fn record_rename(r: &mut Resource) {
    let cur = (r.name().to_string(), r.namespace().to_string());
    if r.prev_names.last() != Some(&cur) {
        r.prev_names.push(cur);
    }
}

fn prefix_suffix(k: &Kustomization, acc: &mut [Resource]) -> Result<()> {
    let prefix = k.str_field("namePrefix")?.unwrap_or_default();
    let suffix = k.str_field("nameSuffix")?.unwrap_or_default();
    if prefix.is_empty() && suffix.is_empty() {
        return Ok(());
    }
    for r in acc.iter_mut() {
        let kind = r.kind();
        if kind == "CustomResourceDefinition" || kind == "Namespace" {
            continue;
        }
        let new = format!("{prefix}{}{suffix}", r.name());
        record_rename(r);
        r.set_name(&new);
    }
    Ok(())
}

fn string_pairs(v: &Value) -> Option<Map<String, Value>> {
    let m = v.as_object()?;
    let mut out = Map::new();
    for (k, v) in m {
        match v {
            Value::String(_) => out.insert(k.clone(), v.clone()),
            Value::Null => out.insert(k.clone(), Value::String(String::new())),
            _ => return None,
        };
    }
    Some(out)
}

fn set_all(specs: &[FieldSpec], acc: &mut [Resource], pairs: &Map<String, Value>) {
    for r in acc.iter_mut() {
        fieldspec::apply(r, specs, &mut |v| {
            if v.is_null() {
                *v = Value::Object(Map::new());
            }
            if let Value::Object(m) = v {
                for (k, val) in pairs {
                    m.insert(k.clone(), val.clone());
                }
            }
        });
    }
}

fn labels(k: &Kustomization, acc: &mut [Resource]) -> Result<()> {
    if let Some(v) = k.get("commonLabels") {
        let pairs = string_pairs(v)
            .ok_or_else(|| k.field_err("commonLabels", "expected a map of strings"))?;
        if !pairs.is_empty() {
            let mut specs = fieldspec::metadata_label_specs(true);
            specs.extend(fieldspec::selector_label_specs());
            set_all(&specs, acc, &pairs);
        }
    }
    if let Some(Value::Array(items)) = k.get("labels") {
        for item in items {
            let m = canonical_object(
                item,
                &["pairs", "includeSelectors", "includeTemplates", "fields"],
            )
            .map_err(|e| k.field_err("labels", e))?;
            let pairs = match m.get("pairs") {
                None | Some(Value::Null) => Map::new(),
                Some(v) => string_pairs(v)
                    .ok_or_else(|| k.field_err("labels.pairs", "expected a map of strings"))?,
            };
            let selectors = m
                .get("includeSelectors")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let templates = m
                .get("includeTemplates")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let mut specs = fieldspec::metadata_label_specs(selectors || templates);
            if selectors {
                specs.extend(fieldspec::selector_label_specs());
            }
            if let Some(Value::Array(fields)) = m.get("fields") {
                for f in fields {
                    specs.push(
                        FieldSpec::from_value(f).map_err(|e| k.field_err("labels.fields", e))?,
                    );
                }
            }
            set_all(&specs, acc, &pairs);
        }
    } else if k.get("labels").is_some() {
        return Err(k.field_err("labels", "expected a list"));
    }
    Ok(())
}

fn annotations(k: &Kustomization, acc: &mut [Resource]) -> Result<()> {
    let Some(v) = k.get("commonAnnotations") else {
        return Ok(());
    };
    let pairs = string_pairs(v)
        .ok_or_else(|| k.field_err("commonAnnotations", "expected a map of strings"))?;
    if !pairs.is_empty() {
        set_all(&fieldspec::annotation_specs(), acc, &pairs);
    }
    Ok(())
}

fn replicas(k: &Kustomization, acc: &mut [Resource]) -> Result<()> {
    for rep in k.obj_list("replicas", &["name", "count"])? {
        let name = rep.get("name").and_then(Value::as_str).unwrap_or("");
        let count = rep
            .get("count")
            .cloned()
            .filter(Value::is_number)
            .ok_or_else(|| k.field_err("replicas", format!("{name}: count must be a number")))?;
        let specs = [
            FieldSpec::new("", "Deployment", "spec/replicas", true),
            FieldSpec::new("", "ReplicationController", "spec/replicas", true),
            FieldSpec::new("", "ReplicaSet", "spec/replicas", true),
            FieldSpec::new("", "StatefulSet", "spec/replicas", true),
        ];
        for r in acc.iter_mut().filter(|r| {
            r.name() == name || r.orig_name == name || r.prev_names.iter().any(|(n, _)| n == name)
        }) {
            fieldspec::apply(r, &specs, &mut |v| *v = count.clone());
        }
    }
    Ok(())
}

fn images(k: &Kustomization, acc: &mut [Resource]) -> Result<()> {
    let list = k.obj_list(
        "images",
        &["name", "newName", "newTag", "digest", "tagSuffix"],
    )?;
    if list.is_empty() {
        return Ok(());
    }
    let specs = [
        FieldSpec::new("", "", "spec/containers[]/image", false),
        FieldSpec::new("", "", "spec/initContainers[]/image", false),
        FieldSpec::new("", "", "spec/template/spec/containers[]/image", false),
        FieldSpec::new("", "", "spec/template/spec/initContainers[]/image", false),
        FieldSpec::new(
            "",
            "",
            "spec/jobTemplate/spec/template/spec/containers[]/image",
            false,
        ),
        FieldSpec::new(
            "",
            "",
            "spec/jobTemplate/spec/template/spec/initContainers[]/image",
            false,
        ),
    ];
    for img in &list {
        let s = |key: &str| match img.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            None | Some(Value::Null) => Ok(String::new()),
            Some(other) => crate::yaml::emit::scalar_text(other)
                .ok_or_else(|| k.field_err("images", format!("{key}: expected a string"))),
        };
        let (name, new_name, new_tag, digest) =
            (s("name")?, s("newName")?, s("newTag")?, s("digest")?);
        if img.contains_key("tagSuffix") {
            return Err(Error::Unsupported {
                path: k.file.clone(),
                field: "images.tagSuffix".into(),
                what: "tag suffixes".into(),
            });
        }
        for r in acc.iter_mut() {
            fieldspec::apply(r, &specs, &mut |v| {
                let Value::String(cur) = v else { return };
                let (n, tag) = split_image(cur);
                if n != name {
                    return;
                }
                let base = if new_name.is_empty() {
                    n.to_string()
                } else {
                    new_name.clone()
                };
                let tail = if !digest.is_empty() {
                    format!("@{digest}")
                } else if !new_tag.is_empty() {
                    format!(":{new_tag}")
                } else {
                    tag.to_string()
                };
                *v = Value::String(format!("{base}{tail}"));
            });
        }
    }
    Ok(())
}

/// Splits an image reference into its name and its `:tag` / `@digest` tail.
fn split_image(image: &str) -> (&str, &str) {
    if let Some(at) = image.find('@') {
        return (&image[..at], &image[at..]);
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(c) => (&image[..last_slash + c], &image[last_slash + c..]),
        None => (image, ""),
    }
}

/// Steps run once over the root build's output: content hashes, then name references.
pub(crate) fn finish(out: &mut [Resource], _root: &Kustomization) -> Result<()> {
    for r in out.iter_mut().filter(|r| r.needs_hash) {
        let hash = generators::content_hash(r);
        let new = format!("{}-{hash}", r.name());
        record_rename(r);
        r.set_name(&new);
    }
    fix_name_references(out);
    Ok(())
}

/// A renamed referral: (earlier names and namespaces, name, namespace, cluster-scoped).
type Renamed = (Vec<(String, String)>, String, String, bool);

fn fix_name_references(out: &mut [Resource]) {
    for nr in fieldspec::name_refs() {
        // Renamed referrals of this kind: (old names, old namespaces, new name, namespace).
        let renamed: Vec<Renamed> = out
            .iter()
            .filter(|r| {
                r.kind() == nr.kind && r.gvk().group == nr.group && !r.prev_names.is_empty()
            })
            .map(|r| {
                let mut olds = r.prev_names.clone();
                olds.push((r.orig_name.clone(), r.orig_namespace.clone()));
                (
                    olds,
                    r.name().to_string(),
                    r.namespace().to_string(),
                    scope::is_cluster_scoped(&r.gvk()),
                )
            })
            .collect();
        if renamed.is_empty() {
            continue;
        }
        for r in out.iter_mut() {
            let referrer_ns = r.namespace().to_string();
            let referrer_cluster = scope::is_cluster_scoped(&r.gvk());
            let find = |old: &str, ns_hint: Option<&str>| -> Option<(String, String)> {
                let matches: Vec<&Renamed> = renamed
                    .iter()
                    .filter(|(olds, _, _, _)| olds.iter().any(|(n, _)| n == old))
                    .collect();
                let in_ns: Vec<_> = matches
                    .iter()
                    .filter(|(_, _, ns, cluster)| {
                        if *cluster {
                            return true;
                        }
                        let want = ns_hint.map(str::to_string).unwrap_or_else(|| {
                            if referrer_cluster {
                                ns.clone()
                            } else {
                                referrer_ns.clone()
                            }
                        });
                        norm_ns(ns) == norm_ns(&want)
                    })
                    .collect();
                match in_ns.as_slice() {
                    [one] => Some((
                        one.1.clone(),
                        if one.3 { String::new() } else { one.2.clone() },
                    )),
                    _ => None,
                }
            };
            let specs = nr.specs.clone();
            fieldspec::apply(r, &specs, &mut |v| match v {
                Value::String(s) => {
                    if let Some((new, _)) = find(s, None) {
                        *s = new;
                    }
                }
                Value::Array(items) => {
                    for item in items {
                        if let Value::String(s) = item {
                            if let Some((new, _)) = find(s, None) {
                                *s = new;
                            }
                        }
                    }
                }
                Value::Object(m) => {
                    let kind_ok = match m.get("kind").and_then(Value::as_str) {
                        Some(kind) => kind == nr.kind,
                        None => true,
                    };
                    if !kind_ok {
                        return;
                    }
                    let ns_hint = m
                        .get("namespace")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    if let Some(Value::String(name)) = m.get("name") {
                        if let Some((new, ns)) = find(name, ns_hint.as_deref()) {
                            m.insert("name".into(), Value::String(new));
                            // Subjects also follow the referral's namespace.
                            if m.contains_key("kind") && !ns.is_empty() {
                                m.insert("namespace".into(), Value::String(ns));
                            }
                        }
                    }
                }
                _ => {}
            });
        }
    }
}

fn norm_ns(ns: &str) -> &str {
    if ns.is_empty() {
        "default"
    } else {
        ns
    }
}
