//! The drift diff: which fields of a live object differ from what a server-side apply of the
//! bundle's object would make of it, as dotted paths (`spec.replicas`, `data.greeting`,
//! `spec.template.spec.containers[0].image`).
//!
//! Pure: two JSON values in, paths out. Must never talk to a cluster, and never report the
//! fields the API server manages by itself (resource version, managed fields, `status`).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// At most this many paths per object; a report names what drifted, not every leaf.
pub const MAX_FIELDS: usize = 20;

/// Server-managed `metadata` fields that change on every write and are never compared.
const SERVER_METADATA: [&str; 7] = [
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
];

/// The dotted paths of the leaves where `live` differs from `expected` (the dry-run result of
/// applying the bundle's object), ignoring server-managed metadata and `status`; at most
/// [`MAX_FIELDS`], in key order. A key present on one side only is one path, not one per
/// leaf below it. Empty when the two agree on every compared field.
pub fn diff(expected: &Value, live: &Value) -> Vec<String> {
    let mut paths = Vec::new();
    walk(&compared(expected), &compared(live), "", &mut paths);
    paths
}

/// `object` without the fields [`diff`] ignores.
pub fn compared(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in SERVER_METADATA {
                metadata.remove(field);
            }
        }
    }
    object
}

fn walk(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_FIELDS || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => walk_maps(a, b, path, out),
        (Value::Array(a), Value::Array(b)) => {
            for index in 0..a.len().max(b.len()) {
                let path = format!("{path}[{index}]");
                match (a.get(index), b.get(index)) {
                    (Some(a), Some(b)) => walk(a, b, &path, out),
                    _ => push(out, path),
                }
            }
        }
        _ => push(out, path.to_string()),
    }
}

fn walk_maps(a: &Map<String, Value>, b: &Map<String, Value>, path: &str, out: &mut Vec<String>) {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        let path = child(path, key);
        match (a.get(key), b.get(key)) {
            (Some(a), Some(b)) => walk(a, b, &path, out),
            _ => push(out, path),
        }
    }
}

fn push(out: &mut Vec<String>, path: String) {
    if out.len() < MAX_FIELDS {
        out.push(path);
    }
}

/// `parent.key`, or `parent["key"]` when the key would not read as one segment (a dot, a
/// bracket, a quote, or empty), as annotation keys like `example.com/owner` often are.
fn child(parent: &str, key: &str) -> String {
    let plain = !key.is_empty() && !key.contains(['.', '[', ']', '"']);
    match (plain, parent.is_empty()) {
        (true, true) => key.to_string(),
        (true, false) => format!("{parent}.{key}"),
        (false, _) => format!("{parent}[{key:?}]"),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn check(expected: Value, live: Value, paths: &[&str]) {
        assert_eq!(diff(&expected, &live), paths, "{expected} vs {live}");
    }

    fn config_map(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "sample"}, "data": data})
    }

    #[test]
    fn equal_objects_have_no_diff() {
        check(
            config_map(json!({"a": "1"})),
            config_map(json!({"a": "1"})),
            &[],
        );
    }

    #[test]
    fn changed_added_and_removed_keys_are_paths() {
        check(
            config_map(json!({"greeting": "hello", "gone": "x"})),
            config_map(json!({"greeting": "changed", "extra": "y"})),
            &["data.extra", "data.gone", "data.greeting"],
        );
    }

    #[test]
    fn list_indices_are_bracketed() {
        check(
            json!({"spec": {"replicas": 1, "containers": [{"image": "nginx:1.27"}]}}),
            json!({"spec": {"replicas": 3, "containers": [{"image": "nginx:1.25"}, {"image": "x"}]}}),
            &[
                "spec.containers[0].image",
                "spec.containers[1]",
                "spec.replicas",
            ],
        );
    }

    #[test]
    fn server_managed_metadata_and_status_are_ignored() {
        let expected = config_map(json!({"a": "1"}));
        let mut live = expected.clone();
        live["metadata"]["resourceVersion"] = json!("42");
        live["metadata"]["uid"] = json!("0b7c");
        live["metadata"]["generation"] = json!(3);
        live["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        live["metadata"]["managedFields"] = json!([{"manager": "kubectl"}]);
        live["status"] = json!({"ready": true});
        check(expected, live, &[]);
    }

    #[test]
    fn keys_that_are_not_one_segment_are_quoted() {
        check(
            json!({"metadata": {"annotations": {"example.com/owner": "a"}}}),
            json!({"metadata": {"annotations": {"example.com/owner": "b"}}}),
            &["metadata.annotations[\"example.com/owner\"]"],
        );
    }

    #[test]
    fn paths_are_capped() {
        let many = |value: &str| {
            Value::Object(
                (0..50)
                    .map(|i| (format!("k{i:02}"), json!(value)))
                    .collect(),
            )
        };
        let paths = diff(&config_map(many("a")), &config_map(many("b")));
        assert_eq!(paths.len(), MAX_FIELDS);
        assert_eq!(paths[0], "data.k00");
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z]{0,4}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z.]{0,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Objects shaped like Kubernetes objects, so `metadata` and `status` come up often.
    fn object() -> impl Strategy<Value = Value> {
        (json_value(), json_value(), json_value()).prop_map(|(metadata, spec, status)| {
            json!({"metadata": metadata, "spec": spec, "status": status})
        })
    }

    proptest! {
        #[test]
        fn diff_with_itself_is_empty(a in object()) {
            prop_assert!(diff(&a, &a).is_empty());
        }

        #[test]
        fn diff_is_non_empty_exactly_when_compared_fields_differ(a in object(), b in object()) {
            let differs = compared(&a) != compared(&b);
            prop_assert_eq!(!diff(&a, &b).is_empty(), differs);
        }

        #[test]
        fn diff_of_generic_values(a in json_value(), b in json_value()) {
            prop_assert_eq!(diff(&a, &b).is_empty(), compared(&a) == compared(&b));
            prop_assert!(diff(&a, &b).len() <= MAX_FIELDS);
        }
    }
}
