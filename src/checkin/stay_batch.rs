//! Visitors' own check-ins at accommodations, written in batches (see
//! `batch`): the stays, their guests and the guests' sealed personal data of
//! every check-in that arrived together go in as one statement (the
//! `write_stays` function), and so one transaction and one round trip: it
//! takes their idempotency keys, looks up all their documents among the
//! guests in house, and stores every stay it does not refuse with three
//! multi-row inserts.

use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::batch::{Batch, Committed, Keys, Written};
use super::model::{Guest, Purpose};
use super::repo::{self, CreatedGuest, Sealed};
use crate::crypto::DataCipher;
use crate::error::{Error, FieldErrors, Result};
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
    /// The token's hash, as stored.
    pub token_hash: Vec<u8>,
    pub guests: Vec<Guest>,
    /// Each guest's personal data sealed, by the request itself: the one
    /// writer's time goes to PostgreSQL, not to the cipher.
    pub sealed: Vec<Sealed>,
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
    sealed: &'a Sealed,
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

/// The check of each guest's document (by the guest's row) at its place.
fn document_check(stays: &[Stay], rows: &[Row]) -> repo::DocumentCheck {
    repo::DocumentCheck::indexed(rows.iter().enumerate().map(|(r, row)| {
        (
            r,
            stays[row.stay].place_id,
            row.sealed.document_indexes.as_slice(),
        )
    }))
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

impl Stays {
    /// Store a batch in one statement (see the `write_stays` function), and
    /// so one transaction. Each key is sent with the answer its request
    /// gets once stored, and stored with it; a stay whose key was used
    /// before (or is used by an earlier one of the batch) is answered on its
    /// own.
    async fn write_stays(
        &self,
        conn: &mut PgConnection,
        stays: &[Stay],
    ) -> Result<Vec<Result<Written>>> {
        // What PostgreSQL keeps (microseconds), so that the answer is the
        // one a later read of the stay gives.
        let now = Utc::now().trunc_subsecs(6);
        let arrival_date = localtime::date(self.tz, now);
        let stay_ids: Vec<Uuid> = stays.iter().map(|_| Uuid::now_v7()).collect();
        let rows = self.rows(stays, &stay_ids, now);
        let mut answers: Vec<Value> = (0..stays.len())
            .map(|i| self.answer(&stays[i], stay_ids[i], i, &rows, now))
            .collect();
        let (found, alone) = self
            .insert(conn, stays, &stay_ids, &rows, &answers, now, arrival_date)
            .await?;
        let mut refused = refusals(stays, &rows, found);
        let mut outcomes: Vec<Result<Written>> = Vec::with_capacity(stays.len());
        for (i, body) in answers.drain(..).enumerate() {
            outcomes.push(match refused[i].take() {
                _ if alone.contains(&i) => Ok(Written::Alone),
                Some(errors) => Err(Error::Validation(errors)),
                None => Ok(Written::Answer(StatusCode::CREATED, body)),
            });
        }
        Ok(outcomes)
    }

    /// The guests' rows of the stays, each with new ids and the personal
    /// data its request sealed.
    fn rows<'a>(&self, stays: &'a [Stay], stay_ids: &[Uuid], now: DateTime<Utc>) -> Vec<Row<'a>> {
        let mut rows = Vec::new();
        for (i, stay) in stays.iter().enumerate() {
            debug_assert_eq!(
                stay.sealed.len(),
                stay.guests.len(),
                "one sealing per guest"
            );
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
                    sealed: &stay.sealed[position],
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

    /// Store the stays and their guests' `rows` in one statement (see the
    /// `write_stays` function), after the check of their documents. Returns
    /// each document found in house (by its row, with the room), whose stay
    /// is not stored, and each stay whose key was used before.
    #[allow(clippy::too_many_arguments)]
    async fn insert(
        &self,
        conn: &mut PgConnection,
        stays: &[Stay],
        stay_ids: &[Uuid],
        rows: &[Row<'_>],
        answers: &[Value],
        now: DateTime<Utc>,
        arrival_date: NaiveDate,
    ) -> Result<(Vec<(usize, String)>, Vec<usize>)> {
        let check = document_check(stays, rows);
        let keys = Keys::of(
            &self.cipher,
            stays
                .iter()
                .zip(answers)
                .map(|(stay, answer)| (stay.key.as_ref(), || answer.clone())),
        );
        let written = sqlx::query!(
            r#"SELECT guest_row, room, alone_stay FROM write_stays(
                   $1::bigint[], $2::bytea[], $3::int[], $4::bigint[], $5::bytea[], $6, $7, $8,
                   $9::uuid[], $10::bigint[], $11::date[], $12::text[], $13::text[], $14::bytea[],
                   $15::text[], $16::text[], $17::bytea[], $18::jsonb[],
                   $19::uuid[], $20::uuid[], $21::bigint[], $22::int2[], $23::text[], $24::text[],
                   $25::text[], $26::text[], $27::text[], $28::text[], $29::uuid[], $30::timestamptz[],
                   $31::text[], $32::text[], $33::date[], $34::bytea[], $35::bytea[], $36::bytea[],
                   $37::bytea[], $38::bytea[], $39::date[], $40::date[])"#,
            &check.lock_places,
            &check.lock_indexes,
            &check.ns,
            &check.places,
            &check.docs,
            now,
            arrival_date,
            self.consent_version,
            stay_ids,
            &stays.iter().map(|s| s.place_id).collect::<Vec<_>>(),
            &stays
                .iter()
                .map(|s| s.expected_departure)
                .collect::<Vec<_>>(),
            &stays
                .iter()
                .map(|s| s.purpose.as_str())
                .collect::<Vec<_>>() as &[&str],
            &stays.iter().map(|s| s.presence).collect::<Vec<_>>() as &[&str],
            &stays
                .iter()
                .map(|s| s.token_hash.as_slice())
                .collect::<Vec<_>>() as &[&[u8]],
            &keys.scopes as &[Option<&str>],
            &keys.keys as &[Option<&str>],
            &keys.hashes as &[Option<&[u8]>],
            &keys.answers as &[Option<Value>],
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
                .map(|r| r.sealed.document_index())
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
        let (mut found, mut alone) = (Vec::new(), Vec::new());
        for row in written {
            if let Some(r) = row.guest_row {
                found.push((r as usize, row.room.unwrap_or_default()));
            }
            if let Some(a) = row.alone_stay {
                alone.push(a as usize);
            }
        }
        Ok((found, alone))
    }
}
