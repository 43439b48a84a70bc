use super::*;
use flotilla_config::TenantConfig;

const SAMPLE_KS: &str = "\
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
      greeting: hello
";

const POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: sample
  namespace: sample
  labels:
    cluster: ${cluster_name}
    greeting: ${greeting}
spec:
  containers:
    - name: nginx
      image: nginx:1.27
";

fn repo() -> MemFs {
    MemFs::new()
        .with_file("clusters/cluster-1/sample.yaml", SAMPLE_KS)
        .with_file(
            "apps/sample/kustomization.yaml",
            "resources:\n  - namespace.yaml\n  - pod.yaml\n",
        )
        .with_file(
            "apps/sample/namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: sample\n",
        )
        .with_file("apps/sample/pod.yaml", POD)
}

fn platform() -> SourceKey {
    SourceKey {
        namespace: "flux-system".into(),
        name: "flux-system".into(),
    }
}

fn cluster(name: &str) -> ClusterConfig {
    ClusterConfig {
        name: name.into(),
        path: None,
        labels: Default::default(),
        variables: Default::default(),
    }
}

fn ready(revision: &str, fs: MemFs) -> SourceState {
    SourceState::Ready {
        revision: revision.into(),
        fs: Arc::new(fs),
    }
}

/// The one place the tests call `resolve`.
fn run(
    sources: &BTreeMap<SourceKey, SourceState>,
    cluster_name: &str,
    tenants: &[TenantConfig],
    previous: &[Unit],
    cache: Option<&flotilla_kustomize::Cache>,
) -> Resolution {
    let cluster = cluster(cluster_name);
    resolve(&Input {
        cluster: &cluster,
        platform: &platform(),
        sources,
        tenants,
        previous,
        cache,
        suspended: &BTreeSet::new(),
    })
}

fn resolve_with(fs: MemFs, cluster_name: &str) -> Resolution {
    let sources = BTreeMap::from([(platform(), ready("main@sha1:0123", fs))]);
    run(&sources, cluster_name, &[], &[], None)
}

fn objects(unit: &Unit) -> Vec<Value> {
    unit.objects
        .iter()
        .map(|o| serde_json::from_str(o).unwrap())
        .collect()
}

#[test]
fn seed_tree_becomes_root_and_sample_units() {
    let resolution = resolve_with(repo(), "cluster-1");
    let names: Vec<_> = resolution.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["flux-system", "sample"]);
    let root = &resolution.units[0];
    assert_eq!(root.error, "");
    // The Kustomization object itself is not shipped.
    assert!(root.objects.is_empty(), "{:?}", root.objects);

    let sample = &resolution.units[1];
    assert_eq!(sample.error, "");
    assert_eq!(sample.revision, "main@sha1:0123");
    assert!(sample.prune);
    assert_eq!(sample.path, "./apps/sample");
    let objects = objects(sample);
    let pod = objects.iter().find(|o| o["kind"] == "Pod").unwrap();
    assert_eq!(pod["metadata"]["labels"]["cluster"], "cluster-1");
    assert_eq!(pod["metadata"]["labels"]["greeting"], "hello");
    assert_eq!(
        pod["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"],
        "sample"
    );
}

#[test]
fn each_cluster_gets_its_own_variables() {
    let fs = repo().with_file("clusters/cluster-2/sample.yaml", SAMPLE_KS);
    let resolution = resolve_with(fs, "cluster-2");
    let pod = objects(&resolution.units[1])
        .into_iter()
        .find(|o| o["kind"] == "Pod")
        .unwrap();
    assert_eq!(pod["metadata"]["labels"]["cluster"], "cluster-2");
}

