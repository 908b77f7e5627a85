//! HTTP tests of the whole contract: `oneshot` against `app()` over a real
//! SQLite file in a temporary folder, with an injected clock.

#![allow(clippy::unwrap_used)]

mod common;

mod auth;
mod bad_requests;
mod flows;
mod midnight;
