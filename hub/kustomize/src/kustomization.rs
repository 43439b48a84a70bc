//! Reading a kustomization file: finding it in a directory, decoding it with kustomize's key
//! matching (exact first, then case-insensitive, as Go's JSON decoder matches struct
//! fields), refusing unknown fields, and typed access to field values.
//! Never interprets fields; `build` does.

use crate::{fs, Error, FileSystem, Result};
use serde_json::{Map, Value};

/// The file names kustomize recognizes, in its lookup order.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Every top-level field of a Kustomization or Component.
const FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

/// A decoded kustomization file.
#[derive(Debug, Clone)]
pub struct Kustomization {
    /// Path of the file, relative to the file-system root.
    pub file: String,
    /// Directory holding the file.
    pub dir: String,
    /// The directory as kubectl writes it in build notes: the path from the build root
    /// through the entries that led here, `..` taken lexically (`""` at the root).
    pub written: String,
    /// Fields by canonical name, in file order.
    pub fields: Map<String, Value>,
}

/// Finds the kustomization file in `dir`; more than one is an error, as in kustomize. A
/// file that is a symbolic link leading out of `dir` does not count, as kustomize's load
/// restrictor cannot read it.
pub fn find(fsys: &dyn FileSystem, dir: &str) -> Result<Option<String>> {
    let mut found = Vec::new();
    let real_dir = fsys.real_path(dir);
    for name in FILE_NAMES {
        let path = fs::join(dir, name).unwrap_or_else(|| name.to_string());
        if fsys.kind(&path) != Some(crate::EntryKind::File) {
            continue;
        }
        if let (Some(real), Some(real_dir)) = (fsys.real_path(&path), &real_dir) {
            if !fs::is_within(&real, real_dir) {
                continue;
            }
        }
        found.push(path);
    }
    if found.len() > 1 {
        return Err(Error::Invalid {
            path: fs::display(dir).to_string(),
            message: format!(
                "found multiple kustomization files: {}",
                found
                    .iter()
                    .map(|p| p.rsplit('/').next().unwrap_or(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    Ok(found.pop())
}

impl Kustomization {
    /// The kustomization file as kubectl writes it in build notes (see `written`).
    pub(crate) fn written_file(&self) -> String {
        let name = self.file.rsplit('/').next().unwrap_or(&self.file);
        written_join(&self.written, name)
    }

    /// Decodes the kustomization file at `file`.
    pub fn load(fsys: &dyn FileSystem, file: &str) -> Result<Kustomization> {
        let bytes = fsys.read_file(file).map_err(Error::Fs)?;
        let text = crate::yaml::decode_file(bytes, file)?;
        Self::parse(&text, file)
    }

    /// Decodes kustomization text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Kustomization> {
        // kubectl reads the first document alone: what follows it may be anything (an
        // empty one is an empty kustomization).
        let first = crate::yaml::parse_first_document(text, true).map_err(|e| Error::Yaml {
            path: file.to_string(),
            line: e.line,
            message: e.message,
        })?;
        let raw = match first.map(|d| d.value) {
            None | Some(Value::Null) => Map::new(),
            // kubectl reads the file through JSON as it reads objects: a NEL folds.
            Some(Value::Object(m)) => {
                let mut whole = Value::Object(m);
                crate::roundtrip::json_round_trip(&mut whole).map_err(|message| {
                    Error::Invalid {
                        path: file.into(),
                        message,
                    }
                })?;
                match whole {
                    Value::Object(m) => m,
                    _ => Map::new(),
                }
            }
            Some(_) => {
                return Err(Error::Invalid {
                    path: file.into(),
                    message: "a kustomization must be a mapping".into(),
                })
            }
        };
        let mut fields = Map::new();
        for (key, value) in sorted_by_key(raw) {
            let Some(canon) = canonical(&key, FIELDS) else {
                return Err(Error::Field {
                    path: file.into(),
                    field: key.clone(),
                    message: "unknown field".into(),
                });
            };
            decode_into(&mut fields, canon, value);
        }
        crate::schema::check(
            &Value::Object(fields.clone()),
            &crate::schema::KUSTOMIZATION,
            "",
        )
        .map_err(|message| Error::Invalid {
            path: file.into(),
            message,
        })?;
        // kubectl moves the deprecated lists into their new fields by appending, so an
        // empty one leaves nothing behind.
        let blank = |(key, v): (&String, &Value)| {
            key == "apiVersion"
                || key == "kind"
                || v.is_null()
                || v.as_str() == Some("")
                || (matches!(
                    key.as_str(),
                    "bases" | "imageTags" | "helmChartInflationGenerator"
                ) && v.as_array().is_some_and(Vec::is_empty))
        };
        if fields.iter().all(blank) {
            // kustomize refuses a kustomization that sets nothing, like an empty file.
            return Err(Error::Invalid {
                path: file.into(),
                message: "kustomization file is empty".into(),
            });
        }
        let dir = fs::parent(file).to_string();
        let k = Kustomization {
            file: file.to_string(),
            dir,
            written: String::new(),
            fields,
        };
        k.check_kind()?;
        Ok(k)
    }

    fn check_kind(&self) -> Result<()> {
        let kind = self.str_field("kind")?.unwrap_or_default();
        let api = self.str_field("apiVersion")?.unwrap_or_default();
        match kind.as_str() {
            "" | "Kustomization" => {
                if !api.is_empty() && api != "kustomize.config.k8s.io/v1beta1" {
                    return Err(self.field_err("apiVersion", format!("unsupported apiVersion {api:?} for a Kustomization; use kustomize.config.k8s.io/v1beta1")));
                }
            }
            "Component" => {
                // No apiVersion takes the Component's default, as kubectl fills it in.
                if !api.is_empty() && api != "kustomize.config.k8s.io/v1alpha1" {
                    return Err(self.field_err(
                        "apiVersion",
                        "a Component needs apiVersion kustomize.config.k8s.io/v1alpha1",
                    ));
                }
            }
            other => {
                return Err(self.field_err(
                    "kind",
                    format!("unknown kind {other:?}; use Kustomization or Component"),
                ))
            }
        }
        Ok(())
    }

    pub fn is_component(&self) -> bool {
        self.fields.get("kind").and_then(Value::as_str) == Some("Component")
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field).filter(|v| !v.is_null())
    }

    pub fn field_err(&self, field: &str, message: impl Into<String>) -> Error {
        Error::Field {
            path: self.file.clone(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// A string field; numbers and booleans are refused as kustomize's decoder does.
    pub fn str_field(&self, field: &str) -> Result<Option<String>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.field_err(field, "expected a string")),
        }
    }

    /// A list of strings.
    pub fn str_list(&self, field: &str) -> Result<Vec<String>> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    // Go decodes a null element as the zero value.
                    Value::Null => Ok(String::new()),
                    _ => Err(self.field_err(field, "expected a list of strings")),
                })
                .collect(),
            Some(_) => Err(self.field_err(field, "expected a list of strings")),
        }
    }

    /// A list of objects, each checked against `known` field names (case-insensitive) and
    /// returned with canonical keys.
    pub fn obj_list(&self, field: &str, known: &[&str]) -> Result<Vec<Map<String, Value>>> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    // Go decodes a null element as the zero value.
                    Value::Null => Ok(Map::new()),
                    v => canonical_object(v, known).map_err(|m| self.field_err(field, m)),
                })
                .collect(),
            Some(_) => Err(self.field_err(field, "expected a list")),
        }
    }
}

