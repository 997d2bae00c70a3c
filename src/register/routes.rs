//! `/api/v1/places/{id}/stays`: the desk's entry of a stay and the register.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::repo::{self, Filter, RegisterStay};
use crate::auth::{CurrentUser, Role};
use crate::checkin::model::{self, GuestInput};
use crate::checkin::repo::{insert_stay, NewStay};
use crate::checkin::service::{parse_departure, parse_purpose};
use crate::error::{Error, FieldErrors, Result};
use crate::extract::{idempotency_key, ApiJson};
use crate::extract::{ApiPath, ApiQuery};
use crate::idempotency::{self, Start};
use crate::localtime;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/places/{id}/stays", get(list).post(create))
        .route("/api/v1/places/{id}/stays.csv", get(csv_export))
        .route("/api/v1/places/{id}/stays.xlsx", get(xlsx_export))
}

/// A stay entered at the desk, or carried over from the paper register.
#[derive(Debug, Default, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskStayRequest {
    pub guests: Vec<GuestInput>,
    /// Required: tourism, business, visiting_family or other.
    pub purpose: Option<String>,
    pub room: Option<String>,
    /// RFC 3339; default now; past times allowed.
    pub arrived_at: Option<String>,
    /// YYYY-MM-DD; required unless `departed_at` is given.
    pub expected_departure: Option<String>,
    /// RFC 3339: for a stay that has already ended.
    pub departed_at: Option<String>,
    /// The guests were shown the personal-data notice (the reception screen
    /// shows it) and agreed: the notice's version is recorded with the
    /// stay. `false` is refused; left out (a stay carried over from the
    /// paper register), no version is recorded.
    pub consent: Option<bool>,
}

fn parse_instant(
    raw: Option<&str>,
    field: &str,
    errors: &mut FieldErrors,
) -> Option<DateTime<Utc>> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
    match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            errors.add(
                field,
                "instant_format",
                "write the time as RFC 3339, e.g. 2026-07-01T14:30:00+07:00",
            );
            None
        }
    }
}

/// Enter a stay at the desk (the place's manager and staff).
#[utoipa::path(post, path = "/api/v1/places/{id}/stays", tag = "register", params(("id" = i64, Path)),
    request_body = DeskStayRequest,
    responses((status = 201, description = "Stored: `stay_id`"), (status = 403, description = "Not this place's staff"),
              (status = 422, description = "A field needs fixing")))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(place_id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<DeskStayRequest>,
) -> Result<(StatusCode, Json<Value>)> {
    if !user.works_at(place_id) {
        return Err(Error::Forbidden(
            "only this place's manager and staff enter its stays",
        ));
    }
    let key = idempotency_key(&headers)?;
    let (status, body) = create_stay(&state, &user, place_id, &req, key.as_deref()).await?;
    Ok((status, Json(body)))
}

