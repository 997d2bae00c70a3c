//! `/api/v1/places/{id}/qr.png` and `qr.svg`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::poster::Bundle;
use super::render;
use crate::auth::{CurrentUser, Role};
use crate::error::{Error, FieldErrors, Result};
use crate::extract::{ApiPath, ApiQuery};
use crate::places::repo::{self, qr_payload};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/places/{id}/qr.png", get(png))
        .route("/api/v1/places/{id}/qr.svg", get(svg))
        .route("/api/v1/places/{id}/poster.pdf", get(poster))
        .route("/api/v1/posters.pdf", get(batch))
        .route("/api/v1/posters.zip", get(batch_zip))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SizeQuery {
    /// Width in pixels, 100 to 2000 (default 512).
    size: Option<u32>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PosterQuery {
    /// a4 (default, for a wall) or a6 (for a desk).
    paper: Option<String>,
}

/// A printable poster of the place's code, with its name and the fallback link.
#[utoipa::path(get, path = "/api/v1/places/{id}/poster.pdf", tag = "places", params(("id" = i64, Path), PosterQuery),
    responses((status = 200, content_type = "application/pdf", description = "The poster"),
              (status = 503, description = "The poster fonts are not installed")))]
pub async fn poster(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<PosterQuery>,
) -> Result<Response> {
    may_print(&user, id)?;
    let paper = parse_paper(q.paper.as_deref())?;
    let place = repo::get(&state.db, state.config.base_url(), id).await?;
    let name = super::poster::file_name(place.id, &place.name, Some(paper));
    let pdf =
        super::poster::for_places(&state, &[place], paper, Bundle::Pdf, Box::new(|| {})).await?;
    Ok(pdf_response(pdf, &name))
}

fn pdf_response(pdf: Vec<u8>, name: &str) -> Response {
    let disposition = format!("inline; filename=\"{name}\"");
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        pdf,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchQuery {
    /// Only the places of this ward (current or former name); default the whole city.
    ward: Option<String>,
    /// a4 (default) or a6.
    paper: Option<String>,
}

/// The posters of a ward or the city, bundled one way or the other.
async fn posters(
    state: &AppState,
    user: &CurrentUser,
    q: &BatchQuery,
    bundle: Bundle,
) -> Result<Vec<u8>> {
    user.require_office()?;
    let paper = parse_paper(q.paper.as_deref())?;
    let places = places_to_print(state, q.ward.as_deref()).await?;
    super::poster::for_places(state, &places, paper, bundle, Box::new(|| {})).await
}

/// Every place's poster, of one ward or the whole city, as one multi-page PDF (the office).
#[utoipa::path(get, path = "/api/v1/posters.pdf", tag = "places", params(BatchQuery),
    responses((status = 200, content_type = "application/pdf", description = "One page per place"),
              (status = 422, description = "Unknown ward or paper, or no place there with a code")))]
pub async fn batch(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<BatchQuery>,
) -> Response {
    let pdf = posters(&state, &user, &q, Bundle::Pdf).await;
    crate::web::download(&headers, pdf.map(|pdf| pdf_response(pdf, "posters.pdf")))
}

/// The same posters as a ZIP of one PDF per place, named by place.
#[utoipa::path(get, path = "/api/v1/posters.zip", tag = "places", params(BatchQuery),
    responses((status = 200, content_type = "application/zip", description = "One PDF per place"),
              (status = 422, description = "Unknown ward or paper, or no place there with a code")))]
pub async fn batch_zip(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<BatchQuery>,
) -> Response {
    let zip = posters(&state, &user, &q, Bundle::Zip).await;
    let zip = zip.map(|zip| {
        (
            [
                (header::CONTENT_TYPE, "application/zip"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"posters.zip\"",
                ),
            ],
            zip,
        )
            .into_response()
    });
    crate::web::download(&headers, zip)
}

/// Every place, or those of one ward (current or former name).
pub async fn places_to_print(
    state: &AppState,
    ward: Option<&str>,
) -> Result<Vec<crate::places::model::Place>> {
    let mut places = repo::list(&state.db, state.config.base_url(), None, None).await?;
    if let Some(ward) = ward.filter(|w| !w.trim().is_empty()) {
        let (_, name) = crate::regions::find_ward(&state.db, ward)
            .await?
            .ok_or_else(|| FieldErrors::single("ward", "unknown", "there is no such ward"))?;
        places.retain(|p| p.ward == name);
    }
    Ok(places)
}

pub fn parse_paper(raw: Option<&str>) -> Result<super::poster::Paper> {
    match raw {
        None => Ok(super::poster::Paper::A4),
        Some(p) => super::poster::Paper::parse(p)
            .ok_or_else(|| FieldErrors::single("paper", "invalid", "must be a4 or a6")),
    }
}

