//! Patches: `patchesStrategicMerge`, `patches` (strategic merge or JSON 6902, with target
//! selection) and `patchesJson6902`. Strategic merge follows merge keys of built-in list
//! fields and the `$patch` directive (kubectl passes the other directives through as fields).

mod texts;

use crate::kustomization::{canonical_object, Kustomization};
use crate::openapi::{Active, OpenApi};
use crate::resource::{ConfigId, ConfiguredBy, Gvk, Resource};
use crate::{fs, Error, FileSystem, Result};
use regex::Regex;
use serde_json::{Map, Value};
use std::borrow::Cow;

mod keyed;

/// Reads a patch given as a path or inline text.
fn patch_text(
    fsys: &dyn FileSystem,
    k: &Kustomization,
    field: &str,
    s: &str,
) -> Result<(String, String)> {
    if !s.contains('\n') {
        if let Some(path) = fs::join(&k.dir, s.trim()) {
            if fsys.kind(&path) == Some(crate::EntryKind::File) {
                return crate::build::read_local_text(fsys, k, field, s.trim());
            }
        }
        if s.ends_with(".yaml") || s.ends_with(".yml") || s.ends_with(".json") {
            return Err(k.field_err(field, format!("{s:?}: no such file")));
        }
    }
    Ok((s.to_string(), format!("{} ({field})", k.file)))
}

/// A patch for messages: its file, or "the inline patch".
fn which(k: &Kustomization, origin: &str) -> String {
    if origin.starts_with(&k.file) {
        "the inline patch".into()
    } else {
        origin.to_string()
    }
}

/// A patch file's documents (empty ones left out), and whether its first document is
/// empty while others follow (kubectl reads that as an empty patch).
struct PatchDocs {
    docs: Vec<Value>,
    /// The source texts of each document's scalars (as `Document::texts`), by document.
    texts: Vec<PatchTexts>,
    leading_empty: bool,
    /// Whether documents were read that hold no patch (`{}`, a list of no items).
    emptied: bool,
}

/// Source texts of a patch's scalars, by JSON pointer into the patch.
type PatchTexts = crate::resource::SourceTexts;

/// What patch transformers need besides their patches.
pub(crate) struct Ctx<'a> {
    /// The schema strategic merges follow.
    pub(crate) schema: &'a Active,
    /// The root directory, when the root asks for origin annotations (a patch sees them).
    pub(crate) origins: Option<&'a str>,
    /// The plugin configuration applying the patches, if one does: its file and id.
    pub(crate) plugin: Option<(&'a str, ConfigId)>,
    /// Which entry of the field (each one transformer in kubectl) is being applied.
    pub(crate) entry: std::cell::Cell<usize>,
}

impl Ctx<'_> {
    /// The transformer that applies a kustomization's patches, as kubectl names it in an
    /// origin annotation: the kustomization or plugin configuration that configured it.
    fn by(&self, k: &Kustomization, kind: &'static str) -> ConfiguredBy {
        match &self.plugin {
            Some((file, id)) => ConfiguredBy {
                file: file.to_string(),
                kind,
                config: Some(id.clone()),
            },
            None => ConfiguredBy {
                file: k.written_file(),
                kind,
                config: None,
            },
        }
    }
}

fn patch_docs(
    parsed: std::result::Result<Vec<crate::yaml::Document>, crate::yaml::ParseError>,
    text: &str,
    origin: &str,
) -> Result<PatchDocs> {
    let docs = parsed.map_err(|e| Error::Yaml {
        path: origin.into(),
        line: e.line,
        message: e.message,
    })?;
    let leading_empty = first_document_empty(text) && docs.iter().any(|d| !d.value.is_null());
    let (docs, texts) = docs
        .into_iter()
        .filter(|d| !d.value.is_null())
        .map(|d| (d.value, PatchTexts::from(d.notes)))
        .unzip();
    Ok(PatchDocs {
        docs,
        texts,
        leading_empty,
        emptied: false,
    })
}

/// Whether the first document go-yaml finds in `text` is empty: the text opens (past
/// blank and comment lines) with a `---` line that only another separator or the end
/// follows, past more blank and comment lines. kubectl reads a patch's first document
/// alone to see whether it is a JSON 6902 patch.
fn first_document_empty(text: &str) -> bool {
    let mut lines = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    // `---` alone, or with blanks and a comment after it.
    let is_separator = |l: &str| {
        l.strip_prefix("---").is_some_and(|rest| {
            rest.trim().is_empty()
                || (rest.starts_with([' ', '\t']) && rest.trim_start().starts_with('#'))
        })
    };
    match lines.next() {
        Some(first) if is_separator(first) => lines
            .next()
            .is_none_or(|next| is_separator(next) || next == "..."),
        _ => false,
    }
}

/// JSON 6902 operations, which kubectl reads as it reads kustomization files (YAML 1.1,
/// no timestamps), but for a text whose first character is `[`: that one is JSON alone.
fn parse_ops(text: &str, origin: &str) -> Result<PatchDocs> {
    // A file's text is not trimmed first (an inline patch's is, by the caller).
    if text.starts_with('[') {
        let ops: Value = serde_json::from_str(text).map_err(|e| Error::Invalid {
            path: origin.into(),
            message: format!(
                "a JSON 6902 patch that starts with `[` is read as strict JSON, as kubectl reads it: {e}"
            ),
        })?;
        return Ok(PatchDocs {
            docs: vec![ops],
            texts: vec![PatchTexts::default()],
            leading_empty: false,
            emptied: false,
        });
    }
    patch_docs(
        or_json(
            crate::yaml::parse_documents_v2(text).or_else(|_| {
                crate::yaml::parse_first_document(text, false).map(|d| d.into_iter().collect())
            }),
            text,
        ),
        text,
        origin,
    )
}

/// A patch file YAML cannot read may still be JSON kubectl reads as such (surrogate
/// pairs in `\u` escapes).
fn or_json(
    parsed: std::result::Result<Vec<crate::yaml::Document>, crate::yaml::ParseError>,
    text: &str,
) -> std::result::Result<Vec<crate::yaml::Document>, crate::yaml::ParseError> {
    let err = match parsed {
        Ok(docs) => return Ok(docs),
        Err(e) => e,
    };
    match serde_json::from_str::<Value>(text) {
        Ok(value) => Ok(vec![crate::yaml::Document {
            value,
            line: 1,
            ..Default::default()
        }]),
        Err(_) => Err(err),
    }
}

/// Strategic merge patches (or JSON 6902 operations, before they are known to be). As
/// kubectl reads patches as resources, a List's items are patches of their own and an
/// empty mapping is no patch.
fn parse_docs(text: &str, origin: &str) -> Result<PatchDocs> {
    let parsed = patch_docs(
        or_json(crate::yaml::parse_patches(text), text),
        text,
        origin,
    )?;
    let read_some = !parsed.docs.is_empty();
    let values: Vec<&Value> = parsed.docs.iter().collect();
    let order = crate::build::list_order(text, &values).map_err(|(_, message)| Error::Invalid {
        path: origin.into(),
        message,
    })?;
    let (mut all, texts) = (parsed.docs, parsed.texts);
    let (docs, texts): (Vec<_>, _) = order
        .paths
        .into_iter()
        .map(|at| {
            let doc = crate::build::take_at(&mut all[at[0]], &at[1..]);
            (doc, texts[at[0]].inside(&at[1..]))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .unzip();
    Ok(PatchDocs {
        emptied: read_some && docs.is_empty(),
        docs,
        texts,
        leading_empty: parsed.leading_empty,
    })
}

pub(crate) fn strategic_merge_field(
    fsys: &dyn FileSystem,
    k: &Kustomization,
    acc: &mut Vec<Resource>,
    ctx: &Ctx<'_>,
) -> Result<()> {
    let by = ctx.by(k, "PatchStrategicMergeTransformer");
    for entry in k.str_list("patchesStrategicMerge")? {
        let (text, origin) = patch_text(fsys, k, "patchesStrategicMerge", &entry)?;
        let PatchDocs { docs, texts, .. } = parse_docs(&text, &origin)?;
        if docs.is_empty() {
            return Err(k.field_err(
                "patchesStrategicMerge",
                format!("{} is empty", which(k, &origin)),
            ));
        }
        for (doc, texts) in docs.iter().zip(&texts) {
            check_smp_doc(k, "patchesStrategicMerge", doc)?;
            let (doc, texts) = metadata_as_strings(doc, texts);
            let patch = (doc.as_ref(), texts.as_ref());
            apply_smp_by_id(
                k,
                "patchesStrategicMerge",
                acc,
                patch,
                (false, false),
                (ctx, &by),
            )?;
        }
    }
    Ok(())
}

/// The patch kubectl merges for patchesStrategicMerge and targeted `patches`: a copy whose
/// labels and annotations went through its string maps. Each value becomes the text it
/// was written as (a null's too, a collection's ""), and a map that ends up empty, or is
/// no map, is dropped, so it deletes nothing.
fn metadata_as_strings<'a>(
    doc: &'a Value,
    texts: &'a PatchTexts,
) -> (Cow<'a, Value>, Cow<'a, PatchTexts>) {
    let unchanged = (Cow::Borrowed(doc), Cow::Borrowed(texts));
    let Some(meta) = doc.get("metadata").and_then(Value::as_object) else {
        return unchanged;
    };
    let fields = ["labels", "annotations"];
    if !fields.iter().any(|f| meta.contains_key(*f)) {
        return unchanged;
    }
    let mut meta = meta.clone();
    let mut texts = texts.clone();
    for field in fields {
        let Some(v) = meta.get(field) else { continue };
        let strings: Map<String, Value> = match v {
            Value::Object(m) => m
                .iter()
                .map(|(key, v)| {
                    let at = crate::yaml::parse::json_pointer(&[
                        "metadata".to_string(),
                        field.to_string(),
                        key.clone(),
                    ]);
                    // The value is a string of that text now.
                    let written = texts.plain.remove(&at);
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Array(_) | Value::Object(_) => String::new(),
                        Value::Null => written.unwrap_or("null".into()),
                        other => written
                            .or_else(|| crate::yaml::emit::scalar_text(other))
                            .unwrap_or_default(),
                    };
                    (key.clone(), Value::String(text))
                })
                .collect(),
            _ => Map::new(),
        };
        if strings.is_empty() {
            meta.shift_remove(field);
        } else {
            meta.insert(field.into(), Value::Object(strings));
        }
    }
    let mut out = doc.clone();
    out["metadata"] = Value::Object(meta);
    (Cow::Owned(out), Cow::Owned(texts))
}

/// A strategic merge patch is read as an object, so it needs a kind and a name (even when
/// a target selects what it patches), as kustomize requires.
fn check_smp_doc(k: &Kustomization, field: &str, doc: &Value) -> Result<()> {
    // kubectl reads every patch before it looks for targets: a scalar is neither kind.
    if matches!(doc, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
        return Err(k.field_err(
            field,
            "a patch must be a map (a strategic merge patch) or a list of JSON 6902 operations, not a scalar",
        ));
    }
    if !doc.is_object() {
        return Ok(());
    }
    for (pointer, what) in [("/kind", "kind"), ("/metadata/name", "metadata.name")] {
        if doc
            .pointer(pointer)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(k.field_err(
                field,
                format!("a strategic merge patch needs {what} (even with a target)"),
            ));
        }
    }
    Ok(())
}

