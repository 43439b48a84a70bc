//! The HTTP face of a sandbox: authentication (bearer token), impersonation, RBAC,
//! routing of discovery and resource paths to the verbs, and JSON responses. Every error
//! is a `metav1.Status`; nothing from a request can panic.

pub mod checks;
pub mod request;
pub mod verbs;
pub mod watch;
pub mod write;

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use serde_json::Value;

use crate::discovery;
use crate::error::{ApiError, ApiResult};
use crate::rbac::{self, Attributes, Decision, Policy, UserInfo};
use crate::store::State;
use crate::Shared;
use request::{Query, Target};
use verbs::Ctx;

/// Response body: a whole JSON document, or a watch stream.
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

const MAX_BODY: usize = 32 * 1024 * 1024;

fn json_response(code: u16, v: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(bytes)).boxed_unsync());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status())
}

/// Answers one request.
pub async fn handle<B>(shared: Arc<Shared>, req: Request<B>) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = req.into_parts();
    let user = match authenticate(&shared, &parts.headers) {
        Ok(u) => u,
        Err(e) => return error_response(&e),
    };
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return error_response(&ApiError::bad_request(format!(
                "cannot read the request body: {e}"
            )))
        }
    };
    let header = |h: header::HeaderName| {
        parts
            .headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let query = Query::parse(parts.uri.query());
    let path = parts.uri.path();
    if let Some(r) = non_resource(&shared, path) {
        return r;
    }
    let target = {
        let st = shared.store.lock();
        match request::resolve(&st, path) {
            Ok(Some(t)) => t,
            Ok(None) => return error_response(&ApiError::not_found_path()),
            Err(e) => return error_response(&e),
        }
    };
    let verb = verb_of(&parts.method, &target, &query);
    if let Err(e) = authorize(&shared, &user, verb, &target) {
        return error_response(&e);
    }
    if verb == "watch" {
        return match watch::start(shared.clone(), &target, &query, shared.cancel.clone()) {
            Ok(rx) => {
                let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
                let stream = futures::StreamExt::map(stream, |b| {
                    Ok::<_, Infallible>(hyper::body::Frame::data(b))
                });
                let mut r = Response::new(BodyExt::boxed_unsync(StreamBody::new(stream)));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("application/json"),
                );
                r
            }
            Err(e) => error_response(&e),
        };
    }
    let mut content_type = header(header::CONTENT_TYPE);
    let decoded;
    let body: &[u8] =
        if content_type.starts_with("application/vnd.kubernetes.protobuf") && !body.is_empty() {
            match crate::proto::decode(&body) {
                Ok(v) => {
                    decoded = serde_json::to_vec(&v).unwrap_or_default();
                    content_type = "application/json";
                    &decoded
                }
                Err(e) => return error_response(&ApiError::unsupported_media_type(e.to_string())),
            }
        } else {
            &body
        };
    if target.resource.group == crate::resources::REVIEW_GROUP {
        return match verb {
            "create" => match review(&shared, &user, &target, body) {
                Ok(v) => json_response(201, &v),
                Err(e) => error_response(&e),
            },
            _ => error_response(&ApiError::method_not_allowed(
                "the server does not allow this method on the requested resource",
            )),
        };
    }
    let ctx = Ctx {
        query: &query,
        content_type,
        user_agent: header(header::USER_AGENT),
        body,
    };
    let store = &shared.store;
    let result = match verb {
        "get" => verbs::get(store, &target),
        "list" => verbs::list(store, &target, &query),
        "create" => verbs::create(store, &target, &ctx),
        "update" => verbs::update(store, &target, &ctx),
        "patch" => verbs::patch(store, &target, &ctx),
        "delete" => verbs::delete(store, &target, &ctx),
        "deletecollection" => verbs::delete_collection(store, &target, &ctx),
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            parts.method
        ))),
    };
    let rv = store.lock().resource_version();
    store.notify(rv);
    match result {
        Ok((code, v)) => json_response(code, &v),
        Err(e) => error_response(&e),
    }
}

fn verb_of(m: &Method, t: &Target, q: &Query) -> &'static str {
    match (m, t.name.is_some()) {
        (&Method::GET, true) => "get",
        (&Method::GET, false) if q.flag("watch") => "watch",
        (&Method::GET, false) => "list",
        (&Method::POST, false) => "create",
        (&Method::PUT, true) => "update",
        (&Method::PATCH, true) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => "unsupported",
    }
}

/// The bearer token's user, then the impersonated one if the headers ask and it is allowed.
fn authenticate(shared: &Shared, headers: &http::HeaderMap) -> ApiResult<UserInfo> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(ApiError::unauthorized)?;
    let user = if token == shared.token {
        UserInfo {
            name: "sandbox-admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    } else {
        shared
            .user_for_token(token)
            .ok_or_else(ApiError::unauthorized)?
    };
    let as_user = headers
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok());
    let as_groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect();
    let Some(as_user) = as_user else {
        return match as_groups.is_empty() {
            true => Ok(user),
            false => Err(ApiError::bad_request(
                "requested impersonation of groups without impersonating a user",
            )),
        };
    };
    if !user.is_master() {
        let targets = std::iter::once(("users", as_user))
            .chain(as_groups.iter().map(|g| ("groups", g.as_str())));
        for (resource, name) in targets {
            let attrs = Attributes {
                verb: "impersonate",
                group: "",
                resource,
                subresource: None,
                namespace: None,
                name: Some(name),
            };
            if let Decision::Deny(msg) = with_policy(shared, |p| rbac::authorize(&user, &attrs, p))
            {
                return Err(ApiError::forbidden(msg, resource, "", name));
            }
        }
    }
    Ok(UserInfo::impersonated(as_user, as_groups))
}

