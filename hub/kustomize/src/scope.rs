//! Which built-in kinds are cluster-scoped: as Kubernetes has them (for policy), and as
//! kubectl's kustomize believes (its bundled schema predates the newer cluster-scoped
//! kinds, which it therefore treats as namespaced). Unknown kinds (custom resources) are
//! namespaced in both.

use crate::openapi::OpenApi;
use crate::resource::Gvk;
use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    /// The custom schema of the build running on this thread, for the scopes its API paths
    /// declare. kubectl's schema is global to a build; this is global to one build, as a
    /// build runs on one thread.
    static BUILD_SCHEMA: RefCell<Option<Arc<OpenApi>>> = const { RefCell::new(None) };
}

/// Starts a build on this thread: no custom schema until [`use_build_schema`]; the guard
/// restores what was set before when the build ends.
pub(crate) fn enter_build() -> BuildSchemaGuard {
    BuildSchemaGuard(BUILD_SCHEMA.with(|s| s.replace(None)))
}

/// Sets the custom schema of the build on this thread.
pub(crate) fn use_build_schema(api: Option<Arc<OpenApi>>) {
    BUILD_SCHEMA.with(|s| *s.borrow_mut() = api);
}

/// Restores the schema that was set before, when dropped.
pub(crate) struct BuildSchemaGuard(Option<Arc<OpenApi>>);

impl Drop for BuildSchemaGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        BUILD_SCHEMA.with(|s| *s.borrow_mut() = previous);
    }
}

const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "ComponentStatus"),
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("authentication.k8s.io", "TokenReview"),
    ("authentication.k8s.io", "SelfSubjectReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("certificates.k8s.io", "ClusterTrustBundle"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("internal.apiserver.k8s.io", "StorageVersion"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "IPAddress"),
    ("networking.k8s.io", "ServiceCIDR"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("extensions", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceSlice"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("storage.k8s.io", "VolumeAttributesClass"),
    ("storagemigration.k8s.io", "StorageVersionMigration"),
];

/// The group/version/kinds kubectl's kustomize knows to be cluster-scoped: the
/// cluster-scoped entries of its bundled schema, matched by exact group, version and
/// kind. Any other version of these kinds (and every other kind) is namespaced to it.
const KUSTOMIZE_CLUSTER_SCOPED: &[(&str, &str, &str)] = &[
    ("", "v1", "ComponentStatus"),
    ("", "v1", "Namespace"),
    ("", "v1", "Node"),
    ("", "v1", "NodeProxyOptions"),
    ("", "v1", "PersistentVolume"),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "v1beta1",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "v1beta1",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
    (
        "apiextensions.k8s.io",
        "v1beta1",
        "CustomResourceDefinition",
    ),
    ("apiregistration.k8s.io", "v1", "APIService"),
    ("apiregistration.k8s.io", "v1beta1", "APIService"),
    ("certificates.k8s.io", "v1", "CertificateSigningRequest"),
    (
        "certificates.k8s.io",
        "v1beta1",
        "CertificateSigningRequest",
    ),
    ("flowcontrol.apiserver.k8s.io", "v1beta1", "FlowSchema"),
    (
        "flowcontrol.apiserver.k8s.io",
        "v1beta1",
        "PriorityLevelConfiguration",
    ),
    ("networking.k8s.io", "v1", "IngressClass"),
    ("networking.k8s.io", "v1beta1", "IngressClass"),
    ("node.k8s.io", "v1", "RuntimeClass"),
    ("node.k8s.io", "v1beta1", "RuntimeClass"),
    ("policy", "v1beta1", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole"),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io", "v1beta1", "ClusterRole"),
    ("rbac.authorization.k8s.io", "v1beta1", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "v1", "PriorityClass"),
    ("scheduling.k8s.io", "v1beta1", "PriorityClass"),
    ("storage.k8s.io", "v1", "CSIDriver"),
    ("storage.k8s.io", "v1", "CSINode"),
    ("storage.k8s.io", "v1", "StorageClass"),
    ("storage.k8s.io", "v1", "VolumeAttachment"),
    ("storage.k8s.io", "v1beta1", "CSIDriver"),
    ("storage.k8s.io", "v1beta1", "CSINode"),
    ("storage.k8s.io", "v1beta1", "StorageClass"),
    ("storage.k8s.io", "v1beta1", "VolumeAttachment"),
];

/// Whether objects of this kind have no namespace in a Kubernetes cluster.
pub fn is_cluster_scoped(gvk: &Gvk) -> bool {
    CLUSTER_SCOPED
        .iter()
        .any(|(g, k)| *g == gvk.group && *k == gvk.kind)
}

/// Whether kubectl's kustomize treats objects of this kind as cluster-scoped: what the
/// engine uses, so a `namespace:` lands where kubectl puts it.
pub(crate) fn kustomize_cluster_scoped(gvk: &Gvk) -> bool {
    kustomize_cluster_scoped_gvk(&gvk.group, &gvk.version, &gvk.kind)
}

/// [`kustomize_cluster_scoped`] by group, version and kind, without building a `Gvk`.
/// A kind the bundled schema does not know is cluster-scoped where the build's custom
/// schema says so.
pub(crate) fn kustomize_cluster_scoped_gvk(group: &str, version: &str, kind: &str) -> bool {
    if KUSTOMIZE_CLUSTER_SCOPED
        .iter()
        .any(|(g, v, k)| *k == kind && *v == version && *g == group)
    {
        return true;
    }
    BUILD_SCHEMA.with(|s| {
        let s = s.borrow();
        let Some(api) = s.as_ref() else {
            return false;
        };
        if crate::transform::bundled_knows_gvk(group, version, kind) {
            return false;
        }
        let api_version = crate::resource::join_api_version(group, version);
        api.cluster_scoped(&api_version, kind).unwrap_or(false)
    })
}