fn apply_smp_by_id(
    k: &Kustomization,
    field: &str,
    acc: &mut Vec<Resource>,
    (patch, texts): (&Value, &PatchTexts),
    allow: (bool, bool),
    (ctx, by): (&Ctx<'_>, &ConfiguredBy),
) -> Result<()> {
    let Value::Object(p) = patch else {
        return Err(k.field_err(field, "a strategic merge patch must be a mapping"));
    };
    let gvk = Gvk::from_api_version(
        p.get("apiVersion").and_then(Value::as_str).unwrap_or(""),
        p.get("kind").and_then(Value::as_str).unwrap_or(""),
    );
    let meta = p.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    // The patch's id matches a resource's current, original or any earlier id, each as a
    // whole (name and namespace together); no namespace means `default`, as in kustomize.
    let ns = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let effective = |ns: &str| -> String {
        match ns {
            "" if !crate::scope::kustomize_cluster_scoped(&gvk) => "default".into(),
            _ if crate::scope::kustomize_cluster_scoped(&gvk) => String::new(),
            _ => ns.into(),
        }
    };
    let want = (name, effective(ns));
    let idx: Vec<usize> = acc
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            // An object whose kind a patch changed is still found by an earlier id, kind
            // and name as they were together (with its apiVersion, which such a patch
            // keeps).
            let g = r.gvk();
            g.group == gvk.group
                && g.version == gvk.version
                && r.any_kind_ids()
                    .any(|(kind, n, ns)| kind == gvk.kind && n == want.0 && effective(ns) == want.1)
        })
        .map(|(i, _)| i)
        .collect();
    let who = {
        let api = p.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let api = if api.is_empty() {
            "(no apiVersion)"
        } else {
            api
        };
        match ns {
            "" => format!("{api} {} {name}", gvk.kind),
            ns => format!("{api} {} {ns}/{name}", gvk.kind),
        }
    };
    match idx.as_slice() {
        [i] => {
            let i = *i;
            let deleted = smp_resource(&mut acc[i], (patch, texts), allow, (ctx, by))
                .map_err(|e| k.field_err(field, format!("{}: {e}", acc[i].describe())))?;
            if deleted {
                acc.remove(i);
            }
            Ok(())
        }
        [] => Err(k.field_err(field, format!("no resource matches the patch for {who}"))),
        _ => Err(k.field_err(
            field,
            format!("the patch for {who} matches more than one resource"),
        )),
    }
}

/// A key the patch repeats in a map the object lacks: kubectl copies that map with both
/// keys and cannot read the object back. In a list merged by key, a patch element meets
/// the object's element with the same merge key; in other lists it is not followed here:
/// refused, as is a repeated labels or annotations map.
fn repeated_key_copied(
    r: &Resource,
    patch: &Value,
    texts: &PatchTexts,
    builtin: Schema<'_>,
) -> Option<String> {
    if texts.repeated.is_empty() {
        return None;
    }
    let root = Value::Object(r.obj.clone());
    for (pointer, key) in &texts.repeated {
        let mut at_patch = patch;
        let mut at_object = Some(&root);
        let mut path: Vec<String> = Vec::new();
        for step in pointer
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
        {
            match at_patch {
                Value::Object(m) => {
                    at_patch = m.get(&step)?;
                    at_object = at_object.and_then(|o| o.get(&step));
                    path.push(step);
                }
                Value::Array(items) => {
                    let all: Vec<&Value> = items.iter().collect();
                    let merge_key = merge_key(&path, &all, builtin);
                    at_patch = items.get(step.parse::<usize>().ok()?)?;
                    let Some((key_name, key_value)) = merge_key
                        .as_ref()
                        .and_then(|k| Some((k.as_str(), at_patch.get(k)?)))
                    else {
                        return Some(format!(
                            "the patch repeats the key {key:?} in a list element it has no merge key for, which is not supported"
                        ));
                    };
                    at_object = at_object.and_then(Value::as_array).and_then(|list| {
                        list.iter()
                            .find(|e| e.get(key_name).is_some_and(|v| same_key(v, key_value)))
                    });
                }
                _ => return None,
            }
        }
        // A map the patch adds to delete it is never copied.
        let deleted = at_patch.get("$patch").and_then(Value::as_str) == Some("delete");
        if !at_object.is_some_and(Value::is_object) && !deleted {
            return Some(format!("mapping key {key:?} already defined"));
        }
        // Repeated labels or annotations maps: kubectl merges each in turn (where
        // other repeated keys keep their first), which this engine's reading of the
        // patch does not keep.
        let labels = matches!(key.as_str(), "labels" | "annotations");
        if labels
            && pointer.ends_with("metadata")
            && at_patch.get(key).is_some_and(Value::is_object)
        {
            return Some(format!(
                "the patch repeats its {key} map, which is not supported"
            ));
        }
    }
    None
}

/// Applies a strategic merge patch to a resource; returns true when it deletes it.
fn smp_resource(
    r: &mut Resource,
    (patch, texts): (&Value, &PatchTexts),
    (allow_name, allow_kind): (bool, bool),
    (ctx, by): (&Ctx<'_>, &ConfiguredBy),
) -> std::result::Result<bool, String> {
    let schema = ctx.schema;
    let (name, kind, api) = (
        r.name().to_string(),
        r.kind().to_string(),
        r.api_version().to_string(),
    );
    // A patch never moves an object to another namespace.
    let namespace = r
        .obj
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .cloned();
    // kubectl takes the schema of the object's type, or failing that of the patch's kind
    // at the object's apiVersion (the patch it merges has the object's).
    let gvk = r.gvk();
    let patch_gvk = Gvk::from_api_version(
        &api,
        patch.get("kind").and_then(Value::as_str).unwrap_or(""),
    );
    let builtin = match schema_of(schema, &api, &gvk) {
        Schema::Unknown => schema_of(schema, &api, &patch_gvk),
        known => known,
    };
    if let Some(message) = repeated_key_copied(r, patch, texts, builtin) {
        return Err(message);
    }
    if let Some(message) = schema_comment(r.texts.as_deref(), texts) {
        return Err(message);
    }
    // A patch that deletes the object meets nothing of it.
    let deletes = patch.get("$patch").and_then(Value::as_str) == Some("delete");
    let no_texts = PatchTexts::default();
    let object_texts = r.texts.as_deref().unwrap_or(&no_texts);
    let object = Value::Object(std::mem::take(&mut r.obj));
    let problem = merge_problem((object_texts, &object), (texts, patch), builtin, deletes);
    if let Value::Object(m) = object {
        r.obj = m;
    }
    if let Some(problem) = problem {
        return Err(problem);
    }
    // kubectl applies nothing of a document whose top level says `$patch: replace`.
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        return Ok(false);
    }
    let wipes_bookkeeping = drops_annotations(patch);
    let origin = super::metadata::watch_origin(r, ctx.origins);
    let mut obj = Value::Object(std::mem::take(&mut r.obj));
    // The object as it was, to carry source texts over, when there are any.
    let before =
        (r.texts.as_ref().is_some_and(|t| !t.is_empty()) || !texts.is_empty()).then(|| obj.clone());
    // kubectl's merge walk keeps none of the object's fields left empty (`labels:` with
    // nothing after it), wherever it walks; a null written out (`null`, `~`), a list item,
    // what a list it does not merge by key holds and what the patch adds stay.
    let empty = |at: &[String]| {
        r.texts.as_ref().is_some_and(|t| {
            t.plain
                .get(&crate::yaml::parse::json_pointer(at))
                .is_some_and(String::is_empty)
        })
    };
    let any_empty = r
        .texts
        .as_ref()
        .is_some_and(|t| t.plain.values().any(String::is_empty));
    if any_empty {
        let mut at = (Vec::new(), Vec::new());
        drop_null_fields(&mut obj, &mut at, builtin, &|at| !empty(at));
    }
    let deleted = merge(&mut obj, patch, builtin, &mut Vec::new());
    if deleted {
        return Ok(true);
    }
    if let Some(before) = before {
        let old_texts = r.texts.as_deref();
        let carried = texts::carry(&mut obj, (&before, old_texts), (patch, texts), builtin);
        r.texts = (!carried.is_blank()).then(|| std::sync::Arc::new(carried));
    }
    if let Value::Object(m) = obj {
        r.obj = m;
    }
    r.type_untyped_in_maps();
    super::metadata::settle_origin(r, origin, (|| by.clone(), ctx.entry.get()))?;
    if !allow_name && r.name() != name {
        r.set_name(&name);
    }
    match namespace {
        Some(ns) => {
            r.metadata_mut().insert("namespace".into(), ns);
        }
        None => {
            r.metadata_mut().shift_remove("namespace");
        }
    }
    let before = (name, r.namespace().to_string());
    if !allow_kind {
        r.obj.insert("kind".into(), Value::String(kind.clone()));
        // An object without an apiVersion keeps none.
        if api.is_empty() {
            r.obj.shift_remove("apiVersion");
        } else {
            r.obj.insert("apiVersion".into(), Value::String(api));
        }
    }
    if wipes_bookkeeping {
        r.forget_history();
    } else if allow_name || allow_kind {
        // A patch that may rename remembers the id it had, renamed or not, as kubectl does.
        store_previous_id(r, before.clone());
    } else {
        note_rename(r, before.clone());
    }
    if allow_kind {
        note_kind_change(r, &kind, &before);
    }
    // The patch wrote shared values in place before the next patch reads them.
    r.sync_aliases();
    Ok(false)
}

/// What in an object and a patch kubectl would merge otherwise than this engine, or
/// fail on: unknown directives where its walk reads them, values it cannot merge, schema
/// fields out of place, merge keys written in a form of their own.
fn merge_problem(
    (object_texts, object): (&PatchTexts, &Value),
    (texts, patch): (&PatchTexts, &Value),
    builtin: Schema<'_>,
    deletes: bool,
) -> Option<String> {
    if let (false, Value::Object(p)) = (deletes, patch) {
        let problem = unknown_directive(Some(object), patch, builtin, &mut Vec::new())
            .or_else(|| unmergeable(object.as_object(), p, builtin, &mut Vec::new()));
        if problem.is_some() {
            return problem;
        }
    }
    if !deletes && !matches!(builtin, Schema::Unknown) {
        let problem = misplaced(object, builtin).or_else(|| misplaced(patch, builtin));
        if problem.is_some() {
            return problem;
        }
    }
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        return None;
    }
    odd_merge_key((object_texts, object), (texts, patch))
        .or_else(|| odd_merge_key((texts, patch), (object_texts, object)))
}

/// A comment holding a JSON object on a map or list of the object or the patch: kubectl
/// reads it as that field's schema in its merge walk (`containers: # {"$kpt-set": "c"}`
/// makes the containers a list it replaces; a map's fields lose theirs), which this
/// engine does not follow.
fn schema_comment(object: Option<&PatchTexts>, patch: &PatchTexts) -> Option<String> {
    let (whose, at) = [("object", object), ("patch", Some(patch))]
        .into_iter()
        .find_map(|(whose, t)| Some((whose, t?.schema_comments.first()?)))?;
    let field = (at.split('/').skip(1))
        .map(|k| k.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".");
    Some(format!(
        "the {whose}'s field {field} has a comment holding a JSON object, which kubectl reads as the field's schema when it merges a patch: not supported (make the comment plain text)"
    ))
}

