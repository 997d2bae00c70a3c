//! `/api/v1/places/{id}/people` and `/activity`, and the `/hotel/{id}/team`
//! page that does the same for a manager at the desk.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::team::{self, Activity, Member, NewMember};
use crate::auth::{CurrentUser, Role};
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::i18n::{Lang, Tr};
use crate::web::{render_status, same_origin, PageError, PageResult};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/places/{id}/people", get(list).post(add))
        .route("/api/v1/places/{id}/people/{user_id}", delete(remove))
        .route(
            "/api/v1/places/{id}/people/{user_id}/password",
            post(password),
        )
        .route("/api/v1/places/{id}/activity", get(activity))
        .route("/hotel/{id}/team", get(page).post(add_form))
        .route("/hotel/{id}/team/{user_id}/remove", post(remove_form))
        .route("/hotel/{id}/team/{user_id}/password", post(password_form))
}

/// The place's managers and staff.
#[utoipa::path(get, path = "/api/v1/places/{id}/people", tag = "people", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Member>), (status = 403, description = "Only the office or the place's manager")))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(place_id): ApiPath<i64>,
) -> Result<Json<Vec<Member>>> {
    team::may_see(&user, place_id)?;
    Ok(Json(team::list(&state.db, place_id).await?))
}

/// Add a manager (the office) or staff member (the office or the place's
/// manager); an existing account of the same role gains the place.
#[utoipa::path(post, path = "/api/v1/places/{id}/people", tag = "people", params(("id" = i64, Path)),
    request_body = NewMember,
    responses((status = 201, body = Member), (status = 403, description = "Not allowed to add this role here"),
              (status = 409, description = "The email has an account of another kind"),
              (status = 422, description = "A bad email or a short password")))]
pub async fn add(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(place_id): ApiPath<i64>,
    ApiJson(new): ApiJson<NewMember>,
) -> Result<(StatusCode, Json<Member>)> {
    let member = team::add(&state, &user, place_id, &new).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// Remove a person from the place (disabled when no place is left); they are signed out.
#[utoipa::path(delete, path = "/api/v1/places/{id}/people/{user_id}", tag = "people",
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204, description = "Removed"), (status = 403, description = "Not allowed"),
              (status = 404, description = "Not a person of this place")))]
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((place_id, user_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode> {
    team::remove(&state, &user, place_id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    pub password: String,
}

/// Set a person's password; their sessions end.
#[utoipa::path(post, path = "/api/v1/places/{id}/people/{user_id}/password", tag = "people",
    params(("id" = i64, Path), ("user_id" = i64, Path)), request_body = NewPassword,
    responses((status = 204, description = "Set"), (status = 403, description = "Not allowed"),
              (status = 422, description = "Too short")))]
pub async fn password(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath((place_id, user_id)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<NewPassword>,
) -> Result<StatusCode> {
    team::reset_password(&state, &user, place_id, user_id, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ActivityQuery {
    /// Lines, 1 to 1000 (default 200).
    pub limit: Option<i64>,
}

/// Who did what at the place, newest first.
#[utoipa::path(get, path = "/api/v1/places/{id}/activity", tag = "people", params(("id" = i64, Path), ActivityQuery),
    responses((status = 200, body = Vec<Activity>), (status = 403, description = "Only the place's manager and admins")))]
pub async fn activity(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(place_id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> Result<Json<Vec<Activity>>> {
    team::may_see_activity(&user, place_id)?;
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let names = user.works_at(place_id);
    Ok(Json(
        team::activity(&state.db, place_id, limit, names).await?,
    ))
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    t: Tr,
    user: CurrentUser,
    place_id: i64,
    place_name: String,
    members: Vec<Member>,
    activity: Vec<Activity>,
    error: Option<String>,
    /// What the last change did, said once it is done.
    done: Option<&'static str>,
    /// The address of a person whose adding was refused, kept for the retry.
    email: String,
    tz: chrono_tz::Tz,
}

impl TeamPage {
    /// Whether the reader may open the place's register (the office may not).
    fn reads_register(&self) -> bool {
        self.user.require_register(self.place_id).is_ok()
    }

    fn local(&self, at: &DateTime<Utc>) -> String {
        at.with_timezone(&self.tz).format("%d/%m %H:%M").to_string()
    }
    fn can_add_managers(&self) -> bool {
        matches!(self.user.role, Role::Admin | Role::Office)
    }
    /// The role the add form offers first: a place's first person, added
    /// by the office, is usually its manager.
    fn first_manager(&self) -> bool {
        self.can_add_managers() && !self.members.iter().any(|m| m.role == Role::Manager)
    }
    fn can_manage(&self, member: &Member) -> bool {
        member.user_id != self.user.id && (self.can_add_managers() || member.role == Role::Staff)
    }
    /// An audited action in words, or its code when none are written.
    fn action(&self, code: &str) -> String {
        self.t.dynamic_or(&format!("audit.{code}"), code)
    }
    /// Whom or what an action was on, when a person reads it (an email):
    /// a stay's or guest's id says nothing on the page.
    fn on_whom<'a>(&self, target: &'a Option<String>) -> Option<&'a str> {
        target
            .as_deref()
            .filter(|t| uuid::Uuid::parse_str(t).is_err())
    }
    fn detail(&self, detail: &serde_json::Value) -> String {
        detail_words(self.t, self.tz, detail)
    }
    /// Who acted when no person did: the guest from the receipt, or the
    /// service itself (the automatic check-out).
    fn nobody(&self, detail: &serde_json::Value) -> &'static str {
        if detail["by"] == "visitor" {
            self.t.get("team.by_guest")
        } else {
            self.t.get("team.system")
        }
    }
}

async fn team_page(
    state: &AppState,
    user: CurrentUser,
    place_id: i64,
    lang: Lang,
    error: Option<String>,
) -> Result<TeamPage> {
    team::may_see(&user, place_id)?;
    let place = crate::places::repo::get(&state.db, state.config.base_url(), place_id).await?;
    let activity = if team::may_see_activity(&user, place_id).is_ok() {
        team::activity(&state.db, place_id, 100, user.works_at(place_id)).await?
    } else {
        Vec::new()
    };
    Ok(TeamPage {
        t: Tr(lang),
        members: team::list(&state.db, place_id).await?,
        user,
        place_id,
        place_name: place.name,
        activity,
        error,
        done: None,
        email: String::new(),
        tz: state.tz(),
    })
}

/// The changes the page says it made.
const DONE: [&str; 3] = ["added", "removed", "password"];

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path(place_id): Path<i64>,
    Query(query): Query<DoneQuery>,
) -> PageResult<Response> {
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    let mut page = team_page(&state, user, place_id, lang, None)
        .await
        .map_err(|error| PageError { error, lang })?;
    page.done = DONE.into_iter().find(|d| query.done.as_deref() == Some(*d));
    Ok(render_status(StatusCode::OK, &page))
}

