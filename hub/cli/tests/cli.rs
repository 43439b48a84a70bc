//! The `flotilla` binary as a user runs it: quickstart, the offline helpers, and the `get`
//! commands against a running fleet.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use flotilla_integration::{Fleet, FleetOptions, GitRepo};

fn flotilla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .output()
        .expect("run flotilla")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fleet that polls Git hourly, so each change a test makes arrives through `reconcile`.
async fn quiet_fleet(dir: &Path) -> anyhow::Result<Fleet> {
    let options = FleetOptions {
        interval: "1h".to_string(),
        ..FleetOptions::default()
    };
    Fleet::start_ready(dir, options).await
}

/// Runs `flotilla ARGS --hub <the fleet's admin API> --pki <its PKI>` off the async threads.
async fn against(fleet: &Fleet, args: &[&str]) -> anyhow::Result<Output> {
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    args.extend([
        "--hub".to_string(),
        fleet.admin_address(),
        "--pki".to_string(),
        fleet.pki_dir().display().to_string(),
    ]);
    Ok(tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        flotilla(&args)
    })
    .await?)
}

#[test]
fn quickstart_runs_the_seed_scenario_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet");
    let output = flotilla(&["quickstart", "--dir", fleet.to_str().unwrap()]);
    let out = stdout(&output);
    assert!(
        output.status.success(),
        "stdout:\n{out}\nstderr:\n{}",
        stderr(&output)
    );
    for cluster in ["cluster-1", "cluster-2"] {
        let row = out
            .lines()
            .find(|l| l.starts_with(cluster) && l.split_whitespace().nth(1) == Some("sample"))
            .unwrap_or_else(|| panic!("no sample row for {cluster}:\n{out}"));
        let cells: Vec<_> = row.split_whitespace().collect();
        assert_eq!(cells[2], "True", "{row}");
        assert_eq!(&cells[3..5], ["Applied", "revision:"], "{row}");
        assert!(out.contains(&format!(
            "{cluster}: Namespace sample present, Pod sample/sample present (label cluster={cluster})"
        )), "{out}");
    }
    // A second run refuses to reuse a folder that holds a fleet.
    let again = flotilla(&["quickstart", "--dir", fleet.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("not empty"), "{}", stderr(&again));
}

