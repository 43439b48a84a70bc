//! Strategic merge patch for built-in types: maps merge recursively, `null` deletes a key,
//! lists with a merge key (see `keys`) merge item by item, other lists are replaced.
//! Directives: `$patch: replace` and `$patch: delete` on maps and list items,
//! `$retainKeys`, `$deleteFromPrimitiveList/<field>`; `$setElementOrder/<field>` is
//! accepted and ignored. Pure.

use serde_json::{Map, Value};

use super::keys::patch_merge_key;
use super::MergeError;

/// Applies `patch` to `original` and returns the result.
pub fn strategic_merge(original: &Value, patch: &Value) -> Result<Value, MergeError> {
    let Value::Object(p) = patch else {
        return Err(MergeError::InvalidPatch(
            "a strategic merge patch must be a JSON object".into(),
        ));
    };
    let mut out = original.clone();
    match merge_value(&mut out, p)? {
        true => Ok(out),
        false => Ok(Value::Object(Map::new())),
    }
}

fn directive(p: &Map<String, Value>) -> Option<&str> {
    p.get("$patch").and_then(Value::as_str)
}

/// Merges map patch `p` into `target`. Returns false when the map is to be deleted.
fn merge_value(target: &mut Value, p: &Map<String, Value>) -> Result<bool, MergeError> {
    match directive(p) {
        Some("delete") => return Ok(false),
        Some("replace") => {
            let mut m = p.clone();
            m.remove("$patch");
            *target = Value::Object(strip_directives(m));
            return Ok(true);
        }
        Some("merge") | None => {}
        Some(other) => {
            return Err(MergeError::InvalidPatch(format!(
                "unknown patch type: {other:?}"
            )))
        }
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else {
        return Ok(true);
    };
    for (k, v) in p {
        if k == "$patch" || k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            let drop = v.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(items)) = t.get_mut(field) {
                items.retain(|i| !drop.contains(i));
            }
            continue;
        }
        match v {
            Value::Null => {
                t.remove(k);
            }
            Value::Object(pm) => {
                let slot = t.entry(k.clone()).or_insert(Value::Null);
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if !merge_value(slot, pm)? {
                    t.remove(k);
                }
            }
            Value::Array(items) => {
                let merged = match (t.get(k), patch_merge_key(k, items)) {
                    (Some(Value::Array(orig)), Some(key)) => merge_list(orig, items, key)?,
                    _ => plain_list(items),
                };
                t.insert(k.clone(), Value::Array(merged));
            }
            other => {
                t.insert(k.clone(), other.clone());
            }
        }
    }
    if let Some(Value::Array(keep)) = p.get("$retainKeys") {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        t.retain(|k, _| keep.contains(&k.as_str()));
    }
    Ok(true)
}

fn strip_directives(mut m: Map<String, Value>) -> Map<String, Value> {
    m.retain(|k, _| !k.starts_with('$'));
    m
}

/// A patch list without an original to merge into: items minus delete directives.
fn plain_list(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .filter(|i| i.as_object().is_none_or(|m| directive(m).is_none()))
        .cloned()
        .collect()
}

