//! One error type for the whole service. Bad input becomes a 4xx whose JSON
//! names the field and says what to fix; internal failures become a generic
//! 500 (or 503 when a backing service is unreachable) with the cause logged.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What is wrong with one field, as a stable code (translated on visitor
/// pages) and an English sentence (used by the API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub code: &'static str,
    pub message: String,
    /// A fact said with the translated sentence, in any language: the
    /// catalog key of its name, and its value (the portal's reference of a
    /// file already sent). The English `message` says it already.
    #[serde(skip)]
    pub detail: Option<(&'static str, String)>,
}

/// Field errors collected while parsing a request, keyed by path
/// (`guests[1].date_of_birth`), in the order they were found: the checks
/// run in the order of the forms' fields, so a page lists them as the
/// reader meets the fields (guest 2 before guest 10).
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(pub IndexMap<String, Vec<FieldError>>);

impl FieldErrors {
    pub fn add(
        &mut self,
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.0.entry(field.into()).or_default().push(FieldError {
            code,
            message: message.into(),
            detail: None,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was added, else the collected errors.
    pub fn finish<T>(self, value: T) -> Result<T> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(Error::Validation(self))
        }
    }

    pub fn single(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Error {
        let mut errors = Self::default();
        errors.add(field, code, message);
        Error::Validation(errors)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("some fields need fixing")]
    Validation(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("sign in first")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    /// The request cannot be done in the current state: a stable code
    /// (translated on pages) and an English sentence (the API's message).
    #[error("{}", .0.message)]
    Conflict(FieldError),
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    #[error("too many requests, try again in {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
    #[error("{0} is unavailable, try again shortly")]
    Unavailable(&'static str),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// The body of every error answer of the API.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct Body<'a> {
    /// What went wrong, in a sentence.
    pub message: String,
    /// A refusal of the current state (409) as a stable code, for clients
    /// that say it in their user's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'a str>,
    /// Each field's problems, by field (`guests[1].date_of_birth`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Option<BTreeMap<String, Vec<String>>>)]
    pub errors: BTreeMap<&'a str, Vec<&'a str>>,
    /// The same problems as stable codes, for clients that show them in
    /// their user's language.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Option<BTreeMap<String, Vec<String>>>)]
    pub codes: BTreeMap<&'a str, Vec<&'a str>>,
    /// The request's id, to quote when asking about this error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Error {
    /// A refusal of the current state (409), as `code` and an English
    /// sentence.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Error {
        Error::Conflict(FieldError {
            code,
            message: message.into(),
            detail: None,
        })
    }

    /// A conflict whose sentence is said with a fact (see
    /// [`FieldError::detail`]).
    pub fn conflict_with(
        code: &'static str,
        message: impl Into<String>,
        detail: (&'static str, String),
    ) -> Error {
        Error::Conflict(FieldError {
            code,
            message: message.into(),
            detail: Some(detail),
        })
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(e) if is_unavailable(e) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// For a terminal: the message, and each field's problem on its own line.
    pub fn describe(&self) -> String {
        match self {
            Error::Validation(fields) => fields
                .0
                .iter()
                .map(|(field, list)| {
                    let messages: Vec<&str> = list.iter().map(|e| e.message.as_str()).collect();
                    format!("{field}: {}", messages.join("; "))
                })
                .collect::<Vec<_>>()
                .join("\n"),
            other => other.to_string(),
        }
    }

    /// The database refused a row because of a constraint: name the constraint.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Error::Database(sqlx::Error::Database(e)) => e.constraint(),
            _ => None,
        }
    }
}

/// The database could not be reached (as opposed to a query that failed).
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_) => true,
        // The server is shutting down, restarting or not yet accepting
        // (class 57, operator intervention), the connection broke (class
        // 08), or every connection slot is taken (53300): a retry a moment
        // later succeeds.
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("57P") || code.starts_with("08") || code == "53300"
        }),
        _ => false,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Error::Database(e) if status == StatusCode::SERVICE_UNAVAILABLE => {
                tracing::warn!(error = %e, "database unavailable");
                "the database is unavailable, try again shortly".to_owned()
            }
            Error::Database(e) => {
                tracing::error!(error = %e, "database error");
                "internal error".to_owned()
            }
            Error::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let errors = match &self {
            Error::Validation(fields) => fields
                .0
                .iter()
                .map(|(k, v)| (k.as_str(), v.iter().map(|e| e.message.as_str()).collect()))
                .collect(),
            _ => BTreeMap::new(),
        };
        let codes = match &self {
            Error::Validation(fields) => fields
                .0
                .iter()
                .map(|(k, v)| (k.as_str(), v.iter().map(|e| e.code).collect()))
                .collect(),
            _ => BTreeMap::new(),
        };
        let code = match &self {
            Error::Conflict(refusal) => Some(refusal.code),
            _ => None,
        };
        let mut response = (
            status,
            axum::Json(Body {
                message,
                code,
                errors,
                codes,
                request_id: crate::request_id::current(),
            }),
        )
            .into_response();
        let retry_after = match &self {
            Error::TooManyRequests { retry_after } => Some(*retry_after),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(2),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