/// Run a change from the page: back to the page, saying what was `done`,
/// or the page with the reason (and the address typed, when adding).
async fn after(
    state: &AppState,
    user: CurrentUser,
    place_id: i64,
    lang: Lang,
    outcome: Result<()>,
    done: &str,
    email: Option<String>,
) -> PageResult<Response> {
    match outcome {
        Ok(()) => {
            Ok(Redirect::to(&format!("/hotel/{place_id}/team?done={done}#done")).into_response())
        }
        Err(error) => {
            let status = error.status();
            let t = Tr(lang);
            let reason = crate::web::reason(t, &error);
            let mut page = team_page(state, user, place_id, lang, Some(reason))
                .await
                .map_err(|error| PageError { error, lang })?;
            page.email = email.unwrap_or_default();
            Ok(render_status(status, &page))
        }
    }
}

#[derive(Deserialize)]
struct AddForm {
    email: String,
    role: Role,
    password: Option<String>,
}

async fn add_form(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path(place_id): Path<i64>,
    Form(form): Form<AddForm>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    let new = NewMember {
        email: form.email,
        role: form.role,
        password: form.password.filter(|p| !p.is_empty()),
    };
    let outcome = team::add(&state, &user, place_id, &new).await.map(|_| ());
    after(
        &state,
        user,
        place_id,
        lang,
        outcome,
        "added",
        Some(new.email),
    )
    .await
}

async fn remove_form(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path((place_id, user_id)): Path<(i64, i64)>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    let outcome = team::remove(&state, &user, place_id, user_id).await;
    after(&state, user, place_id, lang, outcome, "removed", None).await
}

async fn password_form(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path((place_id, user_id)): Path<(i64, i64)>,
    Form(body): Form<NewPassword>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    let outcome = team::reset_password(&state, &user, place_id, user_id, &body.password).await;
    after(&state, user, place_id, lang, outcome, "password", None).await
}

