//! Generators and transformers of one kustomization, run in kustomize's order, and the
//! steps run once at the end of the root build (content hashes, name references).
//! Anything not implemented is an error naming the field.

mod config;
pub(crate) mod fieldspec;
mod generators;
mod metadata;
mod nameref;
mod patch;
pub(crate) use patch::{bundled_knows, bundled_knows_gvk};
mod plugins;
mod replacements;
mod vars;

use crate::build::Builder;
use crate::kustomization::{canonical_object, Kustomization};
use crate::resource::Resource;
use crate::{scope, Error, Result};
pub(crate) use config::Config;
use fieldspec::FieldSpec;
pub(crate) use metadata::{add_transformations, drop_unasked, BuildMetadata};
use serde_json::{Map, Value};

/// One kustomization's output while it is being built: its objects, the transformer
/// configuration gathered from it and everything below it, and its `vars`.
#[derive(Clone, Default)]
pub(crate) struct Layer {
    pub res: Vec<Resource>,
    pub config: Config,
    pub vars: Vec<vars::Var>,
}

impl Layer {
    /// Absorbs a sub-kustomization's layer (a `resources` entry).
    pub(crate) fn absorb(
        &mut self,
        sub: Layer,
        k: &Kustomization,
        ids: &mut Option<crate::build::IdIndex>,
    ) -> Result<()> {
        crate::build::append_all(&mut self.res, sub.res, k, ids)?;
        self.config
            .merge(&sub.config)
            .map_err(|m| k.field_err("configurations", m))?;
        vars::merge(&mut self.vars, sub.vars, k)
    }
}

/// Runs one kustomization's components, generators and transformers over `layer`, in
/// kustomize's order.
pub(crate) fn run(
    b: &mut Builder<'_>,
    k: &Kustomization,
    layer: &mut Layer,
    depth: usize,
) -> Result<()> {
    // As kustomize: the kustomization's own configuration (the defaults and its
    // `configurations` files) joins what its bases brought, then its `crds` do.
    let (mut files, mut paths) = (Vec::new(), Vec::new());
    for file in k.str_list("configurations")? {
        let (text, path) = crate::build::read_local_text(b.fsys, k, "configurations", &file)?;
        files.push(Config::parse(&text).map_err(|message| Error::Invalid {
            path: path.clone(),
            message,
        })?);
        paths.push(path);
    }
    let own = Config::own(&files).map_err(|(i, message)| match i {
        Some(i) => Error::Invalid {
            path: paths[i].clone(),
            message,
        },
        None => k.field_err("configurations", message),
    })?;
    layer
        .config
        .merge(&own)
        .map_err(|m| k.field_err("configurations", m))?;
    for file in k.str_list("crds")? {
        let (text, path) = crate::build::read_local_text(b.fsys, k, "crds", &file)?;
        let c = Config::from_openapi(&text).map_err(|m| Error::Invalid {
            path: path.clone(),
            message: format!("unable to parse open API definition: {m}"),
        })?;
        layer
            .config
            .merge_lists(c)
            .map_err(|m| Error::Invalid { path, message: m })?;
    }
    let mut meta = metadata::BuildMetadata::parse(k)?;
    // kustomize honours buildMetadata only in the kustomization being built.
    if depth > 0 {
        meta = metadata::BuildMetadata::default();
    }
    generators::run(b.fsys, k, &mut layer.res)?;
    plugins::run(b, k, "generators", layer, depth)?;
    // Components come after this kustomization's generators and before its transformers,
    // as in kustomize v5.
    for c in k.str_list("components")? {
        b.component(k, &c, layer, depth)?;
    }
    if meta.origin {
        metadata::add_origins(k, &mut layer.res);
    }
    // With `buildMetadata: [transformerAnnotations]` at the root, every built-in
    // transformer a kustomization configures is noted on the objects it ran over.
    let track = b.track;
    let note = |layer: &mut Layer, kind: &'static str, times: usize| {
        for r in layer.res.iter_mut() {
            // A transformer that took an object's origin away is its origin instead.
            let taken = std::mem::take(&mut r.origin_taken);
            if track {
                for _ in taken.min(times)..times {
                    r.transformations.push(crate::resource::ConfiguredBy {
                        file: k.written_file(),
                        kind,
                        config: None,
                    });
                }
            }
        }
    };
    // After a transformer that writes values in place: a write to a shared value shows in
    // all its places.
    let sync = |layer: &mut Layer| {
        for r in layer.res.iter_mut() {
            r.sync_aliases();
        }
    };
    let count = |field: &str| k.get(field).and_then(Value::as_array).map_or(0, Vec::len);
    let non_empty = |field: &str| match k.get(field) {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    };
    // kubectl reads its bundled schema to merge a patch.
    if !layer.res.is_empty() && (non_empty("patchesStrategicMerge") || non_empty("patches")) {
        b.openapi.read_bundled();
    }
    patch::strategic_merge_field(b.fsys, k, &mut layer.res, &patch_ctx(b, None))?;
    sync(layer);
    note(
        layer,
        "PatchStrategicMergeTransformer",
        usize::from(non_empty("patchesStrategicMerge")),
    );
    // Two objects a JSON 6902 patch (or a patch found by id) gives one id fail only
    // where the layer's objects are gathered, as in kubectl (a later transformer may tell
    // them apart); `patches_field` checks after each targeted strategic merge patch.
    patch::patches_field(b.fsys, k, &mut layer.res, &patch_ctx(b, None))?;
    sync(layer);
    note(layer, "PatchTransformer", count("patches"));
    if let Some(ns) = k.str_field("namespace")? {
        if !ns.is_empty() {
            let specs = &layer.config.lists().namespace;
            namespace(&mut layer.res, &ns, specs).map_err(|e| k.field_err("namespace", e))?;
            unique_ids(k, &layer.res, "namespace")?;
            note(layer, "NamespaceTransformer", 1);
        }
    }
    let prefix = k.str_field("namePrefix")?.unwrap_or_default();
    let suffix = k.str_field("nameSuffix")?.unwrap_or_default();
    // Two transformers, each with its own field specs, and only for an affix given.
    let lists = layer.config.lists();
    if !prefix.is_empty() {
        prefix_suffix(&mut layer.res, &prefix, "", &lists.name_prefix)
            .map_err(|e| k.field_err("namePrefix", e))?;
    }
    if !suffix.is_empty() {
        prefix_suffix(&mut layer.res, "", &suffix, &lists.name_suffix)
            .map_err(|e| k.field_err("nameSuffix", e))?;
    }
    note(layer, "PrefixTransformer", usize::from(!prefix.is_empty()));
    note(layer, "SuffixTransformer", usize::from(!suffix.is_empty()));
    labels(k, layer)?;
    // One per `labels` entry, and one for `commonLabels` whenever either is set.
    let label_entries = count("labels");
    let any_labels = label_entries > 0 || non_empty("commonLabels");
    note(
        layer,
        "LabelTransformer",
        label_entries + usize::from(any_labels),
    );
    annotations(k, layer)?;
    note(
        layer,
        "AnnotationsTransformer",
        usize::from(non_empty("commonAnnotations")),
    );
    patch::json6902_field(b.fsys, k, &mut layer.res, &patch_ctx(b, None))?;
    note(layer, "PatchJson6902Transformer", count("patchesJson6902"));
    replicas(k, layer)?;
    note(layer, "ReplicaCountTransformer", count("replicas"));
    images(k, layer)?;
    note(
        layer,
        "ImageTagTransformer",
        count("images") + count("imageTags"),
    );
    replacements::field(b.fsys, k, &mut layer.res, b.track)?;
    sync(layer);
    note(
        layer,
        "ReplacementTransformer",
        usize::from(non_empty("replacements")),
    );
    plugins::run(b, k, "transformers", layer, depth)?;
    // kubectl gives an object whose origin a patch took away the patch's transformer as its
    // origin.
    if meta.origin {
        metadata::add_origins(k, &mut layer.res);
    }
    if meta.managed_by {
        metadata::add_managed_by(&mut layer.res);
    }
    sync(layer);
    vars::declare(k, layer)?;
    Ok(())
}

