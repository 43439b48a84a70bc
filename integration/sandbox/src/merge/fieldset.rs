//! Field sets: which fields of an object a manager owns, as the real server records them in
//! `managedFields[].fieldsV1` (`f:name` fields, `k:{"name":"x"}` list-map items with `.`
//! marking the item itself, `v:` set values, `i:` indexes). Building a set from an object,
//! encoding/decoding fieldsV1, and reading/removing the value at a path. Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::keys::{key_default, list_map_keys};
use super::MergeError;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    Field(String),
    /// A list-map item, as the canonical JSON of its key fields (sorted).
    Key(String),
    /// A set item, as its JSON.
    Value(String),
    Index(usize),
}

pub type Path = Vec<PathElement>;

/// A set of owned paths: leaves, plus list items owned as a whole (`.`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet(pub BTreeSet<Path>);

/// Metadata fields the server owns or that name the object: never part of a field set.
const IDENTITY: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// The object minus apiVersion, kind and identity metadata: what field sets describe.
pub fn strip(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Value::Object(m) = &mut o {
        m.remove("apiVersion");
        m.remove("kind");
        if let Some(Value::Object(md)) = m.get_mut("metadata") {
            md.retain(|k, _| !IDENTITY.contains(&k.as_str()));
            if md.is_empty() {
                m.remove("metadata");
            }
        }
    }
    o
}

/// The key of a list-map item: canonical JSON of its key fields, sorted by name, with
/// defaulted key fields filled in; None when only defaulted fields would be in it.
pub fn item_key(item: &Value, keys: &[&str]) -> Option<String> {
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort_unstable();
    let mut m = Map::new();
    for k in sorted {
        if let Some(v) = item.get(k).cloned().or_else(|| key_default(k)) {
            m.insert(k.to_string(), v);
        }
    }
    if m.len() == m.keys().filter(|k| key_default(k).is_some()).count() {
        return None;
    }
    serde_json::to_string(&Value::Object(m)).ok()
}

fn key_matches(item: &Value, key_json: &str) -> bool {
    match serde_json::from_str::<Value>(key_json) {
        Ok(Value::Object(key)) => key
            .iter()
            .all(|(k, v)| item.get(k).cloned().or_else(|| key_default(k)).as_ref() == Some(v)),
        _ => false,
    }
}

fn key_json_canonical(key: &Map<String, Value>) -> String {
    let names: Vec<&str> = key.keys().map(String::as_str).collect();
    item_key(&Value::Object(key.clone()), &names).unwrap_or_default()
}

impl FieldSet {
    /// The fields set in `obj` (already `strip`ped). `builtin` enables list-map keys.
    pub fn from_object(obj: &Value, builtin: bool) -> FieldSet {
        let mut set = FieldSet::default();
        if let Value::Object(m) = obj {
            walk_map(m, &mut Vec::new(), &mut set.0, builtin);
        }
        set
    }

