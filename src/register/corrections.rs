//! Corrections of what a guest declared: a misspelt name, a digit of a
//! passport number. Allowed to the place's people and audited field by
//! field: who changed what, from what, when. Names, dates, sex and
//! nationality keep their old and new values in the audit; document
//! numbers, addresses, phones and visas are only marked as changed, so that
//! the audit log never holds a plain document number.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::checkin::model::{self, GuestInput};
use crate::checkin::repo::notify_deadline;
use crate::error::{Error, FieldErrors, Result};
use crate::localtime;
use crate::AppState;

/// A guest as stored, in the form's terms.
#[derive(Debug, Clone)]
pub struct Current {
    pub stay_id: Uuid,
    pub input: GuestInput,
    pub arrival_date: NaiveDate,
    pub arrived_at: chrono::DateTime<chrono::Utc>,
    pub companion: bool,
}

pub async fn load(state: &AppState, place_id: i64, guest_id: Uuid) -> Result<Current> {
    let r = sqlx::query!(
        r#"SELECT g.stay_id, g.arrival_date, g.arrived_at, g.nationality, g.residence_country, g.sex, g.document_type,
                  g.companion_of IS NOT NULL AS "companion!", g.capture,
                  i.full_name, i.date_of_birth, i.document_number, i.address, i.phone,
                  i.visa_number, i.document_expiry, i.entry_date
           FROM guests g JOIN guest_identities i ON i.guest_id = g.id
           JOIN stays s ON s.id = g.stay_id AND s.status = 'active'
           WHERE g.id = $1 AND g.place_id = $2"#,
        guest_id,
        place_id
    )
    .fetch_optional(&state.db)
    .await?
    .ok_or(Error::NotFound("there is no such guest at this place"))?;
    let open = |data: Option<Vec<u8>>| state.cipher.decrypt_opt(data.as_deref());
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string());
    Ok(Current {
        stay_id: r.stay_id,
        arrival_date: r.arrival_date,
        arrived_at: r.arrived_at,
        companion: r.companion,
        input: GuestInput {
            full_name: Some(r.full_name),
            date_of_birth: Some(r.date_of_birth.to_string()),
            sex: Some(r.sex),
            // A residence of its own is kept through every correction; one
            // that only followed the nationality follows it still.
            residence_country: (r.residence_country != r.nationality)
                .then_some(r.residence_country),
            nationality: Some(r.nationality),
            document_type: (r.document_type != "none").then_some(r.document_type),
            document_number: open(r.document_number)?,
            address: open(r.address)?,
            phone: open(r.phone)?,
            document_expiry: date(r.document_expiry),
            visa_number: open(r.visa_number)?,
            entry_date: date(r.entry_date),
            capture: Some(r.capture),
            ..Default::default()
        },
    })
}

/// Fields whose values stay out of the audit log.
const SECRET: [&str; 4] = ["document_number", "address", "phone", "visa_number"];

/// The fields the correction form and API may change. A country of
/// residence left empty follows the nationality.
const FIELDS: [&str; 12] = [
    "full_name",
    "date_of_birth",
    "sex",
    "nationality",
    "residence_country",
    "document_type",
    "document_number",
    "address",
    "phone",
    "document_expiry",
    "visa_number",
    "entry_date",
];

fn get<'a>(g: &'a GuestInput, field: &str) -> &'a Option<String> {
    match field {
        "full_name" => &g.full_name,
        "date_of_birth" => &g.date_of_birth,
        "sex" => &g.sex,
        "nationality" => &g.nationality,
        "residence_country" => &g.residence_country,
        "document_type" => &g.document_type,
        "document_number" => &g.document_number,
        "address" => &g.address,
        "phone" => &g.phone,
        "document_expiry" => &g.document_expiry,
        "visa_number" => &g.visa_number,
        _ => &g.entry_date,
    }
}

fn set(g: &mut GuestInput, field: &str, value: Option<String>) {
    let slot = match field {
        "full_name" => &mut g.full_name,
        "date_of_birth" => &mut g.date_of_birth,
        "sex" => &mut g.sex,
        "nationality" => &mut g.nationality,
        "residence_country" => &mut g.residence_country,
        "document_type" => &mut g.document_type,
        "document_number" => &mut g.document_number,
        "address" => &mut g.address,
        "phone" => &mut g.phone,
        "document_expiry" => &mut g.document_expiry,
        "visa_number" => &mut g.visa_number,
        _ => &mut g.entry_date,
    };
    *slot = value;
}

