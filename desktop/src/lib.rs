//! `vitals-desktop`: the `vitals` desktop app and `vitals agent`. This is the
//! foundation stage: the command line only.
#![warn(missing_docs)]

pub mod cli;
