//! `replacements`: copy a field of one object (the source) into fields of others (the
//! targets), with kustomize's dotted field paths (`a.b.[name=x].c`, `*`, list indexes),
//! delimiter/index options and `create`. Never reads files except `path:` entries.

use crate::kustomization::{canonical_object, Kustomization};
use crate::resource::{or_default, Resource};
use crate::yaml::emit::text_for_string_field;
use crate::yaml::emit::value_text as text_of;
use crate::{Error, FileSystem, Result};
use serde_json::{Map, Value};

/// Runs the `replacements` field of `k`.
/// `tracked`: whether kubectl keeps build notes (origins, transformations) on every
/// object while it builds, as `buildMetadata` at the root asks.
pub(crate) fn field(
    fsys: &dyn FileSystem,
    k: &Kustomization,
    acc: &mut [Resource],
    tracked: bool,
) -> Result<()> {
    let mut reps = Vec::new();
    // Each entry decoded as kubectl decodes it (fields folded, repeats merged, a null
    // entry empty).
    for entry in k.obj_list("replacements", &["path", "source", "targets"])? {
        // An entry names a file when its path is set, and holds a replacement otherwise.
        let path = entry
            .get("path")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty());
        let Some(path) = path else {
            let mut inline = entry;
            inline.remove("path");
            reps.push(Value::Object(inline));
            continue;
        };
        let source = entry.get("source").is_some_and(|s| !s.is_null());
        let targets = entry
            .get("targets")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty());
        if source || targets {
            return Err(k.field_err(
                "replacements",
                format!("{path}: cannot specify both path and inline replacement"),
            ));
        }
        let (text, file) = crate::build::read_local_text(fsys, k, "replacements", path)?;
        // kubectl reads the file as it reads kustomizations (YAML 1.1), its first
        // document only, ignoring fields it does not know; an empty one is an error.
        let first = crate::yaml::parse_first_document(&text, false).map_err(|e| Error::Yaml {
            path: file.clone(),
            line: e.line,
            message: e.message,
        })?;
        let typed = |rep| {
            file_replacement(rep).map_err(|m| k.field_err("replacements", format!("{path}: {m}")))
        };
        match first.map(|d| d.value) {
            Some(Value::Array(list)) => {
                for rep in list {
                    reps.push(typed(rep)?);
                }
            }
            Some(other @ Value::Object(_)) => reps.push(typed(other)?),
            _ => return Err(k.field_err("replacements", format!("{path}: holds no replacement"))),
        }
    }
    apply(&reps, acc, tracked).map_err(|m| k.field_err("replacements", m))
}

/// A replacement from a file as kubectl decodes it: fields it does not know are dropped,
/// ids must be strings, and delimiters, selectors and field paths take a number or a
/// boolean as its text.
fn file_replacement(mut rep: Value) -> std::result::Result<Value, String> {
    fn keep(v: &mut Value, known: &[&str]) {
        if let Value::Object(m) = v {
            *m = crate::kustomization::known_fields(m, known);
        }
    }
    fn strings(
        v: &mut Value,
        at: &str,
        ids: &[&str],
        texts: &[&str],
    ) -> std::result::Result<(), String> {
        let Value::Object(m) = v else {
            return Ok(());
        };
        for (k, x) in m.iter_mut() {
            let id = crate::kustomization::canonical(k, ids);
            let Some(name) = id.or_else(|| crate::kustomization::canonical(k, texts)) else {
                continue;
            };
            match x {
                Value::String(_) | Value::Null => {}
                Value::Number(_) | Value::Bool(_) if id.is_none() => {
                    *x = Value::String(text_for_string_field(x).unwrap_or_default());
                }
                other => {
                    return Err(format!(
                        "{at}.{name}: expected a string, found {}",
                        super::fieldspec::kind_name(other)
                    ))
                }
            }
        }
        Ok(())
    }
    fn options(v: Option<&mut Value>, at: &str) -> std::result::Result<(), String> {
        let Some(o) = v else { return Ok(()) };
        keep(o, &["delimiter", "index", "create", "encoding"]);
        strings(o, at, &[], &["delimiter", "encoding"])?;
        let create = o.as_object().and_then(|m| {
            m.iter()
                .find(|(k, _)| crate::kustomization::canonical(k, &["create"]).is_some())
        });
        if create.is_some_and(|(_, c)| !c.is_boolean() && !c.is_null()) {
            return Err(format!("{at}.create: expected true or false"));
        }
        Ok(())
    }
    const IDS: &[&str] = &["group", "version", "kind", "name", "namespace"];
    keep(&mut rep, &["source", "targets"]);
    if let Some(source) = rep.get_mut("source") {
        keep(source, SOURCE_FIELDS);
        strings(source, "source", &[IDS, &["fieldPath"]].concat(), &[])?;
        options(source.get_mut("options"), "source.options")?;
    }
    if let Some(Value::Array(targets)) = rep.get_mut("targets") {
        for t in targets.iter_mut() {
            keep(t, &["select", "reject", "fieldPaths", "options"]);
            // Go's decoder takes a list (or null) for these, nothing else.
            for field in ["reject", "fieldPaths"] {
                match t.get(field) {
                    None | Some(Value::Null | Value::Array(_)) => {}
                    Some(other) => {
                        return Err(format!(
                            "targets.{field}: expected a list, found {}",
                            super::fieldspec::kind_name(other)
                        ))
                    }
                }
            }
            if let Some(sel) = t.get_mut("select") {
                keep(sel, SELECT_FIELDS);
                strings(sel, "select", IDS, &["labelSelector", "annotationSelector"])?;
            }
            if let Some(Value::Array(rejects)) = t.get_mut("reject") {
                for r in rejects.iter_mut() {
                    keep(r, SELECT_FIELDS);
                    strings(r, "reject", IDS, &["labelSelector", "annotationSelector"])?;
                }
            }
            if let Some(Value::Array(paths)) = t.get_mut("fieldPaths") {
                for p in paths.iter_mut().filter(|p| p.is_number() || p.is_boolean()) {
                    *p = Value::String(text_for_string_field(p).unwrap_or_default());
                }
            }
            options(t.get_mut("options"), "targets.options")?;
        }
    }
    Ok(rep)
}

