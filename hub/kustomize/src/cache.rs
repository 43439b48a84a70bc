//! A render cache the hub keeps across builds, so clusters that share bases reuse them.
//!
//! Each kustomization directory reached through `resources` is cached as its built layer
//! (objects, transformer configuration, vars), keyed by its path and by the content of
//! everything its build looked at: every file read (by content hash), every existence
//! probe, directory listing and link resolution. A later build reuses the layer only when
//! all of those still give the same answers, so a hit is exactly what a fresh build would
//! produce; anything that changed makes it a miss. Errors are never cached.
//! Never touches the file system except through the `FileSystem` it is handed.

use crate::fs::{DirEntry, EntryKind, FileSystem, FsError};
use crate::openapi::Active;
use crate::transform::Layer;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Content hash of a file, as `FileSystem::content_hash` gives it.
pub type ContentHash = [u8; 32];

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> ContentHash {
    Sha256::digest(bytes).into()
}

/// Rendered kustomization subtrees shared across builds. Cheap to share (`Arc<Cache>`);
/// all methods take `&self` and are safe to call from many threads.
pub struct Cache {
    inner: Mutex<Inner>,
    capacity: usize,
}

/// Counters of a cache, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Subtrees reused.
    pub hits: u64,
    /// Subtrees built because no valid entry existed.
    pub misses: u64,
    /// Entries held now.
    pub entries: usize,
}

#[derive(Default)]
struct Inner {
    by_dir: HashMap<String, Vec<Entry>>,
    tick: u64,
    hits: u64,
    misses: u64,
    entries: usize,
}

#[derive(Clone)]
pub(crate) struct Entry {
    pub deps: Deps,
    pub layer: Layer,
    /// How many kustomization levels the subtree spans below its own directory.
    pub height: usize,
    /// Every kustomization directory in the subtree (for cycle checks on reuse).
    pub dirs: Vec<String>,
    /// The build's schema choice after the subtree (it may make one).
    pub schema_after: Active,
    last_used: u64,
}

/// What one build looked at, by path.
pub(crate) type Deps = HashMap<String, Vec<Dep>>;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Dep {
    File(Option<ContentHash>),
    Kind(Option<EntryKind>),
    Dir(Option<ContentHash>),
    Real(Option<String>),
}

impl Default for Cache {
    fn default() -> Self {
        Cache::new()
    }
}

impl Cache {
    /// A cache holding up to 4096 subtrees.
    pub fn new() -> Cache {
        Cache::with_capacity(4096)
    }

    /// A cache holding up to `capacity` subtrees; the least recently used go first.
    pub fn with_capacity(capacity: usize) -> Cache {
        Cache {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.lock();
        CacheStats {
            hits: inner.hits,
            misses: inner.misses,
            entries: inner.entries,
        }
    }

    /// Drops every entry (counters are kept).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.by_dir.clear();
        inner.entries = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A valid entry for `dir`, judged against `fsys`.
    pub(crate) fn lookup(&self, fsys: &dyn FileSystem, dir: &str) -> Option<Entry> {
        let candidates: Vec<Entry> = {
            let inner = self.lock();
            inner.by_dir.get(dir).cloned().unwrap_or_default()
        };
        let found = candidates.into_iter().find(|e| still_valid(fsys, &e.deps));
        let mut inner = self.lock();
        match found {
            Some(e) => {
                inner.hits += 1;
                inner.tick += 1;
                let tick = inner.tick;
                if let Some(list) = inner.by_dir.get_mut(dir) {
                    for x in list.iter_mut().filter(|x| x.deps == e.deps) {
                        x.last_used = tick;
                    }
                }
                Some(e)
            }
            None => {
                inner.misses += 1;
                None
            }
        }
    }

    pub(crate) fn store(
        &self,
        dir: &str,
        deps: Deps,
        layer: Layer,
        height: usize,
        (dirs, schema_after): (Vec<String>, Active),
    ) {
        let mut inner = self.lock();
        inner.tick += 1;
        let entry = Entry {
            deps,
            layer,
            height,
            dirs,
            schema_after,
            last_used: inner.tick,
        };
        let list = inner.by_dir.entry(dir.to_string()).or_default();
        list.retain(|e| e.deps != entry.deps);
        list.push(entry);
        // A directory keeps its few most recent versions.
        if list.len() > 4 {
            list.sort_by_key(|e| std::cmp::Reverse(e.last_used));
            list.truncate(4);
        }
        inner.entries = inner.by_dir.values().map(Vec::len).sum();
        while inner.entries > self.capacity {
            let oldest = inner
                .by_dir
                .iter()
                .flat_map(|(d, l)| l.iter().map(move |e| (e.last_used, d.clone())))
                .min();
            let Some((used, d)) = oldest else { break };
            if let Some(l) = inner.by_dir.get_mut(&d) {
                l.retain(|e| e.last_used != used);
                if l.is_empty() {
                    inner.by_dir.remove(&d);
                }
            }
            inner.entries = inner.by_dir.values().map(Vec::len).sum();
        }
    }
}

fn still_valid(fsys: &dyn FileSystem, deps: &Deps) -> bool {
    deps.iter().all(|(path, list)| {
        list.iter().all(|d| match d {
            Dep::File(h) => fsys.content_hash(path).ok() == *h,
            Dep::Kind(k) => fsys.kind(path) == *k,
            Dep::Dir(h) => fsys.read_dir(path).ok().map(|l| listing_hash(&l)) == *h,
            Dep::Real(r) => fsys.real_path(path) == *r,
        })
    })
}

fn listing_hash(list: &[DirEntry]) -> ContentHash {
    let mut h = Sha256::new();
    for e in list {
        h.update(e.name.as_bytes());
        h.update([0, e.kind as u8]);
    }
    h.finalize().into()
}

/// One open recording: what the build of one directory looked at so far.
#[derive(Default)]
pub(crate) struct Frame {
    pub deps: Deps,
    pub max_depth: usize,
    pub dirs: Vec<String>,
}

/// A file system that records every answer it gives into all open frames.
pub(crate) struct Recorder<'a> {
    inner: &'a dyn FileSystem,
    frames: Mutex<Vec<Frame>>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(inner: &'a dyn FileSystem) -> Self {
        Recorder {
            inner,
            frames: Mutex::new(Vec::new()),
        }
    }