/// Matches `key` to a known field as Go's JSON decoder does: exact, then case-insensitive.
pub fn canonical<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .find(|k| **k == key)
        .or_else(|| known.iter().find(|k| folds_to(key, k)))
        .copied()
}

/// Whether `key` is the ASCII `name` under Unicode simple case folding, as Go's JSON
/// decoder matches field names: ASCII letters by case, and `ſ` (U+017F) and the Kelvin
/// sign (U+212A), which fold onto `s` and `k`.
fn folds_to(key: &str, name: &str) -> bool {
    let fold = |c: char| match c {
        '\u{17F}' => 's',
        '\u{212A}' => 'k',
        c => c.to_ascii_lowercase(),
    };
    key.chars()
        .map(fold)
        .eq(name.chars().map(|c| c.to_ascii_lowercase()))
}

/// A map's entries in the order Go's JSON encoder writes them: kubectl turns a
/// kustomization into JSON with sorted keys before it decodes it, so of two keys that
/// name one field (`namespace`, `Namespace`) the later in that order is decoded last.
fn sorted_by_key(m: Map<String, Value>) -> Vec<(String, Value)> {
    let mut entries: Vec<(String, Value)> = m.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

/// Decodes `value` into the field `name` as Go's decoder does when a second key names a
/// field already set: a map or struct takes the new entries (merged, recursively for
/// structs), anything else is replaced.
fn decode_into(fields: &mut Map<String, Value>, name: &str, value: Value) {
    match (fields.get_mut(name), value) {
        (Some(Value::Object(old)), Value::Object(new)) => {
            for (k, v) in new {
                decode_into(old, &k, v);
            }
        }
        (_, value) => {
            fields.insert(name.to_string(), value);
        }
    }
}

/// An object with its keys canonicalized against `known` as Go decodes them, the
/// unknown ones dropped (kubectl's lenient decoding).
pub fn known_fields(m: &Map<String, Value>, known: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in sorted_by_key(m.clone()) {
        if let Some(canon) = canonical(&k, known) {
            decode_into(&mut out, canon, v);
        }
    }
    out
}

/// An object with its keys canonicalized against `known`; an unknown key is an error.
pub fn canonical_object(
    v: &Value,
    known: &[&str],
) -> std::result::Result<Map<String, Value>, String> {
    let Value::Object(m) = v else {
        return Err("expected a mapping".into());
    };
    let mut out = Map::new();
    for (k, v) in sorted_by_key(m.clone()) {
        let canon = canonical(&k, known).ok_or_else(|| format!("unknown field {k:?}"))?;
        decode_into(&mut out, canon, v);
    }
    Ok(out)
}

/// `entry` joined to `dir` as kubectl joins paths it writes in build notes: lexically,
/// `.` dropped and `..` taking away the part before it where there is one.
pub(crate) fn written_join(dir: &str, entry: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in dir.split('/').chain(entry.split('/')) {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}
