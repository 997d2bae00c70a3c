//! The charts of the office page, drawn from the range's summary and a few
//! counts of site visits.

use chrono::{Datelike, NaiveDate};

use super::chart;
use super::compare::{compare, Comparison};
use super::repo::{summary_from, visitors_from, Source, Summary, Visitors};
use crate::error::Result;
use crate::i18n::Tr;

pub struct Chart {
    pub title: String,
    pub svg: String,
    /// The `chart` of `/api/v1/stats/chart.csv` with the same numbers.
    pub data: &'static str,
}

fn bars_of(
    list: &[super::repo::Breakdown],
    take: usize,
    label: impl Fn(&str) -> String,
) -> Vec<(String, i64)> {
    list.iter()
        .take(take)
        .map(|b| (label(&b.key), b.arrivals))
        .collect()
}

/// Every number the office page shows for a range, from one source: the
/// page draws it, and `luutru stats check` compares the two sources.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub summary: Summary,
    pub comparison: Comparison,
    /// Arrivals per month of the range's year, up to the range's end.
    pub this_year: Vec<i64>,
    /// Arrivals per month of the year before, the whole year.
    pub last_year: Vec<i64>,
    pub visitors: Visitors,
}

/// Arrivals per month of `year` up to `until`, from one summary of the year.
async fn months(
    source: Source,
    pool: &sqlx::PgPool,
    year: i32,
    until: NaiveDate,
    today: NaiveDate,
    tz: chrono_tz::Tz,
) -> Result<Vec<i64>> {
    let (Some(jan), Some(dec)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return Ok(Vec::new());
    };
    let s = summary_from(source, pool, jan, dec.min(until), today, None, tz).await?;
    let mut by_month = vec![0; 12];
    for d in &s.by_day {
        by_month[d.date.month0() as usize] += d.arrivals;
    }
    Ok(by_month)
}

pub async fn figures(
    source: Source,
    pool: &sqlx::PgPool,
    (from, to): (NaiveDate, NaiveDate),
    today: NaiveDate,
    tz: chrono_tz::Tz,
) -> Result<Figures> {
    let summary = summary_from(source, pool, from, to, today, None, tz).await?;
    let comparison = compare(source, pool, &summary, today, tz).await?;
    let year = to.year();
    Ok(Figures {
        this_year: months(source, pool, year, to, today, tz).await?,
        last_year: months(source, pool, year - 1, today, today, tz).await?,
        visitors: visitors_from(source, pool, from, to).await?,
        summary,
        comparison,
    })
}

/// The charts of the page; `f.summary` already folded for its reader.
pub fn charts(f: &Figures, t: Tr) -> Vec<Chart> {
    let s = &f.summary;
    let mut out = Vec::new();
    let days: Vec<String> = s
        .by_day
        .iter()
        .map(|d| d.date.format("%d/%m").to_string())
        .collect();
    out.push(Chart {
        data: "by_day",
        title: t.get("chart.by_day").to_owned(),
        svg: chart::columns(
            t.get("chart.by_day"),
            &days,
            &s.by_day.iter().map(|d| d.arrivals).collect::<Vec<_>>(),
            &s.by_day.iter().map(|d| d.guest_nights).collect::<Vec<_>>(),
            (t.get("stats.arrivals"), t.get("stats.guest_nights")),
        ),
    });
    // The seasonality curve: this year's months against last year's.
    let year = s.to.year();
    let (this_year, last_year) = (&f.this_year, &f.last_year);
    let month_names: Vec<String> = (1..=12).map(|m| m.to_string()).collect();
    out.push(Chart {
        data: "by_month",
        title: format!("{} {year} / {}", t.get("chart.seasonality"), year - 1),
        svg: chart::columns(
            t.get("chart.seasonality"),
            &month_names,
            this_year,
            last_year,
            (&year.to_string(), &(year - 1).to_string()),
        ),
    });
    let country = |code: &str| t.country(code);
    out.push(Chart {
        data: "nationality",
        title: t.get("stats.by_nationality").to_owned(),
        svg: chart::bars(
            t.get("stats.by_nationality"),
            &bars_of(&s.by_nationality, 12, country),
        ),
    });
    out.push(Chart {
        data: "ward",
        title: t.get("stats.by_ward").to_owned(),
        svg: chart::bars(
            t.get("stats.by_ward"),
            &bars_of(&s.by_ward, 12, |ward| match ward {
                "other" => t.get("stats.other").to_owned(),
                ward => ward.to_owned(),
            }),
        ),
    });
    let kind = |k: &str| {
        let name = t.dynamic(&format!("type.{k}"));
        if name.is_empty() {
            k.to_owned()
        } else {
            name.to_owned()
        }
    };
    out.push(Chart {
        data: "type",
        title: t.get("chart.by_type").to_owned(),
        svg: chart::bars(
            t.get("chart.by_type"),
            &bars_of(&s.by_accommodation_type, 8, kind),
        ),
    });
    let stars = |k: &str| match k {
        "none" => t.get("chart.no_class").to_owned(),
        "other" => t.get("stats.other").to_owned(),
        k => format!("{k} ★"),
    };
    out.push(Chart {
        data: "class",
        title: t.get("chart.by_class").to_owned(),
        svg: chart::bars(t.get("chart.by_class"), &bars_of(&s.by_class, 6, stars)),
    });
    // Sites: the ranking, provinces of origin, and the hours of the day.
    let top = |list: &[(String, i64)], n: usize| list.iter().take(n).cloned().collect::<Vec<_>>();
    out.push(Chart {
        data: "sites",
        title: t.get("chart.sites").to_owned(),
        svg: chart::bars(t.get("chart.sites"), &top(&f.visitors.sites, 10)),
    });
    out.push(Chart {
        data: "provinces",
        title: t.get("chart.provinces").to_owned(),
        svg: chart::bars(t.get("chart.provinces"), &top(&f.visitors.provinces, 12)),
    });
    out.push(Chart {
        data: "hours",
        title: t.get("chart.hours").to_owned(),
        svg: chart::columns(
            t.get("chart.hours"),
            &(0..24).map(|h| format!("{h}h")).collect::<Vec<_>>(),
            &f.visitors.by_hour,
            &[],
            (t.get("stats.visitors"), ""),
        ),
    });
    out
}
