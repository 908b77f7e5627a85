//! `GET /api/v1/demo/live`: the example streams as Server-Sent Events.
//! First a `sources` event (which sources are live), then `sample` events
//! as they arrive and a `sources` event whenever a source comes or goes.
//! A viewer that falls behind is dropped (it can reconnect); nothing is
//! stored.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::live::KEEP_ALIVE;
use crate::demo::DemoEvent;
use crate::state::AppState;

/// Opens the stream.
pub async fn live(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.demo.subscribe();
    let first = Event::default()
        .event("sources")
        .data(state.demo.sources_json());
    let rest = BroadcastStream::new(rx).map_while(|item| {
        item.ok().map(|e| match e {
            DemoEvent::Sample(json) => Event::default().event("sample").data(&*json),
            DemoEvent::Sources(json) => Event::default().event("sources").data(&*json),
        })
    });
    let stream = tokio_stream::once(first).chain(rest).map(Ok);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}
