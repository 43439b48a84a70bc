//! Discovery documents (legacy form): /version, /api, /api/v1, /apis, /apis/GROUP and
//! /apis/GROUP/VERSION, built from the resource table. kubectl asks for the aggregated
//! form first and falls back to these when the answer is plain `application/json`. Pure.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::resources::{ResourceInfo, BUILTIN_GROUPS};

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

pub fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": "v1.32.0-flotilla-sandbox",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc",
        "platform": "linux/amd64"
    })
}

pub fn api_versions(server: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}]})
}

/// (group, served versions) for every group but core, built-ins first.
fn groups(custom: &[Arc<ResourceInfo>]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = BUILTIN_GROUPS
        .iter()
        .map(|(g, v)| (g.to_string(), vec![v.to_string()]))
        .collect();
    for r in custom {
        match out.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, vs)) => {
                for v in &r.versions {
                    if !vs.contains(v) {
                        vs.push(v.clone());
                    }
                }
            }
            None => out.push((r.group.clone(), r.versions.clone())),
        }
    }
    out
}

fn group_doc(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    let preferred = vs.first().cloned().unwrap_or(Value::Null);
    json!({"name": name, "versions": vs, "preferredVersion": preferred})
}

pub fn api_group_list(custom: &[Arc<ResourceInfo>]) -> Value {
    let gs: Vec<Value> = groups(custom)
        .iter()
        .map(|(g, vs)| group_doc(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": gs})
}

pub fn api_group(custom: &[Arc<ResourceInfo>], group: &str) -> Option<Value> {
    let (g, vs) = groups(custom).into_iter().find(|(g, _)| g == group)?;
    let mut doc = group_doc(&g, &vs);
    if let Value::Object(m) = &mut doc {
        m.insert("kind".into(), json!("APIGroup"));
        m.insert("apiVersion".into(), json!("v1"));
    }
    Some(doc)
}

/// The APIResourceList of `group`/`version`, or None when nothing is served there.
pub fn resource_list<'a>(
    resources: impl Iterator<Item = &'a Arc<ResourceInfo>>,
    group: &str,
    version: &str,
) -> Option<Value> {
    let mut list = Vec::new();
    for r in resources.filter(|r| r.group == group && r.serves(version)) {
        let mut doc = json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": if r.group == crate::resources::REVIEW_GROUP { &["create"][..] } else { VERBS },
        });
        if let Value::Object(m) = &mut doc {
            if !r.short_names.is_empty() {
                m.insert("shortNames".into(), json!(r.short_names));
            }
            if !r.categories.is_empty() {
                m.insert("categories".into(), json!(r.categories));
            }
        }
        list.push(doc);
        if r.has_status {
            list.push(
                json!({"name": format!("{}/status", r.plural), "singularName": "",
                "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]}),
            );
        }
    }
    if list.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}),
    )
}

/// The OpenAPI v3 index: one entry per served group/version. kubectl reads it (and the
/// group/version documents) only to learn that PATCH accepts `fieldValidation`, so it can
/// leave validation to the server instead of downloading schemas.
pub fn openapi_v3_root<'a>(resources: impl Iterator<Item = &'a Arc<ResourceInfo>>) -> Value {
    let mut paths = serde_json::Map::new();
    for r in resources {
        for v in &r.versions {
            let p = if r.group.is_empty() {
                format!("api/{v}")
            } else {
                format!("apis/{}/{v}", r.group)
            };
            let url = format!("/openapi/v3/{p}");
            paths
                .entry(p)
                .or_insert_with(|| json!({ "serverRelativeURL": url }));
        }
    }
    json!({ "paths": paths })
}

/// A minimal OpenAPI v3 document of `group`/`version`: for each resource, the item path
/// with a PATCH operation tagged with its group/version/kind and the query parameters the
/// sandbox accepts. No schemas: the sandbox does not validate fields.
pub fn openapi_v3_gv<'a>(
    resources: impl Iterator<Item = &'a Arc<ResourceInfo>>,
    group: &str,
    version: &str,
) -> Option<Value> {
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    let params: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
        .iter()
        .map(|n| json!({"name": n, "in": "query", "schema": {"type": if *n == "force" { "boolean" } else { "string" }}}))
        .collect();
    let mut paths = serde_json::Map::new();
    for r in resources.filter(|r| r.group == group && r.serves(version)) {
        let path = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{prefix}/{}/{{name}}", r.plural)
        };
        let gvk = json!({"group": group, "version": version, "kind": r.kind});
        paths.insert(
            path,
            json!({"patch": {
                "operationId": format!("patch{}", r.kind),
                "x-kubernetes-group-version-kind": gvk,
                "x-kubernetes-action": "patch",
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
            }}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
                "paths": paths, "components": {"schemas": {}}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtins;

    #[test]
    fn core_v1_lists_configmaps_with_short_name() {
        let doc = resource_list(builtins().iter(), "", "v1").unwrap();
        let cm = doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "configmaps")
            .unwrap();
        assert_eq!(cm["shortNames"], json!(["cm"]));
        assert_eq!(cm["namespaced"], true);
        assert!(resource_list(builtins().iter(), "apps", "v2").is_none());
    }

    #[test]
    fn openapi_v3_declares_field_validation_on_patch() {
        let root = openapi_v3_root(builtins().iter());
        assert_eq!(
            root["paths"]["apis/apps/v1"]["serverRelativeURL"],
            "/openapi/v3/apis/apps/v1"
        );
        let doc = openapi_v3_gv(builtins().iter(), "apps", "v1").unwrap();
        let op = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(op["x-kubernetes-group-version-kind"]["kind"], "Deployment");
        assert!(op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation"));
    }

    #[test]
    fn group_list_has_every_builtin_group() {
        let doc = api_group_list(&[]);
        assert_eq!(
            doc["groups"].as_array().unwrap().len(),
            BUILTIN_GROUPS.len()
        );
        assert_eq!(
            doc["groups"][0]["preferredVersion"]["groupVersion"],
            "apps/v1"
        );
    }
}
