//! Typed configuration of the hub and the agent, loaded from YAML and validated.
//!
//! Loading never panics on a bad file: every error names the file, and where the YAML
//! parser knows it, the line, column and field path (`clusters[1].name`). Nothing here
//! touches the network or the file system beyond reading the one config file.

mod agent;
mod duration;
mod error;
pub mod flux;
mod hub;

pub use agent::AgentConfig;
pub use duration::parse_duration;
pub use error::{Error, Result};
pub use hub::{
    ClusterConfig, GitAuth, HubConfig, ListenConfig, SourceConfig, TenantConfig, TlsFiles,
};

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Reads and parses `path` as YAML into `T`, naming the field on a type error.
fn load_yaml<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_yaml(path, &text)
}

fn parse_yaml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    let de = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        let (line, column) = inner
            .location()
            .map(|loc| (loc.line(), loc.column()))
            .unwrap_or((0, 0));
        Error::Parse {
            path: path.to_path_buf(),
            line,
            column,
            field,
            message: inner.to_string(),
        }
    })
}

/// Resolves a path from a config file against the directory holding that file.
fn relative_to(config: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match config.parent() {
        Some(dir) => dir.join(path),
        None => path.to_path_buf(),
    }
}

/// A Kubernetes namespace-style name (RFC 1123 label): what cluster, tenant and namespace names
/// must be, since they end up in object names and certificate names.
pub fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}