fn merge_list(orig: &[Value], patch: &[Value], key: &str) -> Result<Vec<Value>, MergeError> {
    if patch.iter().any(|i| {
        i.as_object()
            .is_some_and(|m| m.len() == 1 && directive(m) == Some("replace"))
    }) {
        return Ok(plain_list(patch));
    }
    let mut out = orig.to_vec();
    for item in patch {
        let Value::Object(pm) = item else {
            return Err(MergeError::InvalidPatch(format!(
                "list items merged by {key:?} must be objects"
            )));
        };
        let Some(kv) = pm.get(key) else {
            return Err(MergeError::InvalidPatch(format!(
                "map: {item} does not contain declared merge key: {key}"
            )));
        };
        let pos = out.iter().position(|o| o.get(key) == Some(kv));
        match (pos, directive(pm)) {
            (Some(i), Some("delete")) => {
                out.remove(i);
            }
            (None, Some("delete")) => {}
            (Some(i), _) => {
                if let Some(slot) = out.get_mut(i) {
                    if !merge_value(slot, pm)? {
                        out.remove(i);
                    }
                }
            }
            (None, _) => out.push(Value::Object(strip_directives(pm.clone()))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(original: Value, patch: Value, expected: Value) {
        assert_eq!(strategic_merge(&original, &patch).unwrap(), expected);
    }

    #[test]
    fn containers_merge_by_name() {
        check(
            json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}}),
            json!({"spec": {"containers": [{"name": "b", "image": "3"}, {"name": "c", "image": "4"}]}}),
            json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "3"},
                                           {"name": "c", "image": "4"}]}}),
        );
    }

    #[test]
    fn env_ports_mounts_volumes_merge_by_their_keys() {
        check(
            json!({"env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80, "name": "http"}],
                   "volumeMounts": [{"mountPath": "/a", "name": "v"}], "volumes": [{"name": "v"}]}),
            json!({"env": [{"name": "A", "value": "2"}], "ports": [{"containerPort": 81}],
                   "volumeMounts": [{"mountPath": "/a", "readOnly": true}], "volumes": [{"name": "w"}]}),
            json!({"env": [{"name": "A", "value": "2"}],
                   "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 81}],
                   "volumeMounts": [{"mountPath": "/a", "name": "v", "readOnly": true}],
                   "volumes": [{"name": "v"}, {"name": "w"}]}),
        );
    }

    #[test]
    fn service_ports_merge_by_port() {
        check(
            json!({"ports": [{"port": 80, "name": "http"}]}),
            json!({"ports": [{"port": 80, "targetPort": 8080}]}),
            json!({"ports": [{"port": 80, "name": "http", "targetPort": 8080}]}),
        );
    }

    #[test]
    fn directives_delete_and_replace() {
        check(
            json!({"containers": [{"name": "a"}, {"name": "b"}], "labels": {"x": "1", "y": "2"}}),
            json!({"containers": [{"name": "a", "$patch": "delete"}], "labels": {"$patch": "replace", "z": "3"}}),
            json!({"containers": [{"name": "b"}], "labels": {"z": "3"}}),
        );
        check(
            json!({"containers": [{"name": "a"}, {"name": "b"}]}),
            json!({"containers": [{"$patch": "replace"}, {"name": "c"}]}),
            json!({"containers": [{"name": "c"}]}),
        );
        check(
            json!({"a": {"b": 1}, "c": 1}),
            json!({"a": {"$patch": "delete"}}),
            json!({"c": 1}),
        );
    }

    #[test]
    fn null_deletes_and_unkeyed_lists_replace() {
        check(
            json!({"a": 1, "args": ["x", "y"], "finalizers": ["f"]}),
            json!({"a": null, "args": ["z"], "$deleteFromPrimitiveList/finalizers": ["f"]}),
            json!({"args": ["z"], "finalizers": []}),
        );
    }

    #[test]
    fn bad_patches_are_errors_not_panics() {
        assert!(strategic_merge(&json!({}), &json!([1])).is_err());
        assert!(strategic_merge(
            &json!({"containers": [{"name": "a"}]}),
            &json!({"containers": [1]})
        )
        .is_err());
        assert!(strategic_merge(
            &json!({"containers": [{"name": "a"}]}),
            &json!({"containers": [{"image": "x"}]})
        )
        .is_err());
        assert!(strategic_merge(&json!({}), &json!({"$patch": "explode"})).is_err());
    }

    proptest::proptest! {
        /// A patch that sets keys to values and then a patch with those keys null give back
        /// the original (the inverse of adding fresh keys).
        #[test]
        fn adding_then_nulling_fresh_keys_is_identity(
            base in proptest::collection::btree_map("[a-e]", 0i64..9, 0..4),
            add in proptest::collection::btree_map("[f-j]", 0i64..9, 0..4),
        ) {
            let original = json!({"data": base});
            let patch = json!({"data": add.clone()});
            let undo: Map<String, Value> = add.keys().map(|k| (k.clone(), Value::Null)).collect();
            let patched = strategic_merge(&original, &patch).unwrap();
            let back = strategic_merge(&patched, &json!({"data": undo})).unwrap();
            proptest::prop_assert_eq!(back, original);
        }
    }
}
