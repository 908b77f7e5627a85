//! `vitals-server`: the Vitals HTTP API, storage backends, quotas, demo relays
//! and website. See `docs/ARCHITECTURE.md` for the module map.
#![warn(missing_docs)]

pub mod app;
pub mod codes;
pub mod config;
pub mod demo;
pub mod erase;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod identity;
pub mod launch;
pub mod limiter;
pub mod live;
pub mod metrics;
pub mod secret;
pub mod state;
pub mod stats;
pub mod store;
