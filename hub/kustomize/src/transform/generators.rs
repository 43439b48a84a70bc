//! `configMapGenerator`, `secretGenerator` and `generatorOptions`: building ConfigMaps and
//! Secrets from literals, files and env files, merging them into objects from bases, and
//! the content-hash name suffix, computed exactly as kustomize's hasher does.

use crate::kustomization::{canonical_object, Kustomization};
use crate::resource::{or_default, Resource};
use crate::{fs, Error, Result};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub(crate) const GEN_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "behavior",
    "files",
    "literals",
    "envs",
    "env",
    "options",
    "type",
    "kvSources",
];
const OPT_FIELDS: &[&str] = &[
    "labels",
    "annotations",
    "disableNameSuffixHash",
    "immutable",
];

#[derive(Default, Clone)]
pub(crate) struct Options {
    labels: Map<String, Value>,
    annotations: Map<String, Value>,
    disable_hash: Option<bool>,
    immutable: Option<bool>,
}

pub(crate) fn options(v: Option<&Value>, k: &Kustomization, field: &str) -> Result<Options> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Options::default());
    };
    let m = canonical_object(v, OPT_FIELDS).map_err(|e| k.field_err(field, e))?;
    let map = |key: &str| -> Result<Map<String, Value>> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            // A null value is an empty string, as kubectl reads it.
            Some(o @ Value::Object(_)) => super::string_pairs(o)
                .ok_or_else(|| k.field_err(field, format!("{key}: expected a map of strings"))),
            _ => Err(k.field_err(field, format!("{key}: expected a map of strings"))),
        }
    };
    for key in ["disableNameSuffixHash", "immutable"] {
        if m.get(key).is_some_and(|v| !v.is_boolean() && !v.is_null()) {
            let at = if field == "generatorOptions" {
                ""
            } else {
                "options."
            };
            return Err(k.field_err(field, format!("{at}{key}: expected true or false")));
        }
    }
    Ok(Options {
        labels: map("labels")?,
        annotations: map("annotations")?,
        disable_hash: m.get("disableNameSuffixHash").and_then(Value::as_bool),
        immutable: m.get("immutable").and_then(Value::as_bool),
    })
}

/// Runs both generators of `k`, adding to or merging into `acc`.
pub(crate) fn run(
    fsys: &dyn crate::FileSystem,
    k: &Kustomization,
    acc: &mut Vec<Resource>,
) -> Result<()> {
    let global = options(k.get("generatorOptions"), k, "generatorOptions")?;
    for (field, kind) in [
        ("configMapGenerator", "ConfigMap"),
        ("secretGenerator", "Secret"),
    ] {
        for (i, g) in k.obj_list(field, GEN_FIELDS)?.into_iter().enumerate() {
            // kubectl decodes a ConfigMap generator strictly, and it has no `type`.
            if kind == "ConfigMap" && g.contains_key("type") {
                return Err(Error::Invalid {
                    path: k.file.clone(),
                    message: format!("{field}[{i}]: unknown field \"type\""),
                });
            }
            generate(fsys, k, field, kind, &g, &global, acc)?;
        }
    }
    Ok(())
}

