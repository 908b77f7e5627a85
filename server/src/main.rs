//! Thin entry point: parse flags, call the library.

use clap::Parser;

fn main() {
    std::process::exit(vitals_server::launch::main(
        vitals_server::config::Cli::parse(),
    ));
}
