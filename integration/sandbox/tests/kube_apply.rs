//! The sandbox driven by the real `kube` client, the way the agent uses it: kubeconfig,
//! discovery, `Api<DynamicObject>`, server-side apply with field ownership and conflicts,
//! strategic merge and JSON patches.

mod common;

use kube::api::{DynamicObject, Patch, PatchParams};
use kube::discovery::Discovery;
use serde_json::json;

use common::*;
use flotilla_sandbox::Sandbox;

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
    // Regression: re-applying the same configuration after another manager wrote is a no-op
    // (the apply entry keeps its place in managedFields, so nothing is rewritten).
    let again = apply(
        &c,
        cm("a", "s", json!({"app": "web"}), json!({"k": "v"})),
        &flotilla(),
    )
    .await
    .unwrap();
    assert_eq!(
        again.metadata.resource_version,
        after.metadata.resource_version
    );
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
