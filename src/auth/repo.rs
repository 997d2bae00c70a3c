//! Users, their places and their sessions in PostgreSQL.

use base64::Engine;
use chrono::{Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{password, CurrentUser, Role};
use crate::error::{Error, FieldErrors, Result};

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The user of a live session. With `second_factor` required, a session of
/// an account that owes a code opens only if it was opened with one.
pub async fn user_for_token(
    pool: &PgPool,
    token: &str,
    second_factor: bool,
) -> Result<Option<CurrentUser>> {
    let row = sqlx::query!(
        r#"SELECT u.id, u.email, u.role,
                  COALESCE(array_agg(m.place_id ORDER BY m.place_id) FILTER (WHERE m.place_id IS NOT NULL), '{}') AS "place_ids!"
           FROM sessions s
           JOIN users u ON u.id = s.user_id
           LEFT JOIN place_members m ON m.user_id = u.id
           WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
             AND NOT s.second_factor_pending AND u.disabled_at IS NULL
             AND (NOT $2 OR s.second_factor OR u.role NOT IN ('admin', 'office', 'inspector'))
           GROUP BY u.id"#,
        token_hash(token),
        second_factor
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|r| {
        Some(CurrentUser {
            id: r.id,
            email: r.email,
            role: Role::parse(&r.role)?,
            place_ids: r.place_ids,
            csrf: String::new(),
        })
    }))
}

pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
    pub role: String,
    /// The second factor's secret, sealed; none until one is set up.
    pub totp_secret: Option<Vec<u8>>,
    pub totp_last_step: i64,
}

pub async fn credentials(pool: &PgPool, email: &str) -> Result<Option<Credentials>> {
    Ok(sqlx::query_as!(
        Credentials,
        "SELECT id, password_hash, role, totp_secret, totp_last_step
         FROM users WHERE lower(email) = lower($1) AND disabled_at IS NULL",
        email.trim()
    )
    .fetch_optional(pool)
    .await?)
}

/// Open a session for a user; returns the token (shown once, stored hashed).
/// `second_factor`: the session was opened with a code.
pub async fn create_session(
    pool: &PgPool,
    user_id: i64,
    hours: i64,
    second_factor: bool,
) -> Result<String> {
    let token = new_token();
    sqlx::query!(
        "INSERT INTO sessions (token_hash, user_id, expires_at, second_factor) VALUES ($1, $2, $3, $4)",
        token_hash(&token),
        user_id,
        Utc::now() + Duration::hours(hours),
        second_factor
    )
    .execute(pool)
    .await?;
    Ok(token)
}

/// How long a password stays good for while its code is owed.
pub const PENDING_MINUTES: i64 = 10;

/// A session that opens nothing until the second factor's code is given;
/// `enrol_secret` (sealed) is the new secret of an account setting one up.
pub async fn create_pending_session(
    pool: &PgPool,
    user_id: i64,
    enrol_secret: Option<Vec<u8>>,
) -> Result<String> {
    let token = new_token();
    sqlx::query!(
        "INSERT INTO sessions (token_hash, user_id, expires_at, second_factor_pending, totp_enrol_secret)
         VALUES ($1, $2, $3, true, $4)",
        token_hash(&token),
        user_id,
        Utc::now() + Duration::minutes(PENDING_MINUTES),
        enrol_secret
    )
    .execute(pool)
    .await?;
    Ok(token)
}

/// Whose password was right, and what is needed to check their code.
pub struct Pending {
    pub user_id: i64,
    pub email: String,
    /// The account's secret (sealed), when it has one.
    pub totp_secret: Option<Vec<u8>>,
    pub totp_last_step: i64,
    /// The secret being set up (sealed), when the account has none yet.
    pub enrol_secret: Option<Vec<u8>>,
}

pub async fn pending(pool: &PgPool, token: &str) -> Result<Option<Pending>> {
    Ok(sqlx::query_as!(
        Pending,
        "SELECT u.id AS user_id, u.email, u.totp_secret, u.totp_last_step,
                s.totp_enrol_secret AS enrol_secret
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.second_factor_pending AND s.revoked_at IS NULL
           AND s.expires_at > now() AND u.disabled_at IS NULL",
        token_hash(token)
    )
    .fetch_optional(pool)
    .await?)
}