/// Apply `changes` (a field given replaces the stored one; an empty string
/// clears it) after checking the whole guest again with the same rules as
/// at check-in. Returns the names of the fields that changed.
pub async fn correct(
    state: &AppState,
    place_id: i64,
    guest_id: Uuid,
    changes: &GuestInput,
    actor: i64,
) -> Result<Vec<&'static str>> {
    let current = load(state, place_id, guest_id).await?;
    let mut next = current.input.clone();
    for field in FIELDS {
        if let Some(value) = get(changes, field) {
            let value = value.trim();
            set(
                &mut next,
                field,
                (!value.is_empty()).then(|| value.to_owned()),
            );
        }
    }
    // A child on an adult's documents stays linked; the parser only needs
    // to know there is such an adult.
    next.with_guest = current.companion.then_some(u32::MAX);
    let mut errors = FieldErrors::default();
    // A CMND for a stay from before 2025; one recorded since, before the
    // desk refused it, may keep it through a correction of other fields.
    let cmnd = model::cmnd_allowed(current.arrival_date)
        || (current.input.document_type.as_deref() == Some("cmnd")
            && next.document_type == current.input.document_type);
    let parsed = model::parse_guest(&next, 0, current.arrival_date, cmnd, &mut errors);
    let guest = match parsed {
        Some(g) if errors.is_empty() => g,
        _ => {
            // Report under the field's own name, as the form labels it.
            let mut renamed = FieldErrors::default();
            for (key, list) in errors.0 {
                let field = key.trim_start_matches("guests[0].").to_owned();
                for e in list {
                    renamed.add(field.clone(), e.code, e.message);
                }
            }
            return Err(Error::Validation(renamed));
        }
    };
    // A type left with no number (a child on an adult's documents) is no
    // document: stored, and audited, as none.
    if guest.document.is_none() {
        next.document_type = None;
    }
    // A residence the same as the nationality follows it, as one left
    // empty does: stored and audited alike.
    next.residence_country =
        (guest.residence_country != guest.nationality).then(|| guest.residence_country.clone());
    next.nationality = Some(guest.nationality.clone());
    let changed: Vec<&'static str> = FIELDS
        .into_iter()
        .filter(|f| get(&current.input, f) != get(&next, f))
        .collect();
    if changed.is_empty() {
        return Ok(changed);
    }
    let mut detail = Map::new();
    for field in &changed {
        let value = if SECRET.contains(field) {
            json!("changed")
        } else {
            json!({"from": get(&current.input, field), "to": get(&next, field)})
        };
        detail.insert((*field).to_owned(), value);
    }
    let sealed = crate::checkin::repo::Sealed::of(&state.cipher, &guest);
    let mut tx = state.db.begin().await?;
    // The police hold what was declared: a correction of a declared guest
    // is declared again, within the same rules counted from now.
    let redeclare = sqlx::query_scalar!(
        r#"UPDATE guests SET notified_at = NULL, notification_ref = NULL, notify_deadline = $2
           WHERE id = $1 AND notified_at IS NOT NULL
           RETURNING id"#,
        guest_id,
        notify_deadline(state.tz(), guest.is_vietnamese(), chrono::Utc::now())
    )
    .fetch_optional(&mut *tx)
    .await?;
    if redeclare.is_some() {
        detail.insert("declare_again".to_owned(), json!(true));
    }
    sqlx::query!(
        "UPDATE guests SET nationality = $2, residence_country = $3, sex = $4, age_band = $5,
                           document_type = $6, notify_deadline = $7
         WHERE id = $1",
        guest_id,
        guest.nationality,
        guest.residence_country,
        guest.sex,
        localtime::age_band(guest.date_of_birth, current.arrival_date),
        guest.document.as_ref().map_or("none", |d| d.kind.as_str()),
        // A nationality corrected to or from Vietnamese moves the deadline;
        // a guest declared again keeps the deadline counted from now.
        if redeclare.is_some() {
            notify_deadline(state.tz(), guest.is_vietnamese(), chrono::Utc::now())
        } else {
            notify_deadline(state.tz(), guest.is_vietnamese(), current.arrived_at)
        }
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE guest_identities SET full_name = $2, name_search = $3, date_of_birth = $4,
                document_number = $5, document_index = $6, address = $7, phone = $8,
                visa_number = $9, document_expiry = $10, entry_date = $11
         WHERE guest_id = $1",
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
    crate::audit::record(
        &mut *tx,
        Some(actor),
        "guest.correct",
        Some(place_id),
        Some(&guest_id.to_string()),
        json!({"stay": current.stay_id, "fields": Value::Object(detail)}),
    )
    .await?;
    tx.commit().await?;
    Ok(changed)
}