/// What the patch transformers of `b`'s build need; `plugin` names the plugin
/// configuration that applies them (its file and id), if one does.
pub(crate) fn patch_ctx<'a>(
    b: &'a Builder<'_>,
    plugin: Option<(&'a str, crate::resource::ConfigId)>,
) -> patch::Ctx<'a> {
    patch::Ctx {
        schema: &b.openapi,
        origins: b.origins.as_deref(),
        plugin,
        entry: std::cell::Cell::new(0),
    }
}

/// Which RoleBinding subjects the namespace transformer rewrites.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subjects {
    /// ServiceAccounts named `default` (kustomize's default).
    DefaultOnly,
    AllServiceAccounts,
    None,
}

/// Refuses two objects that a transformer (`field`) gave the same id, generated ones too
/// (only where a layer gathers its objects are those told apart by their content
/// hashes, as in kubectl).
pub(crate) fn unique_ids(k: &Kustomization, res: &[Resource], field: &str) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for r in res {
        if !seen.insert(r.id_key()) {
            return Err(k.field_err(
                field,
                format!("gives two objects the same id: {}", r.describe()),
            ));
        }
    }
    Ok(())
}

/// The `namespace:` field: the namespace transformer with the default subject mode, over
/// kustomize's default field specs (a core Namespace object is renamed to the namespace)
/// and `specs`.
pub(crate) fn namespace(
    acc: &mut [Resource],
    ns: &str,
    specs: &[FieldSpec],
) -> std::result::Result<(), String> {
    let mut all = vec![FieldSpec::new("", "Namespace", "metadata/name", true)];
    all.extend(specs.iter().cloned());
    for r in acc.iter_mut() {
        // kubectl's transformer remembers every object's id, cluster-scoped ones too.
        record_rename(r);
        namespace_one(r, ns, &all, false, Subjects::DefaultOnly)?;
    }
    Ok(())
}