/// Removes every map entry whose value is null under `v` but those `kept`, as kubectl's
/// merge walk clears them: it walks maps and the elements of lists it merges by key, and
/// takes any other list as it is, nulls inside it too. `at` is where `v` is, as a path
/// with list positions (for `kept`) and as the map keys alone (for the schema).
fn drop_null_fields(
    v: &mut Value,
    at: &mut (Vec<String>, Vec<String>),
    builtin: Schema<'_>,
    kept: &dyn Fn(&[String]) -> bool,
) {
    match v {
        Value::Object(m) => m.retain(|k, x| {
            at.0.push(k.clone());
            at.1.push(k.clone());
            let keep = !x.is_null() || kept(&at.0);
            drop_null_fields(x, at, builtin, kept);
            at.0.pop();
            at.1.pop();
            keep
        }),
        Value::Array(items) => {
            let all: Vec<&Value> = items.iter().collect();
            if merge_key(&at.1, &all, builtin).is_none() {
                return;
            }
            for (i, x) in items.iter_mut().enumerate() {
                at.0.push(i.to_string());
                drop_null_fields(x, at, builtin, kept);
                at.0.pop();
            }
        }
        _ => {}
    }
}

/// Whether a strategic merge patch takes an object's whole annotations map away (nulls,
/// deletes or replaces it, or replaces all of `metadata`). kubectl keeps what it knows of
/// an object's past among those annotations while it builds (earlier ids, name prefixes
/// and suffixes, "this name takes a hash"), so such a patch makes it forget all that.
fn drops_annotations(patch: &Value) -> bool {
    let directive = |v: &Value| v.get("$patch").and_then(Value::as_str).map(str::to_string);
    let Some(meta) = patch.get("metadata") else {
        return false;
    };
    if directive(meta).as_deref() == Some("replace") {
        return true;
    }
    meta.get("annotations").is_some_and(|a| {
        a.is_null() || matches!(directive(a).as_deref(), Some("replace" | "delete"))
    })
}

