//! `flotilla-sandbox`: starts N sandboxes, writes their kubeconfigs to a directory and stays
//! up until Ctrl-C. Only wiring; the emulator is the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use flotilla_sandbox::{Options, Sandbox};

/// Run emulated Kubernetes API servers for local testing.
#[derive(Parser)]
struct Args {
    /// How many sandboxes to start.
    #[arg(short, long, default_value_t = 1)]
    count: usize,
    /// Directory for the kubeconfigs (sandbox-0.yaml, sandbox-1.yaml, ...).
    #[arg(short, long, default_value = ".")]
    dir: PathBuf,
    /// Leave workload status as written instead of reporting workloads ready at once.
    #[arg(long)]
    no_ready_workloads: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let mut sandboxes = Vec::with_capacity(args.count);
    for i in 0..args.count {
        let options = Options {
            ready_workloads: !args.no_ready_workloads,
        };
        let sb = Sandbox::start_with(options)
            .await
            .context("cannot start a sandbox")?;
        let path = args.dir.join(format!("sandbox-{i}.yaml"));
        sb.write_kubeconfig(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("sandbox {i}: {} kubeconfig {}", sb.url(), path.display());
        sandboxes.push(sb);
    }
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    for sb in sandboxes {
        sb.shutdown().await;
    }
    Ok(())
}
