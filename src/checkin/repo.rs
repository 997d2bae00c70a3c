//! Writing stays, guests and visits. Personal data goes to guest_identities,
//! encrypted where the law calls it sensitive; the statistical facts go to
//! guests. Callers hold the transaction.

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};
use chrono_tz::Tz;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Guest, Purpose};
use crate::crypto::DataCipher;
use crate::error::{Error, Result};
use crate::localtime;

pub struct NewStay<'a> {
    pub place_id: i64,
    pub room: Option<&'a str>,
    pub arrived_at: DateTime<Utc>,
    pub expected_departure: NaiveDate,
    pub departed_at: Option<DateTime<Utc>>,
    pub purpose: Purpose,
    /// self_qr or desk
    pub source: &'static str,
    /// printed_code, desk_screen or desk_staff
    pub presence: &'static str,
    pub consent_version: Option<&'a str>,
    pub checkout_token_hash: Option<Vec<u8>>,
    pub created_by: Option<i64>,
    pub confirmed: bool,
    pub guests: &'a [Guest],
}

pub struct CreatedGuest {
    pub id: Uuid,
    pub position: i16,
    pub notify_deadline: DateTime<Utc>,
}

/// The deadline of the police notification (thông báo lưu trú): Vietnamese
/// guests before 23:00 on the day the stay starts (arriving after 23:00:
/// before 08:00 the next day); foreigners within 12 hours.
pub fn notify_deadline(tz: Tz, vietnamese: bool, arrived_at: DateTime<Utc>) -> DateTime<Utc> {
    if !vietnamese {
        return arrived_at + Duration::hours(12);
    }
    let day = localtime::date(tz, arrived_at);
    let eleven_pm = localtime::instant(tz, day, 23, 0);
    if arrived_at < eleven_pm {
        eleven_pm
    } else {
        localtime::instant(tz, day + Duration::days(1), 8, 0)
    }
}

/// due, sent_on_time, sent_late or overdue.
pub fn notification_status(
    deadline: DateTime<Utc>,
    notified_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> &'static str {
    match notified_at {
        Some(at) if at <= deadline => "sent_on_time",
        Some(_) => "sent_late",
        None if now > deadline => "overdue",
        None => "due",
    }
}

/// A guest's personal data as stored: the document number, address, phone
/// and visa sealed under the data key, the number also as its blind index.
pub struct Sealed {
    pub name_search: String,
    pub document_number: Option<Vec<u8>>,
    /// The document's index under every configured key, the current first
    /// (`document_index`): what the check of documents in house looks up.
    pub document_indexes: Vec<Vec<u8>>,
    pub address: Option<Vec<u8>>,
    pub phone: Option<Vec<u8>>,
    pub visa_number: Option<Vec<u8>>,
}

impl Sealed {
    pub fn of(cipher: &DataCipher, guest: &super::model::Guest) -> Sealed {
        let number = guest.document.as_ref().map(|d| d.number.as_str());
        Sealed {
            name_search: super::model::search_key(&guest.full_name),
            document_number: cipher.encrypt_opt(number),
            document_indexes: number.map_or_else(Vec::new, |n| cipher.blind_indexes(n)),
            address: cipher.encrypt_opt(guest.address.as_deref()),
            phone: cipher.encrypt_opt(guest.phone.as_deref()),
            visa_number: cipher.encrypt_opt(guest.visa_number.as_deref()),
        }
    }

    /// The document's index under the current key, as stored.
    pub fn document_index(&self) -> Option<&[u8]> {
        self.document_indexes.first().map(Vec::as_slice)
    }
}

