//! What a guest declares, parsed into typed values at the edge. Every rule
//! here says what to fix in words a visitor understands; the same parser
//! serves the visitor page, the API and the hotel desk.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::FieldErrors;
use crate::localtime;

/// Largest party one submission may carry: a tour group and its leader.
pub const MAX_GUESTS: usize = 60;
/// Longest stay a check-in may declare.
pub const MAX_STAY_DAYS: i64 = 365;
/// Below this age a guest may travel on an adult's documents.
pub const CHILD_AGE: i32 = 14;

/// A guest as sent by a form or the API: every field is text, so that a
/// wrong value is reported by the parser with a useful message.
#[derive(Debug, Default, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestInput {
    pub full_name: Option<String>,
    /// YYYY-MM-DD
    #[schema(format = Date)]
    pub date_of_birth: Option<String>,
    /// M, F or X
    pub sex: Option<String>,
    /// ICAO code as printed, e.g. VNM, KOR, D
    pub nationality: Option<String>,
    pub residence_country: Option<String>,
    /// cccd, passport or other (cmnd only for records carried over at the desk)
    pub document_type: Option<String>,
    /// May be left out only for a child under 14 travelling with `with_guest`.
    pub document_number: Option<String>,
    /// Permanent address (Vietnamese guests).
    pub address: Option<String>,
    pub phone: Option<String>,
    #[schema(format = Date)]
    pub document_expiry: Option<String>,
    pub visa_number: Option<String>,
    #[schema(format = Date)]
    pub entry_date: Option<String>,
    /// Index of the adult in the same list this child travels with.
    pub with_guest: Option<u32>,
    /// cccd_qr, mrz or manual (default)
    pub capture: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentType {
    Cccd,
    Cmnd,
    Passport,
    Other,
}

impl DocumentType {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::Cccd => "cccd",
            DocumentType::Cmnd => "cmnd",
            DocumentType::Passport => "passport",
            DocumentType::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub kind: DocumentType,
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    pub full_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: &'static str,
    pub nationality: String,
    pub residence_country: String,
    pub document: Option<Document>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub document_expiry: Option<NaiveDate>,
    pub visa_number: Option<String>,
    pub entry_date: Option<NaiveDate>,
    /// Index of the adult this child travels with.
    pub companion: Option<usize>,
    pub capture: &'static str,
}

impl Guest {
    pub fn is_vietnamese(&self) -> bool {
        self.nationality == "VNM"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Tourism,
    Business,
    VisitingFamily,
    Other,
}

impl Purpose {
    pub const ALL: [Purpose; 4] = [
        Purpose::Tourism,
        Purpose::Business,
        Purpose::VisitingFamily,
        Purpose::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Tourism => "tourism",
            Purpose::Business => "business",
            Purpose::VisitingFamily => "visiting_family",
            Purpose::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s.trim())
    }
}

/// Lower-case text without diacritics, for accent-free search
/// ("nguyen van an" finds "Nguyễn Văn An").
pub fn search_key(text: &str) -> String {
    // Most names come in plain ASCII, with nothing to strip or compose.
    if text.is_ascii() {
        return words(&text.to_ascii_lowercase());
    }
    let plain = text
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            other => other,
        })
        .collect::<String>()
        .nfc()
        .flat_map(char::to_lowercase)
        .collect::<String>();
    words(&plain)
}

/// NFC, trimmed, inner whitespace collapsed.
pub fn clean_text(text: &str) -> String {
    if unicode_normalization::is_nfc(text) {
        words(text)
    } else {
        words(&text.nfc().collect::<String>())
    }
}

/// The words of `text`, one space between each.
fn words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub fn parse_date(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").ok()
}

/// A nationality or country code a document could print (ISO 3166-1
/// alpha-3 or ICAO's own), upper-cased.
pub fn parse_country(value: &str) -> Option<String> {
    let v = value.trim().to_ascii_uppercase();
    super::countries::is_known(&v).then_some(v)
}

/// A country field: required (with what to say when it is missing) or not,
/// and a code a document could print when given.
pub fn country_field(
    value: Option<&str>,
    field: &str,
    required: Option<&str>,
    errors: &mut FieldErrors,
) -> Option<String> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            if let Some(message) = required {
                errors.add(field, "required", message);
            }
            None
        }
        Some(raw) => {
            let parsed = parse_country(raw);
            if parsed.is_none() {
                errors.add(
                    field,
                    "country_code",
                    "must be a country code such as VNM or KOR",
                );
            }
            parsed
        }
    }
}

