//! The server secret that keys the instance-id HMAC.
//!
//! It comes from `VITALS_SECRET` (64 hex digits) or from a file, created with
//! mode 0600 on first start. Rotating it orphans every instance, by design.
//! `Debug` never prints it.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not 64 hex digits.
    #[error(
        "VITALS_SECRET must be 64 hex digits (32 bytes); generate one with `openssl rand -hex 32`"
    )]
    BadEnv,
    /// The file exists but does not hold a secret.
    #[error(
        "the secret file '{0}' is not 64 hex digits; fix or remove it (removing it orphans every instance)"
    )]
    BadFile(PathBuf),
    /// The file could not be read or written.
    #[error("cannot use the secret file '{path}': {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The OS random source failed.
    #[error("cannot get random bytes for a new secret: {0}")]
    Random(getrandom::Error),
}

/// 32 secret bytes.
#[derive(Clone)]
pub struct ServerSecret([u8; 32]);

impl ServerSecret {
    /// From raw bytes (tests).
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// The key bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Loads the secret: the `env` value if given, else the file at `path`,
    /// created (mode 0600) with a fresh random secret when missing.
    pub fn load(env: Option<&str>, path: &Path) -> Result<Self, SecretError> {
        if let Some(hex) = env {
            return parse_hex(hex.trim()).map(Self).ok_or(SecretError::BadEnv);
        }
        let io = |source| SecretError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => parse_hex(text.trim())
                .map(Self)
                .ok_or_else(|| SecretError::BadFile(path.to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(SecretError::Random)?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut f = create_private(path).map_err(io)?;
                f.write_all(to_hex(&bytes).as_bytes()).map_err(io)?;
                f.write_all(b"\n").map_err(io)?;
                f.sync_all().map_err(io)?;
                tracing::info!(path = %path.display(), "created a new server secret");
                Ok(Self(bytes))
            }
            Err(e) => Err(io(e)),
        }
    }
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(<redacted>)")
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

fn parse_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let hi = (chunk[0] as char).to_digit(16)?;
        let lo = (chunk[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/server.secret");
        let a = ServerSecret::load(None, &path).unwrap();
        let b = ServerSecret::load(None, &path).unwrap();
        assert_eq!(a.bytes(), b.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{a:?}").contains(&to_hex(a.bytes())));
    }

    #[test]
    fn env_wins_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let hex = "ab".repeat(32);
        assert_eq!(
            ServerSecret::load(Some(&hex), &path).unwrap().bytes(),
            &[0xab; 32]
        );
        assert!(!path.exists());
        assert!(matches!(
            ServerSecret::load(Some("xyz"), &path),
            Err(SecretError::BadEnv)
        ));
    }

    #[test]
    fn a_broken_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "not hex").unwrap();
        assert!(matches!(
            ServerSecret::load(None, &path),
            Err(SecretError::BadFile(_))
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not hex");
    }
}
