//! Custom OpenAPI schemas: a kustomization's `openapi: path:` names a Swagger 2.0 document
//! (JSON, or YAML) whose definitions kubectl then takes every strategic merge decision
//! from, in place of its bundled Kubernetes schema. A kind the document does not define has
//! no schema at all, so its lists are replaced whole: a Deployment's containers too.
//!
//! A definition is the schema of a kind when its `x-kubernetes-group-version-kind` names
//! it. From there a field's schema is found as kubectl finds it: by `properties`, else
//! `additionalProperties`, following `$ref`s into the document; a list's elements by the
//! `items` of a schema whose `type` is `array`. A list is merged by key where its schema's
//! `x-kubernetes-patch-strategy` includes `merge`: by `x-kubernetes-patch-merge-key` (with
//! the other `x-kubernetes-list-map-keys`), or as a set of scalars when it names no key.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// How many `$ref`s one lookup may follow in a row before it gives up (a cycle of
/// references names no schema).
const MAX_REFS: usize = 64;

/// A parsed custom schema.
#[derive(Debug)]
pub(crate) struct OpenApi {
    /// The document's `definitions`.
    definitions: Map<String, Value>,
    /// Definition names by the apiVersion and kind they are the schema of.
    kinds: HashMap<(String, String), String>,
    /// Whether objects of an apiVersion and kind are namespaced, by the document's `paths`.
    namespaced: HashMap<(String, String), bool>,
    /// A kind two definitions name (kubectl takes either, at random): the kind, the names.
    twice: Option<(String, String, String)>,
    /// The document's content hash: builds that used different schemas never share cached
    /// results.
    pub(crate) fingerprint: crate::ContentHash,
}

/// What a schema says of a list field.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ListStrategy<'a> {
    /// The patch strategy includes `merge`.
    pub merge: bool,
    /// The keys that identify an element, the first the merge key: kubectl takes
    /// `x-kubernetes-list-map-keys` where there are any, else the
    /// `x-kubernetes-patch-merge-key`. None: a set of scalars.
    pub keys: Vec<&'a str>,
}

impl<'a> ListStrategy<'a> {
    /// The merge key of a list merged by key.
    pub(crate) fn key(&self) -> Option<&'a str> {
        self.keys.first().copied().filter(|_| self.merge)
    }

    /// A list merged as a set of scalars.
    pub(crate) fn is_set(&self) -> bool {
        self.merge && self.keys.is_empty()
    }
}

