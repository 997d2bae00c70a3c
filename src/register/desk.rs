//! What the desk changes on a stay after it is written: confirming a self
//! check-in's documents, moving rooms, extending, undoing a check-out,
//! marking a stay that did not happen as a no-show or cancelled. Each
//! change is one transaction with its audit record, naming the field, what
//! it was and what it became.

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::checkin::model::MAX_STAY_DAYS;
use crate::error::{Error, FieldErrors, Result};
use crate::localtime;

/// A change the desk asks for.
#[derive(Debug, Clone)]
pub enum Change {
    /// The documents of a self check-in were seen at the desk.
    Confirm,
    /// Assign or move to a room; empty clears it.
    Room(String),
    /// A new expected departure (longer or shorter).
    Departure(NaiveDate),
    /// A check-out made by mistake: the stay is in house again.
    UndoCheckout,
    /// The stay did not happen: its guests never came (a no-show), or it
    /// was written by mistake or by someone who never came (cancelled).
    /// It then counts nowhere: not in the figures, the register, the police
    /// board or the document check.
    Void(Void),
}

/// How a stay that did not happen is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Void {
    NoShow,
    Cancelled,
}

impl Void {
    /// The stay's status.
    pub fn status(self) -> &'static str {
        match self {
            Void::NoShow => "no_show",
            Void::Cancelled => "cancelled",
        }
    }
}

/// Whether what happened on `day` may still be corrected on `today`: a
/// stay marked as not having happened (by its arrival day), a check-out
/// undone (by its departure day). Until the day after, before the figures
/// are reported.
pub fn may_correct(day: NaiveDate, today: NaiveDate) -> bool {
    day >= today - Duration::days(1)
}

/// Longest room label: "A-1204", "Bungalow 7".
const ROOM_MAX: usize = 20;

struct Head {
    arrived_at: chrono::DateTime<chrono::Utc>,
    arrival_date: NaiveDate,
    expected_departure: NaiveDate,
    room: Option<String>,
    departed_at: Option<chrono::DateTime<chrono::Utc>>,
    departure_date: Option<NaiveDate>,
    confirmed: bool,
    source: String,
}

async fn lock(tx: &mut PgConnection, place_id: i64, stay_id: Uuid) -> Result<Head> {
    sqlx::query_as!(
        Head,
        r#"SELECT arrived_at, arrival_date, expected_departure, room, departed_at,
                  departure_date, confirmed_at IS NOT NULL AS "confirmed!", source
           FROM stays WHERE id = $1 AND place_id = $2 AND status = 'active' FOR UPDATE"#,
        stay_id,
        place_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound("there is no such stay at this place"))
}

