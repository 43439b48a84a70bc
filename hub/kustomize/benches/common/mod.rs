//! Generated trees the benchmarks render: a small overlay, a large tree (hundreds of
//! objects from generators, bases, a component, an overlay with patches), and a fleet of
//! cluster overlays sharing that large tree.

// Each bench binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::path::Path;

pub fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("a file has a parent")).expect("create dirs");
    std::fs::write(p, text).expect("write file");
}

fn deployment(name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    tier: backend\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      serviceAccountName: {name}\n      containers:\n      - name: app\n        image: nginx:1.25\n        args: [\"--port\", \"8080\"]\n        envFrom:\n        - configMapRef:\n            name: {name}-config\n        env:\n        - name: TOKEN\n          valueFrom:\n            secretKeyRef:\n              name: {name}-secret\n              key: token\n        ports:\n        - containerPort: 8080\n          name: http\n        resources:\n          limits:\n            cpu: 500m\n            memory: 256Mi\n      volumes:\n      - name: data\n        configMap:\n          name: {name}-config\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n    targetPort: http\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n"
    )
}

/// A base with one app and a generator, and an overlay with the usual fields.
pub fn small_overlay(root: &Path) -> String {
    write(root, "base/kustomization.yaml", "resources:\n- app.yaml\nconfigMapGenerator:\n- name: web-config\n  literals:\n  - LOG=debug\nsecretGenerator:\n- name: web-secret\n  literals:\n  - token=abc\n");
    write(root, "base/app.yaml", &deployment("web"));
    write(
        root,
        "overlay/kustomization.yaml",
        "resources:\n- ../base\nnamePrefix: prod-\nnamespace: prod\ncommonLabels:\n  env: prod\nimages:\n- name: nginx\n  newTag: \"1.27\"\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: web\n    spec:\n      replicas: 3\n",
    );
    "overlay".into()
}

/// `teams` team folders of five apps each (Deployment, Service, ServiceAccount, two
/// generated objects per app), a component, and an overlay with patches on top.
pub fn large_tree(root: &Path, teams: usize) -> String {
    let mut top = String::from("resources:\n");
    for d in 0..teams {
        let mut k = String::from("resources:\n");
        for i in 0..5 {
            let name = format!("app{d}-{i}");
            write(
                root,
                &format!("apps/team{d}/{name}.yaml"),
                &deployment(&name),
            );
            k.push_str(&format!("- {name}.yaml\n"));
        }
        k.push_str("configMapGenerator:\n");
        for i in 0..5 {
            k.push_str(&format!(
                "- name: app{d}-{i}-config\n  literals:\n  - TEAM=team{d}\n  - INDEX={i}\n"
            ));
        }
        k.push_str("secretGenerator:\n");
        for i in 0..5 {
            k.push_str(&format!(
                "- name: app{d}-{i}-secret\n  literals:\n  - token=t{d}{i}\n"
            ));
        }
        k.push_str(&format!(
            "namespace: team{d}\ncommonLabels:\n  team: team{d}\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /metadata/annotations\n      value:\n        team: team{d}\n"
        ));
        write(root, &format!("apps/team{d}/kustomization.yaml"), &k);
        top.push_str(&format!("- team{d}\n"));
    }
    top.push_str("components:\n- ../monitoring\ncommonAnnotations:\n  owner: platform\n");
    write(root, "apps/kustomization.yaml", &top);
    write(
        root,
        "monitoring/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- target:\n    kind: Deployment\n    labelSelector: tier=backend\n  patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: any\n    spec:\n      template:\n        metadata:\n          annotations:\n            prometheus.io/scrape: \"true\"\n",
    );
    write(
        root,
        "overlay/kustomization.yaml",
        "resources:\n- ../apps\nnamePrefix: prod-\ncommonLabels:\n  env: prod\nimages:\n- name: nginx\n  newName: registry.example.com/nginx\n  newTag: \"1.27\"\nreplicas:\n- name: app0-0\n  count: 3\npatches:\n- target:\n    kind: Deployment\n    name: app1-.*\n  patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: any\n    spec:\n      template:\n        spec:\n          containers:\n          - name: app\n            resources:\n              limits:\n                memory: 512Mi\n",
    );
    "overlay".into()
}

/// `clusters` cluster overlays on top of one large tree, as a hub renders a fleet.
pub fn fleet(root: &Path, teams: usize, clusters: usize) -> Vec<String> {
    large_tree(root, teams);
    (0..clusters)
        .map(|c| {
            let dir = format!("clusters/c{c}");
            write(
                root,
                &format!("{dir}/kustomization.yaml"),
                &format!(
                    "resources:\n- ../../overlay\ncommonLabels:\n  cluster: c{c}\nconfigMapGenerator:\n- name: cluster-info\n  literals:\n  - NAME=c{c}\n"
                ),
            );
            dir
        })
        .collect()
}
