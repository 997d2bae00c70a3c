//! The figures read from the rollups (migration 0005): day tables kept by
//! the database as guests, stays and visits are written, plus what is still
//! pending a fold, plus the nights of guests in house so far. A reader never
//! scans the stays; it reads one row per day (per place, per nationality)
//! of its range, and the guests in house.

use std::time::Duration;

use chrono::NaiveDate;
use sqlx::PgPool;

use super::repo::{assemble, BreakdownRow, Capacity, DayFigures, DayRow, Summary, Visitors};
use crate::error::Result;

/// How often pending rows are folded into the day tables.
const FOLD_EVERY: Duration = Duration::from_secs(1);

/// Move pending rows into the day tables; returns how many were moved.
/// Readers add what is pending, so this changes speed, never figures.
pub async fn fold(pool: &PgPool) -> Result<i64> {
    let moved = sqlx::query_scalar!(r#"SELECT stats_fold() AS "moved!""#)
        .fetch_one(pool)
        .await?;
    Ok(moved)
}

/// The background fold of one instance; instances take turns through an
/// advisory lock inside `stats_fold`.
pub async fn run(pool: PgPool) {
    let mut tick = tokio::time::interval(FOLD_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = fold(&pool).await;
        crate::metrics::job_ran("statistics_fold", result.is_ok());
        if let Err(e) = result {
            tracing::warn!(error = %e, "statistics fold failed; figures stay exact, reads get slower");
        }
    }
}

/// A read-only transaction for the rollup queries: each reads a few hundred
/// rows, where the planner's just-in-time compilation and parallel workers
/// cost more than the query itself.
async fn reader(pool: &PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await?;
    for setting in [
        "SET TRANSACTION READ ONLY",
        "SET LOCAL jit = off",
        "SET LOCAL max_parallel_workers_per_gather = 0",
    ] {
        sqlx::query(setting).execute(&mut *tx).await?;
    }
    Ok(tx)
}

pub async fn summary(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    place_id: Option<i64>,
    tz: chrono_tz::Tz,
) -> Result<Summary> {
    let mut tx = reader(pool).await?;
    let days = sqlx::query_as!(
        DayRow,
        r#"WITH days AS (SELECT generate_series($1::date, $2::date, interval '1 day')::date AS d),
           kept AS (
               SELECT day, arrivals, domestic_arrivals, same_day, nights, visitors FROM stats_place_days
               WHERE place_id = COALESCE($4::bigint, 0) AND day BETWEEN $1 AND $2
               UNION ALL
               SELECT day, arrivals, domestic_arrivals, same_day, nights, visitors FROM stats_pending
               WHERE day BETWEEN $1 AND $2 AND ($4::bigint IS NULL OR place_id = $4)
           ),
           per_day AS (
               SELECT day, sum(arrivals) AS arrivals, sum(domestic_arrivals) AS domestic, sum(same_day) AS same_day,
                      sum(nights) AS nights, sum(visitors) AS visitors
               FROM kept GROUP BY day
           ),
           open_nights AS (
               SELECT n::date AS d, count(*) AS nights
               FROM guests g,
                    generate_series(GREATEST(g.arrival_date, $1::date), LEAST($3::date - 1, $2::date), interval '1 day') n
               WHERE g.departed_at IS NULL AND ($4::bigint IS NULL OR g.place_id = $4) AND g.arrival_date <= $2
                 AND NOT EXISTS (SELECT 1 FROM stays s WHERE s.id = g.stay_id AND s.status <> 'active')
               GROUP BY 1
           )
           SELECT days.d AS "date!", COALESCE(p.arrivals, 0)::bigint AS "arrivals!",
                  COALESCE(p.domestic, 0)::bigint AS "domestic!", COALESCE(p.same_day, 0)::bigint AS "same_day!",
                  (COALESCE(p.nights, 0) + COALESCE(o.nights, 0))::bigint AS "nights!",
                  COALESCE(p.visitors, 0)::bigint AS "visitors!"
           FROM days LEFT JOIN per_day p ON p.day = days.d LEFT JOIN open_nights o ON o.d = days.d
           ORDER BY days.d"#,
        from,
        to,
        today,
        place_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let by_day: Vec<DayFigures> = days.into_iter().map(DayFigures::from).collect();

    // Nights of a guest in house within the range: from arrival (or the
    // range's first day) to today (or the range's last day).
    let breakdowns = sqlx::query_as!(
        BreakdownRow,
        r#"WITH open AS (
               SELECT g.place_id, g.nationality,
                      (count(*) * GREATEST(0, LEAST($3, $2::date + 1) - GREATEST(g.arrival_date, $1::date)))::bigint AS nights
               FROM guests g
               WHERE g.departed_at IS NULL AND ($4::bigint IS NULL OR g.place_id = $4) AND g.arrival_date <= $2
                 AND NOT EXISTS (SELECT 1 FROM stays s WHERE s.id = g.stay_id AND s.status <> 'active')
               GROUP BY g.place_id, g.nationality, g.arrival_date
           ),
           nationalities AS (
               SELECT nationality, sum(arrivals)::bigint AS arrivals, sum(nights)::bigint AS nights FROM (
                   SELECT nationality, arrivals, nights FROM stats_nationality_days
                   WHERE place_id = COALESCE($4::bigint, 0) AND day BETWEEN $1 AND $2
                   UNION ALL
                   SELECT nationality, arrivals, nights FROM stats_pending
                   WHERE nationality IS NOT NULL AND day BETWEEN $1 AND $2 AND ($4::bigint IS NULL OR place_id = $4)
                   UNION ALL
                   SELECT nationality, 0, nights FROM open
               ) x GROUP BY nationality
           ),
           per_place AS (
               SELECT place_id, sum(arrivals)::bigint AS arrivals, sum(nights)::bigint AS nights FROM (
                   SELECT place_id, arrivals, nights FROM stats_place_days
                   WHERE place_id <> 0 AND ($4::bigint IS NULL OR place_id = $4) AND day BETWEEN $1 AND $2
                   UNION ALL
                   SELECT place_id, arrivals, nights FROM stats_pending
                   WHERE nationality IS NOT NULL AND day BETWEEN $1 AND $2 AND ($4::bigint IS NULL OR place_id = $4)
                   UNION ALL
                   SELECT place_id, 0, nights FROM open
               ) x GROUP BY place_id
           ),
           g AS (
               SELECT w.name AS ward, p.accommodation_type AS kind, p.class, x.arrivals, x.nights
               FROM per_place x JOIN places p ON p.id = x.place_id JOIN wards w ON w.id = p.ward_id
           )
           SELECT 'nationality' AS "dim!", nationality AS "key!", arrivals AS "arrivals!", nights AS "nights!" FROM nationalities
           UNION ALL
           SELECT 'ward', ward, sum(arrivals)::bigint, sum(nights)::bigint FROM g GROUP BY ward
           UNION ALL
           SELECT 'type', COALESCE(kind, 'other'), sum(arrivals)::bigint, sum(nights)::bigint FROM g GROUP BY kind
           UNION ALL
           SELECT 'class', COALESCE(class::text, 'none'), sum(arrivals)::bigint, sum(nights)::bigint FROM g GROUP BY class"#,
        from,
        to,
        today,
        place_id
    )
    .fetch_all(&mut *tx)
    .await?;

    // Occupancy as in the raw definition: nights from each place's
    // registration day on, against its open days, counted month by month
    // for seasonal places.
    let capacity = sqlx::query_as!(
        Capacity,
        r#"WITH cap AS (
               SELECT p.id, p.beds, p.rooms, since,
                      CASE WHEN p.status = 'open' THEN GREATEST(0, $2::date - since + 1)
                           ELSE (SELECT COALESCE(sum(GREATEST(0, LEAST((m + interval '1 month')::date - 1, $2::date)
                                                                 - GREATEST(m::date, since) + 1)), 0)
                                 FROM generate_series(date_trunc('month', since::timestamp), $2::date::timestamp, interval '1 month') m
                                 WHERE extract(month FROM m)::smallint = ANY (p.season_months))
                      END AS open_days
               FROM places p, LATERAL (SELECT GREATEST($1::date, (p.created_at AT TIME ZONE $5::text)::date) AS since) r
               WHERE p.kind = 'accommodation' AND p.status <> 'closed' AND ($4::bigint IS NULL OR p.id = $4)
           ),
           kept AS (
               SELECT place_id, day, nights, room_nights FROM stats_place_days
               WHERE place_id <> 0 AND ($4::bigint IS NULL OR place_id = $4) AND day BETWEEN $1 AND $2
               UNION ALL
               SELECT place_id, day, nights, room_nights FROM stats_pending
               WHERE day BETWEEN $1 AND $2 AND ($4::bigint IS NULL OR place_id = $4)
           )
           SELECT
               COALESCE((SELECT sum(beds * open_days) FROM cap WHERE beds > 0), 0)::bigint AS "bed_days!",
               COALESCE((SELECT sum(rooms * open_days) FROM cap WHERE rooms > 0), 0)::bigint AS "room_days!",
               (COALESCE((SELECT sum(k.nights) FROM kept k JOIN cap ON cap.id = k.place_id AND cap.beds > 0
                          WHERE k.day >= cap.since), 0)
                + COALESCE((SELECT sum(GREATEST(0, LEAST($3, $2::date + 1) - GREATEST(g.arrival_date, cap.since)))
                            FROM guests g JOIN cap ON cap.id = g.place_id AND cap.beds > 0
                            WHERE g.departed_at IS NULL AND g.arrival_date <= $2
                              AND NOT EXISTS (SELECT 1 FROM stays s WHERE s.id = g.stay_id AND s.status <> 'active')), 0))::bigint AS "bed_nights!",
               (COALESCE((SELECT sum(k.room_nights) FROM kept k JOIN cap ON cap.id = k.place_id AND cap.rooms > 0
                          WHERE k.day >= cap.since), 0)
                + COALESCE((SELECT sum(GREATEST(0, LEAST($3, $2::date + 1) - GREATEST(s.arrival_date, cap.since)))
                            FROM stays s JOIN cap ON cap.id = s.place_id AND cap.rooms > 0
                            WHERE s.departed_at IS NULL AND s.status = 'active' AND s.arrival_date <= $2), 0))::bigint AS "room_nights!""#,
        from,
        to,
        today,
        place_id,
        tz.name()
    )
    .fetch_one(&mut *tx)
    .await?;

    tx.commit().await?;
    Ok(assemble((from, to, place_id), by_day, breakdowns, capacity))
}

