//! Sign-in: `/api/v1/auth/login` for programs, `/` and `/login` for people.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};

use super::{repo, CurrentUser, Role, SESSION_COOKIE};
use crate::error::{Error, FieldErrors, Result};
use crate::extract::{ApiJson, ClientAddr};
use crate::i18n::{Lang, Tr};
use crate::web::{render, render_status, same_origin, PageError, PageResult};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/me", get(me))
        .route("/", get(sign_in_page))
        .route("/login", post(sign_in_form))
        .route("/logout", post(sign_out_form))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; also set as a cookie.
    pub token: String,
    pub user: CurrentUser,
}

/// Check a password and open a session. Wrong passwords are throttled per
/// address and per account; correct ones are never counted, so colleagues
/// behind one office connection do not lock each other out.
async fn authenticate(
    state: &AppState,
    email: &str,
    password: &str,
    addr: &str,
) -> Result<(String, CurrentUser)> {
    let limits = &state.config.rate_limits;
    let by_addr = format!("addr|{addr}");
    let by_account = format!("account|{}", email.trim().to_lowercase());
    limits
        .check_failures(&state.cache, "login", &by_addr)
        .await?;
    limits
        .check_failures(&state.cache, "login", &by_account)
        .await?;
    let found = repo::credentials(&state.db, email).await?;
    let stored = found.as_ref().map_or_else(
        || super::password::DUMMY_HASH.clone(),
        |c| c.password_hash.clone(),
    );
    let ok = super::password::verify(password.to_owned(), stored).await?;
    let Some(credentials) = found.filter(|_| ok) else {
        limits.count_failure(&state.cache, "login", &by_addr).await;
        limits
            .count_failure(&state.cache, "login", &by_account)
            .await;
        return Err(Error::Unauthorized);
    };
    let token = repo::create_session(&state.db, credentials.id, state.config.session_hours).await?;
    let user = repo::user_for_token(&state.db, &token)
        .await?
        .ok_or(Error::Unauthorized)?;
    crate::audit::record(
        &state.db,
        Some(user.id),
        "auth.sign_in",
        None,
        None,
        serde_json::json!({}),
    )
    .await?;
    Ok((token, user))
}

fn session_cookie(state: &AppState, token: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.base_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "Wrong email or password"),
              (status = 429, description = "Too many attempts; wait")))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response> {
    let mut errors = FieldErrors::default();
    if req.email.trim().is_empty() {
        errors.add("email", "required", "give your email");
    }
    if req.password.is_empty() {
        errors.add("password", "required", "give your password");
    }
    errors.finish(())?;
    let (token, user) = authenticate(&state, &req.email, &req.password, &addr).await?;
    let cookie = session_cookie(&state, &token, state.config.session_hours * 3600);
    let mut response = Json(LoginResponse { token, user }).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204, description = "Signed out")))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    if let Some(token) = super::token_from(&headers) {
        super::sign_out(&state, &token).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = CurrentUser)))]
pub async fn me(user: CurrentUser) -> Json<CurrentUser> {
    Json(user)
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    t: Tr,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// Where each role starts.
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Admin | Role::Office => "/office",
        Role::Inspector | Role::Manager | Role::Staff => "/hotel",
    }
}

async fn sign_in_page(
    user: Option<CurrentUser>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(user) = user {
        return Redirect::to(home_of(user.role)).into_response();
    }
    let t = Tr(Lang::negotiate(q.lang.as_deref(), &headers));
    render(&SignInPage {
        t,
        email: "",
        error: None,
    })
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
}

async fn sign_in_form(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> PageResult {
    let t = Tr(Lang::negotiate(None, &headers));
    same_origin(&headers).map_err(|error| PageError {
        error,
        lang: t.lang(),
    })?;
    match authenticate(&state, &form.email, &form.password, &addr).await {
        Ok((token, user)) => {
            let mut response = Redirect::to(home_of(user.role)).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&state, &token, state.config.session_hours * 3600),
            );
            Ok(response)
        }
        Err(e @ (Error::Unauthorized | Error::TooManyRequests { .. })) => {
            let message = match e {
                Error::Unauthorized => t.get("signin.wrong"),
                _ => t.get("signin.throttled"),
            };
            Ok(render_status(
                e.status(),
                &SignInPage {
                    t,
                    email: &form.email,
                    error: Some(message),
                },
            ))
        }
        Err(error) => Err(PageError {
            error,
            lang: t.lang(),
        }),
    }
}

async fn sign_out_form(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    same_origin(&headers)?;
    if let Some(token) = super::token_from(&headers) {
        super::sign_out(&state, &token).await?;
    }
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(response)
}
