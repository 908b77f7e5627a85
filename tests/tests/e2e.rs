//! End-to-end tests: the real binaries, started as a user would start them.

// Test helpers outside #[test] fns panic on purpose when the world is wrong.
#![allow(clippy::unwrap_used)]

mod agent;
mod binaries;
mod demo;
mod durability;
mod secrets;
mod tls;
mod website;
mod window;
