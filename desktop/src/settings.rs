//! Settings of the desktop app, in a readable TOML file in the platform
//! config directory (`~/.config/vitals/settings.toml` on Linux).
//!
//! A file that cannot be read or parsed is never overwritten: the app runs
//! on defaults, says why, and the first save keeps the old file beside the
//! new one as `settings.toml.broken`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::sampler::{MAX_INTERVAL, MIN_INTERVAL};

/// What the person can change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The Vitals server uploads go to (after consent).
    pub server_url: String,
    /// Sampling interval in milliseconds (250–10000).
    pub interval_ms: u64,
    /// History kept in the window, in minutes (1–1440).
    pub history_minutes: u64,
    /// Closing the window keeps Vitals running in the tray.
    pub close_to_tray: bool,
    /// Start hidden in the tray.
    pub start_in_tray: bool,
    /// Extra CA certificate (PEM) trusted for a self-hosted server.
    pub ca_file: Option<PathBuf>,
    /// Keep the token in the OS keyring (else in a private file).
    pub use_keyring: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server_url: "http://127.0.0.1:8080".into(),
            interval_ms: 1000,
            history_minutes: 60,
            close_to_tray: true,
            start_in_tray: false,
            ca_file: None,
            use_keyring: true,
        }
    }
}

impl Settings {
    /// The sampling interval, clamped to what the sampler offers.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms).clamp(MIN_INTERVAL, MAX_INTERVAL)
    }

    /// The history span, 1 minute to 24 hours.
    pub fn history(&self) -> Duration {
        Duration::from_secs(self.history_minutes.clamp(1, 1440) * 60)
    }

    /// Problems a person should fix, in words.
    pub fn check(&self) -> Result<(), String> {
        let url = self.server_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!(
                "server_url '{url}' must start with https:// (or http:// for a server on this machine)"
            ));
        }
        if !(250..=10_000).contains(&self.interval_ms) {
            return Err(format!(
                "interval_ms {} must be from 250 to 10000",
                self.interval_ms
            ));
        }
        if !(1..=1440).contains(&self.history_minutes) {
            return Err(format!(
                "history_minutes {} must be from 1 to 1440",
                self.history_minutes
            ));
        }
        Ok(())
    }
}

/// The settings file and what loading it found.
#[derive(Debug)]
pub struct SettingsFile {
    path: PathBuf,
    broken: bool,
}

/// The platform config directory (`~/.config/vitals` on Linux).
pub fn default_config_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "vitals")
        .map(|d| d.config_dir().to_owned())
        .unwrap_or_else(|| PathBuf::from("vitals-config"))
}

impl SettingsFile {
    /// `settings.toml` in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join("settings.toml"),
            broken: false,
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the settings. A missing file gives the defaults; a broken one
    /// gives the defaults and a message naming the file and the problem.
    pub fn load(&mut self) -> (Settings, Option<String>) {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (Settings::default(), None);
            }
            Err(e) => {
                self.broken = true;
                return (
                    Settings::default(),
                    Some(format!(
                        "cannot read {}: {e}; using the defaults",
                        self.path.display()
                    )),
                );
            }
        };
        let parsed = toml::from_str::<Settings>(&text)
            .map_err(|e| e.message().to_owned())
            .and_then(|s| s.check().map(|()| s));
        match parsed {
            Ok(s) => (s, None),
            Err(why) => {
                self.broken = true;
                (
                    Settings::default(),
                    Some(format!(
                        "{} is not valid ({why}); using the defaults until you save, \
                         and the file is kept as settings.toml.broken then",
                        self.path.display()
                    )),
                )
            }
        }
    }

    /// Saves `s` (write to a temporary file, then rename). A broken file is
    /// first moved aside as `settings.toml.broken`.
    pub fn save(&mut self, s: &Settings) -> Result<(), String> {
        s.check()?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if self.broken {
            let aside = self.path.with_extension("toml.broken");
            std::fs::rename(&self.path, &aside)
                .map_err(|e| format!("cannot keep the old settings as {}: {e}", aside.display()))?;
            self.broken = false;
        }
        let text = toml::to_string_pretty(s).map_err(|e| e.to_string())?;
        let tmp = self.path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_gives_defaults_and_save_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = SettingsFile::in_dir(dir.path());
        assert_eq!(f.load(), (Settings::default(), None));
        let s = Settings {
            interval_ms: 500,
            server_url: "https://vitals.example.org".into(),
            ..Settings::default()
        };
        f.save(&s).unwrap();
        let text = std::fs::read_to_string(f.path()).unwrap();
        assert!(text.contains("interval_ms = 500"), "{text}");
        assert_eq!(SettingsFile::in_dir(dir.path()).load().0, s);
    }

    #[test]
    fn broken_file_falls_back_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        for (bad, want) in [
            ("interval_ms = \"fast\"", "invalid type"),
            ("interval_ms = 5", "from 250 to 10000"),
            ("colour = 1", "unknown field"),
            ("server_url = \"ftp://x\"", "https://"),
            ("[[[", "is not valid"),
        ] {
            std::fs::write(dir.path().join("settings.toml"), bad).unwrap();
            let mut f = SettingsFile::in_dir(dir.path());
            let (s, msg) = f.load();
            assert_eq!(s, Settings::default());
            let msg = msg.unwrap();
            assert!(
                msg.contains(want) && msg.contains("settings.toml"),
                "{bad}: {msg}"
            );
            // Loading never touches the file.
            assert_eq!(std::fs::read_to_string(f.path()).unwrap(), bad);
        }
        let mut f = SettingsFile::in_dir(dir.path());
        let _ = f.load();
        f.save(&Settings::default()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("settings.toml.broken")).unwrap(),
            "[[["
        );
    }
}
