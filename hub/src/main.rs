//! `flotilla-hub --config hub.yaml`: load the configuration, start the hub, wait for a
//! shutdown signal, drain.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio_util::sync::CancellationToken;

/// The Flotilla hub.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Path of the hub configuration file.
    #[arg(long, short)]
    config: PathBuf,
}

const DRAIN: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = match flotilla_config::HubConfig::load(&args.config) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let shutdown = CancellationToken::new();
    let hub = match flotilla_hub::start(config, shutdown.clone()).await {
        Ok(hub) => hub,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    match tokio::time::timeout(DRAIN, hub.wait()).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
        Err(_) => {
            // A blocking task (a stalled Git fetch) would keep the runtime from dropping.
            eprintln!("error: shutdown did not finish within {DRAIN:?}");
            std::process::exit(1);
        }
    }
}
