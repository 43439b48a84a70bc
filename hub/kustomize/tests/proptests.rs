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

    /// Kustomization text after an indented or flow root, which kubectl never reads but
    /// for its first token.
    #[test]
    fn text_after_the_first_document_never_panics(
        root in prop_oneof![Just(" resources: [r.yaml]\n"), Just("  resources:\n  - r.yaml\n"), Just("{resources: [r.yaml]}")],
        rest in "[ a-z:\\-\\[\\]{}&*!|>'\" \t\n#0-9.%@`,~?\u{2028}é]{0,120}",
    ) {
        let fs = MemFs::new()
            .with_file("kustomization.yaml", format!("{root}{rest}"))
            .with_file("r.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n");
        let _ = build(&fs, ".", &BuildOptions::default()).map(|r| to_yaml(&r));
    }
}

/// Values of every shape, for fields that expect one shape.
fn any_yaml() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(" x".to_string()),
        Just(" 1".to_string()),
        Just(" []".to_string()),
        Just(" {}".to_string()),
        Just(" null".to_string()),
        Just("\n- a\n- {b: c}\n- [d]".to_string()),
        Just("\n- source: {kind: ConfigMap, name: a, fieldPath: data.k}\n  targets:\n  - select: {kind: ConfigMap}\n    fieldPaths: [data.*, \"[x=\", metadata.annotations.q]\n    options: {delimiter: \"\", index: -3, create: true}".to_string()),
        Just("\n- name: V\n  objref: {kind: ConfigMap, name: a, apiVersion: v1}\n  fieldref: {fieldpath: \"data[\"}".to_string()),
        Just("\n- |-\n  apiVersion: builtin\n  kind: LabelTransformer\n  metadata: {name: x}\n  labels: [1]\n  fieldSpecs: {}".to_string()),
        Just("\n- path: x.yaml\n- {}".to_string()),
        Just("\n  a: {b: [c]}".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Every field with values of the wrong shape: an error or output, never a panic.
    #[test]
    fn misshapen_fields_never_panic(fields in proptest::collection::vec((0usize..FIELDS.len(), any_yaml()), 1..5)) {
        let mut k = String::from("resources:\n- r.yaml\n");
        let mut seen = std::collections::BTreeSet::new();
        for (i, v) in fields {
            if seen.insert(i) {
                k.push_str(&format!("{}:{v}\n", FIELDS[i]));
            }
        }
        let fs = MemFs::new()
            .with_file("kustomization.yaml", k)
            .with_file("r.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n")
            .with_file("x.yaml", "- 1\n- {source: 2}\n");
        let _ = build(&fs, ".", &BuildOptions::default()).map(|r| to_yaml(&r));
    }
}

const FIELDS: &[&str] = &[
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "images",
    "replicas",
    "replacements",
    "vars",
    "configurations",
    "crds",
    "generators",
    "transformers",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "sortOptions",
    "buildMetadata",
    "components",
];

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
    /// Overlay features: name suffix, image tag, replica count, a JSON patch, a
    /// replacement, selector labels, fifo sorting.
    extra: Extra,
}

#[derive(Debug, Clone)]
struct Extra {
    suffix: String,
    tag: Option<String>,
    replicas: Option<u8>,
    json_patch: bool,
    replacement: bool,
    selector_labels: Vec<(String, String)>,
    fifo: bool,
    /// Layering features: a component, a strategic merge patch, a base namespace, a var.
    layers: (bool, bool, bool, bool),
    /// A middle layer between the overlay and the base (its name prefix and namespace),
    /// and which of the app's ids (original, middle, mixed) an overlay patch names.
    mid: Option<(String, String, u8)>,
    /// A custom OpenAPI schema: chosen by the overlay or by the base, and whether it
    /// defines Deployments (merging containers by name) or leaves them without a schema.
    openapi: Option<(bool, bool)>,
    /// Service ports an overlay patch merges: (port, protocol, name, directive) choices,
    /// for lists keyed by port and protocol.
    ports: Vec<(u8, u8, u8, u8)>,
    /// A `configurations` file (in the overlay, over the base directory, or in the base,
    /// over files only) with a field spec for one kind on a default path: image, labels
    /// or name prefix.
    configs: Option<(bool, u8)>,
}