/// A list element's merge key written as a number in a form of its own (`0x50`) on one
/// side, where the other side has that key with the same number written otherwise:
/// kubectl compares merge keys by their text, which this engine does not keep there.
fn odd_merge_key(
    (texts, doc): (&PatchTexts, &Value),
    (other_texts, other): (&PatchTexts, &Value),
) -> Option<String> {
    const KEYS: &[&str] = &[
        "name",
        "containerPort",
        "port",
        "mountPath",
        "devicePath",
        "ip",
        "type",
        "topologyKey",
        "uid",
    ];
    // Pointers of `key` fields holding `value` anywhere under `v`.
    fn find(v: &Value, key: &str, value: &Value, at: &mut Vec<String>, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    at.push(k.clone());
                    // `8080.0` reads as a float, which the merge still takes for 8080.
                    let same = x == value
                        || matches!((x, value), (Value::Number(a), Value::Number(b))
                            if a.as_f64() == b.as_f64());
                    if k == key && same {
                        out.push(crate::yaml::parse::json_pointer(at));
                    }
                    find(x, key, value, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    at.push(i.to_string());
                    find(x, key, value, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    texts.plain.iter().find_map(|(pointer, text)| {
        let mut segs = pointer.rsplit('/');
        let (key, index) = (segs.next()?, segs.next()?);
        if !KEYS.contains(&key) || index.parse::<usize>().is_err() {
            return None;
        }
        let value = doc.pointer(pointer)?;
        if !matches!(value, Value::Number(_) | Value::Bool(_)) {
            return None;
        }
        let mut twins = Vec::new();
        find(other, key, value, &mut Vec::new(), &mut twins);
        twins
            .iter()
            .any(|p| other_texts.plain.get(p) != Some(text))
            .then(|| {
                format!(
                    "{pointer}: a list element's key written as {text:?} is compared by its text in kubectl, which is not supported; write the number plainly"
                )
            })
    })
}

/// Finds what kubectl refuses to merge: a value whose kind (scalar, list, map) differs
/// from the object's, or a list the patch merges by merge key where an element (of the
/// patch, or of the object's list it merges into) lacks that key (kubectl's result for
/// those is neither a merge nor a replace).
fn unmergeable(
    dst: Option<&Map<String, Value>>,
    patch: &Map<String, Value>,
    builtin: Schema<'_>,
    path: &mut Vec<String>,
) -> Option<String> {
    fn kind(v: &Value) -> &'static str {
        match v {
            Value::Array(_) => "list",
            Value::Object(_) => "map",
            _ => "scalar",
        }
    }
    // A map the patch replaces takes the patch's content whatever the object held, and
    // one it deletes is not walked.
    if matches!(
        patch.get("$patch").and_then(Value::as_str),
        Some("replace" | "delete")
    ) {
        return None;
    }
    for (key, pv) in patch {
        let dv = dst.and_then(|d| d.get(key));
        path.push(key.clone());
        if let Some(dv) = dv.filter(|d| !d.is_null() && !pv.is_null()) {
            if kind(dv) != kind(pv) && !key.starts_with('$') {
                let found = format!(
                    "{}: wrong node kind: the object has a {} where the patch has a {}",
                    path.join("."),
                    kind(dv),
                    kind(pv)
                );
                return Some(found);
            }
        }
        let found = match pv {
            Value::Object(p) => unmergeable(dv.and_then(Value::as_object), p, builtin, path),
            Value::Array(pl) => {
                let dl = dv.and_then(Value::as_array).map(Vec::as_slice);
                keyless_list(dl, pl, dst.is_none(), builtin, path)
            }
            _ => None,
        };
        path.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// [`misplaced_element`] over a whole object or patch; of the bundled schema's lists only
/// the sets (`metadata.finalizers`, `spec.podCIDRs`) can hold a misplaced element, so only
/// those are looked at there.
fn misplaced(v: &Value, builtin: Schema<'_>) -> Option<String> {
    if let Schema::Custom(..) = builtin {
        return misplaced_element(v, builtin, &mut Vec::new());
    }
    [["metadata", "finalizers"], ["spec", "podCIDRs"]]
        .iter()
        .find_map(|[outer, inner]| {
            let list = v.get(outer)?.get(inner)?;
            let mut path = vec![outer.to_string(), inner.to_string()];
            misplaced_element(list, builtin, &mut path)
        })
}

/// What kubectl stops at as it walks an object or a patch: a map or list in a list merged
/// as a set; under a custom schema also a list whose schema it cannot read and a scalar in
/// a list merged by key.
fn misplaced_element(v: &Value, builtin: Schema<'_>, path: &mut Vec<String>) -> Option<String> {
    match v {
        Value::Object(m) => m.iter().find_map(|(k, x)| {
            path.push(k.clone());
            let found = misplaced_element(x, builtin, path);
            path.pop();
            found
        }),
        Value::Array(items) => {
            let keyed = match builtin {
                Schema::Custom(api, root) => {
                    if let Some(problem) = api.list_problem(root, path) {
                        return Some(problem);
                    }
                    api.list_strategy(root, path).key().is_some()
                }
                _ => false,
            };
            let set = is_union(path, builtin);
            let at = path.join(".");
            for item in items {
                let scalar = !item.is_object() && !item.is_array();
                if set && !scalar && !is_bare_directive(item) {
                    return Some(format!(
                        "{at}: wrong node kind: a list merged as a set holds {}",
                        super::fieldspec::kind_name(item)
                    ));
                }
                if keyed && scalar && !item.is_null() {
                    return Some(format!(
                        "{at}: wrong node kind: a list merged by key holds a scalar"
                    ));
                }
                if let Some(found) = misplaced_element(item, builtin, path) {
                    return Some(found);
                }
            }
            None
        }
        _ => None,
    }
}

/// `dst` is the object's list, `None` where the patch adds one; `parent_new`: the map
/// holding the list is new to the object too.
fn keyless_list(
    dst: Option<&[Value]>,
    patch: &[Value],
    parent_new: bool,
    builtin: Schema<'_>,
    path: &mut Vec<String>,
) -> Option<String> {
    let key = merge_key(path, &[], builtin)?;
    let unsupported = |what: &str| {
        Some(format!(
            "{}: {what} in a list merged by key {key:?} is not supported",
            path.join(".")
        ))
    };
    let dst = match dst {
        Some(dst) => dst,
        None => {
            // kubectl keeps a list that is only one directive as data; beside other
            // elements its result is neither a merge nor that data, but in a new map,
            // where it merges into nothing, a replace or merge leaves the others.
            let carried = |v: &Value| {
                parent_new
                    && is_bare_directive(v)
                    && matches!(
                        v.get("$patch").and_then(Value::as_str),
                        Some("replace" | "merge")
                    )
            };
            let odd = |v: &Value| (!v.is_object() || is_bare_directive(v)) && !carried(v);
            if patch.len() > 1 && patch.iter().any(odd) && !patch.iter().all(Value::is_null) {
                return unsupported("a null, scalar or directive-only element beside others");
            }
            &[]
        }
    };
    let bare = |d: &str| {
        patch
            .iter()
            .any(|v| is_bare_directive(v) && v.get("$patch").and_then(Value::as_str) == Some(d))
    };
    let loose = patch.iter().filter(|v| !v.is_object()).count();
    let objects = patch.len() - loose;
    if bare("delete") && bare("replace") {
        return unsupported("`$patch: replace` and `$patch: delete` elements together");
    }
    // kubectl's answer for a directive-only element beside an element replaced on its own
    // follows neither directive.
    let own_replace = |v: &Value| {
        v.get("$patch").and_then(Value::as_str) == Some("replace") && !is_bare_directive(v)
    };
    if patch.iter().any(is_bare_directive) && patch.iter().any(own_replace) {
        return unsupported(
            "a directive-only element beside an element with its own `$patch: replace`",
        );
    }
    if !bare("delete") && loose > 0 && objects > 0 {
        return unsupported("a null or scalar element beside maps");
    }
    for p in patch.iter().filter_map(Value::as_object) {
        let Some(kv) = p.get(&key) else { continue };
        let twin = dst
            .iter()
            .filter_map(Value::as_object)
            .find(|d| d.get(&key).is_some_and(|dk| same_key(dk, kv)));
        if let Some(found) = unmergeable(twin, p, builtin, path) {
            return Some(found);
        }
    }
    None
}

/// Where a strategic merge takes merge keys from, for one object.
#[derive(Clone, Copy)]
pub(crate) enum Schema<'a> {
    /// No schema knows the kind: lists are replaced whole.
    Unknown,
    /// kubectl's bundled schema knows the kind (see `BUNDLED_SCHEMA`).
    Bundled(&'a Gvk),
    /// The custom schema's definition of the kind.
    Custom(&'a OpenApi, &'a Value),
}

/// The schema of objects of type `g` (written as `api_version`): the custom one's, when
/// the build has one, else (or also, see [`Active`]) the bundled one's.
fn schema_of<'a>(active: &'a Active, api_version: &str, g: &'a Gvk) -> Schema<'a> {
    if let Some(root) = active
        .custom()
        .and_then(|api| Some((api, api.kind(api_version, &g.kind)?)))
    {
        return Schema::Custom(root.0, root.1);
    }
    if active.has_bundled() && bundled_knows(g) {
        Schema::Bundled(g)
    } else {
        Schema::Unknown
    }
}

/// Whether kubectl's bundled schema knows objects of type `g`.
pub(crate) fn bundled_knows(g: &Gvk) -> bool {
    bundled_knows_gvk(&g.group, &g.version, &g.kind)
}

/// [`bundled_knows`] by group, version and kind.
pub(crate) fn bundled_knows_gvk(group: &str, version: &str, kind: &str) -> bool {
    BUNDLED_SCHEMA.iter().any(|(g, versions, kinds)| {
        *g == group && versions.contains(&version) && kinds.contains(&kind)
    })
}

/// The kinds kubectl's bundled schema knows, by group and API version (Kubernetes 1.21
/// as kustomize bundles it): only these merge lists by key; any other kind, a later
/// version among them, replaces lists whole.
const BUNDLED_SCHEMA: &[(&str, &[&str], &[&str])] = &[
    (
        "",
        &["v1"],
        &[
            "Binding",
            "ComponentStatus",
            "ConfigMap",
            "Endpoints",
            "Event",
            "LimitRange",
            "Namespace",
            "Node",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "Pod",
            "PodTemplate",
            "ReplicationController",
            "ResourceQuota",
            "Secret",
            "Service",
            "ServiceAccount",
        ],
    ),
    (
        "apps",
        &["v1"],
        &[
            "ControllerRevision",
            "DaemonSet",
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
        ],
    ),
    (
        "autoscaling",
        &["v1"],
        &["HorizontalPodAutoscaler", "Scale"],
    ),
    (
        "autoscaling",
        &["v2beta1", "v2beta2"],
        &["HorizontalPodAutoscaler"],
    ),
    ("batch", &["v1"], &["CronJob", "Job"]),
    ("batch", &["v1beta1"], &["CronJob"]),
    ("policy", &["v1"], &["Eviction", "PodDisruptionBudget"]),
    (
        "policy",
        &["v1beta1"],
        &["Eviction", "PodDisruptionBudget", "PodSecurityPolicy"],
    ),
    (
        "networking.k8s.io",
        &["v1"],
        &["Ingress", "IngressClass", "NetworkPolicy"],
    ),
    (
        "networking.k8s.io",
        &["v1beta1"],
        &["Ingress", "IngressClass"],
    ),
    ("extensions", &["v1beta1"], &["Ingress"]),
    (
        "rbac.authorization.k8s.io",
        &["v1", "v1beta1"],
        &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
    ),
    (
        "storage.k8s.io",
        &["v1"],
        &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"],
    ),
    (
        "storage.k8s.io",
        &["v1beta1"],
        &[
            "CSIDriver",
            "CSINode",
            "CSIStorageCapacity",
            "StorageClass",
            "VolumeAttachment",
        ],
    ),
    (
        "admissionregistration.k8s.io",
        &["v1", "v1beta1"],
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ],
    ),
    (
        "apiextensions.k8s.io",
        &["v1", "v1beta1"],
        &["CustomResourceDefinition"],
    ),
    (
        "apiregistration.k8s.io",
        &["v1", "v1beta1"],
        &["APIService"],
    ),
    ("coordination.k8s.io", &["v1", "v1beta1"], &["Lease"]),
    ("discovery.k8s.io", &["v1", "v1beta1"], &["EndpointSlice"]),
    ("events.k8s.io", &["v1", "v1beta1"], &["Event"]),
    ("node.k8s.io", &["v1", "v1beta1"], &["RuntimeClass"]),
    ("scheduling.k8s.io", &["v1", "v1beta1"], &["PriorityClass"]),
    (
        "certificates.k8s.io",
        &["v1", "v1beta1"],
        &["CertificateSigningRequest"],
    ),
    (
        "flowcontrol.apiserver.k8s.io",
        &["v1beta1"],
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
    (
        "authentication.k8s.io",
        &["v1", "v1beta1"],
        &["TokenReview"],
    ),
    ("authentication.k8s.io", &["v1"], &["TokenRequest"]),
    (
        "authorization.k8s.io",
        &["v1", "v1beta1"],
        &[
            "LocalSubjectAccessReview",
            "SelfSubjectAccessReview",
            "SelfSubjectRulesReview",
            "SubjectAccessReview",
        ],
    ),
];

/// Strategic merge of `patch` into `dst`. Returns true when the patch deletes `dst`.
fn merge(dst: &mut Value, patch: &Value, builtin: Schema<'_>, path: &mut Vec<String>) -> bool {
    let Value::Object(p) = patch else {
        *dst = patch.clone();
        return false;
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("delete") => return true,
        Some("replace") => {
            let mut clean = p.clone();
            clean.remove("$patch");
            *dst = added(Value::Object(clean), builtin, path, true).unwrap_or_default();
            return false;
        }
        _ => {}
    }
    if !dst.is_object() {
        *dst = Value::Object(Map::new());
    }
    let Value::Object(d) = dst else { return false };
    // kubectl's kustomize (kyaml) treats `$retainKeys`, `$setElementOrder/...` and
    // `$deleteFromPrimitiveList/...` as ordinary fields, so they are merged as such.
    for (key, pv) in p {
        if key == "$patch" {
            continue;
        }
        if pv.is_null() {
            d.remove(key);
            continue;
        }
        path.push(key.clone());
        match (d.get_mut(key), pv) {
            (Some(dv @ Value::Object(_)), Value::Object(_)) => {
                if merge(dv, pv, builtin, path) {
                    d.remove(key);
                }
            }
            (Some(Value::Array(dl)), Value::Array(pl)) => {
                if merge_list(dl, pl, builtin, path) {
                    d.remove(key);
                }
            }
            // A scalar patched onto a quoted one takes its style (see `texts::carry`).
            (_, _) => {
                if let Some(v) = added(pv.clone(), builtin, path, false) {
                    d.insert(key.clone(), v);
                }
            }
        }
        path.pop();
    }
    // kubectl walks the parts of the object the patch does not mention too.
    for (key, dv) in d.iter_mut().filter(|(k, _)| !p.contains_key(*k)) {
        path.push(key.clone());
        collapse_repeated_keys(dv, builtin, path);
        path.pop();
    }
    false
}

/// kubectl walks the whole object when it merges a patch, the parts the patch does not
/// mention too: sets of scalars come out of that walk with each value once, and lists
/// merged by key as `keyed` merges them with no patch (one element per key value, where
/// the first of them was, holding the last of them unwalked).
fn collapse_repeated_keys(v: &mut Value, builtin: Schema<'_>, path: &mut Vec<String>) {
    match v {
        // A list merged as a set holds each value once.
        Value::Array(items) if is_union(path, builtin) => {
            let mut seen: Vec<Value> = Vec::with_capacity(items.len());
            items.retain(|x| {
                let new = !seen.contains(x);
                if new {
                    seen.push(x.clone());
                }
                new
            });
        }
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                path.push(k.clone());
                collapse_repeated_keys(x, builtin, path);
                path.pop();
            }
        }
        Value::Array(items) => {
            let all: Vec<&Value> = items.iter().collect();
            if let Some(key) = merge_key(path, &all, builtin) {
                let list = std::mem::take(items);
                let keys = list_keys(&key, path, builtin);
                *items = keyed::merge_on_keys(Some(list), None, &keys, builtin, path);
            }
        }
        _ => {}
    }
}

/// Content a patch adds where the object has none (at `path`), as kubectl adds it: nulls
/// in maps are left out, a map marked `$patch: delete` is no content, and other
/// directives are dropped. A list without a merge key is taken as it is written.
///
/// `parent_new`: whether the map holding `v` is new to the object too. A lone directive
/// element in a list merged by key is data where the map holding the list exists; in a
/// new map kubectl carries it out (a delete takes the list away, others leave it empty),
/// as it carries out a delete among the elements of a set.
fn added(v: Value, builtin: Schema<'_>, path: &mut Vec<String>, parent_new: bool) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.get("$patch").and_then(Value::as_str) == Some("delete") {
                return None;
            }
            let mut out = Map::new();
            for (k, x) in m {
                // A directive is no data; an unknown `$patch` value in a map the patch
                // adds is (deeper ones fail in `unknown_directive`).
                if (k == "$patch" && known_directive(&x)) || x.is_null() {
                    continue;
                }
                path.push(k.clone());
                let x = added(x, builtin, path, true);
                path.pop();
                if let Some(x) = x {
                    out.insert(k, x);
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(mut items) => {
            if !is_union(path, builtin) && merge_key(path, &[], builtin).is_some() {
                // Of a list kubectl would merge by key, nulls are nothing and a lone
                // directive is data.
                if !items.is_empty() && items.iter().all(Value::is_null) {
                    return Some(Value::Array(Vec::new()));
                }
                if let [one] = items.as_slice() {
                    match one.get("$patch").and_then(Value::as_str) {
                        _ if !is_bare_directive(one) => {}
                        Some("delete") if parent_new => return None,
                        _ if parent_new => return Some(Value::Array(Vec::new())),
                        _ => return Some(Value::Array(items)),
                    }
                }
                // In a new map a replace or merge beside others leaves the others.
                if parent_new && items.len() > 1 {
                    items.retain(|i| !is_bare_directive(i));
                }
            }
            // A set of scalars holds each once; a list merged by key is merged into
            // nothing, as kubectl walks the patch's list; any other is taken as written.
            // Directive elements in it are dropped.
            if is_union(path, builtin) {
                // In a new map a delete directive takes the whole set away.
                let deletes = |i: &Value| {
                    is_bare_directive(i)
                        && i.get("$patch").and_then(Value::as_str) == Some("delete")
                };
                if parent_new && items.iter().any(deletes) {
                    return None;
                }
                let items: Vec<Value> = items
                    .into_iter()
                    .filter(|i| !is_bare_directive(i))
                    .collect();
                let mut out = Vec::new();
                merge_list(&mut out, &items, builtin, path);
                return Some(Value::Array(out));
            }
            let all: Vec<&Value> = items.iter().collect();
            match merge_key(path, &all, builtin) {
                Some(key) => {
                    let keys = list_keys(&key, path, builtin);
                    let list = keyed::merge_on_keys(None, Some(items), &keys, builtin, path);
                    Some(Value::Array(list))
                }
                None => Some(Value::Array(items)),
            }
        }
        other => Some(other),
    }
}

/// Whether a `$patch` value is one of the directives: `delete`, `replace` and `merge`.
fn known_directive(d: &Value) -> bool {
    matches!(d.as_str(), Some("delete" | "replace" | "merge"))
}

/// The first `$patch` value none of the directives where kubectl's merge walk reads it as
/// a directive, and so refuses it (the message): on a map the object has too, a bare element of a list merged
/// by key, and anywhere below a map or list the patch adds (kubectl walks added content
/// again as its own object). A map the patch adds keeps it as data, and so does a list
/// kubectl does not merge by key. `dst` is the object's value there (`None` if it has none).
fn unknown_directive(
    dst: Option<&Value>,
    patch: &Value,
    builtin: Schema<'_>,
    path: &mut Vec<String>,
) -> Option<String> {
    let shown = |d: &Value| {
        crate::yaml::emit::scalar_text(d)
            .or_else(|| d.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let unknown = |path: &[String], d: &Value| {
        let at = match path {
            [] => String::new(),
            path => format!("{}: ", path.join(".")),
        };
        format!(
            "{at}unknown patch strategy {:?}: use delete, replace or merge",
            shown(d)
        )
    };
    let dst = dst.filter(|d| !d.is_null());
    match patch {
        Value::Object(m) => {
            if let Some(d) = m.get("$patch") {
                if dst.is_some() && !known_directive(d) {
                    return Some(unknown(path, d));
                }
                // A deleted map is not walked.
                if dst.is_some() && d.as_str() == Some("delete") {
                    return None;
                }
            }
            m.iter().filter(|(k, _)| *k != "$patch").find_map(|(k, v)| {
                // Below added content the patch's own value is the object's.
                let inner = match dst {
                    Some(d) => d.get(k),
                    None => Some(v),
                };
                path.push(k.clone());
                let found = unknown_directive(inner, v, builtin, path);
                path.pop();
                found
            })
        }
        Value::Array(items) => {
            if is_union(path, builtin) {
                return None;
            }
            let object_items = dst.and_then(Value::as_array).map(Vec::as_slice);
            let all: Vec<&Value> = object_items
                .unwrap_or_default()
                .iter()
                .chain(items)
                .collect();
            let key = merge_key(path, &all, builtin)?;
            items.iter().find_map(|item| {
                if is_bare_directive(item) {
                    let d = item.get("$patch").filter(|d| !known_directive(d))?;
                    // In a list the patch adds, kubectl keeps such an element alone.
                    return Some(match dst {
                        Some(_) => unknown(path, d),
                        None => format!(
                            "{}: an unknown `$patch` value {:?} as an element of a list the patch adds is not supported",
                            path.join("."),
                            shown(d)
                        ),
                    });
                }
                let inner = match dst {
                    Some(_) => item.get(&key).and_then(|k| {
                        object_items
                            .unwrap_or_default()
                            .iter()
                            .find(|o| o.get(&key).is_some_and(|ok| same_key(ok, k)))
                    }),
                    None => Some(item),
                };
                unknown_directive(inner, item, builtin, path)
            })
        }
        _ => None,
    }
}

/// The merge key of a list field, if the list merges rather than replaces.
fn merge_key(path: &[String], items: &[&Value], builtin: Schema<'_>) -> Option<String> {
    let field = path.last()?.as_str();
    // Without a schema kyaml replaces lists of custom resources wholesale, and a list of
    // scalars where the schema expects maps (PodSecurityPolicy `volumes`) too.
    if !items.is_empty() && items.iter().all(|v| !v.is_object()) {
        return None;
    }
    let gvk = match builtin {
        Schema::Unknown => return None,
        Schema::Custom(api, root) => {
            return api.list_strategy(root, path).key().map(str::to_string);
        }
        Schema::Bundled(gvk) => gvk,
    };
    let (group, kind) = (gvk.group.as_str(), gvk.kind.as_str());
    if !in_bundled_schema(kind, path) {
        return None;
    }
    let in_pod = path.iter().any(|p| p.ends_with("ontainers"));
    let key = match field {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" => "name",
        "imagePullSecrets" if kind != "ServiceAccount" => "name",
        "secrets" if kind == "ServiceAccount" => "name",
        "webhooks" if group == "admissionregistration.k8s.io" => "name",
        "drivers" if kind == "CSINode" => "name",
        "ports" if in_pod => "containerPort",
        "ports" if kind == "Service" => "port",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "podIPs" if kind == "Pod" => "ip",
        "addresses" if kind == "Node" => "type",
        "topologySpreadConstraints" => "topologyKey",
        "conditions"
            if matches!(
                group,
                "" | "apps" | "batch" | "policy" | "apiregistration.k8s.io"
            ) =>
        {
            "type"
        }
        "ownerReferences" => "uid",
        _ => return None,
    };
    Some(key.into())
}

/// Whether a list field at `path` (map keys from the object's root) is where the bundled
/// schema of `kind` has it: kubectl merges a list by key only there, and replaces one at
/// any other path (`spec.template.spec.containers` of a Service) as data.
fn in_bundled_schema(kind: &str, path: &[String]) -> bool {
    let Some((field, parent)) = path.split_last() else {
        return false;
    };
    let at = |want: &[&str]| parent.iter().map(String::as_str).eq(want.iter().copied());
    let pod = super::fieldspec::pod_spec_path(kind);
    let at_pod =
        |keys: &[String]| pod.is_some_and(|p| keys.iter().map(String::as_str).eq(p.split('/')));
    let in_container = || {
        parent.split_last().is_some_and(|(list, above)| {
            matches!(
                list.as_str(),
                "containers" | "initContainers" | "ephemeralContainers"
            ) && at_pod(above)
        })
    };
    match field.as_str() {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "hostAliases"
        | "topologySpreadConstraints" => at_pod(parent),
        "imagePullSecrets" if kind == "ServiceAccount" => at(&[]),
        "imagePullSecrets" => at_pod(parent),
        "env" | "volumeMounts" | "volumeDevices" => in_container(),
        "ports" if kind == "Service" => at(&["spec"]),
        "ports" => in_container(),
        "secrets" | "webhooks" => at(&[]),
        "drivers" => at(&["spec"]),
        "addresses" | "podIPs" => at(&["status"]),
        "conditions" => at(&["status"]) || at(&[]),
        "ownerReferences" => parent.last().is_some_and(|p| p == "metadata"),
        _ => true,
    }
}

/// Keys that, with the merge key, identify an element of a list kubectl merges on
/// several keys.
fn secondary_keys<'a>(path: &[String], builtin: Schema<'a>) -> Vec<&'a str> {
    match (builtin, path.last().map(String::as_str)) {
        (Schema::Custom(api, root), _) => {
            let strategy = api.list_strategy(root, path);
            match strategy.key() {
                Some(_) => strategy.keys[1..].to_vec(),
                None => Vec::new(),
            }
        }
        (Schema::Bundled(_), Some("ports")) => vec!["protocol"],
        (Schema::Bundled(_), Some("topologySpreadConstraints")) => vec!["whenUnsatisfiable"],
        _ => Vec::new(),
    }
}

/// The keys of a list merged by key: its merge key, then any others that identify an
/// element with it.
fn list_keys<'a>(key: &'a str, path: &[String], builtin: Schema<'a>) -> Vec<&'a str> {
    std::iter::once(key)
        .chain(secondary_keys(path, builtin))
        .collect()
}

/// Whether two merge key values are the same: kubectl compares their text, so `"80"`
/// and `80` are one key.
fn same_key(a: &Value, b: &Value) -> bool {
    use crate::yaml::emit::value_text;
    match (value_text(a), value_text(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// A list element that is only `$patch: replace`: the list replaces the object's.
fn is_replace_directive(v: &Value) -> bool {
    v.get("$patch").and_then(Value::as_str) == Some("replace")
        && v.as_object().is_some_and(|m| m.len() == 1)
}

/// Whether the list at `path` is a list of scalars the schema merges as a set.
fn is_union(path: &[String], builtin: Schema<'_>) -> bool {
    let field = path.last().map(String::as_str).unwrap_or_default();
    match (builtin, path.first().map(String::as_str)) {
        (Schema::Custom(api, root), _) => api.list_strategy(root, path).is_set(),
        (Schema::Bundled(g), Some("metadata")) => {
            field == "finalizers" && path.len() == 2 && !g.kind.is_empty()
        }
        // A pod template's metadata is object metadata too.
        (Schema::Bundled(g), Some(_)) if field == "finalizers" => {
            super::fieldspec::pod_spec_path(&g.kind)
                .and_then(|pod| pod.strip_suffix("/spec"))
                .is_some_and(|template| {
                    let (_, parent) = path.split_last().unwrap_or((&String::new(), &[]));
                    parent.split_last().is_some_and(|(meta, above)| {
                        meta == "metadata"
                            && above.iter().map(String::as_str).eq(template.split('/'))
                    })
                })
        }
        (Schema::Bundled(g), Some("spec")) => field == "podCIDRs" && g.kind == "Node",
        _ => false,
    }
}

/// An element that is nothing but a `$patch` directive.
fn is_bare_directive(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| !m.is_empty() && m.keys().all(|k| k == "$patch"))
}

/// Merges a patch's list into the object's; returns true when the patch takes the whole
/// field away (a lone `$patch: delete` element among a list merged by key does, in kubectl).
fn merge_list(
    dst: &mut Vec<Value>,
    patch: &[Value],
    builtin: Schema<'_>,
    path: &mut Vec<String>,
) -> bool {
    // Lists of scalars the schema merges (a set union, the patch's items first).
    if is_union(path, builtin) {
        // A directive element acts on the whole list: a delete takes it away, a replace
        // leaves the patch's items alone, a merge is the merge.
        let directive = |d: &str| {
            patch
                .iter()
                .any(|v| is_bare_directive(v) && v.get("$patch").and_then(Value::as_str) == Some(d))
        };
        if directive("delete") {
            return true;
        }
        if directive("replace") {
            dst.clear();
        }
        // The patch's items first, then the original items it does not repeat.
        let mut out: Vec<Value> = Vec::new();
        for v in patch
            .iter()
            .filter(|v| !is_bare_directive(v))
            .chain(dst.iter())
        {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        *dst = out;
        return false;
    }
    if !patch.is_empty() && merge_key(path, &[], builtin).is_some() {
        if patch.iter().all(Value::is_null) {
            dst.clear();
            return false;
        }
        let bare = |v: &Value, d: &str| {
            is_bare_directive(v) && v.get("$patch").and_then(Value::as_str) == Some(d)
        };
        if patch.iter().any(|v| bare(v, "delete")) {
            return true;
        }
        if patch.iter().any(|v| bare(v, "merge")) {
            let rest: Vec<Value> = patch
                .iter()
                .filter(|v| !bare(v, "merge"))
                .cloned()
                .collect();
            return merge_list(dst, &rest, builtin, path);
        }
    }
    let all: Vec<&Value> = dst
        .iter()
        .chain(patch.iter().filter(|p| p.get("$patch").is_none()))
        .collect();
    // A list without a merge key is replaced by the patch's list as it is written
    // (directive elements too: kubectl keeps them as data).
    let Some(key) = merge_key(path, &all, builtin) else {
        *dst = patch.to_vec();
        return false;
    };
    // A `$patch: replace` element anywhere makes the patch's elements the whole list; when
    // an element with its own `$patch` comes before it, kubectl still merges the patch's
    // elements with theirs.
    let mut replaced = false;
    if patch.iter().any(is_replace_directive) {
        let first_directive = patch.iter().find(|p| p.get("$patch").is_some());
        replaced = first_directive.is_none_or(is_replace_directive);
        match merge_key(path, &[], builtin) {
            Some(key) if !first_directive.is_some_and(is_replace_directive) => {
                dst.retain(|d| {
                    d.get(&key).is_some_and(|dk| {
                        patch
                            .iter()
                            .filter(|p| {
                                !is_bare_directive(p)
                                    && p.get("$patch").and_then(Value::as_str) != Some("delete")
                            })
                            .any(|p| p.get(&key).is_some_and(|pk| same_key(pk, dk)))
                    })
                });
            }
            _ => dst.clear(),
        }
    }
    let keys = list_keys(&key, path, builtin);
    let list = std::mem::take(dst);
    let patch: Vec<Value> = patch
        .iter()
        .filter(|p| !is_replace_directive(p))
        .cloned()
        .collect();
    let same = |a: &Value, b: &Value| {
        keys.iter().all(|k| match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => same_key(x, y),
            (x, y) => x.is_none() && y.is_none(),
        })
    };
    // Where the patch's elements replace the list, kubectl's walk of the list keeps one
    // element per key where the first was, holding the last one as written.
    let repeated: Vec<&Value> = match replaced && list.is_empty() {
        true => (patch.iter().enumerate())
            .filter(|(i, p)| p.get(&key).is_some() && patch[..*i].iter().any(|q| same(p, q)))
            .map(|(_, p)| p)
            .collect(),
        false => Vec::new(),
    };
    let last: Vec<Value> = (repeated.iter().enumerate())
        .filter(|(i, p)| !repeated[i + 1..].iter().any(|q| same(p, q)))
        .map(|(_, p)| (*p).clone())
        .collect();
    *dst = keyed::merge_on_keys(Some(list), Some(patch), &keys, builtin, path);
    for element in dst.iter_mut() {
        if let Some(last) = last.iter().find(|l| same(l, element)) {
            element.clone_from(last);
        }
    }
    false
}

pub(crate) fn patches_field(
    fsys: &dyn FileSystem,
    k: &Kustomization,
    acc: &mut Vec<Resource>,
    ctx: &Ctx<'_>,
) -> Result<()> {
    let by = ctx.by(k, "PatchTransformer");
    for (i, p) in k
        .obj_list("patches", &["path", "patch", "target", "options"])?
        .into_iter()
        .enumerate()
    {
        ctx.entry.set(i);
        // kubectl trims an inline patch before reading it (a last block scalar loses its
        // line break with it); blank text is no patch text.
        let inline = p
            .get("patch")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let path = p
            .get("path")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty());
        let (text, origin) = match (inline, path) {
            (Some(t), None) => (t.to_string(), format!("{} (patches)", k.file)),
            (None, Some(path)) => patch_text(fsys, k, "patches", path)?,
            _ => {
                return Err(k.field_err("patches", "each patch needs exactly one of path and patch"))
            }
        };
        // Options are a map of flags: keys match exactly, unknown ones are ignored.
        let opts = match p.get("options") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(o)) => o.clone(),
            Some(_) => return Err(k.field_err("patches.options", "expected a mapping")),
        };
        for (key, v) in &opts {
            if !v.is_boolean() && !v.is_null() {
                return Err(
                    k.field_err("patches.options", format!("{key}: expected true or false"))
                );
            }
        }
        let flag = |key: &str| opts.get(key).and_then(Value::as_bool).unwrap_or(false);
        let allow_name = flag("allowNameChange");
        let allow_kind = flag("allowKindChange");
        // kubectl tries a JSON 6902 reading first (through go-yaml v2, which takes a
        // number as a map key): a list of operations the strategic merge reading cannot
        // take is still one.
        let PatchDocs {
            docs,
            texts,
            leading_empty,
            emptied,
        } = match parse_docs(&text, &origin) {
            Ok(parsed) => parsed,
            Err(e) => match parse_ops(&text, &origin) {
                Ok(ops) if ops.docs.first().is_some_and(Value::is_array) => ops,
                _ => return Err(e),
            },
        };
        // An empty first document reads (for kubectl) as an empty JSON 6902 patch: nothing
        // to do when the rest is a list of operations, ambiguous when it is an object.
        if leading_empty && !docs.is_empty() {
            if docs.len() == 1 && docs[0].is_array() {
                continue;
            }
            return Err(k.field_err(
                "patches",
                "reads as both a strategic merge patch and an (empty) JSON 6902 patch: its first document is empty",
            ));
        }
        let target = match p.get("target") {
            Some(t) if !t.is_null() => {
                Some(Target::parse(t).map_err(|e| k.field_err("patches.target", e))?)
            }
            _ => None,
        };
        // Nothing at all reads as an empty JSON 6902 patch; blank lines, comments or
        // separators read as both kinds of patch.
        if docs.is_empty() {
            // Documents that hold nothing fail only where the patch applies to an object.
            let applies = !emptied
                || target
                    .as_ref()
                    .is_none_or(|t| acc.iter().any(|r| t.matches(r)));
            if !text.is_empty() && applies {
                return Err(k.field_err(
                    "patches",
                    format!(
                        "{} holds no patch (it reads as both a strategic merge and a JSON 6902 patch)",
                        which(k, &origin)
                    ),
                ));
            }
            if target.is_none() {
                return Err(k.field_err(
                    "patches",
                    format!(
                        "{origin}: an empty file reads as a JSON 6902 patch, which needs a target"
                    ),
                ));
            }
            continue;
        }
        // A first document that is a list makes a JSON 6902 patch, of that document only,
        // as kubectl reads it.
        let is_json6902 = docs[0].is_array();
        if docs.len() == 1 && docs[0].as_array().is_some_and(Vec::is_empty) {
            return Err(k.field_err(
                "patches",
                "an empty list reads as both a strategic merge and a JSON 6902 patch",
            ));
        }
        if target.is_some() && docs.len() > 1 && !is_json6902 {
            return Err(k.field_err(
                "patches",
                "an entry with a target may hold one strategic merge patch, not several",
            ));
        }
        if is_json6902 {
            let Some(target) = target else {
                return Err(k.field_err("patches", "a JSON 6902 patch needs a target"));
            };
            let ops = match parse_ops(&text, &origin)?.docs.into_iter().next() {
                Some(Value::Array(ops)) => ops,
                _ => docs[0].as_array().cloned().unwrap_or_default(),
            };
            for r in acc.iter_mut().filter(|r| target.matches(r)) {
                json6902(r, &ops, false, (ctx, &by))
                    .map_err(|e| k.field_err("patches", format!("{}: {e}", r.describe())))?;
            }
            continue;
        }
        for (doc, texts) in docs.iter().zip(&texts) {
            check_smp_doc(k, "patches", doc)?;
            let patch = (doc, texts);
            match &target {
                None => apply_smp_by_id(
                    k,
                    "patches",
                    acc,
                    patch,
                    (allow_name, allow_kind),
                    (ctx, &by),
                )?,
                Some(t) => {
                    let (as_strings, texts) = metadata_as_strings(doc, texts);
                    let (doc, texts) = (as_strings.as_ref(), texts.as_ref());
                    let mut i = 0;
                    while i < acc.len() {
                        if !t.matches(&acc[i]) {
                            i += 1;
                            continue;
                        }
                        // kubectl merges a copy of the patch that has the object's
                        // apiVersion (and the patch's kind).
                        let doc = match doc {
                            Value::Object(m) if allow_kind => {
                                let mut m = m.clone();
                                let api = acc[i].api_version().to_string();
                                m.insert("apiVersion".into(), Value::String(api));
                                std::borrow::Cow::Owned(Value::Object(m))
                            }
                            _ => std::borrow::Cow::Borrowed(doc),
                        };
                        let no_api_version = !acc[i].obj.contains_key("apiVersion");
                        let deleted = smp_resource(
                            &mut acc[i],
                            (&doc, texts),
                            (allow_name, allow_kind),
                            (ctx, &by),
                        )
                        .map_err(|e| {
                            k.field_err("patches", format!("{}: {e}", acc[i].describe()))
                        })?;
                        if deleted {
                            acc.remove(i);
                        } else {
                            // The copy's apiVersion is the object's: none, written as null.
                            if no_api_version {
                                acc[i].obj.insert("apiVersion".into(), Value::Null);
                            }
                            i += 1;
                        }
                    }
                    // kubectl sets the objects a targeted patch merged into back into its
                    // list one by one, so two that this patch left with one id fail at
                    // once, whatever a later patch does.
                    super::unique_ids(k, acc, "patches")?;
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn json6902_field(
    fsys: &dyn FileSystem,
    k: &Kustomization,
    acc: &mut [Resource],
    ctx: &Ctx<'_>,
) -> Result<()> {
    let by = ctx.by(k, "PatchJson6902Transformer");
    for (i, p) in k
        .obj_list("patchesJson6902", &["path", "patch", "target", "options"])?
        .into_iter()
        .enumerate()
    {
        ctx.entry.set(i);
        let given = |key: &str| p.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
        let (text, origin) = match (given("patch"), given("path")) {
            (Some(t), None) => (t.to_string(), format!("{} (patchesJson6902)", k.file)),
            (None, Some(path)) => patch_text(fsys, k, "patchesJson6902", path)?,
            _ => {
                return Err(k.field_err(
                    "patchesJson6902",
                    "each patch needs exactly one of path and patch",
                ))
            }
        };
        let target = Target::parse(p.get("target").unwrap_or(&Value::Null))
            .map_err(|e| k.field_err("patchesJson6902.target", e))?;
        if target.name.is_none() {
            return Err(k.field_err("patchesJson6902.target", "must specify the target name"));
        }
        let PatchDocs {
            docs,
            leading_empty,
            ..
        } = parse_ops(&text, &origin)?;
        if leading_empty {
            return Err(k.field_err(
                "patchesJson6902",
                "the patch is empty: its first document is empty",
            ));
        }
        let ops = match docs.as_slice() {
            // kubectl refuses a patch without operations when it reads the configuration.
            [Value::Array(ops), ..] if ops.is_empty() => {
                return Err(k.field_err(
                    "patchesJson6902",
                    format!("{} appears to be empty", which(k, &origin)),
                ))
            }
            [Value::Array(ops), ..] => ops.clone(),
            [] => {
                return Err(
                    k.field_err("patchesJson6902", format!("{} is empty", which(k, &origin)))
                )
            }
            _ => {
                return Err(k.field_err(
                    "patchesJson6902",
                    "a JSON 6902 patch must be a list of operations",
                ))
            }
        };
        for r in acc.iter_mut().filter(|r| target.matches(r)) {
            json6902(r, &ops, true, (ctx, &by))
                .map_err(|e| k.field_err("patchesJson6902", format!("{}: {e}", r.describe())))?;
        }
    }
    Ok(())
}

pub(crate) struct Target {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: LabelSelector,
    annotations: LabelSelector,
}

impl Target {
    pub(crate) fn parse(v: &Value) -> std::result::Result<Target, String> {
        let m = canonical_object(
            v,
            &[
                "group",
                "version",
                "kind",
                "name",
                "namespace",
                "labelSelector",
                "annotationSelector",
            ],
        )?;
        let s = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let re = |k: &str| -> std::result::Result<Option<Regex>, String> {
            s(k).map(|p| {
                crate::goregex::compile(&format!("^(?:{p})$")).map_err(|e| format!("{k}: {e}"))
            })
            .transpose()
        };
        Ok(Target {
            group: re("group")?,
            version: re("version")?,
            kind: re("kind")?,
            name: re("name")?,
            namespace: re("namespace")?,
            labels: LabelSelector::parse(&s("labelSelector").unwrap_or_default())?,
            annotations: LabelSelector::parse(&s("annotationSelector").unwrap_or_default())?,
        })
    }

    pub(crate) fn matches(&self, r: &Resource) -> bool {
        let g = r.gvk();
        // A namespaced object without a namespace is in `default`; the object's original
        // namespace counts as well as its current one.
        let cluster = self.namespace.is_some() && crate::scope::kustomize_cluster_scoped(&g);
        fn effective(ns: &str, cluster: bool) -> &str {
            match ns {
                "" if !cluster => "default",
                ns => ns,
            }
        }
        let in_namespace = |re: &Regex| {
            re.is_match(effective(r.namespace(), cluster))
                || re.is_match(effective(&r.orig_namespace, cluster))
        };
        self.group.as_ref().is_none_or(|re| re.is_match(&g.group))
            && self
                .version
                .as_ref()
                .is_none_or(|re| re.is_match(&g.version))
            && self.kind.as_ref().is_none_or(|re| re.is_match(&g.kind))
            && self
                .name
                .as_ref()
                .is_none_or(|re| re.is_match(r.name()) || re.is_match(&r.orig_name))
            && self.namespace.as_ref().is_none_or(in_namespace)
            && self.labels.matches(r.meta_map("labels"))
            && self.annotations.matches(r.meta_map("annotations"))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Not,
    Eq,
    NotEq,
    Gt,
    Lt,
    Open,
    Close,
    Comma,
}

impl Tok {
    fn show(&self) -> String {
        match self {
            Tok::Ident(t) => format!("'{t}'"),
            Tok::Not => "'!'".into(),
            Tok::Eq => "'='".into(),
            Tok::Gt => "'>'".into(),
            Tok::Lt => "'<'".into(),
            Tok::NotEq => "'!='".into(),
            Tok::Open => "'('".into(),
            Tok::Close => "')'".into(),
            Tok::Comma => "','".into(),
        }
    }
}

fn selector_tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            ',' => out.push(Tok::Comma),
            '(' => out.push(Tok::Open),
            ')' => out.push(Tok::Close),
            '>' => out.push(Tok::Gt),
            '<' => out.push(Tok::Lt),
            '=' => {
                if chars.peek() == Some(&'=') {
                    chars.next();
                }
                out.push(Tok::Eq);
            }
            '!' => {
                if chars.peek() == Some(&'=') {
                    chars.next();
                    out.push(Tok::NotEq);
                } else {
                    out.push(Tok::Not);
                }
            }
            c => {
                let mut t = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || ",()=!<>".contains(n) {
                        break;
                    }
                    t.push(n);
                    chars.next();
                }
                out.push(Tok::Ident(t));
            }
        }
    }
    out
}

/// Reads the values of `in (...)` from `toks[i]` into `values`, token by token as
/// Kubernetes reads them, empty values and their quirks (`(5,,)` fails where `(5,,,)`
/// does not) included; gives the index past the `)`.
fn value_list(
    toks: &[Tok],
    mut i: usize,
    values: &mut Vec<String>,
) -> std::result::Result<usize, String> {
    loop {
        match toks.get(i) {
            Some(Tok::Ident(v)) => {
                check_value(v)?;
                values.push(v.clone());
                i += 1;
                match toks.get(i) {
                    Some(Tok::Comma) => {}
                    Some(Tok::Close) => return Ok(i + 1),
                    _ => return Err("expected ',' or ')' in a value list".into()),
                }
            }
            Some(Tok::Comma) => {
                i += 1;
                if values.is_empty() {
                    values.push(String::new());
                }
                match toks.get(i) {
                    Some(Tok::Close) => {
                        values.push(String::new());
                        return Ok(i + 1);
                    }
                    Some(Tok::Comma) => {
                        i += 1;
                        values.push(String::new());
                    }
                    _ => {}
                }
            }
            Some(Tok::Close) => return Err("found ')', expected ',' or a value".into()),
            _ => return Err("unterminated value list".into()),
        }
    }
}

/// A label value: empty, or up to 63 of `[A-Za-z0-9_.-]` starting and ending alphanumeric.
fn check_value(v: &str) -> std::result::Result<(), String> {
    let ok = v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid label value {v:?}"))
    }
}

/// A label key: an optional DNS subdomain prefix and `/`, then a non-empty label value.
fn check_key(k: &str) -> std::result::Result<(), String> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
    });
    if prefix_ok && !name.is_empty() && check_value(name).is_ok() {
        Ok(())
    } else {
        Err(format!("invalid label key {k:?}"))
    }
}

