//! `/hotel`: the register as a page, with desk entry and check-out.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::repo::{self, RegisterStay};
use super::routes::{create_stay, filter_from, DeskStayRequest, ListQuery};
use crate::auth::CurrentUser;
use crate::checkin::model::GuestInput;
use crate::checkin::pages::COUNTRIES;
use crate::error::Error;
use crate::extract::ApiQuery;
use crate::i18n::{Lang, Tr};
use crate::places::repo as places;
use crate::web::{render, render_status, same_origin, PageError, PageResult};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hotel", get(page))
        .route("/hotel/{place}/stays", post(desk_entry))
        .route("/hotel/{place}/stays/{id}/checkout", post(checkout))
        .route("/hotel/{place}/screen", get(screen))
}

#[derive(Template)]
#[template(path = "hotel.html")]
struct HotelPage {
    t: Tr,
    user: CurrentUser,
    places: Vec<(i64, String)>,
    place_id: Option<i64>,
    place_name: String,
    in_house: bool,
    offset: i64,
    limit: i64,
    q: String,
    stays: Vec<RegisterStay>,
    tz: chrono_tz::Tz,
    countries: &'static [&'static str],
    form: HashMap<String, String>,
    errors: Vec<(String, String)>,
    nonce: String,
}

impl HotelPage {
    fn local(&self, at: &DateTime<Utc>) -> String {
        at.with_timezone(&self.tz).format("%d/%m %H:%M").to_string()
    }
    fn q_encoded(&self) -> String {
        form_urlencoded::byte_serialize(self.q.as_bytes()).collect()
    }
    fn can_enter(&self) -> bool {
        self.place_id.is_some_and(|p| self.user.works_at(p))
    }
    fn is_current(&self, id: &i64) -> bool {
        self.place_id == Some(*id)
    }
    fn f(&self, name: &str) -> &str {
        self.form.get(name).map_or("", String::as_str)
    }
}

