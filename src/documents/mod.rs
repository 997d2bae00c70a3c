//! Reading an identity document's text into a check-in form: the QR code on
//! a CCCD card, or the machine-readable zone (MRZ) of a passport or ID card,
//! as a USB scanner or a phone camera types it. Pure parsing: the result is
//! a prefilled [`GuestInput`] that goes through the usual check-in rules.

mod cccd;
mod mrz;
pub mod routes;

use chrono::NaiveDate;

use crate::checkin::model::GuestInput;
use crate::error::FieldErrors;

/// Every error of this module is about the one text the user gave.
const FIELD: &str = "text";

/// What a scanned or typed document text gave.
// No PartialEq/Eq: `GuestInput` does not derive them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ParsedDocument {
    /// "cccd" (the QR code of a Vietnamese ID card) or "mrz" (a passport's
    /// or an ID card's machine-readable zone)
    pub kind: &'static str,
    /// The layout read: "cccd_qr", "mrz_td3" (passport) or "mrz_td1" (ID card)
    pub format: &'static str,
    /// Ready to prefill the check-in form: full_name, date_of_birth, sex, nationality,
    /// document_type, document_number, address (CCCD), document_expiry (MRZ), capture ("cccd_qr" or "mrz").
    pub guest: GuestInput,
    /// CCCD only: the old 9-digit CMND number if printed, and the card's issue date (YYYY-MM-DD).
    pub old_id: Option<String>,
    pub issued: Option<String>,
    /// MRZ only: issuing state as printed.
    pub issuing_state: Option<String>,
}

/// Detects the format (a `|`-separated CCCD QR text, or 2×44 / 3×30 MRZ lines) and parses it.
///
/// Two-digit birth years are read against today's date in Vietnam; use
/// [`parse_on`] when the city's time zone is configured otherwise.
pub fn parse(text: &str) -> Result<ParsedDocument, FieldErrors> {
    parse_on(text, crate::localtime::today(chrono_tz::Asia::Ho_Chi_Minh))
}

/// [`parse`], with `today` deciding the century of an MRZ birth year (a
/// passport holder is not born in the future).
pub fn parse_on(text: &str, today: NaiveDate) -> Result<ParsedDocument, FieldErrors> {
    // ASCII whitespace only: NBSP and NEL may be halves of mojibake to repair.
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.contains('|') {
        cccd::parse(text)
    } else if mrz::looks_like(text) {
        mrz::parse(text, today)
    } else {
        Err(error(
            "document_text",
            "this is neither the QR text of a CCCD nor the lines of a passport or ID card",
        ))
    }
}

fn error(code: &'static str, message: impl Into<String>) -> FieldErrors {
    let mut errors = FieldErrors::default();
    errors.add(FIELD, code, message);
    errors
}

/// `Err` with the collected errors, if any.
fn finish(errors: FieldErrors) -> Result<(), FieldErrors> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The form's date format.
fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(errors: &FieldErrors) -> Vec<&'static str> {
        errors.0[FIELD].iter().map(|e| e.code).collect()
    }

    #[test]
    fn empty_or_unrelated_text_is_neither_format() {
        for text in ["", "  \r\n ", "Nguyễn Văn An", "077090001234"] {
            let errors = parse(text).unwrap_err();
            assert_eq!(codes(&errors), ["document_text"], "{text:?}");
        }
    }

    #[test]
    fn the_format_is_told_by_the_text() {
        let cccd = "077090001234|273456789|Nguyễn Văn An|15081990|Nam|12 Thùy Vân|10052021";
        assert_eq!(parse(cccd).unwrap().format, "cccd_qr");
        let td3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n\
                   L898902C36UTO7408122F1204159ZE184226B<<<<<10";
        assert_eq!(parse(td3).unwrap().format, "mrz_td3");
        let td1 = "I<UTOD231458907<<<<<<<<<<<<<<<\n\
                   7408122F1204159UTO<<<<<<<<<<<6\n\
                   ERIKSSON<<ANNA<MARIA<<<<<<<<<<";
        assert_eq!(parse(td1).unwrap().format, "mrz_td1");
    }

    #[test]
    fn a_short_zone_is_a_length_error_not_an_unknown_text() {
        let errors = parse("P<UTOERIKSSON<<ANNA").unwrap_err();
        assert_eq!(codes(&errors), ["mrz_length"]);
    }
}
