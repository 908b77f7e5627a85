//! The Warsaw midnight erase.
//!
//! [`roll_day`] erases every row outside the current Warsaw day and resets the
//! daily counters. [`run`] calls it at start-up (to catch a midnight missed
//! while the server was down) and then after each Warsaw midnight. Reads are
//! filtered to the current day regardless, so a late erase never shows
//! yesterday's rows to anyone.

use std::time::Duration;

use tokio::sync::watch;
use vitals_shared::day::next_midnight;
use vitals_shared::wire::RowCounts;

use crate::error::ApiError;
use crate::state::AppState;

/// Longest sleep between clock checks, so a changed system clock (or an
/// injected one in tests) is noticed within this long.
pub const MAX_NAP: Duration = Duration::from_secs(30);

/// Erases everything outside today; returns rows erased.
pub async fn roll_day(state: &AppState) -> Result<RowCounts, ApiError> {
    let today = state.clock.today();
    let erased = state
        .timed("erase", state.store.erase_outside(today))
        .await?;
    tracing::info!(day = %today.label(), cpu = erased.cpu, ram = erased.ram, disc = erased.disc, "erased rows outside the Warsaw day");
    Ok(erased)
}

/// Runs the erase at start and after each midnight until `stop` turns true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut last_day = None;
    loop {
        let today = state.clock.today();
        if last_day != Some(today) {
            match roll_day(&state).await {
                Ok(_) => last_day = Some(today),
                // Store down: try again after the nap; reads stay filtered.
                Err(e) => tracing::warn!(code = e.code, "midnight erase failed; will retry"),
            }
        }
        let now = state.clock.now();
        let until = (next_midnight(now) - now)
            .to_std()
            .unwrap_or(Duration::ZERO);
        let nap = until.min(MAX_NAP) + Duration::from_millis(5);
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
