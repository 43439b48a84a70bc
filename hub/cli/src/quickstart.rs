//! `flotilla quickstart`: the seed scenario end to end on this machine. It writes a Flux-
//! layout Git repository, keys and configs under one folder, starts a hub and one agent per
//! cluster (against sandbox API servers, or real clusters given kubeconfigs), waits until
//! every Kustomization is Ready at the seed commit, and prints what each cluster holds.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use flotilla_integration::{Fleet, FleetOptions};

use crate::get::kustomizations_table;

#[derive(clap::Args)]
pub struct QuickstartArgs {
    /// Folder for the repository, keys, configs and state (must be empty or absent); a new
    /// temporary folder by default, removed on exit unless --stay.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the hub and agents running after the first sync, so you can commit to the
    /// repository and watch it reach the clusters; stop with Ctrl-C.
    #[arg(long)]
    stay: bool,
    /// Run a cluster's agent against a real cluster: `CLUSTER=KUBECONFIG` (repeatable).
    #[arg(long = "kubeconfig", value_parser = parse_kubeconfig)]
    kubeconfigs: Vec<(String, PathBuf)>,
    /// How long to wait for every cluster to become Ready.
    #[arg(long, default_value = "120")]
    timeout_secs: u64,
}

fn parse_kubeconfig(text: &str) -> Result<(String, PathBuf), String> {
    text.split_once('=')
        .map(|(cluster, path)| (cluster.to_string(), PathBuf::from(path)))
        .ok_or_else(|| format!("`{text}` is not CLUSTER=KUBECONFIG"))
}

pub async fn run(args: QuickstartArgs) -> anyhow::Result<ExitCode> {
    let (dir, temporary) = match args.dir {
        Some(dir) => (dir, false),
        None => (
            std::env::temp_dir().join(format!("flotilla-quickstart-{}", std::process::id())),
            true,
        ),
    };
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!(
            "{}: folder is not empty; choose another with --dir",
            dir.display()
        );
    }
    let options = FleetOptions {
        kubeconfigs: args.kubeconfigs.into_iter().collect(),
        ..FleetOptions::default()
    };
    for cluster in options.kubeconfigs.keys() {
        if !options.clusters.contains(cluster) {
            bail!(
                "--kubeconfig {cluster}=...: the quickstart's clusters are {:?}",
                options.clusters
            );
        }
    }
    println!(
        "► writing the repository, keys and configs to {}",
        dir.display()
    );
    let fleet = Fleet::start(&dir, options)
        .await
        .context("starting the quickstart fleet")?;
    println!(
        "► hub serving; agents connecting for {}",
        fleet.options.clusters.join(", ")
    );
    let timeout = Duration::from_secs(args.timeout_secs);
    let result = fleet.wait_ready_at(&fleet.seed_commit, timeout).await;
    let list = match result {
        Ok(list) => list,
        Err(err) => {
            let _ = fleet.shutdown().await;
            return Err(err.context("the clusters did not become Ready"));
        }
    };
    println!(
        "✔ every cluster is Ready at main@sha1:{}\n",
        fleet.seed_commit
    );
    print!("{}", kustomizations_table(&list));
    println!();
    for (cluster, sandbox) in &fleet.sandboxes {
        let pod = sandbox.store().get("v1", "Pod", Some("sample"), "sample");
        let label = pod
            .as_ref()
            .and_then(|p| {
                p["metadata"]["labels"]["cluster"]
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "<missing>".to_string());
        let namespace = sandbox
            .store()
            .get("v1", "Namespace", None, "sample")
            .is_some();
        println!(
            "{cluster}: Namespace sample {}, Pod sample/sample {} (label cluster={label})",
            if namespace { "present" } else { "missing" },
            if pod.is_some() { "present" } else { "missing" },
        );
    }
    if args.stay {
        println!(
            "\nThe fleet stays up. Commit to {} and watch it arrive:\n  flotilla get kustomizations --hub {} --pki {}\nPress Ctrl-C to stop.",
            fleet.repo.dir().display(),
            fleet.admin_address(),
            fleet.pki_dir().display()
        );
        tokio::signal::ctrl_c().await?;
    }
    fleet.shutdown().await?;
    if temporary && !args.stay {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(ExitCode::SUCCESS)
}
