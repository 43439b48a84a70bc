//! Git sources: fetch a branch with git2 into a bare mirror under the data directory, and
//! snapshot a commit's tree into memory for rendering.
//!
//! Rendering never reads a work tree: a snapshot is the exact content of one commit, so a
//! render is a pure function of (commit, path, variables). Symlinks and submodules in the
//! tree are left out, so nothing in a repository can point the renderer outside it. All
//! calls block; run them in `spawn_blocking`.

use std::path::{Path, PathBuf};

use flotilla_config::GitAuth;
use flotilla_kustomize::MemFs;
use git2::{
    Cred, CredentialType, FetchOptions, RemoteCallbacks, Repository, TreeWalkMode, TreeWalkResult,
};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How long one fetch may keep transferring before it is aborted.
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Largest total size of the files of one snapshot; a larger tree is refused rather than
/// exhausting the hub's memory.
pub const MAX_SNAPSHOT_BYTES: usize = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{url}: {message}")]
    Fetch { url: String, message: String },
    #[error("{url}: branch `{branch}` not found after fetch")]
    NoBranch { url: String, branch: String },
    #[error("{}: cannot read credential file: {source}", path.display())]
    Credential {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{url}: commit {commit}: {message}")]
    Snapshot {
        url: String,
        commit: String,
        message: String,
    },
}

/// A fetched commit: `branch@sha1:<commit>` as Flux writes revisions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Revision {
    pub branch: String,
    pub commit: String,
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@sha1:{}", self.branch, self.commit)
    }
}

/// One Git repository the hub follows, mirrored in `dir`.
pub struct GitSource {
    url: String,
    branch: String,
    auth: GitAuth,
    dir: PathBuf,
}

