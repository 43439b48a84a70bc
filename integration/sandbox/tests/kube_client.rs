//! The sandbox driven by the real `kube` client, the way the agent uses it: kubeconfig,
//! discovery, `Api<DynamicObject>`, server-side apply, deletes, watches, impersonation.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Discovery, Scope};
use kube::{Client, Config};
use serde_json::{json, Value};

use flotilla_sandbox::Sandbox;

async fn client(sb: &Sandbox, impersonate: Option<&str>) -> Client {
    let kc = Kubeconfig::from_yaml(&sb.kubeconfig_yaml()).expect("kubeconfig parses");
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    config.auth_info.impersonate = impersonate.map(String::from);
    Client::try_from(config).expect("client")
}

/// An `Api<DynamicObject>` for `obj`, found through discovery as the agent does.
fn api_for(client: &Client, discovery: &Discovery, obj: &Value) -> Api<DynamicObject> {
    let (group, version) = match obj["apiVersion"].as_str().unwrap().split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (
            String::new(),
            obj["apiVersion"].as_str().unwrap().to_string(),
        ),
    };
    let gvk = GroupVersionKind::gvk(&group, &version, obj["kind"].as_str().unwrap());
    let (ar, caps) = discovery
        .resolve_gvk(&gvk)
        .unwrap_or_else(|| panic!("{gvk:?} discovered"));
    match (caps.scope, obj["metadata"]["namespace"].as_str()) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    }
}

async fn apply(client: &Client, obj: Value, pp: &PatchParams) -> kube::Result<DynamicObject> {
    let discovery = Discovery::new(client.clone()).run().await?;
    let api = api_for(client, &discovery, &obj);
    let name = obj["metadata"]["name"].as_str().unwrap().to_string();
    api.patch(&name, pp, &Patch::Apply(obj)).await
}

fn ns(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn cm(ns: &str, name: &str, labels: Value, data: Value) -> Value {
    let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name, "namespace": ns}, "data": data});
    if labels.as_object().is_some_and(|l| !l.is_empty()) {
        o["metadata"]["labels"] = labels;
    }
    o
}

fn deployment(ns: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
}

fn crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                    "versions": [{"name": "v1", "served": true, "storage": true,
                                  "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

fn cm_api(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "ConfigMap")),
    )
}

fn flotilla() -> PatchParams {
    PatchParams::apply("flotilla").force()
}

fn code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn applies_namespace_deployment_configmap_crd_and_custom_resource() {
    let sb = Sandbox::start().await.unwrap();
    let c = client(&sb, None).await;
    apply(&c, ns("apps"), &flotilla()).await.unwrap();
    apply(&c, crd(), &flotilla()).await.unwrap();
    let d = apply(&c, deployment("apps"), &flotilla()).await.unwrap();
    apply(
        &c,
        cm("apps", "settings", json!({"app": "web"}), json!({"k": "v"})),
        &flotilla(),
    )
    .await
    .unwrap();

    let md = &d.metadata;
    assert!(md.uid.as_ref().is_some_and(|u| u.len() == 36));
    assert!(md
        .resource_version
        .as_ref()
        .is_some_and(|rv| rv.parse::<u64>().is_ok()));
    assert_eq!(md.generation, Some(1));
    assert!(md.creation_timestamp.is_some());
    let mf = &md.managed_fields.as_ref().unwrap()[0];
    assert_eq!(mf.manager.as_deref(), Some("flotilla"));
    assert_eq!(mf.operation.as_deref(), Some("Apply"));
    assert_eq!(mf.fields_type.as_deref(), Some("FieldsV1"));
    let fields = serde_json::to_value(mf.fields_v1.as_ref().unwrap()).unwrap();
    assert!(
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"web\"}"]["f:image"]
            .is_object()
    );

    let crd_obj = sb
        .store()
        .get(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "widgets.example.com",
        )
        .unwrap();
    let established = crd_obj["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "Established" && c["status"] == "True");
    assert!(established);

    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget",
                   "metadata": {"name": "w1", "namespace": "apps"}, "spec": {"size": 3}});
    let created = apply(&c, w, &flotilla()).await.unwrap();
    assert_eq!(created.data["spec"]["size"], 3);
    let discovery = Discovery::new(c.clone()).run().await.unwrap();
    assert!(discovery.has_group("example.com"));
    assert_eq!(
        sb.store()
            .get("example.com/v1", "Widget", Some("apps"), "w1")
            .unwrap()["spec"]["size"],
        3
    );

    // A spec change bumps generation; a label change does not.
    let mut d2 = deployment("apps");
    d2["spec"]["replicas"] = json!(3);
    assert_eq!(
        apply(&c, d2.clone(), &flotilla())
            .await
            .unwrap()
            .metadata
            .generation,
        Some(2)
    );
    d2["metadata"]["labels"] = json!({"x": "y"});
    assert_eq!(
        apply(&c, d2, &flotilla())
            .await
            .unwrap()
            .metadata
            .generation,
        Some(2)
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn dropped_label_is_removed_and_another_managers_field_survives() {
    let sb = Sandbox::start().await.unwrap();
    let c = client(&sb, None).await;
    apply(&c, ns("a"), &flotilla()).await.unwrap();
    apply(
        &c,
        cm(
            "a",
            "s",
            json!({"app": "web", "tier": "front"}),
            json!({"k": "v"}),
        ),
        &flotilla(),
    )
    .await
    .unwrap();
    let api = cm_api(&c, "a");
    api.patch(
        "s",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"owner": "ops"}}, "data": {"extra": "1"}})),
    )
    .await
    .unwrap();
    let after = apply(
        &c,
        cm("a", "s", json!({"app": "web"}), json!({"k": "v"})),
        &flotilla(),
    )
    .await
    .unwrap();
    let labels = after.metadata.labels.unwrap();
    assert!(!labels.contains_key("tier"), "dropped label removed");
    assert_eq!(
        labels.get("owner").map(String::as_str),
        Some("ops"),
        "other manager's label kept"
    );
    assert_eq!(after.data["data"]["extra"], "1");
    let managers: Vec<String> = after
        .metadata
        .managed_fields
        .unwrap()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers.len(), 2);
}

