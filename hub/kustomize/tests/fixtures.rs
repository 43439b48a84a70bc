//! Fixture trees under `tests/fixtures/<case>/`: `input/` is the tree, `expected.yaml` the
//! exact output (generated once from `kubectl kustomize` and reviewed) or
//! `expected-error.txt` the exact error. An optional `options` file holds `dir=PATH`,
//! `flux=true`, `namespace=NS` and `kubectl=skip` lines.
//!
//! `FIXTURE_BLESS=1 cargo test -p flotilla-kustomize --test fixtures` writes missing
//! expectations: `expected.yaml` from kubectl, `expected-error.txt` from this engine when
//! kubectl also refuses the tree.

use flotilla_kustomize::{build, build_with_cache, to_yaml, BuildOptions, Cache, DiskFs, MemFs};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

struct Case {
    name: String,
    root: PathBuf,
    dir: String,
    opts: BuildOptions,
    kubectl: bool,
}

fn cases() -> Vec<Case> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for root in dirs {
        if !root.is_dir() {
            continue;
        }
        let mut case = Case {
            name: root.file_name().unwrap().to_string_lossy().into_owned(),
            root: root.clone(),
            dir: ".".into(),
            opts: BuildOptions::default(),
            kubectl: true,
        };
        if let Ok(text) = std::fs::read_to_string(root.join("options")) {
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let (k, v) = line.split_once('=').expect("options lines are key=value");
                match k {
                    "dir" => case.dir = v.into(),
                    "flux" => case.opts.flux_autodetect = v == "true",
                    "namespace" => case.opts.namespace = Some(v.into()),
                    "kubectl" => case.kubectl = v != "skip",
                    _ => panic!("{}: unknown option {k}", case.name),
                }
            }
        }
        if case.opts.flux_autodetect || case.opts.namespace.is_some() {
            case.kubectl = false;
        }
        out.push(case);
    }
    out
}

fn mem_fs(root: &Path) -> MemFs {
    fn walk(fs: &mut MemFs, base: &Path, dir: &Path) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(fs, base, &p);
            } else {
                let rel = p
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                fs.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut fs = MemFs::new();
    walk(&mut fs, root, root);
    fs
}

/// Renders a case through both file systems; they must agree.
fn render(case: &Case) -> Result<String, String> {
    let input = case.root.join("input");
    let mem = build(&mem_fs(&input), &case.dir, &case.opts)
        .map(|r| to_yaml(&r))
        .map_err(|e| e.to_string());
    let disk = build(&DiskFs::new(&input), &case.dir, &case.opts)
        .map(|r| to_yaml(&r))
        .map_err(|e| e.to_string());
    assert_eq!(mem, disk, "{}: MemFs and DiskFs disagree", case.name);
    // One cache shared by every case (many trees reuse paths like `base` with different
    // content): cold and warm builds must both equal the uncached one.
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Cache::with_capacity(64));
    for round in ["cold", "warm"] {
        let cached = build_with_cache(&mem_fs(&input), &case.dir, &case.opts, cache)
            .map(|r| to_yaml(&r))
            .map_err(|e| e.to_string());
        assert_eq!(mem, cached, "{}: cached build ({round}) differs", case.name);
    }
    mem
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn kubectl(case: &Case) -> Result<String, String> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(case.root.join("input").join(&case.dir))
        .output()
        .expect("run kubectl");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The single entry point of the data-driven test.
fn check(case: &Case) -> Result<(), String> {
    let expected_yaml = case.root.join("expected.yaml");
    let expected_err = case.root.join("expected-error.txt");
    let got = render(case);
    if std::env::var_os("FIXTURE_BLESS").is_some()
        && !expected_yaml.exists()
        && !expected_err.exists()
    {
        let want = if case.kubectl && kubectl_available() {
            Some(kubectl(case))
        } else {
            None
        };
        match (&got, want) {
            (_, Some(Ok(y))) => std::fs::write(&expected_yaml, y).unwrap(),
            (Err(e), Some(Err(_)) | None) => {
                std::fs::write(&expected_err, format!("{e}\n")).unwrap()
            }
            (Ok(y), None) => std::fs::write(&expected_yaml, y).unwrap(),
            (Ok(_), Some(Err(e))) => {
                return Err(format!("kubectl refuses the tree but we render it: {e}"))
            }
        }
    }
    if let Ok(want) = std::fs::read_to_string(&expected_yaml) {
        match got {
            Ok(y) if y == want => Ok(()),
            Ok(y) => Err(format!(
                "output differs\n--- expected\n{want}\n--- got\n{y}"
            )),
            Err(e) => Err(format!("expected output, got error: {e}")),
        }
    } else if let Ok(want) = std::fs::read_to_string(&expected_err) {
        match got {
            Err(e) if e == want.trim_end() => Ok(()),
            Err(e) => Err(format!(
                "error differs\n--- expected\n{}\n--- got\n{e}",
                want.trim_end()
            )),
            Ok(y) => Err(format!("expected error, got output:\n{y}")),
        }
    } else {
        Err("no expected.yaml or expected-error.txt".into())
    }
}

#[test]
fn fixtures() {
    let mut failures = Vec::new();
    let cases = cases();
    for case in &cases {
        if let Err(e) = check(case) {
            failures.push(format!("== {}: {e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every fixture against `kubectl kustomize` on the same tree, when kubectl is installed.
#[test]
fn fixtures_match_kubectl() {
    if !kubectl_available() {
        eprintln!("notice: kubectl not on PATH; skipping the differential fixture test");
        return;
    }
    let mut failures = Vec::new();
    for case in cases().iter().filter(|c| c.kubectl) {
        match (render(case), kubectl(case)) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(_), Err(_)) => {}
            (a, b) => failures.push(format!(
                "== {}:\n--- ours\n{a:?}\n--- kubectl\n{b:?}",
                case.name
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixtures differ from kubectl:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
