//! Idempotency keys: a retried request returns the first answer and stores
//! nothing twice. The key row is written in the same transaction as the work
//! it protects, so a concurrent duplicate waits for the first to commit and
//! then replays its answer.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

use crate::error::{Error, Result};

enum Begin {
    Fresh,
    Replay(StatusCode, Value),
}

/// A transaction that holds an idempotency key (when one was given): do the
/// work in `tx`, then [`Guarded::commit`] stores the answer with it.
pub struct Guarded<'a> {
    pub tx: Transaction<'static, Postgres>,
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
    scope: &'a str,
    key: Option<&'a str>,
    body: &impl serde::Serialize,
) -> Result<Start<'a>> {
    let mut tx = pool.begin().await?;
    if let Some(key) = key {
        if let Begin::Replay(status, answer) =
            begin(&mut tx, scope, key, &request_hash(body)).await?
        {
            return Ok(Start::Replay(status, answer));
        }
    }
    Ok(Start::Fresh(Guarded { tx, scope, key }))
}

impl Guarded<'_> {
    /// Store the answer under the key and commit everything together.
    pub async fn commit(mut self, status: StatusCode, body: &Value) -> Result<()> {
        if let Some(key) = self.key {
            finish(&mut self.tx, self.scope, key, status, body).await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
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
        return Err(Error::Conflict(
            "this Idempotency-Key was already used for a different request".into(),
        ));
    }
    match (row.status, row.response) {
        (Some(status), Some(body)) => Ok(Begin::Replay(
            StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
            body,
        )),
        _ => Err(Error::Conflict(
            "the first request with this key is still being processed".into(),
        )),
    }
}

pub async fn finish(
    tx: &mut PgConnection,
    scope: &str,
    key: &str,
    status: StatusCode,
    body: &Value,
) -> Result<()> {
    sqlx::query!(
        "UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND key = $2",
        scope,
        key,
        status.as_u16() as i16,
        body
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// A key held by one request of a batch written together.
#[derive(Clone, Copy)]
pub struct Claim<'a> {
    pub scope: &'a str,
    pub key: &'a str,
    pub hash: &'a [u8],
}

/// Take the keys of a batch of requests in one statement. Returns, for each
/// claim, whether it is this batch's to answer; a key that was taken before
/// (a retry, or the same key twice in the batch) is not, and its request is
/// answered on its own afterwards, where it replays or conflicts. Keys are
/// inserted in a fixed order, so two batches never wait on each other in a
/// cycle.
pub async fn claim_many(tx: &mut PgConnection, claims: &[Claim<'_>]) -> Result<Vec<bool>> {
    // The first request of the batch with a key is the one that may own
    // it; a later one with the same key replays its answer or conflicts.
    let mut first = std::collections::HashSet::new();
    let firsts: Vec<bool> = claims
        .iter()
        .map(|c| first.insert((c.scope, c.key)))
        .collect();
    let offered: Vec<&Claim> = claims
        .iter()
        .zip(&firsts)
        .filter(|(_, f)| **f)
        .map(|(c, _)| c)
        .collect();
    let scopes: Vec<&str> = offered.iter().map(|c| c.scope).collect();
    let keys: Vec<&str> = offered.iter().map(|c| c.key).collect();
    let hashes: Vec<&[u8]> = offered.iter().map(|c| c.hash).collect();
    // A key past its 24 hours is not taken here: its request is answered
    // alone, where `begin` frees it.
    let taken = sqlx::query!(
        r#"INSERT INTO idempotency_keys (scope, key, request_hash)
           SELECT scope, key, hash
           FROM unnest($1::text[], $2::text[], $3::bytea[]) AS c(scope, key, hash)
           ORDER BY scope, key
           ON CONFLICT DO NOTHING RETURNING scope AS "scope!", key AS "key!""#,
        &scopes as &[&str],
        &keys as &[&str],
        &hashes as &[&[u8]]
    )
    .fetch_all(&mut *tx)
    .await?;
    let taken: std::collections::HashSet<(String, String)> =
        taken.into_iter().map(|r| (r.scope, r.key)).collect();
    Ok(claims
        .iter()
        .zip(firsts)
        .map(|(c, first)| first && taken.contains(&(c.scope.to_owned(), c.key.to_owned())))
        .collect())
}

/// Give back keys claimed by requests that were refused, so that a corrected
/// retry with the same key is not taken for the same request.
pub async fn release_many(tx: &mut PgConnection, claims: &[Claim<'_>]) -> Result<()> {
    if claims.is_empty() {
        return Ok(());
    }
    let scopes: Vec<&str> = claims.iter().map(|c| c.scope).collect();
    let keys: Vec<&str> = claims.iter().map(|c| c.key).collect();
    sqlx::query!(
        "DELETE FROM idempotency_keys k USING unnest($1::text[], $2::text[]) AS c(scope, key)
         WHERE k.scope = c.scope AND k.key = c.key",
        &scopes as &[&str],
        &keys as &[&str]
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Store the answers of a batch's claimed keys in one statement.
pub async fn finish_many(
    tx: &mut PgConnection,
    answers: &[(Claim<'_>, StatusCode, &Value)],
) -> Result<()> {
    if answers.is_empty() {
        return Ok(());
    }
    let scopes: Vec<&str> = answers.iter().map(|(c, _, _)| c.scope).collect();
    let keys: Vec<&str> = answers.iter().map(|(c, _, _)| c.key).collect();
    let statuses: Vec<i16> = answers.iter().map(|(_, s, _)| s.as_u16() as i16).collect();
    let bodies: Vec<Value> = answers.iter().map(|(_, _, b)| (*b).clone()).collect();
    sqlx::query!(
        "UPDATE idempotency_keys k SET status = a.status, response = a.response
         FROM unnest($1::text[], $2::text[], $3::int2[], $4::jsonb[]) AS a(scope, key, status, response)
         WHERE k.scope = a.scope AND k.key = a.key",
        &scopes as &[&str],
        &keys as &[&str],
        &statuses,
        &bodies
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
