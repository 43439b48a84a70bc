//! More of the sandbox through the `kube` client: the status subresource, extra users and
//! their impersonation rights, Secret stringData, CRD deletion, watch-list bookmarks,
//! and the kubeconfig/store API.

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use kube::{Client, Config};
use serde_json::json;

use flotilla_sandbox::{Options, Sandbox};

async fn client_from(yaml: &str, impersonate: Option<&str>) -> Client {
    let kc = Kubeconfig::from_yaml(yaml).expect("kubeconfig parses");
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    config.auth_info.impersonate = impersonate.map(String::from);
    Client::try_from(config).expect("client")
}

fn api(c: &Client, ns: Option<&str>, g: &str, v: &str, k: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(g, v, k));
    match ns {
        Some(ns) => Api::namespaced_with(c.clone(), ns, &ar),
        None => Api::all_with(c.clone(), &ar),
    }
}

fn ssa() -> PatchParams {
    PatchParams::apply("flotilla").force()
}

fn code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn status_subresource_is_separate_from_the_main_resource() {
    let sb = Sandbox::start_with(Options {
        ready_workloads: false,
    })
    .await
    .unwrap();
    let c = client_from(&sb.kubeconfig_yaml(), None).await;
    let deploys = api(&c, Some("default"), "apps", "v1", "Deployment");
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}, "status": {"replicas": 99}});
    let created = deploys
        .patch("web", &ssa(), &Patch::Apply(d))
        .await
        .unwrap();
    assert!(
        created.data.get("status").is_none(),
        "status in a main-resource write is ignored"
    );
    let s = deploys
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"readyReplicas": 1, "replicas": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(s.data["status"]["readyReplicas"], 1);
    assert_eq!(
        s.metadata.generation,
        Some(1),
        "status writes do not bump generation"
    );
    let got = deploys.get_status("web").await.unwrap();
    assert_eq!(got.data["status"]["replicas"], 1);
    let relabeled = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}, "status": {"replicas": 7}})),
        )
        .await
        .unwrap();
    assert_eq!(
        relabeled.data["status"]["replicas"], 1,
        "main resource keeps the stored status"
    );
}

#[tokio::test]
async fn workloads_report_ready_at_their_generation_by_default() {
    let sb = Sandbox::start().await.unwrap();
    let c = client_from(&sb.kubeconfig_yaml(), None).await;
    let deploys = api(&c, Some("default"), "apps", "v1", "Deployment");
    let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
    let created = deploys
        .patch("web", &ssa(), &Patch::Apply(d.clone()))
        .await
        .unwrap();
    assert_eq!(created.data["status"]["observedGeneration"], 1);
    assert_eq!(created.data["status"]["availableReplicas"], 3);
    let rv = created.metadata.resource_version.clone();
    let again = deploys
        .patch("web", &ssa(), &Patch::Apply(d.clone()))
        .await
        .unwrap();
    assert_eq!(
        again.metadata.resource_version, rv,
        "a no-op apply writes nothing"
    );
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    let rolled = deploys
        .patch("web", &ssa(), &Patch::Apply(d))
        .await
        .unwrap();
    assert_eq!(rolled.metadata.generation, Some(2));
    assert_eq!(rolled.data["status"]["observedGeneration"], 2);
}

#[tokio::test]
async fn extra_user_is_authorized_by_rbac_and_may_not_impersonate() {
    let sb = Sandbox::start().await.unwrap();
    let token = sb.add_user("alice", &["devs"]);
    let alice = client_from(&sb.kubeconfig_yaml_with_token(&token), None).await;
    let cms = api(&alice, Some("default"), "", "v1", "ConfigMap");
    let kube::Error::Api(s) = cms.list(&Default::default()).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(s.code, 403);
    assert_eq!(s.message, "configmaps is forbidden: User \"alice\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\"");

    let admin = client_from(&sb.kubeconfig_yaml(), None).await;
    api(&admin, None, "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding")
        .patch("devs-view", &ssa(), &Patch::Apply(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "devs-view"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"}]})))
        .await
        .unwrap();
    assert!(
        cms.list(&Default::default()).await.is_ok(),
        "the implicit view role lets devs list"
    );

    let as_bob = client_from(&sb.kubeconfig_yaml_with_token(&token), Some("bob")).await;
    let kube::Error::Api(s) = api(&as_bob, Some("default"), "", "v1", "ConfigMap")
        .list(&Default::default())
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(s.code, 403);
    assert_eq!(s.message, "users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope");

    let bad = client_from(&sb.kubeconfig_yaml_with_token("wrong"), None).await;
    assert_eq!(
        code(
            api(&bad, None, "", "v1", "Namespace")
                .list(&Default::default())
                .await
                .unwrap_err()
        ),
        401
    );
}

#[tokio::test]
async fn impersonated_groups_match_group_subjects() {
    let sb = Sandbox::start().await.unwrap();
    let admin = client_from(&sb.kubeconfig_yaml(), None).await;
    api(&admin, None, "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding")
        .patch("ops-edit", &ssa(), &Patch::Apply(json!({"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding", "metadata": {"name": "ops-edit"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"kind": "Group", "name": "ops", "apiGroup": "rbac.authorization.k8s.io"}]})))
        .await
        .unwrap();
    let kc = Kubeconfig::from_yaml(&sb.kubeconfig_yaml()).unwrap();
    let mut config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    config.auth_info.impersonate = Some("carol".into());
    config.auth_info.impersonate_groups = Some(vec!["ops".into()]);
    let carol = Client::try_from(config).unwrap();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}});
    api(&carol, Some("default"), "", "v1", "ConfigMap")
        .patch("c", &ssa(), &Patch::Apply(cm))
        .await
        .unwrap();
    let without_group = client_from(&sb.kubeconfig_yaml(), Some("carol")).await;
    let err = api(&without_group, Some("default"), "", "v1", "ConfigMap")
        .get("c")
        .await
        .unwrap_err();
    assert_eq!(code(err), 403);
}

