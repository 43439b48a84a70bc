//! The seed scenario end to end: a commit in a Flux-layout repository reaches two clusters
//! through the hub, signed, over mutual TLS, and later commits update, add and prune
//! objects with everything running.

use std::time::Duration;

use flotilla_integration::scenario;
use flotilla_integration::{Fleet, FleetOptions};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

fn pod(fleet: &Fleet, cluster: &str) -> Option<Value> {
    fleet.sandboxes[cluster]
        .store()
        .get("v1", "Pod", Some("sample"), "sample")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_reach_both_clusters_without_restarts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // A long poll interval: every change below arrives through `reconcile`, so the test
    // shows the push path, not a timer.
    let options = FleetOptions {
        interval: "1h".to_string(),
        ..FleetOptions::default()
    };
    let fleet = Fleet::start(dir.path(), options).await?;

    let list = fleet.wait_ready_at(&fleet.seed_commit, WAIT).await?;
    let revision = format!("main@sha1:{}", fleet.seed_commit);
    for cluster in ["cluster-1", "cluster-2"] {
        let sample = list
            .iter()
            .find(|k| k.cluster == cluster && k.name == "sample")
            .expect("sample listed for every cluster");
        assert_eq!(sample.ready, "True");
        assert_eq!(sample.message, format!("Applied revision: {revision}"));
        assert!(!sample.suspended);

        let store = fleet.sandboxes[cluster].store();
        assert!(store.get("v1", "Namespace", None, "sample").is_some());
        let pod = pod(&fleet, cluster).expect("pod applied");
        assert_eq!(pod["metadata"]["labels"]["cluster"], cluster);
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.27");
        let managers: Vec<_> = pod["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["manager"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(managers.iter().any(|m| m == "flotilla"), "{managers:?}");
    }

    // A new image reaches both clusters.
    fleet
        .repo
        .write("apps/sample/pod.yaml", &scenario::pod("nginx:1.28"))?;
    let commit = fleet.repo.commit("Bump nginx")?;
    assert_eq!(fleet.reconcile().await?, format!("main@sha1:{commit}"));
    fleet.wait_ready_at(&commit, WAIT).await?;
    for cluster in ["cluster-1", "cluster-2"] {
        let pod = pod(&fleet, cluster).expect("pod still there");
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.28");
    }

    // A new ConfigMap is added.
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
    for cluster in ["cluster-1", "cluster-2"] {
        let store = fleet.sandboxes[cluster].store();
        let settings = store.get("v1", "ConfigMap", Some("sample"), "sample-settings");
        assert_eq!(
            settings.expect("configmap added")["data"]["greeting"],
            "hello"
        );
    }

    // Removing the Pod from Git prunes it from both clusters.
    fleet.repo.remove("apps/sample/pod.yaml")?.write(
        "apps/sample/kustomization.yaml",
        &scenario::app_kustomization(&["namespace.yaml", "settings.yaml"]),
    )?;
    let commit = fleet.repo.commit("Remove the pod")?;
    fleet.reconcile().await?;
    fleet.wait_ready_at(&commit, WAIT).await?;
    for cluster in ["cluster-1", "cluster-2"] {
        assert!(pod(&fleet, cluster).is_none(), "pod pruned from {cluster}");
        let store = fleet.sandboxes[cluster].store();
        assert!(store
            .get("v1", "ConfigMap", Some("sample"), "sample-settings")
            .is_some());
    }

    fleet.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_polls_git_at_its_interval() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let options = FleetOptions {
        interval: "1s".to_string(),
        ..FleetOptions::default()
    };
    let fleet = Fleet::start_ready(dir.path(), options).await?;
    fleet
        .repo
        .write("apps/sample/pod.yaml", &scenario::pod("nginx:1.29"))?;
    let commit = fleet.repo.commit("Bump nginx")?;
    // No reconcile request: the hub's own poll finds the commit.
    fleet.wait_ready_at(&commit, WAIT).await?;
    for cluster in ["cluster-1", "cluster-2"] {
        let pod = pod(&fleet, cluster).expect("pod present");
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.29");
    }
    fleet.shutdown().await
}

/// `GET path` over plain HTTP/1.1; returns the whole response.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_serves_metrics_about_the_fleet() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let options = FleetOptions {
        interval: "1h".to_string(),
        ..FleetOptions::default()
    };
    let fleet = Fleet::start_ready(dir.path(), options).await?;
    let metrics = http_get(fleet.metrics_addr(), "/metrics").await?;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    for line in [
        "flotilla_bundles_published_total{cluster=\"cluster-1\"} 1",
        "flotilla_bundle_generation{cluster=\"cluster-2\"} 1",
        "flotilla_agents_connected 2",
        "flotilla_source_fetches_total{source=\"flux-system/flux-system\"} 1",
    ] {
        assert!(metrics.contains(line), "missing `{line}` in:\n{metrics}");
    }
    let health = http_get(fleet.metrics_addr(), "/healthz").await?;
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("ok"),
        "{health}"
    );
    fleet.shutdown().await
}
