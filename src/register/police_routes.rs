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

/// The desk's own exports are kept as batches to mark sent; an inspector's
/// reading is not a declaration.
async fn batch(
    state: &AppState,
    user: &CurrentUser,
    place_id: i64,
    day: NaiveDate,
    sheet: Option<Sheet>,
    guests: &[police::Declared],
) -> Result<Option<i64>> {
    if !user.works_at(place_id) {
        return Ok(None);
    }
    let ids: Vec<uuid::Uuid> = guests
        .iter()
        .filter(|g| match sheet {
            None => true,
            Some(Sheet::Vietnamese) => g.vietnamese,
            Some(Sheet::Foreign) => !g.vietnamese,
        })
        .map(|g| g.guest_id)
        .collect();
    Ok(Some(
        police::record_batch(&state.db, place_id, day, sheet, &ids, user.id).await?,
    ))
}

fn attachment(kind: &'static str, name: String, body: Vec<u8>, batch: Option<i64>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut response = ([(header::CONTENT_TYPE, kind)], body).into_response();
    if let Some(id) = batch {
        response
            .headers_mut()
            .insert("x-police-batch", header::HeaderValue::from(id));
    }
    if let Ok(v) = header::HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    crate::web::private(response)
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
    let batch = batch(&state, &user, place_id, day, None, &guests).await?;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        format!(
            "thong-bao-luu-tru-{place_id}-{day}{}.xlsx",
            batch.map(|b| format!("-so-{b}")).unwrap_or_default()
        ),
        book,
        batch,
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
    let batch = batch(&state, &user, place_id, day, Some(sheet), &guests).await?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        format!(
            "thong-bao-luu-tru-{place_id}-{day}-{}{}.csv",
            sheet.as_str(),
            batch.map(|b| format!("-so-{b}")).unwrap_or_default()
        ),
        body,
        batch,
    ))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SentRequest {
    /// The export sent: its number (the `X-Police-Batch` header of the
    /// download, also in its file name).
    pub batch: i64,
    /// The portal's reference for the submission.
    pub reference: String,
}

async fn mark(
    state: &AppState,
    user: &CurrentUser,
    place_id: i64,
    req: &SentRequest,
) -> Result<(i64, i64)> {
    user.require_desk(place_id)?;
    let reference = req.reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Err(FieldErrors::single(
            "reference",
            "required",
            "give the portal's reference of the submission (1 to 100 characters)",
        ));
    }
    let marked = police::mark_sent(&state.db, place_id, req.batch, reference, user.id).await?;
    Ok((req.batch, marked))
}

/// Record that an exported file was sent to the portal, with its reference:
/// exactly the guests in that file not yet declared.
#[utoipa::path(post, path = "/api/v1/places/{id}/police/sent", tag = "register",
    params(("id" = i64, Path)), request_body = SentRequest,
    responses((status = 200, description = "`marked`: how many guests were recorded as sent"),
              (status = 403, description = "Only the place's manager and staff"),
              (status = 404, description = "No such export at this place"),
              (status = 409, description = "That export was already recorded as sent"),
              (status = 422, description = "No reference")))]
pub async fn sent(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(place_id): ApiPath<i64>,
    ApiJson(req): ApiJson<SentRequest>,
) -> Result<Json<serde_json::Value>> {
    let (batch, marked) = mark(&state, &user, place_id, &req).await?;
    Ok(Json(json!({"batch": batch, "marked": marked})))
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
    let (_, marked) = mark(&state, &user, place_id, &req)
        .await
        .map_err(|error| PageError { error, lang })?;
    Ok(Redirect::to(&format!("/hotel?place={place_id}&sent={marked}#sent")).into_response())
}