pub async fn create_stay(
    state: &AppState,
    user: &CurrentUser,
    place_id: i64,
    req: &DeskStayRequest,
    key: Option<&str>,
) -> Result<(StatusCode, Value)> {
    let scope = format!("desk:{place_id}");
    let now = Utc::now();
    // Checked in the order of the desk form's fields.
    let mut errors = FieldErrors::default();
    let room = req.room.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if room.is_some_and(|r| r.chars().count() > 20) {
        errors.add(
            "room",
            "too_long",
            "a room number has at most 20 characters",
        );
    }
    let arrived_at =
        parse_instant(req.arrived_at.as_deref(), "arrived_at", &mut errors).unwrap_or(now);
    if arrived_at > now + Duration::minutes(5) {
        errors.add(
            "arrived_at",
            "arrival_future",
            "the arrival cannot be in the future",
        );
    }
    let departed_at = parse_instant(req.departed_at.as_deref(), "departed_at", &mut errors);
    if departed_at.is_some_and(|d| d < arrived_at) {
        errors.add(
            "departed_at",
            "departure_past",
            "the departure cannot be before the arrival",
        );
    }
    if departed_at.is_some_and(|d| d > now + Duration::minutes(5)) {
        errors.add(
            "departed_at",
            "departure_future",
            "a departure in the future is an expected departure",
        );
    }
    let arrival_day = localtime::date(state.tz(), arrived_at);
    let expected = match (&req.expected_departure, departed_at) {
        (None, Some(d)) => Some(localtime::date(state.tz(), d)),
        (raw, _) => parse_departure(raw.as_deref(), arrival_day, &mut errors),
    };
    let purpose = parse_purpose(req.purpose.as_deref(), &mut errors);
    let guests = model::parse_guests(
        &req.guests,
        arrival_day,
        model::cmnd_allowed(arrival_day),
        &mut errors,
    );
    if req.consent == Some(false) {
        errors.add(
            "consent",
            "consent_desk",
            "show the guests the notice on personal data and record that they agree",
        );
    }
    let (expected, purpose) = match (expected, purpose) {
        (Some(e), Some(p)) if errors.is_empty() => (e, p),
        // A retry gets its first answer, whatever the rules would say of
        // its body now (a rule added since, or a day that has passed).
        _ => {
            if let Some(key) = key {
                if let Some(answer) =
                    idempotency::stored(&state.db, &state.cipher, &scope, key, req).await?
                {
                    return Ok(answer);
                }
            }
            return Err(Error::Validation(errors));
        }
    };

    let mut guard = match idempotency::start(&state.db, &state.cipher, &scope, key, req).await? {
        Start::Replay(status, body) => return Ok((status, body)),
        Start::Fresh(guard) => guard,
    };
    let (stay_id, created) = insert_stay(
        &mut guard.tx,
        &state.cipher,
        state.tz(),
        &NewStay {
            place_id,
            room,
            arrived_at,
            expected_departure: expected,
            departed_at,
            purpose,
            source: "desk",
            presence: "desk_staff",
            consent_version: (req.consent == Some(true))
                .then_some(state.config.consent_version.as_str()),
            checkout_token_hash: None,
            created_by: Some(user.id),
            confirmed: true,
            guests: &guests,
        },
    )
    .await?;
    crate::audit::record(
        &mut *guard.tx,
        Some(user.id),
        "stay.desk_entry",
        Some(place_id),
        Some(&stay_id.to_string()),
        json!({"guests": guests.len()}),
    )
    .await?;
    let body = json!({
        "stay_id": stay_id,
        "arrived_at": arrived_at,
        "expected_departure": expected,
        "departed_at": departed_at,
        "guests": created.iter().map(|g| json!({
            "id": g.id, "position": g.position, "notify_deadline": g.notify_deadline,
        })).collect::<Vec<_>>(),
    });
    guard.commit(StatusCode::CREATED, &body).await?;
    crate::metrics::checked_in("stay", "desk");
    crate::stats::live::invalidate(state, place_id).await;
    Ok((StatusCode::CREATED, body))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// in_house (default), arriving (self check-ins whose documents the desk
    /// has not seen), departing (in house, due to leave today or earlier) or all
    pub status: Option<String>,
    /// Stays present on or after this local date (YYYY-MM-DD).
    pub from: Option<String>,
    /// Stays that arrived on or before this local date.
    pub to: Option<String>,
    /// A name without accents, a room, a nationality code or an exact document number.
    pub q: Option<String>,
    /// Stays per page, 1 to 500 (default 100).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// The case number or reason of an inspector's search (required with
    /// `q` for inspectors); written in the audit log with the search.
    pub reason: Option<String>,
}

/// An inspector says why they search a register; the reason goes into the
/// audit log with the search.
pub fn require_reason(user: &CurrentUser, q: &ListQuery) -> Result<()> {
    let searching = q.q.as_deref().is_some_and(|s| !s.trim().is_empty());
    let stated = q.reason.as_deref().is_some_and(|s| !s.trim().is_empty());
    if user.role == Role::Inspector && searching && !stated {
        return Err(FieldErrors::single(
            "reason",
            "reason_required",
            "state the case number or the reason for this search",
        ));
    }
    Ok(())
}

pub fn filter_from(q: &ListQuery, today: chrono::NaiveDate) -> Result<Filter> {
    let mut errors = FieldErrors::default();
    let (in_house_only, arriving_only, departing_by) = match q.status.as_deref() {
        None | Some("") | Some("in_house") => (true, false, None),
        Some("arriving") => (true, true, None),
        Some("departing") => (true, false, Some(today)),
        Some("all") => (false, false, None),
        Some(_) => {
            errors.add(
                "status",
                "invalid",
                "must be in_house, arriving, departing or all",
            );
            (true, false, None)
        }
    };
    let mut date = |raw: &Option<String>, field: &str| {
        let raw = raw.as_deref().filter(|s| !s.is_empty())?;
        let d = model::parse_date(raw);
        if d.is_none() {
            errors.add(field, "date_format", "write the date as YYYY-MM-DD");
        }
        d
    };
    let from = date(&q.from, "from");
    let to = date(&q.to, "to");
    if from.zip(to).is_some_and(|(from, to)| from > to) {
        errors.add("to", "range", "must be on or after from");
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        errors.add("limit", "invalid", "must be 1 to 500");
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        errors.add("offset", "invalid", "must be 0 or more");
    }
    errors.finish(Filter {
        in_house_only,
        arriving_only,
        departing_by,
        from,
        to,
        q: q.q.clone(),
        limit,
        offset,
    })
}

