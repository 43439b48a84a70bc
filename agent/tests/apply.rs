//! The applier against the sandbox API server: server-side apply with the `flotilla`
//! manager, ordering, prune (also across a restart), hub errors, removed units and
//! impersonation under RBAC.

mod support;

use flotilla_agent::state::State;
use flotilla_proto::{StatusReport, Unit, UnitStatus};
use flotilla_sandbox::Sandbox;
use serde_json::json;
use support::*;

const CLUSTER: &str = "cluster-1";

fn unit_status<'a>(report: &'a StatusReport, name: &str) -> &'a UnitStatus {
    report
        .units
        .iter()
        .find(|u| u.name == name)
        .unwrap_or_else(|| panic!("no status for {name}: {report:?}"))
}

/// A namespaced `Widget` kind, without a status subresource.
fn widget_crd() -> serde_json::Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

fn infra() -> Unit {
    unit("infra", &[namespace("sample")])
}

fn apps(objects: &[serde_json::Value]) -> Unit {
    Unit {
        depends_on: vec!["flux-system/infra".into()],
        ..unit("apps", objects)
    }
}

#[tokio::test]
async fn two_units_applied_with_flotilla_manager_then_pruned() {
    let (sandbox, _dir, mut applier) = sandboxed_applier().await;
    let store = sandbox.store();

    // `apps` depends on `infra`, which holds the namespace `apps` objects live in.
    let first = bundle(
        CLUSTER,
        1,
        vec![
            infra(),
            apps(&[
                config_map("sample", "settings", "a"),
                deployment("sample", "web"),
            ]),
        ],
    );
    let report = applier.apply(&first).await.unwrap();
    assert_eq!(report.generation, 1);
    for name in ["infra", "apps"] {
        let status = unit_status(&report, name);
        assert!(status.ready, "{status:?}");
        assert_eq!(status.message, "Applied revision: main@sha1:0001");
        assert!(status.last_applied_unix > 0);
    }
    assert_eq!(unit_status(&report, "apps").inventory.len(), 2);
    let web = store
        .get("apps/v1", "Deployment", Some("sample"), "web")
        .expect("deployment");
    assert!(managers(&web).contains(&"flotilla".to_string()), "{web}");
    let settings = store
        .get("v1", "ConfigMap", Some("sample"), "settings")
        .expect("configmap");
    assert!(managers(&settings).contains(&"flotilla".to_string()));
    assert!(store.get("v1", "Namespace", None, "sample").is_some());

    let second = bundle(
        CLUSTER,
        2,
        vec![infra(), apps(&[deployment("sample", "web")])],
    );
    let report = applier.apply(&second).await.unwrap();
    assert!(unit_status(&report, "apps").ready);
    assert!(
        store
            .get("v1", "ConfigMap", Some("sample"), "settings")
            .is_none(),
        "pruned"
    );
    assert!(store
        .get("apps/v1", "Deployment", Some("sample"), "web")
        .is_some());
}

#[tokio::test]
async fn prune_after_restart_uses_the_persisted_inventory() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = sandbox.store();
    {
        let mut applier = applier(&sandbox, dir.path()).await;
        let first = bundle(
            CLUSTER,
            1,
            vec![
                infra(),
                apps(&[
                    config_map("sample", "a", "1"),
                    config_map("sample", "b", "2"),
                ]),
            ],
        );
        assert!(unit_status(&applier.apply(&first).await.unwrap(), "apps").ready);
    }
    // A new applier on the same data dir: the agent restarted.
    let mut applier = applier(&sandbox, dir.path()).await;
    let second = bundle(
        CLUSTER,
        2,
        vec![infra(), apps(&[config_map("sample", "a", "1")])],
    );
    assert!(unit_status(&applier.apply(&second).await.unwrap(), "apps").ready);
    assert!(
        store.get("v1", "ConfigMap", Some("sample"), "b").is_none(),
        "pruned after restart"
    );
    assert!(store.get("v1", "ConfigMap", Some("sample"), "a").is_some());
}

