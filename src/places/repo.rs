//! Places and their codes in PostgreSQL, with the code-to-place lookup cached
//! in Redis (it is on the path of every scan).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::model::{Place, PlaceInput, PlaceKind};
use crate::error::{Error, FieldErrors, Result};
use crate::qr::code::{CodeSigner, VerifiedCode};
use crate::AppState;

const CODE_CACHE_TTL: Duration = Duration::from_secs(300);

struct PlaceRow {
    id: i64,
    kind: String,
    name: String,
    address: String,
    ward: String,
    accommodation_type: Option<String>,
    class: Option<i16>,
    rooms: Option<i32>,
    beds: Option<i32>,
    status: String,
    season_months: Vec<i16>,
    code: Option<String>,
    code_issued_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl PlaceRow {
    fn into_place(self, base_url: &str) -> Place {
        Place {
            kind: PlaceKind::parse(&self.kind).unwrap_or(PlaceKind::Accommodation),
            checkin_url: self.code.as_ref().map(|c| checkin_url(base_url, c)),
            qr_png_url: format!("{base_url}/api/v1/places/{}/qr.png", self.id),
            qr_svg_url: format!("{base_url}/api/v1/places/{}/qr.svg", self.id),
            id: self.id,
            name: self.name,
            address: self.address,
            ward: self.ward,
            accommodation_type: self.accommodation_type,
            class: self.class,
            rooms: self.rooms,
            beds: self.beds,
            status: self.status,
            season_months: self.season_months,
            code: self.code,
            code_issued_at: self.code_issued_at,
            created_at: self.created_at,
        }
    }
}

/// The link people type or open: `PUBLIC_BASE_URL/c/{code}`.
pub fn checkin_url(base_url: &str, code: &str) -> String {
    format!("{base_url}/c/{code}")
}

/// What the QR code holds: the same link with scheme, host and route in
/// upper case, so the whole text fits the QR alphanumeric mode.
pub fn qr_payload(base_url: &str, code: &str) -> String {
    let (origin, path) = match base_url.find("://") {
        Some(i) => match base_url[i + 3..].find('/') {
            Some(j) => base_url.split_at(i + 3 + j),
            None => (base_url, ""),
        },
        None => (base_url, ""),
    };
    format!("{}{path}/C/{code}", origin.to_ascii_uppercase())
}

/// All places a user may see, or one, with their active code.
pub async fn list(
    pool: &PgPool,
    base_url: &str,
    only: Option<&[i64]>,
    id: Option<i64>,
) -> Result<Vec<Place>> {
    let rows = sqlx::query_as!(
        PlaceRow,
        r#"SELECT p.id, p.kind, p.name, p.address, w.name AS ward, p.accommodation_type, p.class,
                  p.rooms, p.beds, p.status, p.season_months,
                  q.code AS "code?", q.issued_at AS "code_issued_at?", p.created_at
           FROM places p
           JOIN wards w ON w.id = p.ward_id
           LEFT JOIN qr_codes q ON q.place_id = p.id AND q.revoked_at IS NULL
           WHERE ($1::bigint[] IS NULL OR p.id = ANY($1)) AND ($2::bigint IS NULL OR p.id = $2)
           ORDER BY p.kind, p.name, p.id"#,
        only,
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| r.into_place(base_url)).collect())
}

pub async fn get(pool: &PgPool, base_url: &str, id: i64) -> Result<Place> {
    list(pool, base_url, None, Some(id))
        .await?
        .pop()
        .ok_or(Error::NotFound("there is no such place"))
}

/// The ward named `name`, or its refusal among the request's other errors
/// (so that every field is named at once).
async fn ward_id(pool: &PgPool, name: &str, errors: &mut FieldErrors) -> Result<Option<i32>> {
    match crate::regions::find_ward(pool, name).await? {
        Some((id, _)) => Ok(Some(id)),
        None => {
            let known = crate::regions::ward_names(pool).await?.join(", ");
            errors.add("ward", "unknown", format!("unknown ward; one of: {known}"));
            Ok(None)
        }
    }
}