pub fn parse_document_number(
    kind: DocumentType,
    raw: &str,
) -> Result<String, (&'static str, &'static str)> {
    let number: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
        .collect::<String>()
        .to_ascii_uppercase();
    let all_digits = !number.is_empty() && number.chars().all(|c| c.is_ascii_digit());
    let alnum = !number.is_empty() && number.chars().all(|c| c.is_ascii_alphanumeric());
    match kind {
        DocumentType::Cccd if all_digits && number.len() == 12 => Ok(number),
        DocumentType::Cccd => Err(("cccd_format", "a CCCD number is exactly 12 digits")),
        DocumentType::Cmnd if all_digits && number.len() == 9 => Ok(number),
        DocumentType::Cmnd => Err(("cmnd_format", "a CMND number is exactly 9 digits")),
        DocumentType::Passport if alnum && (5..=9).contains(&number.len()) => Ok(number),
        DocumentType::Passport => Err((
            "passport_format",
            "a passport number is 5 to 9 letters and digits",
        )),
        DocumentType::Other if alnum && (4..=20).contains(&number.len()) => Ok(number),
        DocumentType::Other => Err((
            "document_format",
            "a document number is 4 to 20 letters and digits",
        )),
    }
}

/// The day the old 9-digit CMND stopped being valid.
const CMND_ENDED: NaiveDate = match NaiveDate::from_ymd_opt(2025, 1, 1) {
    Some(day) => day,
    None => panic!("a valid date"),
};

/// Whether the desk may record a CMND for an arrival on `arrival`: a stay
/// carried over from the paper register from before the CMND stopped being
/// valid (1 January 2025), never a later one.
pub fn cmnd_allowed(arrival: NaiveDate) -> bool {
    arrival < CMND_ENDED
}

/// Parse a party of guests arriving on `arrival`. `allow_cmnd` is for records
/// carried over from the paper register (see [`cmnd_allowed`]).
pub fn parse_guests(
    inputs: &[GuestInput],
    arrival: NaiveDate,
    allow_cmnd: bool,
    errors: &mut FieldErrors,
) -> Vec<Guest> {
    if inputs.is_empty() {
        errors.add("guests", "required", "add at least one guest");
        return Vec::new();
    }
    if inputs.len() > MAX_GUESTS {
        errors.add(
            "guests",
            "too_many",
            format!("at most {MAX_GUESTS} guests in one check-in"),
        );
        return Vec::new();
    }
    let parsed: Vec<Option<Guest>> = inputs
        .iter()
        .enumerate()
        .map(|(i, g)| parse_guest(g, i, arrival, allow_cmnd, errors))
        .collect();
    // Children travelling on an adult's documents: the adult must be another
    // guest of this party who is not a child.
    for (i, guest) in parsed.iter().enumerate() {
        let Some(guest) = guest else { continue };
        if let Some(adult) = guest.companion {
            let field = format!("guests[{i}].with_guest");
            match parsed.get(adult) {
                _ if adult == i => errors.add(
                    field,
                    "companion_self",
                    "a child travels with another guest",
                ),
                None => errors.add(
                    field,
                    "companion_unknown",
                    "must be the number of a guest in this list",
                ),
                Some(Some(a)) if localtime::age_on(a.date_of_birth, arrival) < CHILD_AGE => {
                    errors.add(field, "companion_child", "must be a guest aged 14 or over")
                }
                _ => {}
            }
        }
    }
    parsed.into_iter().flatten().collect()
}

