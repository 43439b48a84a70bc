//! `flotilla-hub --config` with a bad file exits 2 and names the file, line and field.

use std::process::Command;

#[test]
fn bad_config_exits_2_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.yaml");
    std::fs::write(
        &path,
        "data_dir: data\nlisten:\n  agents: not-an-address\n  admin: 127.0.0.1:7444\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_flotilla-hub"))
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("listen.agents"), "{stderr}");
}

#[test]
fn missing_config_exits_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_flotilla-hub"))
        .args(["--config", "/nonexistent/hub.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/hub.yaml"));
}