pub async fn create(state: &AppState, input: &PlaceInput, actor: i64) -> Result<Place> {
    let mut errors = FieldErrors::default();
    let kind = match input.kind.as_deref() {
        None => {
            errors.add("kind", "required", "choose accommodation or attraction");
            PlaceKind::Accommodation
        }
        Some(k) => PlaceKind::parse(k).unwrap_or_else(|| {
            errors.add("kind", "kind_value", "must be accommodation or attraction");
            PlaceKind::Accommodation
        }),
    };
    if input.name.is_none() {
        errors.add("name", "required", "give the place's name");
    }
    let ward = match input.ward.as_deref() {
        None => {
            errors.add("ward", "required", "give the ward the place is in");
            None
        }
        Some(name) => ward_id(&state.db, name, &mut errors).await?,
    };
    // The police notification of every guest gives the address of the stay.
    let accommodation =
        input.kind.as_deref().and_then(PlaceKind::parse) == Some(PlaceKind::Accommodation);
    if accommodation && input.address.is_none() {
        errors.add(
            "address",
            "required",
            "give the accommodation's address: the police notification gives it",
        );
    }
    super::model::check(input, kind, &mut errors);
    errors.finish(())?;
    let accommodation_type = match kind {
        PlaceKind::Accommodation => Some(
            input
                .accommodation_type
                .clone()
                .unwrap_or_else(|| "other".into()),
        ),
        PlaceKind::Attraction => None,
    };
    let mut tx = state.db.begin().await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO places (kind, name, address, ward_id, accommodation_type, class, rooms, beds, status, season_months)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        kind.as_str(),
        input.name.as_deref().unwrap_or_default().trim(),
        input.address.as_deref().unwrap_or_default().trim(),
        ward,
        accommodation_type,
        input.class,
        input.rooms,
        input.beds,
        input.status.as_deref().unwrap_or("open"),
        input.season_months.as_deref().unwrap_or_default()
    )
    .fetch_one(&mut *tx)
    .await?;
    let code = issue_code(&mut tx, &state.codes, id, Some(actor)).await?;
    crate::audit::record(
        &mut *tx,
        Some(actor),
        "place.create",
        Some(id),
        Some(code.as_str()),
        serde_json::json!({"name": input.name}),
    )
    .await?;
    tx.commit().await?;
    get(&state.db, state.config.base_url(), id).await
}

pub async fn update(state: &AppState, id: i64, input: &PlaceInput, actor: i64) -> Result<Place> {
    let current = get(&state.db, state.config.base_url(), id).await?;
    let mut errors = FieldErrors::default();
    if input
        .kind
        .as_deref()
        .is_some_and(|k| k != current.kind.as_str())
    {
        errors.add(
            "kind",
            "immutable",
            "a place's kind cannot change: register a new place",
        );
    }
    super::model::check(input, current.kind, &mut errors);
    // One of the two changed alone: against the other as it is.
    if input.rooms.is_none() != input.beds.is_none() {
        super::model::beds_for_rooms(
            input.rooms.or(current.rooms),
            input.beds.or(current.beds),
            &mut errors,
        );
    }
    let seasonal_without_months = input.status.is_none()
        && current.status == "seasonal"
        && input.season_months.as_ref().is_some_and(Vec::is_empty);
    if seasonal_without_months {
        errors.add(
            "season_months",
            "required",
            "a seasonal place lists the months it is open",
        );
    }
    let ward = match &input.ward {
        Some(w) => ward_id(&state.db, w, &mut errors).await?,
        None => None,
    };
    errors.finish(())?;
    let mut tx = state.db.begin().await?;
    sqlx::query!(
        "UPDATE places SET
            name = COALESCE($2, name), address = COALESCE($3, address), ward_id = COALESCE($4, ward_id),
            accommodation_type = COALESCE($5, accommodation_type), class = COALESCE($6, class),
            rooms = COALESCE($7, rooms), beds = COALESCE($8, beds), status = COALESCE($9, status),
            season_months = COALESCE($10, season_months), updated_at = now()
         WHERE id = $1",
        id,
        input.name.as_deref().map(str::trim),
        input.address.as_deref().map(str::trim),
        ward,
        input.accommodation_type,
        input.class,
        input.rooms,
        input.beds,
        input.status,
        input.season_months.as_deref()
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut *tx,
        Some(actor),
        "place.update",
        Some(id),
        None,
        serde_json::json!({
            "name": input.name, "address": input.address, "ward": input.ward,
            "accommodation_type": input.accommodation_type, "class": input.class, "rooms": input.rooms,
            "beds": input.beds, "status": input.status, "season_months": input.season_months,
        }),
    )
    .await?;
    tx.commit().await?;
    if let Some(code) = &current.code {
        state.cache.delete(&[code_cache_key(code)]).await;
    }
    super::local::announce(state.local_codes(), &state.cache).await;
    get(&state.db, state.config.base_url(), id).await
}

async fn issue_code(
    tx: &mut sqlx::PgConnection,
    signer: &CodeSigner,
    place_id: i64,
    actor: Option<i64>,
) -> Result<VerifiedCode> {
    let code = signer.issue();
    sqlx::query!(
        "INSERT INTO qr_codes (place_id, code, key_id, issued_by) VALUES ($1, $2, $3, $4)",
        place_id,
        code.as_str(),
        i16::from(signer.key_id()),
        actor
    )
    .execute(tx)
    .await?;
    Ok(code)
}

