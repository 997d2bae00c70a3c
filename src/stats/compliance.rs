//! Compliance for the office: open establishments with no check-in for a
//! while (a register kept on paper, or not at all), and police notifications
//! sent late or still overdue, by establishment. Counts only; no names.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgPool;

use crate::error::Result;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Quiet {
    pub place_id: i64,
    pub name: String,
    pub ward: String,
    /// Null when the place has never had a check-in.
    pub last_arrival: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notifications {
    pub place_id: i64,
    pub name: String,
    pub ward: String,
    /// Guests who arrived in the range.
    pub guests: i64,
    pub sent_late: i64,
    /// Past the deadline and still not sent.
    pub overdue: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Compliance {
    pub quiet_days: i64,
    pub quiet: Vec<Quiet>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub notifications: Vec<Notifications>,
}

/// Open accommodations (seasonal ones in their months) registered more than
/// `days` days ago with no arrival in the last `days` days; and, for guests
/// who arrived from `from` to `to`, the late and overdue notifications of
/// each place that has any.
pub async fn compliance(
    pool: &PgPool,
    days: i64,
    from: NaiveDate,
    to: NaiveDate,
    tz: chrono_tz::Tz,
) -> Result<Compliance> {
    let quiet = sqlx::query!(
        r#"SELECT p.id, p.name, w.name AS ward,
                  (SELECT max(s.arrived_at) FROM stays s WHERE s.place_id = p.id AND s.status = 'active') AS last_arrival
           FROM places p JOIN wards w ON w.id = p.ward_id
           WHERE p.kind = 'accommodation'
             AND (p.status = 'open'
                  OR (p.status = 'seasonal'
                      AND extract(month FROM now() AT TIME ZONE $2::text)::smallint = ANY (p.season_months)))
             AND p.created_at < now() - make_interval(days => $1::int)
             AND NOT EXISTS (SELECT 1 FROM stays s WHERE s.place_id = p.id AND s.status = 'active'
                             AND s.arrived_at >= now() - make_interval(days => $1::int))
           ORDER BY last_arrival NULLS FIRST, p.name"#,
        days as i32,
        tz.name()
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| Quiet {
        place_id: r.id,
        name: r.name,
        ward: r.ward,
        last_arrival: r.last_arrival,
    })
    .collect();
    let notifications = sqlx::query!(
        r#"SELECT p.id, p.name, w.name AS ward, count(*) AS "guests!",
                  count(*) FILTER (WHERE g.notified_at > g.notify_deadline) AS "sent_late!",
                  count(*) FILTER (WHERE g.notified_at IS NULL AND g.notify_deadline < now()) AS "overdue!"
           FROM guests g JOIN stays s ON s.id = g.stay_id AND s.status = 'active'
           JOIN places p ON p.id = g.place_id JOIN wards w ON w.id = p.ward_id
           WHERE g.arrival_date BETWEEN $1 AND $2
           GROUP BY p.id, p.name, w.name
           HAVING count(*) FILTER (WHERE g.notified_at > g.notify_deadline
                                   OR (g.notified_at IS NULL AND g.notify_deadline < now())) > 0
           ORDER BY 6 DESC, 5 DESC, p.name"#,
        from,
        to
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| Notifications {
        place_id: r.id,
        name: r.name,
        ward: r.ward,
        guests: r.guests,
        sent_late: r.sent_late,
        overdue: r.overdue,
    })
    .collect();
    Ok(Compliance {
        quiet_days: days,
        quiet,
        from,
        to,
        notifications,
    })
}
