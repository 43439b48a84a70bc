//! Drift: an object changed or deleted behind the agent's back is reported to the hub,
//! shown by the admin API, and put back as the bundle says.

use std::time::Duration;

use flotilla_integration::scenario;
use flotilla_integration::{Fleet, FleetOptions};
use flotilla_proto::ListDriftRequest;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};

const WAIT: Duration = Duration::from_secs(60);

async fn client(fleet: &Fleet, cluster: &str) -> anyhow::Result<kube::Client> {
    let yaml = fleet.sandboxes[cluster].kubeconfig_yaml();
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

fn api(client: kube::Client, kind: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", kind));
    Api::namespaced_with(client, "sample", &resource)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_reported_then_corrected() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let options = FleetOptions {
        interval: "1h".to_string(),
        drift_interval: "1s".to_string(),
        ..FleetOptions::default()
    };
    let fleet = Fleet::start(dir.path(), options).await?;
    fleet
        .repo
        .write("apps/sample/settings.yaml", scenario::CONFIG_MAP)?
        .write(
            "apps/sample/kustomization.yaml",
            &scenario::app_kustomization(&["namespace.yaml", "pod.yaml", "settings.yaml"]),
        )?;
    let commit = fleet.repo.commit("Add settings")?;
    fleet.reconcile().await?;
    fleet.wait_ready_at(&commit, WAIT).await?;

    let client = client(&fleet, "cluster-1").await?;
    let patch = serde_json::json!({"data": {"greeting": "changed by hand"}});
    api(client.clone(), "ConfigMap")
        .patch(
            "sample-settings",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    api(client, "Pod")
        .delete("sample", &DeleteParams::default())
        .await?;

    let mut admin = fleet.admin().await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    let drift = loop {
        let request = ListDriftRequest {
            cluster: "cluster-1".to_string(),
        };
        let drift = admin.list_drift(request).await?.into_inner().drift;
        if drift.len() >= 2 {
            break drift;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no drift reported: {drift:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let settings = drift
        .iter()
        .find(|d| d.object == "v1 ConfigMap sample/sample-settings")
        .expect("configmap reported");
    assert_eq!(settings.state, "modified");
    assert_eq!(settings.unit, "flux-system/sample");
    assert!(
        settings.fields.iter().any(|f| f == "data.greeting"),
        "{:?}",
        settings.fields
    );
    let pod = drift
        .iter()
        .find(|d| d.object == "v1 Pod sample/sample")
        .expect("pod reported");
    assert_eq!(pod.state, "deleted");

    // The agent puts both back as the bundle says.
    let store = fleet.sandboxes["cluster-1"].store();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let greeting = store
            .get("v1", "ConfigMap", Some("sample"), "sample-settings")
            .map(|cm| cm["data"]["greeting"].clone());
        let pod = store.get("v1", "Pod", Some("sample"), "sample");
        if greeting == Some(serde_json::json!("hello")) && pod.is_some() {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "drift not corrected"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    fleet.shutdown().await
}
