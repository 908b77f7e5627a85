//! `GET /api/v1/me/live`: Server-Sent Events, one `sample` event per row
//! committed from now on.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::error::ApiError;
use crate::extract::Caller;
use crate::state::AppState;

/// Keep-alive comment interval.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Counts a viewer while its stream is alive.
struct ViewerGuard(AppState);

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        self.0.metrics.live_viewers.dec();
    }
}

/// Opens the stream. It ends when the viewer falls too far behind (it can
/// reconnect) or when the instance is deleted.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let rx = state
        .live
        .subscribe(caller.instance)
        .ok_or_else(|| ApiError::internal("live hub lock poisoned"))?;
    state.metrics.live_viewers.inc();
    let guard = ViewerGuard(state.clone());
    let stream = BroadcastStream::new(rx).map_while(move |item| {
        let _alive = &guard;
        // A lagged viewer ends here instead of silently missing rows.
        item.ok()
            .map(|json| Ok(Event::default().event("sample").data(&*json)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