/// Applies replacement definitions (each `{source, targets}`) in order.
pub(crate) fn apply(
    reps: &[Value],
    acc: &mut [Resource],
    tracked: bool,
) -> std::result::Result<(), String> {
    for rep in reps {
        let m = canonical_object(rep, &["source", "targets"])?;
        // As kubectl: a replacement without a source or without any target is an error.
        let targets = match m.get("targets") {
            Some(Value::Array(t)) => t.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err("targets: expected a list".into()),
        };
        let source = m.get("source").filter(|s| !s.is_null());
        let Some(source) = source.filter(|_| !targets.is_empty()) else {
            return Err("a replacement must specify a source and at least one target".into());
        };
        let Source {
            mut value,
            mut text,
            place,
        } = source_value(source, acc, tracked)?;
        for t in &targets {
            let own = place
                .as_ref()
                .map(|(index, segs)| (*index, segs.as_slice()));
            apply_target(t, &mut value, &mut text, own, acc, tracked)?;
        }
    }
    Ok(())
}

/// A replacement source's fields: an object id, not a selector (no label or annotation
/// selectors), a field path and options.
const SOURCE_FIELDS: &[&str] = &[
    "group",
    "version",
    "kind",
    "name",
    "namespace",
    "fieldPath",
    "options",
];

const SELECT_FIELDS: &[&str] = &[
    "group",
    "version",
    "kind",
    "name",
    "namespace",
    "labelSelector",
    "annotationSelector",
];

/// What a replacement copies: the value, for a number or boolean its text as written,
/// and where it is (the object's index, the path) for a target that is the same field.
struct Source {
    value: Value,
    text: Option<String>,
    /// The object (by index) and field the value is, where kubectl holds that node
    /// itself (later edits of the field show in later writes); `None` for a part a
    /// delimiter split off, a new node of its own.
    place: Option<(usize, Vec<String>)>,
}

/// The replacement source's value and place.
fn source_value(
    source: &Value,
    acc: &[Resource],
    tracked: bool,
) -> std::result::Result<Source, String> {
    let m = canonical_object(source, SOURCE_FIELDS)?;
    let sel = Selector::from_map(&m)?;
    let found: Vec<(usize, &Resource)> = acc
        .iter()
        .enumerate()
        .filter(|(_, r)| sel.matches(r))
        .collect();
    let (index, r) = match found.as_slice() {
        [one] => *one,
        [] => return Err(format!("nothing selected by {}", sel.describe())),
        _ => return Err(format!("multiple matches for selector {}", sel.describe())),
    };
    let path = m
        .get("fieldPath")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .unwrap_or("metadata.name");
    let segs = split_path(path);
    let obj = Value::Object(r.obj.clone());
    // kubectl keeps its notes on an object (earlier names, affixes) among its annotations
    // while it builds: a source that is the whole map would copy them too.
    if segs.len() <= 2
        && segs
            .iter()
            .zip(["metadata", "annotations"])
            .all(|(s, w)| s == w)
    {
        if let Some(generator) = r.generated_by {
            return Err(format!(
                "fieldPath `{path}` of {}, made by a {generator}, is not supported: kubectl copies its generator notes too",
                r.describe()
            ));
        }
        if tracked || has_build_notes(r) {
            return Err(format!(
                "fieldPath `{path}` of {} with build metadata on is not supported: kubectl copies its build notes too",
                r.describe()
            ));
        }
        // kubectl lists an id there at every step that may rename (repeats included) and
        // reads the notes back wherever they land: not followed here.
        if !super::patch::bookkeeping_annotations(r, false).is_empty() {
            return Err(format!(
                "fieldPath `{path}` of {}, which kubectl holds its notes of earlier names in, is not supported",
                r.describe()
            ));
        }
    }
    let mut hits = Vec::new();
    lookup(&obj, &segs, &mut hits).map_err(|e| {
        format!(
            "fieldPath `{path}` of replacement source {}: {e}",
            r.describe()
        )
    })?;
    // A scalar a replacement created holds the text it was copied as, untagged, in
    // kubectl: that text is what is copied (a null of it is a source like any other).
    let created = |value: &Value| {
        place_of(&obj, &segs).and_then(|at| {
            r.untyped
                .iter()
                .find(|u| u.at == at && u.value == *value)
                .map(|u| u.text.clone())
        })
    };
    let value = match hits.as_slice() {
        [one] if one.is_null() => match created(one) {
            Some(text) => {
                return Ok(Source {
                    value: Value::Null,
                    text: Some(text),
                    place: Some((index, segs.clone())),
                })
            }
            None => {
                return Err(format!(
                    "fieldPath `{path}` is missing for replacement source {}",
                    r.describe()
                ))
            }
        },
        // A null source (`~`, `null`) counts as missing, as in kubectl, and so does an
        // empty map or list.
        [one]
            if matches!(one, Value::Object(m) if m.is_empty())
                || matches!(one, Value::Array(a) if a.is_empty()) =>
        {
            return Err(format!(
                "fieldPath `{path}` is missing for replacement source {}",
                r.describe()
            ))
        }
        [one] => (*one).clone(),
        [] => {
            return Err(format!(
                "fieldPath `{path}` is missing for replacement source {}",
                r.describe()
            ))
        }
        _ => return Err(format!("fieldPath `{path}` matches more than one value")),
    };
    // kubectl copies a scalar's text as written (`0644`, `1.50`), where we have it.
    // A plain date reads as a timestamp here, and is copied as written too.
    let place = place_of(&obj, &segs);
    // A folded scalar is copied as read, without the fold kubectl's writing back adds.
    let value = match place.as_ref().and_then(|at| r.folded_as_read(at, &value)) {
        Some(read) => Value::String(read.to_string()),
        None => value,
    };
    let text = if !matches!(value, Value::Array(_) | Value::Object(_)) {
        created(&value).or_else(|| {
            place
                .as_ref()
                .and_then(|at| r.source_text(at, &value).map(str::to_string))
        })
    } else {
        None
    };
    let opts = options(m.get("options"))?;
    if let Some(delim) = opts.delimiter.filter(|d| !d.is_empty()) {
        // Any scalar splits by its text, as in kubectl (a number or a boolean too).
        let Some(s) = text.clone().or_else(|| text_of(&value)) else {
            return Err("delimiter option can only be used with scalar nodes".into());
        };
        let parts: Vec<&str> = s.split(delim.as_str()).collect();
        let i = opts.index;
        if i < 0 || i as usize >= parts.len() {
            return Err(format!("options.index {i} is out of bounds for value {s}"));
        }
        return Ok(Source {
            value: Value::String(parts[i as usize].to_string()),
            text: None,
            place: None,
        });
    }
    Ok(Source {
        value,
        text,
        place: Some((index, segs)),
    })
}

