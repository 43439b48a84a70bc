//! The sandbox's verbs through the real `kube` client: namespace deletion, watches, dry-run,
//! optimistic concurrency, missing namespaces, impersonation with RBAC, selectors, and
//! bad requests answered with a Status.

mod common;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use serde_json::{json, Value};

use common::*;
use flotilla_sandbox::Sandbox;

#[tokio::test]
async fn deleting_a_namespace_removes_its_contents() {
    let sb = Sandbox::start().await.unwrap();
    let c = client(&sb, None).await;
    apply(&c, ns("gone"), &flotilla()).await.unwrap();
    apply(&c, ns("kept"), &flotilla()).await.unwrap();
    apply(&c, cm("gone", "a", json!({}), json!({})), &flotilla())
        .await
        .unwrap();
    apply(&c, deployment("gone"), &flotilla()).await.unwrap();
    apply(&c, cm("kept", "b", json!({}), json!({})), &flotilla())
        .await
        .unwrap();
    let nss: Api<DynamicObject> = Api::all_with(
        c.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Namespace")),
    );
    nss.delete("gone", &DeleteParams::default()).await.unwrap();
    assert!(sb
        .store()
        .get("v1", "ConfigMap", Some("gone"), "a")
        .is_none());
    assert!(sb
        .store()
        .get("apps/v1", "Deployment", Some("gone"), "web")
        .is_none());
    assert!(sb
        .store()
        .get("v1", "ConfigMap", Some("kept"), "b")
        .is_some());
    assert_eq!(code(nss.get("gone").await.unwrap_err()), 404);
}

