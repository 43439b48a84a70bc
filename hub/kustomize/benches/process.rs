//! Whole-process speed: `flotilla kustomize build DIR` versus `kubectl kustomize DIR`, each
//! run as a process N times on the same generated trees, with the output compared.
//! `cargo build --release -p flotilla-cli && cargo bench -p flotilla-kustomize --bench process`
//! (`FLOTILLA_BIN` names another binary; `BENCH_RUNS` sets N, 20 by default).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("start process");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn mean(runs: u32, mut f: impl FnMut()) -> Duration {
    f(); // warm the page cache
    let start = Instant::now();
    for _ in 0..runs {
        f();
    }
    start.elapsed() / runs
}

fn main() {
    let flotilla = std::env::var_os("FLOTILLA_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/flotilla")
        });
    if !flotilla.exists() {
        println!(
            "notice: {} not found; run `cargo build --release -p flotilla-cli` first",
            flotilla.display()
        );
        return;
    }
    let kubectl = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !kubectl {
        println!("notice: kubectl not on PATH; nothing to compare with");
        return;
    }
    let runs: u32 = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    println!("mean of {runs} runs per command, whole process (start, read, render, print)");
    type Make = Box<dyn Fn(&Path) -> String>;
    let trees: Vec<(&str, Make)> = vec![
        ("small overlay", Box::new(common::small_overlay)),
        ("large tree", Box::new(|p| common::large_tree(p, 30))),
        ("larger tree", Box::new(|p| common::large_tree(p, 100))),
    ];
    for (label, make) in trees {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join(make(tmp.path()));
        let ours = run(Command::new(&flotilla)
            .args(["kustomize", "build"])
            .arg(&dir));
        let theirs = run(Command::new("kubectl").arg("kustomize").arg(&dir));
        let count = String::from_utf8_lossy(&ours).matches("\n---\n").count() + 1;
        let f = mean(runs, || {
            run(Command::new(&flotilla)
                .args(["kustomize", "build"])
                .arg(&dir));
        });
        let k = mean(runs, || {
            run(Command::new("kubectl").arg("kustomize").arg(&dir));
        });
        println!(
            "{label:14} {count:5} objects  flotilla {:8.2} ms  kubectl {:8.2} ms  speedup {:6.1}x  identical output: {}",
            f.as_secs_f64() * 1e3,
            k.as_secs_f64() * 1e3,
            k.as_secs_f64() / f.as_secs_f64(),
            ours == theirs
        );
    }
}