impl GitSource {
    pub fn new(url: &str, branch: &str, auth: GitAuth, dir: &Path) -> GitSource {
        GitSource {
            url: url.to_string(),
            branch: branch.to_string(),
            auth,
            dir: dir.to_path_buf(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Fetches the branch and returns the commit it points at.
    pub fn fetch(&self) -> Result<Revision> {
        let repo = self.open()?;
        let mut remote = repo
            .remote_anonymous(&self.url)
            .map_err(|err| self.fetch_error(err))?;
        let mut callbacks = RemoteCallbacks::new();
        let auth = self.auth.clone();
        let mut attempts = 0;
        callbacks.credentials(move |_url, username, allowed| {
            // libgit2 asks again after a refused credential; stop instead of looping.
            attempts += 1;
            if attempts > 3 {
                return Err(git2::Error::from_str("authentication failed"));
            }
            credentials(&auth, username, allowed)
        });
        // git2 offers no plain timeout without unsafe code; a transfer that outlives its
        // deadline is aborted at its next progress report instead.
        let deadline = std::time::Instant::now() + FETCH_TIMEOUT;
        callbacks.transfer_progress(move |_| std::time::Instant::now() < deadline);
        callbacks.sideband_progress(move |_| std::time::Instant::now() < deadline);
        // libgit2 replaces a refused host key's message with its own; remember the cause.
        let host_key_refused = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        if let Some(port) = ssh_port(&self.url) {
            let known_hosts = match &self.auth.known_hosts_file {
                Some(path) => KnownHosts::load(path)?,
                None => {
                    return Err(Error::Fetch {
                        url: self.url.clone(),
                        message: "ssh:// sources need source.auth.known_hosts_file".to_string(),
                    })
                }
            };
            let refused = host_key_refused.clone();
            callbacks.certificate_check(move |cert, host| {
                let key = cert.as_hostkey().and_then(|key| key.hostkey());
                match key {
                    Some(key) if known_hosts.accepts(host, port, key) => {
                        Ok(git2::CertificateCheckStatus::CertificateOk)
                    }
                    _ => {
                        refused.store(true, std::sync::atomic::Ordering::Relaxed);
                        Err(git2::Error::from_str("unknown host key"))
                    }
                }
            });
        }
        let mut options = FetchOptions::new();
        options.remote_callbacks(callbacks);
        let refspec = format!("+refs/heads/{0}:refs/remotes/origin/{0}", self.branch);
        remote
            .fetch(&[refspec.as_str()], Some(&mut options), None)
            .map_err(|err| {
                if host_key_refused.load(std::sync::atomic::Ordering::Relaxed) {
                    Error::Fetch {
                        url: self.url.clone(),
                        message: "the server's host key is not in source.auth.known_hosts_file"
                            .to_string(),
                    }
                } else {
                    self.fetch_error(err)
                }
            })?;
        drop(remote);
        let reference = format!("refs/remotes/origin/{}", self.branch);
        let commit = repo
            .refname_to_id(&reference)
            .map_err(|_| Error::NoBranch {
                url: self.url.clone(),
                branch: self.branch.clone(),
            })?;
        Ok(Revision {
            branch: self.branch.clone(),
            commit: commit.to_string(),
        })
    }

    /// Reads every regular file of `commit`'s tree into memory.
    pub fn snapshot(&self, commit: &str) -> Result<MemFs> {
        let fail = |message: String| Error::Snapshot {
            url: self.url.clone(),
            commit: commit.to_string(),
            message,
        };
        let repo = self.open()?;
        let oid = git2::Oid::from_str(commit).map_err(|err| fail(err.to_string()))?;
        let tree = repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(|err| fail(err.to_string()))?;
        let mut fs = MemFs::new();
        let odb = repo.odb().ok();
        let mut total = 0usize;
        let mut failure = None;
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            // Only regular and executable files: no symlinks (0o120000), no submodules.
            if !matches!(entry.filemode(), 0o100644 | 0o100755) {
                return TreeWalkResult::Ok;
            }
            let Some(name) = entry.name() else {
                return TreeWalkResult::Ok;
            };
            // Read the size from the object header first, so one huge blob is refused
            // before it is loaded.
            let size = odb
                .as_ref()
                .and_then(|odb| odb.read_header(entry.id()).ok())
                .map_or(0, |(size, _)| size);
            if total.saturating_add(size) > MAX_SNAPSHOT_BYTES {
                failure = Some(format!("tree is larger than {MAX_SNAPSHOT_BYTES} bytes"));
                return TreeWalkResult::Abort;
            }
            let blob = match repo.find_blob(entry.id()) {
                Ok(blob) => blob,
                Err(err) => {
                    failure = Some(format!("{dir}{name}: {err}"));
                    return TreeWalkResult::Abort;
                }
            };
            total = total.saturating_add(blob.size());
            if total > MAX_SNAPSHOT_BYTES {
                failure = Some(format!("tree is larger than {MAX_SNAPSHOT_BYTES} bytes"));
                return TreeWalkResult::Abort;
            }
            fs.insert(format!("{dir}{name}"), blob.content().to_vec());
            TreeWalkResult::Ok
        })
        .map_err(|err| fail(failure.clone().unwrap_or_else(|| err.to_string())))?;
        if let Some(message) = failure {
            return Err(fail(message));
        }
        Ok(fs)
    }

    fn open(&self) -> Result<Repository> {
        let opened = if self.dir.join("HEAD").exists() {
            Repository::open_bare(&self.dir)
        } else {
            Repository::init_bare(&self.dir)
        };
        opened.map_err(|err| self.fetch_error(err))
    }

    fn fetch_error(&self, err: git2::Error) -> Error {
        Error::Fetch {
            url: self.url.clone(),
            message: err.message().to_string(),
        }
    }
}

/// The port of an `ssh://` URL (22 when unnamed); `None` for other schemes.
fn ssh_port(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("ssh://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.rsplit_once(':') {
        Some((_, port)) => port.parse().ok(),
        None => Some(22),
    }
}

/// Host keys from an OpenSSH `known_hosts` file: plain host patterns (`host`,
/// `[host]:port`, comma-separated); hashed entries and markers are not matched.
struct KnownHosts {
    entries: Vec<(Vec<String>, Vec<u8>)>,
}

impl KnownHosts {
    fn load(path: &Path) -> Result<KnownHosts> {
        use base64::Engine as _;
        let text = std::fs::read_to_string(path).map_err(|source| Error::Credential {
            path: path.to_path_buf(),
            source,
        })?;
        let entries = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let hosts = fields.next()?;
                let _key_type = fields.next()?;
                let key = base64::engine::general_purpose::STANDARD
                    .decode(fields.next()?)
                    .ok()?;
                Some((hosts.split(',').map(str::to_string).collect(), key))
            })
            .collect();
        Ok(KnownHosts { entries })
    }

    fn accepts(&self, host: &str, port: u16, key: &[u8]) -> bool {
        let bracketed = format!("[{host}]:{port}");
        self.entries.iter().any(|(patterns, known)| {
            known == key
                && patterns
                    .iter()
                    .any(|p| *p == bracketed || (port == 22 && p == host))
        })
    }
}

