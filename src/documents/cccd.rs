//! The QR code on a chip-based CCCD (and on the căn cước cards issued since
//! July 2024): UTF-8 text, fields separated by `|`:
//! `number|old CMND|full name|ddmmyyyy birth|Nam or Nữ|permanent address|ddmmyyyy issue`.

use chrono::NaiveDate;

use super::{error, finish, iso, ParsedDocument, FIELD};
use crate::checkin::model::{clean_text, GuestInput};
use crate::error::FieldErrors;

/// Fields every card has; newer cards append more, which are ignored.
const FIELDS: usize = 7;

pub(super) fn parse(text: &str) -> Result<ParsedDocument, FieldErrors> {
    let text = repair_mojibake(text);
    // Once more field by field: a scanner may garble only the name.
    let owned: Vec<String> = text.split('|').map(repair_mojibake).collect();
    let fields: Vec<&str> = owned.iter().map(|f| f.trim()).collect();
    if fields.len() < FIELDS {
        return Err(error(
            "cccd_qr_fields",
            format!(
                "the card's QR text has {} fields where {FIELDS} are expected: scan it again",
                fields.len()
            ),
        ));
    }
    let mut errors = FieldErrors::default();

    let number = fields[0];
    if !(number.len() == 12 && number.bytes().all(|b| b.is_ascii_digit())) {
        errors.add(FIELD, "cccd_format", "the CCCD number is not 12 digits");
    }
    // Some people had the 12-digit CMND issued from 2012 before the CCCD.
    let old_id = match fields[1] {
        "" => None,
        id if matches!(id.len(), 9 | 12) && id.bytes().all(|b| b.is_ascii_digit()) => {
            Some(id.to_owned())
        }
        _ => {
            errors.add(
                FIELD,
                "cccd_qr_fields",
                "the old CMND number is not 9 or 12 digits: scan the card again",
            );
            None
        }
    };
    let full_name = clean_text(fields[2]);
    if full_name.is_empty() {
        errors.add(
            FIELD,
            "cccd_qr_fields",
            "the name is missing: scan the card again",
        );
    }
    // A scan gone wrong, not a date typed wrong: `cccd_qr_fields` asks to scan again.
    let birth = date(fields[3]);
    if birth.is_none() {
        errors.add(
            FIELD,
            "cccd_qr_fields",
            "the date of birth is not a date written ddmmyyyy: scan the card again",
        );
    }
    let sex = sex(fields[4]);
    if sex.is_none() {
        errors.add(
            FIELD,
            "cccd_qr_fields",
            "the sex is neither Nam nor Nữ: scan the card again",
        );
    }
    let address = Some(clean_text(fields[5])).filter(|a| !a.is_empty());
    let issued = match fields[6] {
        "" => None,
        raw => {
            let issued = date(raw);
            if issued.is_none() {
                errors.add(
                    FIELD,
                    "cccd_qr_fields",
                    "the issue date is not a date written ddmmyyyy: scan the card again",
                );
            }
            issued
        }
    };
    finish(errors)?;

    Ok(ParsedDocument {
        kind: "cccd",
        format: "cccd_qr",
        guest: GuestInput {
            full_name: Some(full_name),
            date_of_birth: birth.map(iso),
            sex: sex.map(str::to_owned),
            nationality: Some("VNM".to_owned()),
            document_type: Some("cccd".to_owned()),
            document_number: Some(number.to_owned()),
            address,
            capture: Some("cccd_qr".to_owned()),
            ..GuestInput::default()
        },
        old_id,
        issued: issued.map(iso),
        issuing_state: None,
    })
}

/// `ddmmyyyy`, as the card prints it.
fn date(raw: &str) -> Option<NaiveDate> {
    if raw.len() != 8 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (day, month, year) = (&raw[0..2], &raw[2..4], &raw[4..8]);
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
}

/// `Nam` or `Nữ`, in any case, composed or not, or typed without the accent.
fn sex(raw: &str) -> Option<&'static str> {
    match clean_text(raw).to_lowercase().as_str() {
        "nam" => Some("M"),
        "nữ" | "nu" => Some("F"),
        _ => None,
    }
}

