//! `vitals-server`: the Vitals HTTP API, storage backends, quotas, demo relays
//! and website. This is the foundation stage: the command line only.
#![warn(missing_docs)]

pub mod cli;
