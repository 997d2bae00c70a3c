//! The figures computed straight from the raw tables by plain GROUP BY
//! queries: the definition the rollups are checked against, and the
//! baseline `luutru stats check` measures them by.

use chrono::NaiveDate;
use sqlx::PgPool;

use super::repo::{assemble, BreakdownRow, Capacity, DayFigures, DayRow, Summary, Visitors};
use crate::error::Result;

/// Figures for the local dates `from..=to`; `today` closes the stays of
/// guests still in house (they count the nights completed so far).
pub async fn summary(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    place_id: Option<i64>,
    tz: chrono_tz::Tz,
) -> Result<Summary> {
    let days = sqlx::query_as!(
        DayRow,
        r#"WITH g AS (
               SELECT g.arrival_date AS a, COALESCE(g.departure_date, $3) AS dep, g.departed_at IS NOT NULL AS departed,
                      g.residence_country = 'VNM' AS domestic
               FROM guests g JOIN stays s ON s.id = g.stay_id
               WHERE s.status = 'active' AND ($4::bigint IS NULL OR g.place_id = $4)
                 AND g.arrival_date <= $2 AND GREATEST(COALESCE(g.departure_date, $3), g.arrival_date) >= $1
           ),
           days AS (SELECT generate_series($1::date, $2::date, interval '1 day')::date AS d),
           arr AS (
               SELECT a AS d, count(*) AS n, count(*) FILTER (WHERE domestic) AS dom,
                      count(*) FILTER (WHERE departed AND dep = a) AS same_day
               FROM g WHERE a >= $1 GROUP BY a
           ),
           nights AS (
               SELECT n::date AS d, count(*) AS n
               FROM g, generate_series(GREATEST(g.a, $1::date), LEAST(g.dep - 1, $2::date), interval '1 day') n
               GROUP BY 1
           ),
           vis AS (
               SELECT visit_date AS d, sum(party_size) AS n FROM visits
               WHERE visit_date BETWEEN $1 AND $2 AND ($4::bigint IS NULL OR place_id = $4) GROUP BY visit_date
           )
           SELECT days.d AS "date!", COALESCE(arr.n, 0) AS "arrivals!", COALESCE(arr.dom, 0) AS "domestic!",
                  COALESCE(arr.same_day, 0) AS "same_day!", COALESCE(nights.n, 0) AS "nights!",
                  COALESCE(vis.n, 0)::bigint AS "visitors!"
           FROM days LEFT JOIN arr ON arr.d = days.d LEFT JOIN nights ON nights.d = days.d LEFT JOIN vis ON vis.d = days.d
           ORDER BY days.d"#,
        from,
        to,
        today,
        place_id
    )
    .fetch_all(pool)
    .await?;
    let by_day: Vec<DayFigures> = days.into_iter().map(DayFigures::from).collect();

    let breakdowns = sqlx::query_as!(
        BreakdownRow,
        r#"WITH g AS (
               SELECT g.nationality, w.name AS ward, p.accommodation_type AS kind, p.class,
                      (g.arrival_date >= $1) AS arrived_in_range,
                      GREATEST(0, LEAST(COALESCE(g.departure_date, $3), $2::date + 1) - GREATEST(g.arrival_date, $1::date)) AS nights
               FROM guests g JOIN stays s ON s.id = g.stay_id JOIN places p ON p.id = g.place_id
               JOIN wards w ON w.id = p.ward_id
               WHERE s.status = 'active' AND ($4::bigint IS NULL OR g.place_id = $4)
                 AND g.arrival_date <= $2 AND GREATEST(COALESCE(g.departure_date, $3), g.arrival_date) >= $1
           )
           SELECT 'nationality' AS "dim!", nationality AS "key!", count(*) FILTER (WHERE arrived_in_range) AS "arrivals!", sum(nights)::bigint AS "nights!" FROM g GROUP BY nationality
           UNION ALL
           SELECT 'ward', ward, count(*) FILTER (WHERE arrived_in_range), sum(nights)::bigint FROM g GROUP BY ward
           UNION ALL
           SELECT 'type', COALESCE(kind, 'other'), count(*) FILTER (WHERE arrived_in_range), sum(nights)::bigint FROM g GROUP BY kind
           UNION ALL
           SELECT 'class', COALESCE(class::text, 'none'), count(*) FILTER (WHERE arrived_in_range), sum(nights)::bigint FROM g GROUP BY class"#,
        from,
        to,
        today,
        place_id
    )
    .fetch_all(pool)
    .await?;

    // Occupancy over open accommodations whose capacity is registered, from
    // the day each was registered on; a seasonal place counts only the days
    // of its months. Nights before a place's registration count on neither side.
    let capacity = sqlx::query_as!(
        Capacity,
        r#"WITH cap AS (
               SELECT p.id, p.beds, p.rooms, since,
                      (SELECT count(*) FROM generate_series(since, $2::date, interval '1 day') d
                       WHERE p.status = 'open'
                          OR (p.status = 'seasonal' AND extract(month FROM d)::smallint = ANY (p.season_months))) AS open_days
               FROM places p, LATERAL (SELECT GREATEST($1::date, (p.created_at AT TIME ZONE $5::text)::date) AS since) r
               WHERE p.kind = 'accommodation' AND p.status <> 'closed' AND ($4::bigint IS NULL OR p.id = $4)
           )
           SELECT
               COALESCE((SELECT sum(beds * open_days) FROM cap WHERE beds > 0), 0)::bigint AS "bed_days!",
               COALESCE((SELECT sum(rooms * open_days) FROM cap WHERE rooms > 0), 0)::bigint AS "room_days!",
               COALESCE((SELECT sum(GREATEST(0, LEAST(COALESCE(g.departure_date, $3), $2::date + 1) - GREATEST(g.arrival_date, cap.since)))
                         FROM guests g JOIN stays s ON s.id = g.stay_id JOIN cap ON cap.id = g.place_id AND cap.beds > 0
                         WHERE s.status = 'active' AND g.arrival_date <= $2), 0)::bigint AS "bed_nights!",
               COALESCE((SELECT sum(GREATEST(0, LEAST(COALESCE(s.departure_date, $3), $2::date + 1) - GREATEST(s.arrival_date, cap.since)))
                         FROM stays s JOIN cap ON cap.id = s.place_id AND cap.rooms > 0
                         WHERE s.status = 'active' AND s.arrival_date <= $2), 0)::bigint AS "room_nights!""#,
        from,
        to,
        today,
        place_id,
        tz.name()
    )
    .fetch_one(pool)
    .await?;

    Ok(assemble((from, to, place_id), by_day, breakdowns, capacity))
}

