//! Idempotency keys: a retried request returns the first answer and stores
//! nothing twice. The key row is written in the same transaction as the work
//! it protects, so a concurrent duplicate waits for the first to commit and
//! then replays its answer.
//!
//! An answer is kept sealed under the data key: a visitor's stay answer
//! holds its check-out token, which opens the guests' receipt (their
//! personal data) and checks them out, and which `stays` itself keeps only
//! as a hash. Whoever reads the database (a replica for the statistics, a
//! backup) cannot take the token from its answer.

use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::crypto::DataCipher;
use crate::error::{Error, Result};

/// An answer as kept under its key: `{"sealed": "<base64>"}`.
pub fn seal(cipher: &DataCipher, answer: &Value) -> Value {
    let sealed = cipher.encrypt(&answer.to_string());
    json!({ "sealed": base64::engine::general_purpose::STANDARD.encode(sealed) })
}

/// A kept answer, opened (under any configured data key). One kept before
/// answers were sealed is given as it is.
fn open(cipher: &DataCipher, kept: Value) -> Result<Value> {
    let sealed = match kept.as_object() {
        Some(object) if object.len() == 1 => match object.get("sealed") {
            Some(Value::String(sealed)) => sealed,
            _ => return Ok(kept),
        },
        _ => return Ok(kept),
    };
    let damaged = |e: String| Error::Internal(anyhow::anyhow!("reading a kept answer: {e}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|e| damaged(e.to_string()))?;
    let plain = cipher.decrypt(&bytes).map_err(|e| damaged(e.to_string()))?;
    serde_json::from_str(&plain).map_err(|e| damaged(e.to_string()))
}

enum Begin {
    Fresh,
    Replay(StatusCode, Value),
}

/// A transaction that holds an idempotency key (when one was given): do the
/// work in `tx`, then [`Guarded::commit`] stores the answer with it.
pub struct Guarded<'a> {
    pub tx: Transaction<'static, Postgres>,
    cipher: &'a DataCipher,
    scope: &'a str,
    key: Option<&'a str>,
}

pub enum Start<'a> {
    /// First time: do the work.
    Fresh(Guarded<'a>),
    /// Seen before with the same body: answer this again.
    Replay(StatusCode, Value),
}

/// Open the transaction of a request that may be a retry.
pub async fn start<'a>(
    pool: &PgPool,
    cipher: &'a DataCipher,
    scope: &'a str,
    key: Option<&'a str>,
    body: &impl serde::Serialize,
) -> Result<Start<'a>> {
    let mut tx = pool.begin().await?;
    if let Some(key) = key {
        if let Begin::Replay(status, answer) =
            begin(&mut tx, scope, key, &request_hash(body)).await?
        {
            return Ok(Start::Replay(status, open(cipher, answer)?));
        }
    }
    Ok(Start::Fresh(Guarded {
        tx,
        cipher,
        scope,
        key,
    }))
}

impl Guarded<'_> {
    /// Store the answer under the key and commit everything together.
    pub async fn commit(mut self, status: StatusCode, body: &Value) -> Result<()> {
        if let Some(key) = self.key {
            let kept = seal(self.cipher, body);
            finish(&mut self.tx, self.scope, key, status, &kept).await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

/// The answer stored under a key for this same request, if it was answered
/// within the last 24 hours; nothing is written.
pub async fn stored(
    pool: &PgPool,
    cipher: &DataCipher,
    scope: &str,
    key: &str,
    body: &impl serde::Serialize,
) -> Result<Option<(StatusCode, Value)>> {
    let row = sqlx::query!(
        r#"SELECT status AS "status!", response AS "response!" FROM idempotency_keys
           WHERE scope = $1 AND key = $2 AND request_hash = $3
             AND status IS NOT NULL AND response IS NOT NULL
             AND created_at >= now() - interval '24 hours'"#,
        scope,
        key,
        request_hash(body)
    )
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((status_of(r.status), open(cipher, r.response)?)))
        .transpose()
}

/// The status stored with an answer.
fn status_of(stored: i16) -> StatusCode {
    StatusCode::from_u16(stored as u16).unwrap_or(StatusCode::OK)
}

pub fn request_hash(body: &impl serde::Serialize) -> Vec<u8> {
    Sha256::digest(serde_json::to_vec(body).unwrap_or_default()).to_vec()
}

async fn begin(tx: &mut PgConnection, scope: &str, key: &str, hash: &[u8]) -> Result<Begin> {
    // Keys live 24 hours; an expired one is free to use again.
    sqlx::query!(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at < now() - interval '24 hours'",
        scope,
        key
    )
    .execute(&mut *tx)
    .await?;
    let inserted = sqlx::query_scalar!(
        "INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING 1",
        scope,
        key,
        hash
    )
    .fetch_optional(&mut *tx)
    .await?;
    if inserted.is_some() {
        return Ok(Begin::Fresh);
    }
    let row = sqlx::query!(
        "SELECT request_hash, status, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
        scope,
        key
    )
    .fetch_one(&mut *tx)
    .await?;
    if row.request_hash != hash {
        return Err(Error::conflict(
            "key_reused",
            "this Idempotency-Key was already used for a different request",
        ));
    }
    match (row.status, row.response) {
        (Some(status), Some(body)) => Ok(Begin::Replay(status_of(status), body)),
        _ => Err(Error::conflict(
            "key_in_progress",
            "the first request with this key is still being processed",
        )),
    }
}

/// Keep the (sealed) answer under the key.
async fn finish(
    tx: &mut PgConnection,
    scope: &str,
    key: &str,
    status: StatusCode,
    kept: &Value,
) -> Result<()> {
    sqlx::query!(
        "UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND key = $2",
        scope,
        key,
        status.as_u16() as i16,
        kept
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Forget keys older than a day, every hour.
pub async fn cleanup_loop(pool: sqlx::PgPool) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let result = sqlx::query!(
            "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'"
        )
        .execute(&pool)
        .await;
        crate::metrics::job_ran("idempotency_cleanup", result.is_ok());
        if let Err(e) = result {
            tracing::warn!(error = %e, "idempotency cleanup failed");
        }
    }
}
