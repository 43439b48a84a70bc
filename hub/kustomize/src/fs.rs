//! Read-only file systems the engine renders from: an in-memory tree (a Git commit snapshot)
//! and a directory on disk. The engine never touches `std::fs` outside `DiskFs`, and no
//! path handed to a `FileSystem` can name anything outside its root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    File,
    Dir,
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
}

/// Why a file-system read failed. `path` is relative to the file-system root.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FsError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("{path}: is a directory")]
    IsDir { path: String },
    #[error("{path}: not a directory")]
    NotDir { path: String },
    #[error("{path}: escapes the root of the tree")]
    Escapes { path: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// A read-only tree of files. Paths are relative to the root, `/`-separated and already
/// normalized (no `.`, `..` or empty components); the root itself is `""` or `"."`.
pub trait FileSystem: Send + Sync {
    /// The bytes of a file.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError>;
    /// The entries of a directory, sorted by name.
    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError>;
    /// Whether `path` is a file, a directory, or nothing.
    fn kind(&self, path: &str) -> Option<EntryKind>;
    /// `path` with symbolic links resolved, still relative to the root; `None` when it
    /// does not exist. The load restrictor compares these, so a link cannot lead a
    /// kustomization's files out of its directory.
    fn real_path(&self, path: &str) -> Option<String> {
        self.kind(path).map(|_| path.to_string())
    }
    /// SHA-256 of a file's contents, which the render cache compares. A tree that already
    /// knows it (a content-addressed snapshot) may answer without reading the file.
    fn content_hash(&self, path: &str) -> Result<[u8; 32], FsError> {
        self.read_file(path).map(|b| crate::cache::sha256(&b))
    }
}

fn is_root(path: &str) -> bool {
    path.is_empty() || path == "."
}

/// An in-memory tree: file paths to contents. Directories exist implicitly.
#[derive(Clone, Debug, Default)]
pub struct MemFs {
    files: BTreeMap<String, Vec<u8>>,
}

impl MemFs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file; leading `./` and `/` are dropped.
    pub fn with_file(mut self, path: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        self.insert(path, contents);
        self
    }

    /// Adds (or replaces) a file; leading `./` and `/` are dropped.
    pub fn insert(&mut self, path: impl Into<String>, contents: impl Into<Vec<u8>>) {
        let path = path.into();
        let path = path
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_string();
        self.files.insert(path, contents.into());
    }

    /// Number of files held.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

impl FileSystem for MemFs {
    fn content_hash(&self, path: &str) -> Result<[u8; 32], FsError> {
        match self.files.get(path) {
            Some(bytes) => Ok(crate::cache::sha256(bytes)),
            None => self.read_file(path).map(|b| crate::cache::sha256(&b)),
        }
    }

    fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
        if let Some(bytes) = self.files.get(path) {
            return Ok(bytes.clone());
        }
        match self.kind(path) {
            Some(EntryKind::Dir) => Err(FsError::IsDir {
                path: path.to_string(),
            }),
            _ => Err(FsError::NotFound {
                path: path.to_string(),
            }),
        }
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        let prefix = if is_root(path) {
            String::new()
        } else {
            format!("{path}/")
        };
        if !prefix.is_empty() && self.files.contains_key(path) {
            return Err(FsError::NotDir {
                path: path.to_string(),
            });
        }
        let mut out: Vec<DirEntry> = Vec::new();
        for key in self.files.range(prefix.clone()..).map(|(k, _)| k) {
            let Some(rest) = key.strip_prefix(&prefix) else {
                break;
            };
            let (name, kind) = match rest.split_once('/') {
                Some((dir, _)) => (dir, EntryKind::Dir),
                None => (rest, EntryKind::File),
            };
            if out.last().is_some_and(|e| e.name == name) {
                continue;
            }
            out.push(DirEntry {
                name: name.to_string(),
                kind,
            });
        }
        if out.is_empty() && !is_root(path) {
            return Err(FsError::NotFound {
                path: path.to_string(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.dedup_by(|a, b| a.name == b.name);
        Ok(out)
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        if is_root(path) {
            return Some(EntryKind::Dir);
        }
        if self.files.contains_key(path) {
            return Some(EntryKind::File);
        }
        let prefix = format!("{path}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|_| EntryKind::Dir)
    }
}

/// A directory on disk. Symbolic links are followed only while they stay inside the root.
#[derive(Clone, Debug)]
pub struct DiskFs {
    root: PathBuf,
}

impl DiskFs {
    /// A view of the tree under `root`. The root is canonicalized when possible.
    pub fn new(root: impl AsRef<Path>) -> Self {
        let root = root.as_ref();
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Self { root }
    }

    /// Resolves `path` to a real path inside the root, refusing `..` and escaping links.
    fn resolve(&self, path: &str) -> Result<PathBuf, FsError> {
        let mut full = self.root.clone();
        if !is_root(path) {
            for part in path.split('/') {
                match part {
                    "" | "." => {}
                    ".." => {
                        return Err(FsError::Escapes {
                            path: path.to_string(),
                        })
                    }
                    p => full.push(p),
                }
            }
        }
        match std::fs::canonicalize(&full) {
            Ok(real) if real.starts_with(&self.root) => Ok(real),
            Ok(_) => Err(FsError::Escapes {
                path: path.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(FsError::NotFound {
                path: path.to_string(),
            }),
            Err(e) => Err(FsError::Io {
                path: path.to_string(),
                message: e.to_string(),
            }),
        }
    }
}

impl FileSystem for DiskFs {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let real = self.resolve(path)?;
        if real.is_dir() {
            return Err(FsError::IsDir {
                path: path.to_string(),
            });
        }
        // A pipe or a device would block or never end.
        if std::fs::metadata(&real).is_ok_and(|m| !m.is_file()) {
            return Err(FsError::Io {
                path: path.to_string(),
                message: "not a regular file".into(),
            });
        }
        std::fs::read(&real).map_err(|e| FsError::Io {
            path: path.to_string(),
            message: e.to_string(),
        })
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        let real = self.resolve(path)?;
        if !real.is_dir() {
            return Err(FsError::NotDir {
                path: path.to_string(),
            });
        }
        let io = |e: std::io::Error| FsError::Io {
            path: path.to_string(),
            message: e.to_string(),
        };
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&real).map_err(io)? {
            let entry = entry.map_err(io)?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let child = if is_root(path) {
                name.clone()
            } else {
                format!("{path}/{name}")
            };
            // Entries whose link target leaves the root are invisible.
            if let Some(kind) = self.kind(&child) {
                out.push(DirEntry { name, kind });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn real_path(&self, path: &str) -> Option<String> {
        let real = self.resolve(path).ok()?;
        let rel = real.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        let real = self.resolve(path).ok()?;
        let meta = std::fs::metadata(real).ok()?;
        if meta.is_dir() {
            Some(EntryKind::Dir)
        } else {
            Some(EntryKind::File)
        }
    }
}

/// Joins a base directory and a relative reference, normalizing `.` and `..`.
/// Returns `None` when the result would climb above the file-system root.
pub fn join(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if is_root(base) || rel.starts_with('/') {
        Vec::new()
    } else {
        base.split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect()
    };
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The parent directory of a normalized path (`""` for top-level entries).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Whether `path` lies in or under directory `dir`.
pub fn is_within(path: &str, dir: &str) -> bool {
    is_root(dir) || path == dir || path.starts_with(&format!("{dir}/"))
}

/// Shows a path for messages: the root is `.`.
pub fn display(path: &str) -> &str {
    if path.is_empty() {
        "."
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memfs_lists_sorted_with_implicit_dirs() {
        let fs = MemFs::new()
            .with_file("a/z.yaml", "x")
            .with_file("a/b/c.yaml", "y")
            .with_file("a/a.yaml", "z");
        let names: Vec<_> = fs
            .read_dir("a")
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        assert_eq!(
            names,
            vec![
                ("a.yaml".into(), EntryKind::File),
                ("b".into(), EntryKind::Dir),
                ("z.yaml".into(), EntryKind::File)
            ]
        );
        assert_eq!(fs.kind("a/b"), Some(EntryKind::Dir));
        assert_eq!(fs.kind("a/b/c.yaml"), Some(EntryKind::File));
        assert_eq!(fs.kind("a/bc"), None);
        assert!(matches!(fs.read_dir("nope"), Err(FsError::NotFound { .. })));
    }

    #[test]
    fn join_normalizes_and_refuses_climbing_out() {
        assert_eq!(join("a/b", "../c").as_deref(), Some("a/c"));
        assert_eq!(join("", "./x/./y").as_deref(), Some("x/y"));
        assert_eq!(join("a", "../../x"), None);
    }

    #[test]
    fn diskfs_refuses_escaping_symlink() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.yaml"), "x").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("ok.yaml"), "y").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            outside.path().join("secret.yaml"),
            root.path().join("link.yaml"),
        )
        .unwrap();
        let fs = DiskFs::new(root.path());
        assert_eq!(fs.read_file("ok.yaml").unwrap(), b"y");
        #[cfg(unix)]
        assert!(matches!(
            fs.read_file("link.yaml"),
            Err(FsError::Escapes { .. })
        ));
        assert!(matches!(fs.read_file("../x"), Err(FsError::Escapes { .. })));
        let names: Vec<_> = fs
            .read_dir(".")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, vec!["ok.yaml".to_string()]);
    }

    #[test]
    fn diskfs_refuses_a_pipe_rather_than_waiting_on_it() {
        let root = tempfile::tempdir().unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(root.path().join("pipe.yaml"))
            .status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("notice: mkfifo unavailable; skipping the pipe test");
            return;
        }
        let fs = DiskFs::new(root.path());
        assert!(matches!(
            fs.read_file("pipe.yaml"),
            Err(FsError::Io { message, .. }) if message == "not a regular file"
        ));
    }
}