impl OpenApi {
    /// Reads a schema document: JSON when it starts with `{`, else YAML, as kubectl reads
    /// it. The error says what is wrong and where.
    pub(crate) fn parse(text: &str) -> Result<OpenApi, String> {
        if text.is_empty() {
            return Err("the file is empty".into());
        }
        let doc: Value = if text.starts_with('{') {
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?
        } else {
            let docs = crate::yaml::parse_documents_v2(text)
                .map_err(|e| format!("line {}: {}", e.line, e.message))?;
            docs.into_iter().next().map(|d| d.value).unwrap_or_default()
        };
        let paths = doc.get("paths").and_then(Value::as_object);
        let namespaced = paths.map(scopes).unwrap_or_default();
        let definitions = match doc {
            Value::Null => Map::new(),
            Value::Object(mut top) => match top.remove("definitions") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(defs)) => defs,
                Some(other) => {
                    return Err(format!(
                        "definitions: expected a map, found {}",
                        crate::transform::fieldspec::kind_name(&other)
                    ))
                }
            },
            other => {
                return Err(format!(
                    "expected a Swagger document (a map), found {}",
                    crate::transform::fieldspec::kind_name(&other)
                ))
            }
        };
        let mut kinds: HashMap<(String, String), String> = HashMap::new();
        let mut twice = None;
        for (name, def) in &definitions {
            let Value::Object(def) = def else {
                if def.is_null() {
                    continue;
                }
                return Err(format!(
                    "definitions.{name}: expected a map, found {}",
                    crate::transform::fieldspec::kind_name(def)
                ));
            };
            let Some(gvks) = def.get("x-kubernetes-group-version-kind") else {
                continue;
            };
            let Value::Array(gvks) = gvks else { continue };
            for gvk in gvks {
                // As kubectl reads it: a group that is missing, null or no string is "";
                // a version or kind must be a string (kubectl crashes otherwise).
                let at = format!("definitions.{name}.x-kubernetes-group-version-kind");
                let text = |field: &str| match gvk.get(field) {
                    Some(Value::String(s)) => Ok(s.as_str()),
                    _ if field == "group" => Ok(""),
                    _ => Err(format!("{at}: {field} must be a string")),
                };
                if !gvk.is_object() {
                    continue;
                }
                let (group, version, kind) = (text("group")?, text("version")?, text("kind")?);
                let api_version = crate::resource::join_api_version(group, version);
                let key = (api_version, kind.to_string());
                if let Some(other) = kinds.get(&key).filter(|other| *other != name) {
                    twice.get_or_insert_with(|| {
                        (format!("{} {}", key.0, key.1), other.clone(), name.clone())
                    });
                }
                kinds.insert(key, name.clone());
            }
        }
        Ok(OpenApi {
            definitions,
            kinds,
            namespaced,
            twice,
            fingerprint: crate::cache::sha256(text.as_bytes()),
        })
    }

    /// What in the document kubectl would not follow as written, whatever the build: a
    /// kind two definitions name, or a definition named like one of kustomize's own
    /// (kubectl takes its own).
    pub(crate) fn unsupported(&self) -> Option<String> {
        if let Some((kind, a, b)) = &self.twice {
            return Some(format!(
                "definitions {a} and {b} are both the schema of {kind}, of which kubectl picks either: not supported"
            ));
        }
        let own = KUSTOMIZE_OWN
            .iter()
            .find(|own| self.definitions.contains_key(**own))?;
        Some(format!(
            "definition {own} is named like one of kustomize's own, which kubectl takes instead: not supported"
        ))
    }

    /// The schema of objects with this apiVersion and kind, if the document has one.
    pub(crate) fn kind(&self, api_version: &str, kind: &str) -> Option<&Value> {
        let name = self
            .kinds
            .get(&(api_version.to_string(), kind.to_string()))?;
        self.definitions.get(name)
    }

    /// Whether the document's paths make objects of this type cluster-scoped (`None`: it
    /// does not say).
    pub(crate) fn cluster_scoped(&self, api_version: &str, kind: &str) -> Option<bool> {
        let key = (api_version.to_string(), kind.to_string());
        self.namespaced.get(&key).map(|namespaced| !namespaced)
    }

    /// The schema at `path` (field names; a list's elements are entered implicitly) below
    /// `root`, a kind's schema.
    pub(crate) fn lookup<'a>(&'a self, root: &'a Value, path: &[String]) -> Option<&'a Value> {
        let mut at = root;
        for field in path {
            if is_array(at) {
                at = self.resolve(at.get("items").filter(|i| i.is_object())?)?;
            }
            let next = at
                .get("properties")
                .and_then(|p| p.get(field))
                .or_else(|| at.get("additionalProperties").filter(|a| a.is_object()))?;
            at = self.resolve(next)?;
        }
        Some(at)
    }

    /// What the schema of a list field says about merging it.
    pub(crate) fn list_strategy<'a>(
        &'a self,
        root: &'a Value,
        path: &[String],
    ) -> ListStrategy<'a> {
        let Some(field) = self.lookup(root, path) else {
            return ListStrategy::default();
        };
        let Some(strategy) = field
            .get("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
        else {
            return ListStrategy::default();
        };
        let map_keys: Vec<&str> = field
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let keys = if map_keys.is_empty() {
            field
                .get("x-kubernetes-patch-merge-key")
                .and_then(Value::as_str)
                .into_iter()
                .collect()
        } else {
            map_keys
        };
        ListStrategy {
            merge: strategy.split(',').any(|s| s == "merge"),
            keys,
        }
    }

    /// What kubectl stops at when a merge walks the list at `path`: merge extensions that
    /// are not strings, or elements given as a list of schemas in a list merged by key.
    pub(crate) fn list_problem(&self, root: &Value, path: &[String]) -> Option<String> {
        let field = self.lookup(root, path)?;
        let at = path.join(".");
        let strategy = field.get("x-kubernetes-patch-strategy")?;
        if !strategy.is_string() {
            return Some(format!("{at}: x-kubernetes-patch-strategy is not a string"));
        }
        if field
            .get("x-kubernetes-patch-merge-key")
            .is_some_and(|k| !k.is_string())
        {
            return Some(format!(
                "{at}: x-kubernetes-patch-merge-key is not a string"
            ));
        }
        if field
            .get("x-kubernetes-list-map-keys")
            .is_some_and(|k| !k.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
        {
            return Some(format!(
                "{at}: x-kubernetes-list-map-keys is not a list of strings"
            ));
        }
        let merged = strategy
            .as_str()
            .is_some_and(|s| s.split(',').any(|s| s == "merge"));
        if merged && is_array(field) && field.get("items").is_some_and(Value::is_array) {
            return Some(format!(
                "{at}: items is a list of schemas, which kubectl cannot merge by"
            ));
        }
        None
    }

    /// Follows `$ref`s (JSON pointers into this document) to the schema they name.
    fn resolve<'a>(&'a self, mut v: &'a Value) -> Option<&'a Value> {
        for _ in 0..MAX_REFS {
            let Some(reference) = v.get("$ref") else {
                return v.is_object().then_some(v);
            };
            let pointer = reference.as_str()?.strip_prefix('#')?;
            v = self.pointer(pointer)?;
        }
        None
    }

    fn pointer(&self, pointer: &str) -> Option<&Value> {
        let mut parts = pointer.strip_prefix('/')?.split('/').map(unescape);
        if parts.next()? != "definitions" {
            return None;
        }
        let mut at = self.definitions.get(&parts.next()?)?;
        for part in parts {
            at = match at {
                Value::Object(m) => m.get(&part)?,
                Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(at)
    }
}

/// The scope of each type the API paths serve (by their `get`): namespaced where any of
/// its paths has a namespace parameter.
fn scopes(paths: &Map<String, Value>) -> HashMap<(String, String), bool> {
    let mut out: HashMap<(String, String), bool> = HashMap::new();
    for (path, item) in paths {
        let Some(gvk) = item
            .get("get")
            .and_then(|g| g.get("x-kubernetes-group-version-kind"))
        else {
            continue;
        };
        let field = |f: &str| gvk.get(f).and_then(Value::as_str);
        let (Some(version), Some(kind)) = (field("version"), field("kind")) else {
            continue;
        };
        let api_version =
            crate::resource::join_api_version(field("group").unwrap_or_default(), version);
        let namespaced = out.entry((api_version, kind.to_string())).or_insert(false);
        *namespaced |= path.contains("namespaces/{namespace}");
    }
    out
}

/// A schema whose type is exactly `array`.
fn is_array(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "array",
        Some(Value::Array(t)) => t.len() == 1 && t[0] == "array",
        _ => false,
    }
}

fn unescape(part: &str) -> String {
    part.replace("~1", "/").replace("~0", "~")
}

/// The definitions of kustomize's own schema for kustomization files, which kubectl keeps
/// beside any other.
const KUSTOMIZE_OWN: &[&str] = &[
    "io.k8s.api.apps.v1.ConfigMapArgs",
    "io.k8s.api.apps.v1.SecretArgs",
    "io.k8s.api.apps.v1.GeneratorArgs",
    "io.k8s.api.apps.v1.Kustomization",
    "io.k8s.api.apps.v1.KvPairSources",
];

/// The schema state of one build. kubectl keeps one schema per build, chosen by the first
/// kustomization (the root first, then each as the build reaches it) whose `openapi` field
/// names one; strategic merges made before that use the bundled schema. A custom schema
/// chosen after kubectl first read its bundled one (to merge a patch, or to learn the scope
/// of a kind it does not know) adds its definitions to the bundled ones instead of
/// replacing them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Active {
    choice: Choice,
    bundled_read: bool,
}

