//! flotilla-kustomize: a native kustomize engine whose output is byte-identical to
//! `kubectl kustomize` (kustomize v5.5) on everything it supports. Anything it does not
//! support is an error naming the field, never a silently different result.
//!
//! Pure code: it reads only through a [`FileSystem`] and performs no other IO.
//!
//! ```
//! use flotilla_kustomize::{build, to_yaml, BuildOptions, MemFs};
//! let fs = MemFs::new()
//!     .with_file("app/kustomization.yaml", "resources:\n- cm.yaml\nnamespace: demo\n")
//!     .with_file("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
//! let out = build(&fs, "app", &BuildOptions::default()).unwrap();
//! assert_eq!(
//!     to_yaml(&out),
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: demo\n"
//! );
//! ```

mod build;
mod cache;
mod fs;
mod kustomization;
mod resource;
mod scope;
mod sort;
mod transform;
pub mod yaml;

pub use build::{build, build_with_cache, BuildOptions};
pub use cache::{Cache, CacheStats, ContentHash};
pub use fs::{DirEntry, DiskFs, EntryKind, FileSystem, FsError, MemFs};
pub use resource::{Gvk, Resource};

/// Everything a build can fail with. Messages name the file (relative to the file-system
/// root) and, where there is one, the line and the field.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Fs(FsError),
    #[error("{path}: line {line}: {message}")]
    Yaml {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: {field}: {message}")]
    Field {
        path: String,
        field: String,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: no such directory")]
    NoDir { path: String },
    #[error("{path}: no kustomization.yaml, kustomization.yml or Kustomization in this directory")]
    NoKustomization { path: String },
    #[error("{path}: {field}: {what} is not supported")]
    Unsupported {
        path: String,
        field: String,
        what: String,
    },
    #[error("{path}: {field}: remote resource {url:?} refused: remote bases are not supported")]
    Remote {
        path: String,
        field: String,
        url: String,
    },
    #[error("{path}: {field}: {target:?} is outside the kustomization root {root:?}")]
    Restricted {
        path: String,
        field: String,
        target: String,
        root: String,
    },
    #[error("{path}: kustomization cycle: {chain}")]
    Cycle { path: String, chain: String },
    #[error("{path}: kustomizations nested deeper than {limit} levels")]
    TooDeep { path: String, limit: usize },
    #[error("{path}: {message}")]
    Conflict { path: String, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Renders resources exactly as `kubectl kustomize` prints them: each object as YAML,
/// documents separated by `---`.
pub fn to_yaml(resources: &[Resource]) -> String {
    let mut out = String::new();
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&yaml::to_yaml_document(&r.to_json()));
    }
    out
}

/// Sets `metadata.namespace` on every namespaced object, as a kustomization's `namespace`
/// field does (Flux's `targetNamespace`).
pub fn set_namespace(resources: &mut [Resource], namespace: &str) {
    build::apply_namespace(resources, namespace);
}
