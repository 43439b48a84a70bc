//! Fetching over SSH with a key file, against a real `sshd` on 127.0.0.1, with the server's
//! host key pinned by a known_hosts file. Skips with a notice where sshd, ssh-keygen or
//! git are missing or sshd cannot run (it needs root for its privilege separation).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flotilla_config::GitAuth;
use flotilla_hub::source::GitSource;
use support::run;

mod support;

const SSHD: &str = "/usr/sbin/sshd";

struct Sshd(Child);

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn keygen(dir: &Path, name: &str) -> bool {
    run(
        dir,
        "ssh-keygen",
        &["-q", "-t", "ed25519", "-N", "", "-f", name],
    )
}

fn free_port() -> Option<u16> {
    Some(
        TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port(),
    )
}

/// Starts sshd for `dir`'s keys; `None` (with a notice) where that is not possible here.
fn start_sshd(dir: &Path) -> Option<(Sshd, u16)> {
    if !Path::new(SSHD).exists() || !keygen(dir, "host_key") || !keygen(dir, "client_key") {
        return None;
    }
    std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).ok()?;
    let _ = std::fs::create_dir_all("/run/sshd");
    let port = free_port()?;
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
         PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile {d}/sshd.pid\n",
        d = dir.display()
    );
    std::fs::write(dir.join("sshd_config"), config).ok()?;
    let child = Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let sshd = Sshd(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((sshd, port))
}

fn user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "root".to_string())
}

#[test]
fn ssh_key_auth_fetches_and_an_unknown_host_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let repo_ready = support::bare_repo(dir.path(), "fleet.git");
    let Some((_sshd, port)) = repo_ready.then(|| start_sshd(dir.path())).flatten() else {
        eprintln!(
            "notice: sshd, ssh-keygen or git is unavailable here; skipping the SSH fetch test"
        );
        return;
    };
    let host_key = std::fs::read_to_string(dir.path().join("host_key.pub")).unwrap();
    let host_key: Vec<&str> = host_key.split_whitespace().take(2).collect();
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{port} {}\n", host_key.join(" ")),
    )
    .unwrap();
    let url = format!(
        "ssh://{}@127.0.0.1:{port}{}/fleet.git",
        user(),
        dir.path().display()
    );
    let auth = GitAuth {
        ssh_key_file: Some(dir.path().join("client_key")),
        known_hosts_file: Some(known_hosts.clone()),
        ..Default::default()
    };

    let source = GitSource::new(&url, "main", auth.clone(), &dir.path().join("mirror.git"));
    let revision = source.fetch().expect("fetch over ssh");
    let fs = source.snapshot(&revision.commit).unwrap();
    use flotilla_kustomize::FileSystem;
    assert_eq!(fs.read_file("a.yaml").unwrap(), b"a: 1\n");

    // A server whose host key is not the pinned one is refused before any credential.
    keygen(dir.path(), "other_key");
    let other = std::fs::read_to_string(dir.path().join("other_key.pub")).unwrap();
    let other: Vec<&str> = other.split_whitespace().take(2).collect();
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{port} {}\n", other.join(" ")),
    )
    .unwrap();
    let source = GitSource::new(&url, "main", auth, &dir.path().join("mirror2.git"));
    let err = source.fetch().expect_err("unknown host key").to_string();
    assert!(
        err.contains("host key is not in source.auth.known_hosts_file"),
        "{err}"
    );

    let source = GitSource::new(
        &url,
        "main",
        GitAuth::default(),
        &dir.path().join("mirror3.git"),
    );
    let err = source.fetch().expect_err("no known_hosts").to_string();
    assert!(err.contains("known_hosts_file"), "{err}");
}
