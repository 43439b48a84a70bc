//! `flotilla-agent --config agent.yaml`: loads the configuration, starts the agent under one
//! root cancellation token, and drains it on ctrl-c or SIGTERM.
//!
//! Wiring only; must never hold agent logic.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use flotilla_agent::Agent;
use flotilla_config::AgentConfig;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// How long an apply in progress may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Parser)]
#[command(
    name = "flotilla-agent",
    version,
    about = "Applies the hub's signed bundles to this cluster"
)]
struct Args {
    /// The agent's configuration file.
    #[arg(long, env = "FLOTILLA_AGENT_CONFIG")]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let config = match AgentConfig::load(&args.config) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", report(&err));
            ExitCode::FAILURE
        }
    }
}

async fn run(config: AgentConfig) -> anyhow::Result<()> {
    // Fails only when a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let agent = Agent::new(config).await.context("starting the agent")?;
    let shutdown = CancellationToken::new();
    let mut task = tokio::spawn(agent.run(shutdown.clone()));
    tokio::select! {
        result = &mut task => return result.context("agent task")?.map_err(Into::into),
        signal = shutdown_signal() => signal?,
    }
    tracing::info!("shutting down");
    shutdown.cancel();
    match tokio::time::timeout(DRAIN_TIMEOUT, &mut task).await {
        Ok(result) => result.context("agent task")?.map_err(Into::into),
        Err(_) => {
            task.abort();
            tracing::warn!(
                timeout_secs = DRAIN_TIMEOUT.as_secs(),
                "drain timed out; stopped"
            );
            Ok(())
        }
    }
}

/// The error and its causes, skipping a cause its parent's message already spells out.
fn report(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

async fn shutdown_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for ctrl-c"),
        _ = term.recv() => Ok(()),
    }
}