/// The namespace transformer on one object, as kubectl runs it: `metadata.namespace` of a
/// namespaced object; the `subjects` of any RoleBinding or ClusterRoleBinding the subject
/// mode picks (a field spec for their `subjects/namespace` is ignored); then the other
/// field specs, where one for `metadata/name` reaches only `apiVersion: v1` objects. With
/// `unset_only`, each of these fields is set only while it is empty.
pub(crate) fn namespace_one(
    r: &mut Resource,
    ns: &str,
    specs: &[FieldSpec],
    unset_only: bool,
    subjects: Subjects,
) -> std::result::Result<(), String> {
    let gvk = r.gvk();
    let unset = |v: &Value| match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    if !scope::kustomize_cluster_scoped(&gvk) && (!unset_only || r.namespace().is_empty()) {
        record_rename(r);
        r.set_namespace(ns);
    }
    let binding = gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding";
    if binding && subjects != Subjects::None {
        if let Some(Value::Array(list)) = r.obj.get("subjects") {
            if let Some(bad) = list.iter().find(|s| !s.is_object()) {
                return Err(format!(
                    "{}: subjects: each subject must be a map, found {}",
                    r.describe(),
                    fieldspec::kind_name(bad)
                ));
            }
        }
        let who = r.describe();
        if let Some(Value::Array(list)) = r.obj.get_mut("subjects") {
            for s in list.iter_mut().filter_map(Value::as_object_mut) {
                let picked = match subjects {
                    Subjects::DefaultOnly => {
                        s.get("name").and_then(Value::as_str) == Some("default")
                    }
                    _ => s.get("kind").and_then(Value::as_str) == Some("ServiceAccount"),
                };
                if picked && (!unset_only || s.get("namespace").is_none_or(unset)) {
                    if let Some(found @ (Value::Array(_) | Value::Object(_))) = s.get("namespace") {
                        return Err(format!(
                            "{who}: subjects: a subject's namespace is {}, not a string",
                            fieldspec::kind_name(found)
                        ));
                    }
                    s.insert("namespace".into(), Value::String(ns.into()));
                }
            }
        }
    }
    let core_v1 = r.api_version() == "v1";
    let rest: Vec<FieldSpec> = specs
        .iter()
        .filter(|s| {
            let path = s.text.as_str();
            !(path == "metadata/namespace"
                || (path == "metadata/name" && !core_v1)
                || (path == "subjects/namespace"
                    && (s.kind == "RoleBinding" || s.kind == "ClusterRoleBinding")))
        })
        .cloned()
        .collect();
    if rest.iter().any(|s| s.matches(&gvk)) {
        let before = (r.name().to_string(), r.namespace().to_string());
        fieldspec::set_scalar(r, &rest, &Value::String(ns.into()), unset_only)
            .map_err(|e| format!("namespace field specs must target scalars: {e}"))?;
        if r.name() != before.0 {
            r.remember_id(before);
        }
    }
    Ok(())
}

/// Remembers the current name and namespace before a change, for name references.
pub(crate) fn record_rename(r: &mut Resource) {
    let cur = (r.name().to_string(), r.namespace().to_string());
    r.remember_id(cur);
}