#[tokio::test]
async fn watch_reports_added_modified_deleted_after_resource_version() {
    let sb = Sandbox::start().await.unwrap();
    let c = client(&sb, None).await;
    apply(&c, ns("w"), &flotilla()).await.unwrap();
    apply(&c, cm("w", "before", json!({}), json!({})), &flotilla())
        .await
        .unwrap();
    let api = cm_api(&c, "w");
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = api
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    apply(&c, cm("w", "x", json!({}), json!({"a": "1"})), &flotilla())
        .await
        .unwrap();
    apply(&c, cm("w", "x", json!({}), json!({"a": "2"})), &flotilla())
        .await
        .unwrap();
    api.delete("x", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push(match ev {
            WatchEvent::Added(o) => ("ADDED", o.metadata.name.unwrap()),
            WatchEvent::Modified(o) => ("MODIFIED", o.metadata.name.unwrap()),
            WatchEvent::Deleted(o) => ("DELETED", o.metadata.name.unwrap()),
            other => panic!("unexpected {other:?}"),
        });
    }
    let x = "x".to_string();
    assert_eq!(
        seen,
        vec![
            ("ADDED", x.clone()),
            ("MODIFIED", x.clone()),
            ("DELETED", x)
        ],
        "nothing from before rv"
    );

    // Without a resourceVersion, a watch starts with the existing objects.
    let mut fresh = api
        .watch(&WatchParams::default().timeout(5), "0")
        .await
        .unwrap()
        .boxed();
    match fresh.try_next().await.unwrap().unwrap() {
        WatchEvent::Added(o) => assert_eq!(o.metadata.name.as_deref(), Some("before")),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let sb = Sandbox::start().await.unwrap();
    let c = client(&sb, None).await;
    apply(&c, ns("d"), &flotilla()).await.unwrap();
    apply(
        &c,
        cm("d", "live", json!({}), json!({"k": "v"})),
        &flotilla(),
    )
    .await
    .unwrap();
    let rv = sb.store().resource_version();
    let dry = apply(
        &c,
        cm("d", "live", json!({}), json!({"k": "changed"})),
        &flotilla().dry_run(),
    )
    .await
    .unwrap();
    assert_eq!(dry.data["data"]["k"], "changed", "result shows the change");
    let created = apply(
        &c,
        cm("d", "new", json!({}), json!({})),
        &flotilla().dry_run(),
    )
    .await
    .unwrap();
    assert_eq!(created.metadata.name.as_deref(), Some("new"));
    let api = cm_api(&c, "d");
    let obj: DynamicObject =
        serde_json::from_value(cm("d", "posted", json!({}), json!({}))).unwrap();
    api.create(
        &PostParams {
            dry_run: true,
            ..Default::default()
        },
        &obj,
    )
    .await
    .unwrap();
    api.delete(
        "live",
        &DeleteParams {
            dry_run: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    api.patch(
        "live",
        &PatchParams {
            dry_run: true,
            ..Default::default()
        },
        &Patch::Merge(json!({"data": {"k": "m"}})),
    )
    .await
    .unwrap();
    assert_eq!(sb.store().resource_version(), rv, "no write happened");
    assert_eq!(
        sb.store()
            .get("v1", "ConfigMap", Some("d"), "live")
            .unwrap()["data"]["k"],
        "v"
    );
    assert!(sb
        .store()
        .get("v1", "ConfigMap", Some("d"), "new")
        .is_none());
    assert!(sb
        .store()
        .get("v1", "ConfigMap", Some("d"), "posted")
        .is_none());
}

#[tokio::test]
async fn stale_update_conflicts_and_missing_namespace_is_not_found() {
    let sb = Sandbox::start().await.unwrap();
    let c = client(&sb, None).await;
    apply(&c, ns("u"), &flotilla()).await.unwrap();
    let api = cm_api(&c, "u");
    let obj: DynamicObject =
        serde_json::from_value(cm("u", "x", json!({}), json!({"a": "1"}))).unwrap();
    let created = api.create(&PostParams::default(), &obj).await.unwrap();
    let mut newer = created.clone();
    newer.data["data"]["a"] = json!("2");
    let updated = api
        .replace("x", &PostParams::default(), &newer)
        .await
        .unwrap();
    assert_ne!(
        updated.metadata.resource_version,
        created.metadata.resource_version
    );
    let mut stale = created.clone();
    stale.data["data"]["a"] = json!("3");
    let err = api
        .replace("x", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert_eq!(code(err), 409);
    assert_eq!(
        code(api.create(&PostParams::default(), &obj).await.unwrap_err()),
        409,
        "AlreadyExists"
    );

    let missing = cm_api(&c, "nowhere");
    let obj: DynamicObject =
        serde_json::from_value(cm("nowhere", "x", json!({}), json!({}))).unwrap();
    let kube::Error::Api(s) = missing
        .create(&PostParams::default(), &obj)
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(
        (s.code, s.reason.as_str(), s.message.as_str()),
        (404, "NotFound", "namespaces \"nowhere\" not found")
    );
    let kube::Error::Api(s) = apply(&c, cm("nowhere", "y", json!({}), json!({})), &flotilla())
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(s.code, 404);
}

#[tokio::test]
async fn impersonated_service_account_needs_a_role_binding() {
    let sb = Sandbox::start().await.unwrap();
    let admin = client(&sb, None).await;
    for n in ["team-a", "team-b"] {
        apply(&admin, ns(n), &flotilla()).await.unwrap();
    }
    let sa = client(&sb, Some("system:serviceaccount:team-a:deployer")).await;
    let obj = |n: &str| cm(n, "x", json!({}), json!({}));
    let kube::Error::Api(s) = apply(&sa, obj("team-b"), &flotilla()).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(s.code, 403);
    assert_eq!(s.reason, "Forbidden");
    assert_eq!(
        s.message,
        "configmaps \"x\" is forbidden: User \"system:serviceaccount:team-a:deployer\" cannot patch resource \"configmaps\" in API group \"\" in the namespace \"team-b\""
    );
    assert_eq!(
        code(apply(&sa, obj("team-a"), &flotilla()).await.unwrap_err()),
        403
    );

    apply(&admin, json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "deployer", "namespace": "team-a"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch", "create", "list"]}]}), &flotilla()).await.unwrap();
    apply(
        &admin,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "deployer", "namespace": "team-a"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "team-a"}]}),
        &flotilla(),
    )
    .await
    .unwrap();
    // The agent's apply path: discovery is open to the service account, the patch is allowed.
    apply(&sa, obj("team-a"), &flotilla()).await.unwrap();
    assert_eq!(
        code(apply(&sa, obj("team-b"), &flotilla()).await.unwrap_err()),
        403
    );
    let listed = cm_api(&sa, "team-a")
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn lists_with_label_and_field_selectors() {
    let sb = Sandbox::start().await.unwrap();
    let c = client(&sb, None).await;
    apply(&c, ns("s"), &flotilla()).await.unwrap();
    for (n, app, tier) in [
        ("a", "web", "front"),
        ("b", "web", "back"),
        ("c", "db", "back"),
    ] {
        apply(
            &c,
            cm("s", n, json!({"app": app, "tier": tier}), json!({})),
            &flotilla(),
        )
        .await
        .unwrap();
    }
    let api = cm_api(&c, "s");
    let names = |l: kube::core::ObjectList<DynamicObject>| -> Vec<String> {
        l.items
            .into_iter()
            .filter_map(|o| o.metadata.name)
            .collect()
    };
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("app=web"))
                .await
                .unwrap()
        ),
        ["a", "b"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("app in (web,db),tier!=front"))
                .await
                .unwrap()
        ),
        ["b", "c"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name=c"))
                .await
                .unwrap()
        ),
        ["c"]
    );
    let all: Api<DynamicObject> = Api::all_with(
        c.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap")),
    );
    assert_eq!(
        names(
            all.list(&ListParams::default().fields("metadata.namespace=s"))
                .await
                .unwrap()
        )
        .len(),
        3
    );
    assert_eq!(
        code(
            api.list(&ListParams::default().labels("app in web"))
                .await
                .unwrap_err()
        ),
        400
    );
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("tier=back"),
    )
    .await
    .unwrap();
    assert_eq!(
        names(api.list(&ListParams::default()).await.unwrap()),
        ["a"]
    );
}

