//! Thin entry point: parse flags, call the library.

use clap::Parser;

fn main() {
    std::process::exit(vitals_desktop::cli::run(vitals_desktop::cli::Cli::parse()));
}