/// Windows-1252's characters for the bytes 0x80–0x9F (the undefined five
/// decode to the C1 control of the same value, as Windows and browsers do).
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// Undo a scanner that typed the card's UTF-8 bytes one by one as Latin-1 or
/// Windows-1252 characters ("Nguyá»…n" for "Nguyễn"). Text that went through
/// that twice is repaired twice. Genuine Vietnamese is never touched: its
/// letters such as ễ, ă or đ are no single-byte character.
pub(super) fn repair_mojibake(text: &str) -> String {
    let mut text = text.to_owned();
    for _ in 0..3 {
        match undo_single_byte_decoding(&text) {
            Some(repaired) => text = repaired,
            None => break,
        }
    }
    text
}

fn undo_single_byte_decoding(text: &str) -> Option<String> {
    if text.is_ascii() {
        return None;
    }
    let bytes = text.chars().map(byte_of).collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes)
        .ok()
        .filter(|decoded| decoded != text)
}

/// The byte a Latin-1 or Windows-1252 decoder turned into `c`.
fn byte_of(c: char) -> Option<u8> {
    u8::try_from(u32::from(c)).ok().or_else(|| {
        let index = CP1252_HIGH.iter().position(|&high| high == c)?;
        u8::try_from(0x80 + index).ok()
    })
}

#[cfg(test)]
mod tests {
    use unicode_normalization::UnicodeNormalization;

    use super::super::parse;
    use super::*;

    /// The synthetic card of DOMAIN.md (no real person).
    const CARD: &str = "077090001234|273456789|Nguyễn Văn An|15081990|Nam|12 Thùy Vân, Phường 2, TP Vũng Tàu, Bà Rịa - Vũng Tàu|10052021";