/// Whether the object carries notes `buildMetadata` asked for.
fn has_build_notes(r: &Resource) -> bool {
    !r.transformations.is_empty()
        || r.origin_by.is_some()
        || r.meta_map("annotations")
            .is_some_and(|a| a.contains_key("config.kubernetes.io/origin"))
}

struct Options {
    delimiter: Option<String>,
    index: i64,
    create: bool,
}

fn options(v: Option<&Value>) -> std::result::Result<Options, String> {
    let m = match v {
        None | Some(Value::Null) => Map::new(),
        // `encoding` is known and read by nothing.
        Some(v) => canonical_object(v, &["delimiter", "index", "create", "encoding"])?,
    };
    Ok(Options {
        delimiter: m
            .get("delimiter")
            .and_then(Value::as_str)
            .map(str::to_string),
        index: match m.get("index") {
            None | Some(Value::Null) => 0,
            Some(i) => crate::schema::go_int(i).ok_or("options.index: expected a whole number")?,
        },
        create: m.get("create").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// Writes the source's value (with its text as written) to one target's objects.
/// kubectl holds the source as its node, not a copy: where a delimiter rewrites the
/// source field itself (`own`, unless the source was split), later writes copy the
/// rewritten value.
fn apply_target(
    t: &Value,
    own_value: &mut Value,
    own_text: &mut Option<String>,
    own: Option<(usize, &[String])>,
    acc: &mut [Resource],
    tracked: bool,
) -> std::result::Result<(), String> {
    let m = canonical_object(t, &["select", "reject", "fieldPaths", "options"])?;
    let select = match m.get("select") {
        Some(v) if !v.is_null() => Selector::from_map(
            &canonical_object(v, SELECT_FIELDS).map_err(|e| format!("select: {e}"))?,
        )?,
        _ => return Err("target must specify resources to select".into()),
    };
    let mut rejects = Vec::new();
    if let Some(Value::Array(list)) = m.get("reject") {
        for r in list {
            rejects.push(Selector::from_map(
                &canonical_object(r, SELECT_FIELDS).map_err(|e| format!("reject: {e}"))?,
            )?);
        }
    }
    // No field paths, an empty list too, is the name.
    let paths: Vec<String> = match m.get("fieldPaths") {
        Some(Value::Array(p)) if !p.is_empty() => p
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or("fieldPaths: expected strings")
            })
            .collect::<std::result::Result<_, _>>()?,
        _ => vec!["metadata.name".to_string()],
    };
    let opts = options(m.get("options"))?;
    let mut copied = 0usize;
    for (index, r) in acc.iter_mut().enumerate() {
        if !select.matches(r) || rejects.iter().any(|x| x.rejects(r)) {
            continue;
        }
        // Where kubectl keeps notes of its own among the annotations, the map is there to
        // be found; a replacement of the whole map takes those notes away.
        let whole_annotations = paths
            .iter()
            .any(|p| split_path(p) == ["metadata", "annotations"]);
        let whole_metadata = paths.iter().any(|p| split_path(p) == ["metadata"]);
        if (whole_annotations || whole_metadata) && (tracked || has_build_notes(r)) {
            return Err(format!(
                "writing the whole metadata.annotations of {} with build metadata on is not supported: kubectl's build notes there go with it",
                r.describe()
            ));
        }
        let noted = r.has_bookkeeping() && r.meta_map("annotations").is_none();
        let annotations_path = paths.iter().any(|p| {
            split_path(p).starts_with(&["metadata".to_string(), "annotations".to_string()])
        });
        // Annotations written as null are a map to kubectl, which keeps notes there.
        let null_annotations = r
            .obj
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .is_some_and(Value::is_null);
        if (noted || null_annotations) && annotations_path {
            r.metadata_mut()
                .insert("annotations".into(), Value::Object(Map::new()));
        }
        let mut obj = Value::Object(std::mem::take(&mut r.obj));
        let mut result = Ok(());
        let mut untyped = Vec::new();
        // Created scalars written again, which get a new record.
        let mut rewritten = Vec::new();
        // The texts of numbers and booleans written, by pointer.
        let mut copied_texts = Vec::new();
        // Folded strings written, as written, by pointer.
        let mut folded_texts = Vec::new();
        for p in &paths {
            // kubectl finds nothing at an empty segment past the first.
            let mut segs = path_pieces(p);
            if segs.iter().skip(1).any(String::is_empty) || p.is_empty() {
                // Creating through one, kubectl writes what no rule gives.
                result = Err(if opts.create && !p.is_empty() {
                    format!("fieldPath {p:?} with an empty segment, where create is on, is not supported")
                } else {
                    format!("fieldPath {p:?} has an empty segment")
                });
                break;
            }
            // A leading dot is nothing.
            segs.retain(|s| !s.is_empty());
            // kubectl writes annotations back as strings at the end of a build, so a new
            // annotation keeps the text it was given (`1_000`).
            let annotation = segs.len() == 3 && segs[0] == "metadata" && segs[1] == "annotations";
            let mut found = false;
            // Set when the field was found but the value does not fit it.
            let mut unfit = false;
            let texts = r.texts.clone();
            let quoted = |path: &[String]| {
                texts.as_ref().is_some_and(|t| {
                    !t.quoted.is_empty()
                        && t.quoted.contains(&crate::yaml::parse::json_pointer(path))
                })
            };
            let own_segs = own.filter(|o| o.0 == index).map(|o| o.1);
            // A collection copied into itself would be a node inside itself in kubectl.
            if own_segs.is_some_and(|o| o != segs.as_slice() && segs.starts_with(o)) {
                result = Err(format!(
                    "fieldPath {p:?} lies inside the source's own field; copying a map or list into itself is not supported"
                ));
                break;
            }
            let value_now = own_value.clone();
            let text_now = own_text.clone();
            let (value, text) = (&value_now, text_now.as_deref());
            if segs.len() + crate::yaml::depth(value) > crate::yaml::MAX_DEPTH {
                result = Err(crate::yaml::too_deep(&format!("fieldPath {p:?}")));
                break;
            }
            copied += crate::yaml::approx_size(value);
            if copied > crate::yaml::MAX_COPIED {
                result = Err(crate::yaml::too_big(&format!("fieldPath {p:?}")));
                break;
            }
            let res = set_all(
                &mut obj,
                &segs,
                opts.create,
                &mut |node, fresh, at| {
                    found = true;
                    unfit = true;
                    let Some(node) = node else { return Ok(()) };
                    // A scalar an earlier replacement created is untagged in kubectl: any text
                    // fits it, read again as plain YAML.
                    let untagged = r
                        .untyped
                        .iter()
                        .position(|u| u.at == at && u.value == *node)
                        .filter(|_| !fresh);
                    let created_text = untagged.map(|i| r.untyped[i].text.clone());
                    if let Some(i) = untagged {
                        rewritten.push(i);
                        *node = Value::Null;
                    }
                    // kubectl creates a missing target of the source's kind: a map or list,
                    // which a delimiter cannot be used with.
                    let delimited = opts.delimiter.as_deref().is_some_and(|d| !d.is_empty());
                    if fresh && delimited && matches!(value, Value::Array(_) | Value::Object(_)) {
                        return Err("delimiter option can only be used with scalar nodes".into());
                    }
                    let fresh = fresh || untagged.is_some();
                    // An existing null keeps its null type in kubectl: only a null text fits.
                    let was_null = node.is_null() && !fresh;
                    if was_null && matches!(value, Value::Array(_) | Value::Object(_)) {
                        // A map or list has no scalar text: the null stays.
                        return Ok(());
                    }
                    // A plain date is split by the text it was written as, and must still read
                    // as a date when joined again, as kubectl keeps its type.
                    let date = (delimited && !fresh)
                        .then(|| r.source_text(at, node))
                        .flatten()
                        .filter(|t| crate::yaml::parse::parse_timestamp(t).is_some())
                        .map(str::to_string);
                    let held = match (&date, fresh) {
                        (Some(d), _) => Held::Date(d),
                        (None, true) => Held::Untagged(created_text.as_deref().unwrap_or_default()),
                        (None, false) => Held::Typed,
                    };
                    let joined = set_value(node, value, text, held, &opts)?;
                    // A folded target keeps its style: kubectl's writing back folds the text.
                    if let (Value::String(new), false) = (&mut *node, fresh) {
                        let pointer = crate::yaml::parse::json_pointer(at);
                        if r.texts
                            .as_ref()
                            .is_some_and(|t| t.folded.contains_key(&pointer))
                        {
                            let read = std::mem::take(new);
                            *new = crate::yaml::parse::folded_round_trip(&read);
                            folded_texts.push((pointer, read));
                        }
                    }
                    let written = || {
                        joined
                            .clone()
                            .or_else(|| text.map(str::to_string))
                            .or_else(|| text_of(value))
                    };
                    if was_null && !node.is_null() {
                        let shown = text_of(node).or_else(written).unwrap_or_default();
                        return Err(format!("cannot decode {shown:?} as null"));
                    }
                    // kubectl writes a created empty text back empty, which reads as `""` in a
                    // flow collection and as null elsewhere.
                    if fresh
                        && node.is_null()
                        && written().is_some_and(|t| t.is_empty())
                        && r.in_flow(at)
                    {
                        *node = Value::String(String::new());
                    }
                    if fresh && annotation && !matches!(node, Value::Array(_) | Value::Object(_)) {
                        if let Some(t) = written() {
                            *node = Value::String(t);
                        }
                    }
                    if fresh && !annotation && !matches!(node, Value::Array(_) | Value::Object(_)) {
                        if let Some(t) = written() {
                            if crate::yaml::parse::is_inf_or_nan(&t) {
                                return Err(format!(
                                "{t:?} reads as a float JSON cannot hold, so kubectl cannot write it out"
                            ));
                            }
                            untyped.push(crate::resource::Untyped {
                                at: at.to_vec(),
                                value: node.clone(),
                                text: t,
                            });
                        }
                    }
                    // A number or boolean keeps the text it was copied as (`0x1`), which
                    // a var or a later copy reads.
                    if !fresh && !annotation && matches!(node, Value::Number(_) | Value::Bool(_)) {
                        let canonical = crate::yaml::emit::scalar_text(node);
                        if let Some(t) = written().filter(|t| canonical.as_ref() != Some(t)) {
                            copied_texts.push((crate::yaml::parse::json_pointer(at), t));
                        }
                    }
                    unfit = false;
                    Ok(())
                },
                &quoted,
            );
            let delimited = opts.delimiter.as_deref().is_some_and(|d| !d.is_empty());
            if res.is_ok() && delimited && own_segs == Some(segs.as_slice()) {
                let mut hits = Vec::new();
                if lookup(&obj, &segs, &mut hits).is_ok() {
                    if let [one] = hits.as_slice() {
                        *own_value = (*one).clone();
                        *own_text = None;
                    }
                }
            }
            if let Err(e) = res {
                if unfit || e.ends_with(QUOTED_MATCH) {
                    result = Err(format!("replacement target field {p:?}: {e}"));
                    break;
                }
                let what = if opts.create {
                    "unable to find or create field"
                } else {
                    "unable to find field"
                };
                result = Err(format!("{what} {p:?} in replacement target: {e}"));
                break;
            }
            if !found {
                result = Err(format!("unable to find field {p:?} in replacement target"));
                break;
            }
        }
        if let Value::Object(m) = obj {
            r.obj = m;
        }
        if noted && annotations_path {
            // Still empty: nothing was written there.
            let meta = r.metadata_mut();
            if meta
                .get("annotations")
                .and_then(Value::as_object)
                .is_some_and(|a| a.is_empty())
            {
                meta.shift_remove("annotations");
            }
        }
        if whole_annotations && result.is_ok() {
            r.forget_history();
        }
        rewritten.sort_unstable();
        rewritten.dedup();
        for i in rewritten.into_iter().rev() {
            r.untyped.remove(i);
        }
        r.untyped.extend(untyped);
        if !copied_texts.is_empty() || !folded_texts.is_empty() {
            let texts = std::sync::Arc::make_mut(r.texts.get_or_insert_with(Default::default));
            texts.plain.extend(copied_texts);
            texts.folded.extend(folded_texts);
        }
        let name = r.obj.get("metadata").and_then(|m| m.get("name"));
        if result.is_ok() {
            match name {
                Some(Value::String(_)) => {}
                Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                    result = Err(format!(
                        "the replacement makes metadata.name {}, no string: a numeric or boolean name is not supported",
                        text_of(v).unwrap_or_default()
                    ))
                }
                _ => result = Err("the replacement leaves the object without metadata.name".into()),
            }
        }
        let namespace = r.obj.get("metadata").and_then(|m| m.get("namespace"));
        if let Some(v @ (Value::Number(_) | Value::Bool(_))) = namespace.filter(|_| result.is_ok())
        {
            result = Err(format!(
                "the replacement makes metadata.namespace {}, no string: a numeric or boolean namespace is not supported",
                text_of(v).unwrap_or_default()
            ));
        }
        // A replacement renames without keeping the old name, as in kubectl: an object
        // never renamed before is known by its new name only.
        if r.prev_names.is_empty() {
            r.orig_name = r.name().to_string();
            r.orig_namespace = r.namespace().to_string();
        }
        result?;
    }
    Ok(())
}

