//! After the data key is rotated (the new key in `DATA_ENCRYPTION_KEY`, the
//! old one in `DATA_ENCRYPTION_KEYS_RETIRED`), every guest's sealed fields
//! and every account's second-factor secret are opened with the old key and
//! sealed again under the new one, guests' blind indexes recomputed, in batches in the background. Reads work
//! throughout: the old key still opens what it sealed, and searches match
//! an index under either key. Once no row is left under the old key, and a
//! day has passed, it can be dropped from the configuration: the answers
//! kept under idempotency keys are not sealed again, and live a day under
//! the key they were sealed with.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::crypto::DataCipher;
use crate::error::Result;
use crate::AppState;

/// Rows sealed again per transaction.
const BATCH: i64 = 500;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Rows sealed again under the current key.
    pub resealed: u64,
    /// Rows under a key that is not configured: left as they are.
    pub unreadable: u64,
}

/// Go once through every guest's identity, in batches of `batch`, sealing
/// again what is not under the current key.
pub async fn pass(db: &PgPool, cipher: &DataCipher, batch: i64) -> Result<Pass> {
    // The accounts' secrets first; a failure there leaves the guests' pass
    // to go on, and is tried again on the next pass.
    let mut done = second_factors(db, cipher).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "sealing second-factor secrets again failed");
        Pass::default()
    });
    let mut after = Uuid::nil();
    loop {
        let (seen, last, counts) = batch_after(db, cipher, after, batch).await?;
        done.resealed += counts.resealed;
        done.unreadable += counts.unreadable;
        match last {
            Some(last) if seen == batch => after = last,
            _ => return Ok(done),
        }
    }
}

/// The second factors' secrets (a few hundred accounts at most: one
/// statement).
async fn second_factors(db: &PgPool, cipher: &DataCipher) -> Result<Pass> {
    let mut tx = db.begin().await?;
    let rows = sqlx::query!(
        r#"SELECT id, totp_secret AS "secret!" FROM users
           WHERE totp_secret IS NOT NULL AND get_byte(totp_secret, 0) <> $1
           FOR UPDATE SKIP LOCKED"#,
        i32::from(cipher.key_id())
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut counts = Pass::default();
    let (mut ids, mut sealed) = (vec![], vec![]);
    for row in rows {
        match cipher.decrypt(&row.secret) {
            Ok(text) => {
                ids.push(row.id);
                sealed.push(cipher.encrypt(&text));
            }
            Err(_) => counts.unreadable += 1,
        }
    }
    sqlx::query!(
        "UPDATE users SET totp_secret = u.secret
         FROM unnest($1::bigint[], $2::bytea[]) AS u(id, secret) WHERE users.id = u.id",
        &ids,
        &sealed
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    counts.resealed = ids.len() as u64;
    Ok(counts)
}

/// One batch of rows after `after` (in id order): how many were looked at,
/// the last one's id, and what became of them.
async fn batch_after(
    db: &PgPool,
    cipher: &DataCipher,
    after: Uuid,
    batch: i64,
) -> Result<(i64, Option<Uuid>, Pass)> {
    let mut tx = db.begin().await?;
    // Only rows with a field under another key are locked; the others are
    // read past.
    let rows = sqlx::query!(
        "SELECT guest_id, document_number, address, phone, visa_number
         FROM guest_identities
         WHERE guest_id > $1
           AND (get_byte(document_number, 0) <> $3 OR get_byte(address, 0) <> $3
                OR get_byte(phone, 0) <> $3 OR get_byte(visa_number, 0) <> $3)
         ORDER BY guest_id LIMIT $2 FOR UPDATE SKIP LOCKED",
        after,
        batch,
        i32::from(cipher.key_id())
    )
    .fetch_all(&mut *tx)
    .await?;
    let seen = rows.len() as i64;
    let last = rows.last().map(|r| r.guest_id);
    let mut counts = Pass::default();
    let (mut ids, mut numbers, mut indexes, mut addresses, mut phones, mut visas) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for row in rows {
        let fields = [
            &row.document_number,
            &row.address,
            &row.phone,
            &row.visa_number,
        ];
        if fields
            .iter()
            .all(|f| f.as_deref().is_none_or(|d| cipher.is_current(d)))
        {
            continue;
        }
        let open = |f: &Option<Vec<u8>>| f.as_deref().map(|d| cipher.decrypt(d)).transpose();
        let (Ok(number), Ok(address), Ok(phone), Ok(visa)) = (
            open(&row.document_number),
            open(&row.address),
            open(&row.phone),
            open(&row.visa_number),
        ) else {
            counts.unreadable += 1;
            continue;
        };
        ids.push(row.guest_id);
        indexes.push(number.as_deref().map(|n| cipher.blind_index(n)));
        numbers.push(cipher.encrypt_opt(number.as_deref()));
        addresses.push(cipher.encrypt_opt(address.as_deref()));
        phones.push(cipher.encrypt_opt(phone.as_deref()));
        visas.push(cipher.encrypt_opt(visa.as_deref()));
    }
    if !ids.is_empty() {
        sqlx::query!(
            "UPDATE guest_identities i
             SET document_number = u.number, document_index = u.index, address = u.address,
                 phone = u.phone, visa_number = u.visa
             FROM unnest($1::uuid[], $2::bytea[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[])
                  AS u(id, number, index, address, phone, visa)
             WHERE i.guest_id = u.id",
            &ids,
            &numbers as &[Option<Vec<u8>>],
            &indexes as &[Option<Vec<u8>>],
            &addresses as &[Option<Vec<u8>>],
            &phones as &[Option<Vec<u8>>],
            &visas as &[Option<Vec<u8>>]
        )
        .execute(&mut *tx)
        .await?;
        counts.resealed = ids.len() as u64;
    }
    tx.commit().await?;
    Ok((seen, last, counts))
}

/// While retired keys are configured, a pass every ten minutes (the first
/// at start-up); instances share the work (`SKIP LOCKED`).
pub async fn run(state: AppState) {
    if state.config.data_encryption_keys_retired.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let result = pass(&state.db, &state.cipher, BATCH).await;
        crate::metrics::job_ran("rekey", result.is_ok());
        match result {
            Ok(p) if p.resealed > 0 || p.unreadable > 0 => tracing::info!(
                resealed = p.resealed,
                unreadable = p.unreadable,
                "personal data sealed again under the current key"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "sealing under the current key failed; next pass in ten minutes")
            }
        }
    }
}
