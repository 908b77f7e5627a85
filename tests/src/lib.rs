//! Helpers shared by the end-to-end tests in `tests/tests/`: finding the
//! workspace's built binaries and running them.

use std::path::PathBuf;

/// Path of a binary built by this workspace (`vitals-server`, `vitals`), in the
/// same target profile directory as the running test.
pub fn workspace_bin(name: &str) -> PathBuf {
    // The test executable lives in target/<profile>/deps/; binaries one up.
    let mut dir = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("."));
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}