/// Record that the code of `step` was used (and, when setting up, keep the
/// new secret). False when a code of this step or a later one was already
/// used: a code works once.
pub async fn use_code(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    step: i64,
    new_secret: Option<Vec<u8>>,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE users SET totp_last_step = $2, totp_secret = COALESCE($3, totp_secret)
         WHERE id = $1 AND totp_last_step < $2 AND ($3::bytea IS NULL OR totp_secret IS NULL)",
        user_id,
        step,
        new_secret
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Trade a pending session, whose code was right, for a full one with a
/// new token. None when the pending session was already used.
pub async fn complete_pending(
    pool: &PgPool,
    pending_token: &str,
    user_id: i64,
    step: i64,
    new_secret: Option<Vec<u8>>,
    hours: i64,
) -> Result<Option<String>> {
    let mut tx = pool.begin().await?;
    let closed = sqlx::query!(
        "UPDATE sessions SET revoked_at = now()
         WHERE token_hash = $1 AND second_factor_pending AND revoked_at IS NULL",
        token_hash(pending_token)
    )
    .execute(&mut *tx)
    .await?;
    if closed.rows_affected() != 1 || !use_code(&mut tx, user_id, step, new_secret).await? {
        return Ok(None);
    }
    let token = new_token();
    sqlx::query!(
        "INSERT INTO sessions (token_hash, user_id, expires_at, second_factor) VALUES ($1, $2, $3, true)",
        token_hash(&token),
        user_id,
        Utc::now() + Duration::hours(hours)
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(token))
}

/// Forget sessions that ended more than `days` days ago (expired or
/// revoked), and pending sign-ins nobody finished; returns how many.
pub async fn forget_old_sessions(pool: &PgPool, days: i32) -> Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM sessions
         WHERE least(expires_at, coalesce(revoked_at, expires_at)) < now() - make_interval(days => $1)",
        days
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Forget an account's second factor (a lost phone) and end its sessions;
/// its next sign-in sets up a new one. The ended sessions' token hashes, or
/// None when there is no such account.
pub async fn reset_second_factor(pool: &PgPool, email: &str) -> Result<Option<Vec<Vec<u8>>>> {
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "UPDATE users SET totp_secret = NULL, totp_last_step = 0
         WHERE lower(email) = lower($1) RETURNING id",
        email.trim()
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let ended = sqlx::query_scalar!(
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL
         RETURNING token_hash",
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(ended))
}

pub async fn revoke_session(pool: &PgPool, token: &str) -> Result<()> {
    sqlx::query!(
        "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
        token_hash(token)
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Create a user with an argon2id password and their places.
pub async fn create_user(
    pool: &PgPool,
    email: &str,
    password_text: &str,
    role: Role,
    places: &[i64],
) -> Result<i64> {
    let email = email.trim();
    if !email.contains('@') || email.len() > 200 {
        return Err(FieldErrors::single(
            "email",
            "invalid",
            "must be an email address",
        ));
    }
    password::check_policy(password_text)?;
    if role.works_at_places() && places.is_empty() {
        return Err(FieldErrors::single(
            "place",
            "required",
            "a manager or staff member needs a place",
        ));
    }
    let hash = password::hash(password_text.to_owned()).await?;
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO users (email, password_hash, role) VALUES ($1, $2, $3) RETURNING id",
        email,
        hash,
        role.as_str()
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match Error::from(e) {
        e if e.constraint() == Some("users_email_key") => {
            Error::conflict("email_taken", format!("{email} already has an account"))
        }
        e => e,
    })?;
    for place in places {
        sqlx::query!(
            "INSERT INTO place_members (user_id, place_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            id,
            place
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| match Error::from(e) {
            e if e.constraint() == Some("place_members_place_id_fkey") => {
                FieldErrors::single("place", "unknown", format!("there is no place {place}"))
            }
            e => e,
        })?;
    }
    tx.commit().await?;
    Ok(id)
}