/// Which of `documents` (the caller's number for it, the place, the
/// document number) are in house at their place: each number once, with the
/// room of its stay ('' when none). Each (place, document) is locked first,
/// until the commit, so that two check-ins of one document at one place take
/// turns at this check instead of both passing it; a document is looked up
/// under every configured key (rows of a retired key still count). One
/// round trip: see the `documents_in_house` function's migration.
pub async fn documents_in_house(
    tx: &mut PgConnection,
    cipher: &DataCipher,
    documents: &[(usize, i64, &str)],
) -> Result<Vec<(usize, String)>> {
    if documents.is_empty() {
        return Ok(Vec::new());
    }
    let check = DocumentCheck::of(cipher, documents);
    let found = sqlx::query!(
        r#"SELECT n AS "n!", room AS "room!"
           FROM documents_in_house($1::bigint[], $2::bytea[], $3::int[], $4::bigint[], $5::bytea[])"#,
        &check.lock_places,
        &check.lock_indexes,
        &check.ns,
        &check.places,
        &check.docs
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(found.into_iter().map(|f| (f.n as usize, f.room)).collect())
}

/// The arguments of the document check (the `documents_in_house` function)
/// for `documents`: each (place, document) to lock, under the current key,
/// and each document under every configured key with the caller's number.
pub struct DocumentCheck {
    pub lock_places: Vec<i64>,
    pub lock_indexes: Vec<Vec<u8>>,
    pub ns: Vec<i32>,
    pub places: Vec<i64>,
    pub docs: Vec<Vec<u8>>,
}

impl DocumentCheck {
    pub fn of(cipher: &DataCipher, documents: &[(usize, i64, &str)]) -> DocumentCheck {
        let indexes: Vec<Vec<Vec<u8>>> = documents
            .iter()
            .map(|&(_, _, number)| cipher.blind_indexes(number))
            .collect();
        DocumentCheck::indexed(
            documents
                .iter()
                .zip(&indexes)
                .map(|(&(n, place, _), indexes)| (n, place, indexes.as_slice())),
        )
    }

    /// The check of documents already indexed: the caller's number for
    /// each, its place, and its index under every configured key, the
    /// current first (`DataCipher::blind_indexes`).
    pub fn indexed<'a>(
        documents: impl IntoIterator<Item = (usize, i64, &'a [Vec<u8>])>,
    ) -> DocumentCheck {
        let mut check = DocumentCheck {
            lock_places: Vec::new(),
            lock_indexes: Vec::new(),
            ns: Vec::new(),
            places: Vec::new(),
            docs: Vec::new(),
        };
        for (n, place, indexes) in documents {
            let Some(current) = indexes.first() else {
                continue;
            };
            check.lock_places.push(place);
            check.lock_indexes.push(current.clone());
            for index in indexes {
                check.ns.push(n as i32);
                check.places.push(place);
                check.docs.push(index.clone());
            }
        }
        check
    }
}

/// Refuse guest `i` of a check-in: their document is in house at the place
/// already (in `room`, when one is known).
pub fn already_in_house(errors: &mut crate::error::FieldErrors, i: usize, room: &str) {
    let at = if room.is_empty() {
        String::new()
    } else {
        format!(" (room {room})")
    };
    errors.add(
        format!("guests[{i}].document_number"),
        "already_in_house",
        format!("a guest with this document is already in house here{at}: ask the desk"),
    );
}

pub async fn insert_stay(
    tx: &mut PgConnection,
    cipher: &DataCipher,
    tz: Tz,
    stay: &NewStay<'_>,
) -> Result<(Uuid, Vec<CreatedGuest>)> {
    // The same document in house twice at one place is a double entry (a
    // guest who checked in by QR and again at the desk): the register and
    // the police declaration would count them twice.
    if stay.departed_at.is_none() {
        let documents: Vec<(usize, i64, &str)> = stay
            .guests
            .iter()
            .enumerate()
            .filter_map(|(i, g)| Some((i, stay.place_id, g.document.as_ref()?.number.as_str())))
            .collect();
        let mut errors = crate::error::FieldErrors::default();
        for (i, room) in documents_in_house(&mut *tx, cipher, &documents).await? {
            already_in_house(&mut errors, i, &room);
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
    }
    let id = Uuid::now_v7();
    let arrival_date = localtime::date(tz, stay.arrived_at);
    let departure_date = stay.departed_at.map(|d| localtime::date(tz, d));
    sqlx::query!(
        "INSERT INTO stays (id, place_id, room, arrived_at, arrival_date, expected_departure, departed_at,
                            departure_date, checkout_by, purpose, source, presence, confirmed_at,
                            consent_version, checkout_token_hash, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $7::timestamptz IS NULL THEN NULL ELSE 'desk' END,
                 $9, $10, $11, CASE WHEN $12 THEN now() END, $13, $14, $15)",
        id,
        stay.place_id,
        stay.room,
        stay.arrived_at,
        arrival_date,
        stay.expected_departure,
        stay.departed_at,
        departure_date,
        stay.purpose.as_str(),
        stay.source,
        stay.presence,
        stay.confirmed,
        stay.consent_version,
        stay.checkout_token_hash,
        stay.created_by
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| match Error::from(e) {
        e if e.constraint() == Some("stays_place_id_fkey") => Error::NotFound("there is no such place"),
        e => e,
    })?;

    let ids: Vec<Uuid> = stay.guests.iter().map(|_| Uuid::now_v7()).collect();
    let mut created = Vec::with_capacity(stay.guests.len());
    for (position, guest) in stay.guests.iter().enumerate() {
        let guest_id = ids[position];
        let deadline = notify_deadline(tz, guest.is_vietnamese(), stay.arrived_at);
        let position = position as i16;
        sqlx::query!(
            "INSERT INTO guests (id, stay_id, place_id, position, arrived_at, arrival_date, departed_at,
                                 departure_date, nationality, residence_country, sex, age_band,
                                 document_type, capture, companion_of, notify_deadline)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            guest_id,
            id,
            stay.place_id,
            position,
            stay.arrived_at,
            arrival_date,
            stay.departed_at,
            departure_date,
            guest.nationality,
            guest.residence_country,
            guest.sex,
            localtime::age_band(guest.date_of_birth, arrival_date),
            guest.document.as_ref().map_or("none", |d| d.kind.as_str()),
            guest.capture,
            guest.companion.map(|i| ids[i]),
            deadline
        )
        .execute(&mut *tx)
        .await?;
        let sealed = Sealed::of(cipher, guest);
        sqlx::query!(
            "INSERT INTO guest_identities (guest_id, full_name, name_search, date_of_birth, document_number,
                                           document_index, address, phone, visa_number, document_expiry, entry_date)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            guest_id,
            guest.full_name,
            sealed.name_search,
            guest.date_of_birth,
            sealed.document_number,
            sealed.document_index(),
            sealed.address,
            sealed.phone,
            sealed.visa_number,
            guest.document_expiry,
            guest.entry_date
        )
        .execute(&mut *tx)
        .await?;
        created.push(CreatedGuest {
            id: guest_id,
            position,
            notify_deadline: deadline,
        });
    }
    Ok((id, created))
}

