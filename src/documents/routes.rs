//! `/api/v1/documents/parse` and `/api/v1/documents/photo`: what a scanner,
//! a phone camera or a typed MRZ gave, turned into guest fields. Public, since
//! visitors use it before they have any account; rate-limited per address;
//! nothing is stored.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::ParsedDocument;
use crate::error::{Error, FieldErrors, Result};
use crate::extract::{ApiJson, ClientAddr};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/documents/parse", post(parse))
        .route("/api/v1/documents/photo", post(photo))
}

#[derive(Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseRequest {
    /// The text of a CCCD QR code, or the two (passport) or three (ID card)
    /// MRZ lines, separated by line breaks or not at all.
    pub text: String,
}

/// Longest text worth parsing: a CCCD QR text with room for new fields.
const MAX_TEXT: usize = 2000;
/// Photos are scaled down by the page before upload; a larger side is cut.
const MAX_SIDE: u32 = 2000;

/// Read a CCCD QR text or a passport / ID-card MRZ into guest fields.
#[utoipa::path(
    post, path = "/api/v1/documents/parse", tag = "documents",
    request_body = ParseRequest,
    responses(
        (status = 200, description = "The fields read, ready for the check-in form", body = ParsedDocument),
        (status = 422, description = "Not a document text, or a check digit is wrong (each wrong one is named under `text`)"),
        (status = 429, description = "Too many requests from this address"),
    )
)]
pub async fn parse(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<ParseRequest>,
) -> Result<Json<ParsedDocument>> {
    limit(&state, &addr).await?;
    if req.text.len() > MAX_TEXT {
        return Err(FieldErrors::single(
            "text",
            "too_long",
            format!("a document text has at most {MAX_TEXT} characters"),
        ));
    }
    Ok(Json(super::parse(&req.text).map_err(Error::Validation)?))
}

/// Find the QR code in a photo of a CCCD card (JPEG or PNG body) and read it.
#[utoipa::path(
    post, path = "/api/v1/documents/photo", tag = "documents",
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "A photo of the card's QR code, JPEG or PNG, at most 1 MB"),
    responses(
        (status = 200, description = "The fields read from the card's QR code", body = ParsedDocument),
        (status = 415, description = "The body is not a JPEG or PNG image"),
        (status = 422, description = "No QR code was found, or its text is not a card's"),
        (status = 429, description = "Too many requests from this address"),
    )
)]
pub async fn photo(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ParsedDocument>> {
    limit(&state, &addr).await?;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !(kind.starts_with("image/jpeg") || kind.starts_with("image/png")) {
        return Err(Error::UnsupportedMediaType(
            "send the photo as image/jpeg or image/png",
        ));
    }
    // Decoding and searching an image is CPU work: keep it off the
    // threads that answer requests.
    let text = tokio::task::spawn_blocking(move || read_qr(&body))
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("photo decoder stopped: {e}")))??;
    Ok(Json(super::parse(&text).map_err(Error::Validation)?))
}

async fn limit(state: &AppState, addr: &str) -> Result<()> {
    state
        .config
        .rate_limits
        .check(&state.cache, "documents", addr)
        .await
}

/// The text of the first QR code found in an image.
pub fn read_qr(bytes: &[u8]) -> Result<String> {
    let unreadable = || {
        FieldErrors::single(
            "photo",
            "image_format",
            "this file is not a photo that can be read (JPEG or PNG)",
        )
    };
    let image = image::load_from_memory(bytes).map_err(|_| unreadable())?;
    let image = if image.width().max(image.height()) > MAX_SIDE {
        image.thumbnail(MAX_SIDE, MAX_SIDE)
    } else {
        image
    };
    let luma = image.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    prepared
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .ok_or_else(|| {
            FieldErrors::single(
                "photo",
                "qr_not_found",
                "no QR code was found in the photo: hold the card closer, in good light",
            )
        })
}