/// Runs `f` over the stored RBAC objects.
fn with_policy<T>(shared: &Shared, f: impl FnOnce(&Policy<'_>) -> T) -> T {
    let st = shared.store.lock();
    let objects = |gr: &str| -> Vec<Value> {
        st.list(gr, None)
            .map(|(_, o)| Arc::unwrap_or_clone(o))
            .collect()
    };
    let roles = objects("roles.rbac.authorization.k8s.io");
    let cluster_roles = objects("clusterroles.rbac.authorization.k8s.io");
    let role_bindings = objects("rolebindings.rbac.authorization.k8s.io");
    let cluster_role_bindings = objects("clusterrolebindings.rbac.authorization.k8s.io");
    drop(st);
    f(&Policy {
        roles: &roles,
        cluster_roles: &cluster_roles,
        role_bindings: &role_bindings,
        cluster_role_bindings: &cluster_role_bindings,
    })
}

fn authorize(shared: &Shared, user: &UserInfo, verb: &str, t: &Target) -> ApiResult<()> {
    if user.is_master() {
        return Ok(());
    }
    // A namespace's own name is its namespace for RBAC, as in the real server.
    let namespace = match (
        &t.namespace,
        t.resource.plural.as_str(),
        t.resource.group.is_empty(),
    ) {
        (None, "namespaces", true) => t.name.as_deref(),
        (ns, _, _) => ns.as_deref(),
    };
    let attrs = Attributes {
        verb,
        group: &t.resource.group,
        resource: &t.resource.plural,
        subresource: t.subresource.as_deref(),
        namespace,
        name: t.name.as_deref(),
    };
    match with_policy(shared, |p| rbac::authorize(user, &attrs, p)) {
        Decision::Allow => Ok(()),
        Decision::Deny(msg) => Err(ApiError::forbidden(
            msg,
            &t.resource.plural,
            &t.resource.group,
            t.name.as_deref().unwrap_or(""),
        )),
    }
}

/// Discovery and health paths, open to every authenticated user.
fn non_resource(shared: &Shared, path: &str) -> Option<Response<Body>> {
    let path = path.trim_end_matches('/');
    let ok = |v: Value| Some(json_response(200, &v));
    let st: std::sync::MutexGuard<'_, State> = shared.store.lock();
    match path.split('/').skip(1).collect::<Vec<_>>().as_slice() {
        ["version"] => ok(discovery::version()),
        ["healthz"] | ["livez"] | ["readyz"] => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"ok")).boxed_unsync());
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain"),
            );
            Some(r)
        }
        ["api"] => ok(discovery::api_versions(&shared.server_address)),
        ["apis"] => ok(discovery::api_group_list(st.custom_resources())),
        ["api", v] => Some(match discovery::resource_list(st.resources(), "", v) {
            Some(d) => json_response(200, &d),
            None => error_response(&ApiError::not_found_path()),
        }),
        ["apis", g] => Some(match discovery::api_group(st.custom_resources(), g) {
            Some(d) => json_response(200, &d),
            None => error_response(&ApiError::not_found_path()),
        }),
        ["apis", g, v] => Some(match discovery::resource_list(st.resources(), g, v) {
            Some(d) => json_response(200, &d),
            None => error_response(&ApiError::not_found_path()),
        }),
        ["openapi", "v3"] => ok(discovery::openapi_v3_root(st.resources())),
        ["openapi", "v3", "api", v] => {
            Some(match discovery::openapi_v3_gv(st.resources(), "", v) {
                Some(d) => json_response(200, &d),
                None => error_response(&ApiError::not_found_path()),
            })
        }
        ["openapi", "v3", "apis", g, v] => {
            Some(match discovery::openapi_v3_gv(st.resources(), g, v) {
                Some(d) => json_response(200, &d),
                None => error_response(&ApiError::not_found_path()),
            })
        }
        ["openapi", ..] => Some(error_response(&ApiError::not_found_path())),
        _ => None,
    }
}

/// SelfSubjectAccessReview and SubjectAccessReview: the RBAC decision for the attributes
/// in the spec, for the requester or for the named user.
fn review(shared: &Shared, user: &UserInfo, t: &Target, body: &[u8]) -> ApiResult<Value> {
    let mut obj = request::parse_object(body)?;
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let subject = match t.resource.kind.as_str() {
        "SubjectAccessReview" => {
            let name = spec.get("user").and_then(Value::as_str).unwrap_or("");
            let groups = spec
                .get("groups")
                .and_then(Value::as_array)
                .map(|g| {
                    g.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            UserInfo::impersonated(name, groups)
        }
        _ => user.clone(),
    };
    let Some(ra) = spec.get("resourceAttributes") else {
        return Err(ApiError::invalid(
            &t.resource.kind,
            &t.resource.group,
            "",
            "spec.resourceAttributes",
            "Required value: only resource attribute reviews are supported",
        ));
    };
    let s = |f: &str| ra.get(f).and_then(Value::as_str).filter(|v| !v.is_empty());
    let attrs = Attributes {
        verb: s("verb").unwrap_or(""),
        group: s("group").unwrap_or(""),
        resource: s("resource").unwrap_or(""),
        subresource: s("subresource"),
        namespace: s("namespace"),
        name: s("name"),
    };
    let status = match with_policy(shared, |p| rbac::authorize(&subject, &attrs, p)) {
        Decision::Allow => serde_json::json!({"allowed": true, "reason": "allowed by RBAC"}),
        Decision::Deny(_) => serde_json::json!({"allowed": false}),
    };
    if let Value::Object(m) = &mut obj {
        m.insert("status".into(), status);
        m.insert("apiVersion".into(), serde_json::json!(t.api_version()));
        m.insert("kind".into(), serde_json::json!(t.resource.kind));
    }
    Ok(obj)
}