pub async fn insert_visit(
    tx: &mut PgConnection,
    tz: Tz,
    place_id: i64,
    party_size: i32,
    origin_country: &str,
    origin_province_id: Option<i32>,
    device_hash: Option<&[u8]>,
) -> Result<(Uuid, DateTime<Utc>)> {
    let id = Uuid::now_v7();
    // What PostgreSQL keeps (microseconds): the answer is what a later read
    // of the visit gives.
    let now = Utc::now().trunc_subsecs(6);
    sqlx::query!(
        "INSERT INTO visits (id, place_id, visited_at, visit_date, visit_hour, party_size, origin_country, origin_province_id, device_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        id,
        place_id,
        now,
        localtime::date(tz, now),
        localtime::hour(tz, now) as i16,
        party_size,
        origin_country,
        origin_province_id,
        device_hash
    )
    .execute(tx)
    .await?;
    Ok((id, now))
}

#[derive(Clone, Copy)]
pub struct EarlierVisit {
    pub id: Uuid,
    pub visited_at: DateTime<Utc>,
    pub party_size: i32,
}

/// The same phone's count-in at the same site within the last `minutes`.
/// Takes a lock on (site, phone) for the rest of the transaction, so two
/// taps racing each other are counted once.
pub async fn recent_visit(
    tx: &mut PgConnection,
    place_id: i64,
    device_hash: &[u8],
    minutes: i64,
) -> Result<Option<EarlierVisit>> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended(encode($2, 'hex'), $1))",
        place_id,
        device_hash
    )
    .execute(&mut *tx)
    .await?;
    Ok(sqlx::query_as!(
        EarlierVisit,
        "SELECT id, visited_at, party_size FROM visits
         WHERE place_id = $1 AND device_hash = $2 AND visited_at > now() - make_interval(mins => $3::int)
         ORDER BY visited_at DESC LIMIT 1",
        place_id,
        device_hash,
        minutes as i32
    )
    .fetch_optional(&mut *tx)
    .await?)
}

/// Whether a visitor's check-out token is the one issued for the stay.
pub fn token_matches(stored_hash: Option<&[u8]>, token: &str) -> bool {
    stored_hash.is_some_and(|h| h == crate::auth::repo::token_hash(token).as_slice())
}

