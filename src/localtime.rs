//! Day boundaries in the city's time zone (Asia/Ho_Chi_Minh by default).
//! Instants are stored as UTC; the local dates derived here are stored beside
//! them so every report agrees on what "today" and "a night" mean.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

pub fn date(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

pub fn hour(tz: Tz, at: DateTime<Utc>) -> u32 {
    at.with_timezone(&tz).hour()
}

pub fn today(tz: Tz) -> NaiveDate {
    date(tz, Utc::now())
}

/// The instant of a local wall-clock time on a local date.
pub fn instant(tz: Tz, day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    let naive = day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN));
    tz.from_local_datetime(&naive)
        .earliest()
        .unwrap_or_else(|| Utc.from_utc_datetime(&naive).with_timezone(&tz))
        .with_timezone(&Utc)
}

/// Whole years between a birth date and a day.
pub fn age_on(born: NaiveDate, day: NaiveDate) -> i32 {
    let mut age = day.year() - born.year();
    if (day.month(), day.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    age
}

/// The age band kept for statistics after personal data is purged.
pub fn age_band(born: NaiveDate, day: NaiveDate) -> &'static str {
    match age_on(born, day) {
        i32::MIN..=13 => "0-13",
        14..=17 => "14-17",
        18..=24 => "18-24",
        25..=34 => "25-34",
        35..=44 => "35-44",
        45..=54 => "45-54",
        55..=64 => "55-64",
        _ => "65+",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_date_turns_at_midnight_in_vietnam_not_utc() {
        let tz: Tz = "Asia/Ho_Chi_Minh".parse().unwrap();
        let before = Utc.with_ymd_and_hms(2026, 3, 31, 16, 59, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 3, 31, 17, 0, 0).unwrap();
        assert_eq!(
            date(tz, before),
            NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()
        );
        assert_eq!(
            date(tz, after),
            NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
        );
        assert_eq!(
            instant(tz, NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(), 0, 0),
            after
        );
    }

    #[test]
    fn age_counts_whole_years() {
        let born = NaiveDate::from_ymd_opt(2012, 6, 15).unwrap();
        assert_eq!(
            age_on(born, NaiveDate::from_ymd_opt(2026, 6, 14).unwrap()),
            13
        );
        assert_eq!(
            age_band(born, NaiveDate::from_ymd_opt(2026, 6, 14).unwrap()),
            "0-13"
        );
        assert_eq!(
            age_band(born, NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()),
            "14-17"
        );
    }
}
