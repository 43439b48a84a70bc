//! Rendering speed: this engine in-process versus `kubectl kustomize` as a process, on the
//! same generated trees (a small overlay and a large tree with hundreds of resources).
//! Plain `main` printing figures: `cargo bench -p flotilla-kustomize --bench render`.

use flotilla_kustomize::{build, to_yaml, BuildOptions, DiskFs};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn deployment(name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.25\n        envFrom:\n        - configMapRef:\n            name: {name}-config\n        ports:\n        - containerPort: 80\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n"
    )
}

fn small_overlay(root: &Path) -> &'static str {
    write(root, "base/kustomization.yaml", "resources:\n- app.yaml\nconfigMapGenerator:\n- name: web-config\n  literals:\n  - LOG=debug\n");
    write(root, "base/app.yaml", &deployment("web"));
    write(
        root,
        "overlay/kustomization.yaml",
        "resources:\n- ../base\nnamePrefix: prod-\nnamespace: prod\ncommonLabels:\n  env: prod\nimages:\n- name: nginx\n  newTag: \"1.27\"\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: web\n    spec:\n      replicas: 3\n",
    );
    "overlay"
}

fn large_tree(root: &Path) -> &'static str {
    let mut top = String::from("resources:\n");
    for d in 0..30 {
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
                "- name: app{d}-{i}-config\n  literals:\n  - TEAM=team{d}\n"
            ));
        }
        k.push_str(&format!(
            "namespace: team{d}\ncommonLabels:\n  team: team{d}\n"
        ));
        write(root, &format!("apps/team{d}/kustomization.yaml"), &k);
        top.push_str(&format!("- team{d}\n"));
    }
    top.push_str("commonAnnotations:\n  owner: platform\n");
    write(root, "apps/kustomization.yaml", &top);
    "apps"
}

fn time<F: FnMut()>(iterations: u32, mut f: F) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed() / iterations
}

fn main() {
    let kubectl = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    for (label, make) in [
        ("small overlay", small_overlay as fn(&Path) -> &'static str),
        ("large tree", large_tree),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = make(tmp.path());
        let fs = DiskFs::new(tmp.path());
        let ours = build(&fs, dir, &BuildOptions::default())
            .map(|r| to_yaml(&r))
            .expect("engine renders the tree");
        let count = ours.matches("\n---\n").count() + 1;
        let engine = time(50, || {
            let out = build(&fs, dir, &BuildOptions::default()).unwrap();
            std::hint::black_box(to_yaml(&out));
        });
        print!(
            "{label:14} {count:4} objects  engine {:9.3} ms",
            engine.as_secs_f64() * 1e3
        );
        if kubectl {
            let path = tmp.path().join(dir);
            let theirs = Command::new("kubectl")
                .arg("kustomize")
                .arg(&path)
                .output()
                .unwrap();
            let same = theirs.stdout == ours.as_bytes();
            let k = time(5, || {
                std::hint::black_box(
                    Command::new("kubectl")
                        .arg("kustomize")
                        .arg(&path)
                        .output()
                        .unwrap(),
                );
            });
            println!(
                "  kubectl kustomize {:9.3} ms  speedup {:6.1}x  identical output: {same}",
                k.as_secs_f64() * 1e3,
                k.as_secs_f64() / engine.as_secs_f64()
            );
        } else {
            println!("  (kubectl not on PATH; no comparison)");
        }
    }
}
