//! A Git repository on disk that tests and the quickstart commit to, as a user would.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use git2::{IndexAddOption, Repository, Signature};

pub struct GitRepo {
    dir: PathBuf,
    repo: Repository,
}

impl GitRepo {
    /// Creates a repository whose branch is `main`.
    pub fn init(dir: &Path) -> Result<GitRepo> {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let repo = Repository::init(dir).with_context(|| format!("git init {}", dir.display()))?;
        repo.set_head("refs/heads/main")?;
        Ok(GitRepo {
            dir: dir.to_path_buf(),
            repo,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `file://` URL the hub fetches from.
    pub fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    pub fn write(&self, path: &str, contents: &str) -> Result<&Self> {
        let full = self.dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&full, contents).with_context(|| format!("write {}", full.display()))?;
        Ok(self)
    }

    pub fn remove(&self, path: &str) -> Result<&Self> {
        let full = self.dir.join(path);
        std::fs::remove_file(&full).with_context(|| format!("remove {}", full.display()))?;
        Ok(self)
    }

    /// Commits every change in the work tree, additions and removals; returns the commit id.
    pub fn commit(&self, message: &str) -> Result<String> {
        let mut index = self.repo.index()?;
        index.add_all(["*"], IndexAddOption::DEFAULT, None)?;
        index.update_all(["*"], None)?;
        index.write()?;
        let tree = self.repo.find_tree(index.write_tree()?)?;
        let signature = Signature::now("Flotilla Quickstart", "quickstart@flotilla.invalid")?;
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<_> = parent.iter().collect();
        let id = self.repo.commit(
            Some("HEAD"),
            &signature,
            &signature,
            message,
            &tree,
            &parents,
        )?;
        Ok(id.to_string())
    }
}
