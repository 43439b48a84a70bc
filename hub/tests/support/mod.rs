//! Shared by the Git transport tests: running a program quietly, and a bare repository
//! with one commit to serve.

use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `program args` in `dir`; true when it ran and succeeded.
pub fn run(dir: &Path, program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Writes `<dir>/<bare>`: a bare repository whose `main` holds `a.yaml` (`a: 1`). False
/// where git is not usable here.
pub fn bare_repo(dir: &Path, bare: &str) -> bool {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).is_ok()
        && run(&work, "git", &["init", "-q", "-b", "main"])
        && std::fs::write(work.join("a.yaml"), "a: 1\n").is_ok()
        && run(&work, "git", &["add", "."])
        && run(
            &work,
            "git",
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@e",
                "commit",
                "-qm",
                "one",
            ],
        )
        && run(dir, "git", &["clone", "-q", "--bare", "work", bare])
}
