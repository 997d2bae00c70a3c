//! A range against the period just before it and the same dates a year
//! earlier, as the office reports: (this ÷ that − 1) × 100, null where the
//! earlier figure is zero or the earlier period begins before the records
//! do (the city's first record, whatever place is asked for).

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use super::repo::{records_since, summary_from, Source, Summary};
use crate::error::Result;

/// The headline figures of a summary.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Key {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub arrivals: i64,
    pub domestic_arrivals: i64,
    pub international_arrivals: i64,
    pub same_day_guests: i64,
    pub guest_nights: i64,
    pub average_length_of_stay: Option<f64>,
    pub bed_occupancy_rate: Option<f64>,
    pub room_occupancy_rate: Option<f64>,
    pub attraction_visitors: i64,
}

impl From<&Summary> for Key {
    fn from(s: &Summary) -> Key {
        Key {
            from: s.from,
            to: s.to,
            arrivals: s.arrivals,
            domestic_arrivals: s.domestic_arrivals,
            international_arrivals: s.international_arrivals,
            same_day_guests: s.same_day_guests,
            guest_nights: s.guest_nights,
            average_length_of_stay: s.average_length_of_stay,
            bed_occupancy_rate: s.bed_occupancy_rate,
            room_occupancy_rate: s.room_occupancy_rate,
            attraction_visitors: s.attraction_visitors,
        }
    }
}

/// Percent changes of the counted figures; null where the earlier one is 0,
/// and all null where the earlier period begins before `records_since`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Change {
    pub arrivals: Option<f64>,
    pub domestic_arrivals: Option<f64>,
    pub international_arrivals: Option<f64>,
    pub same_day_guests: Option<f64>,
    pub guest_nights: Option<f64>,
    pub attraction_visitors: Option<f64>,
}

/// (this ÷ last − 1) × 100, to one decimal.
pub fn change(this: i64, last: i64) -> Option<f64> {
    (last != 0).then(|| ((this as f64 / last as f64 - 1.0) * 1000.0).round() / 10.0)
}

impl Change {
    /// No change given: the earlier period begins before the records do.
    const NONE: Change = Change {
        arrivals: None,
        domestic_arrivals: None,
        international_arrivals: None,
        same_day_guests: None,
        guest_nights: None,
        attraction_visitors: None,
    };

    /// `this` against `last`, or no change if `last` begins before the
    /// records do (its figures count only part of it).
    fn against(this: &Key, last: &Key, records_since: Option<NaiveDate>) -> Change {
        match records_since {
            Some(since) if since > last.from => Change::NONE,
            _ => Change::between(this, last),
        }
    }

    fn between(this: &Key, last: &Key) -> Change {
        Change {
            arrivals: change(this.arrivals, last.arrivals),
            domestic_arrivals: change(this.domestic_arrivals, last.domestic_arrivals),
            international_arrivals: change(
                this.international_arrivals,
                last.international_arrivals,
            ),
            same_day_guests: change(this.same_day_guests, last.same_day_guests),
            guest_nights: change(this.guest_nights, last.guest_nights),
            attraction_visitors: change(this.attraction_visitors, last.attraction_visitors),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Comparison {
    pub current: Key,
    /// The same number of days just before `from`.
    pub previous: Key,
    /// The same dates one year earlier (29 February becomes the 28th).
    pub last_year: Key,
    /// Null where the earlier period begins before `records_since`.
    pub change_vs_previous: Change,
    /// Null where the year-earlier period begins before `records_since`.
    pub change_vs_last_year: Change,
    /// The first day with any arrival or visit on record in the city, if
    /// any (city-wide, also when one place is asked for).
    pub records_since: Option<NaiveDate>,
}

impl Comparison {
    /// Whether an earlier period begins before the records do, so that its
    /// changes are not given.
    pub fn cut_short(&self) -> bool {
        self.records_since
            .is_some_and(|since| since > self.previous.from || since > self.last_year.from)
    }
}

/// The same date a year earlier (29 February becomes the 28th).
pub fn year_before(d: NaiveDate) -> NaiveDate {
    d.with_year(d.year() - 1)
        .or_else(|| (d - Duration::days(1)).with_year(d.year() - 1))
        .unwrap_or(d - Duration::days(365))
}

/// `current` against the period before it and the same dates last year.
pub async fn compare(
    source: Source,
    pool: &sqlx::PgPool,
    current: &Summary,
    today: NaiveDate,
    tz: chrono_tz::Tz,
) -> Result<Comparison> {
    let (from, to, place_id) = (current.from, current.to, current.place_id);
    let days = (to - from).num_days() + 1;
    let current = Key::from(current);
    let (pf, pt) = (from - Duration::days(days), from - Duration::days(1));
    let previous = Key::from(&summary_from(source, pool, pf, pt, today, place_id, tz).await?);
    let (lf, lt) = (year_before(from), year_before(to));
    let last_year = Key::from(&summary_from(source, pool, lf, lt, today, place_id, tz).await?);
    let records_since = records_since(pool).await?;
    Ok(Comparison {
        change_vs_previous: Change::against(&current, &previous, records_since),
        change_vs_last_year: Change::against(&current, &last_year, records_since),
        records_since,
        current,
        previous,
        last_year,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_percentages_and_null_from_zero() {
        assert_eq!(change(150, 100), Some(50.0));
        assert_eq!(change(90, 120), Some(-25.0));
        assert_eq!(change(5, 0), None);
        assert_eq!(change(1, 3), Some(-66.7));
    }

    #[test]
    fn a_year_before_a_leap_day_is_the_28th() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(year_before(d("2028-02-29")), d("2027-02-28"));
        assert_eq!(year_before(d("2026-11-28")), d("2025-11-28"));
    }
}