/// Site visitors by site, province of origin and hour, from the visits.
pub async fn visitors(pool: &PgPool, from: NaiveDate, to: NaiveDate) -> Result<Visitors> {
    let sites = sqlx::query!(
        r#"SELECT p.name, sum(v.party_size)::bigint AS "n!" FROM visits v JOIN places p ON p.id = v.place_id
           WHERE v.visit_date BETWEEN $1 AND $2 GROUP BY p.name"#,
        from,
        to
    )
    .fetch_all(pool)
    .await?;
    let provinces = sqlx::query!(
        r#"SELECT pr.name, sum(v.party_size)::bigint AS "n!" FROM visits v JOIN provinces pr ON pr.id = v.origin_province_id
           WHERE v.visit_date BETWEEN $1 AND $2 GROUP BY pr.name"#,
        from,
        to
    )
    .fetch_all(pool)
    .await?;
    let hours = sqlx::query!(
        r#"SELECT visit_hour, sum(party_size)::bigint AS "n!" FROM visits
           WHERE visit_date BETWEEN $1 AND $2 GROUP BY visit_hour"#,
        from,
        to
    )
    .fetch_all(pool)
    .await?;
    Ok(Visitors::new(
        sites.into_iter().map(|r| (r.name, r.n)).collect(),
        provinces.into_iter().map(|r| (r.name, r.n)).collect(),
        hours.into_iter().map(|r| (r.visit_hour, r.n)),
    ))
}