#[tokio::test]
async fn unit_with_hub_error_is_neither_applied_nor_pruned() {
    let (sandbox, _dir, mut applier) = sandboxed_applier().await;
    let store = sandbox.store();
    let first = bundle(
        CLUSTER,
        1,
        vec![infra(), apps(&[config_map("sample", "a", "1")])],
    );
    assert!(unit_status(&applier.apply(&first).await.unwrap(), "apps").ready);

    let broken = Unit {
        error: "kustomization path ./apps not found".into(),
        ..apps(&[config_map("sample", "c", "3")])
    };
    let report = applier
        .apply(&bundle(CLUSTER, 2, vec![infra(), broken]))
        .await
        .unwrap();
    let status = unit_status(&report, "apps");
    assert!(!status.ready);
    assert_eq!(status.message, "kustomization path ./apps not found");
    assert_eq!(
        status.revision, "main@sha1:0001",
        "keeps the last applied revision"
    );
    assert!(
        store.get("v1", "ConfigMap", Some("sample"), "a").is_some(),
        "not pruned"
    );
    assert!(
        store.get("v1", "ConfigMap", Some("sample"), "c").is_none(),
        "not applied"
    );
}

#[tokio::test]
async fn removed_unit_is_pruned_and_suspended_unit_left_alone() {
    let (sandbox, _dir, mut applier) = sandboxed_applier().await;
    let store = sandbox.store();
    let extra = unit("extra", &[config_map("default", "extra", "1")]);
    let paused = unit("paused", &[config_map("default", "paused", "1")]);
    let first = bundle(CLUSTER, 1, vec![infra(), extra, paused.clone()]);
    applier.apply(&first).await.unwrap();
    assert!(store
        .get("v1", "ConfigMap", Some("default"), "extra")
        .is_some());

    let suspended = Unit {
        suspend: true,
        objects: vec![],
        ..paused
    };
    let report = applier
        .apply(&bundle(CLUSTER, 2, vec![infra(), suspended]))
        .await
        .unwrap();
    assert!(
        store
            .get("v1", "ConfigMap", Some("default"), "extra")
            .is_none(),
        "removed unit pruned"
    );
    assert!(
        store
            .get("v1", "ConfigMap", Some("default"), "paused")
            .is_some(),
        "suspended untouched"
    );
    let status = unit_status(&report, "paused");
    assert_eq!(status.message, "Reconciliation suspended");
    assert!(status.ready, "readiness stays as before");
    assert_eq!(report.units.len(), 2);
}

#[tokio::test]
async fn unknown_kind_and_blocked_dependency_are_reported() {
    let (_sandbox, _dir, mut applier) = sandboxed_applier().await;
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "default"}});
    let report = applier
        .apply(&bundle(
            CLUSTER,
            1,
            vec![
                unit("infra", &[widget]),
                apps(&[config_map("default", "a", "1")]),
            ],
        ))
        .await
        .unwrap();
    let infra = unit_status(&report, "infra");
    assert!(!infra.ready);
    assert!(
        infra
            .message
            .starts_with("example.com/v1 Widget default/w: "),
        "{}",
        infra.message
    );
    let apps = unit_status(&report, "apps");
    assert!(!apps.ready);
    assert_eq!(apps.message, "dependency 'flux-system/infra' is not ready");
}

#[tokio::test]
async fn crd_applied_first_then_its_objects() {
    let (sandbox, _dir, mut applier) = sandboxed_applier().await;
    let crd = widget_crd();
    // No namespace on the widget: it goes to the unit's target namespace.
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"size": 3}});
    let unit = Unit {
        target_namespace: "sample".into(),
        ..unit("widgets", &[widget, namespace("sample"), crd])
    };
    let report = applier
        .apply(&bundle(CLUSTER, 1, vec![unit]))
        .await
        .unwrap();
    let status = unit_status(&report, "widgets");
    assert!(status.ready, "{status:?}");
    assert!(sandbox
        .store()
        .get("example.com/v1", "Widget", Some("sample"), "w")
        .is_some());
}

