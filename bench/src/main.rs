//! `vitals-bench`: the load generator and benchmarks behind `make bench`.
//!
//! Every benchmark runs the real release `vitals-server` binary as a separate
//! process on loopback, with this generator beside it on the same machine, and
//! reports ratios against a reference measured in the same run where the issue
//! asks for one. Results go to stdout as Markdown for `docs/BENCHMARKS.md`.

// A benchmark tool: a failed set-up should stop it loudly.
#![allow(clippy::unwrap_used)]

mod agents;
mod bulk;
mod reads;
mod server;
mod stats;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "vitals-bench", about = "Vitals benchmarks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Simulated agents: one batch per second each (1 cpu, 1 ram, 2 disc rows).
    Agents {
        /// Agent counts to run, one after another.
        #[arg(long, value_delimiter = ',', default_value = "2000")]
        counts: Vec<usize>,
        /// Seconds per count.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Bulk ingest of 1,000-row batches against a bare rusqlite insert loop.
    Bulk {
        /// Rows to ingest in total.
        #[arg(long, default_value_t = 2_000_000)]
        rows: usize,
        /// Concurrent uploaders.
        #[arg(long, default_value_t = 4)]
        clients: usize,
    },
    /// Stats and 1,000-point series over 100 instances with a full day each.
    Reads {
        /// Instances in the store.
        #[arg(long, default_value_t = 100)]
        instances: usize,
        /// Requests of each kind.
        #[arg(long, default_value_t = 500)]
        requests: usize,
    },
}

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        match cli.cmd {
            Cmd::Agents { counts, seconds } => agents::run(&counts, seconds).await,
            Cmd::Bulk { rows, clients } => bulk::run(rows, clients).await,
            Cmd::Reads {
                instances,
                requests,
            } => reads::run(instances, requests).await,
        }
    });
}
