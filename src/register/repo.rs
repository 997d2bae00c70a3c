//! Reading the register: stays with their guests, filtered and paged.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::checkin::model::search_key;
use crate::checkin::repo::notification_status;
use crate::crypto::DataCipher;
use crate::error::Result;

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub in_house_only: bool,
    /// Self check-ins waiting for the desk to see the documents.
    pub arriving_only: bool,
    /// In house and due to leave on or before this day.
    pub departing_by: Option<NaiveDate>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub q: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegisterGuest {
    pub id: Uuid,
    pub position: i16,
    pub full_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub sex: String,
    pub nationality: String,
    pub document_type: String,
    /// Shown to the register only: the full number is in the CSV export.
    pub document_number_masked: Option<String>,
    #[serde(skip)]
    pub document_number: Option<String>,
    pub departed_at: Option<DateTime<Utc>>,
    pub notify_deadline: DateTime<Utc>,
    /// due, sent_on_time, sent_late or overdue
    pub notification_status: &'static str,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegisterStay {
    pub id: Uuid,
    pub room: Option<String>,
    pub arrived_at: DateTime<Utc>,
    pub expected_departure: NaiveDate,
    pub departed_at: Option<DateTime<Utc>>,
    pub checkout_by: Option<String>,
    pub purpose: String,
    /// self_qr or desk
    pub source: String,
    pub presence: String,
    pub confirmed: bool,
    pub guests: Vec<RegisterGuest>,
}

/// Last characters only: enough to tell guests apart at the desk.
pub fn mask(number: &str) -> String {
    let keep = 3.min(number.len());
    format!(
        "{}{}",
        "•".repeat(number.len() - keep),
        &number[number.len() - keep..]
    )
}

/// How many stays each tab of the register holds.
#[derive(Debug, Clone, Copy, Default, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub in_house: i64,
    pub arriving: i64,
    pub departing: i64,
    pub all: i64,
}

pub async fn counts(pool: &PgPool, place_id: i64, today: NaiveDate) -> Result<Counts> {
    let row = sqlx::query!(
        // The guests in house from their own small set; every stay from
        // the place's index alone, less the few cancelled or no-shows. A
        // register of a year of stays is never read row by row.
        r#"SELECT h.in_house AS "in_house!", h.arriving AS "arriving!", h.departing AS "departing!",
                  (SELECT count(*) FROM stays WHERE place_id = $1)
                  - (SELECT count(*) FROM stays WHERE place_id = $1 AND status <> 'active') AS "all!"
           FROM (SELECT count(*) AS in_house,
                        count(*) FILTER (WHERE source = 'self_qr' AND confirmed_at IS NULL) AS arriving,
                        count(*) FILTER (WHERE expected_departure <= $2) AS departing
                 FROM stays WHERE place_id = $1 AND status = 'active' AND departed_at IS NULL) AS h"#,
        place_id,
        today
    )
    .fetch_one(pool)
    .await?;
    Ok(Counts {
        in_house: row.in_house,
        arriving: row.arriving,
        departing: row.departing,
        all: row.all,
    })
}

pub async fn list(
    pool: &PgPool,
    cipher: &DataCipher,
    place_id: i64,
    f: &Filter,
) -> Result<Vec<RegisterStay>> {
    let q = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let name_q = q.map(|q| {
        format!(
            "%{}%",
            search_key(q)
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let doc_index = q.map(|q| {
        let normal: String = q
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_uppercase();
        // Under every configured key: rows of a retired key still match
        // until they are sealed again.
        cipher.blind_indexes(&normal)
    });
    let rows = sqlx::query!(
        r#"WITH page AS (
               SELECT s.id FROM stays s
               WHERE s.place_id = $1 AND s.status = 'active'
                 AND (NOT $2 OR s.departed_at IS NULL)
                 AND ($3::date IS NULL OR COALESCE(s.departure_date, 'infinity') >= $3)
                 AND ($4::date IS NULL OR s.arrival_date <= $4)
                 AND ($5::text IS NULL
                      OR lower(s.room) = lower($8)
                      OR EXISTS (SELECT 1 FROM guests g2 JOIN guest_identities i2 ON i2.guest_id = g2.id
                                 WHERE g2.stay_id = s.id
                                   AND (i2.name_search LIKE $5 OR i2.document_index = ANY($6) OR g2.nationality = upper($8))))
                 AND (NOT $10 OR (s.source = 'self_qr' AND s.confirmed_at IS NULL))
                 AND ($11::date IS NULL OR s.expected_departure <= $11)
               ORDER BY s.arrived_at DESC, s.id
               LIMIT $7 OFFSET $9
           )
           SELECT s.id, s.room, s.arrived_at, s.expected_departure, s.departed_at, s.checkout_by, s.purpose,
                  s.source, s.presence, s.confirmed_at,
                  g.id AS guest_id, g.position, g.sex, g.nationality, g.document_type, g.departed_at AS guest_departed_at,
                  g.notify_deadline, g.notified_at,
                  i.full_name AS "full_name?", i.date_of_birth AS "date_of_birth?", i.document_number AS "document_number?"
           FROM page JOIN stays s ON s.id = page.id
           JOIN guests g ON g.stay_id = s.id
           LEFT JOIN guest_identities i ON i.guest_id = g.id
           ORDER BY s.arrived_at DESC, s.id, g.position"#,
        place_id,
        f.in_house_only,
        f.from,
        f.to,
        name_q,
        doc_index.as_deref(),
        f.limit,
        q,
        f.offset,
        f.arriving_only,
        f.departing_by
    )
    .fetch_all(pool)
    .await?;

    let now = Utc::now();
    let mut stays: Vec<RegisterStay> = Vec::new();
    for r in rows {
        if stays.last().is_none_or(|s| s.id != r.id) {
            stays.push(RegisterStay {
                id: r.id,
                room: r.room.clone(),
                arrived_at: r.arrived_at,
                expected_departure: r.expected_departure,
                departed_at: r.departed_at,
                checkout_by: r.checkout_by.clone(),
                purpose: r.purpose.clone(),
                source: r.source.clone(),
                presence: r.presence.clone(),
                confirmed: r.confirmed_at.is_some(),
                guests: Vec::new(),
            });
        }
        let number = match r.document_number.as_deref().map(|c| cipher.decrypt(c)) {
            Some(Ok(n)) => Some(n),
            Some(Err(e)) => {
                tracing::error!(error = %e, guest = %r.guest_id, "cannot read a document number");
                None
            }
            None => None,
        };
        if let Some(stay) = stays.last_mut() {
            stay.guests.push(RegisterGuest {
                id: r.guest_id,
                position: r.position,
                full_name: r.full_name,
                date_of_birth: r.date_of_birth,
                sex: r.sex,
                nationality: r.nationality,
                document_type: r.document_type,
                document_number_masked: number.as_deref().map(mask),
                document_number: number,
                departed_at: r.guest_departed_at,
                notify_deadline: r.notify_deadline,
                notification_status: notification_status(r.notify_deadline, r.notified_at, now),
            });
        }
    }
    Ok(stays)
}