/// How kubectl holds the scalar a replacement writes to.
enum Held<'t> {
    /// With the type it was read with.
    Typed,
    /// A plain date, by the text it was written as: still a date after the write.
    Date(&'t str),
    /// Created by a replacement (now or before), untagged: by its text, which is read
    /// again as plain YAML after the write.
    Untagged(&'t str),
}

/// Writes `value` (copied as `text`, where known) to `node`; with a delimiter, the text
/// the target holds then.
fn set_value(
    node: &mut Value,
    value: &Value,
    text: Option<&str>,
    held: Held<'_>,
    opts: &Options,
) -> std::result::Result<Option<String>, String> {
    let text_of = |v: &Value| text.map(str::to_string).or_else(|| text_of(v));
    let Some(delim) = opts.delimiter.as_deref().filter(|d| !d.is_empty()) else {
        // As kustomize copies only the scalar's text: a string target stays a string, and
        // a new or non-string target reads the text as plain YAML; a target keeps its type,
        // so a text that is not of it is an error.
        let shown = || text_of(value).unwrap_or_default();
        match (&*node, value) {
            (Value::Bool(_), Value::Number(_)) => {
                return Err(format!("cannot decode {} as a boolean", shown()))
            }
            (Value::Number(_), Value::Bool(_)) => {
                return Err(format!("cannot decode {} as a number", shown()))
            }
            (Value::Number(n), Value::Number(m)) if !n.is_f64() && m.is_f64() => {
                return Err(format!("cannot decode {} as an integer", shown()))
            }
            // A string is read as plain YAML of the target's type.
            (Value::Number(n), Value::String(s)) => {
                let fits = match crate::yaml::parse::resolve_plain(s) {
                    Value::Number(m) => n.is_f64() || !m.is_f64(),
                    _ => false,
                };
                if !fits {
                    return Err(format!("cannot decode {s:?} as a number"));
                }
            }
            (Value::Bool(_), Value::String(s))
                if !crate::yaml::parse::resolve_plain(s).is_boolean() =>
            {
                return Err(format!("cannot decode {s:?} as a boolean"));
            }
            // A map or list has no scalar text: an empty one is no number or boolean.
            (Value::Number(_) | Value::Bool(_), Value::Array(_) | Value::Object(_)) => {
                return Err(format!(
                    "cannot copy {} into a {} field: only its (empty) text would be copied",
                    crate::transform::fieldspec::kind_name(value),
                    if node.is_boolean() {
                        "boolean"
                    } else {
                        "number"
                    },
                ));
            }
            _ => {}
        }
        *node = match (&*node, value) {
            // A map or list has no scalar text: a string target becomes empty.
            (Value::String(_), v) => Value::String(text_of(v).unwrap_or_default()),
            // A map or list target takes the source's node whole, type and all.
            (Value::Array(_) | Value::Object(_), v) => v.clone(),
            (_, Value::String(s)) => crate::yaml::parse::resolve_plain(s),
            (_, v) => v.clone(),
        };
        return Ok(None);
    };
    let cur = match (&held, &*node) {
        (Held::Date(t), Value::String(_)) | (Held::Untagged(t), _) => t.to_string(),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Null) => String::new(),
        (_, Value::Number(_) | Value::Bool(_)) => {
            crate::yaml::emit::value_text(node).unwrap_or_default()
        }
        _ => return Err("delimiter option can only be used with scalar nodes".into()),
    };
    // A map or list source has no text: its piece is empty, as in kubectl.
    let new = text_of(value).unwrap_or_default();
    let mut parts: Vec<String> = cur.split(delim).map(str::to_string).collect();
    let i = opts.index;
    if i < 0 {
        parts.insert(0, new);
    } else if i as usize >= parts.len() {
        parts.push(new);
    } else {
        parts[i as usize] = new;
    }
    let joined = parts.join(delim);
    *node = match held {
        Held::Date(_) => match crate::yaml::parse::parse_timestamp(&joined) {
            Some(stamp) => Value::String(stamp),
            None => return Err(format!("cannot decode !!str `{joined}` as a !!timestamp")),
        },
        Held::Untagged(_) => crate::yaml::parse::resolve_plain(&joined),
        // A number or boolean keeps its type, so the joined text must read as one.
        Held::Typed if !node.is_string() && !node.is_null() => {
            let read = crate::yaml::parse::resolve_plain(&joined);
            let fits = match (&*node, &read) {
                (Value::Bool(_), Value::Bool(_)) => true,
                (Value::Number(n), Value::Number(m)) => n.is_f64() || !m.is_f64(),
                _ => false,
            };
            if !fits {
                let want = if node.is_boolean() {
                    "a boolean"
                } else {
                    "a number"
                };
                return Err(format!("cannot decode {joined:?} as {want}"));
            }
            read
        }
        Held::Typed => Value::String(joined.clone()),
    };
    Ok(Some(joined))
}