#[test]
fn pki_init_and_issue_agent_write_files_and_refuse_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let pki = pki.to_str().unwrap();
    let output = flotilla(&["pki", "init", "--dir", pki, "--host", "hub.example.com"]);
    assert!(output.status.success(), "{}", stderr(&output));
    for file in [
        "ca.pem",
        "ca-key.pem",
        "hub.pem",
        "hub-key.pem",
        "admin.pem",
        "signing-key.pem",
        "signing.pub",
    ] {
        assert!(Path::new(pki).join(file).is_file(), "{file}");
    }
    let output = flotilla(&["pki", "issue-agent", "cluster-7", "--dir", pki]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(Path::new(pki).join("agent-cluster-7.pem").is_file());
    let again = flotilla(&["pki", "init", "--dir", pki]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn kustomize_build_prints_what_kubectl_prints() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kustomize/tests/fixtures/base-generators-and-name-refs");
    let output = flotilla(&[
        "kustomize",
        "build",
        fixture.join("input/base").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let expected = std::fs::read_to_string(fixture.join("expected.yaml")).unwrap();
    assert_eq!(stdout(&output), expected);

    // Errors name files by their absolute paths, as kubectl does.
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(
        broken.path().join("kustomization.yaml"),
        "resources:\n  - gone.yaml\n",
    )
    .unwrap();
    let output = flotilla(&["kustomize", "build", broken.path().to_str().unwrap()]);
    assert!(!output.status.success());
    let shown = broken
        .path()
        .join("kustomization.yaml")
        .display()
        .to_string();
    assert!(stderr(&output).contains(&shown), "{}", stderr(&output));
    assert!(stderr(&output).contains("gone.yaml"), "{}", stderr(&output));

    let missing = flotilla(&["kustomize", "build", "/nonexistent/overlay"]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("/nonexistent/overlay"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn build_renders_one_cluster_from_a_repository_folder() {
    let dir = tempfile::tempdir().unwrap();
    let repo = GitRepo::init(dir.path()).unwrap();
    flotilla_integration::scenario::write_seed(&repo, &["cluster-1".to_string()]).unwrap();
    let output = flotilla(&[
        "build",
        "--cluster",
        "cluster-1",
        "--repo",
        dir.path().to_str().unwrap(),
    ]);
    let out = stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        out.contains("# Kustomization flux-system/sample (./apps/sample)"),
        "{out}"
    );
    assert!(out.contains("cluster: cluster-1"), "{out}");
    assert!(out.contains("kind: Namespace"), "{out}");

    let output = flotilla(&[
        "build",
        "--cluster",
        "cluster-9",
        "--repo",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("kustomization path not found: clusters/cluster-9"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_commands_show_the_fleet() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fleet = quiet_fleet(dir.path()).await?;
    let hub = fleet.admin_address();
    let output = against(&fleet, &["get", "kustomizations", "-o", "json"]).await?;
    assert!(output.status.success(), "{}", stderr(&output));
    let list: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let list = list.as_array().expect("a JSON array");
    assert_eq!(list.len(), 4, "{list:?}");
    let revision = format!("main@sha1:{}", fleet.seed_commit);
    for entry in list {
        assert_eq!(entry["ready"], "True");
        assert_eq!(entry["revision"], revision.as_str());
        assert_eq!(entry["message"], format!("Applied revision: {revision}"));
    }

    let output = against(&fleet, &["get", "kustomizations", "--cluster", "cluster-2"]).await?;
    let table = stdout(&output);
    assert!(table.starts_with("CLUSTER "), "{table}");
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(
        table.lines().skip(1).all(|l| l.starts_with("cluster-2")),
        "{table}"
    );

    let output = against(&fleet, &["get", "clusters"]).await?;
    let table = stdout(&output);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("cluster-1") && l.contains("True")),
        "{table}"
    );

    let output = against(&fleet, &["reconcile", "source"]).await?;
    assert_eq!(
        stdout(&output).trim(),
        format!("fetched revision {revision}")
    );

    let output = against(&fleet, &["get", "sources"]).await?;
    assert!(stdout(&output).contains(&revision), "{}", stdout(&output));

    // Without the admin certificate the CLI says where it tried and what to set.
    let output = tokio::task::spawn_blocking(move || {
        flotilla(&["get", "clusters", "--hub", &hub, "--pki", "/nonexistent"])
    })
    .await?;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("/nonexistent/ca.pem"),
        "{}",
        stderr(&output)
    );
    fleet.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_holds_one_cluster_back_until_resume() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fleet = quiet_fleet(dir.path()).await?;
    let image = |cluster: &str| {
        fleet.sandboxes[cluster]
            .store()
            .get("v1", "Pod", Some("sample"), "sample")
            .map(|pod| pod["spec"]["containers"][0]["image"].clone())
    };

    let output = against(
        &fleet,
        &[
            "suspend",
            "kustomization",
            "sample",
            "--cluster",
            "cluster-1",
        ],
    )
    .await?;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("kustomization suspended on cluster-1"),
        "{}",
        stdout(&output)
    );
    let list = fleet.kustomizations().await?;
    let suspended: Vec<_> = list
        .iter()
        .filter(|k| k.suspended)
        .map(|k| (k.cluster.as_str(), k.name.as_str()))
        .collect();
    assert_eq!(suspended, [("cluster-1", "sample")]);

    fleet.repo.write(
        "apps/sample/pod.yaml",
        &flotilla_integration::scenario::pod("nginx:1.28"),
    )?;
    let commit = fleet.repo.commit("Bump nginx")?;
    fleet.reconcile().await?;
    let revision = format!("main@sha1:{commit}");
    fleet
        .wait_for(Duration::from_secs(60), |list| {
            list.iter()
                .any(|k| k.cluster == "cluster-2" && k.name == "sample" && k.revision == revision)
        })
        .await?;
    assert_eq!(image("cluster-2"), Some(serde_json::json!("nginx:1.28")));
    assert_eq!(
        image("cluster-1"),
        Some(serde_json::json!("nginx:1.27")),
        "suspended cluster untouched"
    );

    let output = against(
        &fleet,
        &[
            "resume",
            "kustomization",
            "sample",
            "--cluster",
            "cluster-1",
        ],
    )
    .await?;
    assert!(output.status.success(), "{}", stderr(&output));
    fleet
        .wait_ready_at(&commit, Duration::from_secs(60))
        .await?;
    assert_eq!(image("cluster-1"), Some(serde_json::json!("nginx:1.28")));

    let output = against(&fleet, &["suspend", "kustomization", "nowhere"]).await?;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("Kustomization flux-system/nowhere not found"),
        "{}",
        stderr(&output)
    );
    fleet.shutdown().await
}
