//! The summary, computed from the source of truth in one pass per breakdown.
//! Totals are the sums of the daily figures, so the two always agree.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::PgPool;

use crate::error::Result;

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct DayFigures {
    pub date: NaiveDate,
    pub arrivals: i64,
    pub domestic_arrivals: i64,
    pub international_arrivals: i64,
    pub same_day_guests: i64,
    pub guest_nights: i64,
    pub attraction_visitors: i64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Breakdown {
    pub key: String,
    pub arrivals: i64,
    pub guest_nights: i64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Summary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub place_id: Option<i64>,
    pub arrivals: i64,
    pub domestic_arrivals: i64,
    pub international_arrivals: i64,
    pub same_day_guests: i64,
    pub guest_nights: i64,
    /// guest-nights ÷ arrivals; null without arrivals.
    pub average_length_of_stay: Option<f64>,
    /// Percentage; null when no beds are known.
    pub bed_occupancy_rate: Option<f64>,
    /// Percentage; null when no rooms are known.
    pub room_occupancy_rate: Option<f64>,
    pub attraction_visitors: i64,
    pub by_day: Vec<DayFigures>,
    pub by_nationality: Vec<Breakdown>,
    pub by_ward: Vec<Breakdown>,
    pub by_accommodation_type: Vec<Breakdown>,
    /// Stars of the accommodation (1 to 5), or "none".
    pub by_class: Vec<Breakdown>,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Fold every breakdown cell with fewer than `min` arrivals into one "other"
/// cell, for readers who see no names: a cell of two Laotian guests at one
/// ward points at two people.
pub fn fold_for_reader(summary: &mut Summary, role: crate::auth::Role, min: i64) {
    if !role.sees_names() {
        fold_small_cells(summary, min);
    }
}

fn fold_small_cells(summary: &mut Summary, min: i64) {
    for list in [
        &mut summary.by_nationality,
        &mut summary.by_ward,
        &mut summary.by_accommodation_type,
        &mut summary.by_class,
    ] {
        let (keep, small): (Vec<Breakdown>, Vec<Breakdown>) =
            list.drain(..).partition(|b| b.arrivals >= min);
        *list = keep;
        if !small.is_empty() {
            list.push(Breakdown {
                key: "other".to_owned(),
                arrivals: small.iter().map(|b| b.arrivals).sum(),
                guest_nights: small.iter().map(|b| b.guest_nights).sum(),
            });
        }
    }
}

pub fn rate(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| round1(numerator as f64 * 100.0 / denominator as f64))
}

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
    let days = sqlx::query!(
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
           nights AS (SELECT days.d, count(*) AS n FROM days JOIN g ON g.a <= days.d AND days.d < g.dep GROUP BY days.d),
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
    let by_day: Vec<DayFigures> = days
        .into_iter()
        .map(|r| DayFigures {
            date: r.date,
            arrivals: r.arrivals,
            domestic_arrivals: r.domestic,
            international_arrivals: r.arrivals - r.domestic,
            same_day_guests: r.same_day,
            guest_nights: r.nights,
            attraction_visitors: r.visitors,
        })
        .collect();

    let breakdowns = sqlx::query!(
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
    let mut by_nationality: Vec<Breakdown> = Vec::new();
    let mut by_ward = Vec::new();
    let mut by_type = Vec::new();
    let mut by_class = Vec::new();
    for r in breakdowns {
        match r.dim.as_str() {
            "nationality" => {
                let key = super::statistical_country(&r.key).to_owned();
                match by_nationality.iter_mut().find(|b| b.key == key) {
                    Some(b) => {
                        b.arrivals += r.arrivals;
                        b.guest_nights += r.nights;
                    }
                    None => by_nationality.push(Breakdown {
                        key,
                        arrivals: r.arrivals,
                        guest_nights: r.nights,
                    }),
                }
            }
            "class" => by_class.push(Breakdown {
                key: r.key,
                arrivals: r.arrivals,
                guest_nights: r.nights,
            }),
            "ward" => by_ward.push(Breakdown {
                key: r.key,
                arrivals: r.arrivals,
                guest_nights: r.nights,
            }),
            _ => by_type.push(Breakdown {
                key: r.key,
                arrivals: r.arrivals,
                guest_nights: r.nights,
            }),
        }
    }
    for list in [
        &mut by_nationality,
        &mut by_ward,
        &mut by_type,
        &mut by_class,
    ] {
        list.sort_by(|a, b| {
            b.arrivals
                .cmp(&a.arrivals)
                .then(b.guest_nights.cmp(&a.guest_nights))
                .then(a.key.cmp(&b.key))
        });
    }

    // Occupancy over open accommodations whose capacity is registered, from
    // the day each was registered on; a seasonal place counts only the days
    // of its months. Nights before a place's registration count on neither side.
    let capacity = sqlx::query!(
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

    let sum = |f: fn(&DayFigures) -> i64| by_day.iter().map(f).sum::<i64>();
    let arrivals = sum(|d| d.arrivals);
    let guest_nights = sum(|d| d.guest_nights);
    Ok(Summary {
        from,
        to,
        place_id,
        arrivals,
        domestic_arrivals: sum(|d| d.domestic_arrivals),
        international_arrivals: sum(|d| d.international_arrivals),
        same_day_guests: sum(|d| d.same_day_guests),
        guest_nights,
        average_length_of_stay: (arrivals > 0)
            .then(|| (guest_nights as f64 / arrivals as f64 * 100.0).round() / 100.0),
        bed_occupancy_rate: rate(capacity.bed_nights, capacity.bed_days),
        room_occupancy_rate: rate(capacity.room_nights, capacity.room_days),
        attraction_visitors: sum(|d| d.attraction_visitors),
        by_day,
        by_nationality,
        by_ward,
        by_accommodation_type: by_type,
        by_class,
    })
}
