//! The police notification (thông báo lưu trú): the guests a place must
//! declare, as the portal's spreadsheet asks for them, and the record that a
//! batch was sent. Vietnamese and foreign guests go on separate sheets with
//! their own columns; which columns, in which order and under which heading
//! comes from a CSV layout (`data/police-columns.csv`, or the file named by
//! `POLICE_COLUMNS`), so an office follows a change of the portal's template
//! without a new release.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;
use uuid::Uuid;

use crate::crypto::DataCipher;
use crate::error::{Error, Result};

const DEFAULT_LAYOUT: &str = include_str!("../../data/police-columns.csv");

/// What a column may hold.
pub const FIELDS: [&str; 27] = [
    "row",
    "full_name",
    "date_of_birth",
    "sex",
    "sex_vi",
    "sex_vi_en",
    "nationality",
    "document_type",
    "document_type_vi",
    "document_number",
    "address",
    "phone",
    "document_expiry",
    "visa_number",
    "entry_date",
    "purpose",
    "purpose_vi",
    "purpose_vi_en",
    "arrival",
    "arrival_date",
    "expected_departure",
    "room",
    "place_name",
    "place_address",
    "deadline",
    "notification_status",
    "companion",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sheet {
    Vietnamese,
    Foreign,
}

impl Sheet {
    pub fn parse(s: &str) -> Option<Sheet> {
        match s.trim() {
            "vietnamese" => Some(Sheet::Vietnamese),
            "foreign" => Some(Sheet::Foreign),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sheet::Vietnamese => "vietnamese",
            Sheet::Foreign => "foreign",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Column {
    pub heading: String,
    pub field: &'static str,
}

/// The columns of each sheet, in order.
#[derive(Debug, Clone)]
pub struct Layout {
    pub vietnamese: Vec<Column>,
    pub foreign: Vec<Column>,
}

impl Layout {
    /// The bundled layout, or the file at `path`; every line names its
    /// sheet, heading and a known field, or loading says which line is wrong.
    pub fn load(path: Option<&std::path::Path>) -> anyhow::Result<Layout> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?,
            None => DEFAULT_LAYOUT.to_owned(),
        };
        let mut layout = Layout {
            vietnamese: Vec::new(),
            foreign: Vec::new(),
        };
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        for (n, record) in reader.records().enumerate() {
            let line = n + 2;
            let record = record.map_err(|e| anyhow::anyhow!("police columns, line {line}: {e}"))?;
            let (sheet, heading, field) = (
                record.get(0).unwrap_or(""),
                record.get(1).unwrap_or("").trim(),
                record.get(2).unwrap_or("").trim(),
            );
            let sheet = Sheet::parse(sheet).ok_or_else(|| {
                anyhow::anyhow!("police columns, line {line}: the sheet is vietnamese or foreign, not `{sheet}`")
            })?;
            let field = FIELDS.iter().find(|f| **f == field).ok_or_else(|| {
                anyhow::anyhow!(
                    "police columns, line {line}: unknown field `{field}` (known: {})",
                    FIELDS.join(", ")
                )
            })?;
            let column = Column {
                heading: heading.to_owned(),
                field,
            };
            match sheet {
                Sheet::Vietnamese => layout.vietnamese.push(column),
                Sheet::Foreign => layout.foreign.push(column),
            }
        }
        if layout.vietnamese.is_empty() || layout.foreign.is_empty() {
            anyhow::bail!("police columns: both the vietnamese and the foreign sheet need columns");
        }
        Ok(layout)
    }

    pub fn columns(&self, sheet: Sheet) -> &[Column] {
        match sheet {
            Sheet::Vietnamese => &self.vietnamese,
            Sheet::Foreign => &self.foreign,
        }
    }
}

/// One guest to declare, decrypted for the export.
#[derive(Debug, Clone)]
pub struct Declared {
    pub guest_id: Uuid,
    pub vietnamese: bool,
    pub full_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: String,
    pub nationality: String,
    pub document_type: String,
    pub document_number: String,
    pub address: String,
    pub phone: String,
    pub document_expiry: Option<NaiveDate>,
    pub visa_number: String,
    pub entry_date: Option<NaiveDate>,
    pub purpose: String,
    pub arrived_at: DateTime<Utc>,
    pub arrival_date: NaiveDate,
    pub expected_departure: NaiveDate,
    pub room: String,
    pub place_name: String,
    pub place_address: String,
    pub deadline: DateTime<Utc>,
    pub notified_at: Option<DateTime<Utc>>,
    /// The full name of the adult a child travels with.
    pub companion: String,
}

/// The guests who arrived at a place on `day` (local), in arrival order;
/// with `unsent`, only those not yet declared.
pub async fn guests(
    pool: &PgPool,
    cipher: &DataCipher,
    place_id: i64,
    day: NaiveDate,
    unsent: bool,
) -> Result<Vec<Declared>> {
    let rows = sqlx::query!(
        r#"SELECT g.id, g.nationality, g.sex, g.document_type, g.arrived_at, g.arrival_date,
                  g.notify_deadline, g.notified_at, s.expected_departure, s.purpose, s.room,
                  p.name AS place_name, p.address AS place_address,
                  i.full_name, i.date_of_birth, i.document_number, i.address, i.phone,
                  i.visa_number, i.document_expiry, i.entry_date, c.full_name AS "companion?"
           FROM guests g
           JOIN stays s ON s.id = g.stay_id
           JOIN places p ON p.id = g.place_id
           JOIN guest_identities i ON i.guest_id = g.id
           LEFT JOIN guest_identities c ON c.guest_id = g.companion_of
           WHERE g.place_id = $1 AND g.arrival_date = $2 AND s.status = 'active'
             AND (NOT $3 OR g.notified_at IS NULL)
           ORDER BY g.arrived_at, s.id, g.position"#,
        place_id,
        day,
        unsent
    )
    .fetch_all(pool)
    .await?;
    let open = |data: Option<Vec<u8>>| -> Result<String> {
        Ok(cipher.decrypt_opt(data.as_deref())?.unwrap_or_default())
    };
    rows.into_iter()
        .map(|r| {
            Ok(Declared {
                guest_id: r.id,
                vietnamese: r.nationality == "VNM",
                full_name: r.full_name,
                date_of_birth: r.date_of_birth,
                sex: r.sex,
                nationality: r.nationality,
                document_type: r.document_type,
                document_number: open(r.document_number)?,
                address: open(r.address)?,
                phone: open(r.phone)?,
                document_expiry: r.document_expiry,
                visa_number: open(r.visa_number)?,
                entry_date: r.entry_date,
                purpose: r.purpose,
                arrived_at: r.arrived_at,
                arrival_date: r.arrival_date,
                expected_departure: r.expected_departure,
                room: r.room.unwrap_or_default(),
                place_name: r.place_name,
                place_address: r.place_address,
                deadline: r.notify_deadline,
                notified_at: r.notified_at,
                companion: r.companion.unwrap_or_default(),
            })
        })
        .collect()
}

fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// One cell of the export.
pub fn cell(g: &Declared, field: &str, row: usize, tz: Tz, now: DateTime<Utc>) -> String {
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string();
    match field {
        "row" => row.to_string(),
        "full_name" => g.full_name.clone(),
        "date_of_birth" => date(g.date_of_birth),
        "sex" => g.sex.clone(),
        "sex_vi" => sex_vi(&g.sex).to_owned(),
        "sex_vi_en" => format!("{} ({})", sex_vi(&g.sex), g.sex),
        "nationality" => g.nationality.clone(),
        "document_type" => g.document_type.clone(),
        "document_type_vi" => match g.document_type.as_str() {
            "cccd" => "CCCD",
            "cmnd" => "CMND",
            "passport" => "Hộ chiếu",
            "none" => "Không (trẻ em đi cùng)",
            _ => "Giấy tờ khác",
        }
        .to_owned(),
        "document_number" => g.document_number.clone(),
        "address" => g.address.clone(),
        "phone" => g.phone.clone(),
        "document_expiry" => g.document_expiry.map(date).unwrap_or_default(),
        "visa_number" => g.visa_number.clone(),
        "entry_date" => g.entry_date.map(date).unwrap_or_default(),
        "purpose" => g.purpose.clone(),
        "purpose_vi" => purpose_vi(&g.purpose).0.to_owned(),
        "purpose_vi_en" => {
            let (vi, en) = purpose_vi(&g.purpose);
            format!("{vi} ({en})")
        }
        "arrival" => local(g.arrived_at),
        "arrival_date" => date(g.arrival_date),
        "expected_departure" => date(g.expected_departure),
        "room" => g.room.clone(),
        "place_name" => g.place_name.clone(),
        "place_address" => g.place_address.clone(),
        "deadline" => local(g.deadline),
        "notification_status" => {
            crate::checkin::repo::notification_status(g.deadline, g.notified_at, now).to_owned()
        }
        "companion" => g.companion.clone(),
        _ => String::new(),
    }
}

/// A sex (M, F, X) in Vietnamese.
fn sex_vi(sex: &str) -> &'static str {
    match sex {
        "M" => "Nam",
        "F" => "Nữ",
        _ => "Khác",
    }
}

/// A purpose of stay in Vietnamese, and in English.
fn purpose_vi(purpose: &str) -> (&'static str, &'static str) {
    match purpose {
        "tourism" => ("Du lịch", "Tourism"),
        "business" => ("Công tác", "Business"),
        "visiting_family" => ("Thăm thân", "Visiting family"),
        _ => ("Khác", "Other"),
    }
}

/// The rows of one sheet: headings, then one row per guest.
pub fn table(
    layout: &Layout,
    sheet: Sheet,
    guests: &[Declared],
    tz: Tz,
    now: DateTime<Utc>,
) -> Vec<Vec<String>> {
    let columns = layout.columns(sheet);
    let wanted = sheet == Sheet::Vietnamese;
    let mut rows = vec![columns.iter().map(|c| c.heading.clone()).collect()];
    for (n, g) in guests.iter().filter(|g| g.vietnamese == wanted).enumerate() {
        rows.push(
            columns
                .iter()
                .map(|c| cell(g, c.field, n + 1, tz, now))
                .collect(),
        );
    }
    rows
}

/// Both sheets as one XLSX workbook.
pub fn xlsx(
    layout: &Layout,
    guests: &[Declared],
    tz: Tz,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (sheet, name) in [
        (Sheet::Vietnamese, "Khach Viet Nam"),
        (Sheet::Foreign, "Khach nuoc ngoai"),
    ] {
        let ws = book.add_worksheet();
        ws.set_name(name)?;
        for (r, row) in table(layout, sheet, guests, tz, now).iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                if r == 0 {
                    ws.write_string_with_format(r as u32, c as u16, value, &bold)?;
                } else {
                    ws.write_string(r as u32, c as u16, value)?;
                }
            }
        }
        ws.autofit();
    }
    Ok(book.save_to_buffer()?)
}