async fn build(
    state: &AppState,
    user: CurrentUser,
    query: &ListQuery,
    place: Option<i64>,
    lang: Lang,
) -> Result<HotelPage, Error> {
    let only = user
        .role
        .works_at_places()
        .then_some(user.place_ids.as_slice());
    let list = places::list(&state.db, state.config.base_url(), only, None).await?;
    let places: Vec<(i64, String)> = list
        .iter()
        .filter(|p| p.kind == crate::places::model::PlaceKind::Accommodation)
        .map(|p| (p.id, p.name.clone()))
        .collect();
    let place_id = place.or_else(|| (places.len() == 1).then(|| places[0].0));
    let mut stays = Vec::new();
    let mut place_name = String::new();
    if let Some(id) = place_id {
        user.require_register(id)?;
        place_name = places
            .iter()
            .find(|(p, _)| *p == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        let filter = filter_from(query)?;
        stays = repo::list(&state.db, &state.cipher, id, &filter).await?;
    }
    Ok(HotelPage {
        t: Tr(lang),
        in_house: query.status.as_deref() != Some("all"),
        offset: query.offset.unwrap_or(0),
        limit: query.limit.unwrap_or(100),
        q: query.q.clone().unwrap_or_default(),
        user,
        places,
        place_id,
        place_name,
        stays,
        tz: state.tz(),
        countries: &COUNTRIES,
        form: HashMap::new(),
        errors: Vec::new(),
        nonce: Uuid::new_v4().simple().to_string(),
    })
}

#[derive(serde::Deserialize)]
struct PlaceQuery {
    place: Option<i64>,
}

async fn page(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    ApiQuery(place): ApiQuery<PlaceQuery>,
    ApiQuery(list): ApiQuery<ListQuery>,
) -> PageResult {
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    let page = build(&state, user, &list, place.place, lang)
        .await
        .map_err(|error| PageError { error, lang })?;
    Ok(render(&page))
}

async fn desk_entry(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path(place_id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    same_origin(&headers)?;
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    if !user.works_at(place_id) {
        return Err(Error::Forbidden("only this place's manager and staff enter its stays").into());
    }
    let get = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let req = DeskStayRequest {
        guests: vec![GuestInput {
            full_name: get("full_name"),
            date_of_birth: get("date_of_birth"),
            sex: get("sex"),
            nationality: get("nationality"),
            document_type: get("document_type"),
            document_number: get("document_number"),
            ..Default::default()
        }],
        purpose: get("purpose"),
        room: get("room"),
        expected_departure: get("expected_departure"),
        ..Default::default()
    };
    let key = get("nonce").map(|n| format!("form:{n}"));
    match create_stay(&state, &user, place_id, &req, key.as_deref()).await {
        Ok(_) => Ok(Redirect::to(&format!("/hotel?place={place_id}")).into_response()),
        Err(Error::Validation(errors)) => {
            let mut page = build(&state, user, &ListQuery::default(), Some(place_id), lang)
                .await
                .map_err(|error| PageError { error, lang })?;
            let t = Tr(lang);
            page.errors = errors
                .0
                .iter()
                .flat_map(|(field, list)| {
                    // Name the field as the form labels it.
                    let field = field.trim_start_matches("guests[0].");
                    let field = match field {
                        "full_name" | "date_of_birth" | "sex" | "nationality" | "document_type"
                        | "document_number" => t.dynamic(&format!("guest.{field}")).to_owned(),
                        "expected_departure" | "purpose" => {
                            t.dynamic(&format!("stay.{field}")).to_owned()
                        }
                        "room" => t.get("hotel.room").to_owned(),
                        other => other.to_owned(),
                    };
                    list.iter()
                        .map(move |e| (field.clone(), t.error(e).to_owned()))
                })
                .collect();
            page.form = form;
            Ok(render_status(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page,
            ))
        }
        Err(error) => Err(PageError { error, lang }),
    }
}

async fn checkout(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path((place_id, id)): Path<(i64, Uuid)>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let user = user.ok_or(Error::Unauthorized)?;
    let head = crate::checkin::repo::stay_head(&state.db, id).await?;
    if head.place_id != place_id {
        return Err(Error::NotFound("there is no such stay").into());
    }
    user.require_desk(place_id)?;
    crate::checkin::repo::check_out(&state.db, state.tz(), id, "desk", Some(user.id)).await?;
    crate::stats::live::invalidate(&state, place_id).await;
    Ok(Redirect::to(&format!("/hotel?place={place_id}")).into_response())
}

#[derive(Template)]
#[template(path = "screen.html")]
struct ScreenPage {
    t: Tr,
    /// The screen also speaks English to foreign guests.
    en: Tr,
    place: String,
    image: String,
    refresh: i64,
}

/// The reception screen: a code that changes every 30 seconds, so a check-in
/// through it proves the guest stood at the desk. The page reloads itself at
/// each change without any script.
async fn screen(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path(place_id): Path<i64>,
) -> PageResult {
    let lang = Lang::negotiate(None, &headers);
    let wrap = |error: Error| PageError { error, lang };
    let user = user.ok_or(Error::Unauthorized)?;
    if !user.works_at(place_id) && user.role != crate::auth::Role::Admin {
        return Err(wrap(Error::Forbidden(
            "only this place's people open its reception screen",
        )));
    }
    let place = places::get(&state.db, state.config.base_url(), place_id)
        .await
        .map_err(wrap)?;
    if place.kind != crate::places::model::PlaceKind::Accommodation {
        return Err(wrap(Error::NotFound(
            "only accommodations have a reception screen",
        )));
    }
    let code = place
        .code
        .ok_or_else(|| wrap(Error::NotFound("this place has no active code")))?;
    let now = Utc::now().timestamp();
    let live = state.presence.live_code(&code, now);
    let payload = format!(
        "{}/{live}",
        places::qr_payload(state.config.base_url(), &code)
    );
    let png = tokio::task::spawn_blocking(move || crate::qr::render::png(&payload, 640))
        .await
        .map_err(|e| wrap(anyhow::Error::from(e).into()))?
        .map_err(|e| wrap(e.into()))?;
    use base64::Engine;
    let window = crate::qr::presence::WINDOW_SECONDS;
    let mut response = render(&ScreenPage {
        t: Tr(lang),
        en: Tr(Lang::En),
        place: place.name,
        image: base64::engine::general_purpose::STANDARD.encode(png),
        refresh: window - now.rem_euclid(window),
    });
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