#[test]
fn missing_path_fails_only_that_unit() {
    let broken = SAMPLE_KS
        .replace("name: sample", "name: broken")
        .replace("./apps/sample", "./apps/missing");
    let fs = repo().with_file("clusters/cluster-1/broken.yaml", broken);
    let resolution = resolve_with(fs, "cluster-1");
    let broken = resolution
        .units
        .iter()
        .find(|u| u.name == "broken")
        .unwrap();
    assert_eq!(broken.error, "kustomization path not found: ./apps/missing");
    assert!(broken.objects.is_empty());
    let sample = resolution
        .units
        .iter()
        .find(|u| u.name == "sample")
        .unwrap();
    assert_eq!(sample.error, "");
    assert_eq!(sample.objects.len(), 2);
}

#[test]
fn path_cannot_escape_the_source() {
    let escaping = SAMPLE_KS.replace("./apps/sample", "../../etc");
    let fs = repo().with_file("clusters/cluster-1/sample.yaml", escaping);
    let resolution = resolve_with(fs, "cluster-1");
    assert_eq!(
        resolution.units[1].error,
        "spec.path `../../etc` escapes the source root"
    );
}

#[test]
fn unknown_source_and_malformed_yaml_are_unit_errors() {
    let other = SAMPLE_KS.replace("    name: flux-system", "    name: tenant-repo");
    let resolution = resolve_with(
        repo().with_file("clusters/cluster-1/sample.yaml", other),
        "cluster-1",
    );
    assert_eq!(
        resolution.units[1].error,
        "GitRepository flux-system/tenant-repo not found"
    );

    let fs = repo().with_file(
        "apps/sample/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: [\n",
    );
    let resolution = resolve_with(fs, "cluster-1");
    let error = &resolution.units[1].error;
    assert!(error.contains("apps/sample/pod.yaml"), "{error}");
}

#[test]
fn git_repositories_are_collected_not_shipped() {
    let repo_yaml = "\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: team-a
  namespace: team-a
spec:
  url: https://git.example.com/team-a
  ref:
    branch: main
";
    let fs = repo().with_file("clusters/cluster-1/team-a.yaml", repo_yaml);
    let resolution = resolve_with(fs, "cluster-1");
    let key = SourceKey {
        namespace: "team-a".into(),
        name: "team-a".into(),
    };
    assert_eq!(
        resolution.git_repositories[&key].url,
        "https://git.example.com/team-a"
    );
    assert!(resolution.units[0].objects.is_empty());
}

#[test]
fn dependencies_come_first_and_cycles_are_errors() {
    let unit = |name: &str, deps: &[&str]| Unit {
        name: name.into(),
        namespace: "ns".into(),
        depends_on: deps.iter().map(|d| format!("ns/{d}")).collect(),
        objects: vec!["{}".into()],
        ..Default::default()
    };
    let ordered = order_by_dependencies(vec![
        unit("app", &["infra"]),
        unit("infra", &[]),
        unit("x", &["y"]),
        unit("y", &["x"]),
        unit("lost", &["nowhere"]),
    ]);
    let names: Vec<_> = ordered.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["infra", "app", "lost", "x", "y"]);
    assert_eq!(ordered[2].error, "dependency 'ns/nowhere' not found");
    assert!(ordered[3].error.starts_with("dependency cycle"));
    assert!(ordered[0].error.is_empty() && ordered[1].error.is_empty());
}

#[test]
fn substitution_can_be_disabled_per_object() {
    let pod = POD.replace(
        "  labels:",
        "  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\n  labels:",
    );
    let resolution = resolve_with(repo().with_file("apps/sample/pod.yaml", pod), "cluster-1");
    let pod = objects(&resolution.units[1])
        .into_iter()
        .find(|o| o["kind"] == "Pod")
        .unwrap();
    assert_eq!(pod["metadata"]["labels"]["cluster"], "${cluster_name}");
}

