//! `PATCH /api/v1/places/{id}/guests/{guest_id}` and the correction form
//! `/hotel/{id}/guests/{guest_id}`.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use serde_json::json;
use uuid::Uuid;

use super::corrections;
use crate::auth::CurrentUser;
use crate::checkin::model::GuestInput;
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath};
use crate::i18n::{Lang, Tr};
use crate::web::{render_status, same_origin, PageError, PageResult};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/places/{id}/guests/{guest_id}",
            axum::routing::patch(patch),
        )
        .route("/hotel/{id}/guests/{guest_id}", get(page).post(submit))
}

/// Correct a guest's declared fields (those given; an empty string clears
/// one). The whole guest is checked again; each change is audited.
#[utoipa::path(patch, path = "/api/v1/places/{id}/guests/{guest_id}", tag = "register",
    params(("id" = i64, Path), ("guest_id" = Uuid, Path)), request_body = GuestInput,
    responses((status = 200, description = "`changed`: the fields that changed"),
              (status = 403, description = "Only the place's manager and staff"),
              (status = 404, description = "No such guest at this place"),
              (status = 422, description = "The corrected guest breaks a rule; `errors` names the field")))]
pub async fn patch(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((place_id, guest_id)): ApiPath<(i64, Uuid)>,
    ApiJson(changes): ApiJson<GuestInput>,
) -> Result<Json<serde_json::Value>> {
    user.require_desk(place_id)?;
    let changed = corrections::correct(&state, place_id, guest_id, &changes, user.id).await?;
    Ok(Json(json!({"guest_id": guest_id, "changed": changed})))
}

#[derive(Template)]
#[template(path = "guest_edit.html")]
struct EditPage {
    t: Tr,
    user: CurrentUser,
    place_id: i64,
    guest_id: Uuid,
    values: BTreeMap<&'static str, String>,
    errors: BTreeMap<String, Vec<String>>,
}

impl EditPage {
    fn v(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }
    fn e(&self, field: &str) -> &[String] {
        self.errors.get(field).map_or(&[], Vec::as_slice)
    }
}

fn values(g: &GuestInput) -> BTreeMap<&'static str, String> {
    let mut map = BTreeMap::new();
    for (k, v) in [
        ("full_name", &g.full_name),
        ("date_of_birth", &g.date_of_birth),
        ("sex", &g.sex),
        ("nationality", &g.nationality),
        ("residence_country", &g.residence_country),
        ("document_type", &g.document_type),
        ("document_number", &g.document_number),
        ("address", &g.address),
        ("phone", &g.phone),
        ("document_expiry", &g.document_expiry),
        ("visa_number", &g.visa_number),
        ("entry_date", &g.entry_date),
    ] {
        map.insert(k, v.clone().unwrap_or_default());
    }
    map
}

async fn page(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path((place_id, guest_id)): Path<(i64, Uuid)>,
) -> PageResult<Response> {
    let lang = Lang::negotiate(None, &headers);
    let wrap = |error| PageError { error, lang };
    let user = user.ok_or(Error::Unauthorized)?;
    user.require_desk(place_id).map_err(wrap)?;
    let current = corrections::load(&state, place_id, guest_id)
        .await
        .map_err(wrap)?;
    // The form shows the full document number: written in the audit log as
    // the register's "show the number" is (a child on an adult's document
    // has none to show).
    if current.input.document_number.is_some() {
        crate::audit::record(
            &state.db,
            Some(user.id),
            "guest.reveal",
            Some(place_id),
            Some(&guest_id.to_string()),
            json!({}),
        )
        .await
        .map_err(wrap)?;
    }
    Ok(crate::web::private(render_status(
        StatusCode::OK,
        &EditPage {
            t: Tr(lang),
            user,
            place_id,
            guest_id,
            values: values(&current.input),
            errors: BTreeMap::new(),
        },
    )))
}

async fn submit(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path((place_id, guest_id)): Path<(i64, Uuid)>,
    Form(changes): Form<GuestInput>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let lang = Lang::negotiate(None, &headers);
    let wrap = |error| PageError { error, lang };
    let user = user.ok_or(Error::Unauthorized)?;
    user.require_desk(place_id).map_err(wrap)?;
    match corrections::correct(&state, place_id, guest_id, &changes, user.id).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/hotel?place={place_id}&status=all&done=corrected#done"
        ))
        .into_response()),
        Err(Error::Validation(fields)) => {
            let t = Tr(lang);
            let errors = fields
                .0
                .iter()
                .map(|(k, list)| {
                    (
                        k.clone(),
                        list.iter().map(|e| t.error(e).to_owned()).collect(),
                    )
                })
                .collect();
            Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &EditPage {
                    t,
                    user,
                    place_id,
                    guest_id,
                    values: values(&changes),
                    errors,
                },
            ))
        }
        Err(error) => Err(wrap(error)),
    }
}
