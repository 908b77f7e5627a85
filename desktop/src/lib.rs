//! `vitals-desktop`: the `vitals` desktop app and `vitals agent`.
//!
//! Collection is separate from drawing: [`sampler`] reads the machine
//! (sysinfo only), [`history`] keeps ring buffers and window statistics,
//! [`queue`] holds consented batches on disk until the server has them,
//! [`upload`] decides what each server answer means. The window, consent,
//! the HTTP uploader loop and the tray are still to come.
#![warn(missing_docs)]

pub mod agent;
pub mod cli;
pub mod history;
pub mod queue;
pub mod sampler;
pub mod upload;