/// An audit line's detail in words: each field by its label, a change as
/// `before → after`, times in the city's clock; ids, which say nothing to a
/// reader, left out.
fn detail_words(t: Tr, tz: chrono_tz::Tz, detail: &serde_json::Value) -> String {
    use serde_json::Value;
    let label = |key: &str| -> String {
        t.label(&["audit.detail", "guest", "stay", "hotel", "team"], key)
            .unwrap_or(key)
            .to_owned()
    };
    fn value(v: &Value, t: Tr, tz: chrono_tz::Tz) -> String {
        match v {
            Value::Null => "–".to_owned(),
            Value::Bool(yes) => t.get(if *yes { "team.yes" } else { "team.no" }).to_owned(),
            Value::String(s) if s.is_empty() => "–".to_owned(),
            Value::String(s) => {
                if let Ok(at) = DateTime::parse_from_rfc3339(s) {
                    at.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string()
                } else if let Ok(day) = s.parse::<chrono::NaiveDate>() {
                    day.format("%d/%m/%Y").to_string()
                } else {
                    s.clone()
                }
            }
            Value::Array(a) => a
                .iter()
                .map(|v| value(v, t, tz))
                .collect::<Vec<_>>()
                .join(", "),
            Value::Object(o) if o.contains_key("from") || o.contains_key("to") => {
                let side = |k: &str| o.get(k).map_or("–".to_owned(), |v| value(v, t, tz));
                format!("{} → {}", side("from"), side("to"))
            }
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| format!("{k}: {}", value(v, t, tz)))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    }
    let shown = |key: &str, v: &Value| -> Option<String> {
        let id = key == "id"
            || key.ends_with("_id")
            || v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok());
        if id {
            return None;
        }
        let words = match (key, v) {
            ("role", Value::String(role)) => t.dynamic_or(&format!("role.{role}"), role),
            ("by", Value::String(by)) => t.dynamic_or(&format!("checkout_by.{by}"), by),
            _ => value(v, t, tz),
        };
        Some(format!("{}: {words}", label(key)))
    };
    let Value::Object(fields) = detail else {
        return value(detail, t, tz);
    };
    // A change of one field: "Room: 101 → 305".
    if let Some(Value::String(field)) = fields.get("field") {
        let side = |k: &str| fields.get(k).map_or("–".to_owned(), |v| value(v, t, tz));
        return format!("{}: {} → {}", label(field), side("from"), side("to"));
    }
    fields
        .iter()
        .flat_map(|(k, v)| match v {
            // Corrected fields, each with its change.
            Value::Object(inner) if k == "fields" => inner
                .iter()
                .filter_map(|(f, change)| shown(f, change))
                .collect::<Vec<_>>(),
            _ => shown(k, v).into_iter().collect(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::i18n::{Lang, Tr};

    #[test]
    fn an_audit_detail_reads_as_words() {
        let vi = Tr(Lang::Vi);
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let detail_words = |detail: &serde_json::Value| super::detail_words(vi, tz, detail);
        assert_eq!(
            detail_words(&json!({"field": "room", "from": "101", "to": "305"})),
            format!("{}: 101 → 305", vi.get("hotel.room"))
        );
        assert_eq!(
            detail_words(&json!({"stay": "01a23aef-f435-75f8-b3e5-2e5cf91c232b",
                                 "fields": {"full_name": {"from": "Nguyen Van A", "to": "Nguyễn Văn An"}}})),
            format!(
                "{}: Nguyen Van A → Nguyễn Văn An",
                vi.get("guest.full_name")
            )
        );
        assert_eq!(
            detail_words(&json!({"by": "desk"})),
            format!("{}: {}", vi.get("stay.by"), vi.get("checkout_by.desk"))
        );
        assert_eq!(detail_words(&json!({})), "");
        // Every key in words, a yes or no in words too.
        assert_eq!(
            detail_words(&json!({"date": "2026-12-03", "format": "csv", "unsent": true})),
            format!(
                "{}: 03/12/2026; {}: csv; {}: {}",
                vi.get("audit.detail.date"),
                vi.get("audit.detail.format"),
                vi.get("audit.detail.unsent"),
                vi.get("team.yes")
            )
        );
        // Ids left out, a role in words, times in the city's clock.
        assert_eq!(
            detail_words(&json!({"user_id": 42, "role": "staff"})),
            format!("{}: {}", vi.get("team.role"), vi.get("role.staff"))
        );
        assert_eq!(
            detail_words(&json!({"departed_at": "2026-12-03T03:05:00Z",
                                 "expected_departure": {"from": "2026-12-04", "to": "2026-12-05"}})),
            format!(
                "{}: 03/12/2026 10:05; {}: 04/12/2026 → 05/12/2026",
                vi.get("stay.departed_at"),
                vi.get("stay.expected_departure")
            )
        );
    }
}
