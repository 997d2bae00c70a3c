//! The retention purge: once a guest left more than `RETENTION_DAYS` ago,
//! their personal data (the `guest_identities` row: name, date of birth,
//! document, address, phone, visa) is deleted. The guest row stays with the
//! facts statistics count (place, dates, nationality, residence, sex, age
//! band), so figures computed before and after a purge are the same.
//!
//! The data sits in month partitions (by the time the guest was recorded,
//! migration 0009). A month that ended, whose every guest is past retention,
//! is detached and dropped whole; what is left (a long stay in a month, the
//! default partition) is deleted row by row.
//!
//! Every instance runs the job; one at a time drops months (an advisory lock),
//! rows are claimed with `SKIP LOCKED`. Making, detaching or dropping a
//! month locks `guests` and `guest_identities` whole, so it takes both
//! locks first, in the order check-ins take them, and waits at most a tenth
//! of a second for them before trying again: check-ins going on meanwhile
//! wait that long at most, and none fails.

use std::time::Duration;

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgPool;

use crate::error::{Error, Result};
use crate::AppState;

const BATCH: i64 = 1000;
const EVERY: Duration = Duration::from_secs(3600);

/// Months of partitions made ahead of time.
const MONTHS_AHEAD: i32 = 3;

/// Make this month's partition and the next ones, if missing; returns how
/// many were made.
pub async fn prepare_partitions(db: &PgPool) -> Result<i32> {
    let missing = sqlx::query_scalar!(
        r#"SELECT count(*) AS "missing!" FROM generate_series(0, $1 - 1) AS i
           WHERE to_regclass('guest_identities_'
                             || to_char(date_trunc('month', now() AT TIME ZONE 'UTC')
                                        + make_interval(months => i), 'YYYY_MM')) IS NULL"#,
        MONTHS_AHEAD
    )
    .fetch_one(db)
    .await?;
    if missing == 0 {
        return Ok(0);
    }
    retry_lock_waits(|| async {
        let mut tx = db.begin().await?;
        sqlx::query(LOCK_WAIT).execute(&mut *tx).await?;
        sqlx::query(LOCK_TABLES).execute(&mut *tx).await?;
        let made = sqlx::query_scalar!(
            r#"SELECT ensure_identity_partitions((now() AT TIME ZONE 'UTC')::date, $1) AS "made!""#,
            MONTHS_AHEAD
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(made)
    })
    .await
}

/// Delete the personal data of guests who departed before `cutoff`, as of
/// `today` (months that ended before today's month may be dropped whole);
/// returns how many guests were purged. Each month and each batch is audited.
pub async fn purge(db: &PgPool, cutoff: NaiveDate, today: NaiveDate) -> Result<i64> {
    let (whole, failed) = drop_months(db, cutoff, today).await?;
    let rows = purge_rows(db, cutoff).await?;
    match failed {
        Some(e) => Err(e),
        None => Ok(whole + rows),
    }
}

/// Drop the month partitions that ended before `today`'s month and whose
/// every guest departed before `cutoff`; returns how many guests they held,
/// and the first error of a month that was not dropped.
async fn drop_months(
    db: &PgPool,
    cutoff: NaiveDate,
    today: NaiveDate,
) -> Result<(i64, Option<Error>)> {
    let months = sqlx::query_scalar!(
        r#"SELECT c.relname::text AS "name!"
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'guest_identities'::regclass
             AND c.relname ~ '^guest_identities_[0-9]{4}_[0-9]{2}$'
             AND to_date(right(c.relname, 7), 'YYYY_MM') + interval '1 month'
                 <= date_trunc('month', $1::date)
           ORDER BY 1"#,
        today
    )
    .fetch_all(db)
    .await?;
    let mut total = 0;
    let mut failed = None;
    for name in months {
        // A month that could not be dropped now is left for the next run;
        // the others, and the rows after them, go on.
        match retry_lock_waits(|| drop_month(db, &name, cutoff)).await {
            Ok(held) => total += held,
            Err(e) => {
                tracing::warn!(month = %name, error = %e, "a month past retention was not dropped; the next run tries again");
                failed.get_or_insert(e);
            }
        }
    }
    Ok((total, failed))
}

/// Drop month `name` if every guest in it departed before `cutoff`;
/// returns how many guests it held (none when it is kept, or when another
/// instance dropped it first).
async fn drop_month(db: &PgPool, name: &str, cutoff: NaiveDate) -> Result<i64> {
    // The name comes from the catalogue and matched the pattern of a month:
    // it is safe to write into the statement.
    let mut tx = db.begin().await?;
    // One instance at a time drops months (the others wait, as for any
    // lock): two weighing two months would each hold `guests` while asking
    // to lock it whole, and deadlock. The month may be gone by then,
    // dropped by another instance. This wait stalls no check-in, so it is
    // not bounded as the table locks' are: an instance waits for the
    // other's month, however long the load makes it.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('luutru.retention.months'))")
        .execute(&mut *tx)
        .await?;
    sqlx::query(LOCK_WAIT).execute(&mut *tx).await?;
    let there: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
    if !there {
        return Ok(0);
    }
    // Nobody changes this month's rows while it is weighed.
    sqlx::query(&format!("LOCK TABLE {name} IN SHARE MODE"))
        .execute(&mut *tx)
        .await?;
    let (held, kept): (i64, i64) = sqlx::query_as(&format!(
        "SELECT count(*), count(*) FILTER (WHERE g.departure_date IS NULL OR g.departure_date >= $1)
         FROM {name} i JOIN guests g ON g.id = i.guest_id"
    ))
    .bind(cutoff)
    .fetch_one(&mut *tx)
    .await?;
    if kept > 0 {
        return Ok(0);
    }
    sqlx::query(LOCK_TABLES).execute(&mut *tx).await?;
    sqlx::query(&format!(
        "ALTER TABLE guest_identities DETACH PARTITION {name}"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!("DROP TABLE {name}"))
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        json!({"guests": held, "departed_before": cutoff, "partition": name}),
    )
    .await?;
    tx.commit().await?;
    Ok(held)
}

/// How long a change to the months waits for a lock. Making, detaching or
/// dropping a month locks `guest_identities` and `guests` whole, and
/// check-ins queue behind a lock that waits: this is the longest they stall.
const LOCK_WAIT: &str = "SET LOCAL lock_timeout = '100ms'";

/// The locks a change to the months takes, all before it changes anything
/// and in the order a check-in takes them: `guests`, then
/// `guest_identities` with every month. Taken one by one as the statements
/// need them, they would come in the other order (DETACH locks
/// `guest_identities`, DROP then `guests`), and a check-in holding `guests`
/// and waiting for `guest_identities` would deadlock with the purge; after
/// a second PostgreSQL cancels one of the two, and that may be the batch
/// of check-ins.
const LOCK_TABLES: &str = "LOCK TABLE guests, guest_identities IN ACCESS EXCLUSIVE MODE";

/// Tries of a change to the months whose lock waited too long, and the
/// pause between two: at a peak the locks come free between two batches of
/// check-ins, so a later try finds them; after the last, the job's next run
/// tries again.
const LOCK_TRIES: u32 = 10;
const LOCK_PAUSE: Duration = Duration::from_millis(200);

/// Run `change`, again after a pause when it gave up waiting for a lock.
async fn retry_lock_waits<T, F, Fut>(mut change: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut tries = 1;
    loop {
        match change().await {
            Err(Error::Database(sqlx::Error::Database(e)))
                if e.code().as_deref() == Some("55P03") && tries < LOCK_TRIES =>
            {
                tries += 1;
                tokio::time::sleep(LOCK_PAUSE).await;
            }
            done => return done,
        }
    }
}

/// A purge in the audit log (by nobody: the job).
async fn audit(tx: &mut sqlx::PgConnection, detail: serde_json::Value) -> Result<()> {
    crate::audit::record(tx, None, "retention.purge", None, None, detail).await
}

/// Delete, in batches, the rows of guests who departed before `cutoff`
/// that no dropped month took with it.
async fn purge_rows(db: &PgPool, cutoff: NaiveDate) -> Result<i64> {
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
        audit(&mut tx, json!({"guests": count, "departed_before": cutoff})).await?;
        tx.commit().await?;
        total += count;
    }
}

pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = prepare_partitions(&state.db).await {
            tracing::warn!(error = %e, "making the coming months' partitions failed; new rows go to the default partition");
        }
        if let Err(e) = crate::auth::repo::forget_old_sessions(&state.db, 30).await {
            tracing::warn!(error = %e, "forgetting old sessions failed");
        }
        let today = crate::localtime::today(state.tz());
        let cutoff = today - chrono::Duration::days(state.config.retention_days);
        let result = purge(&state.db, cutoff, today).await;
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
