//! `/api/v1/places`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::model::{Place, PlaceInput};
use super::repo;
use crate::auth::{CurrentUser, Role};
use crate::error::Result;
use crate::extract::ApiJson;
use crate::extract::ApiPath;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/places", post(create).get(list))
        .route("/api/v1/places/{id}", get(read).patch(update))
        .route("/api/v1/places/{id}/qr/rotate", post(rotate))
        .route("/api/v1/places/{id}/codes", get(codes))
}

/// Register a place; it gets its check-in code at once.
#[utoipa::path(post, path = "/api/v1/places", tag = "places", request_body = PlaceInput,
    responses((status = 201, body = Place), (status = 403, description = "Only the office and admins"),
              (status = 422, description = "A field needs fixing")))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(input): ApiJson<PlaceInput>,
) -> Result<(StatusCode, Json<Place>)> {
    user.require_office()?;
    Ok((
        StatusCode::CREATED,
        Json(repo::create(&state, &input, user.id).await?),
    ))
}

/// Places the user may see: all for the office, admins and inspectors; their own for managers and staff.
#[utoipa::path(get, path = "/api/v1/places", tag = "places", responses((status = 200, body = Vec<Place>)))]
pub async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<Place>>> {
    let only = user
        .role
        .works_at_places()
        .then_some(user.place_ids.as_slice());
    Ok(Json(
        repo::list(&state.db, state.config.base_url(), only, None).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/places/{id}", tag = "places", params(("id" = i64, Path)),
    responses((status = 200, body = Place), (status = 404, description = "No such place")))]
pub async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Place>> {
    if user.role.works_at_places() && !user.works_at(id) {
        return Err(crate::error::Error::Forbidden(
            "you do not work at this place",
        ));
    }
    Ok(Json(
        repo::get(&state.db, state.config.base_url(), id).await?,
    ))
}

/// Change a place's details (the office and admins).
#[utoipa::path(patch, path = "/api/v1/places/{id}", tag = "places", params(("id" = i64, Path)), request_body = PlaceInput,
    responses((status = 200, body = Place), (status = 422, description = "A field needs fixing")))]
pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<PlaceInput>,
) -> Result<Json<Place>> {
    user.require_office()?;
    Ok(Json(repo::update(&state, id, &input, user.id).await?))
}

/// Replace the place's code: the old poster stops working at once.
#[utoipa::path(post, path = "/api/v1/places/{id}/qr/rotate", tag = "places", params(("id" = i64, Path)),
    responses((status = 200, body = Place), (status = 403, description = "Only the office or the place's manager")))]
pub async fn rotate(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Place>> {
    user.require_place_admin(id)?;
    if user.role == Role::Manager && !user.works_at(id) {
        return Err(crate::error::Error::Forbidden(
            "you do not manage this place",
        ));
    }
    Ok(Json(repo::rotate_code(&state, id, user.id).await?))
}

/// Every code the place has had, newest first: which poster was printed when, and which is active.
#[utoipa::path(get, path = "/api/v1/places/{id}/codes", tag = "places", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<repo::IssuedCode>)))]
pub async fn codes(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<repo::IssuedCode>>> {
    user.require_place_admin(id)?;
    if user.role == Role::Manager && !user.works_at(id) {
        return Err(crate::error::Error::Forbidden(
            "you do not manage this place",
        ));
    }
    repo::get(&state.db, state.config.base_url(), id).await?;
    Ok(Json(repo::code_history(&state.db, id).await?))
}