fn element_matches(item: &Value, key: &str, want: &str) -> bool {
    if key.is_empty() {
        return text_of(item).as_deref() == Some(want);
    }
    item.get(key).and_then(text_of).as_deref() == Some(want)
}

/// One segment of a replacement field path.
enum Seg<'a> {
    /// A map key.
    Field(&'a str),
    /// A list index (digits; `-1` is a map key, as in kubectl).
    Index(usize),
    /// `[key=value]`: the list elements whose `key` is `value`.
    Match(&'a str, &'a str),
    /// `*`: every element of a list.
    Each,
    /// `[x]` without `=`: refused, as kubectl refuses it.
    BadMatch,
}

fn seg_kind(seg: &str) -> Seg<'_> {
    if seg == "*" {
        return Seg::Each;
    }
    if let Some(inner) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return match inner.split_once('=') {
            Some((k, v)) => Seg::Match(k, v),
            None => Seg::BadMatch,
        };
    }
    let digits = seg.strip_prefix('+').unwrap_or(seg);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = digits.parse::<usize>() {
            return Seg::Index(i);
        }
    }
    Seg::Field(seg)
}

const BAD_MATCH: &str = "a list path element must be [fieldName=fieldValue]";

fn wrong_kind(want: &str, seg: &str, v: &Value) -> String {
    format!(
        "`{seg}` expects {want}, found {}",
        super::fieldspec::kind_name(v)
    )
}

