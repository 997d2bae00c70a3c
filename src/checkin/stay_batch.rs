//! Visitors' own check-ins at accommodations, written in batches (see
//! `batch`): the stays, their guests and the guests' sealed personal data of
//! every check-in that arrived together go in as one statement of three
//! multi-row inserts, in one transaction, after one lookup of all their
//! documents among the guests in house.

use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::json;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use super::batch::{Batch, Committed, Written};
use super::model::{Guest, Purpose};
use super::repo::{self, CreatedGuest, Sealed};
use crate::crypto::DataCipher;
use crate::error::{Error, FieldErrors, Result};
use crate::idempotency::{self, Claim};
use crate::localtime;

/// A visitor's check-in at an accommodation, checked and ready to store.
pub struct Stay {
    pub place_id: i64,
    pub place_name: String,
    pub expected_departure: NaiveDate,
    pub purpose: Purpose,
    /// printed_code or desk_screen
    pub presence: &'static str,
    /// The check-out token handed to the visitor.
    pub token: String,
    pub guests: Vec<Guest>,
    /// The request's idempotency key, with its scope and the request's hash.
    pub key: Option<(String, String, Vec<u8>)>,
}

/// Visitors' stays, written in batches.
pub struct Stays {
    pub cipher: DataCipher,
    pub tz: Tz,
    pub base_url: String,
    pub consent_version: String,
}

impl Batch for Stays {
    type Job = Stay;
    const WHAT: &'static str = "stays";

    async fn write(&self, conn: &mut PgConnection, stays: &[Stay]) -> Result<Committed> {
        let outcomes = self.write_stays(conn, stays).await?;
        let places = stays
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| matches!(o, Ok(Written::Answer(..))))
            .map(|(s, _)| s.place_id)
            .collect();
        Ok(Committed { outcomes, places })
    }
}

/// One guest's row, with what the inserts need.
struct Row<'a> {
    stay: usize,
    stay_id: Uuid,
    guest_id: Uuid,
    position: i16,
    guest: &'a Guest,
    deadline: DateTime<Utc>,
    companion: Option<Uuid>,
    sealed: Sealed,
}

/// The answer to a visitor's stored stay, the same whether it was written
/// in a batch or alone, and stored with its idempotency key.
pub fn answer(
    base_url: &str,
    (place_id, place_name): (i64, &str),
    stay_id: Uuid,
    token: &str,
    arrived_at: DateTime<Utc>,
    departure: NaiveDate,
    guests: &[CreatedGuest],
) -> serde_json::Value {
    json!({
        "kind": "stay",
        "stay_id": stay_id,
        "checkout_token": token,
        "receipt_url": format!("{base_url}/stay/{stay_id}?t={token}"),
        "place": {"id": place_id, "name": place_name},
        "arrived_at": arrived_at,
        "expected_departure": departure,
        "guests": guests.iter().map(|g| json!({
            "id": g.id, "position": g.position, "notify_deadline": g.notify_deadline,
        })).collect::<Vec<_>>(),
    })
}

/// Each guest's document, numbered by the guest's row, with its place.
fn documents_of<'a>(stays: &[Stay], rows: &'a [Row]) -> Vec<(usize, i64, &'a str)> {
    rows.iter()
        .enumerate()
        .filter_map(|(r, row)| {
            let number = row.guest.document.as_ref()?.number.as_str();
            Some((r, stays[row.stay].place_id, number))
        })
        .collect()
}

/// The stays refused for the documents `found` in house (by row), each
/// with its guests' errors.
fn refusals(stays: &[Stay], rows: &[Row], found: Vec<(usize, String)>) -> Vec<Option<FieldErrors>> {
    let mut refused: Vec<Option<FieldErrors>> = stays.iter().map(|_| None).collect();
    for (r, room) in found {
        let row = &rows[r];
        repo::already_in_house(
            refused[row.stay].get_or_insert_with(FieldErrors::default),
            row.position as usize,
            &room,
        );
    }
    refused
}

