//! Forms sent with a session cookie carry a token only our own pages know:
//! an HMAC of the session's token under a key derived from the data key.
//! Another site can make a browser send the cookie, but cannot read the
//! page, so it cannot send the token. (Cookies are also `SameSite=Lax` and
//! the sign-in forms check their `Origin`: this is the layer that holds
//! when a browser sends neither.)
//!
//! Asked only of what another site's page can make a browser send without
//! asking us first: a POST (or other unsafe method) with no body type or
//! with a form's (`application/x-www-form-urlencoded`, `multipart/form-data`,
//! `text/plain`). JSON and images need a preflight this service never
//! grants. Also exempt: requests with `Authorization: Bearer` (programs;
//! the cookie is then not read), and the visitor's and sign-in pages,
//! which a session does not open.
//!
//! The key is derived from the data key; tokens made under a retired data
//! key still hold, so a key rotation does not break forms left open.

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::Error;
use crate::i18n::{Lang, Tr};
use crate::web::{render_status, MessagePage};
use crate::AppState;

/// The form field, and the header for scripts, that carry the token.
pub const FIELD: &str = "csrf";
pub const HEADER: &str = "x-csrf-token";

/// Pages a session does not open: the visitor's check-in and check-out,
/// and signing in.
const EXEMPT: &[&str] = &["/c/", "/stay/", "/login"];

/// The token of a session's forms.
pub fn token(state: &AppState, session_token: &str) -> String {
    let mac = mac(&state.config.data_key(), session_token);
    data_encoding::BASE64URL_NOPAD.encode(&mac.finalize().into_bytes())
}

fn mac(data_key: &[u8; 32], session_token: &str) -> Hmac<Sha256> {
    let key = crate::crypto::derive_key(data_key, "csrf form token");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("any key length");
    mac.update(session_token.as_bytes());
    mac
}

/// Whether `given` is the token of the session under the current data key
/// or a retired one, compared in constant time.
fn holds(state: &AppState, session_token: &str, given: &str) -> bool {
    let Ok(bytes) = data_encoding::BASE64URL_NOPAD.decode(given.trim().as_bytes()) else {
        return false;
    };
    std::iter::once(state.config.data_key())
        .chain(state.config.retired_data_keys())
        .any(|key| mac(&key, session_token).verify_slice(&bytes).is_ok())
}

/// Refuse a cookie-authenticated form without its session's token.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(session) = needs_token(&request) else {
        return next.run(request).await;
    };
    if let Some(given) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if holds(&state, &session, given) {
            next.run(request).await
        } else {
            refuse(&request)
        };
    }
    let urlencoded = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !urlencoded {
        return refuse(&request);
    }
    let (parts, body) = request.into_parts();
    // The body limit layer outside this one has already bounded the size.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        )
            .into_response();
    };
    let given = form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == FIELD)
        .map(|(_, value)| value.into_owned());
    match given {
        Some(given) if holds(&state, &session, &given) => {
            next.run(without_token(parts, &bytes)).await
        }
        _ => refuse(&Request::from_parts(parts, axum::body::Body::empty())),
    }
}

/// The form once its token has done its work: the handler reads the same
/// fields as the JSON API takes, which refuses any it does not know.
fn without_token(mut parts: axum::http::request::Parts, form: &[u8]) -> Request {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(form).filter(|(name, _)| name != FIELD))
        .finish();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, body.len().into());
    Request::from_parts(parts, axum::body::Body::from(body))
}

/// The session token of a request that must show its form token.
fn needs_token(request: &Request) -> Option<String> {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let path = request.uri().path();
    let headers = request.headers();
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| {
            let v = v.to_str().unwrap_or("").trim().to_ascii_lowercase();
            [
                "application/x-www-form-urlencoded",
                "multipart/form-data",
                "text/plain",
            ]
            .iter()
            .any(|t| v.starts_with(t))
        })
        .unwrap_or(true);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    if !unsafe_method || !form_type || bearer || EXEMPT.iter().any(|p| path.starts_with(p)) {
        return None;
    }
    crate::web::cookie(headers, crate::auth::SESSION_COOKIE)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn refuse(request: &Request) -> Response {
    let error = Error::Forbidden(
        "this form has expired or did not come from this site: reload the page and send it again",
    );
    if request.uri().path().starts_with("/api/") {
        return error.into_response();
    }
    let t = Tr(Lang::negotiate(None, request.headers()));
    render_status(
        error.status(),
        &MessagePage {
            t,
            title: t.get("page.error_title"),
            message: t.get("page.form_expired"),
            link: Some(("/", t.get("page.home"))),
        },
    )
}