/// The parts of a stay check-out decisions need.
pub struct StayHead {
    pub id: Uuid,
    pub place_id: i64,
    pub departed_at: Option<DateTime<Utc>>,
    pub checkout_token_hash: Option<Vec<u8>>,
}

pub async fn stay_head(db: impl sqlx::PgExecutor<'_>, id: Uuid) -> Result<StayHead> {
    sqlx::query_as!(
        StayHead,
        "SELECT id, place_id, departed_at, checkout_token_hash FROM stays WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::NotFound("there is no such stay"))
}

/// A stay once checked out: when it left, at which place, and whether this
/// check-out closed it (a second one finds it closed and changes nothing).
pub struct Departure {
    pub at: DateTime<Utc>,
    pub place_id: i64,
    pub changed: bool,
}

/// Check out every guest of a stay still in house, and the stay itself.
/// A stay that had already left keeps its departure.
pub async fn check_out(
    pool: &sqlx::PgPool,
    tz: Tz,
    stay_id: Uuid,
    by: &'static str,
    actor: Option<i64>,
) -> Result<Departure> {
    let mut tx = pool.begin().await?;
    let head = sqlx::query!(
        "SELECT place_id, arrived_at, departed_at FROM stays WHERE id = $1 FOR UPDATE",
        stay_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound("there is no such stay"))?;
    if let Some(at) = head.departed_at {
        return Ok(Departure {
            at,
            place_id: head.place_id,
            changed: false,
        });
    }
    let now = Utc::now().max(head.arrived_at);
    close_stay(&mut tx, tz, stay_id, now, by, None).await?;
    crate::audit::record(
        &mut *tx,
        actor,
        "stay.check_out",
        Some(head.place_id),
        Some(&stay_id.to_string()),
        serde_json::json!({"by": by}),
    )
    .await?;
    tx.commit().await?;
    Ok(Departure {
        at: now,
        place_id: head.place_id,
        changed: true,
    })
}

/// Close a stay and its guests still in house: they left at `at`, closed
/// `by` the desk, the visitor or the job. A `status` marks a stay that did
/// not happen (its guests leave every list all the same).
pub async fn close_stay(
    tx: &mut PgConnection,
    tz: Tz,
    stay_id: Uuid,
    at: DateTime<Utc>,
    by: &str,
    status: Option<&str>,
) -> Result<()> {
    let day = localtime::date(tz, at);
    sqlx::query!(
        "UPDATE stays SET departed_at = $2, departure_date = $3, checkout_by = $4,
                          status = COALESCE($5, status)
         WHERE id = $1",
        stay_id,
        at,
        day,
        by,
        status
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE guests SET departed_at = $2, departure_date = $3 WHERE stay_id = $1 AND departed_at IS NULL",
        stay_id,
        at,
        day
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn tz() -> Tz {
        "Asia/Ho_Chi_Minh".parse().unwrap()
    }

    #[test]
    fn vietnamese_guests_are_due_at_23_or_next_morning() {
        // 14:00 local → 23:00 local the same day.
        let afternoon = Utc.with_ymd_and_hms(2026, 7, 1, 7, 0, 0).unwrap();
        assert_eq!(
            notify_deadline(tz(), true, afternoon),
            Utc.with_ymd_and_hms(2026, 7, 1, 16, 0, 0).unwrap()
        );
        // 23:30 local → 08:00 local the next day.
        let late = Utc.with_ymd_and_hms(2026, 7, 1, 16, 30, 0).unwrap();
        assert_eq!(
            notify_deadline(tz(), true, late),
            Utc.with_ymd_and_hms(2026, 7, 2, 1, 0, 0).unwrap()
        );
    }

    #[test]
    fn foreigners_are_due_within_12_hours_and_status_follows() {
        let at = Utc.with_ymd_and_hms(2026, 7, 1, 7, 0, 0).unwrap();
        let deadline = notify_deadline(tz(), false, at);
        assert_eq!(deadline, at + Duration::hours(12));
        assert_eq!(notification_status(deadline, None, at), "due");
        assert_eq!(
            notification_status(deadline, None, deadline + Duration::minutes(1)),
            "overdue"
        );
        assert_eq!(
            notification_status(deadline, Some(deadline), at),
            "sent_on_time"
        );
        assert_eq!(
            notification_status(deadline, Some(deadline + Duration::hours(1)), at),
            "sent_late"
        );
    }
}
