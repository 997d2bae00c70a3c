//! `/api/v1/stats/summary` and `/api/v1/stats/live`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::live::{self, Live};
use super::repo::{self, Summary};
use crate::auth::CurrentUser;
use crate::checkin::model::parse_date;
use crate::error::{FieldErrors, Result};
use crate::extract::ApiQuery;
use crate::localtime;
use crate::AppState;

/// Longest range one summary covers.
const MAX_DAYS: i64 = 3 * 366;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/stats/summary", get(summary))
        .route("/api/v1/stats/live", get(live_figures))
        .route("/api/v1/stats/compare", get(compare))
        .route("/api/v1/stats/compliance", get(compliance))
        .route("/api/v1/stats/monthly.xlsx", get(monthly_xlsx))
        .route("/api/v1/stats/monthly.pdf", get(monthly_pdf))
        .route("/api/v1/stats/chart.csv", get(super::chart_data::chart_csv))
        .route("/api/v1/stats/live/stream", get(super::stream::live_stream))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// First local date (YYYY-MM-DD), default the first of this month.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last local date, included; default today.
    #[param(format = Date)]
    pub to: Option<String>,
    /// One place only (required for managers and staff: one of theirs).
    pub place_id: Option<i64>,
}

pub fn range(q: &SummaryQuery, today: NaiveDate) -> Result<(NaiveDate, NaiveDate)> {
    let mut errors = FieldErrors::default();
    let mut date = |raw: &Option<String>, field: &str, default: NaiveDate| match raw
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        None => default,
        Some(raw) => parse_date(raw).unwrap_or_else(|| {
            errors.add(field, "date_format", "write the date as YYYY-MM-DD");
            default
        }),
    };
    let from = date(&q.from, "from", today.with_day(1).unwrap_or(today));
    let to = date(&q.to, "to", today);
    if to < from {
        errors.add("to", "range", "must be on or after from");
    } else if (to - from).num_days() >= MAX_DAYS {
        errors.add("to", "range", "a summary covers at most three years");
    }
    errors.finish((from, to))
}

/// Arrivals, guest-nights, occupancy and breakdowns for a range of local dates (both included).
#[utoipa::path(get, path = "/api/v1/stats/summary", tag = "statistics", params(SummaryQuery),
    responses((status = 200, body = Summary), (status = 403, description = "Not allowed to read these figures"),
              (status = 422, description = "A date needs fixing")))]
pub async fn summary(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<Json<Summary>> {
    user.require_stats(q.place_id)?;
    known_place(&state, q.place_id).await?;
    let today = localtime::today(state.tz());
    let (from, to) = range(&q, today)?;
    let mut summary =
        repo::summary(&state.read_db, from, to, today, q.place_id, state.tz()).await?;
    repo::fold_for_reader(&mut summary, user.role, state.config.stats_min_cell);
    Ok(Json(summary))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComplianceQuery {
    /// An open establishment with no check-in for this many days is listed (default 7).
    pub days: Option<i64>,
    /// Arrival dates whose police notifications are checked (default this month).
    #[param(format = Date)]
    pub from: Option<String>,
    #[param(format = Date)]
    pub to: Option<String>,
}

/// Open establishments with no check-in for `days` days, and late or overdue
/// police notifications by establishment: counts only.
#[utoipa::path(get, path = "/api/v1/stats/compliance", tag = "statistics", params(ComplianceQuery),
    responses((status = 200, body = super::compliance::Compliance),
              (status = 403, description = "The office, admins and inspectors only"),
              (status = 422, description = "A date or the number of days needs fixing")))]
pub async fn compliance(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(q): ApiQuery<ComplianceQuery>,
) -> Result<Json<super::compliance::Compliance>> {
    user.require_stats(None)?;
    let days = q.days.unwrap_or(7);
    if !(1..=365).contains(&days) {
        return Err(FieldErrors::single("days", "invalid", "must be 1 to 365"));
    }
    let today = localtime::today(state.tz());
    let (from, to) = range(
        &SummaryQuery {
            from: q.from,
            to: q.to,
            place_id: None,
        },
        today,
    )?;
    Ok(Json(
        super::compliance::compliance(&state.read_db, days, from, to, state.tz()).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// YYYY-MM; default the last full month.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
}

/// The monthly report in the province's layout: the month before, the
/// month, the year to date, and the change against the same period a year
/// earlier; overnight and same-day, international and domestic.
#[utoipa::path(get, path = "/api/v1/stats/monthly.xlsx", tag = "statistics", params(MonthQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               description = "One sheet"),
              (status = 403, description = "The office, admins and inspectors only"),
              (status = 422, description = "The month is not YYYY-MM, or has not begun")))]
