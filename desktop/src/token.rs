//! Where the upload token lives: the OS keyring (Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows), or, where none
//! answers (a headless VM, no session bus), a file readable only by the
//! user in the data directory — and the app says which.

use std::path::{Path, PathBuf};

use crate::agent;

const SERVICE: &str = "vitals";

/// The token's home.
pub enum TokenStore {
    /// The OS keyring; one entry per server URL.
    Keyring(keyring::Entry),
    /// `agent.token` (mode 0600) in the data directory.
    File(PathBuf),
}

impl TokenStore {
    /// The keyring entry for `server` if the keyring answers (and
    /// `use_keyring`), else the file in `data_dir`, with a sentence saying so.
    pub fn open(server: &str, data_dir: &Path, use_keyring: bool) -> (TokenStore, Option<String>) {
        let fallback = |why: String| {
            let path = agent::token_path(data_dir);
            let note = format!(
                "no OS keyring answered ({why}); the token is kept in {} (readable only by you)",
                path.display()
            );
            tracing::warn!("{note}");
            (TokenStore::File(data_dir.to_owned()), Some(note))
        };
        if !use_keyring {
            return fallback("use_keyring = false in the settings".into());
        }
        match keyring::Entry::new(SERVICE, server) {
            Err(e) => fallback(match keyring::Entry::store_status() {
                Err(init) => init.to_string(),
                Ok(()) => e.to_string(),
            }),
            Ok(entry) => match entry.get_password() {
                Ok(_) | Err(keyring::Error::NoEntry) => (TokenStore::Keyring(entry), None),
                Err(e) => fallback(e.to_string()),
            },
        }
    }

    /// Where, in words (for the UI).
    pub fn describe(&self) -> String {
        match self {
            TokenStore::Keyring(_) => "the OS keyring".into(),
            TokenStore::File(dir) => agent::token_path(dir).display().to_string(),
        }
    }

    /// The stored token.
    pub fn get(&self) -> Option<String> {
        match self {
            TokenStore::Keyring(e) => e.get_password().ok().filter(|t| !t.is_empty()),
            TokenStore::File(dir) => agent::read_token(dir),
        }
    }

    /// Stores the token.
    pub fn set(&self, token: &str) -> Result<(), String> {
        match self {
            TokenStore::Keyring(e) => e
                .set_password(token)
                .map_err(|e| format!("cannot store the token in the OS keyring: {e}")),
            TokenStore::File(dir) => agent::write_token(dir, token).map_err(|e| e.message),
        }
    }

    /// Forgets the token.
    pub fn forget(&self) {
        match self {
            TokenStore::Keyring(e) => {
                let _ = e.delete_credential();
            }
            TokenStore::File(dir) => agent::forget_token(dir),
        }
    }
}