/// Revoke the place's code and issue a new one; the old poster stops working.
pub async fn rotate_code(state: &AppState, place_id: i64, actor: i64) -> Result<Place> {
    let mut tx = state.db.begin().await?;
    let exists = sqlx::query_scalar!("SELECT id FROM places WHERE id = $1 FOR UPDATE", place_id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(Error::NotFound("there is no such place"));
    }
    let old: Vec<String> = sqlx::query_scalar!(
        "UPDATE qr_codes SET revoked_at = now() WHERE place_id = $1 AND revoked_at IS NULL RETURNING code",
        place_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let new = issue_code(&mut tx, &state.codes, place_id, Some(actor)).await?;
    crate::audit::record(
        &mut *tx,
        Some(actor),
        "place.rotate_code",
        Some(place_id),
        Some(new.as_str()),
        serde_json::json!({"revoked": old}),
    )
    .await?;
    tx.commit().await?;
    let base = state.config.base_url();
    let keys: Vec<String> = old
        .iter()
        .map(|c| code_cache_key(c))
        .chain([crate::qr::routes::image_cache_key(base, place_id)])
        .collect();
    state.cache.delete(&keys).await;
    super::local::announce(state.local_codes(), &state.cache).await;
    get(&state.db, state.config.base_url(), place_id).await
}

/// One code a place has had: which was printed when, which is active.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedCode {
    pub code: String,
    pub key_id: i16,
    pub issued_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub active: bool,
}

pub async fn code_history(pool: &PgPool, place_id: i64) -> Result<Vec<IssuedCode>> {
    Ok(sqlx::query_as!(
        IssuedCode,
        r#"SELECT code, key_id, issued_at, revoked_at, revoked_at IS NULL AS "active!"
           FROM qr_codes WHERE place_id = $1 ORDER BY issued_at DESC, id DESC"#,
        place_id
    )
    .fetch_all(pool)
    .await?)
}

/// What a scan needs to know about the place behind a code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanTarget {
    pub place_id: i64,
    pub kind: PlaceKind,
    pub name: String,
    pub ward: String,
    pub open: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CodeLookup {
    Active(ScanTarget),
    /// Signed by us, but replaced by a newer poster.
    Revoked {
        place_name: String,
    },
    Unknown,
}

fn code_cache_key(code: &str) -> String {
    format!("code:{code}")
}

/// Resolve a verified code to its place: this process's memory first, then
/// Redis, then PostgreSQL.
pub async fn lookup_code(state: &AppState, code: &VerifiedCode) -> Result<CodeLookup> {
    let local = state.local_codes();
    if let Some(hit) = local.get(code.as_str()) {
        return Ok(hit);
    }
    let generation = local.generation();
    let found = shared_lookup(state, code).await?;
    local.keep(code.as_str(), &found, generation);
    Ok(found)
}

async fn shared_lookup(state: &AppState, code: &VerifiedCode) -> Result<CodeLookup> {
    let key = code_cache_key(code.as_str());
    if let Some(hit) = state.cache.get_json::<CodeLookup>(&key).await {
        return Ok(hit);
    }
    let row = sqlx::query!(
        r#"SELECT p.id, p.kind, p.name, w.name AS ward, p.status, p.season_months, q.revoked_at
           FROM qr_codes q JOIN places p ON p.id = q.place_id JOIN wards w ON w.id = p.ward_id
           WHERE q.code = $1"#,
        code.as_str()
    )
    .fetch_optional(&state.db)
    .await?;
    let found = match row {
        None => CodeLookup::Unknown,
        Some(r) if r.revoked_at.is_some() => CodeLookup::Revoked { place_name: r.name },
        Some(r) => CodeLookup::Active(ScanTarget {
            place_id: r.id,
            kind: PlaceKind::parse(&r.kind).unwrap_or(PlaceKind::Accommodation),
            name: r.name,
            ward: r.ward,
            open: r.status != "closed",
        }),
    };
    state.cache.set_json(&key, &found, CODE_CACHE_TTL).await;
    Ok(found)
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_payload_upper_cases_origin_and_route_only() {
        assert_eq!(
            super::qr_payload("https://luutru.vungtau.gov.vn", "ABC"),
            "HTTPS://LUUTRU.VUNGTAU.GOV.VN/C/ABC"
        );
        assert_eq!(
            super::qr_payload("http://127.0.0.1:8080/app", "ABC"),
            "HTTP://127.0.0.1:8080/app/C/ABC"
        );
    }
}