    fn codes(errors: &FieldErrors) -> Vec<&'static str> {
        errors.0[FIELD].iter().map(|e| e.code).collect()
    }

    /// What a scanner typing UTF-8 bytes as Latin-1 characters produces.
    fn as_latin1(text: &str) -> String {
        text.bytes().map(char::from).collect()
    }

    fn assert_is_the_card(parsed: &ParsedDocument) {
        let g = &parsed.guest;
        assert_eq!(parsed.format, "cccd_qr");
        assert_eq!(g.full_name.as_deref(), Some("Nguyễn Văn An"));
        assert_eq!(g.date_of_birth.as_deref(), Some("1990-08-15"));
        assert_eq!(g.sex.as_deref(), Some("M"));
        assert_eq!(g.nationality.as_deref(), Some("VNM"));
        assert_eq!(g.document_type.as_deref(), Some("cccd"));
        assert_eq!(g.document_number.as_deref(), Some("077090001234"));
        assert_eq!(
            g.address.as_deref(),
            Some("12 Thùy Vân, Phường 2, TP Vũng Tàu, Bà Rịa - Vũng Tàu")
        );
        assert_eq!(g.capture.as_deref(), Some("cccd_qr"));
        assert_eq!(g.document_expiry, None);
        assert_eq!(parsed.issued.as_deref(), Some("2021-05-10"));
        assert_eq!(parsed.issuing_state, None);
    }

    #[test]
    fn a_card_with_seven_fields_fills_the_form() {
        let parsed = parse(&format!("  {CARD}\r\n")).unwrap();
        assert_is_the_card(&parsed);
        assert_eq!(parsed.old_id.as_deref(), Some("273456789"));
    }

    #[test]
    fn a_card_without_an_old_cmnd_has_no_old_id() {
        let card = CARD.replace("|273456789|", "||");
        let parsed = parse(&card).unwrap();
        assert_is_the_card(&parsed);
        assert_eq!(parsed.old_id, None);
    }

    #[test]
    fn fields_newer_cards_append_are_ignored() {
        let parsed = parse(&format!("{CARD}|Nguyễn Văn Bình|Trần Thị Cúc|")).unwrap();
        assert_is_the_card(&parsed);
    }

    #[test]
    fn a_field_garbled_alone_is_repaired() {
        let garbled_name: String = "Nguyễn Văn An".bytes().map(char::from).collect();
        let text =
            format!("077090001234||{garbled_name}|15081990|Nam|12 Thùy Vân, Phường 2|10052021");
        let card = parse(&text).unwrap();
        assert_eq!(card.guest.full_name.as_deref(), Some("Nguyễn Văn An"));
        assert_eq!(card.guest.address.as_deref(), Some("12 Thùy Vân, Phường 2"));
    }

    #[test]
    fn utf8_typed_as_latin1_is_repaired() {
        let garbled = as_latin1(CARD);
        assert!(garbled.contains("Nguyá»\u{85}n"), "{garbled}");
        assert_is_the_card(&parse(&garbled).unwrap());

        // à is C3 A0, and A0 is a no-break space: at the end it must survive.
        let garbled = as_latin1(&format!("{CARD}|Trần Thị Hà"));
        assert!(garbled.ends_with('\u{a0}'));
        assert_is_the_card(&parse(&garbled).unwrap());
    }

    #[test]
    fn utf8_typed_as_windows_1252_is_repaired_once_or_twice() {
        // ễ is E1 BB 85: á » … in Windows-1252.
        let card = "077090001234||Nguyá»…n Thá»‹ Hoa|01021985|Ná»¯|5 Ha Long, Vung Tau|03042022";
        let parsed = parse(card).unwrap();
        assert_eq!(parsed.guest.full_name.as_deref(), Some("Nguyễn Thị Hoa"));
        assert_eq!(parsed.guest.sex.as_deref(), Some("F"));

        let twice = as_latin1(&as_latin1(CARD));
        assert!(twice.contains("NguyÃ¡Â»"), "{twice}");
        assert_is_the_card(&parse(&twice).unwrap());
    }

    #[test]
    fn genuine_text_is_never_taken_for_mojibake() {
        for text in [CARD, "Thùy Vân", "Café Núi Lớn", "Ông Bà"] {
            assert_eq!(repair_mojibake(text), text);
        }
    }

    #[test]
    fn decomposed_text_comes_out_composed_with_one_space_between_words() {
        let card = CARD
            .replace("Nguyễn Văn An", " Nguyễn  Văn\tAn ")
            .replace("|Nam|", "|NỮ|")
            .nfd()
            .collect::<String>();
        assert_ne!(card, card.nfc().collect::<String>());
        let parsed = parse(&card).unwrap();
        assert_eq!(parsed.guest.full_name.as_deref(), Some("Nguyễn Văn An"));
        assert_eq!(parsed.guest.sex.as_deref(), Some("F"));
        assert_eq!(
            parsed.guest.address.as_deref(),
            Some("12 Thùy Vân, Phường 2, TP Vũng Tàu, Bà Rịa - Vũng Tàu")
        );
    }

    #[test]
    fn nu_without_its_accent_is_female() {
        let parsed = parse(&CARD.replace("|Nam|", "|nu|")).unwrap();
        assert_eq!(parsed.guest.sex.as_deref(), Some("F"));
    }

    #[test]
    fn too_few_fields_ask_for_another_scan() {
        let errors = parse("077090001234|273456789|Nguyễn Văn An|15081990|Nam").unwrap_err();
        assert_eq!(codes(&errors), ["cccd_qr_fields"]);
        assert!(errors.0[FIELD][0].message.contains("5 fields"));
    }

    #[test]
    fn a_wrong_number_is_named() {
        for number in ["07709000123", "0770900012345", "07709000123A"] {
            let errors = parse(&CARD.replace("077090001234", number)).unwrap_err();
            assert_eq!(codes(&errors), ["cccd_format"], "{number}");
        }
    }

    #[test]
    fn every_unreadable_field_is_reported() {
        let card = CARD
            .replace("15081990", "31021990")
            .replace("|Nam|", "|Male|")
            .replace("10052021", "2021-05-10");
        let errors = parse(&card).unwrap_err();
        assert_eq!(
            codes(&errors),
            ["cccd_qr_fields", "cccd_qr_fields", "cccd_qr_fields"]
        );
    }
}