/// A Kubernetes label selector: equality (`a=b`, `a==b`, `a!=b`), set-based
/// (`a in (x,y)`, `a notin (x)`) and existence (`a`, `!a`) requirements, all of which must hold.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LabelSelector {
    reqs: Vec<(String, Req)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Req {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
    /// The label's value read as a whole number is greater (less) than this.
    Gt(i64),
    Lt(i64),
}

impl LabelSelector {
    /// Parses a selector as Kubernetes does: comma-separated requirements over label
    /// keys (qualified names) and values (label values), every token checked.
    pub(crate) fn parse(s: &str) -> std::result::Result<LabelSelector, String> {
        let toks = selector_tokens(s);
        let err = |m: String| format!("selector {s:?}: {m}");
        let mut reqs = Vec::new();
        let mut i = 0;
        let ident = |i: usize, what: &str| -> std::result::Result<String, String> {
            match toks.get(i) {
                Some(Tok::Ident(t)) => Ok(t.clone()),
                Some(t) => Err(err(format!("found {}, expected {what}", t.show()))),
                None => Err(err(format!("ended, expected {what}"))),
            }
        };
        while i < toks.len() {
            if i > 0 {
                match &toks[i] {
                    Tok::Comma if i + 1 < toks.len() => i += 1,
                    Tok::Comma => {
                        return Err(err("found '', expected a requirement after ','".into()))
                    }
                    t => return Err(err(format!("found {}, expected ',' or the end", t.show()))),
                }
            }
            if toks[i] == Tok::Not {
                let key = ident(i + 1, "a key after '!'")?;
                check_key(&key).map_err(&err)?;
                reqs.push((key, Req::NotExists));
                i += 2;
                continue;
            }
            let key = ident(i, "a key")?;
            check_key(&key).map_err(&err)?;
            i += 1;
            let req = match toks.get(i) {
                None | Some(Tok::Comma) => Req::Exists,
                Some(op @ (Tok::Eq | Tok::NotEq)) => {
                    // An empty value is a value.
                    let value = match toks.get(i + 1) {
                        Some(Tok::Ident(v)) => {
                            i += 1;
                            v.clone()
                        }
                        None | Some(Tok::Comma) => String::new(),
                        Some(t) => {
                            return Err(err(format!("found {}, expected a value", t.show())))
                        }
                    };
                    check_value(&value).map_err(&err)?;
                    i += 1;
                    if *op == Tok::Eq {
                        Req::Eq(value)
                    } else {
                        Req::NotEq(value)
                    }
                }
                Some(op @ (Tok::Gt | Tok::Lt)) => {
                    let value = ident(i + 1, "a whole number")?;
                    check_value(&value).map_err(&err)?;
                    let n = value.parse::<i64>().map_err(|_| {
                        err(format!(
                            "{value:?}: '>' and '<' compare with a whole number"
                        ))
                    })?;
                    let req = if *op == Tok::Gt {
                        Req::Gt(n)
                    } else {
                        Req::Lt(n)
                    };
                    i += 2;
                    req
                }
                Some(Tok::Ident(op)) if op == "in" || op == "notin" => {
                    let not = op == "notin";
                    if toks.get(i + 1) != Some(&Tok::Open) {
                        return Err(err(format!("expected '(' after {op}")));
                    }
                    i += 2;
                    // Read token by token as Kubernetes reads a value list, empty values
                    // and its quirks (`(5,,)` fails where `(5,,,)` does not) included.
                    let mut values = Vec::new();
                    if toks.get(i) == Some(&Tok::Close) {
                        // `()` holds the empty value.
                        values.push(String::new());
                        i += 1;
                    } else {
                        i = value_list(&toks, i, &mut values).map_err(&err)?;
                    }
                    if not {
                        Req::NotIn(values)
                    } else {
                        Req::In(values)
                    }
                }
                Some(t) => return Err(err(format!("found {}, expected an operator", t.show()))),
            };
            reqs.push((key, req));
        }
        Ok(LabelSelector { reqs })
    }

