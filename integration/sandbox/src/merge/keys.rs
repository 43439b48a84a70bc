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

/// The value a list-map key field takes when an item leaves it out: the real server
/// defaults `protocol` to TCP before it computes item keys (`k:{"containerPort":80,"protocol":"TCP"}`).
pub fn key_default(field: &str) -> Option<serde_json::Value> {
    (field == "protocol").then(|| serde_json::Value::String("TCP".into()))
}

/// Sets the defaulted list-map key fields (port `protocol`) in an object of a built-in
/// type, as the real server's defaulting does on every write.
pub fn default_keys(obj: &mut Value) {
    match obj {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if k == "ports" {
                    if let Value::Array(items) = v {
                        for item in items.iter_mut() {
                            if let Value::Object(i) = item {
                                let numbered = i
                                    .get("containerPort")
                                    .or_else(|| i.get("port"))
                                    .is_some_and(Value::is_number);
                                if numbered && !i.contains_key("protocol") {
                                    i.insert("protocol".into(), Value::String("TCP".into()));
                                }
                            }
                        }
                    }
                }
                default_keys(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(default_keys),
        _ => {}
    }
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
    fn ports_get_a_default_protocol() {
        let mut o = json!({"spec": {"template": {"spec": {"containers": [{"name": "a",
            "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]}]}}}});
        default_keys(&mut o);
        let ports = &o["spec"]["template"]["spec"]["containers"][0]["ports"];
        assert_eq!(ports[0]["protocol"], "TCP");
        assert_eq!(ports[1]["protocol"], "UDP");
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