#[tokio::test]
async fn bad_requests_answer_status_not_panic() {
    let sb = Sandbox::start().await.unwrap();
    let c = client(&sb, None).await;
    let send = |method: &str, path: &str, ct: &str, body: &[u8]| {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", ct)
            .body(body.to_vec())
            .unwrap();
        let c = c.clone();
        async move { c.request::<Value>(req).await }
    };
    let e = send(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        b"{not json",
    )
    .await
    .unwrap_err();
    assert_eq!(code(e), 400);
    let e = send(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/x",
        "application/apply-patch+yaml",
        b"a: [",
    )
    .await
    .unwrap_err();
    assert_eq!(code(e), 400);
    let e = send(
        "GET",
        "/apis/nope.example.com/v1/things",
        "application/json",
        b"",
    )
    .await
    .unwrap_err();
    assert_eq!(code(e), 404);
    let e = send(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        br#"{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}"#,
    )
    .await
    .unwrap_err();
    assert_eq!(code(e), 400);
    let e = send(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        br#"{"metadata":{}}"#,
    )
    .await
    .unwrap_err();
    assert_eq!(code(e), 422);
    let e = send(
        "PUT",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        b"{}",
    )
    .await
    .unwrap_err();
    assert_eq!(code(e), 405);
    let e = send(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/x",
        "application/apply-patch+yaml",
        b"{}",
    )
    .await
    .unwrap_err();
    assert!(matches!(code(e), 400 | 422));
}

#[tokio::test]
async fn invalid_names_and_protected_namespaces_are_refused() {
    let sb = Sandbox::start().await.unwrap();
    let c = client(&sb, None).await;
    let kube::Error::Api(s) = apply(
        &c,
        cm("default", "Bad_Name", json!({}), json!({})),
        &flotilla(),
    )
    .await
    .unwrap_err() else {
        panic!()
    };
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    assert!(s.message.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{}", s.message);
    assert_eq!(
        code(apply(&c, ns("a.b"), &flotilla()).await.unwrap_err()),
        422,
        "namespace names are labels"
    );
    let nss: Api<DynamicObject> = Api::all_with(
        c.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Namespace")),
    );
    let kube::Error::Api(s) = nss
        .delete("default", &DeleteParams::default())
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(s.code, 403);
    assert_eq!(
        s.message,
        "namespaces \"default\" is forbidden: this namespace may not be deleted"
    );
}