#[derive(Clone, Debug, Default)]
enum Choice {
    /// Nothing chosen yet: the bundled schema.
    #[default]
    Unset,
    /// `openapi: version:` chose the bundled schema.
    Bundled,
    /// `openapi: path:` chose this document.
    Custom(std::sync::Arc<OpenApi>),
    /// `openapi: path:` chose a document that does not read: kubectl reads it when it first
    /// needs a schema, and stops there. (The file, what is wrong.)
    Broken(std::sync::Arc<(String, String)>),
}

impl Active {
    /// Whether a kustomization may still choose.
    pub(crate) fn is_unset(&self) -> bool {
        matches!(self.choice, Choice::Unset)
    }

    pub(crate) fn choose_bundled(&mut self) {
        self.choice = Choice::Bundled;
    }

    pub(crate) fn choose(&mut self, api: OpenApi) {
        self.choice = Choice::Custom(std::sync::Arc::new(api));
    }

    /// Chooses a document that does not read: `file`, and what is wrong with it.
    pub(crate) fn choose_broken(&mut self, file: String, message: String) {
        self.choice = Choice::Broken(std::sync::Arc::new((file, message)));
    }

    /// The error to stop at where kubectl first needs a schema, if the chosen document
    /// does not read: its file and what is wrong.
    pub(crate) fn broken(&self) -> Option<(&str, &str)> {
        match &self.choice {
            Choice::Broken(b) => Some((b.0.as_str(), b.1.as_str())),
            _ => None,
        }
    }

    /// Notes that kubectl reads its bundled schema at this point of the build.
    pub(crate) fn read_bundled(&mut self) {
        if self.is_unset() {
            self.bundled_read = true;
        }
    }

    /// The custom document in effect, if any.
    pub(crate) fn custom(&self) -> Option<&OpenApi> {
        match &self.choice {
            Choice::Custom(c) => Some(c),
            _ => None,
        }
    }