/// Splits a replacement field path on dots as kubectl does: `[name=x.y]` stays one
/// segment, and a bracketed segment holding dots without `=` (`[x.y/z]`) is the map key
/// `x.y/z`. A bracketed segment without dots (`[w]`) stays a (refused) list selector.
pub(crate) fn split_path(path: &str) -> Vec<String> {
    let mut out = path_pieces(path);
    out.retain(|s| !s.is_empty());
    out
}

/// The segments of a dotted field path, empty ones included.
fn path_pieces(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // `\.` is a dot inside a segment (`labels.app\.kubernetes\.io/name`).
    let mut split = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                cur.push('.');
                chars.next();
            }
            '.' => split.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    split.push(cur);
    let mut pieces = split.iter().map(String::as_str);
    while let Some(piece) = pieces.next() {
        if piece.starts_with('[') && !piece.ends_with(']') {
            let mut joined = piece.to_string();
            for more in pieces.by_ref() {
                joined.push('.');
                joined.push_str(more);
                if more.ends_with(']') {
                    break;
                }
            }
            if !joined.contains('=') {
                let inner = &joined[1..];
                joined = inner.strip_suffix(']').unwrap_or(inner).to_string();
            }
            out.push(joined);
        } else {
            out.push(piece.to_string());
        }
    }
    out
}