/// Whether two stays of the batch bring the same document to one place.
fn brought_twice(stays: &[Stay], rows: &[Row]) -> bool {
    let mut seen: HashMap<(i64, &[u8]), usize> = HashMap::new();
    rows.iter().any(|row| {
        let Some(index) = row.sealed.document_index.as_deref() else {
            return false;
        };
        *seen
            .entry((stays[row.stay].place_id, index))
            .or_insert(row.stay)
            != row.stay
    })
}

impl Stays {
    async fn write_stays(
        &self,
        conn: &mut PgConnection,
        stays: &[Stay],
    ) -> Result<Vec<Result<Written>>> {
        let keyed: Vec<(usize, Claim)> = stays
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.key
                    .as_ref()
                    .map(|(scope, key, hash)| (i, Claim { scope, key, hash }))
            })
            .collect();
        let now = Utc::now();
        let arrival_date = localtime::date(self.tz, now);
        let stay_ids: Vec<Uuid> = stays.iter().map(|_| Uuid::now_v7()).collect();

        if keyed.is_empty() {
            let rows = self.rows(stays, &stay_ids, now, |_| true);
            if !brought_twice(stays, &rows) {
                // One statement, a transaction of its own: the document
                // check and every stay it does not refuse.
                let documents = documents_of(stays, &rows);
                let all: Vec<usize> = (0..stays.len()).collect();
                let found = self
                    .insert(
                        conn,
                        stays,
                        &all,
                        &stay_ids,
                        &rows,
                        &documents,
                        now,
                        arrival_date,
                    )
                    .await?;
                let mut refused = refusals(stays, &rows, found);
                return Ok(stays
                    .iter()
                    .enumerate()
                    .map(|(i, stay)| match refused[i].take() {
                        Some(errors) => Err(Error::Validation(errors)),
                        None => Ok(Written::Answer(
                            StatusCode::CREATED,
                            self.answer(stay, stay_ids[i], i, &rows, now),
                        )),
                    })
                    .collect());
            }
        }

        let mut tx = conn.begin_with(crate::db::BATCH_BEGIN).await?;
        let mut outcomes: Vec<Option<Result<Written>>> = stays.iter().map(|_| None).collect();

        // Idempotency keys: a request whose key was used before is answered
        // on its own.
        if !keyed.is_empty() {
            let claims: Vec<Claim> = keyed.iter().map(|(_, c)| *c).collect();
            let owned = idempotency::claim_many(&mut tx, &claims).await?;
            for ((i, _), owned) in keyed.iter().zip(owned) {
                if !owned {
                    outcomes[*i] = Some(Ok(Written::Alone));
                }
            }
        }

        // A document already in house at the place (or earlier in this
        // batch) is a double entry, refused as a check-in alone would be.
        let mut rows = self.rows(stays, &stay_ids, now, |i| outcomes[i].is_none());
        let documents = documents_of(stays, &rows);
        // Two batches (or a batch and the desk) checking in the same
        // document at the same place take turns: see documents_in_house.
        let found = repo::documents_in_house(&mut tx, &self.cipher, &documents).await?;
        let mut refused = refusals(stays, &rows, found);
        // Within the batch: a document another stay of it brings to the same
        // place first (and which is stored) is in house by the time this one
        // would be. One stay may list a document twice, as alone.
        let mut taken: HashMap<(i64, &[u8]), usize> = HashMap::new();
        for (i, stay) in stays.iter().enumerate() {
            if outcomes[i].is_some() || refused[i].is_some() {
                continue;
            }
            let own: Vec<(i16, &[u8])> = rows
                .iter()
                .filter(|r| r.stay == i)
                .filter_map(|r| Some((r.position, r.sealed.document_index.as_deref()?)))
                .collect();
            let clashes: Vec<i16> = own
                .iter()
                .filter(|(_, index)| {
                    taken
                        .get(&(stay.place_id, *index))
                        .is_some_and(|other| *other != i)
                })
                .map(|(position, _)| *position)
                .collect();
            if clashes.is_empty() {
                for (_, index) in own {
                    taken.insert((stay.place_id, index), i);
                }
            } else {
                let errors = refused[i].get_or_insert_with(FieldErrors::default);
                for position in clashes {
                    repo::already_in_house(errors, position as usize, "");
                }
            }
        }
        // A refused check-in gives its key back, so that a corrected retry
        // is not taken for the same request.
        let released: Vec<Claim> = keyed
            .iter()
            .filter(|(i, _)| refused[*i].is_some())
            .map(|(_, c)| *c)
            .collect();
        idempotency::release_many(&mut tx, &released).await?;
        rows.retain(|row| refused[row.stay].is_none());
        for (i, errors) in refused.into_iter().enumerate() {
            if let Some(errors) = errors {
                outcomes[i] = Some(Err(Error::Validation(errors)));
            }
        }

        let stored: Vec<usize> = (0..stays.len())
            .filter(|i| outcomes[*i].is_none())
            .collect();
        if !stored.is_empty() {
            let ids: Vec<Uuid> = stored.iter().map(|&i| stay_ids[i]).collect();
            // Their documents are checked already.
            self.insert(&mut tx, stays, &stored, &ids, &rows, &[], now, arrival_date)
                .await?;
            for &i in &stored {
                let body = self.answer(&stays[i], stay_ids[i], i, &rows, now);
                outcomes[i] = Some(Ok(Written::Answer(StatusCode::CREATED, body)));
            }
        }

        let answers: Vec<(Claim, StatusCode, &serde_json::Value)> = keyed
            .iter()
            .filter_map(|(i, claim)| match &outcomes[*i] {
                Some(Ok(Written::Answer(status, body))) => Some((*claim, *status, body)),
                _ => None,
            })
            .collect();
        idempotency::finish_many(&mut tx, &answers).await?;
        tx.commit().await?;
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Ok(Written::Alone)))
            .collect())
    }

    /// The guests' rows of the stays `taken`, each with new ids and its
    /// personal data sealed.
    fn rows<'a>(
        &self,
        stays: &'a [Stay],
        stay_ids: &[Uuid],
        now: DateTime<Utc>,
        taken: impl Fn(usize) -> bool,
    ) -> Vec<Row<'a>> {
        let mut rows = Vec::new();
        for (i, stay) in stays.iter().enumerate().filter(|(i, _)| taken(*i)) {
            let ids: Vec<Uuid> = stay.guests.iter().map(|_| Uuid::now_v7()).collect();
            for (position, guest) in stay.guests.iter().enumerate() {
                rows.push(Row {
                    stay: i,
                    stay_id: stay_ids[i],
                    guest_id: ids[position],
                    position: position as i16,
                    guest,
                    deadline: repo::notify_deadline(self.tz, guest.is_vietnamese(), now),
                    companion: guest.companion.map(|c| ids[c]),
                    sealed: Sealed::of(&self.cipher, guest),
                });
            }
        }
        rows
    }

    /// The answer to stay `i` of the batch once stored.
    fn answer(
        &self,
        stay: &Stay,
        stay_id: Uuid,
        i: usize,
        rows: &[Row],
        now: DateTime<Utc>,
    ) -> serde_json::Value {
        let guests: Vec<CreatedGuest> = rows
            .iter()
            .filter(|r| r.stay == i)
            .map(|r| CreatedGuest {
                id: r.guest_id,
                position: r.position,
                notify_deadline: r.deadline,
            })
            .collect();
        answer(
            &self.base_url,
            (stay.place_id, &stay.place_name),
            stay_id,
            &stay.token,
            now,
            stay.expected_departure,
            &guests,
        )
    }

    /// Store the stays `stored` (whose ids are `stay_ids`) and their guests'
    /// `rows` in one statement (see the `write_stays` function), after the
    /// check of `documents`: the documents found in house, by row, whose
    /// stays are not stored.
    #[allow(clippy::too_many_arguments)]
    async fn insert(
        &self,
        conn: &mut PgConnection,
        stays: &[Stay],
        stored: &[usize],
        stay_ids: &[Uuid],
        rows: &[Row<'_>],
        documents: &[(usize, i64, &str)],
        now: DateTime<Utc>,
        arrival_date: NaiveDate,
    ) -> Result<Vec<(usize, String)>> {
        let of = |i: &usize| &stays[*i];
        let check = repo::DocumentCheck::of(&self.cipher, documents);
        let found = sqlx::query!(
            r#"SELECT n AS "n!", room AS "room!" FROM write_stays(
                   $1::bigint[], $2::bytea[], $3::int[], $4::bigint[], $5::bytea[], $6, $7, $8,
                   $9::uuid[], $10::bigint[], $11::date[], $12::text[], $13::text[], $14::bytea[],
                   $15::uuid[], $16::uuid[], $17::bigint[], $18::int2[], $19::text[], $20::text[],
                   $21::text[], $22::text[], $23::text[], $24::text[], $25::uuid[], $26::timestamptz[],
                   $27::text[], $28::text[], $29::date[], $30::bytea[], $31::bytea[], $32::bytea[],
                   $33::bytea[], $34::bytea[], $35::date[], $36::date[])"#,
            &check.lock_places,
            &check.lock_indexes,
            &check.ns,
            &check.places,
            &check.docs,
            now,
            arrival_date,
            self.consent_version,
            stay_ids,
            &stored.iter().map(|i| of(i).place_id).collect::<Vec<_>>(),
            &stored
                .iter()
                .map(|i| of(i).expected_departure)
                .collect::<Vec<_>>(),
            &stored
                .iter()
                .map(|i| of(i).purpose.as_str())
                .collect::<Vec<_>>() as &[&str],
            &stored.iter().map(|i| of(i).presence).collect::<Vec<_>>() as &[&str],
            &stored
                .iter()
                .map(|i| crate::auth::repo::token_hash(&of(i).token))
                .collect::<Vec<_>>(),
            &rows.iter().map(|r| r.guest_id).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.stay_id).collect::<Vec<_>>(),
            &rows
                .iter()
                .map(|r| stays[r.stay].place_id)
                .collect::<Vec<_>>(),
            &rows.iter().map(|r| r.position).collect::<Vec<_>>(),
            &rows
                .iter()
                .map(|r| r.guest.nationality.as_str())
                .collect::<Vec<_>>() as &[&str],
            &rows
                .iter()
                .map(|r| r.guest.residence_country.as_str())
                .collect::<Vec<_>>() as &[&str],
            &rows.iter().map(|r| r.guest.sex).collect::<Vec<_>>() as &[&str],
            &rows
                .iter()
                .map(|r| localtime::age_band(r.guest.date_of_birth, arrival_date))
                .collect::<Vec<_>>() as &[&str],
            &rows
                .iter()
                .map(|r| r.guest.document.as_ref().map_or("none", |d| d.kind.as_str()))
                .collect::<Vec<_>>() as &[&str],
            &rows.iter().map(|r| r.guest.capture).collect::<Vec<_>>() as &[&str],
            &rows.iter().map(|r| r.companion).collect::<Vec<_>>() as &[Option<Uuid>],
            &rows.iter().map(|r| r.deadline).collect::<Vec<_>>(),
            &rows
                .iter()
                .map(|r| r.guest.full_name.as_str())
                .collect::<Vec<_>>() as &[&str],
            &rows
                .iter()
                .map(|r| r.sealed.name_search.as_str())
                .collect::<Vec<_>>() as &[&str],
            &rows
                .iter()
                .map(|r| r.guest.date_of_birth)
                .collect::<Vec<_>>(),
            &rows
                .iter()
                .map(|r| r.sealed.document_number.as_deref())
                .collect::<Vec<_>>() as &[Option<&[u8]>],
            &rows
                .iter()
                .map(|r| r.sealed.document_index.as_deref())
                .collect::<Vec<_>>() as &[Option<&[u8]>],
            &rows
                .iter()
                .map(|r| r.sealed.address.as_deref())
                .collect::<Vec<_>>() as &[Option<&[u8]>],
            &rows
                .iter()
                .map(|r| r.sealed.phone.as_deref())
                .collect::<Vec<_>>() as &[Option<&[u8]>],
            &rows
                .iter()
                .map(|r| r.sealed.visa_number.as_deref())
                .collect::<Vec<_>>() as &[Option<&[u8]>],
            &rows
                .iter()
                .map(|r| r.guest.document_expiry)
                .collect::<Vec<_>>() as &[Option<NaiveDate>],
            &rows
                .iter()
                .map(|r| r.guest.entry_date)
                .collect::<Vec<_>>() as &[Option<NaiveDate>]
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(found.into_iter().map(|f| (f.n as usize, f.room)).collect())
    }
}
