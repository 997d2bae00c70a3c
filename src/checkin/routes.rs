//! `/api/v1/checkins` and check-out.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::repo;
use super::service::{self, CheckinRequest};
use crate::auth::CurrentUser;
use crate::error::{Error, Result};
use crate::extract::ApiPath;
use crate::extract::{idempotency_key, ApiJson, ClientAddr};
use crate::places::repo::{lookup_code, CodeLookup, ScanTarget};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/checkins", post(create_checkin))
        .route("/api/v1/stays/{id}/checkout", post(checkout))
}

/// Resolve a code as scanned to an open place, or say why not.
pub async fn scan_target(state: &AppState, code: &str) -> Result<ScanTarget> {
    let verified = state
        .codes
        .verify(code.trim())
        .ok_or(Error::NotFound("this check-in code is not valid"))?;
    match lookup_code(state, &verified).await? {
        CodeLookup::Active(target) if target.open => Ok(target),
        CodeLookup::Active(_) => Err(Error::conflict(
            "place_closed",
            "this place is closed and does not take check-ins",
        )),
        CodeLookup::Revoked { .. } => Err(Error::NotFound(
            "this check-in code was replaced by a newer poster; ask the staff for the current one",
        )),
        CodeLookup::Unknown => Err(Error::NotFound("this check-in code is not valid")),
    }
}

/// Check in at an accommodation (guests) or a tourist site (a party).
#[utoipa::path(
    post, path = "/api/v1/checkins", tag = "check-in",
    request_body = CheckinRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key returns the first answer; kept 24 hours")),
    responses(
        (status = 201, description = "Checked in: `stay_id` and `checkout_token`, or `visit_id`"),
        (status = 404, description = "The code is not valid or was replaced"),
        (status = 409, description = "The key was used for another request, or the place is closed"),
        (status = 422, description = "A field needs fixing; `errors` names it"),
        (status = 429, description = "Too many check-ins from this address"),
    )
)]
pub async fn create_checkin(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CheckinRequest>,
) -> Result<(StatusCode, Json<Value>)> {
    let key = idempotency_key(&headers)?;
    let target = scan_target(&state, &req.code).await?;
    let (status, body) = service::check_in(&state, &target, &addr, &req, key.as_deref()).await?;
    Ok((status, Json(body)))
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct CheckoutRequest {
    /// The token the visitor received at check-in; staff of the place may omit it.
    pub checkout_token: Option<String>,
}

/// Check out a whole stay: by the visitor with their token, or by the place's staff.
#[utoipa::path(
    post, path = "/api/v1/stays/{id}/checkout", tag = "check-in",
    params(("id" = Uuid, Path, description = "The stay")),
    request_body(content = Option<CheckoutRequest>),
    responses(
        (status = 200, description = "Checked out (again: the first departure time)"),
        (status = 401, description = "Neither a valid token nor a signed-in user"),
        (status = 403, description = "The user does not work at this place"),
        (status = 404, description = "No such stay"),
    )
)]
pub async fn checkout(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
    user: Option<CurrentUser>,
    body: Bytes,
) -> Result<Json<Value>> {
    let req: CheckoutRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CheckoutRequest::default()
    } else {
        crate::extract::parse_json(&body)?
    };
    let head = repo::stay_head(&state.db, id).await?;
    let (by, actor) = match (&req.checkout_token, &user) {
        (Some(token), _) => {
            if !repo::token_matches(head.checkout_token_hash.as_deref(), token) {
                return Err(Error::Forbidden(
                    "this check-out link is not valid for this stay",
                ));
            }
            ("visitor", None)
        }
        (None, Some(user)) => {
            user.require_desk(head.place_id)?;
            ("desk", Some(user.id))
        }
        (None, None) => return Err(Error::Unauthorized),
    };
    let departed = repo::check_out(&state.db, state.tz(), id, by, actor).await?;
    if departed.changed {
        crate::stats::live::invalidate(&state, departed.place_id).await;
    }
    Ok(Json(json!({"stay_id": id, "departed_at": departed.at})))
}
