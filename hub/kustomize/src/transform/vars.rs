//! Legacy `vars`: a name bound to a field of one object, substituted for `$(NAME)` in the
//! var-reference fields of every object once the whole build is done (after name
//! references), with Kubernetes' `$(VAR)` expansion rules (`$$` escapes a dollar).
//! Never substitutes outside the configured var-reference fields.

use super::fieldspec;
use super::Layer;
use crate::kustomization::{canonical_object, Kustomization};
use crate::resource::{or_default, Resource, Untyped};
use crate::{Error, Result};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// One declared var.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Var {
    name: String,
    group: String,
    version: String,
    kind: String,
    obj_name: String,
    namespace: String,
    field_path: String,
    /// The kustomization that declared it, for messages.
    file: String,
}

fn parse(k: &Kustomization) -> Result<Vec<Var>> {
    let mut out = Vec::new();
    for v in k.obj_list("vars", &["name", "objref", "fieldref"])? {
        let err = |m: String| k.field_err("vars", m);
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err("each var needs a name".into()))?
            .to_string();
        let objref = canonical_object(
            v.get("objref").unwrap_or(&Value::Object(Map::new())),
            &[
                "apiVersion",
                "group",
                "version",
                "kind",
                "name",
                "namespace",
            ],
        )
        .map_err(|e| err(format!("{name}: objref: {e}")))?;
        let s = |m: &Map<String, Value>, key: &str| {
            m.get(key).and_then(Value::as_str).unwrap_or("").to_string()
        };
        let (mut group, mut version) = (s(&objref, "group"), s(&objref, "version"));
        let api = s(&objref, "apiVersion");
        if !api.is_empty() {
            match api.rsplit_once('/') {
                Some((g, ver)) => {
                    group = g.to_string();
                    version = ver.to_string();
                }
                None => version = api,
            }
        }
        let field_path = match v.get("fieldref") {
            Some(f) if !f.is_null() => {
                let f = canonical_object(f, &["fieldPath"])
                    .map_err(|e| err(format!("{name}: fieldref: {e}")))?;
                s(&f, "fieldPath").trim().to_string()
            }
            _ => String::new(),
        };
        out.push(Var {
            name,
            group,
            version,
            kind: s(&objref, "kind"),
            obj_name: s(&objref, "name"),
            namespace: s(&objref, "namespace"),
            field_path: if field_path.is_empty() {
                "metadata.name".into()
            } else {
                field_path
            },
            file: k.file.clone(),
        });
    }
    Ok(out)
}

/// Adds vars from below; a name may be declared once.
pub(crate) fn merge(dst: &mut Vec<Var>, more: Vec<Var>, k: &Kustomization) -> Result<()> {
    for v in more {
        if dst.iter().any(|d| d.name == v.name) {
            return Err(Error::Conflict {
                path: k.file.clone(),
                message: format!("var '{}' already encountered", v.name),
            });
        }
        dst.push(v);
    }
    Ok(())
}

/// Declares `k`'s vars: binds each to the one object that has (or had) the id it names.
pub(crate) fn declare(k: &Kustomization, layer: &mut Layer) -> Result<()> {
    let vars = parse(k)?;
    for v in &vars {
        let cluster = crate::scope::kustomize_cluster_scoped(&crate::Gvk {
            group: v.group.clone(),
            version: v.version.clone(),
            kind: v.kind.clone(),
        });
        // An object of a cluster-scoped kind has no namespace to kubectl here: an objref
        // naming one (even `default`) finds none, and its own is not looked at.
        let fits_ns = |ns: &str| match (cluster, v.namespace.as_str()) {
            (true, wanted) => wanted.is_empty(),
            (false, "") => true,
            (false, wanted) => or_default(wanted) == or_default(ns),
        };
        let matched: Vec<usize> = layer
            .res
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                let g = r.gvk();
                v.group == g.group
                    && v.version == g.version
                    && r.any_kind_ids()
                        .any(|(kind, name, ns)| v.kind == kind && v.obj_name == name && fits_ns(ns))
            })
            .map(|(i, _)| i)
            .collect();
        if matched.len() > 1 {
            return Err(k.field_err(
                "vars",
                format!(
                    "found {} resId matches for var {} (unable to disambiguate)",
                    matched.len(),
                    v.name
                ),
            ));
        }
        if let [i] = matched.as_slice() {
            layer.res[*i].ref_vars.push(v.name.clone());
        }
    }
    merge(&mut layer.vars, vars, k)
}