#[tokio::test]
async fn apply_conflict_without_force_then_force_takes_ownership() {
    let sb = Sandbox::start().await.unwrap();
    let c = client(&sb, None).await;
    apply(&c, ns("a"), &flotilla()).await.unwrap();
    apply(
        &c,
        cm("a", "s", json!({}), json!({"k": "v"})),
        &PatchParams::apply("other"),
    )
    .await
    .unwrap();
    let err = apply(
        &c,
        cm("a", "s", json!({}), json!({"k": "mine"})),
        &PatchParams::apply("flotilla"),
    )
    .await
    .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("api error expected")
    };
    assert_eq!(status.code, 409);
    assert_eq!(status.reason, "Conflict");
    assert!(
        status.message.contains("conflict with \"other\""),
        "{}",
        status.message
    );
    assert!(status.message.contains(".data.k"), "{}", status.message);
    let forced = apply(
        &c,
        cm("a", "s", json!({}), json!({"k": "mine"})),
        &flotilla(),
    )
    .await
    .unwrap();
    assert_eq!(forced.data["data"]["k"], "mine");
    let mf = forced.metadata.managed_fields.unwrap();
    assert_eq!(mf.len(), 1, "the other manager lost its only field");
    assert_eq!(mf[0].manager.as_deref(), Some("flotilla"));
}

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

#[tokio::test]
async fn strategic_merge_and_json_patch_on_a_deployment() {
    let sb = Sandbox::start().await.unwrap();
    let c = client(&sb, None).await;
    apply(&c, ns("p"), &flotilla()).await.unwrap();
    let d = apply(&c, deployment("p"), &flotilla()).await.unwrap();
    let discovery = Discovery::new(c.clone()).run().await.unwrap();
    let api = api_for(&c, &discovery, &deployment("p"));
    let patched = api
        .patch("web", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "sidecar", "image": "busybox"}, {"name": "web", "env": [{"name": "A", "value": "1"}]}]}}}})))
        .await
        .unwrap();
    let cs = patched.data["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[0]["image"], "nginx:1.27");
    assert_eq!(cs[0]["env"][0]["value"], "1");
    assert_eq!(
        patched.metadata.generation,
        Some(d.metadata.generation.unwrap() + 1)
    );
    // JSON patch (kube's Patch::Json needs a feature the agent does not use): a raw request.
    let req = http::Request::builder()
        .method("PATCH")
        .uri("/apis/apps/v1/namespaces/p/deployments/web?fieldManager=jp")
        .header("content-type", "application/json-patch+json")
        .body(br#"[{"op": "replace", "path": "/spec/replicas", "value": 5}]"#.to_vec())
        .unwrap();
    let p2: DynamicObject = c.request(req).await.unwrap();
    assert_eq!(p2.data["spec"]["replicas"], 5);
    let managers: Vec<String> = p2
        .metadata
        .managed_fields
        .unwrap()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers.len(), 3, "{managers:?}");
    assert!(
        managers.contains(&"flotilla".to_string()) && managers.contains(&"jp".to_string()),
        "{managers:?}"
    );
    assert!(managers.iter().all(|m| !m.is_empty()), "{managers:?}");
}
