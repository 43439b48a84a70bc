//! Request parsing: the resource path (`/api/v1/namespaces/NS/RESOURCE/NAME/SUB`), the
//! query string, and object bodies in JSON or YAML. Bad input becomes an `ApiError`, never
//! a panic.

use std::sync::Arc;

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::resources::ResourceInfo;
use crate::store::State;

/// Decoded query parameters, in order.
#[derive(Debug, Default, Clone)]
pub struct Query(pub Vec<(String, String)>);

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    pub fn parse(q: Option<&str>) -> Query {
        Query(
            q.unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (percent_decode(k), percent_decode(v)),
                    None => (percent_decode(p), String::new()),
                })
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean parameter: present as `true`, `1` or with no value.
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | ""))
    }

    /// `dryRun=All`.
    pub fn dry_run(&self) -> bool {
        self.0.iter().any(|(k, v)| k == "dryRun" && v == "All")
    }
}

/// A resource request's target.
#[derive(Debug, Clone)]
pub struct Target {
    pub resource: Arc<ResourceInfo>,
    pub version: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

impl Target {
    pub fn api_version(&self) -> String {
        self.resource.api_version(&self.version)
    }
}

/// Path segments after the group/version prefix: (namespace, resource, name, subresource).
type Parts<'a> = (Option<&'a str>, &'a str, Option<&'a str>, Option<&'a str>);

fn split_rest<'a>(rest: &[&'a str]) -> Option<Parts<'a>> {
    match rest {
        ["namespaces", ns, resource, tail @ ..] if !matches!(*resource, "status" | "finalize") => {
            match tail {
                [] => Some((Some(ns), resource, None, None)),
                [name] => Some((Some(ns), resource, Some(name), None)),
                [name, sub] => Some((Some(ns), resource, Some(name), Some(sub))),
                _ => None,
            }
        }
        [resource] => Some((None, resource, None, None)),
        [resource, name] => Some((None, resource, Some(name), None)),
        [resource, name, sub] => Some((None, resource, Some(name), Some(sub))),
        _ => None,
    }
}

/// Resolves `/api/v1/...` or `/apis/G/V/...` against the served resources. Ok(None) when
/// the path is not a resource path at all.
pub fn resolve(st: &State, path: &str) -> ApiResult<Option<Target>> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
        _ => return Ok(None),
    };
    let (ns, plural, name, sub) = split_rest(rest).ok_or_else(ApiError::not_found_path)?;
    let resource = st
        .resource(group, version, plural)
        .ok_or_else(ApiError::not_found_path)?;
    if let Some(s) = sub {
        if s != "status" || !resource.has_status {
            return Err(ApiError::not_found_path());
        }
    }
    if ns.is_some() && !resource.namespaced {
        return Err(ApiError::not_found_path());
    }
    Ok(Some(Target {
        resource,
        version: version.to_string(),
        namespace: ns.map(String::from),
        name: name.map(String::from),
        subresource: sub.map(String::from),
    }))
}

/// An object from a JSON or YAML body.
pub fn parse_object(body: &[u8]) -> ApiResult<Value> {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(json_err) => serde_norway::from_slice(body).map_err(|_| {
            ApiError::bad_request(format!(
                "the body of the request could not be decoded: {json_err}"
            ))
        })?,
    };
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be an object".to_string(),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decodes_selectors() {
        let q = Query::parse(Some(
            "labelSelector=app%3Dweb%2Ctier+in+%28a%29&watch=1&dryRun=All",
        ));
        assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a)"));
        assert!(q.flag("watch") && q.dry_run());
        assert_eq!(Query::parse(Some("x=%zz%")).get("x"), Some("%zz%"));
    }

    #[test]
    fn paths_resolve() {
        let st = State::default();
        let t = resolve(&st, "/apis/apps/v1/namespaces/a/deployments/web/status")
            .unwrap()
            .unwrap();
        assert_eq!(t.namespace.as_deref(), Some("a"));
        assert_eq!(t.subresource.as_deref(), Some("status"));
        let ns = resolve(&st, "/api/v1/namespaces/a").unwrap().unwrap();
        assert_eq!(ns.resource.plural, "namespaces");
        assert_eq!(ns.name.as_deref(), Some("a"));
        assert!(resolve(&st, "/api/v1/widgets").is_err());
        assert!(resolve(&st, "/api/v1/namespaces/a/nodes").is_err());
        assert!(resolve(&st, "/version").unwrap().is_none());
    }

    #[test]
    fn bodies_in_yaml_or_json() {
        assert_eq!(parse_object(b"{\"a\":1}").unwrap()["a"], 1);
        assert_eq!(parse_object(b"a: 1\nb: x\n").unwrap()["b"], "x");
        assert!(parse_object(b"[1]").is_err());
        assert!(parse_object(b"\x00\xff").is_err());
    }

    proptest::proptest! {
        /// Any path and query resolve or fail with an ApiError, never a panic.
        #[test]
        fn arbitrary_paths_and_queries_never_panic(path in "(/[a-z0-9%.]{0,8}){0,8}", query in "[a-z0-9%=&+]{0,32}") {
            let st = State::default();
            let _ = resolve(&st, &path);
            let _ = Query::parse(Some(&query));
        }
    }
}
