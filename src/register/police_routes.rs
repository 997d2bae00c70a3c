//! `/api/v1/places/{id}/police.xlsx`, `police.csv` and `police/sent`: the
//! day's police notification as the portal's spreadsheet, and the record
//! that it was sent. The register page's deadline board links to them.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::police::{self, Sheet};
use crate::auth::CurrentUser;
use crate::error::{Error, FieldErrors, Result};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::i18n::Lang;
use crate::web::{same_origin, PageError, PageResult};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/places/{id}/police.xlsx", get(xlsx))
        .route("/api/v1/places/{id}/police.csv", get(csv))
        .route("/api/v1/places/{id}/police/sent", post(sent))
        .route("/hotel/{id}/police/sent", post(sent_form))
}

#[derive(Debug, Deserialize, Serialize, utoipa::IntoParams)]
pub struct PoliceQuery {
    /// Local arrival date, YYYY-MM-DD; today by default.
    pub date: Option<String>,
    /// `true`: only guests not yet declared.
    pub unsent: Option<bool>,
    /// CSV only: vietnamese (default) or foreign.
    pub sheet: Option<String>,
}

fn day(state: &AppState, raw: Option<&str>, field: &str) -> Result<NaiveDate> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(crate::localtime::today(state.tz())),
        Some(d) => crate::checkin::model::parse_date(d).ok_or_else(|| {
            FieldErrors::single(field, "date_format", "write the date as YYYY-MM-DD")
        }),
    }
}

async fn load(
    state: &AppState,
    user: &CurrentUser,
    place_id: i64,
    q: &PoliceQuery,
    format: &str,
) -> Result<(NaiveDate, Vec<police::Declared>)> {
    user.require_register(place_id)?;
    let day = day(state, q.date.as_deref(), "date")?;
    // Every export of personal data leaves a trace.
    crate::audit::record(
        &state.db,
        Some(user.id),
        "police.export",
        Some(place_id),
        None,
        json!({"date": day, "format": format, "unsent": q.unsent}),
    )
    .await?;
    let guests = police::guests(
        &state.db,
        &state.cipher,
        place_id,
        day,
        q.unsent == Some(true),
    )
    .await?;
    Ok((day, guests))
}

fn attachment(kind: &'static str, name: String, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut response = ([(header::CONTENT_TYPE, kind)], body).into_response();
    if let Ok(v) = header::HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    response
}

/// The day's arrivals to declare, Vietnamese and foreign guests on two
/// sheets, in the columns of `POLICE_COLUMNS`.
#[utoipa::path(get, path = "/api/v1/places/{id}/police.xlsx", tag = "register",
    params(("id" = i64, Path), PoliceQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               description = "Two sheets: Vietnamese and foreign guests"),
              (status = 403, description = "Not allowed to read this register")))]
pub async fn xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(place_id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<PoliceQuery>,
) -> Result<Response> {
    let (day, guests) = load(&state, &user, place_id, &q, "xlsx").await?;
    let book = police::xlsx(&state.police, &guests, state.tz(), Utc::now())?;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        format!("thong-bao-luu-tru-{place_id}-{day}.xlsx"),
        book,
    ))
}

/// One sheet of the same as CSV (UTF-8 with a BOM).
#[utoipa::path(get, path = "/api/v1/places/{id}/police.csv", tag = "register",
    params(("id" = i64, Path), PoliceQuery),
    responses((status = 200, content_type = "text/csv", description = "One sheet"),
              (status = 403, description = "Not allowed to read this register")))]
pub async fn csv(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(place_id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<PoliceQuery>,
) -> Result<Response> {
    let sheet = match q.sheet.as_deref() {
        None | Some("") => Sheet::Vietnamese,
        Some(s) => Sheet::parse(s).ok_or_else(|| {
            FieldErrors::single("sheet", "invalid", "must be vietnamese or foreign")
        })?,
    };
    let (day, guests) = load(&state, &user, place_id, &q, "csv").await?;
    let body = police::csv(&state.police, sheet, &guests, state.tz(), Utc::now())?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        format!("thong-bao-luu-tru-{place_id}-{day}-{}.csv", sheet.as_str()),
        body,
    ))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SentRequest {
    /// Local arrival date of the batch, YYYY-MM-DD; today by default.
    pub date: Option<String>,
    /// The portal's reference for the submission.
    pub reference: String,
}

async fn mark(
    state: &AppState,
    user: &CurrentUser,
    place_id: i64,
    req: &SentRequest,
) -> Result<(NaiveDate, i64)> {
    user.require_desk(place_id)?;
    let day = day(state, req.date.as_deref(), "date")?;
    let reference = req.reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Err(FieldErrors::single(
            "reference",
            "required",
            "give the portal's reference of the submission (1 to 100 characters)",
        ));
    }
    let marked = police::mark_sent(&state.db, place_id, day, reference, user.id).await?;
    Ok((day, marked))
}

/// Record that the guests who arrived on `date` and were not yet declared
/// were sent to the portal, with its reference.
#[utoipa::path(post, path = "/api/v1/places/{id}/police/sent", tag = "register",
    params(("id" = i64, Path)), request_body = SentRequest,
    responses((status = 200, description = "`marked`: how many guests were recorded as sent"),
              (status = 403, description = "Only the place's manager and staff"),
              (status = 422, description = "No reference, or a bad date")))]
pub async fn sent(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(place_id): ApiPath<i64>,
    ApiJson(req): ApiJson<SentRequest>,
) -> Result<Json<serde_json::Value>> {
    let (day, marked) = mark(&state, &user, place_id, &req).await?;
    Ok(Json(json!({"date": day, "marked": marked})))
}

async fn sent_form(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    axum::extract::Path(place_id): axum::extract::Path<i64>,
    Form(req): Form<SentRequest>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    mark(&state, &user, place_id, &req)
        .await
        .map_err(|error| PageError { error, lang })?;
    Ok(Redirect::to(&format!("/hotel?place={place_id}")).into_response())
}
