//! Test support: bundle and object builders, signing with a generated key, and a
//! sandbox-backed cluster. Test code only; never used by the agent itself.

#![allow(dead_code)]

pub mod hub;
pub mod pki;

use std::path::Path;

use flotilla_agent::apply::Applier;
use flotilla_agent::cluster::Cluster;
use flotilla_agent::state::State;
use flotilla_sandbox::Sandbox;

use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer, SigningKey};
use flotilla_proto::key_id;
use flotilla_proto::{Bundle, SignedBundle, Unit};
use prost::Message;
use serde_json::{json, Value};

/// Installs the rustls provider and a test log writer (`RUST_LOG` to see the agent's logs).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

pub fn config_map(namespace: &str, name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"value": value}})
}

pub fn deployment(namespace: &str, name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]}}}})
}

pub fn unit(name: &str, objects: &[Value]) -> Unit {
    Unit {
        name: name.into(),
        namespace: "flux-system".into(),
        revision: "main@sha1:0001".into(),
        path: format!("./{name}"),
        prune: true,
        objects: objects.iter().map(Value::to_string).collect(),
        ..Unit::default()
    }
}

pub fn bundle(cluster: &str, generation: u64, units: Vec<Unit>) -> Bundle {
    Bundle {
        cluster: cluster.into(),
        generation,
        revision: format!("main@sha1:{generation:04}"),
        units,
    }
}

pub fn signing_key(pkcs8_pem: &str) -> SigningKey {
    SigningKey::from_pkcs8_pem(pkcs8_pem).expect("test signing key")
}

pub fn sign(key: &SigningKey, bundle: &Bundle) -> SignedBundle {
    let payload = bundle.encode_to_vec();
    SignedBundle {
        signature: key.sign(&payload).to_bytes().to_vec(),
        payload,
        key_id: key_id(key.verifying_key().as_bytes()),
    }
}

/// The object's field managers, from `metadata.managedFields`.
pub fn managers(object: &Value) -> Vec<String> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| f["manager"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents).expect("write test file");
}

/// Deletes an object through the API server, as someone other than the agent would.
pub async fn delete_behind_the_agents_back(
    kubeconfig: &Path,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) {
    use kube::api::{Api, DynamicObject};
    use kube::core::GroupVersionKind;
    use kube::discovery::ApiResource;
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &resource);
    api.delete(name, &Default::default()).await.unwrap();
}

/// An applier for `sandbox`, keeping its state (and the kubeconfig) in `dir`; a second
/// call on the same `dir` is the agent after a restart.
pub async fn applier(sandbox: &Sandbox, dir: &Path) -> Applier {
    install_crypto();
    let kubeconfig = dir.join("kubeconfig");
    sandbox.write_kubeconfig(&kubeconfig).unwrap();
    let cluster = Cluster::connect(Some(&kubeconfig)).await.unwrap();
    let state = State::open(&dir.join("state")).await.unwrap();
    Applier::new(cluster, state)
}

/// A fresh sandbox, a state folder, and an applier over both.
pub async fn sandboxed_applier() -> (Sandbox, tempfile::TempDir, Applier) {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let applier = applier(&sandbox, dir.path()).await;
    (sandbox, dir, applier)
}