/// The values at `segs` under `v` for a replacement source: a missing key, index or
/// element finds nothing; a segment that does not fit the node's kind is an error.
pub(crate) fn lookup<'a>(
    v: &'a Value,
    segs: &[String],
    out: &mut Vec<&'a Value>,
) -> std::result::Result<(), String> {
    let Some((head, rest)) = segs.split_first() else {
        out.push(v);
        return Ok(());
    };
    if v.is_null() {
        return Ok(());
    }
    match (seg_kind(head), v) {
        (Seg::BadMatch, _) => Err(BAD_MATCH.into()),
        (Seg::Each, _) => Err("a wildcard `*` is not supported in a replacement source".into()),
        (Seg::Field(k), Value::Object(m)) => match m.get(k) {
            Some(child) => lookup(child, rest, out),
            None => Ok(()),
        },
        (Seg::Field(_), _) => Err(wrong_kind("a map", head, v)),
        (_, Value::Array(items)) => {
            match seg_kind(head) {
                Seg::Index(i) => {
                    if let Some(item) = items.get(i) {
                        lookup(item, rest, out)?;
                    }
                }
                // kubectl's lookup takes the first element that matches.
                Seg::Match(k, want) => {
                    if let Some(item) = items.iter().find(|i| element_matches(i, k, want)) {
                        lookup(item, rest, out)?;
                    }
                }
                _ => {
                    for item in items {
                        lookup(item, rest, out)?;
                    }
                }
            }
            Ok(())
        }
        _ => Err(wrong_kind("a list", head, v)),
    }
}

/// The map keys and list indexes of the value `segs` selects under `v` (the first
/// element that an element selector matches), if there is one.
fn place_of(v: &Value, segs: &[String]) -> Option<Vec<String>> {
    let mut at = Vec::with_capacity(segs.len());
    let mut cur = v;
    for seg in segs {
        cur = match (seg_kind(seg), cur) {
            (Seg::Field(k), Value::Object(m)) => {
                at.push(k.to_string());
                m.get(k)?
            }
            (Seg::Index(i), Value::Array(items)) => {
                at.push(i.to_string());
                items.get(i)?
            }
            (Seg::Match(k, want), Value::Array(items)) => {
                let (i, item) = items
                    .iter()
                    .enumerate()
                    .find(|(_, item)| element_matches(item, k, want))?;
                at.push(i.to_string());
                item
            }
            _ => return None,
        };
    }
    Some(at)
}

/// A new, empty node for the segment after it (`None` at the path's end: a null leaf).
fn new_node(next: Option<&String>) -> Value {
    match next.map(|s| seg_kind(s)) {
        None => Value::Null,
        // kubectl makes a map before `*` (which then finds no list).
        Some(Seg::Field(_) | Seg::Each) => Value::Object(Map::new()),
        Some(_) => Value::Array(Vec::new()),
    }
}

/// The end of the error for a pattern whose answer a quoted value's quotes could change.
const QUOTED_MATCH: &str =
    " written quoted is not supported (kubectl matches the pattern against the quoted YAML text)";

/// What `set_all` calls at each target: the value (`None` past an existing null), whether
/// it was just created, and its place (map keys and list indexes).
type Setter<'f> =
    dyn FnMut(Option<&mut Value>, bool, &[String]) -> std::result::Result<(), String> + 'f;

/// Calls `f` on every value at `segs` under `v`, creating missing map keys, the list
/// element just past the end and list elements selected by `[key=value]` when `create`
/// is set. A segment that does not fit the node's kind is an error, as in kubectl. An
/// existing null on the way ends the path: `f(None)` (nothing is written) with `create`,
/// nothing found without it. `f` also learns whether the value was just created.
fn set_all(
    v: &mut Value,
    segs: &[String],
    create: bool,
    f: &mut Setter<'_>,
    quoted: &dyn Fn(&[String]) -> bool,
) -> std::result::Result<(), String> {
    set_at(v, segs, create, false, &mut Vec::new(), f, quoted)
}

