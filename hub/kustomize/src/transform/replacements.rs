//! `replacements`: copy a field of one object (the source) into fields of others (the
//! targets), with kustomize's dotted field paths (`a.b.[name=x].c`, `*`, list indexes),
//! delimiter/index options and `create`. Never reads files except `path:` entries.

use crate::kustomization::{canonical_object, Kustomization};
use crate::resource::Resource;
use crate::{Error, FileSystem, Result};
use serde_json::{Map, Value};

/// Runs the `replacements` field of `k`.
pub(crate) fn field(fsys: &dyn FileSystem, k: &Kustomization, acc: &mut [Resource]) -> Result<()> {
    let Some(v) = k.get("replacements") else {
        return Ok(());
    };
    let Value::Array(items) = v else {
        return Err(k.field_err("replacements", "expected a list"));
    };
    let mut reps = Vec::new();
    for item in items {
        let path = item
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.get("path"))
            .and_then(Value::as_str);
        let Some(path) = path else {
            reps.push(item.clone());
            continue;
        };
        let (text, file) = crate::build::read_local_text(fsys, k, "replacements", path)?;
        let docs = crate::yaml::parse_documents(&text).map_err(|e| Error::Yaml {
            path: file.clone(),
            line: e.line,
            message: e.message,
        })?;
        for d in docs.into_iter().filter(|d| !d.value.is_null()) {
            match d.value {
                Value::Array(list) => reps.extend(list),
                other => reps.push(other),
            }
        }
    }
    apply(&reps, acc).map_err(|m| k.field_err("replacements", m))
}

/// Applies replacement definitions (each `{source, targets}`) in order.
pub(crate) fn apply(reps: &[Value], acc: &mut [Resource]) -> std::result::Result<(), String> {
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
        let value = source_value(source, acc)?;
        for t in &targets {
            apply_target(t, &value, acc)?;
        }
    }
    Ok(())
}

const SELECT_FIELDS: &[&str] = &[
    "group",
    "version",
    "kind",
    "name",
    "namespace",
    "labelSelector",
    "annotationSelector",
];

fn source_value(source: &Value, acc: &[Resource]) -> std::result::Result<Value, String> {
    // A source is an object id, not a selector: no label or annotation selectors.
    let fields = [
        "group",
        "version",
        "kind",
        "name",
        "namespace",
        "fieldPath",
        "options",
    ];
    let m = canonical_object(source, &fields)?;
    let sel = Selector::from_map(&m)?;
    let found: Vec<&Resource> = acc.iter().filter(|r| sel.matches(r)).collect();
    let r = match found.as_slice() {
        [one] => *one,
        [] => return Err(format!("nothing selected by {}", sel.describe())),
        _ => return Err(format!("multiple matches for selector {}", sel.describe())),
    };
    let path = m
        .get("fieldPath")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .unwrap_or("metadata.name");
    let segs = split_field_path(path);
    let obj = Value::Object(r.obj.clone());
    let mut hits = Vec::new();
    get_all(&obj, &segs, &mut hits);
    let value = match hits.as_slice() {
        // A null source (`~`, `null`) counts as missing, as in kubectl.
        [one] if !one.is_null() => (*one).clone(),
        [] | [_] => {
            return Err(format!(
                "fieldPath `{path}` is missing for replacement source {}",
                r.describe()
            ))
        }
        _ => return Err(format!("fieldPath `{path}` matches more than one value")),
    };
    let opts = options(m.get("options"))?;
    if let Some(delim) = opts.delimiter.filter(|d| !d.is_empty()) {
        let Value::String(s) = &value else {
            return Err("delimiter option can only be used with scalar nodes".into());
        };
        let parts: Vec<&str> = s.split(delim.as_str()).collect();
        let i = opts.index;
        if i < 0 || i as usize >= parts.len() {
            return Err(format!("options.index {i} is out of bounds for value {s}"));
        }
        return Ok(Value::String(parts[i as usize].to_string()));
    }
    Ok(value)
}

