//! Both binaries start, print their version and help, and exit 0.

use std::process::Command;

use vitals_tests::workspace_bin;

fn run(bin: &str, arg: &str) -> String {
    let path = workspace_bin(bin);
    let out = Command::new(&path)
        .arg(arg)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(out.status.success(), "{bin} {arg} failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn server_prints_version_and_help() {
    assert_eq!(
        run("vitals-server", "--version").trim(),
        format!("vitals-server {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(run("vitals-server", "--help").contains("Usage: vitals-server"));
}

#[test]
fn desktop_prints_version_and_help() {
    assert_eq!(
        run("vitals", "--version").trim(),
        format!("vitals {}", env!("CARGO_PKG_VERSION"))
    );
    let help = run("vitals", "--help");
    assert!(help.contains("Usage: vitals"));
    assert!(help.contains("agent"));
}