fn extra() -> impl Strategy<Value = Extra> {
    (
        "[a-z]{0,3}",
        proptest::option::of("[0-9]{1,2}\\.[0-9]{1,2}"),
        proptest::option::of(0u8..9),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(("[a-z]{1,4}", "[a-z0-9]{1,4}"), 0..2),
        any::<bool>(),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        proptest::option::of(("[a-z]{0,3}", "[a-z]{0,4}", 0u8..6)),
        proptest::option::of((any::<bool>(), any::<bool>())),
        proptest::collection::vec((0u8..2, 0u8..3, 0u8..3, 0u8..8), 0..3),
        proptest::option::of((any::<bool>(), 0u8..3)),
    )
        .prop_map(
            |(
                suffix,
                tag,
                replicas,
                json_patch,
                replacement,
                selector_labels,
                fifo,
                layers,
                mid,
                openapi,
                ports,
                configs,
            )| {
                Extra {
                    suffix,
                    tag,
                    replicas,
                    json_patch,
                    replacement,
                    selector_labels,
                    fifo,
                    layers,
                    mid,
                    openapi,
                    ports,
                    configs,
                }
            },
        )
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
        extra(),
    )
        .prop_map(|(prefix, namespace, labels, maps, literals, extra)| Tree {
            prefix,
            namespace,
            labels,
            maps,
            literals,
            extra,
        })
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Writes `file` into the base or the overlay and names it in that kustomization's text.
fn add_file(
    root: &std::path::Path,
    in_base: bool,
    (name, text): (&str, &str),
    (kustomization, field): (&mut String, &str),
) {
    let dir = root.join(if in_base { "base" } else { "." });
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
    kustomization.push_str(field);
}

