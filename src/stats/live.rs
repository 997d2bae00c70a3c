//! Live figures: guests in house now, arrivals and attraction visitors today.
//! Computed from PostgreSQL and kept in Redis for a second; every
//! check-in, desk entry and check-out deletes the cached copy after its
//! commit, so every instance reads a figure at most a moment old.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cache::Cache;
use crate::error::Result;
use crate::AppState;

// Short enough that a reader racing a commit is never more than a second behind.
const TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Live {
    pub date: chrono::NaiveDate,
    pub place_id: Option<i64>,
    pub guests_in_house: i64,
    pub arrivals_today: i64,
    pub attraction_visitors_today: i64,
}

fn key(place_id: Option<i64>) -> String {
    match place_id {
        Some(id) => format!("live:place:{id}"),
        None => "live:city".to_owned(),
    }
}

/// Where a place's own month figures (its register page) are kept between
/// changes.
pub fn month_key(place_id: i64, today: chrono::NaiveDate) -> String {
    format!("figures:month:{place_id}:{today}")
}

/// The channel on which every instance hears that a place's figures moved.
pub const CHANNEL: &str = "live:changed";

/// After a commit: forget the cached figures and tell every instance's
/// live streams, which answer within a second.
pub async fn invalidate(state: &AppState, place_id: i64) {
    invalidate_places(&state.cache, state.tz(), &[place_id]).await;
}

/// The same for every place a batch of check-ins touched: one deletion and
/// one message (the places' ids, comma-separated) for the whole batch.
pub async fn invalidate_places(cache: &Cache, tz: chrono_tz::Tz, places: &[i64]) {
    if places.is_empty() {
        return;
    }
    let today = crate::localtime::today(tz);
    let keys: Vec<String> = std::iter::once(key(None))
        .chain(
            places
                .iter()
                .flat_map(|&id| [key(Some(id)), month_key(id, today)]),
        )
        .collect();
    let ids: Vec<String> = places.iter().map(i64::to_string).collect();
    let message = ids.join(",");
    if cache.cluster_mode().await {
        // The keys and the channel are on different nodes: the message
        // waits until the figures are gone.
        cache.delete(&keys).await;
        cache.publish(CHANNEL, &message).await;
    } else {
        // One connection keeps their order: sent together, one round trip.
        tokio::join!(cache.delete(&keys), cache.publish(CHANNEL, &message));
    }
}

/// Whether a message on [`CHANNEL`] concerns `place` (any place: `None`).
pub fn touches(message: &str, place: Option<i64>) -> bool {
    place.is_none_or(|place| message.split(',').any(|id| id.parse() == Ok(place)))
}

pub async fn get(state: &AppState, place_id: Option<i64>) -> Result<Live> {
    let today = crate::localtime::today(state.tz());
    let cache_key = key(place_id);
    if let Some(live) = state.cache.get_json::<Live>(&cache_key).await {
        if live.date == today {
            return Ok(live);
        }
    }
    let row = sqlx::query!(
        r#"SELECT
             (SELECT count(*) FROM guests g JOIN stays s ON s.id = g.stay_id
              WHERE g.departed_at IS NULL AND s.status = 'active' AND ($2::bigint IS NULL OR g.place_id = $2)) AS "in_house!",
             (SELECT count(*) FROM guests g JOIN stays s ON s.id = g.stay_id
              WHERE g.arrival_date = $1 AND s.status = 'active' AND ($2::bigint IS NULL OR g.place_id = $2)) AS "arrivals!",
             (SELECT COALESCE(sum(party_size), 0) FROM visits
              WHERE visit_date = $1 AND ($2::bigint IS NULL OR place_id = $2))::bigint AS "visitors!""#,
        today,
        place_id
    )
    .fetch_one(&state.db)
    .await?;
    let live = Live {
        date: today,
        place_id,
        guests_in_house: row.in_house,
        arrivals_today: row.arrivals,
        attraction_visitors_today: row.visitors,
    };
    state.cache.set_json(&cache_key, &live, TTL).await;
    Ok(live)
}