pub async fn visitors(pool: &PgPool, from: NaiveDate, to: NaiveDate) -> Result<Visitors> {
    let mut tx = reader(pool).await?;
    let sites = sqlx::query!(
        r#"SELECT p.name, sum(x.visitors)::bigint AS "n!" FROM (
               SELECT place_id, visitors FROM stats_place_days WHERE place_id <> 0 AND day BETWEEN $1 AND $2
               UNION ALL
               SELECT place_id, visitors FROM stats_pending WHERE hour IS NOT NULL AND day BETWEEN $1 AND $2
           ) x JOIN places p ON p.id = x.place_id
           GROUP BY p.name"#,
        from,
        to
    )
    .fetch_all(&mut *tx)
    .await?;
    let by = sqlx::query!(
        r#"SELECT hour AS "hour!", province_id AS "province_id!", sum(visitors)::bigint AS "n!" FROM (
               SELECT hour, province_id, visitors FROM stats_visit_days WHERE day BETWEEN $1 AND $2
               UNION ALL
               SELECT hour, COALESCE(province_id, 0), visitors FROM stats_pending
               WHERE hour IS NOT NULL AND day BETWEEN $1 AND $2
           ) x GROUP BY 1, 2"#,
        from,
        to
    )
    .fetch_all(&mut *tx)
    .await?;
    let names: std::collections::HashMap<i32, String> =
        sqlx::query!("SELECT id, name FROM provinces")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect();
    let mut provinces: Vec<(String, i64)> = Vec::new();
    for r in &by {
        let Some(name) = names.get(&r.province_id) else {
            continue;
        };
        match provinces.iter_mut().find(|(n, _)| n == name) {
            Some(p) => p.1 += r.n,
            None => provinces.push((name.clone(), r.n)),
        }
    }
    tx.commit().await?;
    Ok(Visitors::new(
        sites.into_iter().map(|r| (r.name, r.n)).collect(),
        provinces,
        by.iter().map(|r| (r.hour, r.n)),
    ))
}