    /// The custom document in effect, shared.
    pub(crate) fn custom_arc(&self) -> Option<std::sync::Arc<OpenApi>> {
        match &self.choice {
            Choice::Custom(c) => Some(c.clone()),
            _ => None,
        }
    }

    /// Whether the bundled schema's kinds count (beside a custom document's).
    pub(crate) fn has_bundled(&self) -> bool {
        self.custom().is_none() || self.bundled_read
    }

    /// Tells states apart in cache keys.
    pub(crate) fn cache_tag(&self) -> String {
        let read = if self.bundled_read { "+bundled" } else { "" };
        match &self.choice {
            Choice::Unset if read.is_empty() => String::new(),
            Choice::Unset => format!("\0openapi={read}"),
            Choice::Bundled => "\0openapi=bundled".into(),
            Choice::Custom(c) => {
                let hex: String = c.fingerprint.iter().map(|b| format!("{b:02x}")).collect();
                format!("\0openapi={hex}{read}")
            }
            Choice::Broken(b) => format!("\0openapi=broken:{}:{}", b.0, b.1),
        }
    }
}

/// The one version of the Kubernetes schema kubectl bundles.
pub(crate) const BUNDLED_VERSION: &str = "v1.21.2";

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r##"{
      "definitions": {
        "widget": {
          "type": "object",
          "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Widget"}],
          "properties": {
            "spec": {"$ref": "#/definitions/spec"}
          }
        },
        "spec": {
          "properties": {
            "parts": {
              "type": "array",
              "items": {"$ref": "#/definitions/part"},
              "x-kubernetes-patch-strategy": "merge",
              "x-kubernetes-patch-merge-key": "id",
              "x-kubernetes-list-map-keys": ["id", "slot"]
            },
            "tags": {"type": "array", "x-kubernetes-patch-strategy": "merge,retainKeys"},
            "byName": {"additionalProperties": {"$ref": "#/definitions/part"}}
          }
        },
        "part": {
          "properties": {
            "pins": {"type": "array", "x-kubernetes-patch-strategy": "replace"}
          }
        },
        "loop": {"$ref": "#/definitions/loop"}
      }
    }"##;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_string).collect()
    }

    #[test]
    fn kinds_are_found_by_their_api_version() {
        let api = OpenApi::parse(DOC).unwrap();
        assert!(api.kind("example.com/v1", "Widget").is_some());
        assert!(api.kind("example.com/v2", "Widget").is_none());
        assert!(api.kind("apps/v1", "Deployment").is_none());
    }

    #[test]
    fn lists_take_their_strategy_through_refs_items_and_maps() {
        let api = OpenApi::parse(DOC).unwrap();
        let root = api.kind("example.com/v1", "Widget").unwrap();
        let parts = api.list_strategy(root, &path("spec.parts"));
        assert_eq!(
            parts,
            ListStrategy {
                merge: true,
                keys: vec!["id", "slot"]
            }
        );
        let tags = api.list_strategy(root, &path("spec.tags"));
        assert!(tags.is_set());
        // Inside a list's elements and a map's values.
        assert!(!api.list_strategy(root, &path("spec.parts.pins")).merge);
        assert!(api.lookup(root, &path("spec.parts.pins")).is_some());
        assert!(api
            .lookup(root, &path("spec.byName.anything.pins"))
            .is_some());
        assert!(api.lookup(root, &path("spec.nothing")).is_none());
    }

    #[test]
    fn a_cycle_of_refs_names_no_schema() {
        let api = OpenApi::parse(DOC).unwrap();
        let looping = api.definitions.get("loop").unwrap();
        assert!(api.resolve(looping).is_none());
    }

    #[test]
    fn yaml_documents_read_too_and_bad_ones_say_why() {
        let yaml = "definitions:\n  w:\n    x-kubernetes-group-version-kind:\n    - {version: v1, kind: W}\n";
        assert!(OpenApi::parse(yaml).unwrap().kind("v1", "W").is_some());
        let err = OpenApi::parse("definitions: [1]").unwrap_err();
        assert!(err.contains("definitions: expected a map"), "{err}");
        // Extensions are checked where a merge walks them.
        let odd = r#"{"definitions": {"a": {"x-kubernetes-group-version-kind": [{"version": "v1", "kind": "A"}], "properties": {"l": {"type": "array", "x-kubernetes-patch-strategy": 1}}}}}"#;
        let api = OpenApi::parse(odd).unwrap();
        let root = api.kind("v1", "A").unwrap();
        let err = api.list_problem(root, &path("l")).unwrap();
        assert!(err.contains("l: x-kubernetes-patch-strategy"), "{err}");
        assert!(OpenApi::parse("{").unwrap_err().contains("not valid JSON"));
    }
}
