//! Thin entry point: parse flags, call the library.

use clap::Parser;

fn main() {
    std::process::exit(vitals_server::cli::run(vitals_server::cli::Cli::parse()));
}
