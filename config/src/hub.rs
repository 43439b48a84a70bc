//! The hub's configuration: where it listens, its keys, the platform source, the clusters
//! it serves and the tenants it enforces.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{is_dns_label, load_yaml, parse_duration, relative_to, Error, Result};

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    /// Where the hub keeps its Git mirrors and its store.
    pub data_dir: PathBuf,
    pub listen: ListenConfig,
    pub tls: TlsFiles,
    /// PKCS#8 PEM file holding the hub's ed25519 bundle-signing key.
    pub signing_key: PathBuf,
    /// The platform repository: the one holding `clusters/<name>/`.
    pub source: SourceConfig,
    pub clusters: Vec<ClusterConfig>,
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    /// Lets GitRepository objects in the repositories use `file://` URLs (tests and local
    /// demos). Off: sources declared in Git are fetched over `https://` only.
    #[serde(default)]
    pub allow_file_sources: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// Address agents dial (mutual TLS, agent certificates).
    pub agents: SocketAddr,
    /// Address of the admin API (mutual TLS, admin certificates).
    pub admin: SocketAddr,
    /// Address of the plain-HTTP metrics endpoint (`/metrics`, `/healthz`); none when unset.
    #[serde(default)]
    pub metrics: Option<SocketAddr>,
}

/// PEM files for one side of a mutual-TLS connection.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// CA that peers' certificates must chain to.
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Name of the GitRepository the cluster trees refer to (Flux: `flux-system`).
    #[serde(default = "default_source_name")]
    pub name: String,
    #[serde(default = "default_source_name")]
    pub namespace: String,
    /// `file://`, `ssh://` or `https://` URL of the repository.
    pub url: String,
    #[serde(default = "default_branch")]
    pub branch: String,
    /// How often to fetch, as a Go duration (`1m`).
    #[serde(default = "default_interval")]
    pub interval: String,
    #[serde(default)]
    pub auth: GitAuth,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GitAuth {
    /// Private key file for `ssh://` URLs.
    pub ssh_key_file: Option<PathBuf>,
    /// OpenSSH `known_hosts` file holding the server's host key; required for `ssh://`.
    pub known_hosts_file: Option<PathBuf>,
    /// File holding a token for `https://` URLs (sent as the password).
    pub token_file: Option<PathBuf>,
    /// User name sent with the token; `git` by default.
    pub username: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    pub name: String,
    /// Path in the platform repository rendered for this cluster; `./clusters/<name>` by default.
    pub path: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Variables for `postBuild.substitute`; `cluster_name` is always set to `name`.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub name: String,
    /// Namespaces the tenant's units may write to.
    pub namespaces: Vec<String>,
    /// Service account a tenant unit gets when it names none.
    pub default_service_account: Option<String>,
    /// Clusters the tenant is on; empty means all.
    #[serde(default)]
    pub clusters: Vec<String>,
}

/// A branch name Git accepts in `refs/heads/<name>`, conservatively.
fn is_branch_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['-', '/', '.'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && name
            .chars()
            .all(|c| !c.is_control() && !" ~^:?*[\\".contains(c))
}

fn default_source_name() -> String {
    "flux-system".to_string()
}

fn default_branch() -> String {
    "main".to_string()
}

fn default_interval() -> String {
    "1m".to_string()
}

impl HubConfig {
    /// Loads and validates `path`; relative paths inside are taken from the file's folder.
    pub fn load(path: &Path) -> Result<Self> {
        let mut config: HubConfig = load_yaml(path)?;
        config.validate(path)?;
        config.resolve_paths(path);
        Ok(config)
    }

