//! Tenant policy: what a unit that lives in a tenant's namespace may hold.
//!
//! A tenant's unit must be applied as a service account (its own or the tenant's default),
//! may only use sources in its own namespace, may only hold namespaced objects in the
//! tenant's namespaces, and may only declare Kustomizations and GitRepositories there. A
//! violation fails that unit with a message naming the object and the rule; other units
//! still ship. Pure: values in, a verdict out. The agent's impersonation of the unit's
//! service account, checked by the cluster's RBAC, is the second line behind this one.

use flotilla_config::TenantConfig;
use flotilla_kustomize::{is_cluster_scoped, Gvk};
use serde_json::Value;

use crate::resolve::describe;

/// The service account a tenant unit runs as: its own, or the tenant's default.
pub fn service_account(tenant: &TenantConfig, declared: &str) -> Result<String, String> {
    if !declared.is_empty() {
        return Ok(declared.to_string());
    }
    tenant.default_service_account.clone().ok_or_else(|| {
        format!(
            "tenant `{}`: spec.serviceAccountName is required (the tenant has no default_service_account)",
            tenant.name
        )
    })
}

/// A tenant unit may only read sources in its own namespace.
pub fn check_source(
    tenant: &TenantConfig,
    unit_namespace: &str,
    source_namespace: &str,
) -> Result<(), String> {
    if source_namespace == unit_namespace {
        return Ok(());
    }
    Err(format!(
        "tenant `{}`: spec.sourceRef must be in the unit's own namespace `{unit_namespace}`, not `{source_namespace}`",
        tenant.name
    ))
}

/// Every object a tenant unit ships or declares must be namespaced and in one of the
/// tenant's namespaces.
pub fn check_object(tenant: &TenantConfig, object: &Value) -> Result<(), String> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    if is_cluster_scoped(&Gvk::from_api_version(api_version, kind)) {
        return Err(format!(
            "{}: tenant `{}` may not hold cluster-scoped objects",
            describe(object),
            tenant.name
        ));
    }
    check_namespace(
        tenant,
        &describe(object),
        object["metadata"]["namespace"].as_str(),
    )
}

/// A Kustomization or GitRepository a tenant unit declares must stay in its namespaces.
pub fn check_namespace(
    tenant: &TenantConfig,
    what: &str,
    namespace: Option<&str>,
) -> Result<(), String> {
    match namespace {
        Some(ns) if tenant.namespaces.iter().any(|allowed| allowed == ns) => Ok(()),
        Some(ns) => Err(format!(
            "{what}: namespace `{ns}` is not one of tenant `{}`'s namespaces ({})",
            tenant.name,
            tenant.namespaces.join(", ")
        )),
        None => Err(format!(
            "{what}: a tenant object must name one of tenant `{}`'s namespaces ({})",
            tenant.name,
            tenant.namespaces.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tenant() -> TenantConfig {
        TenantConfig {
            name: "team-a".into(),
            namespaces: vec!["team-a".into(), "team-a-jobs".into()],
            default_service_account: None,
            clusters: vec![],
        }
    }

    fn check(object: Value, expected: Result<(), &str>) {
        assert_eq!(
            check_object(&tenant(), &object),
            expected.map_err(str::to_string)
        );
    }

    #[test]
    fn objects_must_be_namespaced_in_the_tenants_namespaces() {
        let cm = |ns: Option<&str>| {
            let mut object =
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}});
            if let Some(ns) = ns {
                object["metadata"]["namespace"] = json!(ns);
            }
            object
        };
        check(cm(Some("team-a")), Ok(()));
        check(cm(Some("team-a-jobs")), Ok(()));
        check(
            cm(Some("kube-system")),
            Err("v1 ConfigMap kube-system/web: namespace `kube-system` is not one of tenant `team-a`'s namespaces (team-a, team-a-jobs)"),
        );
        check(
            cm(None),
            Err("v1 ConfigMap web: a tenant object must name one of tenant `team-a`'s namespaces (team-a, team-a-jobs)"),
        );
        check(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "admin"}}),
            Err("rbac.authorization.k8s.io/v1 ClusterRoleBinding admin: tenant `team-a` may not hold cluster-scoped objects"),
        );
        check(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
            Err("v1 Namespace team-a: tenant `team-a` may not hold cluster-scoped objects"),
        );
    }

    #[test]
    fn service_account_falls_back_to_the_tenant_default() {
        let mut tenant = tenant();
        assert!(service_account(&tenant, "")
            .unwrap_err()
            .contains("serviceAccountName is required"));
        assert_eq!(service_account(&tenant, "deployer").unwrap(), "deployer");
        tenant.default_service_account = Some("reconciler".into());
        assert_eq!(service_account(&tenant, "").unwrap(), "reconciler");
    }

    #[test]
    fn sources_must_be_in_the_units_namespace() {
        assert!(check_source(&tenant(), "team-a", "team-a").is_ok());
        let err = check_source(&tenant(), "team-a", "flux-system").unwrap_err();
        assert!(
            err.contains("own namespace `team-a`, not `flux-system`"),
            "{err}"
        );
    }
}
