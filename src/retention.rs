//! The retention purge: once a guest left more than `RETENTION_DAYS` ago,
//! their personal data (the `guest_identities` row: name, date of birth,
//! document, address, phone, visa) is deleted. The guest row stays with the
//! facts statistics count (place, dates, nationality, residence, sex, age
//! band), so figures computed before and after a purge are the same.
//!
//! Every instance runs the job; rows are claimed with `SKIP LOCKED`.

use std::time::Duration;

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgPool;

use crate::error::Result;
use crate::AppState;

const BATCH: i64 = 1000;
const EVERY: Duration = Duration::from_secs(3600);

/// Delete the personal data of guests who departed before `cutoff`; returns
/// how many guests were purged. Each batch is audited.
pub async fn purge(db: &PgPool, cutoff: NaiveDate) -> Result<i64> {
    let mut total = 0;
    loop {
        let mut tx = db.begin().await?;
        let purged = sqlx::query_scalar!(
            r#"WITH due AS (
                   SELECT i.guest_id FROM guest_identities i JOIN guests g ON g.id = i.guest_id
                   WHERE g.departure_date < $1
                   LIMIT $2
                   FOR UPDATE OF i SKIP LOCKED
               )
               DELETE FROM guest_identities i USING due WHERE i.guest_id = due.guest_id
               RETURNING i.guest_id"#,
            cutoff,
            BATCH
        )
        .fetch_all(&mut *tx)
        .await?;
        if purged.is_empty() {
            tx.rollback().await?;
            return Ok(total);
        }
        let count = purged.len() as i64;
        crate::audit::record(
            &mut *tx,
            None,
            "retention.purge",
            None,
            None,
            json!({"guests": count, "departed_before": cutoff}),
        )
        .await?;
        tx.commit().await?;
        total += count;
    }
}

pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        let cutoff = crate::localtime::today(state.tz())
            - chrono::Duration::days(state.config.retention_days);
        let result = purge(&state.db, cutoff).await;
        crate::metrics::job_ran("retention_purge", result.is_ok());
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(guests = n, %cutoff, "personal data past retention deleted"),
            Err(e) => {
                tracing::warn!(error = %e, "retention purge failed; it runs again in an hour")
            }
        }
    }
}
