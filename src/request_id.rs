//! Every request gets an id: the `X-Request-Id` a proxy in front of us set,
//! when it is a sane one, else one made here. It is in the request's log
//! span, in the response's `X-Request-Id` header and in the body of every
//! error (a JSON `request_id`; on a page, a reference to quote), so that a
//! visitor's complaint leads to the log lines of their request.

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being answered, inside [`assign`].
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| sane(id))
        .map_or_else(
            // uuid's fast-rng: random bits from the thread's generator.
            || uuid::Uuid::new_v4().simple().to_string(),
            str::to_owned,
        );
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    request.headers_mut().insert(HEADER.clone(), value.clone());
    let api = request.uri().path().starts_with("/api/");
    let mut response = CURRENT.scope(id.clone(), next.run(request)).await;
    if let Some(message) = plain_refusal(&response, api) {
        // The layers that cut a request short (too slow, too large) and the
        // router (a method a route does not take) answer in plain text or
        // not at all; give their answer the shape of every other error.
        let body = serde_json::json!({"message": message, "request_id": id}).to_string();
        let headers = std::mem::take(response.headers_mut());
        response = (response.status(), body).into_response();
        response.headers_mut().extend(headers);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response.headers_mut().remove(header::CONTENT_LENGTH);
    }
    response.headers_mut().insert(HEADER.clone(), value);
    response
}

/// What to say for an answer some layer gave in plain text (or none); a
/// 405 is answered so on the API only.
fn plain_refusal(response: &Response, api: bool) -> Option<&'static str> {
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !plain {
        return None;
    }
    match response.status() {
        StatusCode::REQUEST_TIMEOUT => Some("the request took too long; try again"),
        StatusCode::PAYLOAD_TOO_LARGE => Some("the request body is too large"),
        // The router adds the methods the route takes, as `Allow`, after
        // the answer has passed the layers.
        StatusCode::METHOD_NOT_ALLOWED if api => {
            Some("this route does not take this method: the Allow header names the ones it does")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_short_plain_ids_are_taken_from_outside() {
        assert!(super::sane("5f0c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6"));
        assert!(!super::sane(""));
        assert!(!super::sane("a b"));
        assert!(!super::sane("x\u{1b}[31m"));
        assert!(!super::sane(&"a".repeat(65)));
    }
}
