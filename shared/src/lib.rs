//! `vitals-shared`: everything the Vitals server and desktop app must agree on.
//!
//! - [`wire`]: the JSON types of the HTTP contract (`../shared/DESIGN.md`).
//! - [`limits`]: the numeric limits of that contract, in one place.
//! - [`validate`]: checks a [`wire::Batch`] against every rule of the contract,
//!   all or nothing.
//! - [`stats`]: exact count, mean, median, min, max and p95, plus a rolling
//!   window for the desktop.
//! - [`downsample`]: min/max-preserving reduction of a time series to at most
//!   N points, used by both server and desktop.
//! - [`day`]: the Europe/Warsaw day clock and the [`day::Clock`] trait.
//! - [`mounts`]: which mounted file systems are disks.
//! - [`policy`]: the data policy text and version (from `assets/policy.md`).
//!
//! Nothing in this crate does I/O or needs an async runtime.
#![warn(missing_docs)]

pub mod day;
pub mod downsample;
pub mod limits;
pub mod mounts;
pub mod policy;
pub mod stats;
pub mod validate;
pub mod wire;
