//! `vitals-desktop`: the `vitals` desktop app and `vitals agent`.
//!
//! Collection is separate from drawing: [`sampler`] reads the machine
//! (sysinfo only), [`history`] keeps ring buffers and window statistics,
//! [`queue`] holds consented batches on disk until the server has them,
//! [`upload`] decides what each server answer means and drives [`uplink`]
//! (the ingest connection), [`engine`] runs all of
//! that behind the window ([`app`]) and [`agent`] without one; [`settings`]
//! and [`token`] keep the person's choices and the upload token.
#![warn(missing_docs)]

pub mod agent;
pub mod app;
pub mod cli;
pub mod engine;
pub mod history;
pub mod queue;
pub mod sampler;
pub mod settings;
pub mod token;
pub mod tray;
pub mod uplink;
pub mod upload;