/// A search as the audit log keeps it: a word that looks like a document
/// number (six or more letters and digits, with a digit) keeps only its
/// last three characters, as in the register. The log is kept for ever and
/// dumped with the database; document numbers never go into it in full.
pub fn search_for_audit(q: &str) -> String {
    q.split_whitespace()
        .map(|word| {
            let chars: Vec<char> = word.chars().collect();
            let alnum = chars.iter().filter(|c| c.is_alphanumeric()).count();
            if alnum >= 6 && chars.iter().any(char::is_ascii_digit) {
                let keep = chars.len().saturating_sub(3);
                chars
                    .iter()
                    .enumerate()
                    .map(|(i, c)| if i < keep { '•' } else { *c })
                    .collect()
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// People from outside the place reading names leave a trace.
pub async fn audit_read(
    state: &AppState,
    user: &CurrentUser,
    place_id: i64,
    action: &str,
    q: &ListQuery,
) -> Result<()> {
    require_reason(user, q)?;
    if matches!(user.role, Role::Inspector | Role::Admin) || action == "register.export" {
        crate::audit::record(
            &state.db,
            Some(user.id),
            action,
            Some(place_id),
            None,
            json!({"status": q.status, "from": q.from, "to": q.to,
                   "q": q.q.as_deref().map(search_for_audit), "reason": q.reason}),
        )
        .await?;
    }
    Ok(())
}

/// The guest register (names, masked document numbers, notification status).
#[utoipa::path(get, path = "/api/v1/places/{id}/stays", tag = "register", params(("id" = i64, Path), ListQuery),
    responses((status = 200, body = Vec<RegisterStay>), (status = 403, description = "Not allowed to read this register")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(place_id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Vec<RegisterStay>>> {
    user.require_register(place_id)?;
    let filter = filter_from(&q, crate::localtime::today(state.tz()))?;
    audit_read(&state, &user, place_id, "register.read", &q).await?;
    Ok(Json(
        repo::list(&state.db, &state.cipher, place_id, &filter).await?,
    ))
}

/// The register as rows of text, one per guest, headings first: what the
/// CSV and XLSX exports write.
async fn export_rows(
    state: &AppState,
    user: &CurrentUser,
    place_id: i64,
    q: &ListQuery,
) -> Result<Vec<Vec<String>>> {
    user.require_register(place_id)?;
    let mut filter = filter_from(q, crate::localtime::today(state.tz()))?;
    filter.limit = 100_000;
    audit_read(state, user, place_id, "register.export", q).await?;
    let stays = repo::list(&state.db, &state.cipher, place_id, &filter).await?;
    let tz = state.tz();
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let mut rows = vec![[
        "stay_id",
        "room",
        "arrived_at",
        "expected_departure",
        "departed_at",
        "guest",
        "full_name",
        "date_of_birth",
        "sex",
        "nationality",
        "document_type",
        "document_number",
        "notification_status",
        "source",
    ]
    .map(str::to_owned)
    .to_vec()];
    for s in &stays {
        for g in &s.guests {
            rows.push(vec![
                s.id.to_string(),
                s.room.clone().unwrap_or_default(),
                local(s.arrived_at),
                s.expected_departure.to_string(),
                g.departed_at
                    .or(s.departed_at)
                    .map(local)
                    .unwrap_or_default(),
                (g.position + 1).to_string(),
                g.full_name.clone().unwrap_or_default(),
                g.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
                g.sex.clone(),
                g.nationality.clone(),
                g.document_type.clone(),
                g.document_number.clone().unwrap_or_default(),
                g.notification_status.to_owned(),
                s.source.clone(),
            ]);
        }
    }
    Ok(rows)
}

fn download(kind: &'static str, name: &'static str, body: Vec<u8>) -> Response {
    let disposition: &'static str = match name {
        "register.csv" => "attachment; filename=\"register.csv\"",
        _ => "attachment; filename=\"register.xlsx\"",
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        body,
    )
        .into_response()
}

/// The register as CSV (UTF-8 with a BOM so spreadsheet programs show Vietnamese).
#[utoipa::path(get, path = "/api/v1/places/{id}/stays.csv", tag = "register", params(("id" = i64, Path), ListQuery),
    responses((status = 200, content_type = "text/csv", description = "One row per guest")))]
pub async fn csv_export(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(place_id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response> {
    let rows = export_rows(&state, &user, place_id, &q).await?;
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        for row in rows {
            w.write_record(row).map_err(anyhow::Error::from)?;
        }
        w.flush().map_err(anyhow::Error::from)?;
    }
    Ok(download("text/csv; charset=utf-8", "register.csv", out))
}

/// The register as an XLSX workbook, for any range (`from`, `to`, `status=all`).
#[utoipa::path(get, path = "/api/v1/places/{id}/stays.xlsx", tag = "register", params(("id" = i64, Path), ListQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               description = "One row per guest")))]
pub async fn xlsx_export(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(place_id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response> {
    let rows = export_rows(&state, &user, place_id, &q).await?;
    let book = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let sheet = book.add_worksheet();
        sheet.set_name("So luu tru")?;
        for (r, row) in rows.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                if r == 0 {
                    sheet.write_string_with_format(r as u32, c as u16, value, &bold)?;
                } else {
                    sheet.write_string(r as u32, c as u16, value)?;
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofit();
        Ok(book.save_to_buffer()?)
    })
    .await
    .map_err(anyhow::Error::from)??;
    Ok(download(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "register.xlsx",
        book,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn document_numbers_are_masked_in_the_audit_log() {
        use super::search_for_audit as audit;
        assert_eq!(audit("079088000555"), "•••••••••555");
        assert_eq!(audit("nguyen  B1234567"), "nguyen •••••567");
        assert_eq!(audit("phòng 204"), "phòng 204");
        assert_eq!(audit("KOR"), "KOR");
    }
}
