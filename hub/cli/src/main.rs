//! `flotilla`: the operator's command line, shaped like the `flux` CLI. Online commands talk
//! to the hub's admin API over mutual TLS; `kustomize build`, `build`, `pki` and
//! `quickstart` work without a hub.

mod build;
mod get;
mod pki;
mod quickstart;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "flotilla",
    version,
    about = "Multi-cluster GitOps from one hub"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the hub's admin API is and which admin certificate to present.
#[derive(clap::Args, Clone)]
pub struct HubArgs {
    /// Admin API address.
    #[arg(
        long,
        env = "FLOTILLA_HUB",
        default_value = "https://127.0.0.1:7444",
        global = true
    )]
    hub: String,
    /// Folder holding ca.pem, admin.pem and admin-key.pem (as `flotilla pki init` writes).
    #[arg(long, env = "FLOTILLA_PKI", default_value = "pki", global = true)]
    pki: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Show clusters, kustomizations or sources.
    Get {
        #[command(subcommand)]
        what: get::What,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Fetch sources now and rebuild every cluster's bundle.
    Reconcile {
        #[command(subcommand)]
        what: get::ReconcileWhat,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Stop applying a Kustomization on one cluster or all; the agent leaves its objects.
    Suspend {
        #[command(subcommand)]
        what: get::SuspendWhat,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Resume applying a suspended Kustomization.
    Resume {
        #[command(subcommand)]
        what: get::SuspendWhat,
        #[command(flatten)]
        hub: HubArgs,
    },
    /// Render a kustomization directory, as `kubectl kustomize DIR` does.
    Kustomize {
        #[command(subcommand)]
        command: build::KustomizeCommand,
    },
    /// Render what one cluster would receive from a repository folder, without a hub.
    Build(build::BuildArgs),
    /// Create certificates and signing keys.
    Pki {
        #[command(subcommand)]
        command: pki::PkiCommand,
    },
    /// Run the seed scenario end to end on this machine: a Git repository, a hub, and two
    /// clusters (sandboxes or real ones), each with its agent.
    Quickstart(quickstart::QuickstartArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match cli.command {
        Command::Kustomize { command } => build::kustomize(command),
        Command::Build(args) => build::build(args),
        Command::Pki { command } => pki::run(command),
        command => runtime().and_then(|rt| {
            rt.block_on(async move {
                match command {
                    Command::Get { what, hub } => get::get(what, hub).await,
                    Command::Reconcile { what, hub } => get::reconcile(what, hub).await,
                    Command::Suspend { what, hub } => get::set_suspended(what, hub, true).await,
                    Command::Resume { what, hub } => get::set_suspended(what, hub, false).await,
                    Command::Quickstart(args) => quickstart::run(args).await,
                    _ => unreachable!("handled above"),
                }
            })
        }),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
