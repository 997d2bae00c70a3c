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
use super::repo::{self, Sealed};
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

impl Stays {
    async fn write_stays(
        &self,
        conn: &mut PgConnection,
        stays: &[Stay],
    ) -> Result<Vec<Result<Written>>> {
        let mut tx = conn.begin_with(crate::db::BATCH_BEGIN).await?;
        let mut outcomes: Vec<Option<Result<Written>>> = stays.iter().map(|_| None).collect();

        // Idempotency keys: a request whose key was used before is answered
        // on its own.
        let keyed: Vec<(usize, Claim)> = stays
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.key
                    .as_ref()
                    .map(|(scope, key, hash)| (i, Claim { scope, key, hash }))
            })
            .collect();
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
        let now = Utc::now();
        let arrival_date = localtime::date(self.tz, now);
        let stay_ids: Vec<Uuid> = stays.iter().map(|_| Uuid::now_v7()).collect();
        let mut rows: Vec<Row> = Vec::new();
        for (i, stay) in stays.iter().enumerate() {
            if outcomes[i].is_some() {
                continue;
            }
            let stay_id = stay_ids[i];
            let ids: Vec<Uuid> = stay.guests.iter().map(|_| Uuid::now_v7()).collect();
            for (position, guest) in stay.guests.iter().enumerate() {
                rows.push(Row {
                    stay: i,
                    stay_id,
                    guest_id: ids[position],
                    position: position as i16,
                    guest,
                    deadline: repo::notify_deadline(self.tz, guest.is_vietnamese(), now),
                    companion: guest.companion.map(|c| ids[c]),
                    sealed: Sealed::of(&self.cipher, guest),
                });
            }
        }
        let documents: Vec<(usize, i64, &str)> = rows
            .iter()
            .enumerate()
            .filter_map(|(r, row)| {
                let number = row.guest.document.as_ref()?.number.as_str();
                Some((r, stays[row.stay].place_id, number))
            })
            .collect();
        let mut refused: Vec<Option<FieldErrors>> = stays.iter().map(|_| None).collect();
        if !documents.is_empty() {
            // Two batches (or a batch and the desk) checking in the same
            // document at the same place take turns: see documents_in_house.
            let found = repo::documents_in_house(&mut tx, &self.cipher, &documents).await?;
            for (r, room) in found {
                let row = &rows[r];
                repo::already_in_house(
                    refused[row.stay].get_or_insert_with(FieldErrors::default),
                    row.position as usize,
                    &room,
                );
            }
        }
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
            let stay_ids: Vec<Uuid> = stored.iter().map(|&i| stay_ids[i]).collect();
            self.insert(&mut tx, stays, &stored, &stay_ids, &rows, now, arrival_date)
                .await?;
            for (&i, &stay_id) in stored.iter().zip(&stay_ids) {
                let stay = &stays[i];
                let guests: Vec<_> = rows
                    .iter()
                    .filter(|r| r.stay == i)
                    .map(|r| json!({"id": r.guest_id, "position": r.position, "notify_deadline": r.deadline}))
                    .collect();
                let body = json!({
                    "kind": "stay",
                    "stay_id": stay_id,
                    "checkout_token": stay.token,
                    "receipt_url": format!("{}/stay/{stay_id}?t={}", self.base_url, stay.token),
                    "place": {"id": stay.place_id, "name": stay.place_name},
                    "arrived_at": now,
                    "expected_departure": stay.expected_departure,
                    "guests": guests,
                });
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

    #[allow(clippy::too_many_arguments)]
    async fn insert(
        &self,
        tx: &mut sqlx::PgConnection,
        stays: &[Stay],
        stored: &[usize],
        stay_ids: &[Uuid],
        rows: &[Row<'_>],
        now: DateTime<Utc>,
        arrival_date: NaiveDate,
    ) -> Result<()> {
        let of = |i: &usize| &stays[*i];
        // One statement for the three tables: a round trip for the batch
        // instead of three. Its foreign keys and the statistics triggers run
        // at the end of the statement, when all three are written; the
        // triggers see the new stays because their functions are volatile
        // (each of their queries takes a fresh snapshot).
        sqlx::query!(
            "WITH new_stays AS (
                 INSERT INTO stays (id, place_id, arrived_at, arrival_date, expected_departure, purpose,
                                    source, presence, consent_version, checkout_token_hash)
                 SELECT id, place_id, $1, $2, departure, purpose, 'self_qr', presence, $3, token_hash
                 FROM unnest($4::uuid[], $5::bigint[], $6::date[], $7::text[], $8::text[], $9::bytea[])
                      AS s(id, place_id, departure, purpose, presence, token_hash)
             ), new_guests AS (
                 INSERT INTO guests (id, stay_id, place_id, position, arrived_at, arrival_date, nationality,
                                     residence_country, sex, age_band, document_type, capture, companion_of,
                                     notify_deadline)
                 SELECT id, stay_id, place_id, position, $1, $2, nationality, residence, sex, age_band,
                        document_type, capture, companion_of, deadline
                 FROM unnest($10::uuid[], $11::uuid[], $12::bigint[], $13::int2[], $14::text[], $15::text[],
                             $16::text[], $17::text[], $18::text[], $19::text[], $20::uuid[], $21::timestamptz[])
                      AS g(id, stay_id, place_id, position, nationality, residence, sex, age_band,
                           document_type, capture, companion_of, deadline)
             )
             INSERT INTO guest_identities (guest_id, full_name, name_search, date_of_birth, document_number,
                                           document_index, address, phone, visa_number, document_expiry,
                                           entry_date)
             SELECT * FROM unnest($10::uuid[], $22::text[], $23::text[], $24::date[], $25::bytea[], $26::bytea[],
                                  $27::bytea[], $28::bytea[], $29::bytea[], $30::date[], $31::date[])",
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
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}
