//! `/office`: the tourism office's page: today's figures, the summary for a
//! range, and the places with their codes.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::live::{self, Live};
use super::repo::{self, Summary};
use super::routes::{range, SummaryQuery};
use crate::auth::CurrentUser;
use crate::error::Error;
use crate::i18n::{Lang, Tr};
use crate::places::model::{Place, PlaceInput, ACCOMMODATION_TYPES};
use crate::places::repo as places;
use crate::web::{render, same_origin, PageError, PageResult};
use crate::{localtime, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/office", get(page))
        .route("/office/places", post(create_place))
        .route("/office/places/{id}/rotate", post(rotate))
}

#[derive(Template)]
#[template(path = "office.html")]
struct OfficePage {
    t: Tr,
    user: CurrentUser,
    summary: Summary,
    live: Live,
    places: Vec<Place>,
    wards: Vec<String>,
    types: &'static [&'static str],
}

async fn page(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Query(q): Query<SummaryQuery>,
) -> PageResult {
    let lang = Lang::negotiate(None, &headers);
    let wrap = |error: Error| PageError { error, lang };
    let user = user.ok_or(Error::Unauthorized)?;
    user.require_office().map_err(wrap)?;
    let today = localtime::today(state.tz());
    let (from, to) = range(&q, today).map_err(wrap)?;
    let summary = repo::summary(&state.db, from, to, today, None, state.tz())
        .await
        .map_err(wrap)?;
    let live = live::get(&state, None).await.map_err(wrap)?;
    let places = places::list(&state.db, state.config.base_url(), None, None)
        .await
        .map_err(wrap)?;
    let wards = crate::regions::ward_names(&state.db).await?;
    Ok(render(&OfficePage {
        t: Tr(lang),
        user,
        summary,
        live,
        places,
        wards,
        types: &ACCOMMODATION_TYPES,
    }))
}

#[derive(serde::Deserialize)]
struct PlaceForm {
    kind: String,
    name: String,
    address: Option<String>,
    ward: String,
    accommodation_type: Option<String>,
    rooms: Option<String>,
    beds: Option<String>,
}

async fn create_place(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Form(form): Form<PlaceForm>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let user = user.ok_or(Error::Unauthorized)?;
    user.require_office()?;
    let number = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse::<i32>().ok());
    let accommodation = form.kind == "accommodation";
    let input = PlaceInput {
        kind: Some(form.kind.clone()),
        name: Some(form.name.clone()),
        address: form.address.clone(),
        ward: Some(form.ward.clone()),
        accommodation_type: form.accommodation_type.clone().filter(|_| accommodation),
        rooms: number(&form.rooms).filter(|_| accommodation),
        beds: number(&form.beds).filter(|_| accommodation),
        ..Default::default()
    };
    places::create(&state, &input, user.id).await?;
    Ok(Redirect::to("/office#places").into_response())
}

async fn rotate(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let user = user.ok_or(Error::Unauthorized)?;
    user.require_office()?;
    places::rotate_code(&state, id, user.id).await?;
    Ok(Redirect::to("/office#places").into_response())
}