/// Apply one change; returns whether it changed anything: a repeated click
/// changes nothing and is harmless.
pub async fn apply(
    pool: &PgPool,
    tz: Tz,
    place_id: i64,
    stay_id: Uuid,
    change: &Change,
    actor: i64,
) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let head = lock(&mut tx, place_id, stay_id).await?;
    let today = localtime::today(tz);
    let (action, detail) = match change {
        Change::Confirm => {
            if head.confirmed || head.source != "self_qr" {
                return Ok(false);
            }
            sqlx::query!(
                "UPDATE stays SET confirmed_at = now() WHERE id = $1",
                stay_id
            )
            .execute(&mut *tx)
            .await?;
            ("stay.confirm", json!({}))
        }
        Change::Room(room) => {
            let room = room.trim();
            if room.chars().count() > ROOM_MAX {
                return Err(FieldErrors::single(
                    "room",
                    "too_long",
                    format!("a room is at most {ROOM_MAX} characters"),
                ));
            }
            let new = (!room.is_empty()).then(|| room.to_owned());
            if new == head.room {
                return Ok(false);
            }
            sqlx::query!("UPDATE stays SET room = $2 WHERE id = $1", stay_id, new)
                .execute(&mut *tx)
                .await?;
            (
                "stay.correct",
                json!({"field": "room", "from": head.room, "to": new}),
            )
        }
        Change::Departure(day) => {
            if head.departed_at.is_some() {
                return Err(Error::conflict(
                    "stay_ended",
                    "this stay has ended: undo the check-out first",
                ));
            }
            if *day < head.arrival_date.max(today) {
                return Err(FieldErrors::single(
                    "expected_departure",
                    "departure_past",
                    "the departure cannot be before today or the arrival",
                ));
            }
            if *day > head.arrival_date + Duration::days(MAX_STAY_DAYS) {
                return Err(FieldErrors::single(
                    "expected_departure",
                    "departure_far",
                    "a stay declared here lasts at most a year",
                ));
            }
            if *day == head.expected_departure {
                return Ok(false);
            }
            sqlx::query!(
                "UPDATE stays SET expected_departure = $2 WHERE id = $1",
                stay_id,
                day
            )
            .execute(&mut *tx)
            .await?;
            (
                "stay.correct",
                json!({"field": "expected_departure", "from": head.expected_departure, "to": day}),
            )
        }
        Change::UndoCheckout => {
            let (Some(departed_at), Some(left)) = (head.departed_at, head.departure_date) else {
                return Ok(false);
            };
            // A mistake is noticed the same day or the next; later, the
            // figures already reported would change under the office.
            if !may_correct(left, today) {
                return Err(Error::conflict(
                    "undo_too_late",
                    "a check-out can be undone until the day after it",
                ));
            }
            // Back in house after the expected day (an automatic check-out
            // of a guest who stayed on): they are expected to leave today at
            // the earliest, or the job would close the stay again.
            let expected = head.expected_departure.max(today);
            sqlx::query!(
                "UPDATE stays SET departed_at = NULL, departure_date = NULL, checkout_by = NULL,
                                  expected_departure = $2
                 WHERE id = $1",
                stay_id,
                expected
            )
            .execute(&mut *tx)
            .await?;
            // The guests who left with the stay come back; one who left
            // earlier on their own stays gone.
            sqlx::query!(
                "UPDATE guests SET departed_at = NULL, departure_date = NULL
                 WHERE stay_id = $1 AND departed_at = $2",
                stay_id,
                departed_at
            )
            .execute(&mut *tx)
            .await?;
            (
                "stay.undo_check_out",
                if expected == head.expected_departure {
                    json!({"departed_at": departed_at})
                } else {
                    json!({"departed_at": departed_at, "expected_departure": {"from": head.expected_departure, "to": expected}})
                },
            )
        }
        Change::Void(void) => {
            if head.departed_at.is_some() {
                return Err(Error::conflict(
                    "stay_ended",
                    "this stay has ended: undo the check-out first",
                ));
            }
            if !may_correct(head.arrival_date, today) {
                return Err(Error::conflict(
                    "void_too_late",
                    "a stay can be marked as not having happened until the day after its arrival",
                ));
            }
            // Guests whose documents were seen at the desk came; guests
            // declared to the police are on record there: their details
            // are corrected, not taken out of every list.
            if head.source == "self_qr" && head.confirmed {
                return Err(Error::conflict(
                    "void_seen_at_desk",
                    "the documents of this stay were seen at the desk: its guests came",
                ));
            }
            let declared = sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM guests WHERE stay_id = $1 AND notified_at IS NOT NULL) AS "declared!""#,
                stay_id
            )
            .fetch_one(&mut *tx)
            .await?;
            if declared {
                return Err(Error::conflict("void_declared", "guests of this stay were declared to the police: correct their details instead"));
            }
            // Out of every list of the active stays, and out of the house:
            // its guests hold no bed, no document and no deadline.
            let at = chrono::Utc::now().max(head.arrived_at);
            crate::checkin::repo::close_stay(&mut tx, tz, stay_id, at, "desk", Some(void.status()))
                .await?;
            (
                match void {
                    Void::NoShow => "stay.no_show",
                    Void::Cancelled => "stay.cancel",
                },
                json!({}),
            )
        }
    };
    crate::audit::record(
        &mut *tx,
        Some(actor),
        action,
        Some(place_id),
        Some(&stay_id.to_string()),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

struct GuestHead {
    stay_id: Uuid,
    arrived_at: chrono::DateTime<chrono::Utc>,
    departed_at: Option<chrono::DateTime<chrono::Utc>>,
    departure_date: Option<NaiveDate>,
    stay_departed: Option<chrono::DateTime<chrono::Utc>>,
}

/// A guest of the place and their stay, locked for a change.
async fn lock_guest(tx: &mut PgConnection, place_id: i64, guest_id: Uuid) -> Result<GuestHead> {
    sqlx::query_as!(
        GuestHead,
        "SELECT g.stay_id, g.arrived_at, g.departed_at, g.departure_date, s.departed_at AS stay_departed
         FROM guests g JOIN stays s ON s.id = g.stay_id
         WHERE g.id = $1 AND g.place_id = $2 FOR UPDATE OF s, g",
        guest_id,
        place_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound("there is no such guest at this place"))
}

/// How many other stays in house at the place have `room` (trimmed): a
/// move into a room already given is allowed (a family in two bookings, a
/// dormitory), but said, as it is as often a typing mistake.
pub async fn others_in_room(
    pool: &PgPool,
    place_id: i64,
    stay_id: Uuid,
    room: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM stays
           WHERE place_id = $1 AND room = $2 AND id <> $3
             AND departed_at IS NULL AND status = 'active'"#,
        place_id,
        room.trim(),
        stay_id
    )
    .fetch_one(pool)
    .await?)
}