#[test]
fn nested_kustomizations_become_units_with_their_settings() {
    let infra = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: infra
  namespace: flux-system
spec:
  path: ./infra
  prune: false
  suspend: true
  sourceRef:
    kind: GitRepository
    name: flux-system
";
    let web = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: web
  namespace: flux-system
spec:
  path: ./apps/web
  targetNamespace: web-prod
  serviceAccountName: web-deployer
  timeout: 2m
  dependsOn:
    - name: infra
  sourceRef:
    kind: GitRepository
    name: flux-system
";
    let fs = MemFs::new()
        .with_file("clusters/cluster-1/infra.yaml", infra)
        .with_file("infra/web.yaml", web)
        .with_file(
            "apps/web/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
        );
    let resolution = resolve_with(fs, "cluster-1");
    let names: Vec<_> = resolution.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["flux-system", "infra", "web"]);
    let infra = &resolution.units[1];
    assert!(infra.suspend && !infra.prune);
    let web = &resolution.units[2];
    assert_eq!(web.depends_on, ["flux-system/infra"]);
    assert_eq!(web.target_namespace, "web-prod");
    assert_eq!(web.service_account, "web-deployer");
    assert_eq!(web.timeout_seconds, 120);
    let cm = &objects(web)[0];
    assert_eq!(cm["metadata"]["namespace"], "web-prod");
}

#[test]
fn a_kustomization_pointing_at_itself_is_rendered_once() {
    let looping = SAMPLE_KS.replace("./apps/sample", "./clusters/cluster-1");
    let fs = repo().with_file("clusters/cluster-1/sample.yaml", looping);
    let resolution = resolve_with(fs, "cluster-1");
    let names: Vec<_> = resolution.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["flux-system", "sample"]);
}

fn resolve_after(fs: MemFs, previous: &[Unit]) -> Resolution {
    let sources = BTreeMap::from([(platform(), ready("main@sha1:4567", fs))]);
    run(&sources, "cluster-1", &[], previous, None)
}

#[test]
fn children_of_a_failed_parent_ship_with_an_error_not_vanish() {
    // Regression: a broken file in the cluster's own folder dropped `sample` from the
    // bundle, and the agent pruned everything `sample` had applied.
    let good = resolve_with(repo(), "cluster-1");
    assert_eq!(good.units[1].parent, "flux-system/flux-system");
    let broken = repo().with_file("clusters/cluster-1/sample.yaml", "kind: [\n");
    let resolution = resolve_after(broken, &good.units);
    let names: Vec<_> = resolution.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["flux-system", "sample"]);
    assert!(resolution.units[0]
        .error
        .contains("clusters/cluster-1/sample.yaml"));
    let sample = &resolution.units[1];
    assert_eq!(
        sample.error,
        "parent Kustomization flux-system/flux-system failed"
    );
    assert!(sample.objects.is_empty());
    assert!(sample.prune, "carried over as it was");
}

#[test]
fn conflicting_declarations_fail_the_unit_naming_both() {
    let nested = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: nested
  namespace: flux-system
spec:
  path: ./nested
  sourceRef:
    kind: GitRepository
    name: flux-system
";
    let fs = repo()
        .with_file("clusters/cluster-1/nested.yaml", nested)
        .with_file(
            "nested/sample.yaml",
            SAMPLE_KS.replace("./apps/sample", "./apps/other"),
        );
    let resolution = resolve_with(fs, "cluster-1");
    let sample = resolution
        .units
        .iter()
        .find(|u| u.name == "sample")
        .unwrap();
    assert_eq!(
        sample.error,
        "Kustomization flux-system/sample is declared twice with different specs: by flux-system/flux-system and by flux-system/nested"
    );
    assert!(sample.objects.is_empty());
}

