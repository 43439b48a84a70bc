//! Bad input gets a clear error and loses nothing: a broken unit fails alone, an
//! unreachable source keeps the last good bundles, a malformed file is named.

use std::time::Duration;

use flotilla_integration::scenario;
use flotilla_integration::{Fleet, FleetOptions};
use flotilla_proto::{ListClustersRequest, ListSourcesRequest};

const WAIT: Duration = Duration::from_secs(60);

fn slow_poll() -> FleetOptions {
    FleetOptions {
        interval: "1h".to_string(),
        ..FleetOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_with_a_missing_path_fails_alone() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fleet = Fleet::start_ready(dir.path(), slow_poll()).await?;

    let broken = scenario::kustomization("cluster-1")
        .replace("name: sample", "name: broken")
        .replace("./apps/sample", "./apps/missing");
    fleet
        .repo
        .write("clusters/cluster-1/broken.yaml", &broken)?;
    fleet
        .repo
        .write("apps/sample/pod.yaml", &scenario::pod("nginx:1.28"))?;
    let commit = fleet.repo.commit("Add a broken unit and bump nginx")?;
    fleet.reconcile().await?;
    let revision = format!("main@sha1:{commit}");
    let list = fleet
        .wait_for(WAIT, |list| {
            list.iter()
                .filter(|k| k.name == "sample")
                .all(|k| k.ready == "True" && k.revision == revision)
                && list.iter().any(|k| k.name == "broken")
        })
        .await?;
    let broken = list.iter().find(|k| k.name == "broken").expect("listed");
    assert_eq!(broken.cluster, "cluster-1");
    assert_eq!(broken.ready, "False");
    assert_eq!(
        broken.message,
        "kustomization path not found: ./apps/missing"
    );
    let pod = fleet.sandboxes["cluster-1"]
        .store()
        .get("v1", "Pod", Some("sample"), "sample")
        .expect("pod present");
    assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.28");
    fleet.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_yaml_names_the_file_and_keeps_the_last_objects() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fleet = Fleet::start_ready(dir.path(), slow_poll()).await?;

    fleet.repo.write(
        "apps/sample/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [sample\n",
    )?;
    fleet.repo.commit("Break the pod")?;
    fleet.reconcile().await?;
    let list = fleet
        .wait_for(WAIT, |list| {
            list.iter()
                .filter(|k| k.name == "sample")
                .all(|k| k.ready == "False")
        })
        .await?;
    let sample = list.iter().find(|k| k.name == "sample").expect("listed");
    assert!(
        sample.message.contains("apps/sample/pod.yaml"),
        "{}",
        sample.message
    );
    assert!(sample.message.contains("line"), "{}", sample.message);
    // Nothing was pruned: the cluster keeps what it had.
    for cluster in ["cluster-1", "cluster-2"] {
        let store = fleet.sandboxes[cluster].store();
        assert!(store.get("v1", "Pod", Some("sample"), "sample").is_some());
    }
    fleet.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_source_keeps_the_last_good_bundles() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fleet = Fleet::start_ready(dir.path(), slow_poll()).await?;
    let mut admin = fleet.admin().await?;
    let before = admin
        .list_clusters(ListClustersRequest {})
        .await?
        .into_inner()
        .clusters;

    let moved = dir.path().join("repo-moved");
    std::fs::rename(fleet.repo.dir(), &moved)?;
    let err = fleet.reconcile().await.expect_err("fetch must fail");
    assert!(err.to_string().contains("repo"), "{err:#}");

    let sources = admin
        .list_sources(ListSourcesRequest {})
        .await?
        .into_inner()
        .sources;
    assert_eq!(sources[0].ready, "False");
    assert!(
        sources[0].message.contains(&fleet.repo.url()),
        "{}",
        sources[0].message
    );
    assert_eq!(
        sources[0].revision,
        format!("main@sha1:{}", fleet.seed_commit)
    );

    let after = admin
        .list_clusters(ListClustersRequest {})
        .await?
        .into_inner()
        .clusters;
    let generations = |list: &[flotilla_proto::ClusterInfo]| -> Vec<u64> {
        list.iter().map(|c| c.generation).collect()
    };
    assert_eq!(generations(&before), generations(&after));
    fleet.wait_ready_at(&fleet.seed_commit, WAIT).await?;

    std::fs::rename(&moved, fleet.repo.dir())?;
    fleet.reconcile().await?;
    let sources = admin
        .list_sources(ListSourcesRequest {})
        .await?
        .into_inner()
        .sources;
    assert_eq!(sources[0].ready, "True");
    fleet.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_cluster_folder_prunes_nothing() -> anyhow::Result<()> {
    // Regression: a malformed file in clusters/<name>/ failed the root unit, its children
    // vanished from the bundle, and the agent pruned everything they had applied.
    let dir = tempfile::tempdir()?;
    let fleet = Fleet::start_ready(dir.path(), slow_poll()).await?;

    fleet
        .repo
        .write("clusters/cluster-1/sample.yaml", "kind: [\n")?;
    fleet.repo.commit("Break cluster-1's folder")?;
    fleet.reconcile().await?;
    let list = fleet
        .wait_for(WAIT, |list| {
            list.iter()
                .any(|k| k.cluster == "cluster-1" && k.name == "sample" && k.ready == "False")
        })
        .await?;
    let sample = list
        .iter()
        .find(|k| k.cluster == "cluster-1" && k.name == "sample")
        .expect("still listed");
    assert_eq!(
        sample.message,
        "parent Kustomization flux-system/flux-system failed"
    );
    let root = list
        .iter()
        .find(|k| k.cluster == "cluster-1" && k.name == "flux-system")
        .expect("root listed");
    assert!(
        root.message.contains("clusters/cluster-1/sample.yaml"),
        "{}",
        root.message
    );
    // Give the agent time to act on the bundle, then check nothing was pruned.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let store = fleet.sandboxes["cluster-1"].store();
    assert!(store.get("v1", "Pod", Some("sample"), "sample").is_some());
    assert!(store.get("v1", "Namespace", None, "sample").is_some());
    fleet.shutdown().await
}