    pub(crate) fn matches(&self, m: Option<&Map<String, Value>>) -> bool {
        self.reqs.iter().all(|(k, req)| {
            // kubectl reads a label's scalar by its text: `a: 1` has the value `1`.
            let text = m.and_then(|m| match m.get(k)? {
                Value::String(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
                v @ (Value::Number(_) | Value::Bool(_)) => {
                    crate::yaml::emit::scalar_text(v).map(std::borrow::Cow::Owned)
                }
                _ => None,
            });
            let v = text.as_deref();
            match req {
                Req::Eq(want) => v == Some(want.as_str()),
                Req::NotEq(want) => v != Some(want.as_str()),
                Req::In(set) => v.is_some_and(|v| set.iter().any(|s| s == v)),
                Req::NotIn(set) => !v.is_some_and(|v| set.iter().any(|s| s == v)),
                Req::Exists => m.is_some_and(|m| m.contains_key(k)),
                Req::NotExists => !m.is_some_and(|m| m.contains_key(k)),
                Req::Gt(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > *n),
                Req::Lt(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < *n),
            }
        })
    }
}

/// Applies JSON 6902 operations to a resource. kubectl's legacy transformer
/// (`patchesJson6902`, PatchJson6902Transformer) does not note the object's id first: a
/// rename there is not followed by name references, and the annotations map it would
/// have noted that in exists only where other notes put one.
fn json6902(
    r: &mut Resource,
    ops: &[Value],
    legacy: bool,
    (ctx, by): (&Ctx<'_>, &ConfiguredBy),
) -> std::result::Result<(), String> {
    // kubectl writes the object out and reads it again strictly for the patch: a key
    // repeated in its annotations fails.
    if let Some((_, key)) = r.texts.as_ref().and_then(|t| t.repeated.first()) {
        return Err(format!("mapping key {key:?} already defined"));
    }
    // kubectl patches a JSON copy: no value stays shared, and scalars lose the text they
    // were written with.
    r.aliases.clear();
    forget_texts(r);
    // Every scalar of a JSON-patched object is typed again.
    r.untyped.clear();
    let before = (r.name().to_string(), r.namespace().to_string());
    let kind_before = r.kind().to_string();
    let bookkeeping = if legacy && !r.has_bookkeeping() {
        Vec::new()
    } else {
        bookkeeping_annotations(r, !legacy)
    };
    let had_annotations = r.meta_map("annotations").is_some();
    if !bookkeeping.is_empty() {
        let annotations = r
            .metadata_mut()
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        // Annotations an earlier patch nulled are a map again once kubectl has noted its
        // bookkeeping there.
        if annotations.is_null() && !bookkeeping.is_empty() {
            *annotations = Value::Object(Map::new());
        }
        if let Value::Object(a) = annotations {
            for (k, v) in &bookkeeping {
                a.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    let origin = super::metadata::watch_origin(r, ctx.origins);
    let mut doc = Value::Object(std::mem::take(&mut r.obj));
    let result = (|| {
        let mut copied = 0usize;
        for op in ops {
            let o = op.as_object().ok_or("each operation must be a mapping")?;
            let kind = o
                .get("op")
                .and_then(Value::as_str)
                .ok_or("operation without op")?;
            let path = o
                .get("path")
                .and_then(Value::as_str)
                .ok_or("operation without path")?;
            // kubectl reads a missing value as null.
            let value = || -> std::result::Result<Value, String> {
                Ok(o.get("value").cloned().unwrap_or(Value::Null))
            };
            // What an operation puts in place nests no deeper than the limit, and the
            // patch copies no more than its limit.
            let mut fits = |v: &Value| {
                let at = path.matches('/').count();
                if at + crate::yaml::depth(v) > crate::yaml::MAX_DEPTH {
                    return Err(crate::yaml::too_deep(&format!("{kind} {path}")));
                }
                copied += crate::yaml::approx_size(v);
                match copied > crate::yaml::MAX_COPIED {
                    true => Err(crate::yaml::too_big(&format!("{kind} {path}"))),
                    false => Ok(()),
                }
            };
            match kind {
                "add" => {
                    let v = value()?;
                    fits(&v)?;
                    add(&mut doc, path, v)?
                }
                "remove" => {
                    remove(&mut doc, path)?;
                }
                "replace" => {
                    // The empty path is the whole object.
                    if path.is_empty() {
                        doc = value()?;
                        continue;
                    }
                    if let Some(slot) = list_item_mut(&mut doc, path) {
                        *slot = value()?;
                        continue;
                    }
                    // A missing key of an existing map is added, as kubectl does.
                    if let Err(e) = remove(&mut doc, path) {
                        if !parent_is_map(&doc, path) {
                            return Err(e);
                        }
                    }
                    add(&mut doc, path, value()?)?;
                }
                "move" | "copy" => {
                    let from = o
                        .get("from")
                        .and_then(Value::as_str)
                        .ok_or("move/copy without from")?;
                    if from.is_empty() {
                        return Err(format!("{kind}: cannot {kind} the whole object"));
                    }
                    // kubectl finds nothing at a `from` that does not start at the root.
                    if !from.starts_with('/') {
                        return Err(format!("{kind}: from {from:?} does not start with `/`"));
                    }
                    let v = if kind == "move" {
                        remove(&mut doc, from)?
                    } else {
                        match get(&doc, from) {
                            Some(v) => v.clone(),
                            // A missing key of an existing map copies as null.
                            None if parent_is_map(&doc, from) => Value::Null,
                            None => return Err(format!("copy: {from} not found")),
                        }
                    };
                    fits(&v)?;
                    add(&mut doc, path, v)?;
                }
                "test" => {
                    // Numbers compare by value (1 is 1.0), and a missing value is null.
                    let want = value()?;
                    let have = get(&doc, path);
                    if have.is_none() && !o.contains_key("value") {
                        return Err(format!(
                            "test {path}: no value to compare the missing field with (kubectl fails)"
                        ));
                    }
                    let same = !path.is_empty()
                        && match have {
                            Some(have) => json_equal(have, &want),
                            None => want.is_null(),
                        };
                    if !same {
                        return Err(format!("test {path} failed"));
                    }
                }
                other => return Err(format!("unknown op {other:?}")),
            }
        }
        Ok(())
    })();
    // kubectl writes the patched object as YAML and reads it back.
    let result = result.and_then(|()| match super::generators::tab_led_block_in(&doc) {
        Some(at) => Err(format!(
            "{at}: a string that starts with a tab and spans lines, which kubectl cannot write out and read back after a JSON patch"
        )),
        None => Ok(()),
    });
    if let Value::Object(mut m) = doc {
        m.values_mut().for_each(through_float);
        r.obj = m;
    }
    let settled = super::metadata::settle_origin(r, origin, (|| by.clone(), ctx.entry.get()));
    drop_bookkeeping(r, &bookkeeping, had_annotations);
    // kubectl remembers the id of every object a JSON patch targets, but for the legacy
    // transformer.
    if !legacy {
        store_previous_id(r, before.clone());
        note_kind_change(r, &kind_before, &before);
    } else if r.prev_names.is_empty() {
        // An object never renamed before is known by its new name only.
        r.orig_name = r.name().to_string();
        r.orig_namespace = r.namespace().to_string();
    }
    result?;
    settled?;
    // kubectl reads the patched JSON back through YAML text, where strings that would not
    // read as strings are quoted.
    r.quote_as_written_out();
    // kubectl checks the patched object as it checks a resource.
    if r.kind().is_empty() {
        return Err("the patched object has no kind".into());
    }
    if r.name().is_empty() && !r.kind().ends_with("List") {
        return Err("the patched object has no metadata.name".into());
    }
    Ok(())
}

/// The annotations kubectl keeps on an object while it builds (its earlier ids, its name
/// prefixes and suffixes, whether its name takes a hash) and notes just before a JSON
/// patch: the patch sees them, so an object always has an annotations map there.
pub(crate) fn bookkeeping_annotations(
    r: &Resource,
    with_current_id: bool,
) -> Vec<(String, String)> {
    const INTERNAL: &str = "internal.config.kubernetes.io/";
    let mut ids: Vec<(&str, &str)> = r
        .prev_names
        .iter()
        .map(|(n, ns)| (n.as_str(), ns.as_str()))
        .collect();
    if with_current_id {
        ids.push((r.name(), r.namespace()));
    }
    let ns_of = |ns: &str| {
        if crate::scope::kustomize_cluster_scoped(&r.gvk()) {
            String::new()
        } else {
            crate::resource::or_default(ns).to_string()
        }
    };
    let mut out = Vec::new();
    let csv = |parts: Vec<String>| {
        parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(",")
    };
    let kinds = csv(ids.iter().map(|_| r.kind().to_string()).collect());
    let names = csv(ids.iter().map(|(n, _)| n.to_string()).collect());
    let namespaces = csv(ids.iter().map(|(_, ns)| ns_of(ns)).collect());
    for (key, v) in [
        ("prefixes", csv(r.prefixes.clone())),
        ("suffixes", csv(r.suffixes.clone())),
        ("previousKinds", kinds),
        ("previousNames", names),
        ("previousNamespaces", namespaces),
    ] {
        if !v.is_empty() {
            out.push((format!("{INTERNAL}{key}"), v));
        }
    }
    if r.needs_hash {
        out.push((format!("{INTERNAL}needsHashSuffix"), "enabled".into()));
    }
    out
}

/// Takes the bookkeeping annotations off again and writes the others back as strings; an
/// annotations map left empty goes, as kubectl clears it.
fn drop_bookkeeping(r: &mut Resource, bookkeeping: &[(String, String)], had: bool) {
    let Some(Value::Object(meta)) = r.obj.get_mut("metadata") else {
        return;
    };
    let Some(Value::Object(a)) = meta.get_mut("annotations") else {
        return;
    };
    for (k, _) in bookkeeping {
        a.shift_remove(k);
    }
    for v in a.values_mut() {
        match v {
            Value::Null => *v = Value::String("null".into()),
            // kubectl holds a JSON number as a float and prints it as Go's `%v` does.
            Value::Number(n) => {
                let f = n.as_f64().unwrap_or_default();
                *v = Value::String(crate::yaml::emit::go_format_g(f))
            }
            Value::Bool(b) => *v = Value::String(b.to_string()),
            _ => {}
        }
    }
    if a.is_empty() && (!had || !bookkeeping.is_empty()) {
        meta.shift_remove("annotations");
    }
}

/// A JSON patch works on a JSON copy of the object: the source texts of its scalars are
/// gone, and an annotation written as a plain non-string scalar is that scalar again
/// (`hint: 3` tests equal to 3; `drop_bookkeeping` writes it back as "3", `1.10` as "1.1",
/// an empty one as "null").
fn forget_texts(r: &mut Resource) {
    let Some(texts) = r.texts.take() else { return };
    let Some(Value::Object(a)) = r
        .obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    else {
        return;
    };
    for (pointer, text) in texts.plain.iter() {
        let Some(key) = pointer.strip_prefix("/metadata/annotations/") else {
            continue;
        };
        let key = key.replace("~1", "/").replace("~0", "~");
        if a.get(&key).and_then(Value::as_str) != Some(text.as_str()) {
            continue;
        }
        a.insert(key, crate::yaml::parse::resolve_plain(text));
    }
}

/// kubectl's JSON patch reads every number as a 64-bit float: an integer beyond 2^53
/// comes back as the nearest float's shortest decimal (`12345678901234567890` is
/// `12345678901234567000`), or as that float where its decimal is no 64-bit integer.
fn through_float(v: &mut Value) {
    const EXACT: u64 = 1 << 53;
    match v {
        Value::Number(n)
            if n.as_u64().is_some_and(|u| u > EXACT)
                || n.as_i64().is_some_and(|i| i.unsigned_abs() > EXACT) =>
        {
            let Some(f) = n.as_f64() else { return };
            let text = format!("{f}");
            if let Ok(i) = text.parse::<i64>() {
                *v = Value::from(i);
            } else if let Ok(u) = text.parse::<u64>() {
                *v = Value::from(u);
            } else {
                // Too large for an integer when read back: kubectl prints the float.
                *v = Value::from(f);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(through_float),
        Value::Object(m) => m.values_mut().for_each(through_float),
        _ => {}
    }
}

/// JSON equality with numbers compared by value, as JSON patch `test` compares.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Remembers the name a patch changed, so references follow it.
/// Remembers the kind an object had before a patch gave it another (and the id it had
/// then): name references to the old kind follow it, as in kubectl.
fn note_kind_change(r: &mut Resource, old_kind: &str, before: &(String, String)) {
    if r.kind() == old_kind || old_kind.is_empty() {
        return;
    }
    if r.prev_names.last() != Some(before) {
        r.prev_names.push(before.clone());
    }
    r.prev_kinds
        .push((r.prev_names.len() - 1, old_kind.to_string()));
}

fn store_previous_id(r: &mut Resource, before: (String, String)) {
    r.remember_id(before);
}

fn note_rename(r: &mut Resource, before: (String, String)) {
    if r.name() != before.0 {
        r.remember_id(before);
    }
}

/// A pointer's tokens. kubectl drops the first segment whatever it is, so `data/x`
/// addresses the top-level `x`.
fn tokens(path: &str) -> std::result::Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    Ok(path
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

/// A list index; negative ones count from the end, as kubectl allows.
fn index(t: &str, len: usize, path: &str) -> std::result::Result<usize, String> {
    let i: i64 = t.parse().map_err(|_| format!("{path}: bad index {t}"))?;
    let len = len as i64;
    let i = if i < 0 { i + len } else { i };
    if i < 0 {
        return Err(format!("{path}: index {t} out of range"));
    }
    Ok(i as usize)
}

fn get<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = doc;
    for t in tokens(path).ok()? {
        cur = match cur {
            Value::Object(m) => m.get(&t)?,
            Value::Array(a) => a.get(index(&t, a.len(), path).ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The list element `path` addresses, if it addresses one.
fn list_item_mut<'a>(doc: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let (p, last) = parent(doc, path).ok()?;
    match p {
        Value::Array(a) => {
            let i = index(&last, a.len(), path).ok()?;
            a.get_mut(i)
        }
        _ => None,
    }
}

fn parent_is_map(doc: &Value, path: &str) -> bool {
    let Ok(mut toks) = tokens(path) else {
        return false;
    };
    toks.pop();
    let mut cur = doc;
    for t in toks {
        let next = match cur {
            Value::Object(m) => m.get(&t),
            Value::Array(a) => index(&t, a.len(), path).ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return false,
        }
    }
    cur.is_object()
}

fn parent<'a>(
    doc: &'a mut Value,
    path: &str,
) -> std::result::Result<(&'a mut Value, String), String> {
    let mut toks = tokens(path)?;
    let last = toks.pop().ok_or("cannot address the whole document")?;
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get_mut(&t).ok_or(format!("{path}: {t} not found"))?,
            Value::Array(a) => {
                let i = index(&t, a.len(), path)?;
                a.get_mut(i)
                    .ok_or(format!("{path}: index {i} out of range"))?
            }
            _ => return Err(format!("{path}: {t} not found")),
        };
    }
    Ok((cur, last))
}

fn add(doc: &mut Value, path: &str, v: Value) -> std::result::Result<(), String> {
    let (p, last) = parent(doc, path)?;
    match p {
        Value::Object(m) => {
            m.insert(last, v);
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(v);
            } else {
                // Negative indexes count from the end of the list as it will be.
                let i = index(&last, a.len() + 1, path)?;
                if i > a.len() {
                    return Err(format!("{path}: index out of range"));
                }
                a.insert(i, v);
            }
        }
        _ => return Err(format!("{path}: parent is not a container")),
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str) -> std::result::Result<Value, String> {
    let (p, last) = parent(doc, path)?;
    match p {
        Value::Object(m) => m.shift_remove(&last).ok_or(format!("{path}: not found")),
        Value::Array(a) => {
            let i = index(&last, a.len(), path)?;
            if i >= a.len() {
                return Err(format!("{path}: index out of range"));
            }
            Ok(a.remove(i))
        }
        _ => Err(format!("{path}: not found")),
    }
}