    pub fn contains(&self, p: &Path) -> bool {
        self.0.contains(p)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    /// Whether some path of the set lies strictly under `p`.
    pub fn has_descendant(&self, p: &Path) -> bool {
        self.0
            .range(p.clone()..)
            .skip_while(|q| *q == p)
            .take_while(|q| q.starts_with(p))
            .next()
            .is_some()
    }

    /// The `fieldsV1` object.
    pub fn to_fields_v1(&self) -> Value {
        #[derive(Default)]
        struct Tree(BTreeMap<String, Tree>);
        fn render(t: &Tree) -> Value {
            Value::Object(t.0.iter().map(|(k, v)| (k.clone(), render(v))).collect())
        }
        let mut root = Tree::default();
        for p in &self.0 {
            let mut node = &mut root;
            for pe in p {
                node = node.0.entry(encode(pe)).or_default();
            }
        }
        for p in &self.0 {
            let mut node = &mut root;
            for pe in p {
                node = node.0.entry(encode(pe)).or_default();
            }
            if !node.0.is_empty() {
                node.0.entry(".".into()).or_default();
            }
        }
        render(&root)
    }

    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, MergeError> {
        let mut set = FieldSet::default();
        let Value::Object(m) = v else {
            return Err(MergeError::InvalidManagedFields(
                "fieldsV1 must be an object".into(),
            ));
        };
        decode(m, &mut Vec::new(), &mut set.0)?;
        Ok(set)
    }
}

fn encode(pe: &PathElement) -> String {
    match pe {
        PathElement::Field(f) => format!("f:{f}"),
        PathElement::Key(k) => format!("k:{k}"),
        PathElement::Value(v) => format!("v:{v}"),
        PathElement::Index(i) => format!("i:{i}"),
    }
}

fn decode(
    m: &Map<String, Value>,
    prefix: &mut Path,
    out: &mut BTreeSet<Path>,
) -> Result<(), MergeError> {
    for (k, child) in m {
        if k == "." {
            out.insert(prefix.clone());
            continue;
        }
        let bad = || MergeError::InvalidManagedFields(format!("unknown path element {k:?}"));
        let pe = match k.split_at_checked(2).ok_or_else(bad)? {
            ("f:", f) => PathElement::Field(f.to_string()),
            ("k:", j) => {
                let Ok(Value::Object(key)) = serde_json::from_str::<Value>(j) else {
                    return Err(bad());
                };
                PathElement::Key(key_json_canonical(&key))
            }
            ("v:", j) => PathElement::Value(j.to_string()),
            ("i:", i) => PathElement::Index(i.parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        };
        prefix.push(pe);
        match child {
            Value::Object(c) if !c.is_empty() => decode(c, prefix, out)?,
            _ => {
                out.insert(prefix.clone());
            }
        }
        prefix.pop();
    }
    Ok(())
}

fn walk_map(m: &Map<String, Value>, prefix: &mut Path, out: &mut BTreeSet<Path>, builtin: bool) {
    for (k, v) in m {
        prefix.push(PathElement::Field(k.clone()));
        walk_value(k, v, prefix, out, builtin);
        prefix.pop();
    }
}

fn walk_value(field: &str, v: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>, builtin: bool) {
    match v {
        Value::Object(m) if !m.is_empty() => walk_map(m, prefix, out, builtin),
        Value::Array(items) if !items.is_empty() => match list_map_keys(field, items, builtin) {
            Some(keys) => {
                for item in items {
                    let (Some(key), Value::Object(im)) = (item_key(item, &keys), item) else {
                        continue;
                    };
                    prefix.push(PathElement::Key(key));
                    out.insert(prefix.clone());
                    walk_map(im, prefix, out, builtin);
                    prefix.pop();
                }
            }
            None => {
                out.insert(prefix.clone());
            }
        },
        _ => {
            out.insert(prefix.clone());
        }
    }
}

fn find_item(items: &[Value], pe: &PathElement) -> Option<usize> {
    match pe {
        PathElement::Key(k) => items.iter().position(|i| key_matches(i, k)),
        PathElement::Value(j) => {
            let want: Value = serde_json::from_str(j).ok()?;
            items.iter().position(|i| *i == want)
        }
        PathElement::Index(i) => (*i < items.len()).then_some(*i),
        PathElement::Field(_) => None,
    }
}

/// The value at `path`, if present.
pub fn value_at<'a>(obj: &'a Value, path: &[PathElement]) -> Option<&'a Value> {
    let mut cur = obj;
    for pe in path {
        cur = match (pe, cur) {
            (PathElement::Field(f), Value::Object(m)) => m.get(f)?,
            (_, Value::Array(items)) => items.get(find_item(items, pe)?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn value_at_mut<'a>(obj: &'a mut Value, path: &[PathElement]) -> Option<&'a mut Value> {
    let mut cur = obj;
    for pe in path {
        cur = match (pe, cur) {
            (PathElement::Field(f), Value::Object(m)) => m.get_mut(f)?,
            (_, Value::Array(items)) => {
                let i = find_item(items, pe)?;
                items.get_mut(i)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

/// Removes the value at `path`, then any maps left empty by that removal (below the top
/// level). Returns whether something was removed.
pub fn remove_at(obj: &mut Value, path: &[PathElement]) -> bool {
    let Some((last, parent_path)) = path.split_last() else {
        return false;
    };
    let removed = match (last, value_at_mut(obj, parent_path)) {
        (PathElement::Field(f), Some(Value::Object(m))) => m.remove(f).is_some(),
        (pe, Some(Value::Array(items))) => match find_item(items, pe) {
            Some(i) => {
                items.remove(i);
                true
            }
            None => false,
        },
        _ => false,
    };
    if removed {
        for depth in (2..=parent_path.len()).rev() {
            let p = &parent_path[..depth];
            let empty = matches!(value_at(obj, p), Some(Value::Object(m)) if m.is_empty());
            if !empty || !matches!(p.last(), Some(PathElement::Field(_))) {
                break;
            }
            remove_at(obj, p);
        }
    }
    removed
}

/// `.spec.template.spec.containers[name="web"].image`: how conflict messages name a path.
pub fn path_string(path: &[PathElement]) -> String {
    let mut s = String::new();
    for pe in path {
        match pe {
            PathElement::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            PathElement::Key(k) => {
                let parts = serde_json::from_str::<Map<String, Value>>(k)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                s.push_str(&format!("[{parts}]"));
            }
            PathElement::Value(v) => s.push_str(&format!("[={v}]")),
            PathElement::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"metadata": {"labels": {"app": "web"}},
               "spec": {"replicas": 2, "template": {"spec": {"containers": [
                   {"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}]}}}})
    }

    #[test]
    fn fields_v1_matches_real_format() {
        let set = FieldSet::from_object(&deployment(), true);
        let v = set.to_fields_v1();
        assert_eq!(
            v,
            json!({"f:metadata": {"f:labels": {"f:app": {}}},
                   "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                       "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {},
                           "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}}}}}})
        );
        let keys: Vec<&String> = v["f:spec"]["f:template"]["f:spec"]["f:containers"]
            ["k:{\"name\":\"web\"}"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys[0], ".");
    }

    #[test]
    fn custom_resource_lists_are_atomic() {
        let set = FieldSet::from_object(&json!({"spec": {"items": [{"name": "a"}]}}), false);
        assert_eq!(set.to_fields_v1(), json!({"f:spec": {"f:items": {}}}));
    }

    #[test]
    fn value_at_and_remove_at_follow_keys() {
        let mut d = deployment();
        let set = FieldSet::from_object(&d, true);
        let image = set
            .0
            .iter()
            .find(|p| path_string(p).ends_with(".image"))
            .unwrap()
            .clone();
        assert_eq!(
            path_string(&image),
            ".spec.template.spec.containers[name=\"web\"].image"
        );
        assert_eq!(value_at(&d, &image), Some(&json!("nginx")));
        assert!(remove_at(&mut d, &image));
        assert_eq!(value_at(&d, &image), None);
        let app = vec![
            PathElement::Field("metadata".into()),
            PathElement::Field("labels".into()),
            PathElement::Field("app".into()),
        ];
        assert!(remove_at(&mut d, &app));
        assert_eq!(d["metadata"], json!({}), "empty labels map is pruned");
    }

    #[test]
    fn strip_drops_identity_and_type() {
        let o = json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "x", "uid": "u", "labels": {"a": "b"}}, "data": {"k": "v"}});
        assert_eq!(
            strip(&o),
            json!({"metadata": {"labels": {"a": "b"}}, "data": {"k": "v"}})
        );
    }

    #[test]
    fn bad_fields_v1_is_an_error() {
        assert!(FieldSet::from_fields_v1(&json!({"x": {}})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"k:notjson": {}})).is_err());
        assert!(FieldSet::from_fields_v1(&json!([])).is_err());
    }

    proptest::proptest! {
        /// fieldsV1 encoding round-trips any field set built from an object.
        #[test]
        fn fields_v1_round_trips(
            labels in proptest::collection::btree_map("[a-c]{1,2}", "[a-z]{0,3}", 0..4),
            containers in proptest::collection::btree_set("[a-c]{1,2}", 0..3),
            replicas in proptest::option::of(0i64..5),
        ) {
            let cs: Vec<Value> = containers.iter().map(|n| json!({"name": n, "image": "i"})).collect();
            let mut obj = json!({"metadata": {"labels": labels}, "spec": {"template": {"spec": {"containers": cs}}}});
            if let Some(r) = replicas { obj["spec"]["replicas"] = json!(r); }
            let set = FieldSet::from_object(&obj, true);
            let back = FieldSet::from_fields_v1(&set.to_fields_v1()).unwrap();
            proptest::prop_assert_eq!(back, set);
        }
    }
}
