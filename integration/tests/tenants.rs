//! A tenant's own repository, declared in the platform tree as a GitRepository, reaches
//! its cluster through the hub, applied as the tenant's service account, and the tenant
//! policy keeps it inside its namespace.

use std::time::Duration;

use flotilla_config::TenantConfig;
use flotilla_integration::{Fleet, FleetOptions, GitRepo};
use flotilla_proto::ListSourcesRequest;

const WAIT: Duration = Duration::from_secs(60);

/// What the platform team commits to onboard team-a on cluster-1.
fn onboarding(tenant_url: &str) -> String {
    format!(
        "\
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: deployer
  namespace: team-a
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: deployer-edit
  namespace: team-a
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: edit
subjects:
  - kind: ServiceAccount
    name: deployer
    namespace: team-a
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: team-a
  namespace: team-a
spec:
  interval: 1m
  url: {tenant_url}
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: team-a
spec:
  interval: 1m
  path: ./apps
  prune: true
  targetNamespace: team-a
  sourceRef:
    kind: GitRepository
    name: team-a
"
    )
}

const WEB: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  color: blue
";

const TAKE_OVER: &str = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: take-over
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: deployer
    namespace: team-a
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_repository_is_applied_as_the_tenant_and_kept_in_its_namespace(
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let tenant = GitRepo::init(&dir.path().join("team-a-repo"))?;
    tenant.write("apps/web.yaml", WEB)?;
    tenant.commit("team-a: web settings")?;

    let options = FleetOptions {
        interval: "1h".to_string(),
        tenants: vec![TenantConfig {
            name: "team-a".to_string(),
            namespaces: vec!["team-a".to_string()],
            default_service_account: Some("deployer".to_string()),
            clusters: vec!["cluster-1".to_string()],
        }],
        ..FleetOptions::default()
    };
    let fleet = Fleet::start_ready(&dir.path().join("fleet"), options).await?;
    fleet
        .repo
        .write("clusters/cluster-1/team-a.yaml", &onboarding(&tenant.url()))?;
    fleet.repo.commit("Onboard team-a on cluster-1")?;
    fleet.reconcile().await?;

    let list = fleet
        .wait_for(WAIT, |list| {
            list.iter().any(|k| k.name == "apps" && k.ready == "True")
        })
        .await?;
    let apps = list.iter().find(|k| k.name == "apps").expect("listed");
    assert_eq!(
        (apps.cluster.as_str(), apps.tenant.as_str()),
        ("cluster-1", "team-a")
    );
    assert!(apps.revision.starts_with("main@sha1:"), "{}", apps.revision);
    let web = fleet.sandboxes["cluster-1"]
        .store()
        .get("v1", "ConfigMap", Some("team-a"), "web")
        .expect("tenant object applied");
    assert_eq!(web["data"]["color"], "blue");
    assert!(fleet.sandboxes["cluster-2"]
        .store()
        .get("v1", "Namespace", None, "team-a")
        .is_none());

    let mut admin = fleet.admin().await?;
    let sources = admin
        .list_sources(ListSourcesRequest {})
        .await?
        .into_inner()
        .sources;
    let team = sources
        .iter()
        .find(|s| s.name == "team-a")
        .expect("declared source listed");
    assert_eq!(
        (team.namespace.as_str(), team.ready.as_str()),
        ("team-a", "True")
    );

    // The tenant reaches for a cluster-wide role: the unit fails, nothing is pruned, and the
    // platform's units carry on.
    tenant.write("apps/take-over.yaml", TAKE_OVER)?;
    tenant.commit("team-a: cluster-admin for us")?;
    fleet.reconcile().await?;
    let list = fleet
        .wait_for(WAIT, |list| {
            list.iter().any(|k| k.name == "apps" && k.ready == "False")
        })
        .await?;
    let apps = list.iter().find(|k| k.name == "apps").expect("listed");
    assert!(
        apps.message.contains(
            "ClusterRoleBinding take-over: tenant `team-a` may not hold cluster-scoped objects"
        ),
        "{}",
        apps.message
    );
    let store = fleet.sandboxes["cluster-1"].store();
    assert!(store
        .get("v1", "ConfigMap", Some("team-a"), "web")
        .is_some());
    assert!(store
        .get(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            None,
            "take-over"
        )
        .is_none());
    assert!(list
        .iter()
        .filter(|k| k.name == "sample")
        .all(|k| k.ready == "True"));

    // Sources declared in Git are fetched anonymously over https:// (or file:// where the
    // hub allows it), never with the platform's credentials over other schemes; and a
    // changed URL is never served the old repository's content.
    let ssh = onboarding("ssh://git@git.example.com/team-a.git");
    fleet.repo.write("clusters/cluster-1/team-a.yaml", &ssh)?;
    fleet.repo.commit("Move team-a to SSH")?;
    fleet.reconcile().await?;
    let list = fleet
        .wait_for(WAIT, |list| {
            list.iter()
                .any(|k| k.name == "apps" && k.message.contains("is not allowed"))
        })
        .await?;
    let apps = list.iter().find(|k| k.name == "apps").expect("listed");
    assert!(
        apps.message
            .contains("GitRepository team-a/team-a is not ready"),
        "{}",
        apps.message
    );
    fleet.shutdown().await
}