pub async fn monthly_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: axum::http::HeaderMap,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> axum::response::Response {
    crate::web::download(&headers, monthly(&state, &user, &q, "xlsx").await)
}

/// The same monthly report as a one-page PDF.
#[utoipa::path(get, path = "/api/v1/stats/monthly.pdf", tag = "statistics", params(MonthQuery),
    responses((status = 200, content_type = "application/pdf", description = "One page, A4 landscape"),
              (status = 403, description = "The office, admins and inspectors only"),
              (status = 422, description = "The month is not YYYY-MM, or has not begun")))]
pub async fn monthly_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: axum::http::HeaderMap,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> axum::response::Response {
    crate::web::download(&headers, monthly(&state, &user, &q, "pdf").await)
}

async fn monthly(
    state: &AppState,
    user: &CurrentUser,
    q: &MonthQuery,
    format: &str,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    user.require_stats(None)?;
    let today = localtime::today(state.tz());
    let first = match q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        None => {
            let this = today.with_day(1).unwrap_or(today);
            (this - chrono::Duration::days(1))
                .with_day(1)
                .unwrap_or(this)
        }
        Some(m) => match parse_date(&format!("{m}-01")) {
            None => {
                return Err(FieldErrors::single(
                    "month",
                    "month_format",
                    "write the month as YYYY-MM",
                ))
            }
            Some(first) if first > today => {
                return Err(FieldErrors::single(
                    "month",
                    "month_future",
                    "this month has not begun",
                ))
            }
            Some(first) => first,
        },
    };
    let report = super::report::build(&state.read_db, first, today, state.tz()).await?;
    let (body, kind, ext) = match format {
        "pdf" => {
            let fonts = crate::qr::poster::Fonts::get(&state.config.font_dir).map_err(|e| {
                tracing::error!(error = %e, "report fonts missing");
                crate::error::Error::Unavailable("report printing")
            })?;
            (
                super::report::pdf(&report, &fonts)?,
                "application/pdf",
                "pdf",
            )
        }
        _ => (
            super::report::xlsx(&report)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    let name = format!(
        "attachment; filename=\"bao-cao-{}.{ext}\"",
        first.format("%Y-%m")
    );
    let mut response = ([(axum::http::header::CONTENT_TYPE, kind)], body).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&name) {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The range against the period just before it and the same dates last year.
#[utoipa::path(get, path = "/api/v1/stats/compare", tag = "statistics", params(SummaryQuery),
    responses((status = 200, body = super::compare::Comparison),
              (status = 403, description = "Not allowed to read these figures"),
              (status = 422, description = "A date needs fixing")))]
pub async fn compare(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<Json<super::compare::Comparison>> {
    user.require_stats(q.place_id)?;
    known_place(&state, q.place_id).await?;
    let today = localtime::today(state.tz());
    let (from, to) = range(&q, today)?;
    let current = repo::summary(&state.read_db, from, to, today, q.place_id, state.tz()).await?;
    Ok(Json(
        super::compare::compare(
            repo::Source::Rollups,
            &state.read_db,
            &current,
            today,
            state.tz(),
        )
        .await?,
    ))
}

/// Figures of a place that does not exist are a 404, not zeros.
async fn known_place(state: &AppState, place_id: Option<i64>) -> Result<()> {
    if let Some(id) = place_id {
        crate::places::repo::get(&state.db, state.config.base_url(), id).await?;
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    pub place_id: Option<i64>,
}

/// Guests in house now, arrivals and attraction visitors today; fresh within a second.
#[utoipa::path(get, path = "/api/v1/stats/live", tag = "statistics", params(LiveQuery),
    responses((status = 200, body = Live)))]
pub async fn live_figures(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(q): ApiQuery<LiveQuery>,
) -> Result<Json<Live>> {
    user.require_stats(q.place_id)?;
    known_place(&state, q.place_id).await?;
    Ok(Json(live::get(&state, q.place_id).await?))
}
