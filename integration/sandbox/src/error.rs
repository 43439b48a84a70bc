//! Errors: `Error` for starting a sandbox, `ApiError` for answering a request.
//!
//! `ApiError` renders as a `metav1.Status` with the reason, code and message shape the real
//! kube-apiserver uses. Nothing here may panic on request input.

use serde_json::{json, Value};

/// Failure to start or run a sandbox (not a request error).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot bind the sandbox listener")]
    Bind(#[source] std::io::Error),
    #[error("cannot generate the sandbox certificates")]
    Certificate(#[source] rcgen::Error),
    #[error("cannot build the sandbox TLS configuration")]
    Tls(#[source] rustls::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An API error answered as a `metav1.Status`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

/// `deployments.apps` or `configmaps` (core group): how the real server names a resource.
pub fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn details(name: &str, group: &str, kind: &str) -> Value {
    let mut d = serde_json::Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        d.insert("group".into(), json!(group));
    }
    d.insert("kind".into(), json!(kind));
    Value::Object(d)
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn not_found(resource: &str, group: &str, name: &str) -> Self {
        let q = qualified(resource, group);
        Self::new(404, "NotFound", format!("{q} \"{name}\" not found"))
            .with_details(details(name, group, resource))
    }

    pub fn namespace_not_found(ns: &str) -> Self {
        Self::not_found("namespaces", "", ns)
    }

    pub fn not_found_path() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn already_exists(resource: &str, group: &str, name: &str) -> Self {
        let q = qualified(resource, group);
        Self::new(
            409,
            "AlreadyExists",
            format!("{q} \"{name}\" already exists"),
        )
        .with_details(details(name, group, resource))
    }

    pub fn conflict(resource: &str, group: &str, name: &str) -> Self {
        let q = qualified(resource, group);
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {q} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again"
            ),
        )
        .with_details(details(name, group, resource))
    }

    /// 422 Invalid: `ConfigMap "x" is invalid: metadata.name: Required value`.
    pub fn invalid(kind: &str, group: &str, name: &str, field: &str, detail: &str) -> Self {
        let qk = qualified(kind, group);
        Self::new(
            422,
            "Invalid",
            format!("{qk} \"{name}\" is invalid: {field}: {detail}"),
        )
        .with_details(json!({
            "name": name, "group": group, "kind": kind,
            "causes": [{"reason": "FieldValueInvalid", "message": detail, "field": field}]
        }))
    }

    pub fn forbidden(message: String, resource: &str, group: &str, name: &str) -> Self {
        Self::new(403, "Forbidden", message).with_details(details(name, group, resource))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 409 for a server-side apply conflict; `causes` lists each conflicting field.
    pub fn apply_conflict(message: String, causes: Vec<Value>) -> Self {
        Self::new(409, "Conflict", message).with_details(json!({ "causes": causes }))
    }

    /// The `metav1.Status` body.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        });
        if let (Some(d), Some(m)) = (&self.details, s.as_object_mut()) {
            m.insert("details".into(), d.clone());
        }
        if let Some(m) = s.as_object_mut() {
            m.insert("code".into(), json!(self.code));
        }
        s
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.reason, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_names_group_qualified_resource() {
        let e = ApiError::not_found("deployments", "apps", "web");
        assert_eq!(e.message, "deployments.apps \"web\" not found");
        let s = e.to_status();
        assert_eq!(s["code"], 404);
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["details"]["kind"], "deployments");
    }

    #[test]
    fn namespace_not_found_matches_real_message() {
        let e = ApiError::namespace_not_found("x");
        assert_eq!(e.message, "namespaces \"x\" not found");
    }
}
