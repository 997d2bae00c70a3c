//! Sign-in: `/api/v1/auth/login` for programs, `/` and `/login` for people.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};

use super::{repo, totp, CurrentUser, Role, SESSION_COOKIE};
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
        // GET too: a refused sign-in is shown at /login, and its language
        // links (`?lang=`) are followed there.
        .route("/login", get(sign_in_page).post(sign_in_form))
        .route("/login/code", get(code_page).post(code_form))
        .route("/logout", post(sign_out_form))
        .route("/lang/{lang}", get(choose_language))
}

/// A signed-in page's language switcher: remembers the language (the
/// cookie a visitor's `?lang=` sets) and goes back to the page it was
/// chosen on, as the browser names it; to the start page when it names
/// none of this site's.
async fn choose_language(
    axum::extract::Path(code): axum::extract::Path<String>,
    headers: HeaderMap,
) -> PageResult<Response> {
    let lang = Lang::from_code(&code).ok_or(PageError {
        error: Error::NotFound("there is no such language"),
        lang: Lang::negotiate(None, &headers),
    })?;
    let mut response = Redirect::to(&back_to_referer(&headers)).into_response();
    crate::i18n::remember(&mut response, lang);
    Ok(response)
}

/// The page that linked here, when it is one of this site's (the same
/// host): its path and query, without the message of an action done
/// (`done=`, `sent=`). A page shown as the answer to a form (a refusal, a revealed
/// number) is at an address only a form is sent to: the page it belongs to
/// instead. "/" when none.
fn back_to_referer(headers: &HeaderMap) -> String {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    // `Uri` refuses spaces and control characters and leaves the fragment
    // out; a backslash, which some browsers read as a slash, is refused here.
    let Some(back) = text(header::REFERER)
        .and_then(|r| r.parse::<Uri>().ok())
        .filter(|uri| {
            let host = text(header::HOST).filter(|h| !h.is_empty());
            uri.authority().map(|a| a.as_str()) == host
        })
        .and_then(|uri| uri.path_and_query().cloned())
        .filter(|back| !back.path().starts_with("//") && !back.as_str().contains('\\'))
    else {
        return "/".to_owned();
    };
    let (path, query) = (back.path(), back.query().unwrap_or(""));
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let register = |place: &str| match place.parse::<i64>() {
        Ok(place) => format!("/hotel?place={place}"),
        Err(_) => "/hotel".to_owned(),
    };
    match segments.as_slice() {
        ["lang", ..] => "/".to_owned(),
        ["office", _, ..] => "/office".to_owned(),
        ["hotel", place, "team", _, ..] => format!("/hotel/{place}/team"),
        ["hotel", place, "guests", _, _, ..] | ["hotel", place, "stays" | "police", ..] => {
            register(place)
        }
        _ => {
            let query: Vec<&str> = query
                .split('&')
                .filter(|p| !p.is_empty() && !p.starts_with("done=") && !p.starts_with("sent="))
                .collect();
            if query.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", query.join("&"))
            }
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The six-digit code of the account's authenticator app: required of
    /// admin, office and inspector accounts when the second factor is on.
    #[serde(default)]
    pub totp: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; also set as a cookie.
    pub token: String,
    pub user: CurrentUser,
}

/// What a right password leads to.
pub enum Passed {
    /// A session, opened.
    Session(String, CurrentUser),
    /// A code of the second factor is still owed; `enrolled` is false while
    /// the account has no second factor yet.
    CodeOwed { user_id: i64, enrolled: bool },
}

/// Check a password (and, for the accounts that need one, the second
/// factor's `code` when given) and open a session. Wrong passwords and codes
/// are throttled per address and per account; right ones are never counted,
/// so colleagues behind one office connection do not lock each other out.
async fn authenticate(
    state: &AppState,
    email: &str,
    password: &str,
    code: Option<&str>,
    addr: &str,
) -> Result<Passed> {
    let throttle = Throttle::new(email, addr);
    throttle.check(state).await?;
    let found = repo::credentials(&state.db, email).await?;
    let stored = found.as_ref().map_or_else(
        || super::password::DUMMY_HASH.clone(),
        |c| c.password_hash.clone(),
    );
    let ok = super::password::verify(password.to_owned(), stored).await?;
    let Some(credentials) = found.filter(|_| ok) else {
        throttle.count(state).await;
        return Err(Error::Unauthorized);
    };
    let owes_code = state.config.require_second_factor
        && Role::parse(&credentials.role).is_some_and(totp::required_for);
    if owes_code {
        let (Some(sealed), Some(code)) = (&credentials.totp_secret, code) else {
            return Ok(Passed::CodeOwed {
                user_id: credentials.id,
                enrolled: credentials.totp_secret.is_some(),
            });
        };
        let secret = totp::open(&state.cipher, sealed)?;
        let step = totp::accepted_step(&secret, code, totp::now(), credentials.totp_last_step);
        let used = match step {
            Some(step) => {
                let mut conn = state.db.acquire().await?;
                repo::use_code(&mut conn, credentials.id, step, None).await?
            }
            None => false,
        };
        if !used {
            throttle.count(state).await;
            return Err(Error::Unauthorized);
        }
    }
    let token = repo::create_session(
        &state.db,
        credentials.id,
        state.config.session_hours,
        owes_code,
    )
    .await?;
    let user = signed_in(state, &token, owes_code).await?;
    Ok(Passed::Session(token, user))
}

/// The user of a session just opened, with the sign-in audited.
async fn signed_in(state: &AppState, token: &str, second_factor: bool) -> Result<CurrentUser> {
    let user = repo::user_for_token(&state.db, token, state.config.require_second_factor)
        .await?
        .ok_or(Error::Unauthorized)?;
    crate::audit::record(
        &state.db,
        Some(user.id),
        "auth.sign_in",
        None,
        None,
        serde_json::json!({"second_factor": second_factor}),
    )
    .await?;
    Ok(user)
}

/// Failed sign-ins counted per address and per account.
struct Throttle {
    by_addr: String,
    by_account: String,
}

impl Throttle {
    fn new(email: &str, addr: &str) -> Self {
        Throttle {
            by_addr: format!("addr|{addr}"),
            by_account: format!("account|{}", email.trim().to_lowercase()),
        }
    }

    async fn check(&self, state: &AppState) -> Result<()> {
        let limits = &state.config.rate_limits;
        limits
            .check_failures(&state.cache, "login", &self.by_addr)
            .await?;
        limits
            .check_failures(&state.cache, "login", &self.by_account)
            .await
    }

    async fn count(&self, state: &AppState) {
        let limits = &state.config.rate_limits;
        limits
            .count_failure(&state.cache, "login", &self.by_addr)
            .await;
        limits
            .count_failure(&state.cache, "login", &self.by_account)
            .await;
    }
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
    responses((status = 200, body = LoginResponse), (status = 401, description = "Wrong email, password or code"),
              (status = 403, description = "The account must first set up its second factor on the sign-in page"),
              (status = 422, description = "A field is missing, the second factor's code among them"),
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
    let code = req.totp.as_deref().filter(|c| !c.trim().is_empty());
    let (token, user) = match authenticate(&state, &req.email, &req.password, code, &addr).await? {
        Passed::Session(token, user) => (token, user),
        Passed::CodeOwed { enrolled: true, .. } => {
            return Err(FieldErrors::single(
                "totp",
                "second_factor_required",
                "this account needs the six-digit code of its authenticator app",
            ))
        }
        Passed::CodeOwed {
            enrolled: false, ..
        } => return Err(Error::Forbidden(
            "this account has no second factor yet: sign in once on the sign-in page to set one up",
        )),
    };
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
    let page = render(&SignInPage {
        t,
        email: "",
        error: None,
    });
    remember_chosen(page, &q, t)
}

/// A language chosen with the page's switcher (`?lang=`) is the one of the
/// pages after signing in.
fn remember_chosen(mut page: Response, q: &LangQuery, t: Tr) -> Response {
    if q.lang.as_deref().and_then(Lang::from_code).is_some() {
        crate::i18n::remember(&mut page, t.lang());
    }
    page
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
    match authenticate(&state, &form.email, &form.password, None, &addr).await {
        Ok(Passed::Session(token, user)) => Ok(signed_in_at_home(&state, &token, user.role)),
        Ok(Passed::CodeOwed { user_id, enrolled }) => {
            let enrol = (!enrolled).then(|| totp::seal(&state.cipher, &totp::new_secret()));
            let token = repo::create_pending_session(&state.db, user_id, enrol).await?;
            let mut response = Redirect::to("/login/code").into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&state, &token, repo::PENDING_MINUTES * 60),
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

/// A signed-in user sent to where their role starts, with the session's cookie.
fn signed_in_at_home(state: &AppState, token: &str, role: Role) -> Response {
    let mut response = Redirect::to(home_of(role)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(state, token, state.config.session_hours * 3600),
    );
    response
}

#[derive(Template)]
#[template(path = "sign_in_code.html")]
struct CodePage {
    t: Tr,
    /// While the account sets up its second factor: the app's QR code (SVG)
    /// and the secret as text, for an app that cannot scan.
    setup: Option<(String, String)>,
    error: Option<&'static str>,
}

impl CodePage {
    fn of(
        state: &AppState,
        t: Tr,
        pending: &repo::Pending,
        error: Option<&'static str>,
    ) -> Result<Self> {
        let setup = match (&pending.totp_secret, &pending.enrol_secret) {
            (None, Some(sealed)) => {
                let secret = totp::open(&state.cipher, sealed)?;
                let svg = crate::qr::render::svg(&totp::otpauth_uri(&secret, &pending.email))?;
                Some((svg, totp::readable(&secret)))
            }
            _ => None,
        };
        Ok(CodePage { t, setup, error })
    }
}

/// The password was right: the page asking for the code (or setting up the
/// second factor). Without a pending sign-in, back to the sign-in page.
async fn code_page(
    State(state): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> PageResult {
    let t = Tr(Lang::negotiate(q.lang.as_deref(), &headers));
    let pending = match super::token_from(&headers) {
        Some(token) => repo::pending(&state.db, &token).await?,
        None => None,
    };
    // Without a pending sign-in, back to the sign-in page, in the language
    // chosen here if one was.
    let Some(pending) = pending else {
        return Ok(remember_chosen(Redirect::to("/").into_response(), &q, t));
    };
    let page = render(&CodePage::of(&state, t, &pending, None)?);
    Ok(remember_chosen(page, &q, t))
}

#[derive(Deserialize, Default)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn code_form(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> PageResult {
    // Read after the pending sign-in is found: anyone else is sent to the
    // sign-in page whatever they sent.
    let form: CodeForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let t = Tr(Lang::negotiate(None, &headers));
    let fail = |error| PageError {
        error,
        lang: t.lang(),
    };
    same_origin(&headers).map_err(fail)?;
    let Some(token) = super::token_from(&headers) else {
        return Ok(Redirect::to("/").into_response());
    };
    let Some(pending) = repo::pending(&state.db, &token).await.map_err(fail)? else {
        return Ok(Redirect::to("/").into_response());
    };
    let throttle = Throttle::new(&pending.email, &addr);
    if let Err(e) = throttle.check(&state).await {
        let page =
            CodePage::of(&state, t, &pending, Some(t.get("signin.throttled"))).map_err(fail)?;
        let mut response = render_status(e.status(), &page);
        if let Error::TooManyRequests { retry_after } = e {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        return Ok(response);
    }
    let (sealed, setting_up) = match (&pending.totp_secret, &pending.enrol_secret) {
        (Some(sealed), _) => (sealed, false),
        (None, Some(sealed)) => (sealed, true),
        (None, None) => return Ok(Redirect::to("/").into_response()),
    };
    let secret = totp::open(&state.cipher, sealed).map_err(fail)?;
    let step = totp::accepted_step(&secret, &form.code, totp::now(), pending.totp_last_step);
    let opened = match step {
        Some(step) => repo::complete_pending(
            &state.db,
            &token,
            pending.user_id,
            step,
            setting_up.then(|| sealed.clone()),
            state.config.session_hours,
        )
        .await
        .map_err(fail)?,
        None => None,
    };
    let Some(new_token) = opened else {
        throttle.count(&state).await;
        let page =
            CodePage::of(&state, t, &pending, Some(t.get("signin.code_wrong"))).map_err(fail)?;
        return Ok(render_status(StatusCode::UNAUTHORIZED, &page));
    };
    if setting_up {
        crate::audit::record(
            &state.db,
            Some(pending.user_id),
            "auth.second_factor_set_up",
            None,
            None,
            serde_json::json!({}),
        )
        .await
        .map_err(fail)?;
    }
    let user = signed_in(&state, &new_token, true).await.map_err(fail)?;
    Ok(signed_in_at_home(&state, &new_token, user.role))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn back(host: &str, referer: &str) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        headers.insert(header::REFERER, HeaderValue::from_str(referer).unwrap());
        back_to_referer(&headers)
    }

    #[test]
    fn only_a_page_of_this_site_is_gone_back_to() {
        let site = "luutru.example:8080";
        assert_eq!(
            back(site, "https://luutru.example:8080/hotel?place=3#stays"),
            "/hotel?place=3"
        );
        assert_eq!(back(site, "https://luutru.example:8080"), "/");
        assert_eq!(back(site, "https://luutru.example/hotel"), "/");
        assert_eq!(back(site, "https://user@luutru.example:8080/hotel"), "/");
        assert_eq!(
            back(site, "https://luutru.example:8080//evil.example/"),
            "/"
        );
        assert_eq!(
            back(site, "https://luutru.example:8080/\\evil.example/"),
            "/"
        );
        assert_eq!(back(site, "https://luutru.example:8080/hotel?q=a b"), "/");
        assert_eq!(back(site, "/hotel"), "/");
        assert_eq!(back("", "https://luutru.example:8080/hotel"), "/");
        assert_eq!(
            back(
                site,
                "http://luutru.example:8080/hotel?done=room&status=all"
            ),
            "/hotel?status=all"
        );
    }
}