fn write_tree(t: &Tree, root: &std::path::Path) {
    let x = &t.extra;
    let mut k = match &x.mid {
        None => String::from("resources:\n- base\n"),
        Some((prefix, ns, _)) => {
            let mut m = String::from("resources:\n- ../base\n");
            if !prefix.is_empty() {
                m.push_str(&format!("namePrefix: {prefix}-\n"));
            }
            if !ns.is_empty() {
                m.push_str(&format!("namespace: {ns}\n"));
            }
            std::fs::create_dir_all(root.join("mid")).unwrap();
            std::fs::write(root.join("mid/kustomization.yaml"), m).unwrap();
            String::from("resources:\n- mid\n")
        }
    };
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
    if !x.suffix.is_empty() {
        k.push_str(&format!("nameSuffix: -{}\n", x.suffix));
    }
    if let Some(tag) = &x.tag {
        k.push_str(&format!(
            "images:\n- name: nginx\n  newTag: {}\n",
            quote(tag)
        ));
    }
    if let Some(n) = x.replicas {
        k.push_str(&format!("replicas:\n- name: app\n  count: {n}\n"));
    }
    let mut patches = Vec::new();
    if x.json_patch {
        patches.push("- target:\n    kind: Deployment\n  patch: |-\n    - op: add\n      path: /metadata/annotations\n      value:\n        patched: \"yes\"\n".to_string());
    }
    if let Some((prefix, ns, which)) = &x.mid {
        // The app as the overlay sees it may be named by any id it had, whole.
        let mid_name = if prefix.is_empty() {
            "app".to_string()
        } else {
            format!("{prefix}-app")
        };
        let (name, namespace) = match which {
            0 => ("app".to_string(), None),
            1 => ("app".to_string(), Some("base-ns")),
            2 => (mid_name, None),
            3 => (mid_name, Some(ns.as_str())),
            4 => ("app".to_string(), Some(ns.as_str())),
            _ => (mid_name, Some("base-ns")),
        };
        let namespace = namespace
            .filter(|n| !n.is_empty())
            .map(|n| format!("\n      namespace: {n}"))
            .unwrap_or_default();
        patches.push(format!("- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: {name}{namespace}\n    spec:\n      minReadySeconds: 5\n"));
    }
    if !x.ports.is_empty() {
        let mut p = String::from("- patch: |-\n    apiVersion: v1\n    kind: Service\n    metadata:\n      name: app\n    spec:\n      ports:\n");
        for (i, (port, protocol, name, directive)) in x.ports.iter().enumerate() {
            p.push_str(&format!("      - port: {}\n", [8080, 9090][*port as usize]));
            let protocol = ["", "TCP", "UDP"][*protocol as usize];
            if !protocol.is_empty() {
                p.push_str(&format!("        protocol: {protocol}\n"));
            }
            let name = ["", "a", "b"][*name as usize];
            if !name.is_empty() {
                p.push_str(&format!("        name: {name}\n"));
            }
            match directive {
                0 => p.push_str("        $patch: delete\n"),
                1 => p.push_str("        $patch: replace\n"),
                _ => {}
            }
            p.push_str(&format!("        targetPort: {}\n", 7000 + i));
        }
        patches.push(p);
    }
    if !patches.is_empty() {
        k.push_str("patches:\n");
        k.push_str(&patches.concat());
    }
    if x.replacement {
        k.push_str("replacements:\n- source:\n    kind: Service\n    name: app\n    fieldPath: spec.ports.0.port\n  targets:\n  - select:\n      kind: Deployment\n    fieldPaths:\n    - spec.template.metadata.labels.port\n    - spec.template.spec.containers.[name=app].ports.0.containerPort\n    options:\n      create: true\n");
    }
    if !x.selector_labels.is_empty() {
        k.push_str("labels:\n- includeSelectors: true\n  includeTemplates: true\n  pairs:\n");
        for (a, b) in &x.selector_labels {
            k.push_str(&format!("    {}: {}\n", quote(a), quote(b)));
        }
    }
    if x.fifo {
        k.push_str("sortOptions:\n  order: fifo\n");
    }
    let (component, smp, base_ns, var) = x.layers;
    if component {
        k.push_str("components:\n- comp\n");
        std::fs::create_dir_all(root.join("comp")).unwrap();
        std::fs::write(
            root.join("comp/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  component: \"on\"\nconfigMapGenerator:\n- name: comp\n  literals:\n  - C=1\npatches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: app\n    spec:\n      template:\n        spec:\n          containers:\n          - name: app\n            envFrom:\n            - configMapRef:\n                name: comp\n",
        )
        .unwrap();
    }
    if smp {
        k.push_str("patchesStrategicMerge:\n- |-\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: app\n  spec:\n    template:\n      spec:\n        containers:\n        - name: sidecar\n          image: busybox\n        - name: app\n          env:\n          - name: MODE\n            value: smp\n");
    }
    if var {
        k.push_str(
            "vars:\n- name: SVC\n  objref:\n    kind: Service\n    name: app\n    apiVersion: v1\n",
        );
    }
    let mut base_ns = if base_ns { "namespace: base-ns\n" } else { "" }.to_string();
    if let Some((in_base, knows_deployments)) = x.openapi {
        let schema = if knows_deployments {
            r##"{"definitions": {"deployment": {"x-kubernetes-group-version-kind": [{"group": "apps", "version": "v1", "kind": "Deployment"}], "properties": {"spec": {"properties": {"template": {"properties": {"spec": {"$ref": "#/definitions/pod"}}}}}}}, "pod": {"properties": {"containers": {"type": "array", "items": {"$ref": "#/definitions/container"}, "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"}}}, "container": {"properties": {"env": {"type": "array", "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"}}}}}"##
        } else {
            r#"{"definitions": {}}"#
        };
        let kustomization = if in_base { &mut base_ns } else { &mut k };
        let field = "openapi:\n  path: schema.json\n";
        add_file(
            root,
            in_base,
            ("schema.json", schema),
            (kustomization, field),
        );
    }
    if let Some((in_base, which)) = x.configs {
        let spec = match which {
            0 => "images:\n- path: spec/template/spec/containers[]/image\n  kind: Widget\n",
            1 => "commonLabels:\n- path: metadata/labels\n  kind: Deployment\n  create: true\n",
            _ => "namePrefix:\n- path: metadata/name\n  kind: Deployment\n",
        };
        let kustomization = if in_base { &mut base_ns } else { &mut k };
        let field = "configurations:\n- config.yaml\n";
        add_file(root, in_base, ("config.yaml", spec), (kustomization, field));
    }
    let args = if var {
        "        args: [\"--svc=$(SVC)\"]\n"
    } else {
        ""
    };
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
    // An app that refers to the first ConfigMap and to the generated one by name.
    let first = &t.maps[0].0;
    std::fs::write(
        root.join("base/app.yaml"),
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  selector:\n    matchLabels:\n      app: app\n  template:\n    metadata:\n      labels:\n        app: app\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.25\n{args}        ports:\n        - containerPort: 80\n        envFrom:\n        - configMapRef:\n            name: {first}\n        - configMapRef:\n            name: gen\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app\nspec:\n  selector:\n    app: app\n  ports:\n  - port: 8080\n  - port: 9090\n    protocol: UDP\n    name: metrics\n"),
    )
    .unwrap();
    std::fs::write(
        root.join("base/kustomization.yaml"),
        format!("resources:\n- cms.yaml\n- app.yaml\n{base_ns}"),
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
