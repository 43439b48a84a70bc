//! A hub restarted between commits keeps its generations, and the agents reconnect by
//! themselves and receive the next bundle.

use std::time::Duration;

use flotilla_integration::scenario;
use flotilla_integration::{Fleet, FleetOptions};
use flotilla_proto::ListClustersRequest;

const WAIT: Duration = Duration::from_secs(90);

async fn generations(fleet: &Fleet) -> anyhow::Result<Vec<(String, u64, bool)>> {
    let mut admin = fleet.admin().await?;
    let clusters = admin
        .list_clusters(ListClustersRequest {})
        .await?
        .into_inner()
        .clusters;
    Ok(clusters
        .into_iter()
        .map(|c| (c.name, c.generation, c.connected))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generations_survive_a_hub_restart_and_agents_reconnect() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let options = FleetOptions {
        interval: "1h".to_string(),
        ..FleetOptions::default()
    };
    let mut fleet = Fleet::start_ready(dir.path(), options).await?;
    let before = generations(&fleet).await?;
    assert!(
        before
            .iter()
            .all(|(_, generation, connected)| *generation == 1 && *connected),
        "{before:?}"
    );

    fleet.stop_hub().await?;
    fleet
        .repo
        .write("apps/sample/pod.yaml", &scenario::pod("nginx:1.28"))?;
    let commit = fleet.repo.commit("Bump nginx while the hub is down")?;
    fleet.start_hub().await?;

    fleet.wait_ready_at(&commit, WAIT).await?;
    let after = generations(&fleet).await?;
    assert!(
        after
            .iter()
            .all(|(_, generation, connected)| *generation == 2 && *connected),
        "{after:?}"
    );
    for sandbox in fleet.sandboxes.values() {
        let pod = sandbox
            .store()
            .get("v1", "Pod", Some("sample"), "sample")
            .expect("pod");
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.28");
    }

    // Restarting on the same commit builds nothing new.
    fleet.stop_hub().await?;
    fleet.start_hub().await?;
    fleet.wait_ready_at(&commit, WAIT).await?;
    let again = generations(&fleet).await?;
    assert!(
        again.iter().all(|(_, generation, _)| *generation == 2),
        "{again:?}"
    );
    fleet.shutdown().await
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Agents apply `images` one commit each after a backup of the hub's store at generation
/// 1; the store is then restored, one more commit lands, and the hub starts again.
async fn restore_old_backup(images: &[&str], expected_generation: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let options = FleetOptions {
        interval: "1h".to_string(),
        ..FleetOptions::default()
    };
    let mut fleet = Fleet::start_ready(dir.path(), options).await?;
    let data = dir.path().join("hub-data");
    let backup = dir.path().join("hub-data-backup");
    fleet.stop_hub().await?;
    copy_dir(&data, &backup)?;
    fleet.start_hub().await?;

    for image in images {
        fleet
            .repo
            .write("apps/sample/pod.yaml", &scenario::pod(image))?;
        let commit = fleet.repo.commit(&format!("Run {image}"))?;
        fleet.reconcile().await?;
        fleet.wait_ready_at(&commit, WAIT).await?;
    }
    fleet.stop_hub().await?;
    std::fs::remove_dir_all(&data)?;
    copy_dir(&backup, &data)?;
    fleet
        .repo
        .write("apps/sample/pod.yaml", &scenario::pod("nginx:1.30"))?;
    let commit = fleet.repo.commit("Run nginx:1.30")?;
    fleet.start_hub().await?;

    fleet.wait_ready_at(&commit, WAIT).await?;
    let after = generations(&fleet).await?;
    assert!(
        after
            .iter()
            .all(|(_, generation, _)| *generation == expected_generation),
        "{after:?}"
    );
    for sandbox in fleet.sandboxes.values() {
        let pod = sandbox
            .store()
            .get("v1", "Pod", Some("sample"), "sample")
            .expect("pod");
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.30");
    }
    fleet.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_restored_from_an_old_backup_moves_past_the_agents_generation() -> anyhow::Result<()>
{
    // Agents hold generation 3; the restored hub builds generation 2 and must go past 3.
    restore_old_backup(&["nginx:1.28", "nginx:1.29"], 4).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_hub_with_other_content_at_the_agents_generation_moves_on() -> anyhow::Result<()>
{
    // Agents hold generation 2 (nginx:1.28); the restored hub builds its own generation 2
    // (nginx:1.30); the digest in Hello tells them apart.
    restore_old_backup(&["nginx:1.28"], 3).await
}
