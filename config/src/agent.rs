//! The agent's configuration: which hub to dial, as which cluster, which hub keys to trust,
//! and which Kubernetes API server to apply to.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{is_dns_label, load_yaml, parse_duration, relative_to, Error, Result, TlsFiles};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The hub's agent endpoint, `https://host:port`.
    pub hub: String,
    /// The cluster this agent serves; must match its client certificate.
    pub cluster: String,
    pub tls: TlsFiles,
    /// Public keys (PEM, SPKI) of the hub's bundle-signing keys; a bundle signed by any
    /// other key is refused.
    pub hub_keys: Vec<PathBuf>,
    /// Where the agent keeps the last applied bundle and inventories.
    pub data_dir: PathBuf,
    /// Kubeconfig of the target cluster; in-cluster configuration when absent.
    pub kubeconfig: Option<PathBuf>,
    /// How often to look for drift, as a Go duration.
    #[serde(default = "default_drift_interval")]
    pub drift_interval: String,
}

fn default_drift_interval() -> String {
    "5m".to_string()
}

impl AgentConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let mut config: AgentConfig = load_yaml(path)?;
        config.validate(path)?;
        config.data_dir = relative_to(path, &config.data_dir);
        config.tls.resolve_paths(path);
        for key in &mut config.hub_keys {
            *key = relative_to(path, key);
        }
        if let Some(kubeconfig) = &mut config.kubeconfig {
            *kubeconfig = relative_to(path, kubeconfig);
        }
        Ok(config)
    }

    pub fn validate(&self, path: &Path) -> Result<()> {
        if !self.hub.starts_with("https://") {
            return Err(Error::invalid(
                path,
                "hub",
                format!("`{}` must be an https:// address of the hub", self.hub),
            ));
        }
        if !is_dns_label(&self.cluster) {
            return Err(Error::invalid(
                path,
                "cluster",
                format!("`{}` is not a valid cluster name", self.cluster),
            ));
        }
        if self.hub_keys.is_empty() {
            return Err(Error::invalid(
                path,
                "hub_keys",
                "pin at least one hub signing key",
            ));
        }
        if parse_duration(&self.drift_interval).is_none_or(|d| d.is_zero()) {
            return Err(Error::invalid(
                path,
                "drift_interval",
                format!("`{}` is not a positive duration", self.drift_interval),
            ));
        }
        Ok(())
    }

    pub fn drift_interval(&self) -> Duration {
        parse_duration(&self.drift_interval).unwrap_or(Duration::from_secs(300))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_and_resolves_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.yaml");
        std::fs::write(
            &path,
            "hub: https://127.0.0.1:7443\ncluster: cluster-1\ntls: {ca: ca.pem, cert: a.pem, key: a-key.pem}\nhub_keys: [signing.pub]\ndata_dir: state\n",
        )
        .unwrap();
        let config = AgentConfig::load(&path).unwrap();
        assert_eq!(config.data_dir, dir.path().join("state"));
        assert_eq!(config.hub_keys[0], dir.path().join("signing.pub"));
        assert_eq!(config.drift_interval(), Duration::from_secs(300));
        assert!(config.kubeconfig.is_none());
    }

    #[test]
    fn missing_field_and_bad_values_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.yaml");
        std::fs::write(&path, "hub: https://h:1\ncluster: c\n").unwrap();
        let err = AgentConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("agent.yaml") && err.contains("missing field `tls`"),
            "{err}"
        );

        std::fs::write(
            &path,
            "hub: http://h:1\ncluster: c\ntls: {ca: a, cert: b, key: c}\nhub_keys: [k]\ndata_dir: d\n",
        )
        .unwrap();
        let err = AgentConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("field `hub`"), "{err}");
    }
}