    fn frames(&self) -> std::sync::MutexGuard<'_, Vec<Frame>> {
        self.frames.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, path: &str, dep: Dep) {
        let mut frames = self.frames();
        for f in frames.iter_mut() {
            let list = f.deps.entry(path.to_string()).or_default();
            if !list.contains(&dep) {
                list.push(dep.clone());
            }
        }
    }

    /// Opens a frame for the build of `dir` at `depth`.
    pub(crate) fn open(&self, dir: &str, depth: usize) {
        self.frames().push(Frame {
            deps: Deps::new(),
            max_depth: depth,
            dirs: vec![dir.to_string()],
        });
    }

    /// Closes the innermost frame.
    pub(crate) fn close(&self) -> Frame {
        self.frames().pop().unwrap_or_default()
    }

    /// Notes that a kustomization at `depth` in `dir` is being built.
    pub(crate) fn enter(&self, dir: &str, depth: usize) {
        for f in self.frames().iter_mut() {
            f.max_depth = f.max_depth.max(depth);
            if !f.dirs.iter().any(|d| d == dir) {
                f.dirs.push(dir.to_string());
            }
        }
    }

    /// Adds a reused entry's dependencies to every open frame.
    pub(crate) fn absorb(&self, e: &Entry, depth: usize) {
        for f in self.frames().iter_mut() {
            for (path, list) in &e.deps {
                let dst = f.deps.entry(path.clone()).or_default();
                for d in list {
                    if !dst.contains(d) {
                        dst.push(d.clone());
                    }
                }
            }
            f.max_depth = f.max_depth.max(depth + e.height);
            for d in &e.dirs {
                if !f.dirs.contains(d) {
                    f.dirs.push(d.clone());
                }
            }
        }
    }

    pub(crate) fn inner(&self) -> &dyn FileSystem {
        self.inner
    }
}

impl FileSystem for Recorder<'_> {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let r = self.inner.read_file(path);
        self.record(path, Dep::File(r.as_ref().ok().map(|b| sha256(b))));
        r
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        let r = self.inner.read_dir(path);
        self.record(path, Dep::Dir(r.as_ref().ok().map(|l| listing_hash(l))));
        r
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        let r = self.inner.kind(path);
        self.record(path, Dep::Kind(r));
        r
    }

    fn real_path(&self, path: &str) -> Option<String> {
        let r = self.inner.real_path(path);
        self.record(path, Dep::Real(r.clone()));
        r
    }

    fn content_hash(&self, path: &str) -> Result<ContentHash, FsError> {
        let r = self.inner.content_hash(path);
        self.record(path, Dep::File(r.as_ref().ok().copied()));
        r
    }
}

#[cfg(test)]
mod tests {
    use crate::{build, build_with_cache, to_yaml, BuildOptions, Cache, MemFs};

    fn tree(base_value: &str) -> MemFs {
        let mut fs = MemFs::new()
            .with_file(
                "base/kustomization.yaml",
                "resources:\n- cm.yaml\nconfigMapGenerator:\n- name: gen\n  literals:\n  - a=b\n",
            )
            .with_file(
                "base/cm.yaml",
                format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  v: {base_value}\n"),
            );
        for c in ["east", "west"] {
            fs = fs.with_file(
                format!("clusters/{c}/kustomization.yaml"),
                format!("resources:\n- ../../base\nnamePrefix: {c}-\n"),
            );
        }
        fs
    }