fn credentials(
    auth: &GitAuth,
    username: Option<&str>,
    allowed: CredentialType,
) -> std::result::Result<Cred, git2::Error> {
    let user = auth.username.as_deref().or(username).unwrap_or("git");
    if allowed.contains(CredentialType::SSH_KEY) {
        if let Some(key) = &auth.ssh_key_file {
            return Cred::ssh_key(user, None, key, None);
        }
    }
    if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
        if let Some(path) = &auth.token_file {
            let token = std::fs::read_to_string(path)
                .map_err(|err| git2::Error::from_str(&format!("{}: {err}", path.display())))?;
            return Cred::userpass_plaintext(user, token.trim());
        }
    }
    if allowed.contains(CredentialType::USERNAME) {
        return Cred::username(user);
    }
    Err(git2::Error::from_str(
        "the remote asks for credentials: set source.auth.ssh_key_file or source.auth.token_file",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_kustomize::FileSystem;

    fn commit(repo: &Repository, files: &[(&str, &str)], message: &str) -> git2::Oid {
        let mut index = repo.index().unwrap();
        let workdir = repo.workdir().unwrap().to_path_buf();
        for (path, content) in files {
            let full = workdir.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, content).unwrap();
            index.add_path(Path::new(path)).unwrap();
        }
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("test", "test@example.com").unwrap();
        let parents: Vec<_> = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let parents: Vec<_> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap()
    }

    #[test]
    fn fetches_and_snapshots_a_commit_not_the_work_tree() {
        let upstream_dir = tempfile::tempdir().unwrap();
        let upstream = Repository::init(upstream_dir.path()).unwrap();
        upstream.set_head("refs/heads/main").unwrap();
        let first = commit(&upstream, &[("apps/a.yaml", "a: 1\n")], "one");

        let mirror = tempfile::tempdir().unwrap();
        let url = format!("file://{}", upstream_dir.path().display());
        let source = GitSource::new(
            &url,
            "main",
            GitAuth::default(),
            &mirror.path().join("m.git"),
        );
        let revision = source.fetch().unwrap();
        assert_eq!(revision.to_string(), format!("main@sha1:{first}"));

        let second = commit(&upstream, &[("apps/b.yaml", "b: 2\n")], "two");
        // Uncommitted edits in the upstream work tree are never seen.
        std::fs::write(upstream_dir.path().join("apps/a.yaml"), "dirty").unwrap();
        assert_eq!(source.fetch().unwrap().commit, second.to_string());

        let old = source.snapshot(&first.to_string()).unwrap();
        assert_eq!(old.read_file("apps/a.yaml").unwrap(), b"a: 1\n");
        assert!(old.read_file("apps/b.yaml").is_err());
        let new = source.snapshot(&second.to_string()).unwrap();
        assert_eq!(new.read_file("apps/a.yaml").unwrap(), b"a: 1\n");
        assert_eq!(new.read_file("apps/b.yaml").unwrap(), b"b: 2\n");
    }

    #[test]
    fn missing_repository_and_branch_are_clear_errors() {
        let mirror = tempfile::tempdir().unwrap();
        let source = GitSource::new(
            "file:///nonexistent/repo",
            "main",
            GitAuth::default(),
            &mirror.path().join("m.git"),
        );
        let err = source.fetch().unwrap_err().to_string();
        assert!(err.starts_with("file:///nonexistent/repo: "), "{err}");

        let upstream_dir = tempfile::tempdir().unwrap();
        let upstream = Repository::init(upstream_dir.path()).unwrap();
        upstream.set_head("refs/heads/main").unwrap();
        commit(&upstream, &[("a.yaml", "a: 1\n")], "one");
        let url = format!("file://{}", upstream_dir.path().display());
        let source = GitSource::new(
            &url,
            "release",
            GitAuth::default(),
            &mirror.path().join("n.git"),
        );
        let err = source.fetch().unwrap_err().to_string();
        assert!(err.contains("release"), "{err}");
    }
}
