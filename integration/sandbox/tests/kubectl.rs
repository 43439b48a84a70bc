//! The sandbox driven by the real `kubectl` (skipped, with a notice, when it is not on PATH):
//! server-side apply, get -o yaml, label drop, delete namespace, impersonation with RBAC,
//! `auth can-i`.

use std::path::{Path, PathBuf};

use flotilla_sandbox::Sandbox;
use tokio::process::Command;

struct Kubectl {
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

/// Output of one kubectl run.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    /// None (after printing why) when kubectl is not installed.
    async fn new(sb: &Sandbox) -> Option<Kubectl> {
        if Command::new("kubectl")
            .args(["version", "--client"])
            .output()
            .await
            .is_err()
        {
            eprintln!("kubectl not found on PATH: skipping the kubectl tests");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        sb.write_kubeconfig(&kubeconfig).unwrap();
        Some(Kubectl {
            kubeconfig,
            _dir: dir,
        })
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self
            .kubeconfig
            .parent()
            .unwrap_or(Path::new("."))
            .join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    async fn run(&self, args: &[&str]) -> Run {
        let out = Command::new("kubectl")
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.kubeconfig.parent().unwrap_or(Path::new(".")))
            .args(args)
            .output()
            .await
            .unwrap();
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args).await;
        assert!(r.ok, "kubectl {args:?} failed: {}", r.stderr);
        r.stdout
    }
}

const MANIFESTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: team-a
  labels:
    app: web
    tier: front
data:
  key: value
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: team-a
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

const WIDGET: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: team-a}
spec: {size: 3}
"#;

#[tokio::test]
async fn kubectl_server_side_apply_get_label_drop_and_delete_namespace() {
    let sb = Sandbox::start().await.unwrap();
    let Some(k) = Kubectl::new(&sb).await else {
        return;
    };
    let all = k.file("all.yaml", MANIFESTS);
    let out = k
        .ok(&["apply", "--server-side", "-f", all.to_str().unwrap()])
        .await;
    assert!(
        out.contains("deployment.apps/web serverside-applied"),
        "{out}"
    );
    let widget = k.file("widget.yaml", WIDGET);
    k.ok(&["apply", "--server-side", "-f", widget.to_str().unwrap()])
        .await;
    assert!(k.ok(&["get", "wd", "-n", "team-a"]).await.contains("w1"));

    let yaml = k
        .ok(&[
            "get",
            "configmap",
            "settings",
            "-n",
            "team-a",
            "-o",
            "yaml",
            "--show-managed-fields",
        ])
        .await;
    for needle in [
        "uid:",
        "resourceVersion:",
        "creationTimestamp:",
        "manager: kubectl",
        "operation: Apply",
        "f:tier: {}",
    ] {
        assert!(yaml.contains(needle), "{needle} in {yaml}");
    }

    let dropped = k.file("dropped.yaml", &MANIFESTS.replace("    tier: front\n", ""));
    k.ok(&["apply", "--server-side", "-f", dropped.to_str().unwrap()])
        .await;
    let labels = k
        .ok(&[
            "get",
            "cm",
            "settings",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.metadata.labels}",
        ])
        .await;
    assert_eq!(labels, r#"{"app":"web"}"#);

    k.ok(&[
        "patch",
        "cm",
        "settings",
        "-n",
        "team-a",
        "--type=merge",
        "-p",
        r#"{"data":{"key":"edited"}}"#,
    ])
    .await;
    let conflict = k
        .run(&["apply", "--server-side", "-f", dropped.to_str().unwrap()])
        .await;
    assert!(
        !conflict.ok && conflict.stderr.contains("conflict with \"kubectl-patch\""),
        "{}",
        conflict.stderr
    );
    k.ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        dropped.to_str().unwrap(),
    ])
    .await;

    k.ok(&["delete", "namespace", "team-a"]).await;
    let left = k.run(&["get", "cm", "settings", "-n", "team-a"]).await;
    assert!(
        !left.ok && left.stderr.contains("NotFound"),
        "{}",
        left.stderr
    );
    assert!(sb
        .store()
        .get("example.com/v1", "Widget", Some("team-a"), "w1")
        .is_none());
}

#[tokio::test]
async fn kubectl_impersonated_service_account_is_forbidden_until_bound() {
    let sb = Sandbox::start().await.unwrap();
    let Some(k) = Kubectl::new(&sb).await else {
        return;
    };
    k.ok(&["create", "namespace", "team-a"]).await;
    k.ok(&["create", "namespace", "team-b"]).await;
    let sa = "--as=system:serviceaccount:team-a:deployer";
    let denied = k
        .run(&[sa, "create", "configmap", "x", "-n", "team-b"])
        .await;
    assert!(!denied.ok);
    assert!(
        denied.stderr.contains(
            r#"configmaps is forbidden: User "system:serviceaccount:team-a:deployer" cannot create resource "configmaps" in API group "" in the namespace "team-b""#
        ),
        "{}",
        denied.stderr
    );
    assert!(
        !k.run(&[sa, "create", "configmap", "x", "-n", "team-a"])
            .await
            .ok
    );
    let can_i = ["auth", "can-i", "create", "configmaps", "-n", "team-a", sa];
    assert_eq!(k.run(&can_i).await.stdout.trim(), "no");

    k.ok(&[
        "create",
        "role",
        "deployer",
        "-n",
        "team-a",
        "--verb=create,get,list",
        "--resource=configmaps",
    ])
    .await;
    k.ok(&[
        "create",
        "rolebinding",
        "deployer",
        "-n",
        "team-a",
        "--role=deployer",
        "--serviceaccount=team-a:deployer",
    ])
    .await;
    assert_eq!(k.ok(&can_i).await.trim(), "yes");
    k.ok(&[
        sa,
        "create",
        "configmap",
        "x",
        "-n",
        "team-a",
        "--from-literal=a=b",
    ])
    .await;
    assert!(
        !k.run(&[sa, "create", "configmap", "x", "-n", "team-b"])
            .await
            .ok
    );
    let got = k
        .ok(&[
            sa,
            "get",
            "configmap",
            "x",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.a}",
        ])
        .await;
    assert_eq!(got, "b");
    let cm = sb
        .store()
        .get("v1", "ConfigMap", Some("team-a"), "x")
        .unwrap();
    assert_eq!(
        cm["metadata"]["managedFields"][0]["manager"],
        "kubectl-create"
    );
}
