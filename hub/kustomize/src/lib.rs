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
mod goregex;
mod kustomization;
mod openapi;
mod resource;
mod roundtrip;
mod schema;
mod scope;
mod sort;
mod transform;
pub mod yaml;

pub use build::{build, build_with_cache, BuildOptions};
pub use cache::{Cache, CacheStats, ContentHash};
pub use fs::{DirEntry, DiskFs, EntryKind, FileSystem, FsError, MemFs};
pub use resource::{Gvk, Resource};
pub use scope::is_cluster_scoped;

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

impl Error {
    /// The same error with its paths shown under `root`: a build over `DiskFs::new("/")`
    /// (so `../base` reaches sibling folders, as with kubectl) reports
    /// `/abs/app/kustomization.yaml` with `err.with_root("/")`.
    pub fn with_root(self, root: &str) -> Error {
        let r = |p: String| rooted(root, &p);
        match self {
            Error::Fs(e) => Error::Fs(match e {
                FsError::NotFound { path } => FsError::NotFound { path: r(path) },
                FsError::IsDir { path } => FsError::IsDir { path: r(path) },
                FsError::NotDir { path } => FsError::NotDir { path: r(path) },
                FsError::Escapes { path } => FsError::Escapes { path: r(path) },
                FsError::Io { path, message } => FsError::Io {
                    path: r(path),
                    message,
                },
            }),
            Error::Yaml {
                path,
                line,
                message,
            } => Error::Yaml {
                path: r(path),
                line,
                message,
            },
            Error::Field {
                path,
                field,
                message,
            } => Error::Field {
                path: r(path),
                field,
                message,
            },
            Error::Invalid { path, message } => Error::Invalid {
                path: r(path),
                message,
            },
            Error::NoDir { path } => Error::NoDir { path: r(path) },
            Error::NoKustomization { path } => Error::NoKustomization { path: r(path) },
            Error::Unsupported { path, field, what } => Error::Unsupported {
                path: r(path),
                field,
                what,
            },
            Error::Remote { path, field, url } => Error::Remote {
                path: r(path),
                field,
                url,
            },
            Error::Restricted {
                path,
                field,
                target,
                root: dir,
            } => Error::Restricted {
                path: r(path),
                field,
                target,
                root: r(dir),
            },
            Error::Cycle { path, chain } => Error::Cycle {
                path: r(path),
                chain: chain
                    .split(" -> ")
                    .map(|d| rooted(root, d))
                    .collect::<Vec<_>>()
                    .join(" -> "),
            },
            Error::TooDeep { path, limit } => Error::TooDeep {
                path: r(path),
                limit,
            },
            Error::Conflict { path, message } => Error::Conflict {
                path: r(path),
                message,
            },
        }
    }
}

fn rooted(root: &str, path: &str) -> String {
    let path = if path == "." { "" } else { path };
    match (root.ends_with('/'), path.is_empty()) {
        (_, true) => root.to_string(),
        (true, false) => format!("{root}{path}"),
        (false, false) => format!("{root}/{path}"),
    }
}

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
