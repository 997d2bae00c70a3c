//! The audit log: who did what to which place, and every read or export of
//! guests' personal data by someone outside the place.

use serde_json::Value;

pub async fn record<'e, E>(
    db: E,
    actor_id: Option<i64>,
    action: &str,
    place_id: Option<i64>,
    target: Option<&str>,
    detail: Value,
) -> crate::error::Result<()>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query!(
        "INSERT INTO audit_log (actor_id, action, place_id, target, detail) VALUES ($1, $2, $3, $4, $5)",
        actor_id,
        action,
        place_id,
        target,
        detail
    )
    .execute(db)
    .await
    .map_err(|e| match crate::error::Error::from(e) {
        // Nothing is recorded about a place that does not exist: the
        // request was about nothing.
        e if e.constraint() == Some("audit_log_place_id_fkey") => {
            crate::error::Error::NotFound("there is no such place")
        }
        e => e,
    })?;
    Ok(())
}