#[test]
fn bad_durations_names_and_unsupported_fields_are_unit_errors() {
    let check = |kustomization: String, expected: &str| {
        let fs = repo().with_file("clusters/cluster-1/sample.yaml", kustomization);
        let resolution = resolve_with(fs, "cluster-1");
        let errors: Vec<_> = resolution.units.iter().map(|u| u.error.as_str()).collect();
        assert!(errors.iter().any(|e| e.contains(expected)), "{errors:?}");
    };
    check(
        SAMPLE_KS.replace("interval: 1m", "interval: soon"),
        "spec.interval `soon` is not a duration",
    );
    check(
        SAMPLE_KS.replace(
            "interval: 1m",
            "interval: 1m\n  timeout: 18000000000000000000s18000000000000000000s",
        ),
        "spec.timeout",
    );
    check(
        SAMPLE_KS.replace("name: sample", "name: Sample_App"),
        "lowercase DNS names",
    );
    check(
        SAMPLE_KS.replace("      greeting: hello", "      greeting: hello\n    substituteFrom:\n      - kind: ConfigMap\n        name: vars"),
        "spec.postBuild.substituteFrom: ConfigMap flux-system/vars not found",
    );
}

#[test]
fn clusters_sharing_a_base_reuse_its_render() {
    let fs = repo()
        .with_file("clusters/cluster-2/sample.yaml", SAMPLE_KS)
        .with_file(
            "apps/sample/kustomization.yaml",
            "resources:\n  - ../base\n  - pod.yaml\n",
        )
        .with_file(
            "apps/base/kustomization.yaml",
            "resources:\n  - namespace.yaml\n",
        )
        .with_file(
            "apps/base/namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: sample\n",
        );
    let sources = BTreeMap::from([(platform(), ready("main@sha1:0123", fs))]);
    let cache = flotilla_kustomize::Cache::new();
    let render = |name: &str, cache: Option<&flotilla_kustomize::Cache>| {
        run(&sources, name, &[], &[], cache).units
    };
    let first = render("cluster-1", Some(&cache));
    let misses = cache.stats().misses;
    let second = render("cluster-2", Some(&cache));
    assert!(cache.stats().hits > 0, "{:?}", cache.stats());
    // Only cluster-2's own folder is new; the shared app and base come from the cache.
    assert!(cache.stats().misses <= misses + 1, "{:?}", cache.stats());
    assert_eq!(first, render("cluster-1", None));
    assert_eq!(second, render("cluster-2", None));
}

const TENANT_KS: &str = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: team-a
spec:
  path: ./
  prune: true
  targetNamespace: team-a
  sourceRef:
    kind: GitRepository
    name: team-a
";

fn resolve_tenant(tenant_repo: MemFs, platform_extra: &[(&str, &str)]) -> Resolution {
    let mut fs = repo().with_file("clusters/cluster-1/team-a.yaml", TENANT_KS);
    for (path, text) in platform_extra {
        fs.insert(*path, text.as_bytes().to_vec());
    }
    let team_repo = SourceKey {
        namespace: "team-a".into(),
        name: "team-a".into(),
    };
    let sources = BTreeMap::from([
        (platform(), ready("main@sha1:0123", fs)),
        (team_repo, ready("main@sha1:team", tenant_repo)),
    ]);
    let tenants = [TenantConfig {
        name: "team-a".into(),
        namespaces: vec!["team-a".into()],
        default_service_account: Some("team-a-reconciler".into()),
        clusters: vec![],
    }];
    run(&sources, "cluster-1", &tenants, &[], None)
}

fn tenant_unit(resolution: &Resolution) -> &Unit {
    resolution
        .units
        .iter()
        .find(|u| u.name == "apps")
        .expect("tenant unit")
}

#[test]
fn a_tenant_unit_runs_as_its_service_account_in_its_namespace() {
    let team = MemFs::new().with_file(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
    );
    let resolution = resolve_tenant(team, &[]);
    let unit = tenant_unit(&resolution);
    assert_eq!(unit.error, "");
    assert_eq!(unit.tenant, "team-a");
    assert_eq!(unit.service_account, "team-a-reconciler");
    assert_eq!(unit.revision, "main@sha1:team");
    assert_eq!(objects(unit)[0]["metadata"]["namespace"], "team-a");
    // Platform units stay the platform's.
    assert_eq!(resolution.units[1].tenant, "");
}