#[tokio::test]
async fn secret_string_data_is_folded_into_data() {
    let sb = Sandbox::start().await.unwrap();
    let c = client_from(&sb.kubeconfig_yaml(), None).await;
    let s = api(&c, Some("default"), "", "v1", "Secret")
        .patch("creds", &ssa(), &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "creds", "namespace": "default"}, "stringData": {"user": "admin"}})))
        .await
        .unwrap();
    assert_eq!(s.data["data"]["user"], "YWRtaW4=");
    assert!(s.data.get("stringData").is_none());
}

#[tokio::test]
async fn deleting_a_crd_removes_its_resources_and_discovery() {
    let sb = Sandbox::start().await.unwrap();
    let c = client_from(&sb.kubeconfig_yaml(), None).await;
    let crds = api(
        &c,
        None,
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
    );
    crds.patch("gadgets.example.com", &ssa(), &Patch::Apply(json!({"apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition", "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster", "names": {"plural": "gadgets", "kind": "Gadget"},
                 "versions": [{"name": "v1", "served": true, "storage": true}]}})))
        .await
        .unwrap();
    let gadgets = api(&c, None, "example.com", "v1", "Gadget");
    gadgets.patch("g", &ssa(), &Patch::Apply(json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}})))
        .await
        .unwrap();
    assert_eq!(
        gadgets.list(&Default::default()).await.unwrap().items.len(),
        1
    );
    crds.delete("gadgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(
        code(gadgets.list(&Default::default()).await.unwrap_err()),
        404
    );
    assert!(sb
        .store()
        .get("example.com/v1", "Gadget", None, "g")
        .is_none());
}

#[tokio::test]
async fn watch_list_ends_initial_events_with_a_bookmark() {
    let sb = Sandbox::start().await.unwrap();
    let c = client_from(&sb.kubeconfig_yaml(), None).await;
    let nss = api(&c, None, "", "v1", "Namespace");
    let mut stream = nss
        .watch(&WatchParams::default().initial_events().timeout(5), "")
        .await
        .unwrap()
        .boxed();
    let mut added = 0;
    loop {
        match stream.try_next().await.unwrap().unwrap() {
            WatchEvent::Added(_) => added += 1,
            WatchEvent::Bookmark(b) => {
                assert_eq!(
                    b.metadata
                        .annotations
                        .get("k8s.io/initial-events-end")
                        .map(String::as_str),
                    Some("true")
                );
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        added, 4,
        "default, kube-system, kube-public, kube-node-lease"
    );
}

#[tokio::test]
async fn watch_with_a_selector_sees_objects_enter_and_leave_it() {
    let sb = Sandbox::start().await.unwrap();
    let c = client_from(&sb.kubeconfig_yaml(), None).await;
    let cms = api(&c, Some("default"), "", "v1", "ConfigMap");
    let cm = |app: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "default", "labels": {"app": app}}})
    };
    cms.patch("x", &ssa(), &Patch::Apply(cm("other")))
        .await
        .unwrap();
    let rv = sb.store().resource_version().to_string();
    let wp = WatchParams::default().labels("app=web").timeout(5);
    let mut stream = cms.watch(&wp, &rv).await.unwrap().boxed();
    cms.patch("x", &ssa(), &Patch::Apply(cm("web")))
        .await
        .unwrap();
    cms.patch("x", &ssa(), &Patch::Apply(cm("other")))
        .await
        .unwrap();
    assert!(matches!(
        stream.try_next().await.unwrap().unwrap(),
        WatchEvent::Added(_)
    ));
    assert!(matches!(
        stream.try_next().await.unwrap().unwrap(),
        WatchEvent::Deleted(_)
    ));
}

#[tokio::test]
async fn kubeconfig_and_store_api() {
    let sb = Sandbox::start().await.unwrap();
    assert!(sb.url().starts_with("https://127.0.0.1:"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    sb.write_kubeconfig(&path).unwrap();
    let yaml = std::fs::read_to_string(&path).unwrap();
    assert!(
        yaml.contains("certificate-authority-data:") && yaml.contains("current-context: sandbox")
    );
    assert!(yaml.contains(sb.token()));
    assert_eq!(sb.store().len(), 4);
    assert!(sb.store().get("v1", "Namespace", None, "default").is_some());
    let url = sb.url();
    sb.shutdown().await;
    let after = reqwest_like_connect(&url).await;
    assert!(after, "nothing listens after shutdown");
}

/// Whether connecting to the shut-down sandbox's port fails.
async fn reqwest_like_connect(url: &str) -> bool {
    let addr = url.trim_start_matches("https://");
    tokio::net::TcpStream::connect(addr).await.is_err()
}
