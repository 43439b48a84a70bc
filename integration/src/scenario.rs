//! The seed scenario: a Flux-layout repository with one app, `sample`, delivered to every
//! cluster, its Pod labelled with the cluster's name through `postBuild.substitute`.

use anyhow::Result;

use crate::gitfix::GitRepo;

pub const NAMESPACE: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: sample
";

/// The Pod with its image as a parameter, so tests can commit a new one.
pub fn pod(image: &str) -> String {
    format!(
        "\
apiVersion: v1
kind: Pod
metadata:
  name: sample
  namespace: sample
  labels:
    cluster: ${{cluster_name}}
spec:
  containers:
    - name: nginx
      image: {image}
      ports:
        - containerPort: 80
"
    )
}

pub const CONFIG_MAP: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: sample-settings
  namespace: sample
data:
  greeting: hello
";

/// `clusters/<cluster>/sample.yaml`: the Flux Kustomization pointing at `apps/sample`.
pub fn kustomization(cluster: &str) -> String {
    format!(
        "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: sample
  namespace: flux-system
spec:
  interval: 1m
  path: ./apps/sample
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  postBuild:
    substitute:
      cluster_name: {cluster}
"
    )
}

/// Kustomization of `apps/sample` listing `resources`.
pub fn app_kustomization(resources: &[&str]) -> String {
    let mut text = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for resource in resources {
        text.push_str(&format!("  - {resource}\n"));
    }
    text
}

/// Writes and commits the seed repository for `clusters`; returns the commit id.
pub fn write_seed(repo: &GitRepo, clusters: &[String]) -> Result<String> {
    for cluster in clusters {
        repo.write(
            &format!("clusters/{cluster}/sample.yaml"),
            &kustomization(cluster),
        )?;
    }
    repo.write(
        "apps/sample/kustomization.yaml",
        &app_kustomization(&["namespace.yaml", "pod.yaml"]),
    )?
    .write("apps/sample/namespace.yaml", NAMESPACE)?
    .write("apps/sample/pod.yaml", &pod("nginx:1.27"))?
    .commit("Add the sample app for every cluster")
}
