//! Merge keys of the associative lists in built-in types, found by field name (the sandbox
//! has no OpenAPI schemas). Used by strategic merge patch (`patchMergeKey`) and by
//! server-side apply (`listMapKeys`). Custom resources have no merge keys: their lists are
//! atomic, as for a CRD schema without `x-kubernetes-list-type: map`.

use serde_json::Value;

/// The strategic-merge-patch merge key of list field `field`, given its items.
pub fn patch_merge_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "conditions" => Some("type"),
        "hostAliases" => Some("ip"),
        "ports" => {
            if items.iter().any(|i| i.get("containerPort").is_some()) {
                Some("containerPort")
            } else {
                Some("port")
            }
        }
        _ => None,
    }
}

/// The server-side-apply list-map keys of list field `field`: the merge key plus protocol
/// for ports. None when the list is atomic or an item lacks the main key.
pub fn list_map_keys(field: &str, items: &[Value], builtin: bool) -> Option<Vec<&'static str>> {
    if !builtin {
        return None;
    }
    let main = patch_merge_key(field, items)?;
    if !items.iter().all(|i| i.get(main).is_some()) {
        return None;
    }
    let mut keys = vec![main];
    if field == "ports" {
        keys.push("protocol");
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ports_key_depends_on_item_shape() {
        assert_eq!(
            patch_merge_key("ports", &[json!({"containerPort": 80})]),
            Some("containerPort")
        );
        assert_eq!(
            patch_merge_key("ports", &[json!({"port": 80})]),
            Some("port")
        );
    }

    #[test]
    fn custom_resources_have_atomic_lists() {
        assert_eq!(
            list_map_keys("containers", &[json!({"name": "a"})], false),
            None
        );
        assert_eq!(
            list_map_keys("containers", &[json!({"name": "a"})], true),
            Some(vec!["name"])
        );
        assert_eq!(list_map_keys("env", &[json!({"value": "a"})], true), None);
    }
}
