//! The example configurations shipped in config/examples/ load and validate, so the docs
//! never drift from the loader.

use std::path::Path;

use flotilla_config::{AgentConfig, HubConfig};

#[test]
fn example_hub_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hub.yaml");
    let config = HubConfig::load(&path).unwrap();
    assert_eq!(config.clusters.len(), 2);
    assert_eq!(config.clusters[0].root_path(), "clusters/cluster-1");
    assert_eq!(config.tenants[0].namespaces, ["team-a"]);
    assert!(config.tls.ca.ends_with("examples/pki/ca.pem"));
}

#[test]
fn example_agent_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/agent.yaml");
    let config = AgentConfig::load(&path).unwrap();
    assert_eq!(config.cluster, "cluster-1");
    assert!(config.kubeconfig.is_none());
}
