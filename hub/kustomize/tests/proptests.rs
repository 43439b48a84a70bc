//! Property tests: garbage never panics the engine, and random kustomization trees render
//! exactly as `kubectl kustomize` renders them (skipped with a notice without kubectl).

use flotilla_kustomize::{build, to_yaml, BuildOptions, DiskFs, MemFs};
use proptest::prelude::*;
use std::process::Command;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn garbage_never_panics(k in ".{0,200}", r in ".{0,400}", y in "[a-z:\\-\\[\\]{}&*!|>'\" \n#0-9.]{0,200}") {
        let fs = MemFs::new()
            .with_file("kustomization.yaml", format!("resources:\n- r.yaml\n- y.yaml\n{k}"))
            .with_file("r.yaml", r)
            .with_file("y.yaml", y);
        let _ = build(&fs, ".", &BuildOptions::default()).map(|r| to_yaml(&r));
    }
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Scalars that exercise quoting, folding and number resolution.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _.:/#-]{0,12}",
        Just("yes".to_string()),
        Just("0x1F".to_string()),
        Just("1e3".to_string()),
        Just("2001-12-14".to_string()),
        Just("~".to_string()),
        "[a-z ]{70,100}",
        "[a-z]{1,5}\n[a-z ]{0,8}\n?",
    ]
}

#[derive(Debug, Clone)]
struct Tree {
    prefix: String,
    namespace: String,
    labels: Vec<(String, String)>,
    maps: Vec<(String, Vec<(String, String)>)>,
    literals: Vec<(String, String)>,
}

fn tree() -> impl Strategy<Value = Tree> {
    (
        "[a-z]{0,4}",
        "[a-z]{0,6}",
        proptest::collection::vec(("[a-z]{1,5}", "[a-z0-9]{1,6}"), 0..3),
        proptest::collection::vec(
            (
                "[a-z]{1,8}",
                proptest::collection::vec(("[a-zA-Z_]{1,8}", scalar()), 0..4),
            ),
            1..4,
        ),
        proptest::collection::vec(("[A-Z]{1,6}", "[a-z0-9 ]{0,10}"), 0..3),
    )
        .prop_map(|(prefix, namespace, labels, maps, literals)| Tree {
            prefix,
            namespace,
            labels,
            maps,
            literals,
        })
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn write_tree(t: &Tree, root: &std::path::Path) {
    let mut k = String::from("resources:\n- base\n");
    if !t.prefix.is_empty() {
        k.push_str(&format!("namePrefix: {}-\n", t.prefix));
    }
    if !t.namespace.is_empty() {
        k.push_str(&format!("namespace: {}\n", t.namespace));
    }
    if !t.labels.is_empty() {
        k.push_str("commonLabels:\n");
        for (a, b) in &t.labels {
            k.push_str(&format!("  {a}: {b}\n"));
        }
    }
    let mut lits = std::collections::BTreeMap::new();
    for (a, b) in &t.literals {
        lits.insert(a.clone(), b.clone());
    }
    if !lits.is_empty() {
        k.push_str("configMapGenerator:\n- name: gen\n  literals:\n");
        for (a, b) in &lits {
            k.push_str(&format!("  - {}\n", quote(&format!("{a}={b}"))));
        }
    }
    std::fs::create_dir_all(root.join("base")).unwrap();
    std::fs::write(root.join("kustomization.yaml"), k).unwrap();
    let mut docs = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (name, data) in &t.maps {
        if !seen.insert(name.clone()) {
            continue;
        }
        let mut d = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n");
        let mut keys = std::collections::BTreeSet::new();
        for (key, v) in data {
            if keys.insert(key.clone()) {
                d.push_str(&format!("  {key}: {}\n", quote(v)));
            }
        }
        if keys.is_empty() {
            d.push_str("  k: v\n");
        }
        docs.push(d);
    }
    std::fs::write(root.join("base/cms.yaml"), docs.join("---\n")).unwrap();
    std::fs::write(
        root.join("base/kustomization.yaml"),
        "resources:\n- cms.yaml\n",
    )
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_trees_match_kubectl(t in tree()) {
        if !kubectl_available() {
            eprintln!("notice: kubectl not on PATH; skipping the differential property test");
            return Ok(());
        }
        let dir = tempfile::tempdir().unwrap();
        write_tree(&t, dir.path());
        let ours = build(&DiskFs::new(dir.path()), ".", &BuildOptions::default()).map(|r| to_yaml(&r));
        let out = Command::new("kubectl").arg("kustomize").arg(dir.path()).output().unwrap();
        match ours {
            Ok(y) => {
                prop_assert!(out.status.success(), "kubectl failed: {}", String::from_utf8_lossy(&out.stderr));
                prop_assert_eq!(y, String::from_utf8_lossy(&out.stdout).into_owned());
            }
            Err(e) => prop_assert!(!out.status.success(), "we failed ({e}) but kubectl rendered it"),
        }
    }
}
