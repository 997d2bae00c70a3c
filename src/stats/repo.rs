//! The summary, computed from the source of truth in one pass per breakdown.
//! Totals are the sums of the daily figures, so the two always agree.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::PgPool;

use crate::error::Result;

/// One local date's figures.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct DayFigures {
    pub date: NaiveDate,
    /// Guests whose local arrival date is this date (children count;
    /// cancelled and no-show stays count nowhere).
    pub arrivals: i64,
    /// Arrivals residing in Viet Nam (country of residence VNM).
    pub domestic_arrivals: i64,
    /// Arrivals residing abroad.
    pub international_arrivals: i64,
    /// Arrivals who left on the day they came (zero nights).
    pub same_day_guests: i64,
    /// Guests whose arrival ≤ this date < departure; a guest in house counts
    /// as departing today.
    pub guest_nights: i64,
    /// People (party sizes) counted in at tourist sites; not in arrivals.
    pub attraction_visitors: i64,
}

/// One cell of a breakdown: arrivals in the range and guest-nights inside it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Breakdown {
    /// The nationality (ICAO, mapped: D → DEU, GBD… → GBR), ward, type or
    /// class; "other" gathers cells below the minimum for readers who see no names.
    pub key: String,
    pub arrivals: i64,
    pub guest_nights: i64,
}

/// The figures of a range of local dates, both included (definitions as in
/// the README's "What the statistics mean"). Totals are the sums of `by_day`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Summary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub place_id: Option<i64>,
    /// Guests arriving on a date of the range.
    pub arrivals: i64,
    /// Arrivals residing in Viet Nam.
    pub domestic_arrivals: i64,
    /// Arrivals residing abroad.
    pub international_arrivals: i64,
    /// Arrivals with zero nights (also counted in arrivals).
    pub same_day_guests: i64,
    /// Nights whose date is inside the range; guests in house count the
    /// nights completed so far.
    pub guest_nights: i64,
    /// guest-nights ÷ arrivals; null without arrivals.
    pub average_length_of_stay: Option<f64>,
    /// guest-nights ÷ (beds × open days) × 100 over open accommodations with
    /// known beds, from each one's registration; null when no beds are known.
    pub bed_occupancy_rate: Option<f64>,
    /// Occupied room-nights (a stay's nights, once per stay) ÷ (rooms × open
    /// days) × 100; null when no rooms are known.
    pub room_occupancy_rate: Option<f64>,
    /// People counted in at tourist sites.
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

/// Where figures are read from: the rollups kept as data is written (what
/// every page and route reads), or the raw tables (the definition, used to
/// check the rollups and as the benchmark's baseline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Rollups,
    Raw,
}

/// One day as a query returns it.
pub struct DayRow {
    pub date: NaiveDate,
    pub arrivals: i64,
    pub domestic: i64,
    pub same_day: i64,
    pub nights: i64,
    pub visitors: i64,
}

impl From<DayRow> for DayFigures {
    fn from(r: DayRow) -> DayFigures {
        DayFigures {
            date: r.date,
            arrivals: r.arrivals,
            domestic_arrivals: r.domestic,
            international_arrivals: r.arrivals - r.domestic,
            same_day_guests: r.same_day,
            guest_nights: r.nights,
            attraction_visitors: r.visitors,
        }
    }
}

/// One row of a breakdown as a query returns it: which breakdown, the key,
/// arrivals and guest-nights.
pub struct BreakdownRow {
    pub dim: String,
    pub key: String,
    pub arrivals: i64,
    pub nights: i64,
}

/// Nights counted against the nights available, for beds and for rooms.
pub struct Capacity {
    pub bed_nights: i64,
    pub bed_days: i64,
    pub room_nights: i64,
    pub room_days: i64,
}

/// Site visitors of a range: every site and province of origin, most
/// visited first, and the 24 hours of the day.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Visitors {
    pub sites: Vec<(String, i64)>,
    pub provinces: Vec<(String, i64)>,
    pub by_hour: Vec<i64>,
}

impl Visitors {
    pub fn new(
        sites: Vec<(String, i64)>,
        provinces: Vec<(String, i64)>,
        hours: impl IntoIterator<Item = (i16, i64)>,
    ) -> Visitors {
        let ranked = |mut list: Vec<(String, i64)>| {
            list.retain(|(_, n)| *n != 0);
            list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            list
        };
        let mut by_hour = vec![0; 24];
        for (hour, n) in hours {
            if let Some(slot) = by_hour.get_mut(hour as usize) {
                *slot += n;
            }
        }
        Visitors {
            sites: ranked(sites),
            provinces: ranked(provinces),
            by_hour,
        }
    }
}

/// The summary from its parts; totals are the sums of the daily figures.
pub fn assemble(
    (from, to, place_id): (NaiveDate, NaiveDate, Option<i64>),
    by_day: Vec<DayFigures>,
    breakdowns: Vec<BreakdownRow>,
    capacity: Capacity,
) -> Summary {
    let mut by_nationality: Vec<Breakdown> = Vec::new();
    let mut by_ward = Vec::new();
    let mut by_type = Vec::new();
    let mut by_class = Vec::new();
    for r in breakdowns {
        let list = match r.dim.as_str() {
            "nationality" => &mut by_nationality,
            "class" => &mut by_class,
            "ward" => &mut by_ward,
            _ => &mut by_type,
        };
        let key = if r.dim == "nationality" {
            super::statistical_country(&r.key).to_owned()
        } else {
            r.key
        };
        match list.iter_mut().find(|b| b.key == key) {
            Some(b) => {
                b.arrivals += r.arrivals;
                b.guest_nights += r.nights;
            }
            None => list.push(Breakdown {
                key,
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
        list.retain(|b| b.arrivals != 0 || b.guest_nights != 0);
        list.sort_by(|a, b| {
            b.arrivals
                .cmp(&a.arrivals)
                .then(b.guest_nights.cmp(&a.guest_nights))
                .then(a.key.cmp(&b.key))
        });
    }
    let sum = |f: fn(&DayFigures) -> i64| by_day.iter().map(f).sum::<i64>();
    let arrivals = sum(|d| d.arrivals);
    let guest_nights = sum(|d| d.guest_nights);
    Summary {
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
    }
}

/// Figures for the local dates `from..=to`, from the rollups; `today` closes
/// the stays of guests still in house (they count the nights completed so far).
pub async fn summary(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    place_id: Option<i64>,
    tz: chrono_tz::Tz,
) -> Result<Summary> {
    summary_from(Source::Rollups, pool, from, to, today, place_id, tz).await
}

/// The first day the service holds any arrival or visit of, if any: an
/// earlier period that begins before it is not a full comparison.
pub async fn records_since(pool: &PgPool) -> Result<Option<NaiveDate>> {
    Ok(sqlx::query_scalar(
        "SELECT LEAST((SELECT min(arrival_date) FROM guests), (SELECT min(visit_date) FROM visits))",
    )
    .fetch_one(pool)
    .await?)
}

pub async fn summary_from(
    source: Source,
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    place_id: Option<i64>,
    tz: chrono_tz::Tz,
) -> Result<Summary> {
    match source {
        Source::Rollups => super::rollup::summary(pool, from, to, today, place_id, tz).await,
        Source::Raw => super::raw::summary(pool, from, to, today, place_id, tz).await,
    }
}

/// Site visitors of the whole city for the local dates `from..=to`.
pub async fn visitors_from(
    source: Source,
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Visitors> {
    match source {
        Source::Rollups => super::rollup::visitors(pool, from, to).await,
        Source::Raw => super::raw::visitors(pool, from, to).await,
    }
}