/// Substitutes every var into the var-reference fields of the final objects.
pub(crate) fn resolve(layer: &mut Layer) -> Result<()> {
    if layer.vars.is_empty() {
        return Ok(());
    }
    let mut values: HashMap<String, Value> = HashMap::new();
    for v in &layer.vars {
        let Some(r) = layer.res.iter().find(|r| r.ref_vars.contains(&v.name)) else {
            return Err(Error::Invalid {
                path: v.file.clone(),
                message: format!(
                    "var '{}' cannot be mapped to a field in the set of known resources",
                    v.name
                ),
            });
        };
        let value = field_value(r, &v.field_path).ok_or_else(|| Error::Invalid {
            path: v.file.clone(),
            message: format!(
                "field specified in var '{}' ({}) not found in corresponding resource {}",
                v.name,
                v.field_path,
                r.describe()
            ),
        })?;
        // kubectl replaces a var only with a scalar: a map or a list leaves every
        // reference to it as it is.
        if !matches!(value, Value::Object(_) | Value::Array(_)) {
            values.insert(v.name.clone(), value);
        }
    }
    let specs = &layer.config.lists().var_reference;
    for r in layer.res.iter_mut() {
        let origin = r.origin.clone();
        let untyped = std::mem::take(&mut r.untyped);
        let texts = r.texts.clone();
        fieldspec::apply(r, specs, None, &mut |v, steps| {
            substitute(v, &mut fieldspec::keys(steps), (&untyped, &texts), &values)
        })
        .map_err(|message| Error::Invalid {
            path: origin,
            message,
        })?;
        r.untyped = untyped;
    }
    Ok(())
}