fn set_at(
    v: &mut Value,
    segs: &[String],
    create: bool,
    fresh: bool,
    at: &mut Vec<String>,
    f: &mut Setter<'_>,
    quoted: &dyn Fn(&[String]) -> bool,
) -> std::result::Result<(), String> {
    let Some((head, rest)) = segs.split_first() else {
        return f(Some(v), fresh, at);
    };
    let kind = seg_kind(head);
    if v.is_null() {
        return match kind {
            Seg::BadMatch => Err(BAD_MATCH.into()),
            _ if create => f(None, false, at),
            Seg::Index(i) => Err(format!("index {i} specified but only 0 elements found")),
            _ => Ok(()),
        };
    }
    match (kind, v) {
        (Seg::BadMatch, _) => Err(BAD_MATCH.into()),
        (Seg::Field(k), Value::Object(m)) => {
            let fresh = !m.contains_key(k);
            if fresh {
                if !create {
                    return Ok(());
                }
                m.insert(k.to_string(), new_node(rest.first()));
            }
            at.push(k.to_string());
            let res = match m.get_mut(k) {
                Some(child) => set_at(child, rest, create, fresh, at, f, quoted),
                None => Ok(()),
            };
            at.pop();
            res
        }
        (Seg::Field(_), v) => Err(wrong_kind("a map", head, v)),
        (Seg::Index(i), Value::Array(items)) => {
            let fresh = i == items.len() && create;
            if fresh {
                items.push(new_node(rest.first()));
            }
            let n = items.len();
            at.push(i.to_string());
            let res = match items.get_mut(i) {
                Some(item) => set_at(item, rest, create, fresh, at, f, quoted),
                None => Err(format!("index {i} specified but only {n} elements found")),
            };
            at.pop();
            res
        }
        (Seg::Match(k, want), Value::Array(items)) => {
            // In a target, kubectl reads the value as an unanchored pattern: `[name=app]`
            // also selects `app-sidecar`.
            // kubectl matches the element's YAML text, quotes and all: where a quoted
            // value's quotes could change the answer, it is not supported.
            let pattern = crate::goregex::compile(want).ok();
            let selects = |n: usize, i: &Value| match &pattern {
                Some(re) => {
                    let text = if k.is_empty() {
                        text_of(i)
                    } else {
                        i.get(k).and_then(text_of)
                    };
                    let Some(t) = text else { return Ok(false) };
                    let found = re.is_match(&t);
                    let mut path = at.clone();
                    path.push(n.to_string());
                    if !k.is_empty() {
                        path.push(k.to_string());
                    }
                    if quoted(&path)
                        && [format!("\"{t}\""), format!("'{t}'")]
                            .iter()
                            .any(|q| re.is_match(q) != found)
                    {
                        return Err(format!("[{k}={want}] against {t:?}{QUOTED_MATCH}"));
                    }
                    Ok(found)
                }
                None => Ok(element_matches(i, k, want)),
            };
            let mut chosen = Vec::with_capacity(items.len());
            for (n, item) in items.iter().enumerate() {
                chosen.push(selects(n, item)?);
            }
            let mut any = false;
            for (i, item) in items.iter_mut().enumerate().filter(|(n, _)| chosen[*n]) {
                any = true;
                at.push(i.to_string());
                let res = set_at(item, rest, create, false, at, f, quoted);
                at.pop();
                res?;
            }
            if !any && create && !k.is_empty() {
                let mut elem = Map::new();
                // The new element's key reads as plain YAML (`[port=444]` makes a number).
                elem.insert(k.to_string(), crate::yaml::parse::resolve_plain(want));
                items.push(Value::Object(elem));
                at.push((items.len() - 1).to_string());
                let res = match items.last_mut() {
                    Some(item) => set_at(item, rest, create, true, at, f, quoted),
                    None => Ok(()),
                };
                at.pop();
                res?;
            }
            Ok(())
        }
        (Seg::Each, Value::Array(items)) => {
            for (i, item) in items.iter_mut().enumerate() {
                at.push(i.to_string());
                let res = set_at(item, rest, create, false, at, f, quoted);
                at.pop();
                res?;
            }
            Ok(())
        }
        (_, v) => Err(wrong_kind("a list", head, v)),
    }
}

/// A resource selector of `replacements` (exact group, version, kind, name, namespace;
/// label and annotation selectors). Names match the current or any earlier name.
struct Selector {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: String,
    labels: Option<super::patch::LabelSelector>,
    annotations: Option<super::patch::LabelSelector>,
}

impl Selector {
    fn from_map(m: &Map<String, Value>) -> std::result::Result<Selector, String> {
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let sel = |k: &str| -> std::result::Result<Option<super::patch::LabelSelector>, String> {
            let text = s(k);
            if text.is_empty() {
                Ok(None)
            } else {
                super::patch::LabelSelector::parse(&text).map(Some)
            }
        };
        Ok(Selector {
            group: s("group"),
            version: s("version"),
            kind: s("kind"),
            name: s("name"),
            namespace: s("namespace"),
            labels: sel("labelSelector")?,
            annotations: sel("annotationSelector")?,
        })
    }

    fn matches(&self, r: &Resource) -> bool {
        self.id_matches(r) && self.selectors_match(r)
    }

    /// Whether `r` has the labels and annotations the selectors (those given) ask for.
    fn selectors_match(&self, r: &Resource) -> bool {
        self.labels
            .as_ref()
            .is_none_or(|s| s.matches(r.meta_map("labels")))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches(r.meta_map("annotations")))
    }

    /// Whether a `reject` entry rejects `r`: its id fields on their own, or its label and
    /// annotation selectors together, as kubectl reads a reject entry.
    fn rejects(&self, r: &Resource) -> bool {
        let id_given = [
            &self.group,
            &self.version,
            &self.kind,
            &self.name,
            &self.namespace,
        ]
        .iter()
        .any(|f| !f.is_empty());
        // An empty entry rejects nothing. The id rejects on its own; the label and
        // annotation selectors reject together, as kubectl checks them.
        let selectors_given = self.labels.is_some() || self.annotations.is_some();
        (id_given && self.id_matches(r)) || (selectors_given && self.selectors_match(r))
    }

    fn id_matches(&self, r: &Resource) -> bool {
        let g = r.gvk();
        let eq = |want: &str, have: &str| want.is_empty() || want == have;
        eq(&self.group, &g.group)
            && eq(&self.version, &g.version)
            && r.any_kind_ids().any(|(kind, name, ns)| {
                // As kubectl: no namespace and `default` are the same namespace here,
                // whatever the kind's scope.
                let ns_eq =
                    self.namespace.is_empty() || or_default(&self.namespace) == or_default(ns);
                eq(&self.kind, kind) && eq(&self.name, name) && ns_eq
            })
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("group", &self.group),
            ("version", &self.version),
            ("kind", &self.kind),
            ("name", &self.name),
            ("namespace", &self.namespace),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={v}"));
            }
        }
        format!("[{}]", parts.join(", "))
    }
}
