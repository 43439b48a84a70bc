//! The Kubernetes manifests under deploy/ are objects an API server accepts: each document
//! is applied server-side to a sandbox through discovery, as `kubectl apply` would.

use std::path::Path;

use flotilla_sandbox::Sandbox;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use serde::Deserialize;

async fn apply_file(
    client: &kube::Client,
    discovery: &Discovery,
    file: &Path,
) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(file)?;
    let mut applied = Vec::new();
    for document in serde_norway::Deserializer::from_str(&text) {
        let object = DynamicObject::deserialize(document)?;
        let types = object
            .types
            .clone()
            .ok_or_else(|| anyhow::anyhow!("{}: object without apiVersion/kind", file.display()))?;
        let gvk = GroupVersionKind::try_from(&types)?;
        let (resource, capabilities) = discovery
            .resolve_gvk(&gvk)
            .ok_or_else(|| anyhow::anyhow!("{}: {} is not served", file.display(), types.kind))?;
        let name = object.metadata.name.clone().unwrap_or_default();
        let api: Api<DynamicObject> = match capabilities.scope {
            Scope::Namespaced => {
                let namespace = object
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| "default".to_string());
                Api::namespaced_with(client.clone(), &namespace, &resource)
            }
            Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        api.patch(
            &name,
            &PatchParams::apply("deploy-test").force(),
            &Patch::Apply(&object),
        )
        .await
        .map_err(|err| anyhow::anyhow!("{}: {} {name}: {err}", file.display(), types.kind))?;
        applied.push(format!("{} {name}", types.kind));
    }
    Ok(applied)
}

#[tokio::test]
async fn deploy_manifests_apply_to_an_api_server() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sandbox = Sandbox::start().await?;
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&sandbox.kubeconfig_yaml())?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    let client = kube::Client::try_from(config)?;
    let discovery = Discovery::new(client.clone()).run().await?;
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let hub = apply_file(&client, &discovery, &deploy.join("hub.yaml")).await?;
    assert!(
        hub.contains(&"Deployment flotilla-hub".to_string()),
        "{hub:?}"
    );
    let agent = apply_file(&client, &discovery, &deploy.join("agent.yaml")).await?;
    assert!(
        agent.contains(&"ClusterRoleBinding flotilla-agent".to_string()),
        "{agent:?}"
    );
    let deployment = sandbox
        .store()
        .get(
            "apps/v1",
            "Deployment",
            Some("flotilla-system"),
            "flotilla-agent",
        )
        .expect("agent deployment stored");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        "flotilla-agent"
    );
    Ok(())
}