/// Expands references in a string, in each string of a list (which may hold nothing
/// else, as in kubectl) and in each string value of a map. A number or boolean a
/// replacement created reads as the string of its text here, as in kubectl; a folded
/// scalar is set again as it was read, without the fold kubectl's writing back adds.
fn substitute(
    v: &mut Value,
    at: &mut Vec<String>,
    (untyped, texts): (&[Untyped], &crate::resource::Texts),
    values: &HashMap<String, Value>,
) -> std::result::Result<(), String> {
    let as_string = |v: &mut Value, at: &[String]| {
        if let Some(u) = untyped.iter().find(|u| u.at == at && u.value == *v) {
            *v = Value::String(u.text.clone());
        }
        if texts.as_ref().is_some_and(|t| !t.folded.is_empty()) {
            let pointer = crate::yaml::parse::json_pointer(at);
            if let Some(read) = crate::resource::folded_at(texts, &pointer, v) {
                *v = Value::String(read.to_string());
            }
        }
    };
    match v {
        Value::Number(_) | Value::Bool(_) | Value::String(_) => {
            as_string(v, at);
            if let Value::String(s) = v {
                if let Some(new) = expand(s, values)? {
                    *v = new;
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                at.push(i.to_string());
                as_string(item, at);
                at.pop();
                let Value::String(s) = item else {
                    return Err(format!(
                        "a var reference list may hold only strings, found {}",
                        super::fieldspec::kind_name(item)
                    ));
                };
                if let Some(new) = expand(s, values)? {
                    *item = new;
                }
            }
        }
        Value::Object(m) => {
            for (k, item) in m.iter_mut() {
                at.push(k.clone());
                as_string(item, at);
                at.pop();
                if let Value::String(s) = item {
                    if let Some(new) = expand(s, values)? {
                        *item = new;
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Kubernetes' `$(VAR)` expansion; `None` when nothing changes. A string that is exactly
/// one reference to a non-string value takes that value.
fn expand(s: &str, values: &HashMap<String, Value>) -> std::result::Result<Option<Value>, String> {
    if !s.contains('$') {
        return Ok(None);
    }
    if let Some(name) = s.strip_prefix("$(").and_then(|r| r.strip_suffix(')')) {
        if !name.contains(')') {
            if let Some(v) = values.get(name) {
                if !v.is_string() {
                    return Ok(Some(v.clone()));
                }
            }
        }
    }
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&s[checkpoint..cursor]);
            let rest = &s[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest[1..].find(')') {
                    Some(end) => {
                        let name = &rest[1..end + 1];
                        match values.get(name) {
                            Some(Value::String(v)) => out.push_str(v),
                            // Go's `%v`: a float inside a string is `1e+06`, `-0`.
                            Some(Value::Number(n)) if n.is_f64() => out.push_str(
                                &crate::yaml::emit::go_format_g(n.as_f64().unwrap_or_default()),
                            ),
                            Some(v) => {
                                out.push_str(&crate::yaml::emit::scalar_text(v).unwrap_or_default())
                            }
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        end + 2
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                // kubectl writes the byte after a `$` as a character of its own, which
                // breaks a character of several bytes.
                _ if !rest.is_char_boundary(1) => {
                    return Err(format!(
                        "{s:?}: a `$` before a non-ASCII character in a field vars expand, which kubectl garbles, is not supported"
                    ));
                }
                _ => {
                    out.push('$');
                    let c = rest.chars().next().map_or(0, char::len_utf8);
                    out.push_str(&rest[..c]);
                    c
                }
            };
            cursor += advance + 1;
            checkpoint = cursor;
        } else {
            cursor += 1;
        }
    }
    out.push_str(&s[checkpoint..]);
    Ok((out != s).then_some(Value::String(out)))
}

/// `[digits]`.
fn is_index(seg: &str) -> bool {
    seg.len() > 2
        && seg.starts_with('[')
        && seg.ends_with(']')
        && seg[1..seg.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

/// The value at a var's field path (`a.b[0].c` or `a.b.0.c`, `.[name=x]` selectors,
/// `.[x.y/z]` keys). As in kubectl, a bracket glued to a name holds only an index
/// (`labels[app]` finds nothing), and a path that does not fit the object finds nothing.
fn field_value(r: &Resource, path: &str) -> Option<Value> {
    let mut segs = Vec::new();
    for seg in super::replacements::split_path(path) {
        match seg.find('[') {
            // `.[0].`: an index too.
            Some(0) if is_index(&seg) => segs.push(seg[1..seg.len() - 1].to_string()),
            Some(i) if i > 0 && seg.ends_with(']') => {
                let idx = &seg[i + 1..seg.len() - 1];
                if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                segs.push(seg[..i].to_string());
                segs.push(idx.to_string());
            }
            _ => segs.push(seg),
        }
    }
    let obj = Value::Object(r.obj.clone());
    let mut hits = Vec::new();
    super::replacements::lookup(&obj, &segs, &mut hits).ok()?;
    // A scalar a replacement created is untagged in kubectl: the var reads its text.
    if let [one] = hits.as_slice() {
        if let Some(u) = r.untyped.iter().find(|u| u.at == segs && u.value == **one) {
            return Some(Value::String(u.text.clone()));
        }
    }
    let value = match hits.as_slice() {
        [one] if !one.is_null() => (*one).clone(),
        // An explicit null is its text to kubectl's var (`null`, `~`, or nothing).
        [one] => return r.source_text(&segs, one).map(|t| Value::String(t.into())),
        _ => return None,
    };
    // A folded scalar is read as read, without the fold kubectl's writing back adds.
    if let Some(read) = r.folded_as_read(&segs, &value) {
        return Some(Value::String(read.to_string()));
    }
    // A string a patch wrote as a number or boolean onto a quoted one is of that type to
    // kubectl's var.
    let retyped = r
        .texts
        .as_ref()
        .and_then(|t| t.retyped.get(&crate::yaml::parse::json_pointer(&segs)));
    if let (Value::String(text), Some(typed)) = (&value, retyped) {
        if typed.is_boolean() {
            return Some(typed.clone());
        }
        return number_from_text(text);
    }
    // kubectl reads a number for a var from its text as written, in decimal (`0644` is
    // 644) or as a float; other forms (`0x1F`, `1_000`) it cannot read.
    if let (Value::Number(_), Some(text)) = (&value, r.source_text(&segs, &value)) {
        return number_from_text(text);
    }
    // A plain date is the text it was written as to a var, not the timestamp it reads as.
    if let (Value::String(_), Some(text)) = (&value, r.source_text(&segs, &value)) {
        if crate::yaml::parse::parse_timestamp(text).is_some() {
            return Some(Value::String(text.to_string()));
        }
    }
    Some(value)
}

/// A number as kubectl reads one for a var from its text: decimal digits (`0644` is 644)
/// or a float; other forms (`0x1F`, `1_000`) it cannot read.
fn number_from_text(text: &str) -> Option<Value> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // Beyond 64 bits kubectl reads the digits as a float.
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::from(i));
        }
    }
    let f = text.parse::<f64>().ok().filter(|f| f.is_finite())?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        let mut values = HashMap::new();
        values.insert("A".to_string(), Value::String("x".into()));
        values.insert("N".to_string(), Value::from(8080));
        let got = expand(input, &values).unwrap().map(|v| match v {
            Value::String(s) => s,
            other => format!("<{other}>"),
        });
        assert_eq!(got.as_deref(), expected, "{input}");
    }

    #[test]
    fn a_dollar_before_a_multi_byte_character_is_refused() {
        let err = expand("cost: $é", &HashMap::new()).unwrap_err();
        assert!(err.contains("not supported"), "{err}");
        assert_eq!(
            expand("$$é", &HashMap::new())
                .unwrap()
                .as_ref()
                .and_then(Value::as_str),
            Some("$é")
        );
    }

    #[test]
    fn expansion_follows_kubernetes_rules() {
        check("$(A)", Some("x"));
        check("a-$(A)-b", Some("a-x-b"));
        check("$$(A)", Some("$(A)"));
        check("$(B)", None);
        check("$(N)", Some("<8080>"));
        check("port $(N)", Some("port 8080"));
        check("$(A", None);
        check("cost $5", None);
        check("no vars", None);
    }
}
