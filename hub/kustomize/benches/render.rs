//! In-process rendering speed: the engine on generated trees, and a fleet of cluster
//! overlays sharing one large tree rendered with and without the render cache.
//! Plain `main` printing figures: `cargo bench -p flotilla-kustomize --bench render`.
//! The whole-process comparison with `kubectl kustomize` is the `process` bench.

mod common;

use flotilla_kustomize::{build, build_with_cache, to_yaml, BuildOptions, Cache, MemFs};
use std::path::Path;
use std::time::{Duration, Instant};

fn time<F: FnMut()>(iterations: u32, mut f: F) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed() / iterations
}

/// The tree under `root` as an in-memory file system (a Git snapshot, as the hub has).
fn snapshot(root: &Path) -> MemFs {
    fn walk(fs: &mut MemFs, base: &Path, dir: &Path) {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(fs, base, &p);
            } else {
                let rel = p.strip_prefix(base).expect("under base");
                fs.insert(
                    rel.to_string_lossy().into_owned(),
                    std::fs::read(&p).expect("read"),
                );
            }
        }
    }
    let mut fs = MemFs::new();
    walk(&mut fs, root, root);
    fs
}

fn main() {
    let opts = BuildOptions::default();
    for (label, teams) in [("large tree", 30usize), ("larger tree", 100)] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = common::large_tree(tmp.path(), teams);
        let fs = snapshot(tmp.path());
        let out = to_yaml(&build(&fs, &dir, &opts).expect("renders"));
        let count = out.matches("\n---\n").count() + 1;
        let t = time(10, || {
            std::hint::black_box(to_yaml(&build(&fs, &dir, &opts).expect("renders")));
        });
        println!(
            "{label:12} {count:5} objects  engine {:8.2} ms",
            t.as_secs_f64() * 1e3
        );
    }

    let tmp = tempfile::tempdir().expect("tempdir");
    let clusters = common::fleet(tmp.path(), 30, 20);
    let fs = snapshot(tmp.path());
    let uncached = time(3, || {
        for c in &clusters {
            std::hint::black_box(build(&fs, c, &opts).expect("renders"));
        }
    });
    // First renders of the fleet into a fresh cache: the shared tree is built once.
    let mut cold = Duration::ZERO;
    for _ in 0..3 {
        let cache = Cache::new();
        let start = Instant::now();
        for c in &clusters {
            std::hint::black_box(build_with_cache(&fs, c, &opts, &cache).expect("renders"));
        }
        cold += start.elapsed() / 3;
    }
    // Renders of the unchanged fleet again (a new commit that touched nothing it reads).
    let cache = Cache::new();
    for c in &clusters {
        build_with_cache(&fs, c, &opts, &cache).expect("renders");
    }
    let warm = time(3, || {
        for c in &clusters {
            std::hint::black_box(build_with_cache(&fs, c, &opts, &cache).expect("renders"));
        }
    });
    for c in &clusters {
        assert_eq!(
            to_yaml(&build(&fs, c, &opts).expect("renders")),
            to_yaml(&build_with_cache(&fs, c, &opts, &cache).expect("renders")),
        );
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "fleet of {} clusters sharing one tree: uncached {:8.2} ms  first cached {:8.2} ms ({:.1}x)  unchanged again {:8.2} ms ({:.1}x)",
        clusters.len(),
        ms(uncached),
        ms(cold),
        uncached.as_secs_f64() / cold.as_secs_f64(),
        ms(warm),
        uncached.as_secs_f64() / warm.as_secs_f64(),
    );
}
