//! Command-line interface of `vitals`.

use clap::{Parser, Subcommand};

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
    Agent,
}

/// Runs what the command line asked for; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let _ = cli;
    println!(
        "vitals {}: the window and agent are not built yet; see README.md",
        env!("CARGO_PKG_VERSION")
    );
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
