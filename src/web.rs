//! Plumbing for the pages people use: static assets compiled into the
//! binary, HTML rendering, the not-found page, and the same-origin check on
//! form posts (cookies are SameSite=Lax as well).

use askama::Template;
use axum::extract::OriginalUri;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::error::Error;
use crate::i18n::{Lang, Tr};
use crate::AppState;

const APP_CSS: &str = include_str!("../web/static/app.css");
const CHECKIN_JS: &str = include_str!("../web/static/checkin.js");
const DESK_JS: &str = include_str!("../web/static/desk.js");
const OFFICE_JS: &str = include_str!("../web/static/office.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/app.css", get(css))
        .route("/static/checkin.js", get(checkin_js))
        .route("/static/desk.js", get(desk_js))
        .route("/static/office.js", get(office_js))
        .route("/favicon.ico", get(favicon))
}

/// A short fingerprint of the static assets: pages link `?v=` with it, so
/// a phone never runs a script older than the page it came with.
pub fn asset_version() -> &'static str {
    static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use sha2::{Digest, Sha256};
        let digest = Sha256::new()
            .chain_update(APP_CSS)
            .chain_update(CHECKIN_JS)
            .chain_update(DESK_JS)
            .chain_update(OFFICE_JS)
            .finalize();
        data_encoding::HEXLOWER.encode(&digest[..6])
    });
    &VERSION
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

async fn checkin_js() -> Response {
    asset("text/javascript; charset=utf-8", CHECKIN_JS)
}

async fn desk_js() -> Response {
    asset("text/javascript; charset=utf-8", DESK_JS)
}

async fn office_js() -> Response {
    asset("text/javascript; charset=utf-8", OFFICE_JS)
}

async fn favicon() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// A response kept out of every cache, shared or the browser's own: a page
/// with a full document number, a visitor's stay link or a form's nonce.
pub fn private(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    response
}

/// Render a template, or a plain 500 (with the cause logged) if it fails.
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub fn render_status(status: StatusCode, template: &impl Template) -> Response {
    let mut response = render(template);
    if response.status().is_success() {
        *response.status_mut() = status;
    }
    response
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub t: Tr,
    pub title: &'a str,
    pub message: &'a str,
    pub link: Option<(&'a str, &'a str)>,
}

/// A page error: sign-in for the anonymous, a readable message for the rest.
pub struct PageError {
    pub error: Error,
    pub lang: Lang,
}

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        PageError {
            error,
            lang: Lang::Vi,
        }
    }
}

impl From<sqlx::Error> for PageError {
    fn from(error: sqlx::Error) -> Self {
        Error::from(error).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let t = Tr(self.lang);
        let status = self.error.status();
        if status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/").into_response();
        }
        // Pages speak the reader's language: a sentence per kind of refusal,
        // with the fields named on the form itself.
        let mut message = t.get(kind_of_refusal(status)).to_owned();
        match &self.error {
            Error::Validation(fields) => {
                for e in fields.0.values().flatten() {
                    message.push(' ');
                    message.push_str(t.error(e));
                }
            }
            Error::Conflict(refusal) => {
                message.push(' ');
                message.push_str(&t.refusal(refusal));
            }
            _ => {}
        }
        if status.is_server_error() {
            // The JSON response logs the cause; the page says only what a
            // person can act on, and the reference that finds the cause.
            let _ = self.error.into_response();
            if let Some(id) = crate::request_id::current() {
                message.push(' ');
                message.push_str(&t.get("page.reference").replace("{id}", &id));
            }
        }
        render_status(
            status,
            &MessagePage {
                t,
                title: t.get("page.error_title"),
                message: &message,
                link: Some(("/", t.get("page.home"))),
            },
        )
    }
}

pub type PageResult<T = Response> = Result<T, PageError>;

/// A file of the API a page's form downloads (the office's monthly report
/// and posters): its refusal is a page in the reader's language when a
/// browser went there, and the API's JSON otherwise.
pub fn download(headers: &HeaderMap, file: crate::error::Result<Response>) -> Response {
    let navigated = headers
        .get("sec-fetch-dest")
        .is_some_and(|dest| dest == "document");
    match file {
        Ok(file) => file,
        Err(error) if navigated => PageError {
            error,
            lang: crate::i18n::Lang::negotiate(None, headers),
        }
        .into_response(),
        Err(error) => error.into_response(),
    }
}

/// PostgreSQL text cannot hold NUL, and no person types one: refuse any
/// request whose query or body carries one, before a handler sees it.
pub async fn reject_nul(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let nul_in = |text: &[u8]| {
        text.contains(&0)
            || text.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00"))
            || text.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"))
    };
    let refuse = || Error::BadRequest("text may not contain NUL characters".into()).into_response();
    if nul_in(request.uri().path().as_bytes())
        || request.uri().query().is_some_and(|q| nul_in(q.as_bytes()))
    {
        return refuse();
    }
    let binary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("image/"));
    // Images are bytes, not text; and a request without a body (a GET,
    // mostly) has nothing to read.
    let empty = axum::body::HttpBody::size_hint(request.body()).exact() == Some(0);
    if binary || empty {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The body limit layer outside this one has already bounded the size.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large",
            )
                .into_response()
        }
    };
    if nul_in(&bytes) {
        return refuse();
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// What went wrong, in one line of the reader's language where the error
/// has translated codes (staff pages show it above the form or table).
pub fn reason(t: Tr, error: &Error) -> String {
    match error {
        // Each message after its field's name, where the forms name it.
        Error::Validation(fields) => fields
            .0
            .iter()
            .flat_map(|(field, errors)| {
                let label = t.label(&["signin", "guest", "stay", "hotel"], field);
                errors.iter().map(move |e| match label {
                    Some(label) => format!("{label}: {}", t.error(e)),
                    None => t.error(e).to_owned(),
                })
            })
            .collect::<Vec<_>>()
            .join(" "),
        Error::Conflict(refusal) => t.refusal(refusal),
        // The English sentences name what was refused; other languages get
        // the kind of refusal.
        other if t.0 == Lang::En => other.to_string(),
        other => t.get(kind_of_refusal(other.status())).to_owned(),
    }
}

/// The catalog key of the sentence a page says for a refusal of `status`.
fn kind_of_refusal(status: StatusCode) -> &'static str {
    match status {
        StatusCode::FORBIDDEN => "page.forbidden",
        StatusCode::NOT_FOUND => "page.not_found",
        StatusCode::CONFLICT => "page.conflict",
        StatusCode::TOO_MANY_REQUESTS => "page.too_many",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "form.fix_errors",
        _ => "page.error_server",
    }
}

/// The value of cookie `name` in a request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Refuse a form post sent from another site.
pub fn same_origin(headers: &HeaderMap) -> Result<(), Error> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    if origin == "null" || origin_host != host {
        return Err(Error::Forbidden("this form must be sent from this site"));
    }
    Ok(())
}

pub async fn not_found(uri: OriginalUri, headers: HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        return Error::NotFound("there is no such route").into_response();
    }
    let t = Tr(Lang::negotiate(None, &headers));
    render_status(
        StatusCode::NOT_FOUND,
        &MessagePage {
            t,
            title: t.get("page.not_found_title"),
            message: t.get("page.not_found"),
            link: Some(("/", t.get("page.home"))),
        },
    )
}
