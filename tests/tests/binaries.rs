//! Both binaries start, print their version and help, and exit 0; bad
//! settings give a clear message and exit code 2.

use std::process::Command;

use vitals_tests::workspace_bin;

fn run(bin: &str, args: &[&str]) -> std::process::Output {
    let path = workspace_bin(bin);
    Command::new(&path)
        .args(args)
        .env_remove("VITALS_SECRET")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
}

#[test]
fn server_prints_version_and_help() {
    let v = run("vitals-server", &["--version"]);
    assert!(v.status.success());
    assert_eq!(
        String::from_utf8(v.stdout).unwrap().trim(),
        format!("vitals-server {}", env!("CARGO_PKG_VERSION"))
    );
    let h = String::from_utf8(run("vitals-server", &["--help"]).stdout).unwrap();
    for flag in [
        "--listen",
        "--store",
        "--tls-cert",
        "--behind-proxy",
        "--daily-rows",
        "VITALS_DAILY_ROWS",
    ] {
        assert!(h.contains(flag), "help lacks {flag}");
    }
}

#[test]
fn desktop_prints_version_and_help() {
    let v = run("vitals", &["--version"]);
    assert!(v.status.success());
    assert_eq!(
        String::from_utf8(v.stdout).unwrap().trim(),
        format!("vitals {}", env!("CARGO_PKG_VERSION"))
    );
    let help = String::from_utf8(run("vitals", &["--help"]).stdout).unwrap();
    assert!(help.contains("Usage: vitals"));
    assert!(help.contains("agent"));
}

#[test]
fn server_refuses_public_plain_http_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("v.sqlite").display());
    let out = run(
        "vitals-server",
        &["--listen", "0.0.0.0:0", "--store", &store],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--tls-cert") && err.contains("--behind-proxy"),
        "{err}"
    );
    assert!(
        !dir.path().join("v.sqlite").exists(),
        "nothing is created before settings are valid"
    );
}

#[test]
fn server_explains_bad_flags_and_files() {
    let out = run("vitals-server", &["--daily-rows", "lots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("lots"));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("v.toml");
    std::fs::write(&cfg, "listen = 8080\n").unwrap();
    let out = run("vitals-server", &["--config", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("v.toml") && err.contains("not valid"), "{err}");
}