#[tokio::test]
async fn impersonation_denied_by_rbac_names_the_object() {
    let (sandbox, _dir, mut applier) = sandboxed_applier().await;
    let tenant = |objects: &[serde_json::Value]| Unit {
        name: "team".into(),
        namespace: "sample".into(),
        service_account: "deployer".into(),
        depends_on: vec!["flux-system/infra".into()],
        ..unit("team", objects)
    };
    let report = applier
        .apply(&bundle(
            CLUSTER,
            1,
            vec![infra(), tenant(&[config_map("sample", "team", "1")])],
        ))
        .await
        .unwrap();
    let status = unit_status(&report, "team");
    assert!(!status.ready);
    assert!(
        status.message.starts_with("v1 ConfigMap sample/team: "),
        "{}",
        status.message
    );
    assert!(status.message.contains("forbidden"), "{}", status.message);
    assert!(sandbox
        .store()
        .get("v1", "ConfigMap", Some("sample"), "team")
        .is_none());

    // Granting the service account `edit` in its namespace lets the same unit through.
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "deployer-edit", "namespace": "sample"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "sample"}]});
    let infra = unit("infra", &[namespace("sample"), binding]);
    let report = applier
        .apply(&bundle(
            CLUSTER,
            2,
            vec![infra, tenant(&[config_map("sample", "team", "1")])],
        ))
        .await
        .unwrap();
    assert!(unit_status(&report, "team").ready, "{report:?}");
    assert!(sandbox
        .store()
        .get("v1", "ConfigMap", Some("sample"), "team")
        .is_some());
}

#[tokio::test]
async fn prune_of_an_object_already_gone_is_fine() {
    let (_sandbox, dir, mut applier) = sandboxed_applier().await;
    let first = bundle(
        CLUSTER,
        1,
        vec![
            infra(),
            apps(&[
                config_map("sample", "a", "1"),
                config_map("sample", "b", "2"),
            ]),
        ],
    );
    assert!(unit_status(&applier.apply(&first).await.unwrap(), "apps").ready);
    delete_behind_the_agents_back(
        &dir.path().join("kubeconfig"),
        "v1",
        "ConfigMap",
        "sample",
        "b",
    )
    .await;

    let second = bundle(
        CLUSTER,
        2,
        vec![infra(), apps(&[config_map("sample", "a", "1")])],
    );
    let report = applier.apply(&second).await.unwrap();
    let status = unit_status(&report, "apps");
    assert!(status.ready, "{status:?}");
    assert_eq!(status.inventory.len(), 1);
}

#[tokio::test]
async fn unreachable_api_server_fails_units_and_forgets_nothing() {
    let (sandbox, dir, mut applier) = sandboxed_applier().await;
    let extra = unit("extra", &[config_map("default", "extra", "1")]);
    applier
        .apply(&bundle(CLUSTER, 1, vec![infra(), extra]))
        .await
        .unwrap();
    sandbox.shutdown().await;

    let report = applier
        .apply(&bundle(CLUSTER, 2, vec![infra()]))
        .await
        .unwrap();
    let status = unit_status(&report, "infra");
    assert!(!status.ready);
    assert!(
        status.message.starts_with("discovery failed: "),
        "{}",
        status.message
    );
    drop(applier);
    let state = State::open(&dir.path().join("state")).await.unwrap();
    let units: Vec<String> = state
        .units()
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k.name)
        .collect();
    assert!(
        units.contains(&"extra".to_string()),
        "removed unit kept for the next pass: {units:?}"
    );
}

