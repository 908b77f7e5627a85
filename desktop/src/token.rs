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

#[cfg(test)]
mod tests {
    use super::*;

    const INSIDE: &str = "VITALS_TEST_INSIDE_DBUS";

    /// The real Secret Service: re-runs this test inside `dbus-run-session`
    /// with Debian's gnome-keyring unlocked and `HOME` in a temporary folder,
    /// then stores, reads and forgets a token through `keyring`.
    #[test]
    fn secret_service_keeps_the_token() {
        if std::env::var_os(INSIDE).is_some() {
            let dir = tempfile::tempdir().unwrap();
            let (store, note) = TokenStore::open("http://127.0.0.1:1", dir.path(), true);
            assert!(note.is_none(), "keyring not used: {note:?}");
            assert!(matches!(store, TokenStore::Keyring(_)));
            assert_eq!(store.get(), None);
            store.set("tok-123").unwrap();
            assert_eq!(store.get().as_deref(), Some("tok-123"));
            // Nothing was written to the fallback file.
            assert!(!agent::token_path(dir.path()).exists());
            store.forget();
            assert_eq!(store.get(), None);
            return;
        }
        let home = tempfile::tempdir().unwrap();
        let exe = std::env::current_exe().unwrap();
        let script = format!(
            "echo -n test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 && \
             exec '{}' --exact token::tests::secret_service_keeps_the_token --nocapture --test-threads 1",
            exe.display()
        );
        let out = std::process::Command::new("dbus-run-session")
            .args(["--", "sh", "-c", &script])
            .env("HOME", home.path())
            .env(INSIDE, "1")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .output()
            .expect(
                "dbus-run-session (Debian packages dbus-daemon, gnome-keyring) must be installed",
            );
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "{text}");
    }

    #[test]
    fn without_a_keyring_the_file_is_used_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let (store, note) = TokenStore::open("http://x", dir.path(), false);
        assert!(note.unwrap().contains("readable only by you"));
        store.set("abc").unwrap();
        assert_eq!(store.get().as_deref(), Some("abc"));
        assert!(agent::token_path(dir.path()).exists());
        store.forget();
        assert_eq!(store.get(), None);
    }
}
