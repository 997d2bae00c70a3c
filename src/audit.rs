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
) -> sqlx::Result<()>
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
    .await?;
    Ok(())
}
