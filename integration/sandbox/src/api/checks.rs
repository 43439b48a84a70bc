//! Checks on a request's object before it is written: apiVersion and kind against the
//! URL, namespace placement, name syntax, and that the namespace exists. Each answers the
//! real server's error; none writes.

use serde_json::{json, Value};

use super::request::Target;
use crate::error::{ApiError, ApiResult};
use crate::meta::{self, meta_str};
use crate::store::{ObjectKey, State};

pub fn require_namespace(st: &State, t: &Target) -> ApiResult<()> {
    let Some(ns) = &t.namespace else {
        return Ok(());
    };
    let k = ObjectKey {
        group_resource: "namespaces".into(),
        namespace: String::new(),
        name: ns.clone(),
    };
    match st.get(&k) {
        Some(_) => Ok(()),
        None => Err(ApiError::namespace_not_found(ns)),
    }
}

/// A name the real server would accept: an RFC 1123 label for namespaces, an RFC 1123
/// subdomain otherwise (custom resources and RBAC objects are looser there; so is this).
pub fn validate_name(t: &Target, name: &str) -> ApiResult<()> {
    let part = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let r = &t.resource;
    let (ok, what) = if r.group.is_empty() && r.plural == "namespaces" {
        (name.len() <= 63 && part(name), "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    } else if r.group == "rbac.authorization.k8s.io" || !r.builtin {
        (
            !name.contains('/') && !name.contains('%') && name != "." && name != "..",
            "may not contain '/' or '%'",
        )
    } else {
        (name.len() <= 253 && name.split('.').all(part), "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    };
    if ok {
        return Ok(());
    }
    Err(ApiError::invalid(
        &r.kind,
        &r.group,
        name,
        "metadata.name",
        &format!("Invalid value: {name:?}: {what}"),
    ))
}

/// Checks apiVersion/kind of a body against the target.
pub fn check_type(t: &Target, obj: &Value) -> ApiResult<()> {
    if let Some(kind) = obj.get("kind").and_then(Value::as_str) {
        if kind != t.resource.kind {
            return Err(ApiError::bad_request(format!(
                "the kind of the provided object ({kind}) does not match the kind of the request ({})",
                t.resource.kind
            )));
        }
    }
    if let Some(av) = obj.get("apiVersion").and_then(Value::as_str) {
        let (g, v) = crate::store::split_api_version(av);
        if g != t.resource.group || !t.resource.serves(v) {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({})",
                t.api_version()
            )));
        }
    }
    Ok(())
}

/// Sets metadata.namespace from the URL, refusing a different one in the body.
pub fn place(t: &Target, obj: &mut Value) -> ApiResult<()> {
    let body_ns = meta_str(obj, "namespace").map(String::from);
    let md = meta::metadata_mut(obj);
    match (&t.namespace, body_ns) {
        (Some(ns), Some(b)) if !b.is_empty() && b != *ns => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        (Some(ns), _) => {
            md.insert("namespace".into(), json!(ns));
            Ok(())
        }
        (None, _) => {
            md.remove("namespace");
            Ok(())
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The metadata field types the real server's decoder enforces, with its message.
pub fn check_metadata(obj: &Value) -> ApiResult<()> {
    let unmarshal = |v: &Value, field: &str, ty: &str| {
        ApiError::bad_request(format!(
            "json: cannot unmarshal {} into Go struct field {field} of type {ty}",
            json_type(v)
        ))
    };
    let Some(md) = obj.get("metadata") else {
        return Ok(());
    };
    let Value::Object(md) = md else {
        return Err(unmarshal(md, ".metadata", "v1.ObjectMeta"));
    };
    for f in [
        "name",
        "namespace",
        "generateName",
        "resourceVersion",
        "uid",
    ] {
        match md.get(f) {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(v) => return Err(unmarshal(v, &format!("ObjectMeta.metadata.{f}"), "string")),
        }
    }
    for f in ["labels", "annotations"] {
        match md.get(f) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) if m.values().all(Value::is_string) => {}
            Some(v) => {
                let bad = match v {
                    Value::Object(m) => m.values().find(|x| !x.is_string()).unwrap_or(v),
                    other => other,
                };
                return Err(unmarshal(
                    bad,
                    &format!("ObjectMeta.metadata.{f}"),
                    "map[string]string",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_types_are_checked() {
        assert!(check_metadata(&json!({"metadata": {"name": "a", "labels": {"x": "y"}}})).is_ok());
        let e = check_metadata(&json!({"metadata": {"labels": [1]}})).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(e.message, "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string");
        assert!(check_metadata(&json!({"metadata": {"labels": {"x": 1}}})).is_err());
        assert!(check_metadata(&json!({"metadata": {"resourceVersion": 5}})).is_err());
        assert!(check_metadata(&json!({"metadata": "x"})).is_err());
    }
}
