//! `flotilla pki`: a CA, the hub's certificate, an admin certificate, agent certificates and
//! the bundle-signing key pair.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use flotilla_hub::pki;

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Create a CA, a hub certificate, an admin certificate and a signing key pair.
    Init {
        /// Folder to write into; must not hold a CA yet.
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
        /// Host names and IP addresses the hub's certificate is valid for.
        #[arg(long = "host", default_values = ["localhost", "127.0.0.1"])]
        hosts: Vec<String>,
    },
    /// Issue a client certificate for the agent of CLUSTER.
    IssueAgent {
        cluster: String,
        #[arg(long, default_value = "pki")]
        dir: PathBuf,
    },
}

pub fn run(command: PkiCommand) -> anyhow::Result<ExitCode> {
    match command {
        PkiCommand::Init { dir, hosts } => {
            pki::init(&dir, &hosts)?;
            println!(
                "wrote CA, hub, admin certificates and signing keys to {}",
                dir.display()
            );
        }
        PkiCommand::IssueAgent { cluster, dir } => {
            let (cert, key) = pki::issue_agent(&dir, &cluster)?;
            println!("wrote {} and {}", cert.display(), key.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
