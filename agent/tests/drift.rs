//! Drift detection against the sandbox API server: objects changed or deleted behind the
//! agent's back are found by a dry-run apply compared with the live object, reported, and
//! put back by the re-apply that follows.

mod support;

use std::path::Path;

use flotilla_proto::{Bundle, DriftedObject, Unit};
use flotilla_sandbox::Sandbox;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use serde_json::json;
use support::*;

const CLUSTER: &str = "cluster-1";

fn sample_bundle() -> Bundle {
    let infra = unit("infra", &[namespace("sample")]);
    let apps = Unit {
        depends_on: vec!["flux-system/infra".into()],
        ..unit(
            "apps",
            &[
                config_map("sample", "settings", "a"),
                config_map("sample", "extra", "b"),
                deployment("sample", "web"),
            ],
        )
    };
    bundle(CLUSTER, 1, vec![infra, apps])
}

/// Merge-patches an object as another field manager, as `kubectl edit` would.
async fn patch_as_someone_else(
    kubeconfig: &Path,
    api_version: &str,
    kind: &str,
    name: &str,
    patch: serde_json::Value,
) {
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let api: Api<DynamicObject> = Api::namespaced_with(client, "sample", &resource);
    let params = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..PatchParams::default()
    };
    api.patch(name, &params, &Patch::Merge(&patch))
        .await
        .unwrap();
}

fn drifted<'a>(drift: &'a [DriftedObject], name: &str) -> &'a DriftedObject {
    drift
        .iter()
        .find(|d| d.object.as_ref().is_some_and(|o| o.name == name))
        .unwrap_or_else(|| panic!("no drift for {name}: {drift:?}"))
}

#[tokio::test]
async fn nothing_changed_reports_no_drift() {
    let (_sandbox, _dir, mut applier) = sandboxed_applier().await;
    let bundle = sample_bundle();
    let report = applier.apply(&bundle).await.unwrap();
    assert!(report.units.iter().all(|u| u.ready), "{report:?}");

    let drift = applier.check_drift(&bundle).await.unwrap();
    assert!(drift.objects.is_empty(), "{:?}", drift.objects);
    assert!(drift.checked_unix > 0);
}

#[tokio::test]
async fn modified_and_deleted_objects_are_reported_then_corrected() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut applier = applier(&sandbox, dir.path()).await;
    let store = sandbox.store();
    let bundle = sample_bundle();
    assert!(applier
        .apply(&bundle)
        .await
        .unwrap()
        .units
        .iter()
        .all(|u| u.ready));

    patch_as_someone_else(
        &kubeconfig,
        "v1",
        "ConfigMap",
        "settings",
        json!({"data": {"value": "changed"}}),
    )
    .await;
    patch_as_someone_else(
        &kubeconfig,
        "apps/v1",
        "Deployment",
        "web",
        json!({"spec": {"replicas": 3}}),
    )
    .await;
    delete_behind_the_agents_back(&kubeconfig, "v1", "ConfigMap", "sample", "extra").await;

    let drift = applier.check_drift(&bundle).await.unwrap();
    assert_eq!(drift.objects.len(), 3, "{:?}", drift.objects);
    let settings = drifted(&drift.objects, "settings");
    assert_eq!(settings.unit, "flux-system/apps");
    assert_eq!(settings.state, "modified");
    assert_eq!(settings.fields, ["data.value"]);
    let object = settings.object.as_ref().unwrap();
    assert_eq!(
        (object.api_version.as_str(), object.kind.as_str()),
        ("v1", "ConfigMap")
    );
    assert_eq!(object.namespace, "sample");
    let web = drifted(&drift.objects, "web");
    assert_eq!(web.state, "modified");
    assert_eq!(web.fields, ["spec.replicas"]);
    let extra = drifted(&drift.objects, "extra");
    assert_eq!(extra.state, "deleted");
    assert!(extra.fields.is_empty());
    // The check changes nothing.
    assert!(store
        .get("v1", "ConfigMap", Some("sample"), "extra")
        .is_none());
    let live = store.get("v1", "ConfigMap", Some("sample"), "settings");
    assert_eq!(live.expect("settings")["data"]["value"], "changed");

    // The re-apply puts the bundle's objects back.
    let report = applier.apply(&bundle).await.unwrap();
    assert!(report.units.iter().all(|u| u.ready), "{report:?}");
    let settings = store
        .get("v1", "ConfigMap", Some("sample"), "settings")
        .expect("settings");
    assert_eq!(settings["data"]["value"], "a");
    let extra = store
        .get("v1", "ConfigMap", Some("sample"), "extra")
        .expect("extra recreated");
    assert_eq!(extra["data"]["value"], "b");
    let web = store
        .get("apps/v1", "Deployment", Some("sample"), "web")
        .expect("web");
    assert_eq!(web["spec"]["replicas"], 1);
    assert!(applier
        .check_drift(&bundle)
        .await
        .unwrap()
        .objects
        .is_empty());
}

#[tokio::test]
async fn suspended_and_failed_units_are_not_checked() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut applier = applier(&sandbox, dir.path()).await;
    let mut bundle = sample_bundle();
    applier.apply(&bundle).await.unwrap();
    delete_behind_the_agents_back(&kubeconfig, "v1", "ConfigMap", "sample", "extra").await;

    bundle.units[1].suspend = true;
    assert!(applier
        .check_drift(&bundle)
        .await
        .unwrap()
        .objects
        .is_empty());
    bundle.units[1].suspend = false;
    bundle.units[1].error = "kustomization path ./apps not found".into();
    assert!(applier
        .check_drift(&bundle)
        .await
        .unwrap()
        .objects
        .is_empty());
}

#[tokio::test]
async fn tenant_objects_are_checked_as_the_units_service_account() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut applier = applier(&sandbox, dir.path()).await;
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "deployer-edit", "namespace": "sample"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "sample"}]});
    let team = Unit {
        name: "team".into(),
        namespace: "sample".into(),
        service_account: "deployer".into(),
        depends_on: vec!["flux-system/infra".into()],
        ..unit("team", &[config_map("sample", "team", "1")])
    };
    let bundle = bundle(
        CLUSTER,
        1,
        vec![unit("infra", &[namespace("sample"), binding]), team],
    );
    let report = applier.apply(&bundle).await.unwrap();
    assert!(report.units.iter().all(|u| u.ready), "{report:?}");

    // Seen as the service account, the team's object drifted.
    patch_as_someone_else(
        &kubeconfig,
        "v1",
        "ConfigMap",
        "team",
        json!({"data": {"value": "2"}}),
    )
    .await;
    let drift = applier.check_drift(&bundle).await.unwrap();
    let team = drifted(&drift.objects, "team");
    assert_eq!(team.unit, "sample/team");
    assert_eq!(team.fields, ["data.value"]);

    // Without its binding the service account may not read the object, so the check cannot
    // tell (logged, left out), though the agent's own identity could.
    let rbac = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
    ));
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&kubeconfig).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let api: Api<DynamicObject> =
        Api::namespaced_with(kube::Client::try_from(config).unwrap(), "sample", &rbac);
    api.delete("deployer-edit", &Default::default())
        .await
        .unwrap();
    let drift = applier.check_drift(&bundle).await.unwrap();
    assert_eq!(drift.objects.len(), 1, "{:?}", drift.objects);
    let binding = drifted(&drift.objects, "deployer-edit");
    assert_eq!(
        (binding.unit.as_str(), binding.state.as_str()),
        ("flux-system/infra", "deleted")
    );
}