#[test]
fn tenant_violations_fail_only_the_tenant_unit() {
    let check = |team: MemFs, platform: &[(&str, &str)], expected: &str| {
        let resolution = resolve_tenant(team, platform);
        let unit = tenant_unit(&resolution);
        assert!(unit.error.contains(expected), "{}", unit.error);
        assert!(unit.objects.is_empty());
        let sample = resolution
            .units
            .iter()
            .find(|u| u.name == "sample")
            .unwrap();
        assert_eq!(sample.error, "", "other units still ship");
    };
    check(
        MemFs::new().with_file(
            "crb.yaml",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: take-over\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\n",
        ),
        &[],
        "ClusterRoleBinding take-over: tenant `team-a` may not hold cluster-scoped objects",
    );
    // Without a targetNamespace, a Kustomization declared into the platform's namespace
    // would escape the tenant.
    let untargeted = TENANT_KS.replace("  targetNamespace: team-a\n", "");
    let escape = SAMPLE_KS.replace("name: sample", "name: escape");
    check(
        MemFs::new().with_file("escape.yaml", escape),
        &[("clusters/cluster-1/team-a.yaml", &untargeted)],
        "Kustomization flux-system/escape: namespace `flux-system` is not one of tenant `team-a`'s namespaces",
    );
    check(
        MemFs::new().with_file(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: kube-system\n",
        ),
        &[("clusters/cluster-1/team-a.yaml", &untargeted)],
        "v1 ConfigMap kube-system/web: namespace `kube-system` is not one of tenant `team-a`'s namespaces",
    );
}

#[test]
fn a_tenant_unit_cannot_read_the_platform_source() {
    let borrowing = TENANT_KS.replace(
        "    name: team-a\n",
        "    name: flux-system\n    namespace: flux-system\n",
    );
    let resolution = resolve_tenant(
        MemFs::new(),
        &[("clusters/cluster-1/team-a.yaml", &borrowing)],
    );
    let unit = tenant_unit(&resolution);
    assert!(
        unit.error.contains(
            "spec.sourceRef must be in the unit's own namespace `team-a`, not `flux-system`"
        ),
        "{}",
        unit.error
    );
}

#[test]
fn substitute_from_reads_config_maps_and_secrets_the_cluster_ships() {
    let vars = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-vars
  namespace: flux-system
data:
  region: eu-west
  greeting: from-config-map
---
apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets
  namespace: flux-system
data:
  token: czNjcmV0
";
    let kustomization = SAMPLE_KS.replace(
        "      greeting: hello",
        "      greeting: hello\n    substituteFrom:\n      - kind: ConfigMap\n        name: cluster-vars\n      - kind: Secret\n        name: cluster-secrets\n      - kind: ConfigMap\n        name: absent\n        optional: true",
    );
    let pod = POD.replace(
        "    greeting: ${greeting}",
        "    greeting: ${greeting}\n    region: ${region}\n    token: ${token}",
    );
    let fs = repo()
        .with_file("clusters/cluster-1/vars.yaml", vars)
        .with_file("clusters/cluster-1/sample.yaml", kustomization)
        .with_file("apps/sample/pod.yaml", pod);
    let resolution = resolve_with(fs, "cluster-1");
    let sample = resolution
        .units
        .iter()
        .find(|u| u.name == "sample")
        .unwrap();
    assert_eq!(sample.error, "");
    let pod = objects(sample)
        .into_iter()
        .find(|o| o["kind"] == "Pod")
        .unwrap();
    let labels = &pod["metadata"]["labels"];
    assert_eq!(labels["region"], "eu-west");
    assert_eq!(labels["token"], "s3cret");
    // Inline `substitute` wins over `substituteFrom`.
    assert_eq!(labels["greeting"], "hello");
}