/// One sheet as CSV, with a BOM so that Excel shows Vietnamese.
pub fn csv(
    layout: &Layout,
    sheet: Sheet,
    guests: &[Declared],
    tz: Tz,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = ::csv::Writer::from_writer(&mut out);
        for row in table(layout, sheet, guests, tz, now) {
            w.write_record(row)?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// Keep what a file handed to the desk contains, to be marked sent later.
pub async fn record_batch(
    pool: &PgPool,
    place_id: i64,
    day: NaiveDate,
    sheet: Option<Sheet>,
    guests: &[Uuid],
    actor: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar!(
        "INSERT INTO police_batches (place_id, arrival_date, sheet, guest_ids, created_by)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        place_id,
        day,
        sheet.map(Sheet::as_str),
        guests,
        actor
    )
    .fetch_one(pool)
    .await?)
}

/// A file exported and not yet recorded as sent.
#[derive(Debug, Clone)]
pub struct Batch {
    pub id: i64,
    pub arrival_date: NaiveDate,
    pub sheet: Option<String>,
    pub guests: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<String>,
}

/// The place's exports of the last week not yet recorded as sent, newest first.
pub async fn open_batches(pool: &PgPool, place_id: i64) -> Result<Vec<Batch>> {
    Ok(sqlx::query_as!(
        Batch,
        r#"SELECT b.id, b.arrival_date, b.sheet, cardinality(b.guest_ids)::bigint AS "guests!",
                  b.created_at, u.email AS "created_by?"
           FROM police_batches b LEFT JOIN users u ON u.id = b.created_by
           WHERE b.place_id = $1 AND b.sent_at IS NULL AND cardinality(b.guest_ids) > 0
             AND b.created_at > now() - interval '7 days'
             AND EXISTS (SELECT FROM guests g JOIN stays s ON s.id = g.stay_id
                         WHERE g.id = ANY (b.guest_ids) AND g.notified_at IS NULL
                           AND s.status = 'active')
           ORDER BY b.created_at DESC LIMIT 20"#,
        place_id
    )
    .fetch_all(pool)
    .await?)
}

/// Record that an exported file was sent to the portal, under its
/// reference: exactly the guests in it who were not yet declared. Returns
/// how many.
pub async fn mark_sent(
    pool: &PgPool,
    place_id: i64,
    batch: i64,
    reference: &str,
    actor: i64,
) -> Result<i64> {
    let mut tx = pool.begin().await?;
    let found = sqlx::query!(
        "SELECT guest_ids, reference, sent_at FROM police_batches
         WHERE id = $1 AND place_id = $2 FOR UPDATE",
        batch,
        place_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound("there is no such export at this place"))?;
    if found.sent_at.is_some() {
        let reference = found.reference.unwrap_or_default();
        return Err(Error::conflict_with(
            "already_sent",
            format!("this file was already recorded as sent, reference {reference}"),
            ("police.reference", reference),
        ));
    }
    let marked = sqlx::query_scalar!(
        r#"WITH marked AS (
               UPDATE guests SET notified_at = now(), notification_ref = $2
               WHERE id = ANY($1) AND notified_at IS NULL
                 AND EXISTS (SELECT 1 FROM stays s WHERE s.id = guests.stay_id AND s.status = 'active')
               RETURNING id)
           SELECT count(*) AS "n!" FROM marked"#,
        &found.guest_ids,
        reference
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE police_batches SET reference = $2, sent_at = now(), sent_by = $3 WHERE id = $1",
        batch,
        reference,
        actor
    )
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut *tx,
        Some(actor),
        "police.sent",
        Some(place_id),
        Some(reference),
        serde_json::json!({"batch": batch, "guests": marked}),
    )
    .await?;
    tx.commit().await?;
    Ok(marked)
}

/// A guest not yet declared, for the deadline board.
#[derive(Debug, Clone)]
pub struct Due {
    pub full_name: String,
    pub nationality: String,
    pub room: Option<String>,
    pub deadline: DateTime<Utc>,
    pub status: &'static str,
}

/// Every guest of the place not yet declared, the most urgent first.
pub async fn due(pool: &PgPool, place_id: i64, now: DateTime<Utc>) -> Result<Vec<Due>> {
    let rows = sqlx::query!(
        r#"SELECT i.full_name, g.nationality, s.room, g.notify_deadline
           FROM guests g
           JOIN stays s ON s.id = g.stay_id
           JOIN guest_identities i ON i.guest_id = g.id
           WHERE g.place_id = $1 AND g.notified_at IS NULL AND s.status = 'active'
           ORDER BY g.notify_deadline
           LIMIT 200"#,
        place_id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Due {
            full_name: r.full_name,
            nationality: r.nationality,
            room: r.room,
            deadline: r.notify_deadline,
            status: crate::checkin::repo::notification_status(r.notify_deadline, None, now),
        })
        .collect())
}
