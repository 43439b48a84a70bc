//! Offline rendering: `flotilla kustomize build DIR` prints what `kubectl kustomize DIR`
//! prints; `flotilla build` prints what one cluster would receive from a repository folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Subcommand;
use flotilla_config::ClusterConfig;
use flotilla_hub::resolve::{resolve, Input, SourceKey, SourceState};
use flotilla_kustomize::{BuildOptions, DiskFs, MemFs};

#[derive(Subcommand)]
pub enum KustomizeCommand {
    /// Print the rendered objects of the kustomization in DIR.
    Build { dir: PathBuf },
}

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The cluster to render.
    #[arg(long)]
    cluster: String,
    /// The repository folder (the platform repository's work tree).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// The cluster's root path; `./clusters/<cluster>` by default.
    #[arg(long)]
    path: Option<String>,
    /// Substitution variables, `NAME=VALUE`.
    #[arg(long = "var", value_parser = parse_var)]
    vars: Vec<(String, String)>,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

pub fn kustomize(command: KustomizeCommand) -> anyhow::Result<ExitCode> {
    let KustomizeCommand::Build { dir } = command;
    let absolute = std::fs::canonicalize(&dir)
        .with_context(|| format!("{}: no such directory", dir.display()))?;
    // Rooted at `/` so bases in sibling folders resolve, as with kubectl; the engine's load
    // restrictor still keeps each kustomization's files inside its own folder.
    let fs = DiskFs::new("/");
    let path = absolute
        .to_string_lossy()
        .trim_start_matches('/')
        .to_string();
    let resources = flotilla_kustomize::build(&fs, &path, &BuildOptions::default())
        .map_err(|err| err.with_root("/"))?;
    print!("{}", flotilla_kustomize::to_yaml(&resources));
    Ok(ExitCode::SUCCESS)
}

pub fn build(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let fs = snapshot(&args.repo)?;
    let cluster = ClusterConfig {
        name: args.cluster.clone(),
        path: args.path.clone(),
        labels: BTreeMap::new(),
        variables: args.vars.into_iter().collect(),
    };
    let platform = SourceKey {
        namespace: "flux-system".to_string(),
        name: "flux-system".to_string(),
    };
    let sources = BTreeMap::from([(
        platform.clone(),
        SourceState::Ready {
            revision: "local".to_string(),
            fs: Arc::new(fs),
        },
    )]);
    let resolution = resolve(&Input {
        cluster: &cluster,
        platform: &platform,
        sources: &sources,
        tenants: &[],
        previous: &[],
        cache: None,
        suspended: &Default::default(),
    });
    let mut failed = false;
    for unit in &resolution.units {
        println!(
            "# Kustomization {}/{} ({})",
            unit.namespace, unit.name, unit.path
        );
        if !unit.error.is_empty() {
            failed = true;
            eprintln!(
                "error: Kustomization {}/{}: {}",
                unit.namespace, unit.name, unit.error
            );
            continue;
        }
        for object in &unit.objects {
            let value: serde_json::Value = serde_json::from_str(object)?;
            println!("---\n{}", serde_norway::to_string(&value)?.trim_end());
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads a folder's regular files into memory, leaving out `.git` and symlinks.
fn snapshot(root: &Path) -> anyhow::Result<MemFs> {
    if !root.is_dir() {
        bail!("{}: not a directory", root.display());
    }
    let mut fs = MemFs::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        let dir = root.join(&relative);
        for entry in std::fs::read_dir(&dir).with_context(|| format!("read {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name();
            if name == ".git" {
                continue;
            }
            let kind = entry.file_type()?;
            let path = relative.join(&name);
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let contents = std::fs::read(entry.path())?;
                fs.insert(path.to_string_lossy().into_owned(), contents);
            }
        }
    }
    Ok(fs)
}
