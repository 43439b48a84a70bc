//! The subset of Flux's custom resources that Flotilla reads from a repository:
//! `Kustomization` (kustomize.toolkit.fluxcd.io/v1) and `GitRepository`
//! (source.toolkit.fluxcd.io/v1). Fields Flotilla does not interpret are ignored, as the
//! Kubernetes API server would keep them; fields it does interpret are typed.

use std::collections::BTreeMap;

use serde::Deserialize;

pub const KUSTOMIZATION_GROUP: &str = "kustomize.toolkit.fluxcd.io";
pub const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Kustomization {
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: KustomizationSpec,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    #[serde(default)]
    pub path: Option<String>,
    pub source_ref: CrossNamespaceSourceReference,
    #[serde(default)]
    pub prune: bool,
    #[serde(default)]
    pub suspend: bool,
    #[serde(default)]
    pub wait: bool,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub target_namespace: Option<String>,
    #[serde(default)]
    pub service_account_name: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<DependencyReference>,
    #[serde(default)]
    pub post_build: Option<PostBuild>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    #[serde(default)]
    pub api_version: Option<String>,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    #[serde(default)]
    pub substitute: BTreeMap<String, String>,
    #[serde(default)]
    pub substitute_from: Vec<SubstituteReference>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SubstituteReference {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub optional: bool,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitRepository {
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: GitRepositorySpec,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    pub url: String,
    #[serde(default, rename = "ref")]
    pub reference: Option<GitRepositoryRef>,
    #[serde(default)]
    pub interval: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryRef {
    #[serde(default)]
    pub branch: Option<String>,
}

/// The API group of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}