    fn check(fs: &MemFs, cache: &Cache, dir: &str) {
        let want = to_yaml(&build(fs, dir, &BuildOptions::default()).unwrap());
        let got = to_yaml(&build_with_cache(fs, dir, &BuildOptions::default(), cache).unwrap());
        assert_eq!(want, got);
    }

    #[test]
    fn clusters_sharing_a_base_reuse_it_until_it_changes() {
        let cache = Cache::new();
        let fs = tree("one");
        // Each cluster's whole render is an entry too (a root miss, then a base miss).
        check(&fs, &cache, "clusters/east");
        assert_eq!((cache.stats().hits, cache.stats().misses), (0, 2));
        check(&fs, &cache, "clusters/west");
        assert_eq!((cache.stats().hits, cache.stats().misses), (1, 3));
        // Rendering an unchanged cluster again is one hit for the whole render.
        check(&fs, &cache, "clusters/west");
        assert_eq!((cache.stats().hits, cache.stats().misses), (2, 3));
        // A changed file in the base is a miss, and the new content shows.
        let changed = tree("two");
        check(&changed, &cache, "clusters/east");
        assert_eq!(cache.stats().misses, 5);
        let out = to_yaml(
            &build_with_cache(&changed, "clusters/west", &BuildOptions::default(), &cache).unwrap(),
        );
        assert!(out.contains("v: two"), "{out}");
        // Both versions stay cached: two of the base, two of each cluster's render.
        check(&fs, &cache, "clusters/west");
        assert_eq!(cache.stats().entries, 6);
        // A file appearing next to the kustomization (a second kustomization file) is seen.
        let extra = tree("one").with_file("base/kustomization.yml", "resources: []\n");
        assert!(
            build_with_cache(&extra, "clusters/east", &BuildOptions::default(), &cache).is_err()
        );
    }

    #[test]
    fn capacity_evicts_least_recently_used() {
        let cache = Cache::with_capacity(2);
        check(&tree("a"), &cache, "clusters/east");
        check(&tree("b"), &cache, "clusters/east");
        assert_eq!(cache.stats().entries, 2);
    }

    /// A fleet where `east` chooses a custom schema that does not know Deployments (their
    /// containers are then replaced, not merged), and `west` does not. `app` patches a
    /// Deployment; `schema` is a base that only chooses the schema for what follows it.
    fn schema_fleet() -> MemFs {
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: a\n";
        let patch = "patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: web\n    spec:\n      template:\n        spec:\n          containers:\n          - name: b\n            image: b\n";
        let schema = r#"{"definitions": {}}"#;
        MemFs::new()
            .with_file(
                "app/kustomization.yaml",
                format!("resources:\n- web.yaml\n{patch}"),
            )
            .with_file("app/web.yaml", deployment)
            .with_file(
                "schema/kustomization.yaml",
                "openapi:\n  path: schema.json\n",
            )
            .with_file("schema/schema.json", schema)
            .with_file(
                "clusters/east/kustomization.yaml",
                "resources:\n- ../../app\nopenapi:\n  path: schema.json\n",
            )
            .with_file("clusters/east/schema.json", schema)
            .with_file(
                "clusters/west/kustomization.yaml",
                "resources:\n- ../../app\n",
            )
            .with_file(
                "clusters/north/kustomization.yaml",
                "resources:\n- ../../schema\n- ../../app\nnamePrefix: n-\n",
            )
            .with_file(
                "clusters/south/kustomization.yaml",
                "resources:\n- ../../schema\n- ../../app\nnamePrefix: s-\n",
            )
    }

    #[test]
    fn subtrees_built_under_another_schema_are_not_reused() {
        let fs = schema_fleet();
        let cache = Cache::new();
        for dir in [
            "clusters/west",
            "clusters/east",
            "clusters/west",
            "clusters/east",
        ] {
            check(&fs, &cache, dir);
        }
        let out =
            |dir| to_yaml(&build_with_cache(&fs, dir, &BuildOptions::default(), &cache).unwrap());
        // West merges the patch's container into the Deployment's; east replaces them.
        assert!(out("clusters/west").contains("name: a"));
        assert!(!out("clusters/east").contains("name: a"));
    }

    #[test]
    fn a_reused_subtree_makes_its_schema_choice_again() {
        let fs = schema_fleet();
        let cache = Cache::new();
        // North builds `schema` and `app`; south reuses `schema` (a hit), whose choice
        // must hold for `app` after it.
        check(&fs, &cache, "clusters/north");
        let hits = cache.stats().hits;
        check(&fs, &cache, "clusters/south");
        assert!(cache.stats().hits > hits);
        let south = build_with_cache(&fs, "clusters/south", &BuildOptions::default(), &cache);
        assert!(!to_yaml(&south.unwrap()).contains("name: a"));
    }
}
