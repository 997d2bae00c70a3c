//! `GET /api/v1/stats/live/stream`: the live figures as server-sent events.
//! A check-in on any instance publishes on Redis; every instance's open
//! streams hear it and send the new figures within a second. Without Redis
//! the stream falls back to asking PostgreSQL every few seconds.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use futures_util::stream::{self, Stream, StreamExt};

use super::live::{self, Live, CHANNEL};
use super::routes::LiveQuery;
use crate::auth::CurrentUser;
use crate::error::Result;
use crate::extract::ApiQuery;
use crate::AppState;

/// Without Redis, how often the figures are read again.
const POLL: Duration = Duration::from_secs(3);
/// A burst of check-ins becomes one update.
const SETTLE: Duration = Duration::from_millis(150);

fn event(live: &Live) -> Event {
    Event::default()
        .event("live")
        .json_data(live)
        .unwrap_or_else(|_| Event::default().comment("unreadable figures"))
}

/// Live figures as `text/event-stream`: a `live` event now and after every
/// change (`place_id` narrows to one place).
#[utoipa::path(get, path = "/api/v1/stats/live/stream", tag = "statistics", params(LiveQuery),
    responses((status = 200, content_type = "text/event-stream",
               description = "`event: live` with the same JSON as /api/v1/stats/live, at once and after each change")))]
pub async fn live_stream(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(q): ApiQuery<LiveQuery>,
) -> Result<impl IntoResponse> {
    user.require_stats(q.place_id)?;
    let place = q.place_id;
    let first = live::get(&state, place).await?;
    let changes = state.cache.subscribe(CHANNEL).await;
    let updates = match changes {
        Some(messages) => {
            let state = state.clone();
            messages
                .filter_map(move |msg| {
                    let relevant = msg
                        .get_payload::<String>()
                        .is_ok_and(|p| live::touches(&p, place));
                    async move { relevant.then_some(()) }
                })
                .then(move |()| {
                    let state = state.clone();
                    async move {
                        tokio::time::sleep(SETTLE).await;
                        live::get(&state, place).await.ok()
                    }
                })
                .filter_map(|live| async move { live })
                .boxed()
        }
        None => {
            let state = state.clone();
            stream::unfold(first.clone(), move |last| {
                let state = state.clone();
                async move {
                    loop {
                        tokio::time::sleep(POLL).await;
                        if let Ok(now) = live::get(&state, place).await {
                            if now != last {
                                return Some((now.clone(), now));
                            }
                        }
                    }
                }
            })
            .boxed()
        }
    };
    let events: std::pin::Pin<
        Box<dyn Stream<Item = std::result::Result<Event, Infallible>> + Send>,
    > = stream::once(async move { first })
        .chain(updates)
        .map(|live| Ok(event(&live)))
        .boxed();
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
