//! Automatic check-out. A guest who leaves without checking out would stay
//! "in house" for ever and swell every figure after them; once their
//! expected departure day is over, the stay is closed, dated at the
//! check-out time of that day, and marked "automatic" in the register. On
//! the day itself the desk still sees them among today's departures.
//!
//! Every instance runs the job; rows are claimed with `SKIP LOCKED`, so two
//! instances never close the same stay twice and never wait on each other.

use std::time::Duration;

use chrono::{NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

use crate::error::Result;
use crate::AppState;

/// Stays closed per transaction: small enough to keep locks short.
const BATCH: i64 = 500;
const EVERY: Duration = Duration::from_secs(60);

/// Close every stay whose expected departure day is over (local), dated at
/// `checkout_time` of that day. Returns the places touched, for cache
/// invalidation.
pub async fn run_once(db: &PgPool, tz: Tz, checkout_time: NaiveTime) -> Result<Vec<i64>> {
    let mut places = Vec::new();
    loop {
        let mut tx = db.begin().await?;
        // The departure is the expected day at check-out time, never before
        // the arrival (a guest who came after noon on their last day).
        let closed = sqlx::query!(
            r#"WITH due AS (
                   SELECT id, GREATEST(arrived_at, (expected_departure + $2::time) AT TIME ZONE $1::text) AS at
                   FROM stays
                   WHERE departed_at IS NULL
                     AND expected_departure < (now() AT TIME ZONE $1::text)::date
                   ORDER BY expected_departure
                   LIMIT $3
                   FOR UPDATE SKIP LOCKED
               )
               UPDATE stays s
               SET departed_at = due.at,
                   departure_date = (due.at AT TIME ZONE $1::text)::date,
                   checkout_by = 'automatic'
               FROM due WHERE s.id = due.id
               RETURNING s.id, s.place_id, s.departed_at AS "departed_at!", s.departure_date AS "departure_date!""#,
            tz.name(),
            checkout_time,
            BATCH
        )
        .fetch_all(&mut *tx)
        .await?;
        if closed.is_empty() {
            tx.rollback().await?;
            break;
        }
        let ids: Vec<uuid::Uuid> = closed.iter().map(|r| r.id).collect();
        let at: Vec<chrono::DateTime<Utc>> = closed.iter().map(|r| r.departed_at).collect();
        let days: Vec<chrono::NaiveDate> = closed.iter().map(|r| r.departure_date).collect();
        let place_ids: Vec<i64> = closed.iter().map(|r| r.place_id).collect();
        // A guest who left earlier keeps their own departure.
        sqlx::query!(
            "UPDATE guests g SET departed_at = GREATEST(g.arrived_at, c.at), departure_date = c.day
             FROM unnest($1::uuid[], $2::timestamptz[], $3::date[]) AS c(stay_id, at, day)
             WHERE g.stay_id = c.stay_id AND g.departed_at IS NULL",
            &ids,
            &at,
            &days
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            r#"INSERT INTO audit_log (actor_id, action, place_id, target, detail)
               SELECT NULL, 'stay.check_out', c.place_id, c.stay_id::text, '{"by": "automatic"}'::jsonb
               FROM unnest($1::uuid[], $2::bigint[]) AS c(stay_id, place_id)"#,
            &ids,
            &place_ids
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(stays = ids.len(), "checked out automatically");
        places.extend(place_ids);
        if (closed.len() as i64) < BATCH {
            break;
        }
    }
    places.sort_unstable();
    places.dedup();
    Ok(places)
}

/// The job: once a minute, for as long as the service runs.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = run_once(&state.db, state.tz(), state.config.checkout_time).await;
        crate::metrics::job_ran("automatic_checkout", result.is_ok());
        match result {
            Ok(places) => {
                for place in places {
                    crate::stats::live::invalidate(&state, place).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "automatic check-out failed; next try in a minute")
            }
        }
    }
}