    pub fn validate(&self, path: &Path) -> Result<()> {
        if self.source.url.trim().is_empty() {
            return Err(Error::invalid(path, "source.url", "must not be empty"));
        }
        if let Some(rest) = self.source.url.strip_prefix("http://") {
            // Plain HTTP lets anyone on the path rewrite every cluster's configuration;
            // it is allowed only to this machine (tests, local mirrors).
            let host = rest.split(['/', ':']).next().unwrap_or_default();
            if !matches!(host, "127.0.0.1" | "localhost" | "[") {
                return Err(Error::invalid(
                    path,
                    "source.url",
                    format!(
                        "`{}` is plain HTTP: use https:// or ssh://",
                        self.source.url
                    ),
                ));
            }
        } else if !["file://", "ssh://", "https://"]
            .iter()
            .any(|scheme| self.source.url.starts_with(scheme))
        {
            return Err(Error::invalid(
                path,
                "source.url",
                format!(
                    "`{}` has no supported scheme: use file://, ssh:// or https://",
                    self.source.url
                ),
            ));
        }
        if self.source.url.starts_with("ssh://") && self.source.auth.known_hosts_file.is_none() {
            return Err(Error::invalid(
                path,
                "source.auth.known_hosts_file",
                "ssh:// sources need the server's host key: set a known_hosts file",
            ));
        }
        if !is_branch_name(&self.source.branch) {
            return Err(Error::invalid(
                path,
                "source.branch",
                format!("`{}` is not a valid branch name", self.source.branch),
            ));
        }
        if parse_duration(&self.source.interval).is_none_or(|d| d.is_zero()) {
            return Err(Error::invalid(
                path,
                "source.interval",
                format!(
                    "`{}` is not a positive duration such as 1m or 30s",
                    self.source.interval
                ),
            ));
        }
        if self.clusters.is_empty() {
            return Err(Error::invalid(
                path,
                "clusters",
                "register at least one cluster",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, cluster) in self.clusters.iter().enumerate() {
            if !is_dns_label(&cluster.name) {
                return Err(Error::invalid(
                    path,
                    format!("clusters[{i}].name"),
                    format!(
                        "`{}` is not a valid name: lowercase letters, digits and '-', at most 63",
                        cluster.name
                    ),
                ));
            }
            if !seen.insert(cluster.name.as_str()) {
                return Err(Error::invalid(
                    path,
                    format!("clusters[{i}].name"),
                    format!("cluster `{}` is registered twice", cluster.name),
                ));
            }
        }
        let mut tenants = BTreeSet::new();
        let mut owned_namespaces = BTreeSet::new();
        for (i, tenant) in self.tenants.iter().enumerate() {
            if !is_dns_label(&tenant.name) || !tenants.insert(tenant.name.as_str()) {
                return Err(Error::invalid(
                    path,
                    format!("tenants[{i}].name"),
                    format!("`{}` is not a valid, unique tenant name", tenant.name),
                ));
            }
            if let Some(unknown) = tenant.clusters.iter().find(|c| !seen.contains(c.as_str())) {
                return Err(Error::invalid(
                    path,
                    format!("tenants[{i}].clusters"),
                    format!("cluster `{unknown}` is not registered"),
                ));
            }
            if let Some(bad) = tenant.namespaces.iter().find(|ns| !is_dns_label(ns)) {
                return Err(Error::invalid(
                    path,
                    format!("tenants[{i}].namespaces"),
                    format!("`{bad}` is not a valid namespace name"),
                ));
            }
            if let Some(shared) = tenant
                .namespaces
                .iter()
                .find(|ns| !owned_namespaces.insert(ns.as_str()))
            {
                return Err(Error::invalid(
                    path,
                    format!("tenants[{i}].namespaces"),
                    format!("namespace `{shared}` already belongs to another tenant"),
                ));
            }
        }
        Ok(())
    }

    fn resolve_paths(&mut self, path: &Path) {
        self.data_dir = relative_to(path, &self.data_dir);
        self.signing_key = relative_to(path, &self.signing_key);
        self.tls.resolve_paths(path);
        if let Some(key) = &mut self.source.auth.ssh_key_file {
            *key = relative_to(path, key);
        }
        if let Some(token) = &mut self.source.auth.token_file {
            *token = relative_to(path, token);
        }
        if let Some(known_hosts) = &mut self.source.auth.known_hosts_file {
            *known_hosts = relative_to(path, known_hosts);
        }
    }

    pub fn cluster(&self, name: &str) -> Option<&ClusterConfig> {
        self.clusters.iter().find(|c| c.name == name)
    }
}

impl SourceConfig {
    /// The validated fetch interval.
    pub fn interval(&self) -> Duration {
        parse_duration(&self.interval).unwrap_or(Duration::from_secs(60))
    }
}

impl ClusterConfig {
    /// The path rendered for this cluster, without a leading `./`.
    pub fn root_path(&self) -> String {
        let path = self
            .path
            .clone()
            .unwrap_or_else(|| format!("clusters/{}", self.name));
        path.trim_start_matches("./")
            .trim_end_matches('/')
            .to_string()
    }

    /// Variables for substitution, with `cluster_name` set.
    pub fn substitutions(&self) -> BTreeMap<String, String> {
        let mut vars = self.variables.clone();
        vars.entry("cluster_name".to_string())
            .or_insert_with(|| self.name.clone());
        vars
    }
}

impl TlsFiles {
    pub(crate) fn resolve_paths(&mut self, config: &Path) {
        self.ca = relative_to(config, &self.ca);
        self.cert = relative_to(config, &self.cert);
        self.key = relative_to(config, &self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_yaml;

    const GOOD: &str = "\
data_dir: data
listen:
  agents: 127.0.0.1:7443
  admin: 127.0.0.1:7444
tls:
  ca: pki/ca.pem
  cert: pki/hub.pem
  key: pki/hub-key.pem
signing_key: pki/signing-key.pem
source:
  url: file:///srv/fleet
clusters:
  - name: cluster-1
    variables:
      region: eu
  - name: cluster-2
    path: ./clusters/two/
";

    fn load(text: &str) -> Result<HubConfig> {
        let path = Path::new("/etc/flotilla/hub.yaml");
        let mut config: HubConfig = parse_yaml(path, text)?;
        config.validate(path)?;
        config.resolve_paths(path);
        Ok(config)
    }

    #[test]
    fn defaults_and_relative_paths() {
        let config = load(GOOD).unwrap();
        assert_eq!(config.data_dir, Path::new("/etc/flotilla/data"));
        assert_eq!(config.tls.ca, Path::new("/etc/flotilla/pki/ca.pem"));
        assert_eq!(config.source.branch, "main");
        assert_eq!(config.source.name, "flux-system");
        assert_eq!(config.source.interval(), Duration::from_secs(60));
        assert_eq!(config.clusters[0].root_path(), "clusters/cluster-1");
        assert_eq!(config.clusters[1].root_path(), "clusters/two");
        let vars = config.clusters[0].substitutions();
        assert_eq!(vars["cluster_name"], "cluster-1");
        assert_eq!(vars["region"], "eu");
    }

    #[test]
    fn type_error_names_line_and_field() {
        let bad = GOOD.replace("  agents: 127.0.0.1:7443", "  agents: [1, 2]");
        let err = load(&bad).unwrap_err().to_string();
        assert!(err.starts_with("/etc/flotilla/hub.yaml: line 3"), "{err}");
        assert!(err.contains("field `listen.agents`"), "{err}");
    }

    #[test]
    fn unknown_field_is_refused() {
        let bad = GOOD.replace("    variables:", "    varables:");
        let err = load(&bad).unwrap_err().to_string();
        assert!(err.contains("varables"), "{err}");
        assert!(err.contains("line 14"), "{err}");
    }

    #[test]
    fn duplicate_cluster_is_refused() {
        let bad = GOOD.replace("cluster-2", "cluster-1");
        let err = load(&bad).unwrap_err().to_string();
        assert_eq!(
            err,
            "/etc/flotilla/hub.yaml: field `clusters[1].name`: cluster `cluster-1` is registered twice"
        );
    }

    #[test]
    fn bad_interval_and_scheme_are_refused() {
        let bad = GOOD.replace(
            "  url: file:///srv/fleet",
            "  url: file:///srv/fleet\n  interval: soon",
        );
        assert!(load(&bad)
            .unwrap_err()
            .to_string()
            .contains("source.interval"));
        let bad = GOOD.replace("file:///srv/fleet", "/srv/fleet");
        assert!(load(&bad)
            .unwrap_err()
            .to_string()
            .contains("no supported scheme"));
    }

    #[test]
    fn plain_http_bad_branches_and_shared_namespaces_are_refused() {
        let http = GOOD.replace("file:///srv/fleet", "http://git.example.com/fleet");
        assert!(load(&http).unwrap_err().to_string().contains("plain HTTP"));
        let local = GOOD.replace("file:///srv/fleet", "http://127.0.0.1:8080/fleet");
        assert!(load(&local).is_ok());
        let ssh = GOOD.replace("file:///srv/fleet", "ssh://git@git.example.com/fleet.git");
        assert!(load(&ssh)
            .unwrap_err()
            .to_string()
            .contains("source.auth.known_hosts_file"));
        for branch in ["a..b", "-x", "a b", "x:y", "main.lock", ""] {
            let bad = GOOD.replace(
                "  url: file:///srv/fleet",
                &format!("  url: file:///srv/fleet\n  branch: \"{branch}\""),
            );
            let err = load(&bad).unwrap_err().to_string();
            assert!(err.contains("source.branch"), "{branch}: {err}");
        }
        let shared = format!("{GOOD}tenants:\n  - name: a\n    namespaces: [apps]\n  - name: b\n    namespaces: [apps]\n");
        let err = load(&shared).unwrap_err().to_string();
        assert!(
            err.contains("tenants[1].namespaces") && err.contains("another tenant"),
            "{err}"
        );
    }

    #[test]
    fn tenant_on_unknown_cluster_is_refused() {
        let bad = format!("{GOOD}tenants:\n  - name: team-a\n    namespaces: [team-a]\n    clusters: [cluster-9]\n");
        let err = load(&bad).unwrap_err().to_string();
        assert!(
            err.contains("tenants[0].clusters") && err.contains("cluster-9"),
            "{err}"
        );
    }
}