/// The QR payload of a place the user may print: the office, admins and the place's own people.
fn may_print(user: &CurrentUser, id: i64) -> Result<()> {
    match user.role {
        Role::Admin | Role::Office => Ok(()),
        Role::Manager | Role::Staff if user.works_at(id) => Ok(()),
        Role::Manager | Role::Staff => Err(Error::Forbidden("you do not work at this place")),
        Role::Inspector => Err(Error::Forbidden(
            "only the office and the place's people print its code",
        )),
    }
}

async fn payload(state: &AppState, user: &CurrentUser, id: i64) -> Result<String> {
    may_print(user, id)?;
    let place = repo::get(&state.db, state.config.base_url(), id).await?;
    let code = place
        .code
        .ok_or(Error::NotFound("this place has no active code"))?;
    Ok(qr_payload(state.config.base_url(), &code))
}

fn cached(headers: &HeaderMap, etag: &str, content_type: &'static str, body: Vec<u8>) -> Response {
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    // Private: the image names an active code; revalidate so a rotation shows.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

/// Rendered images live a day in Redis, keyed by what they encode; a
/// rotation deletes the old code's images (see `places::repo::rotate_code`).
const IMAGE_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(86_400);

/// Images of a place's active code, one field per size. Named by place (and
/// by the public address the code points at), deleted when the code rotates.
pub fn image_cache_key(base_url: &str, place_id: i64) -> String {
    let base = Sha256::digest(base_url.as_bytes());
    format!(
        "qr:png:{place_id}:{}",
        data_encoding::HEXLOWER.encode(&base[..4])
    )
}

fn etag(payload: &str, variant: &str) -> String {
    let digest = Sha256::digest(format!("{payload}|{variant}"));
    format!("\"{}\"", data_encoding::HEXLOWER.encode(&digest[..12]))
}

/// The place's check-in code as a PNG, quiet zone included.
#[utoipa::path(get, path = "/api/v1/places/{id}/qr.png", tag = "places", params(("id" = i64, Path), SizeQuery),
    responses((status = 200, content_type = "image/png", description = "The code"),
              (status = 422, description = "size out of range")))]
pub async fn png(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<SizeQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    let size = q.size.unwrap_or(render::DEFAULT_SIZE);
    if !(render::MIN_SIZE..=render::MAX_SIZE).contains(&size) {
        return Err(FieldErrors::single(
            "size",
            "out_of_range",
            format!(
                "size is {} to {} pixels",
                render::MIN_SIZE,
                render::MAX_SIZE
            ),
        ));
    }
    // The session's user and the cached image come back in one round trip
    // to Redis; the image is handed out only once the user may see it.
    let token = crate::auth::token_from(&headers).ok_or(Error::Unauthorized)?;
    let name = image_cache_key(state.config.base_url(), id);
    let field = size.to_string();
    let (session, image) = state
        .cache
        .get_with_field(&crate::auth::session_key(&token), &name, &field)
        .await;
    let user = crate::auth::user_for_token(&state, &token, session)
        .await?
        .ok_or(Error::Unauthorized)?;
    may_print(&user, id)?;
    // Stored as the ETag, a line break, then the PNG.
    if let Some(stored) = image {
        if let Some(split) = stored.iter().position(|b| *b == b'\n') {
            let tag = String::from_utf8_lossy(&stored[..split]).into_owned();
            return Ok(cached(
                &headers,
                &tag,
                "image/png",
                stored[split + 1..].to_vec(),
            ));
        }
    }
    let payload = payload(&state, &user, id).await?;
    let tag = etag(&payload, &format!("png{size}"));
    let rendered = tokio::task::spawn_blocking(move || render::png(&payload, size))
        .await
        .map_err(anyhow::Error::from)??;
    let mut stored = Vec::with_capacity(tag.len() + 1 + rendered.len());
    stored.extend_from_slice(tag.as_bytes());
    stored.push(b'\n');
    stored.extend_from_slice(&rendered);
    state
        .cache
        .set_field(&name, &field, &stored, IMAGE_CACHE_TTL)
        .await;
    Ok(cached(&headers, &tag, "image/png", rendered))
}

/// The place's check-in code as SVG, for print shops.
#[utoipa::path(get, path = "/api/v1/places/{id}/qr.svg", tag = "places", params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/svg+xml", description = "The code")))]
pub async fn svg(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> Result<Response> {
    let payload = payload(&state, &user, id).await?;
    let tag = etag(&payload, "svg");
    Ok(cached(
        &headers,
        &tag,
        "image/svg+xml",
        render::svg(&payload)?.into_bytes(),
    ))
}
