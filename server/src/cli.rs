//! Command-line interface of `vitals-server`.

use clap::Parser;

/// The Vitals server: stores consented uploads for the current Europe/Warsaw
/// day and serves the website.
#[derive(Debug, Parser)]
#[command(name = "vitals-server", version, about)]
pub struct Cli {}

/// Parses the command line and runs the server; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let _ = cli;
    println!(
        "vitals-server {}: nothing to serve yet; see README.md",
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