/// Adds a prefix and suffix at `specs`: each `metadata/name` spec that selects an object
/// renames it once (so two rename it twice, as in kubectl); other paths get the affixes
/// too.
pub(crate) fn prefix_suffix(
    acc: &mut [Resource],
    prefix: &str,
    suffix: &str,
    specs: &[FieldSpec],
) -> std::result::Result<(), String> {
    let extra: Vec<FieldSpec> = specs
        .iter()
        .filter(|s| s.path != ["metadata", "name"])
        .cloned()
        .collect();
    let no_affix = prefix.is_empty() && suffix.is_empty();
    if no_affix && extra.is_empty() {
        return Ok(());
    }
    for r in acc.iter_mut() {
        let gvk = r.gvk();
        // kubectl never renames a CustomResourceDefinition or a Namespace of any
        // group, nor an APIService of apiregistration.k8s.io.
        let skipped = match gvk.kind.as_str() {
            "CustomResourceDefinition" | "Namespace" => true,
            "APIService" => gvk.group == "apiregistration.k8s.io",
            _ => false,
        };
        if skipped {
            continue;
        }
        if no_affix {
            set_to_own_value(r, &extra)?;
            continue;
        }
        // The specs are applied one by one, so each that selects the name renames.
        let renames = specs
            .iter()
            .filter(|s| s.matches(&gvk) && s.path == ["metadata", "name"])
            .count();
        // A nameless `...List` object has no name to change.
        let named = r.obj.get("metadata").and_then(|m| m.get("name")).is_some();
        for _ in 0..if named { renames } else { 0 } {
            let new = format!("{prefix}{}{suffix}", r.name());
            // kubectl writes the new name as a node of no type, which its text types
            // (`1` and `e3` make the number 1000).
            if crate::yaml::parse::resolve_plain(&new).as_str() != Some(new.as_str())
                || crate::yaml::parse::is_inf_or_nan(&new)
            {
                return Err(format!(
                    "{}: the prefix and suffix make the name {new}, which reads as another value unquoted (a number, a boolean, a date): not supported",
                    r.describe()
                ));
            }
            record_rename(r);
            // kubectl adds the prefix and the suffix in two steps: the name with only
            // the prefix is an earlier name too.
            if !prefix.is_empty() && !suffix.is_empty() {
                let halfway = (format!("{prefix}{}", r.name()), r.namespace().to_string());
                r.prev_names.push(halfway);
            }
            r.set_name(&new);
            // kubectl writes the new name as a node of no type.
            r.mark_untagged(vec!["metadata".into(), "name".into()], new);
            if !prefix.is_empty() {
                r.prefixes.push(prefix.to_string());
            }
            if !suffix.is_empty() {
                r.suffixes.push(suffix.to_string());
            }
        }
        // Paths other than the name get the affixes too.
        for (affix, front) in [(prefix, true), (suffix, false)] {
            if affix.is_empty() || extra.is_empty() {
                continue;
            }
            let texts = r.texts.clone();
            fieldspec::apply(r, &extra, Some(&Value::Null), &mut |v, steps| {
                // A scalar's text as written takes the affix (`0x1F`, `~`), as in kubectl.
                let text = match &*v {
                    Value::String(s) => s.clone(),
                    Value::Array(_) | Value::Object(_) => {
                        return Err(format!(
                            "expected a scalar, found {}",
                            fieldspec::kind_name(v)
                        ))
                    }
                    // A null written nowhere (one just created) has no text.
                    Value::Null => crate::resource::text_at(&texts, &fieldspec::pointer(steps), v)
                        .unwrap_or_default()
                        .to_string(),
                    other => crate::resource::text_at(&texts, &fieldspec::pointer(steps), other)
                        .map(str::to_string)
                        .or_else(|| crate::yaml::emit::scalar_text(other))
                        .unwrap_or_default(),
                };
                *v = Value::String(if front {
                    format!("{affix}{text}")
                } else {
                    format!("{text}{affix}")
                });
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// Affixes that are both empty still set each scalar the field specs reach to its own
/// text in kubectl, creating nulls where the specs say so: the value is read anew from
/// that text (`0x1F` is written back as 31, `~` as null).
fn set_to_own_value(r: &mut Resource, specs: &[FieldSpec]) -> std::result::Result<(), String> {
    let mut reset = Vec::new();
    fieldspec::apply(r, specs, Some(&Value::Null), &mut |v, steps| {
        if v.is_array() || v.is_object() {
            return Err(format!(
                "expected a scalar, found {}",
                fieldspec::kind_name(v)
            ));
        }
        reset.push(fieldspec::pointer(steps));
        Ok(())
    })?;
    if let Some(texts) = r.texts.as_mut().filter(|t| !t.plain.is_empty()) {
        let texts = std::sync::Arc::make_mut(texts);
        for pointer in &reset {
            texts.plain.remove(pointer);
        }
    }
    Ok(())
}

pub(crate) fn string_pairs(v: &Value) -> Option<Map<String, Value>> {
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

/// Sets every pair in the maps at `specs`.
pub(crate) fn set_all(
    specs: &[FieldSpec],
    acc: &mut [Resource],
    pairs: &Map<String, Value>,
) -> std::result::Result<(), String> {
    // No pairs: nothing is walked, nothing created.
    if pairs.is_empty() {
        return Ok(());
    }
    let created = Value::Object(Map::new());
    for r in acc.iter_mut() {
        // Where kubectl keeps notes among the annotations, a spec that creates nothing
        // still finds the map.
        let annotations_without_create = specs
            .iter()
            .any(|s| !s.create && s.path == ["metadata", "annotations"] && s.matches(&r.gvk()));
        if annotations_without_create && r.has_bookkeeping() && r.meta_map("annotations").is_none()
        {
            r.metadata_mut()
                .insert("annotations".into(), Value::Object(Map::new()));
        }
        // Per key, the places it was added to: kubectl adds one shared value there.
        let mut added: Vec<Vec<Vec<String>>> = vec![Vec::new(); pairs.len()];
        // The places written where quotes come or go, and whether kubectl quotes the value
        // it put there.
        let mut written: Vec<(Vec<String>, bool)> = Vec::new();
        let had_quotes = r.texts.as_ref().is_some_and(|t| !t.quoted.is_empty());
        fieldspec::apply(r, specs, Some(&created), &mut |v, steps| match v {
            Value::Object(m) => {
                for (i, (k, val)) in pairs.iter().enumerate() {
                    if !crate::yaml::parse::plain_key_reads_as_string(k) {
                        return Err(crate::yaml::parse::unreadable_key(k));
                    }
                    let quoted = val
                        .as_str()
                        .is_some_and(|s| !crate::yaml::emit::reads_as_string(s));
                    let new = !m.contains_key(k);
                    if new || quoted || had_quotes {
                        let mut path = fieldspec::keys(steps);
                        path.push(k.clone());
                        if quoted || had_quotes {
                            written.push((path.clone(), quoted));
                        }
                        if new {
                            added[i].push(path);
                        }
                    }
                    m.insert(k.clone(), val.clone());
                }
                Ok(())
            }
            // A null where nothing is created stays null, as in kubectl.
            Value::Null => Ok(()),
            other => Err(format!(
                "expected a map, found {}",
                fieldspec::kind_name(other)
            )),
        })?;
        if !written.is_empty() {
            r.note_quoted(&written);
        }
        r.sync_aliases();
        for (paths, value) in added.into_iter().zip(pairs.values()) {
            if paths.len() > 1 {
                r.aliases.push(crate::resource::Alias {
                    paths,
                    value: value.clone(),
                });
            }
        }
    }
    Ok(())
}

fn labels(k: &Kustomization, layer: &mut Layer) -> Result<()> {
    let acc = &mut layer.res;
    if let Some(Value::Array(items)) = k.get("labels") {
        // A null entry is an empty one, which labels nothing.
        for item in items.iter().filter(|i| !i.is_null()) {
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
            // As kustomize: the entry's own fields first, then the configuration's and the
            // defaults merged in, so a field of its own for one kind takes a default's
            // path over.
            let mut specs = Vec::new();
            if let Some(Value::Array(fields)) = m.get("fields") {
                for f in fields {
                    specs.push(
                        FieldSpec::from_value(f).map_err(|e| k.field_err("labels.fields", e))?,
                    );
                }
            }
            let lists = layer.config.lists();
            let defaults = if selectors {
                lists.common_labels.clone()
            } else if templates {
                lists.template_labels.clone()
            } else {
                fieldspec::metadata_label_specs(false)
            };
            // A configuration's `labels` specs serve every entry, merged in before the
            // defaults: a default conflicts with one only where it selects its type.
            for spec in lists.labels.iter().cloned().chain(defaults) {
                config::merge_spec(&mut specs, spec).map_err(|e| {
                    let e = format!("{e}, merging the entry's fields, the configurations' labels and the defaults");
                    k.field_err("labels", e)
                })?;
            }
            // No pairs, nothing set (not even an empty map).
            if !pairs.is_empty() {
                set_all(&specs, acc, &pairs).map_err(|e| k.field_err("labels", e))?;
            }
        }
    } else if k.get("labels").is_some() {
        return Err(k.field_err("labels", "expected a list"));
    }
    // kustomize runs `labels` entries before `commonLabels`.
    if let Some(v) = k.get("commonLabels") {
        let pairs = string_pairs(v)
            .ok_or_else(|| k.field_err("commonLabels", "expected a map of strings"))?;
        if !pairs.is_empty() {
            set_all(&layer.config.lists().common_labels, acc, &pairs)
                .map_err(|e| k.field_err("commonLabels", e))?;
        }
    }
    Ok(())
}

fn annotations(k: &Kustomization, layer: &mut Layer) -> Result<()> {
    let Some(v) = k.get("commonAnnotations") else {
        return Ok(());
    };
    let pairs = string_pairs(v)
        .ok_or_else(|| k.field_err("commonAnnotations", "expected a map of strings"))?;
    if !pairs.is_empty() {
        own_notes_refused(&pairs).map_err(|e| k.field_err("commonAnnotations", e))?;
        let specs = &layer.config.lists().common_annotations;
        set_all(specs, &mut layer.res, &pairs).map_err(|e| k.field_err("commonAnnotations", e))?;
    }
    Ok(())
}

/// Refuses annotations that are kustomize's own notes it acts on (a name hash asked for,
/// earlier ids) wherever they come from.
pub(crate) fn own_notes_refused(pairs: &Map<String, Value>) -> std::result::Result<(), String> {
    let acted_on = |k: &str| {
        k == "internal.config.kubernetes.io/needsHashSuffix"
            || crate::build::PREVIOUS_IDS.contains(&k)
    };
    match pairs.keys().find(|k| acted_on(k)) {
        Some(note) => Err(format!(
            "kustomize's own note {note} set as an annotation is not supported"
        )),
        None => Ok(()),
    }
}

fn replicas(k: &Kustomization, layer: &mut Layer) -> Result<()> {
    let specs = &layer.config.lists().replicas;
    for rep in k.obj_list("replicas", &["name", "count"])? {
        set_replicas(&mut layer.res, &rep, specs).map_err(|m| k.field_err("replicas", m))?;
    }
    Ok(())
}

/// The replica count transformer for one `{name, count}` entry.
pub(crate) fn set_replicas(
    acc: &mut [Resource],
    rep: &Map<String, Value>,
    specs: &[FieldSpec],
) -> std::result::Result<(), String> {
    let name = rep.get("name").and_then(Value::as_str).unwrap_or("");
    // kubectl reads no count as 0.
    let count = match rep.get("count") {
        None | Some(Value::Null) => Value::from(0),
        Some(c) => crate::schema::go_int(c)
            .map(Value::from)
            .ok_or_else(|| format!("{name}: count must be a whole number"))?,
    };
    let mut matched = false;
    for r in acc.iter_mut().filter(|r| {
        r.name() == name || r.orig_name == name || r.prev_names.iter().any(|(n, _)| n == name)
    }) {
        let gvk = r.gvk();
        if specs.iter().any(|s| s.matches(&gvk)) {
            matched = true;
            fieldspec::set_scalar(r, specs, &count, false)?;
        }
    }
    if !matched {
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        let kinds: Vec<String> = specs
            .iter()
            .map(|s| {
                format!(
                    "{}.{}.{}",
                    s.kind,
                    or(&s.version, "[noVer]"),
                    or(&s.group, "[noGrp]")
                )
            })
            .collect();
        return Err(format!(
            "resource with name {name} does not match a config with the following GVK [{}]",
            kinds.join(" ")
        ));
    }
    Ok(())
}

pub(crate) const IMAGE_FIELDS: &[&str] = &["name", "newName", "newTag", "digest", "tagSuffix"];

fn images(k: &Kustomization, layer: &mut Layer) -> Result<()> {
    // The deprecated `imageTags` are more `images`.
    let mut list = k.obj_list("images", IMAGE_FIELDS)?;
    list.extend(k.obj_list("imageTags", IMAGE_FIELDS)?);
    if list.is_empty() {
        return Ok(());
    }
    let specs = &layer.config.lists().images;
    for img in &list {
        set_image(&mut layer.res, img, specs, true).map_err(|m| k.field_err("images", m))?;
    }
    Ok(())
}

/// The image tag transformer for one `images` entry: every `containers` and
/// `initContainers` list anywhere in an object (when `walk`), then the field specs, as
/// kustomize does (so a tag suffix lands twice where both reach).
pub(crate) fn set_image(
    acc: &mut [Resource],
    img: &Map<String, Value>,
    specs: &[FieldSpec],
    walk: bool,
) -> std::result::Result<(), String> {
    let s = |key: &str| match img.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Ok(String::new()),
        Some(other) => {
            crate::yaml::emit::scalar_text(other).ok_or_else(|| format!("{key}: expected a string"))
        }
    };
    let (name, new_name, new_tag, digest, suffix) = (
        s("name")?,
        s("newName")?,
        s("newTag")?,
        s("digest")?,
        s("tagSuffix")?,
    );
    // kubectl compiles the name's pattern when it first meets an image.
    let matcher = std::cell::OnceCell::new();
    // `quoted`: whether the image was written quoted, a style kubectl keeps; `written`:
    // the text a number, boolean or null was written as. kubectl matches any scalar's
    // text (`~`, or nothing for an empty value).
    let update = |v: &mut Value,
                  quoted: bool,
                  written: Option<&str>|
     -> std::result::Result<Option<String>, String> {
        let text;
        let cur = match &*v {
            Value::String(cur) => cur.as_str(),
            Value::Array(_) | Value::Object(_) => {
                return Err(format!(
                    "image: expected a scalar, found {}",
                    fieldspec::kind_name(v)
                ))
            }
            Value::Null => written.unwrap_or_default(),
            other => {
                text = written
                    .map(str::to_string)
                    .or_else(|| crate::yaml::emit::scalar_text(other))
                    .unwrap_or_default();
                text.as_str()
            }
        };
        let matcher = match matcher.get() {
            Some(m) => m,
            None => {
                let made = ImageMatcher::new(&name)?;
                matcher.get_or_init(|| made)
            }
        };
        if !matcher.matches(cur) {
            return Ok(None);
        }
        let (n, tag, old_digest) = split_image(cur);
        let base = if new_name.is_empty() {
            n.to_string()
        } else {
            new_name.clone()
        };
        // A new tag or digest replaces both the old tag and the old digest.
        let (tag, digest) = if !new_tag.is_empty() || !digest.is_empty() {
            (new_tag.clone(), digest.clone())
        } else if !suffix.is_empty() {
            (format!("{tag}{suffix}"), String::new())
        } else {
            (tag.to_string(), old_digest.to_string())
        };
        let mut out = base;
        if !tag.is_empty() {
            out.push(':');
            out.push_str(&tag);
        }
        if !digest.is_empty() {
            out.push('@');
            out.push_str(&digest);
        }
        // kubectl sets the text of the image's node, which has no type: unless quoted,
        // it reads back as a number, a boolean or null where it looks like one (`1.10`
        // is 1.1).
        // Its text then stays untagged for a later replacement: `untagged` gives it.
        if !quoted && crate::yaml::parse::is_inf_or_nan(&out) {
            return Err(format!(
                "image {out:?} reads as a number that cannot be written as JSON"
            ));
        }
        if quoted {
            *v = Value::String(out);
            return Ok(None);
        }
        *v = if out.is_empty() {
            Value::String(String::new())
        } else {
            crate::yaml::parse::resolve_plain(&out)
        };
        Ok(Some(out))
    };
    // kubectl leaves CustomResourceDefinitions alone here.
    for r in acc
        .iter_mut()
        .filter(|r| r.kind() != "CustomResourceDefinition")
    {
        let texts = r.texts.clone();
        let quoted = |path: &[String]| {
            texts.as_ref().is_some_and(|t| {
                !t.quoted.is_empty() && t.quoted.contains(&crate::yaml::parse::json_pointer(path))
            })
        };
        let written = |path: &[String], v: &Value| {
            crate::resource::text_at(&texts, &crate::yaml::parse::json_pointer(path), v)
                .map(str::to_string)
        };
        let mut untagged = Vec::new();
        if walk {
            let mut obj = Value::Object(std::mem::take(&mut r.obj));
            let walked = for_each_container_image(&mut obj, &mut Vec::new(), &mut |v, path| {
                let text = written(path, v);
                if let Some(text) = update(v, quoted(path), text.as_deref())? {
                    untagged.push((path.to_vec(), text));
                }
                Ok(())
            });
            if let Value::Object(m) = obj {
                r.obj = m;
            }
            walked.map_err(|e| format!("{}: {e}", r.describe()))?;
        }
        fieldspec::apply(r, specs, None, &mut |v, steps| {
            let path = fieldspec::keys(steps);
            let text = written(&path, v);
            if let Some(text) = update(v, quoted(&path), text.as_deref())? {
                untagged.push((path, text));
            }
            Ok(())
        })?;
        for (path, text) in untagged {
            r.mark_untagged(path, text);
        }
    }
    Ok(())
}

/// What sees each container image and its path.
type ImageVisitor<'f> = dyn FnMut(&mut Value, &[String]) -> std::result::Result<(), String> + 'f;

/// Calls `f` on the `image` of every element of every `containers` or `initContainers`
/// list anywhere in `v`, with its path, as kubectl's image transformer walks an object:
/// an element that is not a map (null aside) is an error.
fn for_each_container_image(
    v: &mut Value,
    path: &mut Vec<String>,
    f: &mut ImageVisitor<'_>,
) -> std::result::Result<(), String> {
    match v {
        Value::Object(m) => {
            for (key, child) in m.iter_mut() {
                path.push(key.clone());
                for_each_container_image(child, path, f)?;
                if let (Value::Array(items), "containers" | "initContainers") =
                    (&mut *child, key.as_str())
                {
                    for (i, item) in items.iter_mut().enumerate() {
                        match item {
                            Value::Object(c) => {
                                if let Some(img) = c.get_mut("image") {
                                    path.extend([i.to_string(), "image".to_string()]);
                                    let done = f(img, path);
                                    path.truncate(path.len() - 2);
                                    done?;
                                }
                            }
                            Value::Null => {}
                            other => {
                                return Err(format!(
                                    "{key}: expected a map, found {}",
                                    fieldspec::kind_name(other)
                                ))
                            }
                        }
                    }
                }
                path.pop();
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().enumerate().try_for_each(|(i, item)| {
            path.push(i.to_string());
            let done = for_each_container_image(item, path, f);
            path.pop();
            done
        }),
        _ => Ok(()),
    }
}

/// Which images an `images` entry's name selects. kubectl reads the name as a regular
/// expression, anchored at the start and followed by an optional `:tag` and `@sha256:`
/// digest (so `app.*` or `a|b` select several, and a bare `app@sha256` is not `app`);
/// `*` selects every image. An image rewritten by the containers walk is matched again by
/// the field spec pass, so a new name with its own digest is not rewritten twice.
enum ImageMatcher {
    All,
    Pattern(regex::Regex),
}

impl ImageMatcher {
    fn new(name: &str) -> std::result::Result<ImageMatcher, String> {
        if name == "*" {
            return Ok(ImageMatcher::All);
        }
        let tag = "[a-zA-Z0-9_.{}-]*";
        crate::goregex::compile(&format!("^{name}(:{tag})?(@sha256:{tag})?$"))
            .map(ImageMatcher::Pattern)
            .map_err(|e| format!("name {name:?} is not a valid pattern: {e}"))
    }

    fn matches(&self, image: &str) -> bool {
        match self {
            ImageMatcher::All => true,
            ImageMatcher::Pattern(re) => re.is_match(image),
        }
    }
}

/// Splits an image reference into its name, tag and digest (without `:` and `@`). A
/// `:` before the first `/` belongs to the registry host.
fn split_image(image: &str) -> (&str, &str, &str) {
    let from = image.find('/').unwrap_or(0);
    let (head, digest) = match image[from..].find('@') {
        Some(at) => (&image[..from + at], &image[from + at + 1..]),
        None => (image, ""),
    };
    match head[from..].find(':') {
        Some(c) => (&head[..from + c], &head[from + c + 1..], digest),
        None => (head, "", digest),
    }
}

/// Steps run once over the root build's output: content hashes, name references, vars.
pub(crate) fn finish(layer: &mut Layer) -> Result<()> {
    // kubectl writes every object's annotations anew at the end, keys unquoted.
    for r in layer.res.iter_mut() {
        settle_annotations(r).map_err(|m| Error::Invalid {
            path: r.origin.clone(),
            message: format!("{}: {m}", r.describe()),
        })?;
        if let Some(key) = r.meta_map("annotations").and_then(|a| {
            a.keys()
                .find(|k| !crate::yaml::parse::plain_key_reads_as_string(k))
        }) {
            return Err(Error::Invalid {
                path: r.origin.clone(),
                message: format!(
                    "{}: metadata.annotations: {}",
                    r.describe(),
                    crate::yaml::parse::unreadable_key(key)
                ),
            });
        }
    }
    // A generated object's hash is of its data as generated (a file's NEL unfolded).
    hash_names(&mut layer.res)?;
    // What generators and transformers wrote passes kubectl's JSON round trip too.
    for r in layer.res.iter_mut() {
        let mut obj = Value::Object(std::mem::take(&mut r.obj));
        let checked = crate::roundtrip::json_round_trip(&mut obj);
        if let Value::Object(m) = obj {
            r.obj = m;
        }
        checked.map_err(|m| Error::Invalid {
            path: r.origin.clone(),
            message: format!("{}: {m}", r.describe()),
        })?;
    }
    nameref::fix_name_references(&mut layer.res, &layer.config.lists().name_reference)?;
    vars::resolve(layer)?;
    for r in layer.res.iter_mut() {
        r.sync_aliases();
        stringify_annotations(r);
    }
    Ok(())
}

/// Appends the content hash to the names of generated objects that want one (at the end
/// of the build, and also where a HashTransformer plugin runs: kubectl then hashes twice).
pub(crate) fn hash_names(res: &mut [Resource]) -> Result<()> {
    for r in res.iter_mut().filter(|r| r.needs_hash) {
        // kubectl hashes other kinds as a whole, its own notes included.
        if !matches!(r.kind(), "ConfigMap" | "Secret") {
            return Err(Error::Invalid {
                path: r.origin.clone(),
                message: format!(
                    "{}: the content hash of a generated object a patch made a {} is not supported",
                    r.describe(),
                    r.kind()
                ),
            });
        }
        let hash = generators::content_hash(r);
        let new = format!("{}-{hash}", r.name());
        record_rename(r);
        r.set_name(&new);
    }
    Ok(())
}

/// Makes annotations that are no map what kubectl reads them as: it reads whatever node
/// holds them as a mapping's key and value pairs, so a scalar there holds none and goes,
/// a list's elements pair up as keys and their texts (none at all where a key is a
/// collection), and an odd list or a key that is no string fails.
fn settle_annotations(r: &mut Resource) -> std::result::Result<(), String> {
    let Some(Value::Object(meta)) = r.obj.get_mut("metadata") else {
        return Ok(());
    };
    match meta.get("annotations") {
        Some(Value::Array(items)) if items.len() % 2 == 1 => {
            return Err("metadata.annotations is a list of an odd length, which kubectl cannot read as key and value pairs (it fails)".into());
        }
        Some(Value::Array(items)) => {
            let mut pairs = Map::new();
            for pair in items.chunks(2) {
                match &pair[0] {
                    Value::String(key) => {
                        // A pair's null value is its text.
                        let value = match &pair[1] {
                            Value::Null => "null".to_string(),
                            v => annotation_text(v),
                        };
                        pairs.insert(key.clone(), Value::String(value));
                    }
                    Value::Array(_) | Value::Object(_) => {
                        pairs.clear();
                        break;
                    }
                    other => {
                        return Err(format!(
                            "metadata.annotations is a list whose key {} is no string, which kubectl cannot write out",
                            crate::yaml::emit::scalar_text(other).unwrap_or_default()
                        ))
                    }
                }
            }
            meta.insert("annotations".into(), Value::Object(pairs));
        }
        Some(Value::Object(_)) | None => {}
        // A scalar holds no pairs.
        Some(_) => {
            meta.remove("annotations");
        }
    }
    Ok(())
}

/// An annotation's value as kubectl prints it: other scalars as their YAML text,
/// collections and null as "".
fn annotation_text(v: &Value) -> String {
    match v {
        Value::Array(_) | Value::Object(_) | Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => crate::yaml::emit::scalar_text(other).unwrap_or_default(),
    }
}

/// kubectl prints an object's own annotations as strings whatever put them there (see
/// `annotation_text`); an empty or null map not at all.
fn stringify_annotations(r: &mut Resource) {
    let Some(Value::Object(meta)) = r.obj.get_mut("metadata") else {
        return;
    };
    if meta
        .get("annotations")
        .is_some_and(|a| a.is_null() || a.as_object().is_some_and(Map::is_empty))
    {
        meta.remove("annotations");
    }
    if let Some(Value::Object(m)) = meta.get_mut("annotations") {
        for v in m.values_mut().filter(|v| !v.is_string()) {
            *v = Value::String(annotation_text(v));
        }
    }
}