/// What a guest's own check-out, or its undoing, changed.
pub struct GuestMove {
    /// The children on the guest's document who went, or came back, with them.
    pub children: usize,
    /// The guest was the last of the room in house: the stay is checked out.
    pub room_closed: bool,
}

/// An audit detail with the children who went or came back with a guest,
/// when there were any.
fn with_children(mut detail: serde_json::Value, children: &[Uuid]) -> serde_json::Value {
    if !children.is_empty() {
        detail["children"] = json!(children.len());
    }
    detail
}

/// One guest of a stay leaves before the others; when the last one leaves,
/// the stay is checked out with them. A child travelling on the guest's
/// document leaves with them. Returns what changed, nothing when the guest
/// had left already.
pub async fn check_out_guest(
    pool: &PgPool,
    tz: Tz,
    place_id: i64,
    guest_id: Uuid,
    actor: i64,
) -> Result<Option<GuestMove>> {
    let mut tx = pool.begin().await?;
    let guest = lock_guest(&mut tx, place_id, guest_id).await?;
    if guest.departed_at.is_some() {
        return Ok(None);
    }
    let now = chrono::Utc::now().max(guest.arrived_at);
    let day = localtime::date(tz, now);
    // A child on this guest's document leaves with them: the register
    // never keeps a minor in house on the papers of someone gone.
    let with = sqlx::query_scalar!(
        "UPDATE guests SET departed_at = $2, departure_date = $3
         WHERE stay_id = $4 AND (id = $1 OR companion_of = $1) AND departed_at IS NULL
         RETURNING id",
        guest_id,
        now,
        day,
        guest.stay_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let with: Vec<Uuid> = with.into_iter().filter(|id| *id != guest_id).collect();
    let left = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM guests WHERE stay_id = $1 AND departed_at IS NULL"#,
        guest.stay_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if left == 0 {
        sqlx::query!(
            "UPDATE stays SET departed_at = $2, departure_date = $3, checkout_by = 'desk'
             WHERE id = $1 AND departed_at IS NULL",
            guest.stay_id,
            now,
            day
        )
        .execute(&mut *tx)
        .await?;
    }
    crate::audit::record(
        &mut *tx,
        Some(actor),
        "guest.check_out",
        Some(place_id),
        Some(&guest_id.to_string()),
        with_children(
            json!({"stay": guest.stay_id, "stay_closed": left == 0}),
            &with,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(GuestMove {
        children: with.len(),
        room_closed: left == 0,
    }))
}

/// A guest's own check-out made by mistake while the room stays: back in
/// house. (When the whole stay has left, undo the stay's check-out.)
/// Returns what changed, nothing when the guest was in house.
pub async fn undo_guest_checkout(
    pool: &PgPool,
    tz: Tz,
    place_id: i64,
    guest_id: Uuid,
    actor: i64,
) -> Result<Option<GuestMove>> {
    let mut tx = pool.begin().await?;
    let guest = lock_guest(&mut tx, place_id, guest_id).await?;
    let Some(left) = guest.departure_date else {
        return Ok(None);
    };
    if guest.stay_departed.is_some() {
        return Err(Error::conflict(
            "room_checked_out",
            "the whole room has checked out: undo the room's check-out",
        ));
    }
    // Asked once the stay is locked, so that an adult's check-out committed
    // while this waited for the lock is seen.
    let adult_left = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT FROM guests a JOIN guests g ON a.id = g.companion_of
                          WHERE g.id = $1 AND a.departed_at IS NOT NULL) AS "left!""#,
        guest_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if adult_left {
        return Err(Error::conflict(
            "adult_left",
            "the guest whose document this child is on has left: undo their check-out, and the child comes back with them",
        ));
    }
    if !may_correct(left, localtime::today(tz)) {
        return Err(Error::conflict(
            "undo_too_late",
            "a check-out can be undone until the day after it",
        ));
    }
    // The children who left with this guest (at the same moment) come back
    // with them.
    let with = sqlx::query_scalar!(
        "UPDATE guests SET departed_at = NULL, departure_date = NULL
         WHERE stay_id = $2 AND (id = $1 OR (companion_of = $1 AND departed_at = $3))
         RETURNING id",
        guest_id,
        guest.stay_id,
        guest.departed_at
    )
    .fetch_all(&mut *tx)
    .await?;
    let with: Vec<Uuid> = with.into_iter().filter(|id| *id != guest_id).collect();
    crate::audit::record(
        &mut *tx,
        Some(actor),
        "guest.undo_check_out",
        Some(place_id),
        Some(&guest_id.to_string()),
        with_children(json!({"stay": guest.stay_id}), &with),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(GuestMove {
        children: with.len(),
        room_closed: false,
    }))
}