#[tokio::test]
async fn object_moved_to_another_unit_is_not_pruned() {
    let (sandbox, _dir, mut applier) = sandboxed_applier().await;
    let store = sandbox.store();
    let first = bundle(
        CLUSTER,
        1,
        vec![
            infra(),
            apps(&[config_map("sample", "shared", "1")]),
            unit("other", &[]),
        ],
    );
    applier.apply(&first).await.unwrap();
    // `other` takes the ConfigMap over and is applied first; `apps`, which drops it
    // afterwards, must not prune it.
    let other = unit("other", &[config_map("sample", "shared", "1")]);
    let second = bundle(CLUSTER, 2, vec![infra(), other, apps(&[])]);
    let report = applier.apply(&second).await.unwrap();
    assert!(unit_status(&report, "apps").ready);
    assert!(store
        .get("v1", "ConfigMap", Some("sample"), "shared")
        .is_some());
}

#[tokio::test]
async fn wait_reports_health_and_holds_back_dependents() {
    let (_sandbox, _dir, mut applier) = sandboxed_applier().await;
    let waiting = |name: &str, objects: &[serde_json::Value]| Unit {
        wait: true,
        timeout_seconds: 1,
        ..unit(name, objects)
    };
    // A ConfigMap is current at once; a Widget whose Ready condition is False is not.
    let crd = widget_crd();
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "sample"},
        "status": {"conditions": [{"type": "Ready", "status": "False", "message": "warming up"}]}});
    let config = waiting(
        "config",
        &[namespace("sample"), crd, config_map("sample", "a", "1")],
    );
    let web = Unit {
        depends_on: vec!["flux-system/config".into()],
        ..waiting("web", &[widget])
    };
    let after = Unit {
        depends_on: vec!["flux-system/web".into()],
        ..unit("after", &[config_map("sample", "b", "1")])
    };
    let report = applier
        .apply(&bundle(CLUSTER, 1, vec![config, web, after]))
        .await
        .unwrap();
    assert!(unit_status(&report, "config").ready);
    let web = unit_status(&report, "web");
    assert!(!web.ready, "{web:?}");
    assert!(
        web.message.starts_with("Health check failed after 1."),
        "{}",
        web.message
    );
    assert!(
        web.message
            .ends_with("timeout waiting for: [Widget/sample/w status: 'InProgress']"),
        "{}",
        web.message
    );
    assert_eq!(
        unit_status(&report, "after").message,
        "dependency 'flux-system/web' is not ready"
    );
}

/// A namespaced `Gadget` kind served at `v1beta1` and `v1`: one object, two versions.
fn gadget_crd() -> serde_json::Value {
    let version = |name: &str, storage: bool| {
        json!({"name": name, "served": true, "storage": storage,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}})
    };
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "versions": [version("v1beta1", false), version("v1", true)]}})
}

#[tokio::test]
async fn object_moved_to_another_api_version_is_not_pruned() {
    // Regression: like an HPA moved from autoscaling/v2beta2 to autoscaling/v2, the object
    // was applied at the new version, then its old-version inventory entry was pruned,
    // deleting the object itself.
    let (sandbox, _dir, mut applier) = sandboxed_applier().await;
    let store = sandbox.store();
    let gadget = |api_version: &str| {
        json!({"apiVersion": api_version, "kind": "Gadget",
            "metadata": {"name": "g", "namespace": "sample"}, "spec": {"size": 1}})
    };
    let unit_at = |api_version: &str| {
        unit(
            "gadgets",
            &[namespace("sample"), gadget_crd(), gadget(api_version)],
        )
    };
    let report = applier
        .apply(&bundle(CLUSTER, 1, vec![unit_at("example.com/v1beta1")]))
        .await
        .unwrap();
    assert!(unit_status(&report, "gadgets").ready, "{report:?}");

    let report = applier
        .apply(&bundle(CLUSTER, 2, vec![unit_at("example.com/v1")]))
        .await
        .unwrap();
    let status = unit_status(&report, "gadgets");
    assert!(status.ready, "{status:?}");
    assert!(
        store
            .get("example.com/v1", "Gadget", Some("sample"), "g")
            .is_some(),
        "the same object under its new version is not pruned"
    );
    let gadgets: Vec<&str> = status
        .inventory
        .iter()
        .filter(|o| o.kind == "Gadget")
        .map(|o| o.api_version.as_str())
        .collect();
    assert_eq!(gadgets, vec!["example.com/v1"]);
}

