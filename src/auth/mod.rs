//! Who is asking: roles, sessions (bearer token or cookie) and the rules of
//! what each role may see.

pub mod password;
pub mod repo;
pub mod routes;
pub mod totp;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::AppState;

pub const SESSION_COOKIE: &str = "luutru_session";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Users and everything else.
    Admin,
    /// Tourism office: places, codes, statistics; never guests' personal data.
    Office,
    /// Police and authorised officials: read every register, each read audited.
    Inspector,
    /// Runs one or more places: their register, staff and code.
    Manager,
    /// Works the desk of one or more places.
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Office => "office",
            Role::Inspector => "inspector",
            Role::Manager => "manager",
            Role::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::Admin,
            Role::Office,
            Role::Inspector,
            Role::Manager,
            Role::Staff,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// Roles whose users belong to places.
    pub fn works_at_places(self) -> bool {
        matches!(self, Role::Manager | Role::Staff)
    }

    /// Roles that read guests' names somewhere (their own register, or every
    /// register); the office reads figures only, with small cells folded.
    pub fn sees_names(self) -> bool {
        !matches!(self, Role::Office)
    }
}

/// The signed-in user of a request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub place_ids: Vec<i64>,
    /// The token this session's forms carry (see `csrf`); never sent out
    /// as JSON nor cached.
    #[serde(skip)]
    pub csrf: String,
}

impl CurrentUser {
    pub fn works_at(&self, place_id: i64) -> bool {
        self.role.works_at_places() && self.place_ids.contains(&place_id)
    }

    /// Guest personal data of a place: its own people, inspectors, admins.
    pub fn require_register(&self, place_id: i64) -> Result<()> {
        match self.role {
            Role::Admin | Role::Inspector => Ok(()),
            Role::Manager | Role::Staff if self.works_at(place_id) => Ok(()),
            Role::Office => Err(Error::Forbidden(
                "the tourism office does not see guests' personal data",
            )),
            _ => Err(Error::Forbidden("you do not work at this place")),
        }
    }

    /// Changing a place's register (desk entry, check-out): its own people only.
    /// Inspectors read every register but change none.
    pub fn require_desk(&self, place_id: i64) -> Result<()> {
        if self.works_at(place_id) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "only this place's manager and staff change its register",
            ))
        }
    }

    /// Registering places and issuing their codes.
    pub fn require_office(&self) -> Result<()> {
        match self.role {
            Role::Admin | Role::Office => Ok(()),
            _ => Err(Error::Forbidden("only the tourism office may do this")),
        }
    }

    /// Reading a place's details and code: the office, or its manager.
    pub fn require_place_admin(&self, place_id: i64) -> Result<()> {
        match self.role {
            Role::Admin | Role::Office => Ok(()),
            Role::Manager if self.works_at(place_id) => Ok(()),
            _ => Err(Error::Forbidden(
                "only the office or this place's manager may do this",
            )),
        }
    }

    /// City-wide figures, or one place's own when `place_id` is given.
    pub fn require_stats(&self, place_id: Option<i64>) -> Result<()> {
        match (self.role, place_id) {
            (Role::Admin | Role::Office | Role::Inspector, _) => Ok(()),
            (Role::Manager | Role::Staff, Some(p)) if self.works_at(p) => Ok(()),
            (Role::Manager | Role::Staff, Some(_)) => {
                Err(Error::Forbidden("you do not work at this place"))
            }
            (Role::Manager | Role::Staff, None) => Err(Error::Forbidden(
                "managers and staff read the figures of their own place: add place_id",
            )),
        }
    }
}

/// The session token of a request: `Authorization: Bearer` or the cookie.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(token) = value.strip_prefix("Bearer ") {
            return Some(token.trim().to_owned());
        }
    }
    crate::web::cookie(headers, SESSION_COOKIE).map(str::to_owned)
}

/// How long a session's user is kept in Redis. Signing out deletes it at
/// once; a change of role or places reaches a live session within this time.
const SESSION_CACHE: std::time::Duration = std::time::Duration::from_secs(30);

/// The Redis name of a session's cached user (by the token's hash, never the token).
pub fn session_key(token: &str) -> String {
    session_key_of_hash(&repo::token_hash(token))
}

/// The Redis name of a session's cached user, from the token's hash.
pub fn session_key_of_hash(hash: &[u8]) -> String {
    format!("session:{}", data_encoding::HEXLOWER.encode(hash))
}

/// Forget an account's second factor and end every session it has, in
/// PostgreSQL and in Redis at once. False when there is no such account.
pub async fn reset_second_factor(state: &AppState, email: &str) -> Result<bool> {
    let Some(ended) = repo::reset_second_factor(&state.db, email).await? else {
        return Ok(false);
    };
    let keys: Vec<String> = ended.iter().map(|h| session_key_of_hash(h)).collect();
    state.cache.delete(&keys).await;
    crate::audit::record(
        &state.db,
        None,
        "auth.second_factor_reset",
        None,
        None,
        serde_json::json!({"email": email.trim()}),
    )
    .await?;
    Ok(true)
}

/// The user behind a token: from `cached` (what Redis held under
/// [`session_key`]) when present, else from PostgreSQL, then cached.
pub async fn user_for_token(
    state: &AppState,
    token: &str,
    cached: Option<Vec<u8>>,
) -> Result<Option<CurrentUser>> {
    if let Some(user) = cached.and_then(|raw| serde_json::from_slice(&raw).ok()) {
        return Ok(Some(user));
    }
    let user = repo::user_for_token(&state.db, token, state.config.require_second_factor).await?;
    if let Some(user) = &user {
        state
            .cache
            .set_json(&session_key(token), user, SESSION_CACHE)
            .await;
    }
    Ok(user)
}

/// End a session everywhere: revoked in PostgreSQL, forgotten by Redis.
pub async fn sign_out(state: &AppState, token: &str) -> Result<()> {
    repo::revoke_session(&state.db, token).await?;
    state.cache.delete(&[session_key(token)]).await;
    Ok(())
}

/// The user of a request's session, if any. The form token is made only
/// for a cookie session: a program's bearer token posts no forms.
async fn signed_in(parts: &Parts, state: &AppState) -> Result<Option<CurrentUser>> {
    let Some(token) = token_from(&parts.headers) else {
        return Ok(None);
    };
    let cached = state.cache.get_bytes(&session_key(&token)).await;
    let user = user_for_token(state, &token, cached).await?;
    let bearer = parts.headers.contains_key(header::AUTHORIZATION)
        && crate::web::cookie(&parts.headers, SESSION_COOKIE) != Some(token.as_str());
    Ok(user.map(|mut u| {
        if !bearer {
            u.csrf = crate::csrf::token(state, &token);
        }
        u
    }))
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        signed_in(parts, state).await?.ok_or(Error::Unauthorized)
    }
}

impl OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>> {
        signed_in(parts, state).await
    }
}
