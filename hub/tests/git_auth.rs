//! Fetching over smart HTTP with a token file, against `git http-backend` behind a small
//! server that demands basic auth. Skips with a notice where python3 or git is missing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use flotilla_config::GitAuth;
use flotilla_hub::source::GitSource;

mod support;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(root: &Path, user: &str, token: &str) -> Option<(Server, u16)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/git_http.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(root)
        .args([user, token])
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let port = line.trim().parse().ok()?;
    Some((Server(child), port))
}

#[test]
fn https_style_token_auth_fetches_and_a_wrong_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ready = support::bare_repo(dir.path(), "served/fleet.git");
    if !ready {
        eprintln!("notice: git is not usable here; skipping the HTTP auth test");
        return;
    }
    let Some((_server, port)) = start_server(&dir.path().join("served"), "git", "s3cret") else {
        eprintln!("notice: python3 is not available; skipping the HTTP auth test");
        return;
    };
    let url = format!("http://127.0.0.1:{port}/fleet.git");

    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let auth = GitAuth {
        token_file: Some(token.clone()),
        ..Default::default()
    };
    let source = GitSource::new(&url, "main", auth, &dir.path().join("mirror.git"));
    let revision = source.fetch().expect("fetch with the right token");
    let fs = source.snapshot(&revision.commit).unwrap();
    use flotilla_kustomize::FileSystem;
    assert_eq!(fs.read_file("a.yaml").unwrap(), b"a: 1\n");

    std::fs::write(&token, "wrong").unwrap();
    let auth = GitAuth {
        token_file: Some(token),
        ..Default::default()
    };
    let source = GitSource::new(&url, "main", auth, &dir.path().join("mirror2.git"));
    let err = source
        .fetch()
        .expect_err("a wrong token is refused")
        .to_string();
    assert!(err.starts_with(&url), "{err}");

    let source = GitSource::new(
        &url,
        "main",
        GitAuth::default(),
        &dir.path().join("mirror3.git"),
    );
    let err = source.fetch().expect_err("no credentials").to_string();
    assert!(err.contains("token_file"), "{err}");
}
