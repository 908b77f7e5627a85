//! `vitals-server`: the Vitals HTTP API, storage backends, quotas, demo relays
//! and website.
#![warn(missing_docs)]

pub mod cli;
pub mod identity;
pub mod secret;
pub mod stats;
pub mod store;
