//! `GET /api/v1/stats/chart.csv`: the numbers behind each chart of the
//! office page, for a spreadsheet or another report.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use serde::Deserialize;

use super::repo::{self, summary};
use super::routes::{range, SummaryQuery};
use crate::auth::CurrentUser;
use crate::error::{FieldErrors, Result};
use crate::extract::ApiQuery;
use crate::{localtime, AppState};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
    /// by_day, by_month, nationality, ward, type, sites, provinces or hours
    pub chart: String,
    #[param(format = Date)]
    pub from: Option<String>,
    #[param(format = Date)]
    pub to: Option<String>,
}

/// One chart's data as CSV (UTF-8 with a BOM): a label column and its counts.
#[utoipa::path(get, path = "/api/v1/stats/chart.csv", tag = "statistics", params(ChartQuery),
    responses((status = 200, content_type = "text/csv", description = "The chart's rows"),
              (status = 403, description = "The office, admins and inspectors only"),
              (status = 422, description = "Unknown chart or a bad date")))]
pub async fn chart_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(q): ApiQuery<ChartQuery>,
) -> Result<Response> {
    user.require_stats(None)?;
    let today = localtime::today(state.tz());
    let (from, to) = range(
        &SummaryQuery {
            from: q.from.clone(),
            to: q.to.clone(),
            place_id: None,
        },
        today,
    )?;
    let mut s = summary(&state.read_db, from, to, today, None, state.tz()).await?;
    repo::fold_for_reader(&mut s, user.role, state.config.stats_min_cell);
    let breakdown = |list: &[repo::Breakdown]| -> Vec<Vec<String>> {
        list.iter()
            .map(|b| {
                vec![
                    b.key.clone(),
                    b.arrivals.to_string(),
                    b.guest_nights.to_string(),
                ]
            })
            .collect()
    };
    let (head, rows): (Vec<&str>, Vec<Vec<String>>) = match q.chart.as_str() {
        "by_day" => (
            vec![
                "date",
                "arrivals",
                "guest_nights",
                "same_day_guests",
                "attraction_visitors",
            ],
            s.by_day
                .iter()
                .map(|d| {
                    vec![
                        d.date.to_string(),
                        d.arrivals.to_string(),
                        d.guest_nights.to_string(),
                        d.same_day_guests.to_string(),
                        d.attraction_visitors.to_string(),
                    ]
                })
                .collect(),
        ),
        "by_month" => {
            let mut months: Vec<(String, i64, i64)> = Vec::new();
            for d in &s.by_day {
                let key = format!("{}-{:02}", d.date.year(), d.date.month());
                match months.last_mut() {
                    Some(m) if m.0 == key => {
                        m.1 += d.arrivals;
                        m.2 += d.guest_nights;
                    }
                    _ => months.push((key, d.arrivals, d.guest_nights)),
                }
            }
            (
                vec!["month", "arrivals", "guest_nights"],
                months
                    .into_iter()
                    .map(|(m, a, n)| vec![m, a.to_string(), n.to_string()])
                    .collect(),
            )
        }
        "nationality" => (
            vec!["nationality", "arrivals", "guest_nights"],
            breakdown(&s.by_nationality),
        ),
        "ward" => (
            vec!["ward", "arrivals", "guest_nights"],
            breakdown(&s.by_ward),
        ),
        "class" => (
            vec!["class", "arrivals", "guest_nights"],
            breakdown(&s.by_class),
        ),
        "type" => (
            vec!["accommodation_type", "arrivals", "guest_nights"],
            breakdown(&s.by_accommodation_type),
        ),
        "sites" | "provinces" | "hours" => {
            let v = repo::visitors_from(repo::Source::Rollups, &state.read_db, from, to).await?;
            let listed = |list: &[(String, i64)]| -> Vec<Vec<String>> {
                list.iter()
                    .map(|(k, n)| vec![k.clone(), n.to_string()])
                    .collect()
            };
            let label = match q.chart.as_str() {
                "sites" => "site",
                "provinces" => "province",
                _ => "hour",
            };
            let rows = match label {
                "site" => listed(&v.sites),
                "province" => listed(&v.provinces),
                _ => v
                    .by_hour
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n != 0)
                    .map(|(h, n)| vec![format!("{h:02}"), n.to_string()])
                    .collect(),
            };
            (vec![label, "visitors"], rows)
        }
        _ => {
            return Err(FieldErrors::single(
                "chart",
                "invalid",
                "one of by_day, by_month, nationality, ward, type, class, sites, provinces, hours",
            ))
        }
    };
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(&head).map_err(anyhow::Error::from)?;
        for row in rows {
            w.write_record(row).map_err(anyhow::Error::from)?;
        }
        w.flush().map_err(anyhow::Error::from)?;
    }
    // Saved, not shown: "luutru-nationality-2026-11-01-2026-11-30.csv".
    let disposition = format!(
        "attachment; filename=\"luutru-{}-{from}-{to}.csv\"",
        q.chart
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CACHE_CONTROL, "private, no-cache".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}