struct Options {
    delimiter: Option<String>,
    index: i64,
    create: bool,
}

fn options(v: Option<&Value>) -> std::result::Result<Options, String> {
    let m = match v {
        None | Some(Value::Null) => Map::new(),
        Some(v) => canonical_object(v, &["delimiter", "index", "create"])?,
    };
    Ok(Options {
        delimiter: m
            .get("delimiter")
            .and_then(Value::as_str)
            .map(str::to_string),
        index: m.get("index").and_then(Value::as_i64).unwrap_or(0),
        create: m.get("create").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn apply_target(t: &Value, value: &Value, acc: &mut [Resource]) -> std::result::Result<(), String> {
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
    let paths: Vec<String> = match m.get("fieldPaths") {
        Some(Value::Array(p)) => p
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
    for r in acc.iter_mut() {
        if !select.matches(r) || rejects.iter().any(|x| !x.is_empty() && x.matches(r)) {
            continue;
        }
        let mut obj = Value::Object(std::mem::take(&mut r.obj));
        let mut result = Ok(());
        for p in &paths {
            let segs = split_field_path(p);
            let mut found = false;
            let res = set_all(&mut obj, &segs, opts.create, &mut |node| {
                found = true;
                set_value(node, value, &opts)
            });
            if let Err(e) = res {
                result = Err(e);
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
        result?;
    }
    Ok(())
}

fn set_value(node: &mut Value, value: &Value, opts: &Options) -> std::result::Result<(), String> {
    let Some(delim) = opts.delimiter.as_deref().filter(|d| !d.is_empty()) else {
        // As kustomize copies only the scalar's text: a string target stays a string, and
        // a new or non-string target reads the text as plain YAML.
        *node = match (&*node, value) {
            // A map or list has no scalar text: a string target becomes empty.
            (Value::String(_), v) => Value::String(text_of(v).unwrap_or_default()),
            (_, Value::String(s)) => crate::yaml::parse::resolve_plain(s),
            (_, v) => v.clone(),
        };
        return Ok(());
    };
    let cur = match node {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        _ => return Err("delimiter option can only be used with scalar nodes".into()),
    };
    let new = text_of(value).ok_or("delimiter option can only be used with scalar nodes")?;
    let mut parts: Vec<String> = cur.split(delim).map(str::to_string).collect();
    let i = opts.index;
    if i < 0 {
        parts.insert(0, new);
    } else if i as usize >= parts.len() {
        parts.push(new);
    } else {
        parts[i as usize] = new;
    }
    *node = Value::String(parts.join(delim));
    Ok(())
}

/// Splits `a.b.[name=x.y].c` on dots outside brackets; `[x.y/z]` is the key `x.y/z`.
pub(crate) fn split_field_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            '.' if depth == 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.retain(|s| !s.is_empty());
    // `[key]` without `=` is a map key that may hold dots or slashes.
    for seg in out.iter_mut() {
        if let Some(key) = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            if !key.contains('=') {
                *seg = key.to_string();
            }
        }
    }
    out
}

/// `[key=value]` in a path segment.
fn list_selector(seg: &str) -> Option<(&str, &str)> {
    seg.strip_prefix('[')?.strip_suffix(']')?.split_once('=')
}

/// The text of a scalar (strings as they are).
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(_) | Value::Object(_) => None,
        other => crate::yaml::emit::scalar_text(other),
    }
}

fn element_matches(item: &Value, key: &str, want: &str) -> bool {
    if key.is_empty() {
        return text_of(item).as_deref() == Some(want);
    }
    item.get(key).and_then(text_of).as_deref() == Some(want)
}

/// Every value at `segs` under `v`.
pub(crate) fn get_all<'a>(v: &'a Value, segs: &[String], out: &mut Vec<&'a Value>) {
    let Some((head, rest)) = segs.split_first() else {
        out.push(v);
        return;
    };
    match v {
        Value::Object(m) => {
            if head == "*" {
                for child in m.values() {
                    get_all(child, rest, out);
                }
            } else if let Some(child) = m.get(head.as_str()) {
                get_all(child, rest, out);
            }
        }
        Value::Array(items) => {
            if head == "*" {
                for item in items {
                    get_all(item, rest, out);
                }
            } else if let Some((k, want)) = list_selector(head) {
                for item in items.iter().filter(|i| element_matches(i, k, want)) {
                    get_all(item, rest, out);
                }
            } else if let Ok(i) = head.parse::<usize>() {
                if let Some(item) = items.get(i) {
                    get_all(item, rest, out);
                }
            }
        }
        _ => {}
    }
}

/// Calls `f` on every value at `segs` under `v`, creating missing maps (and list elements
/// selected by `[key=value]`) when `create` is set.
fn set_all(
    v: &mut Value,
    segs: &[String],
    create: bool,
    f: &mut dyn FnMut(&mut Value) -> std::result::Result<(), String>,
) -> std::result::Result<(), String> {
    let Some((head, rest)) = segs.split_first() else {
        return f(v);
    };
    if v.is_null() && create {
        *v = if list_selector(head).is_some() {
            Value::Array(Vec::new())
        } else {
            Value::Object(Map::new())
        };
    }
    match v {
        Value::Object(m) => {
            if head == "*" {
                for child in m.values_mut() {
                    set_all(child, rest, create, f)?;
                }
                return Ok(());
            }
            if !m.contains_key(head.as_str()) {
                if !create {
                    return Ok(());
                }
                m.insert(head.clone(), Value::Null);
            }
            match m.get_mut(head.as_str()) {
                Some(child) => set_all(child, rest, create, f),
                None => Ok(()),
            }
        }
        Value::Array(items) => {
            if head == "*" {
                for item in items.iter_mut() {
                    set_all(item, rest, create, f)?;
                }
            } else if let Some((k, want)) = list_selector(head) {
                let mut any = false;
                for item in items.iter_mut().filter(|i| element_matches(i, k, want)) {
                    any = true;
                    set_all(item, rest, create, f)?;
                }
                if !any && create && !k.is_empty() {
                    let mut elem = Map::new();
                    elem.insert(k.to_string(), Value::String(want.to_string()));
                    items.push(Value::Object(elem));
                    if let Some(item) = items.last_mut() {
                        set_all(item, rest, create, f)?;
                    }
                }
            } else if let Ok(i) = head.parse::<usize>() {
                if let Some(item) = items.get_mut(i) {
                    set_all(item, rest, create, f)?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A namespace, with none read as `default`.
fn or_default(ns: &str) -> &str {
    if ns.is_empty() {
        "default"
    } else {
        ns
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

    fn is_empty(&self) -> bool {
        self.group.is_empty()
            && self.version.is_empty()
            && self.kind.is_empty()
            && self.name.is_empty()
            && self.namespace.is_empty()
            && self.labels.is_none()
            && self.annotations.is_none()
    }

    fn matches(&self, r: &Resource) -> bool {
        let g = r.gvk();
        let eq = |want: &str, have: &str| want.is_empty() || want == have;
        eq(&self.group, &g.group)
            && eq(&self.version, &g.version)
            && eq(&self.kind, &g.kind)
            && r.any_ids().any(|(name, ns)| {
                // As kubectl: no namespace and `default` are the same namespace here,
                // whatever the kind's scope.
                let ns_eq =
                    self.namespace.is_empty() || or_default(&self.namespace) == or_default(ns);
                eq(&self.name, name) && ns_eq
            })
            && self
                .labels
                .as_ref()
                .is_none_or(|s| s.matches(r.meta_map("labels")))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches(r.meta_map("annotations")))
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