/// Runs one generator over `acc`: creates its object, or merges it into or replaces the
/// one of that name. Gives the index of the object now made by this generator (created
/// or replaced; a merged one keeps its origin).
pub(crate) fn generate(
    fsys: &dyn crate::FileSystem,
    k: &Kustomization,
    field: &str,
    kind: &str,
    g: &Map<String, Value>,
    global: &Options,
    acc: &mut Vec<Resource>,
) -> Result<Option<usize>> {
    // As kubectl reads these into strings: another kind of value is an error.
    for key in ["name", "namespace", "behavior", "type"] {
        if g.get(key).is_some_and(|v| !v.is_string() && !v.is_null()) {
            return Err(k.field_err(field, format!("{key}: expected a string")));
        }
    }
    let s = |key: &str| g.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let name = s("name");
    if name.is_empty() {
        return Err(k.field_err(field, "a generator needs a name"));
    }
    if g.contains_key("kvSources") {
        return Err(Error::Unsupported {
            path: k.file.clone(),
            field: format!("{field}.kvSources"),
            what: "kvSources (key-value source plugins)".into(),
        });
    }
    let field_name = format!("{field}[{name}]");
    let list = |key: &str| -> Result<Vec<String>> {
        match g.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| k.field_err(&field_name, format!("{key}: expected strings")))
                })
                .collect(),
            Some(Value::String(one)) if key == "env" => Ok(vec![one.clone()]),
            Some(_) => Err(k.field_err(&field_name, format!("{key}: expected a list"))),
        }
    };
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut envs = list("envs")?;
    envs.extend(list("env")?);
    for env in &envs {
        let text = read(fsys, k, &field_name, env)?;
        let text = String::from_utf8(text)
            .map_err(|_| k.field_err(&field_name, format!("{env}: not UTF-8")))?;
        for (i, line) in text
            .trim_start_matches('\u{feff}')
            .split_terminator('\n')
            .enumerate()
        {
            // kubectl reads lines of up to 64 KiB and silently stops at a longer one.
            if line.len() >= MAX_ENV_LINE {
                break;
            }
            // One carriage return before the line's end goes (`x\r\r` keeps one), as in
            // kubectl; so does one ending the last line.
            let line = line.strip_suffix('\r').unwrap_or(line);
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(Error::Invalid {
                    path: fs::join(&k.dir, env).unwrap_or_default(),
                    message: format!("line {}: {line:?} has no '=': values from the environment are not supported", i + 1),
                });
            };
            // A line without a key (`=v`) is skipped, as kubectl skips it.
            if key.is_empty() {
                continue;
            }
            pairs.push((key.to_string(), value.as_bytes().to_vec()));
        }
    }
    for lit in list("literals")? {
        let Some((key, value)) = lit.split_once('=').filter(|(key, _)| !key.is_empty()) else {
            return Err(k.field_err(
                &field_name,
                format!("literal {lit:?} is not of the form key=value"),
            ));
        };
        let v = value.as_bytes();
        let v = if v.len() >= 2 && (v[0] == b'"' || v[0] == b'\'') && v[v.len() - 1] == v[0] {
            &v[1..v.len() - 1]
        } else {
            v
        };
        pairs.push((key.to_string(), v.to_vec()));
    }
    for file in list("files")? {
        let (key, path) = match file.split_once('=') {
            Some(("", _)) => {
                return Err(k.field_err(
                    &field_name,
                    format!("files: {file:?} has no key name before '='"),
                ))
            }
            Some((_, "")) => {
                return Err(k.field_err(
                    &field_name,
                    format!("files: {file:?} has no file path after '='"),
                ))
            }
            Some((_, path)) if path.contains('=') => {
                return Err(k.field_err(
                    &field_name,
                    format!("files: {file:?}: a key name or file path contains '='"),
                ))
            }
            Some((key, path)) => (key.to_string(), path.to_string()),
            None => (
                file.rsplit('/').next().unwrap_or(&file).to_string(),
                file.clone(),
            ),
        };
        pairs.push((key, read(fsys, k, &field_name, &path)?));
    }
    let mut data = Map::new();
    let mut binary = Map::new();
    for (key, value) in pairs {
        if data.contains_key(&key) || binary.contains_key(&key) {
            return Err(k.field_err(&field_name, format!("duplicate key {key:?}")));
        }
        if let Some(problem) = unwritable_key(&key) {
            return Err(k.field_err(&field_name, problem));
        }
        if kind == "Secret" {
            data.insert(key, Value::String(base64_lines(&value)));
        } else {
            match String::from_utf8(value) {
                Ok(s) => {
                    if leading_tab_block(&s) {
                        return Err(k.field_err(
                            &field_name,
                            format!(
                                "the value of {key:?} starts with a tab and spans lines: kubectl \
                                 writes it as a YAML block and fails to read it back (a tab \
                                 character where an indentation space is expected)"
                            ),
                        ));
                    }
                    data.insert(key, Value::String(s));
                }
                Err(e) => {
                    binary.insert(key, Value::String(base64_lines(e.as_bytes())));
                }
            }
        }
    }
    let local = options(g.get("options"), k, &field_name)?;
    let mut labels = global.labels.clone();
    labels.extend(local.labels.clone());
    let mut annotations = global.annotations.clone();
    annotations.extend(local.annotations.clone());
    // A global `true` wins over a local `false`, as kustomize merges the options.
    let disable_hash = local.disable_hash.unwrap_or(false) || global.disable_hash.unwrap_or(false);
    let immutable = local.immutable.unwrap_or(false) || global.immutable.unwrap_or(false);
    if let Some(problem) = labels
        .keys()
        .chain(annotations.keys())
        .find_map(|k| unwritable_key(k))
    {
        return Err(k.field_err(&field_name, problem));
    }

    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(name.clone()));
    let namespace = s("namespace");
    if !namespace.is_empty() {
        meta.insert("namespace".into(), Value::String(namespace.clone()));
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String("v1".into()));
    obj.insert("kind".into(), Value::String(kind.into()));
    obj.insert("metadata".into(), Value::Object(meta));
    // kubectl's generated Secret always has data, if empty.
    if !data.is_empty() || kind == "Secret" {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    if kind == "Secret" {
        let t = s("type");
        obj.insert(
            "type".into(),
            Value::String(if t.is_empty() { "Opaque".into() } else { t }),
        );
    }
    if immutable {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let mut r = Resource::new(obj, &k.file);
    r.written = Some(k.written_file());
    r.quote_as_written_out();
    r.generated_by = Some(if kind == "Secret" {
        "SecretGenerator"
    } else {
        "ConfigMapGenerator"
    });
    r.needs_hash = !disable_hash;

    // kubectl reads a behavior it does not know as create.
    let behavior = match s("behavior").as_str() {
        b @ ("merge" | "replace") => b.to_string(),
        _ => "create".to_string(),
    };
    // No namespace is `default`, on either side.
    let want_ns = or_default(&namespace);
    let same_kind = |e: &Resource| e.kind() == kind && e.gvk().group.is_empty();
    // Every behavior looks for the one object that has, or had, this name and namespace
    // (create to refuse it).
    let existing = {
        let found: Vec<usize> = acc
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                same_kind(e)
                    && e.any_ids()
                        .any(|(n, ns)| n == name && or_default(ns) == want_ns)
            })
            .map(|(i, _)| i)
            .collect();
        if found.len() > 1 {
            return Err(k.field_err(
                &field_name,
                format!(
                    "behavior {behavior}: several objects could be {kind} {name:?}: {}",
                    found
                        .iter()
                        .map(|i| acc[*i].describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        found.first().copied()
    };
    let made = match (behavior.as_str(), existing) {
        ("" | "create", None) => {
            acc.push(r);
            Some(acc.len() - 1)
        }
        ("" | "create", Some(_)) => {
            return Err(k.field_err(
                &field_name,
                format!("{kind} {name:?} already exists; use behavior: merge or replace"),
            ))
        }
        ("merge" | "replace", None) => {
            return Err(k.field_err(
                &field_name,
                format!(
                    "behavior {behavior}: no {kind} named {name:?} in the resources to {behavior}"
                ),
            ))
        }
        ("merge" | "replace", Some(i)) => {
            let base = &mut acc[i];
            as_text_maps(base);
            base.unfold_children("data");
            let merge = behavior == "merge";
            for key in ["data", "binaryData"] {
                let new = r.obj.remove(key);
                if merge {
                    if let Some(Value::Object(new)) = new {
                        let slot = base
                            .obj
                            .entry(key)
                            .or_insert_with(|| Value::Object(Map::new()));
                        if let Value::Object(m) = slot {
                            m.extend(new);
                        }
                    }
                    // kubectl sets the merged map anew, and an empty one not at all.
                    let empty = |m: &Value| m.as_object().is_none_or(Map::is_empty);
                    if base.obj.get(key).is_none_or(empty) {
                        base.obj.remove(key);
                    }
                } else {
                    base.obj.remove(key);
                    if let Some(new) = new {
                        base.obj.insert(key.into(), new);
                    }
                }
            }
            let new_meta = r.obj.get("metadata").cloned();
            for key in ["labels", "annotations"] {
                if let Some(Value::Object(new)) = new_meta.as_ref().and_then(|m| m.get(key)) {
                    let meta = base.metadata_mut();
                    let slot = meta.entry(key).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(m) = slot {
                        m.extend(new.clone());
                    }
                }
                // kubectl sets the merged map anew, and an empty one not at all.
                let meta = base.metadata_mut();
                if meta
                    .get(key)
                    .is_some_and(|m| m.is_null() || m.as_object().is_some_and(Map::is_empty))
                {
                    meta.shift_remove(key);
                }
            }
            // The generator's own type and immutability win, defaults included.
            if let Some(t) = r.obj.remove("type") {
                base.obj.insert("type".into(), t);
            }
            if immutable {
                base.obj.insert("immutable".into(), Value::Bool(true));
            } else {
                base.obj.remove("immutable");
            }
            if disable_hash {
                base.needs_hash = false;
            }
            // A replacement comes from this generator, which its origin then names.
            if !merge {
                base.origin = r.origin;
                base.written = r.written;
                base.generated_by = r.generated_by;
                base.generator_config = r.generator_config;
                base.origin_by = None;
            }
            // kubectl rebuilds the object from the generated fields: anything else the
            // original held (`stringData`, other top-level fields, metadata beyond name,
            // namespace, labels and annotations) is dropped.
            base.obj.retain(|key, _| {
                matches!(
                    key.as_str(),
                    "apiVersion"
                        | "kind"
                        | "metadata"
                        | "data"
                        | "binaryData"
                        | "type"
                        | "immutable"
                )
            });
            if kind != "Secret" {
                base.obj.remove("type");
            }
            if let Some(Value::Object(meta)) = base.obj.get_mut("metadata") {
                meta.retain(|key, _| {
                    matches!(
                        key.as_str(),
                        "name" | "namespace" | "labels" | "annotations"
                    )
                });
            }
            base.quote_as_written_out();
            // kubectl writes the merged object as YAML and reads it back.
            if let Some(at) = tab_led_block_in(&Value::Object(base.obj.clone())) {
                return Err(k.field_err(
                    &field_name,
                    format!("{at}: a string that starts with a tab and spans lines, which kubectl cannot write out and read back after a {behavior}"),
                ));
            }
            (!merge).then_some(i)
        }
        (other, _) => {
            return Err(k.field_err(
                &field_name,
                format!("unknown behavior {other:?}; use create, merge or replace"),
            ))
        }
    };
    Ok(made)
}

/// The JSON pointer of the first string under `v` that `leading_tab_block` finds.
/// Why kubectl cannot read back a key of a generated object, which it writes out as YAML
/// unquoted and reads again: one reading as no string, or `<<`, a merge key to it.
fn unwritable_key(key: &str) -> Option<String> {
    if key == "<<" {
        return Some(
            "key \"<<\" would be written out unquoted and read back as a YAML merge key, which kubectl cannot read".into(),
        );
    }
    (!crate::yaml::parse::plain_key_reads_as_string(key))
        .then(|| crate::yaml::parse::unreadable_key(key))
}

pub(crate) fn tab_led_block_in(v: &Value) -> Option<String> {
    fn walk(v: &Value, at: &mut Vec<String>) -> bool {
        match v {
            Value::String(s) => leading_tab_block(s),
            Value::Array(items) => items.iter().enumerate().any(|(i, x)| {
                at.push(i.to_string());
                let found = walk(x, at);
                if !found {
                    at.pop();
                }
                found
            }),
            Value::Object(m) => m.iter().any(|(k, x)| {
                at.push(k.clone());
                let found = walk(x, at);
                if !found {
                    at.pop();
                }
                found
            }),
            _ => false,
        }
    }
    let mut at = Vec::new();
    walk(v, &mut at).then(|| crate::yaml::parse::json_pointer(&at))
}

/// Whether kubectl fails on this ConfigMap value: a value with a line break is written
/// as a literal block, and a block whose first line starts with a tab cannot be read back.
/// Values a block cannot hold (a space before a line break or at the end, characters YAML
/// must escape) are written quoted instead and pass.
fn leading_tab_block(s: &str) -> bool {
    let printable = |c: char| {
        matches!(c, '\t' | '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            && c != '\u{feff}'
    };
    let is_break = |c: char| matches!(c, '\n' | '\u{2028}' | '\u{2029}');
    s.starts_with('\t')
        && s.contains('\n')
        && !s.ends_with(' ')
        && s.chars().all(printable)
        && !s
            .chars()
            .zip(s.chars().skip(1))
            .any(|(a, b)| a == ' ' && is_break(b))
}

fn read(
    fsys: &dyn crate::FileSystem,
    k: &Kustomization,
    field: &str,
    rel: &str,
) -> Result<Vec<u8>> {
    crate::build::read_local(fsys, k, field, rel).map(|(bytes, _)| bytes)
}

/// Base64 as kustomize's generators store it: an encoding longer than 70 characters is
/// cut into lines of 70, each ending in a newline.
fn base64_lines(data: &[u8]) -> String {
    let flat = base64(data);
    if flat.len() <= 70 {
        return flat;
    }
    let mut out = String::with_capacity(flat.len() + flat.len() / 70 + 1);
    for line in flat.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// The longest env-file line kubectl reads (Go's default line scanner).
const MAX_ENV_LINE: usize = 64 * 1024;

/// kustomize's content hash of a ConfigMap or Secret (ten characters).
pub fn content_hash(r: &Resource) -> String {
    let get = |k: &str| r.obj.get(k).cloned();
    let as_map = |v: Option<Value>| match v {
        Some(Value::Object(m)) => Some(Value::Object(m)),
        _ => None,
    };
    let text = |k: &str| {
        let t = r.texts.as_ref()?;
        t.plain.get(&format!("/{k}")).cloned()
    };
    let or_empty = |k: &str| match get(k) {
        Some(Value::Object(m)) => Value::Object(m),
        Some(Value::String(s)) => Value::String(s),
        None => Value::String(String::new()),
        // A null is its text (`~`, or `null` as a JSON patch writes it).
        Some(Value::Null) => Value::String(text(k).unwrap_or_else(|| "null".into())),
        // kustomize decodes a collection here into a map: a list comes out as no map.
        Some(Value::Array(_)) => Value::Null,
        Some(other) => Value::String(crate::yaml::emit::scalar_text(&other).unwrap_or_default()),
    };
    // kustomize looks the name up under a literal "metadata/name" key, which never exists.
    let mut m = Map::new();
    m.insert("kind".into(), Value::String(r.kind().into()));
    m.insert("name".into(), Value::String(String::new()));
    m.insert("data".into(), or_empty("data"));
    if r.kind() == "Secret" {
        m.insert("type".into(), or_empty("type"));
        if let Some(sd) = as_map(get("stringData")) {
            m.insert("stringData".into(), sd);
        }
    } else if let Some(bd) = as_map(get("binaryData")) {
        m.insert("binaryData".into(), bd);
    }
    let json = go_json(&Value::Object(m));
    let hex: String = Sha256::digest(json.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Go's `encoding/json` encoding: sorted keys, HTML-safe escaping.
pub fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (None, None, Some(f)) => out.push_str(&crate::yaml::emit::go_json_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_str(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write_json(&m[k.as_str()], out);
            }
            out.push('}');
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Go's encoder has short escapes for these two too.
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// kubectl reads the data, labels and annotations of an object a generator merges into or
/// replaces as maps of text: a number or boolean there becomes its text as written
/// (`0.50` stays "0.50"), a null, a list or a map becomes "".
fn as_text_maps(r: &mut Resource) {
    fn map_at<'m>(
        obj: &'m mut Map<String, Value>,
        path: &[&str],
    ) -> Option<&'m mut Map<String, Value>> {
        let mut cur = obj;
        for key in path {
            cur = cur.get_mut(*key)?.as_object_mut()?;
        }
        Some(cur)
    }
    let texts = r.texts.clone();
    for path in [
        &["data"][..],
        &["binaryData"][..],
        &["metadata", "labels"][..],
        &["metadata", "annotations"][..],
    ] {
        let Some(m) = map_at(&mut r.obj, path) else {
            continue;
        };
        for (k, v) in m.iter_mut() {
            let mut at: Vec<String> = path.iter().map(|s| s.to_string()).collect();
            at.push(k.clone());
            // A scalar a replacement created is the text it was copied as.
            if let Some(u) = r.untyped.iter().find(|u| u.at == at && u.value == *v) {
                *v = Value::String(u.text.clone());
                continue;
            }
            let text = match &*v {
                Value::Null => String::new(),
                // A plain timestamp too keeps its text.
                Value::Number(_) | Value::Bool(_) | Value::String(_) => {
                    let pointer = crate::yaml::parse::json_pointer(&at);
                    match crate::resource::text_at(&texts, &pointer, v) {
                        Some(t) => t.to_string(),
                        None if v.is_string() => continue,
                        None => crate::yaml::emit::scalar_text(v).unwrap_or_default(),
                    }
                }
                // A list or a map has no text.
                Value::Array(_) | Value::Object(_) => String::new(),
            };
            *v = Value::String(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"hunter2"), "aHVudGVyMg==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn hash_matches_kustomize() {
        let obj = serde_json::json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"p-cfg-s"},
            "data":{"a":"1","b":"<x>&"}});
        let r = Resource::new(obj.as_object().unwrap().clone(), "");
        assert_eq!(content_hash(&r), "2g9cdmkbf2");
    }
}