#[tokio::test]
async fn children_of_a_failed_parent_are_kept_not_pruned() {
    // Regression: a parent Kustomization that failed to render lists no children; the
    // agent took them for removed units and pruned their objects.
    let (sandbox, _dir, mut applier) = sandboxed_applier().await;
    let store = sandbox.store();
    let root = || unit("flux-system", &[]);
    let apps = |error: &str| Unit {
        parent: "flux-system/flux-system".into(),
        error: error.into(),
        ..unit("apps", &[])
    };
    let web = Unit {
        parent: "flux-system/apps".into(),
        ..unit("web", &[config_map("default", "web", "1")])
    };
    let report = applier
        .apply(&bundle(CLUSTER, 1, vec![root(), apps(""), web]))
        .await
        .unwrap();
    assert!(unit_status(&report, "web").ready, "{report:?}");

    // `apps` fails: its child `web` is missing from the bundle, but not removed.
    let report = applier
        .apply(&bundle(
            CLUSTER,
            2,
            vec![root(), apps("kustomization path ./apps not found")],
        ))
        .await
        .unwrap();
    let status = unit_status(&report, "web");
    assert!(!status.ready);
    assert_eq!(
        status.message,
        "parent Kustomization flux-system/apps failed"
    );
    assert_eq!(status.inventory.len(), 1, "inventory kept");
    assert!(
        store
            .get("v1", "ConfigMap", Some("default"), "web")
            .is_some(),
        "not pruned"
    );

    // Once `apps` renders again without `web`, `web` is removed and pruned.
    applier
        .apply(&bundle(CLUSTER, 3, vec![root(), apps("")]))
        .await
        .unwrap();
    assert!(store
        .get("v1", "ConfigMap", Some("default"), "web")
        .is_none());
}

#[tokio::test]
async fn invalid_unit_names_fail_without_breaking_the_state() {
    // Regression: a namespace over 65535 bytes was cut inside its unit key; cut inside
    // a UTF-8 character, the key never decoded again and every later apply failed.
    let (sandbox, _dir, mut applier) = sandboxed_applier().await;
    let long = Unit {
        namespace: format!("{}é", "a".repeat(65_534)),
        ..unit("long", &[config_map("default", "long", "1")])
    };
    let upper = Unit {
        namespace: "Flux-System".into(),
        ..unit("upper", &[config_map("default", "upper", "1")])
    };
    let report = applier
        .apply(&bundle(CLUSTER, 1, vec![infra(), long, upper]))
        .await
        .unwrap();
    for name in ["long", "upper"] {
        let status = unit_status(&report, name);
        assert!(!status.ready);
        assert!(
            status.message.starts_with("unit namespace '")
                && status.message.contains("is not a valid DNS-1123 label"),
            "{:.200}",
            status.message
        );
    }
    assert!(sandbox
        .store()
        .get("v1", "ConfigMap", Some("default"), "long")
        .is_none());

    let report = applier
        .apply(&bundle(CLUSTER, 2, vec![infra()]))
        .await
        .expect("state still readable");
    assert!(unit_status(&report, "infra").ready);
}

#[tokio::test]
async fn tenant_unit_without_service_account_is_not_applied() {
    // Regression: a tenant's unit without a service account was applied with the agent's
    // own (cluster-admin) identity.
    let (sandbox, _dir, mut applier) = sandboxed_applier().await;
    let team = Unit {
        tenant: "team-a".into(),
        ..unit("team", &[config_map("default", "team", "1")])
    };
    let report = applier
        .apply(&bundle(CLUSTER, 1, vec![team]))
        .await
        .unwrap();
    let status = unit_status(&report, "team");
    assert!(!status.ready);
    assert_eq!(
        status.message,
        "tenant unit must be applied with a service account"
    );
    assert!(sandbox
        .store()
        .get("v1", "ConfigMap", Some("default"), "team")
        .is_none());
}