pub(crate) fn parse_guest(
    g: &GuestInput,
    i: usize,
    arrival: NaiveDate,
    allow_cmnd: bool,
    errors: &mut FieldErrors,
) -> Option<Guest> {
    let before = errors.0.len();
    let field = |name: &str| format!("guests[{i}].{name}");

    let full_name = match present(&g.full_name).map(clean_text) {
        None => {
            errors.add(
                field("full_name"),
                "required",
                "write the full name as on the document",
            );
            None
        }
        Some(n) if n.chars().count() > 120 => {
            errors.add(
                field("full_name"),
                "too_long",
                "a name has at most 120 characters",
            );
            None
        }
        Some(n)
            if !n.chars().any(char::is_alphabetic)
                || n.chars().any(|c| c.is_ascii_digit() || c.is_control()) =>
        {
            errors.add(
                field("full_name"),
                "name_letters",
                "a name is written in letters",
            );
            None
        }
        Some(n) => Some(n),
    };

    let date_of_birth = match present(&g.date_of_birth) {
        None => {
            errors.add(field("date_of_birth"), "required", "give the date of birth");
            None
        }
        Some(raw) => match parse_date(raw) {
            None => {
                errors.add(
                    field("date_of_birth"),
                    "date_format",
                    "write the date as YYYY-MM-DD",
                );
                None
            }
            Some(d) if d > arrival => {
                errors.add(
                    field("date_of_birth"),
                    "birth_future",
                    "a date of birth cannot be after the arrival",
                );
                None
            }
            Some(d) if d < NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date") => {
                errors.add(
                    field("date_of_birth"),
                    "birth_past",
                    "check the year of birth",
                );
                None
            }
            Some(d) => Some(d),
        },
    };

    let sex = match present(&g.sex).map(str::to_ascii_uppercase).as_deref() {
        Some("M") => Some("M"),
        Some("F") => Some("F"),
        Some("X") => Some("X"),
        None => {
            errors.add(
                field("sex"),
                "required",
                "choose the sex shown on the document",
            );
            None
        }
        Some(_) => {
            errors.add(field("sex"), "sex_value", "must be M, F or X");
            None
        }
    };

    let nationality = country_field(
        present(&g.nationality),
        &field("nationality"),
        Some("choose the nationality"),
        errors,
    );
    let residence_country = match present(&g.residence_country) {
        None => nationality.clone(),
        raw => country_field(raw, &field("residence_country"), None, errors),
    };

    let companion = g.with_guest.map(|n| n as usize);
    let is_child = date_of_birth.is_some_and(|d| localtime::age_on(d, arrival) < CHILD_AGE);
    // A child under 14 may come without a document number, whatever type a
    // form or client left chosen, when an adult of the party is named.
    let document = match (present(&g.document_type), present(&g.document_number)) {
        (_, None) if is_child && companion.is_some() => None,
        (_, None) if is_child => {
            errors.add(
                field("with_guest"),
                "companion_required",
                "a child without a document travels with an adult of the party",
            );
            None
        }
        (kind, number) => {
            let kind = match kind.map(str::to_ascii_lowercase).as_deref() {
                Some("cccd") => Some(DocumentType::Cccd),
                Some("cmnd") if allow_cmnd => Some(DocumentType::Cmnd),
                Some("cmnd") => {
                    errors.add(
                        field("document_type"),
                        "cmnd_expired",
                        "the old CMND is no longer valid: use the CCCD or a passport",
                    );
                    None
                }
                Some("passport") => Some(DocumentType::Passport),
                Some("other") => Some(DocumentType::Other),
                None => {
                    errors.add(
                        field("document_type"),
                        "required",
                        "choose the type of document",
                    );
                    None
                }
                Some(_) => {
                    errors.add(
                        field("document_type"),
                        "document_type_value",
                        "must be cccd, passport or other",
                    );
                    None
                }
            };
            match (kind, number) {
                (_, None) => {
                    errors.add(
                        field("document_number"),
                        "required",
                        "write the document number",
                    );
                    None
                }
                (None, Some(_)) => None,
                (Some(kind), Some(raw)) => match parse_document_number(kind, raw) {
                    Ok(number) => Some(Document { kind, number }),
                    Err((code, message)) => {
                        errors.add(field("document_number"), code, message);
                        None
                    }
                },
            }
        }
    };
    if let (Some(doc), Some(nat)) = (&document, &nationality) {
        if matches!(doc.kind, DocumentType::Cccd | DocumentType::Cmnd) && nat != "VNM" {
            errors.add(
                field("document_type"),
                "cccd_foreigner",
                "a CCCD is for Vietnamese citizens: a foreign guest gives a passport",
            );
        }
    }
    if companion.is_some() && !is_child && document.is_none() && date_of_birth.is_some() {
        errors.add(
            field("with_guest"),
            "companion_adult",
            "only a child under 14 may travel without a document",
        );
    }

    let optional_text =
        |value: &Option<String>, name: &str, max: usize, errors: &mut FieldErrors| {
            let text = present(value).map(clean_text)?;
            if text.chars().count() > max {
                errors.add(field(name), "too_long", format!("at most {max} characters"));
                return None;
            }
            Some(text)
        };
    let address = optional_text(&g.address, "address", 300, errors);
    let visa_number = optional_text(&g.visa_number, "visa_number", 30, errors);
    let phone = optional_text(&g.phone, "phone", 30, errors).and_then(|p| {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        let allowed = p
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if allowed && (6..=15).contains(&digits) {
            Some(p)
        } else {
            errors.add(
                field("phone"),
                "phone_format",
                "write a phone number with 6 to 15 digits",
            );
            None
        }
    });
    let optional_date = |value: &Option<String>, name: &str, errors: &mut FieldErrors| {
        let raw = present(value)?;
        let parsed = parse_date(raw);
        if parsed.is_none() {
            errors.add(field(name), "date_format", "write the date as YYYY-MM-DD");
        }
        parsed
    };
    let document_expiry = optional_date(&g.document_expiry, "document_expiry", errors);
    if document_expiry.is_some_and(|d| d < arrival) {
        errors.add(
            field("document_expiry"),
            "document_expired",
            "this document has expired",
        );
    }
    let entry_date = optional_date(&g.entry_date, "entry_date", errors);
    if nationality.as_deref() == Some("VNM") && (visa_number.is_some() || entry_date.is_some()) {
        errors.add(
            field("nationality"),
            "visa_vietnamese",
            "a visa and an entry date are for foreign guests: check the nationality",
        );
    }
    if entry_date.is_some_and(|d| d > arrival) {
        errors.add(
            field("entry_date"),
            "entry_future",
            "the entry date cannot be after the arrival",
        );
    }
    let capture = match present(&g.capture) {
        None | Some("manual") => "manual",
        Some("cccd_qr") => "cccd_qr",
        Some("mrz") => "mrz",
        Some(_) => {
            errors.add(
                field("capture"),
                "capture_value",
                "must be manual, cccd_qr or mrz",
            );
            "manual"
        }
    };

    if errors.0.len() != before {
        return None;
    }
    Some(Guest {
        full_name: full_name?,
        date_of_birth: date_of_birth?,
        sex: sex?,
        nationality: nationality?,
        residence_country: residence_country?,
        document,
        address,
        phone,
        document_expiry,
        visa_number,
        entry_date,
        companion,
        capture,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
    }

    fn adult() -> GuestInput {
        GuestInput {
            full_name: Some("  Nguyễn   Văn An ".into()),
            date_of_birth: Some("1990-08-15".into()),
            sex: Some("M".into()),
            nationality: Some("vnm".into()),
            document_type: Some("cccd".into()),
            document_number: Some("077 090 001 234".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_vietnamese_adult_is_cleaned_and_typed() {
        let mut errors = FieldErrors::default();
        let guests = parse_guests(&[adult()], arrival(), false, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(guests[0].full_name, "Nguyễn Văn An");
        assert_eq!(guests[0].nationality, "VNM");
        assert_eq!(guests[0].residence_country, "VNM");
        assert_eq!(guests[0].document.as_ref().unwrap().number, "077090001234");
    }

    #[test]
    fn each_wrong_field_is_named_with_its_index() {
        let mut bad = adult();
        bad.date_of_birth = Some("15/08/1990".into());
        bad.document_number = Some("12345".into());
        let mut errors = FieldErrors::default();
        parse_guests(&[adult(), bad], arrival(), false, &mut errors);
        assert_eq!(errors.0["guests[1].date_of_birth"][0].code, "date_format");
        assert_eq!(errors.0["guests[1].document_number"][0].code, "cccd_format");
        assert!(!errors.0.contains_key("guests[0].full_name"));
    }

    #[test]
    fn a_child_may_travel_on_an_adults_documents_but_an_adult_may_not() {
        let child = GuestInput {
            full_name: Some("Nguyễn Bé".into()),
            date_of_birth: Some("2020-01-01".into()),
            sex: Some("F".into()),
            nationality: Some("VNM".into()),
            with_guest: Some(0),
            ..Default::default()
        };
        let mut errors = FieldErrors::default();
        let guests = parse_guests(&[adult(), child.clone()], arrival(), false, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(guests[1].companion, Some(0));
        assert!(guests[1].document.is_none());

        // A type chosen with no number is no document, as the contract lets
        // a child come; without an adult named, the adult is asked for.
        let mut typed = child.clone();
        typed.document_type = Some("passport".into());
        let mut errors = FieldErrors::default();
        let guests = parse_guests(&[adult(), typed.clone()], arrival(), false, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(guests[1].document.is_none());
        typed.with_guest = None;
        let mut errors = FieldErrors::default();
        parse_guests(&[adult(), typed], arrival(), false, &mut errors);
        assert_eq!(
            errors.0["guests[1].with_guest"][0].code,
            "companion_required"
        );

        let mut grown = child;
        grown.date_of_birth = Some("2000-01-01".into());
        let mut errors = FieldErrors::default();
        parse_guests(&[adult(), grown], arrival(), false, &mut errors);
        assert!(errors.0.contains_key("guests[1].document_type"));
    }

    #[test]
    fn a_foreigner_cannot_use_a_cccd_and_cmnd_is_desk_only() {
        let mut foreign = adult();
        foreign.nationality = Some("KOR".into());
        let mut errors = FieldErrors::default();
        parse_guests(&[foreign], arrival(), false, &mut errors);
        assert_eq!(
            errors.0["guests[0].document_type"][0].code,
            "cccd_foreigner"
        );

        let mut old = adult();
        old.document_type = Some("cmnd".into());
        old.document_number = Some("273456789".into());
        let mut errors = FieldErrors::default();
        parse_guests(std::slice::from_ref(&old), arrival(), false, &mut errors);
        assert_eq!(errors.0["guests[0].document_type"][0].code, "cmnd_expired");
        let mut errors = FieldErrors::default();
        parse_guests(&[old], arrival(), true, &mut errors);
        assert!(errors.is_empty());
        // At the desk, for a stay carried over from before 2025 only.
        assert!(cmnd_allowed(NaiveDate::from_ymd_opt(2024, 12, 31).unwrap()));
        assert!(!cmnd_allowed(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()));
    }

    #[test]
    fn made_up_nationalities_and_visas_for_citizens_are_refused() {
        let mut made_up = adult();
        made_up.nationality = Some("XYZ".into());
        let mut citizen_with_visa = adult();
        citizen_with_visa.visa_number = Some("V123".into());
        let mut german = adult();
        german.nationality = Some("D".into());
        german.document_type = Some("passport".into());
        german.document_number = Some("C01X00T47".into());
        let mut errors = FieldErrors::default();
        let guests = parse_guests(
            &[made_up, citizen_with_visa, german],
            arrival(),
            false,
            &mut errors,
        );
        assert_eq!(errors.0["guests[0].nationality"][0].code, "country_code");
        assert_eq!(errors.0["guests[1].nationality"][0].code, "visa_vietnamese");
        assert!(
            !errors.0.contains_key("guests[2].nationality"),
            "ICAO's D is Germany"
        );
        assert_eq!(guests.len(), 1);
    }

    #[test]
    fn search_key_drops_accents_and_case() {
        assert_eq!(search_key("Nguyễn  Văn An"), "nguyen van an");
        assert_eq!(search_key("ĐẶNG Thị Đào"), "dang thi dao");
        assert_eq!(search_key("김민준"), "김민준");
        assert_eq!(search_key("  KIM  Min\tJun "), "kim min jun");
    }

    #[test]
    fn clean_text_composes_and_collapses_whitespace() {
        // "Nguyễn" as a phone keyboard may send it: e, then two marks.
        assert_eq!(
            clean_text(" Nguye\u{302}\u{303}n   Văn\tAn "),
            "Nguyễn Văn An"
        );
        assert_eq!(clean_text("  Kim  Min Jun "), "Kim Min Jun");
        assert_eq!(clean_text("Lê\u{a0}Thị"), "Lê Thị");
        assert_eq!(clean_text(" \t "), "");
    }
}
