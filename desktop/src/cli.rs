//! Command-line interface of `vitals`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::agent::{self, AgentOptions, exit};

/// Vitals: see this machine's CPU, memory and disks live; upload them only
/// after you agree to the data policy.
#[derive(Debug, Parser)]
#[command(name = "vitals", version, about)]
pub struct Cli {
    /// Start hidden in the system tray.
    #[arg(long)]
    pub tray: bool,
    /// What to run; without one, the desktop window.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sample and upload without a window, for servers and VMs.
    Agent {
        /// The Vitals server.
        #[arg(long, env = "VITALS_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// Agree to this policy version without asking (scripted installs);
        /// refused unless it is the server's current version.
        #[arg(long, value_name = "VERSION")]
        accept_policy: Option<String>,
        /// Sampling interval in milliseconds (250–10000).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(250..=10_000))]
        interval_ms: u64,
        /// Where the token and the upload queue live [default: the platform data directory].
        #[arg(long, env = "VITALS_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Also trust the CA certificates in this PEM file (a self-hosted server).
        #[arg(long, env = "VITALS_CA_FILE", value_name = "FILE")]
        ca_file: Option<PathBuf>,
    },
    /// Pair this machine with the instance the website created (website-first flow).
    Pair {
        /// The code the website shows, e.g. K7QF-2M9X.
        code: String,
        /// The Vitals server.
        #[arg(long, env = "VITALS_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// Where the token lives [default: the platform data directory].
        #[arg(long, env = "VITALS_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Also trust the CA certificates in this PEM file (a self-hosted server).
        #[arg(long, env = "VITALS_CA_FILE", value_name = "FILE")]
        ca_file: Option<PathBuf>,
    },
}

fn init_logs() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("VITALS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs what the command line asked for; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    init_logs();
    let Some(command) = cli.command else {
        return run_window(cli.tray);
    };
    // One thread: the agent's sampler and uploader are tasks side by side,
    // so a sample wakes one thread, not three.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vitals: cannot start: {e}");
            return exit::LOCAL;
        }
    };
    let result = rt.block_on(async {
        match command {
            Command::Agent {
                server,
                accept_policy,
                interval_ms,
                data_dir,
                ca_file,
            } => {
                agent::run(AgentOptions {
                    server,
                    accept_policy,
                    interval: Duration::from_millis(interval_ms),
                    data_dir: data_dir.unwrap_or_else(agent::default_data_dir),
                    ca_file,
                })
                .await
            }
            Command::Pair {
                code,
                server,
                data_dir,
                ca_file,
            } => {
                agent::pair(
                    &server,
                    &code,
                    &data_dir.unwrap_or_else(agent::default_data_dir),
                    ca_file.as_deref(),
                )
                .await
            }
        }
    });
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("vitals: {}", e.message);
            e.code
        }
    }
}

/// The desktop window (sampling starts at once; upload only after consent).
fn run_window(tray: bool) -> i32 {
    use crate::app::VitalsApp;
    use crate::engine::Engine;
    use crate::settings::{SettingsFile, default_config_dir};

    let config_dir = std::env::var_os("VITALS_CONFIG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(default_config_dir);
    let data_dir = std::env::var_os("VITALS_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(agent::default_data_dir);
    let mut file = SettingsFile::in_dir(&config_dir);
    let (settings, note) = file.load();
    if let Some(n) = &note {
        tracing::warn!("{n}");
    }
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("Vitals")
            .with_app_id("vitals")
            .with_inner_size([1180.0, 800.0])
            .with_min_inner_size([640.0, 420.0]),
        // Flat colours: dithering only costs fragment-shader time here.
        dithering: false,
        ..Default::default()
    };
    let result = eframe::run_native(
        "Vitals",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let wake = ctx.clone();
            let hidden = tray || settings.start_in_tray;
            let in_tray = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = in_tray.clone();
            let engine = Engine::start(
                settings,
                data_dir,
                // A zero-delay request paints twice (egui lets layouts settle);
                // a tiny delay paints once per sample. In the tray, none:
                // tray clicks wake the app through their own callback.
                std::sync::Arc::new(move || {
                    if !flag.load(std::sync::atomic::Ordering::Acquire) {
                        ctx.request_repaint_after(std::time::Duration::from_millis(1))
                    }
                }),
            )?;
            let paused = engine
                .shared
                .paused
                .load(std::sync::atomic::Ordering::Acquire);
            let tray = crate::tray::Tray::start(paused, move || wake.request_repaint());
            Ok(Box::new(
                VitalsApp::new(engine, file, note).with_tray(tray, hidden, in_tray),
            ))
        }),
    );
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!(
                "vitals: cannot open the window: {e}\n\
                 (no display? `vitals agent` samples and uploads without one)"
            );
            exit::LOCAL
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn interval_bounds_are_enforced() {
        assert!(Cli::try_parse_from(["vitals", "agent", "--interval-ms", "100"]).is_err());
        assert!(Cli::try_parse_from(["vitals", "agent", "--interval-ms", "250"]).is_ok());
    }
}
