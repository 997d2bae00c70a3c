//! The machine-readable zone (ICAO Doc 9303) of a passport (TD3: two lines
//! of 44 characters) or an ID card (TD1: three lines of 30). A wrong check
//! digit is shown to the user, never silently accepted: it is how a misread
//! or mistyped character is caught before it reaches the police notification.

use chrono::NaiveDate;

use super::{error, finish, iso, ParsedDocument, FIELD};
use crate::checkin::model::GuestInput;
use crate::error::FieldErrors;

const TD3: usize = 44;
const TD1: usize = 30;

/// Whether the text is meant as MRZ lines: fillers `<` mark a zone, and a
/// zone without any (rare) still has the length of one.
pub(super) fn looks_like(text: &str) -> bool {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    chars.contains(&'<')
        || (chars.iter().all(char::is_ascii_alphanumeric)
            && [2 * TD3, 3 * TD1].contains(&chars.len()))
}

pub(super) fn parse(text: &str, today: NaiveDate) -> Result<ParsedDocument, FieldErrors> {
    match lines(text)?.as_slice() {
        [l1, l2] => td3(l1, l2, today),
        [l1, l2, l3] => td1(l1, l2, l3, today),
        _ => unreachable!("lines() gives two or three lines"),
    }
}

/// The lines, upper-cased, however the scanner separated them: newlines,
/// spaces, or nothing at all (88 characters are a passport, 90 an ID card).
fn lines(text: &str) -> Result<Vec<String>, FieldErrors> {
    let upper = text.to_ascii_uppercase();
    let tokens: Vec<&str> = upper.split_whitespace().collect();
    let mut errors = FieldErrors::default();

    let mut wrong: Vec<char> = tokens
        .iter()
        .flat_map(|t| t.chars())
        .filter(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '<'))
        .collect();
    wrong.sort_unstable();
    wrong.dedup();
    if !wrong.is_empty() {
        let shown: String = wrong.iter().take(5).collect();
        errors.add(
            FIELD,
            "mrz_characters",
            format!("the lines hold characters other than A–Z, 0–9 and <: {shown}"),
        );
    }

    let lengths: Vec<usize> = tokens.iter().map(|t| t.chars().count()).collect();
    let lines = if matches!(lengths.as_slice(), [TD3, TD3] | [TD1, TD1, TD1]) {
        tokens.iter().map(|t| (*t).to_owned()).collect()
    } else {
        // Lines run together, or wrapped where the scanner chose.
        let joined: Vec<char> = tokens.concat().chars().collect();
        match joined.len() {
            n if n == 2 * TD3 => joined.chunks(TD3).map(String::from_iter).collect(),
            n if n == 3 * TD1 => joined.chunks(TD1).map(String::from_iter).collect(),
            _ => {
                let lengths: Vec<String> = lengths.iter().map(ToString::to_string).collect();
                errors.add(
                    FIELD,
                    "mrz_length",
                    format!(
                        "found {} line(s) of {} characters: a passport has two lines \
                         of 44 characters, an ID card three lines of 30",
                        lengths.len(),
                        lengths.join(", ")
                    ),
                );
                Vec::new()
            }
        }
    };
    finish(errors)?;
    Ok(lines)
}

/// A passport. Line 1: `P`, type, issuing state, name. Line 2: number and
/// check digit, nationality, birth and check digit, sex, expiry and check
/// digit, personal number and check digit, composite check digit.
fn td3(l1: &str, l2: &str, today: NaiveDate) -> Result<ParsedDocument, FieldErrors> {
    if !l1.starts_with('P') {
        // Visas (MRV-A) share the shape but not the fields.
        return Err(error(
            "document_text",
            "two lines of 44 characters are read only from a passport, whose first line starts with P",
        ));
    }
    let b = l2.as_bytes();
    let mut errors = FieldErrors::default();
    check(&mut errors, &l2[0..9], b[9], Check::Document);
    check(&mut errors, &l2[13..19], b[19], Check::Birth);
    check(&mut errors, &l2[21..27], b[27], Check::Expiry);
    let personal = &l2[28..42];
    // With no personal number the check digit may be a filler too.
    if !(b[42] == b'<' && personal.bytes().all(|c| c == b'<')) {
        check(&mut errors, personal, b[42], Check::Personal);
    }
    let composite = [&l2[0..10], &l2[13..20], &l2[21..43]].concat();
    check(&mut errors, &composite, b[43], Check::Composite);
    let birth = birth_date(&l2[13..19], today, &mut errors);
    let expiry = expiry_date(&l2[21..27], &mut errors);
    let sex = sex(b[20], &mut errors);
    finish(errors)?;

    Ok(ParsedDocument {
        kind: "mrz",
        format: "mrz_td3",
        guest: GuestInput {
            full_name: name(&l1[5..]),
            date_of_birth: birth.map(iso),
            sex: Some(sex.to_owned()),
            nationality: code(&l2[10..13]),
            document_type: Some("passport".to_owned()),
            document_number: code(&l2[0..9]),
            document_expiry: expiry.map(iso),
            capture: Some("mrz".to_owned()),
            ..GuestInput::default()
        },
        old_id: None,
        issued: None,
        issuing_state: code(&l1[2..5]),
    })
}

/// An ID card. Line 1: type, issuing state, number and check digit,
/// optional data. Line 2: birth and check digit, sex, expiry and check
/// digit, nationality, optional data, composite check digit. Line 3: name.
///
/// The document type is "other", except a Vietnamese ID card whose optional
/// data starts with a 12-digit number: that is the CCCD number the police
/// notification asks for, so it becomes "cccd" with that number.
fn td1(l1: &str, l2: &str, l3: &str, today: NaiveDate) -> Result<ParsedDocument, FieldErrors> {
    let (b1, b2) = (l1.as_bytes(), l2.as_bytes());
    let mut errors = FieldErrors::default();
    let (number, optional) = if b1[14] == b'<' && b1[15] != b'<' {
        // A number longer than nine characters goes on in the optional data,
        // followed by its check digit, with a filler in the check digit's place.
        let rest = l1[15..].split('<').next().unwrap_or_default();
        let (tail, printed) = rest.split_at(rest.len() - 1);
        let number = format!("{}{tail}", &l1[5..14]);
        check(&mut errors, &number, printed.as_bytes()[0], Check::Document);
        (number, "")
    } else {
        check(&mut errors, &l1[5..14], b1[14], Check::Document);
        (l1[5..14].to_owned(), &l1[15..])
    };
    check(&mut errors, &l2[0..6], b2[6], Check::Birth);
    check(&mut errors, &l2[8..14], b2[14], Check::Expiry);
    let composite = [&l1[5..], &l2[0..7], &l2[8..15], &l2[18..29]].concat();
    check(&mut errors, &composite, b2[29], Check::Composite);
    let birth = birth_date(&l2[0..6], today, &mut errors);
    let expiry = expiry_date(&l2[8..14], &mut errors);
    let sex = sex(b2[7], &mut errors);
    finish(errors)?;

    let issuing_state = code(&l1[2..5]);
    let cccd = optional
        .get(..12)
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .filter(|_| optional.as_bytes().get(12).is_none_or(|&b| b == b'<'))
        .filter(|_| l1.starts_with('I') && issuing_state.as_deref() == Some("VNM"));
    let (document_type, document_number) = match cccd {
        Some(n) => ("cccd", n.to_owned()),
        None => ("other", number.trim_end_matches('<').to_owned()),
    };

    Ok(ParsedDocument {
        kind: "mrz",
        format: "mrz_td1",
        guest: GuestInput {
            full_name: name(l3),
            date_of_birth: birth.map(iso),
            sex: Some(sex.to_owned()),
            nationality: code(&l2[15..18]),
            document_type: Some(document_type.to_owned()),
            document_number: Some(document_number).filter(|n| !n.is_empty()),
            document_expiry: expiry.map(iso),
            capture: Some("mrz".to_owned()),
            ..GuestInput::default()
        },
        old_id: None,
        issued: None,
        issuing_state,
    })
}

#[derive(Clone, Copy)]
enum Check {
    Document,
    Birth,
    Expiry,
    Personal,
    Composite,
}

/// Compare a printed check digit with the one computed; each wrong one is
/// its own error, so the user sees every field to look at.
fn check(errors: &mut FieldErrors, data: &str, printed: u8, which: Check) {
    if printed == b'0' + check_digit(data) {
        return;
    }
    let (code, message) = match which {
        Check::Document => (
            "mrz_check_document",
            "the check digit of the document number does not match",
        ),
        Check::Birth => (
            "mrz_check_birth",
            "the check digit of the date of birth does not match",
        ),
        Check::Expiry => (
            "mrz_check_expiry",
            "the check digit of the expiry date does not match",
        ),
        Check::Personal => (
            "mrz_check_personal",
            "the check digit of the personal number does not match",
        ),
        Check::Composite => (
            "mrz_check_composite",
            "the last check digit, over the whole zone, does not match",
        ),
    };
    errors.add(FIELD, code, message);
}

/// Doc 9303: digits count as themselves, A=10 … Z=35, `<`=0; weights 7, 3,
/// 1 repeating; the sum modulo 10.
fn check_digit(data: &str) -> u8 {
    let sum: u32 = data
        .bytes()
        .zip([7, 3, 1].into_iter().cycle())
        .map(|(c, weight)| {
            let value = match c {
                b'0'..=b'9' => c - b'0',
                b'A'..=b'Z' => c - b'A' + 10,
                _ => 0,
            };
            u32::from(value) * weight
        })
        .sum();
    u8::try_from(sum % 10).unwrap_or_default()
}

/// YYMMDD as numbers; `None` when a part is unknown (printed as fillers,
/// which Doc 9303 allows for a birth date), and an error when not a date.
fn date_parts(raw: &str, errors: &mut FieldErrors) -> Option<(i32, u32, u32)> {
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        let part = |range: std::ops::Range<usize>| raw[range].parse::<u32>().unwrap_or_default();
        let year = i32::try_from(part(0..2)).unwrap_or_default();
        Some((year, part(2..4), part(4..6)))
    } else {
        if !raw.bytes().all(|b| b.is_ascii_digit() || b == b'<') {
            errors.add(FIELD, "mrz_date", format!("{raw} is not a date (YYMMDD)"));
        }
        None
    }
}

/// A birth year is in this century unless that puts the birth after today.
fn birth_date(raw: &str, today: NaiveDate, errors: &mut FieldErrors) -> Option<NaiveDate> {
    let (yy, month, day) = date_parts(raw, errors)?;
    let date = NaiveDate::from_ymd_opt(2000 + yy, month, day)
        .filter(|d| *d <= today)
        .or_else(|| NaiveDate::from_ymd_opt(1900 + yy, month, day));
    if date.is_none() {
        errors.add(
            FIELD,
            "mrz_date",
            format!("the date of birth {raw} is not a real date"),
        );
    }
    date
}

/// Documents in use expire in this century.
fn expiry_date(raw: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    let (yy, month, day) = date_parts(raw, errors)?;
    let date = NaiveDate::from_ymd_opt(2000 + yy, month, day);
    if date.is_none() {
        errors.add(
            FIELD,
            "mrz_date",
            format!("the expiry date {raw} is not a real date"),
        );
    }
    date
}

fn sex(printed: u8, errors: &mut FieldErrors) -> &'static str {
    match printed {
        b'M' => "M",
        b'F' => "F",
        // Doc 9303 prints `<` for unspecified; some states print X.
        b'<' | b'X' => "X",
        _ => {
            errors.add(FIELD, "sex_value", "the sex in the lines is not M, F or <");
            "X"
        }
    }
}

/// A code or number as printed, without its trailing fillers (`D<<` is "D").
fn code(field: &str) -> Option<String> {
    Some(field.trim_end_matches('<').to_owned()).filter(|c| !c.is_empty())
}

/// `SURNAME<<GIVEN<NAMES` as "SURNAME GIVEN NAMES", in the capitals printed.
fn name(field: &str) -> Option<String> {
    let field = field.trim_end_matches('<');
    let (primary, secondary) = field.split_once("<<").unwrap_or((field, ""));
    let words: Vec<&str> = primary
        .split('<')
        .chain(secondary.split('<'))
        .filter(|w| !w.is_empty())
        .collect();
    Some(words.join(" ")).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::super::parse_on;
    use super::*;

    /// The specimens of ICAO Doc 9303 parts 4 and 5 (a fictional person of
    /// the fictional state Utopia).
    const TD3_SPECIMEN: [&str; 2] = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ];
    const TD1_SPECIMEN: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
    }

    fn read(text: &str) -> Result<ParsedDocument, FieldErrors> {
        parse_on(text, today())
    }

    fn codes(errors: &FieldErrors) -> Vec<&'static str> {
        errors.0[FIELD].iter().map(|e| e.code).collect()
    }

    /// `data` followed by its check digit, to build synthetic zones.
    fn checked(data: &str) -> String {
        format!("{data}{}", check_digit(data))
    }

    fn pad(text: &str, len: usize) -> String {
        format!("{text:<<len$}")
    }

    /// A synthetic passport's second line, without a personal number.
    fn td3_line2(number: &str, nationality: &str, birth: &str, sex: char, expiry: &str) -> String {
        td3_composite(&format!(
            "{}{}{}{sex}{}{}",
            checked(&pad(number, 9)),
            pad(nationality, 3),
            checked(birth),
            checked(expiry),
            checked(&pad("", 14)),
        ))
    }

    /// The first 43 characters of a passport's second line and the composite.
    fn td3_composite(line: &str) -> String {
        let composite = [&line[0..10], &line[13..20], &line[21..43]].concat();
        format!("{line}{}", check_digit(&composite))
    }

    /// A synthetic ID card with correct check digits.
    fn td1(
        line1_data: &str,
        birth: &str,
        sex: char,
        expiry: &str,
        nation: &str,
        name: &str,
    ) -> String {
        let l1 = pad(line1_data, 30);
        let l2 = format!(
            "{}{sex}{}{}",
            checked(birth),
            checked(expiry),
            pad(nation, 14),
        );
        let composite = [&l1[5..], &l2[0..7], &l2[8..15], &l2[18..29]].concat();
        format!("{l1}\n{}{}\n{}", l2, check_digit(&composite), pad(name, 30))
    }

    #[test]
    fn the_check_digits_of_the_specimens_are_what_icao_printed() {
        assert_eq!(check_digit("L898902C3"), 6);
        assert_eq!(check_digit("740812"), 2);
        assert_eq!(check_digit("120415"), 9);
        assert_eq!(check_digit("ZE184226B<<<<<"), 1);
        assert_eq!(check_digit("D23145890"), 7);
    }

    #[test]
    fn the_icao_passport_specimen_fills_the_form() {
        let parsed = read(&TD3_SPECIMEN.join("\n")).unwrap();
        let g = &parsed.guest;
        assert_eq!(parsed.format, "mrz_td3");
        assert_eq!(g.full_name.as_deref(), Some("ERIKSSON ANNA MARIA"));
        assert_eq!(g.date_of_birth.as_deref(), Some("1974-08-12"));
        assert_eq!(g.sex.as_deref(), Some("F"));
        assert_eq!(g.nationality.as_deref(), Some("UTO"));
        assert_eq!(g.document_type.as_deref(), Some("passport"));
        assert_eq!(g.document_number.as_deref(), Some("L898902C3"));
        assert_eq!(g.document_expiry.as_deref(), Some("2012-04-15"));
        assert_eq!(g.capture.as_deref(), Some("mrz"));
        assert_eq!(g.address, None);
        assert_eq!(parsed.issuing_state.as_deref(), Some("UTO"));
        assert_eq!((parsed.old_id, parsed.issued), (None, None));
    }

    #[test]
    fn the_icao_id_card_specimen_fills_the_form() {
        let parsed = read(&TD1_SPECIMEN.join("\n")).unwrap();
        let g = &parsed.guest;
        assert_eq!(parsed.format, "mrz_td1");
        assert_eq!(g.full_name.as_deref(), Some("ERIKSSON ANNA MARIA"));
        assert_eq!(g.date_of_birth.as_deref(), Some("1974-08-12"));
        assert_eq!(g.sex.as_deref(), Some("F"));
        assert_eq!(g.nationality.as_deref(), Some("UTO"));
        assert_eq!(g.document_type.as_deref(), Some("other"));
        assert_eq!(g.document_number.as_deref(), Some("D23145890"));
        assert_eq!(g.document_expiry.as_deref(), Some("2012-04-15"));
        assert_eq!(g.capture.as_deref(), Some("mrz"));
        assert_eq!(parsed.issuing_state.as_deref(), Some("UTO"));
    }

    #[test]
    fn lines_may_come_joined_spaced_or_in_lower_case() {
        for specimen in [&TD3_SPECIMEN[..], &TD1_SPECIMEN[..]] {
            let expected = read(&specimen.join("\n")).unwrap().guest;
            for text in [
                specimen.join("\r\n"),
                specimen.join("   "),
                specimen.concat(),
                specimen.concat().to_lowercase(),
                format!("\r\n  {}  \n\n", specimen.join("\n").to_lowercase()),
            ] {
                let guest = read(&text).unwrap().guest;
                assert_eq!(guest.full_name, expected.full_name, "{text:?}");
                assert_eq!(guest.document_number, expected.document_number, "{text:?}");
                assert_eq!(guest.date_of_birth, expected.date_of_birth, "{text:?}");
            }
        }
    }

    #[test]
    fn each_wrong_check_digit_is_named_with_the_composite_that_covers_it() {
        // (line, position, the error naming it); the composite is last.
        let td3 = [
            (1, 9, "mrz_check_document"),
            (1, 19, "mrz_check_birth"),
            (1, 27, "mrz_check_expiry"),
            (1, 42, "mrz_check_personal"),
            (1, 43, "mrz_check_composite"),
        ];
        let td1 = [
            (0, 14, "mrz_check_document"),
            (1, 6, "mrz_check_birth"),
            (1, 14, "mrz_check_expiry"),
            (1, 29, "mrz_check_composite"),
        ];
        for (specimen, digits) in [(&TD3_SPECIMEN[..], &td3[..]), (&TD1_SPECIMEN[..], &td1[..])] {
            for &(line, pos, code) in digits {
                let mut lines: Vec<String> = specimen.iter().map(|l| (*l).to_owned()).collect();
                let printed = lines[line].as_bytes()[pos] - b'0';
                let other = char::from(b'0' + (printed + 1) % 10);
                lines[line].replace_range(pos..=pos, &other.to_string());

                let errors = read(&lines.join("\n")).unwrap_err();
                let mut expected = vec![code];
                if code != "mrz_check_composite" {
                    expected.push("mrz_check_composite");
                }
                assert_eq!(codes(&errors), expected, "line {line} position {pos}");
            }
        }
    }

    #[test]
    fn every_wrong_check_digit_is_reported_at_once() {
        let mut line2 = TD3_SPECIMEN[1].to_owned();
        line2.replace_range(9..10, "0");
        line2.replace_range(27..28, "0");
        let errors = read(&format!("{}\n{line2}", TD3_SPECIMEN[0])).unwrap_err();
        assert_eq!(
            codes(&errors),
            [
                "mrz_check_document",
                "mrz_check_expiry",
                "mrz_check_composite"
            ]
        );
    }

    #[test]
    fn a_filler_check_digit_is_accepted_only_without_a_personal_number() {
        let empty = td3_line2("C4X9K2", "D", "900815", '<', "300814");
        assert_eq!(&empty[28..43], "<<<<<<<<<<<<<<0");
        let filler = td3_composite(&format!("{}<", &empty[..42]));
        let line1 = pad("P<D<<BEISPIEL<<LENA<MARIE", 44);
        for line2 in [&empty, &filler] {
            let parsed = read(&format!("{line1}\n{line2}")).unwrap();
            assert_eq!(
                parsed.guest.full_name.as_deref(),
                Some("BEISPIEL LENA MARIE")
            );
            assert_eq!(parsed.guest.nationality.as_deref(), Some("D"));
            assert_eq!(parsed.issuing_state.as_deref(), Some("D"));
            assert_eq!(parsed.guest.sex.as_deref(), Some("X"));
            assert_eq!(parsed.guest.document_number.as_deref(), Some("C4X9K2"));
        }

        let mut numbered = TD3_SPECIMEN[1].to_owned();
        numbered.replace_range(42..43, "<");
        let errors = read(&format!("{}\n{numbered}", TD3_SPECIMEN[0])).unwrap_err();
        assert!(codes(&errors).contains(&"mrz_check_personal"));
    }

    #[test]
    fn a_birth_year_after_today_is_last_century_and_expiry_is_this_one() {
        let line1 = pad("P<KORKIM<<MINSEO", 44);
        for (birth, expected) in [("300101", "1930-01-01"), ("150101", "2015-01-01")] {
            let line2 = td3_line2("M12345678", "KOR", birth, 'M', "300101");
            let guest = read(&format!("{line1}\n{line2}")).unwrap().guest;
            assert_eq!(guest.date_of_birth.as_deref(), Some(expected));
            assert_eq!(guest.document_expiry.as_deref(), Some("2030-01-01"));
        }
    }

    #[test]
    fn impossible_dates_are_named() {
        let line1 = pad("P<KORKIM<<MINSEO", 44);
        let line2 = td3_line2("M12345678", "KOR", "900230", 'F', "301301");
        let errors = read(&format!("{line1}\n{line2}")).unwrap_err();
        assert_eq!(codes(&errors), ["mrz_date", "mrz_date"]);
    }

    #[test]
    fn a_long_id_card_number_goes_on_in_the_optional_data() {
        // A filler where the check digit would be; the rest of the number and
        // its check digit (over the whole number) in the optional data.
        let number = "AB12345678901";
        let line1 = format!(
            "I<UTO{}<{}{}",
            &number[..9],
            &number[9..],
            check_digit(number)
        );
        let text = td1(&line1, "850304", 'M', "310101", "UTO", "SOLBERG<<TOR");
        let parsed = read(&text).unwrap();
        assert_eq!(parsed.guest.document_number.as_deref(), Some(number));
        assert_eq!(parsed.guest.document_type.as_deref(), Some("other"));
        assert_eq!(parsed.guest.full_name.as_deref(), Some("SOLBERG TOR"));

        let wrong = text.replacen(&format!("01{}", check_digit(number)), "015", 1);
        assert_ne!(check_digit(number), 5);
        assert!(codes(&read(&wrong).unwrap_err()).contains(&"mrz_check_document"));
    }

    #[test]
    fn a_vietnamese_id_card_gives_its_12_digit_cccd_number() {
        let text = td1(
            &format!("IDVNM{}077090001234", checked("090001234")),
            "900815",
            'M',
            "300815",
            "VNM",
            "NGUYEN<<VAN<AN",
        );
        let parsed = read(&text).unwrap();
        assert_eq!(parsed.guest.document_type.as_deref(), Some("cccd"));
        assert_eq!(
            parsed.guest.document_number.as_deref(),
            Some("077090001234")
        );
        assert_eq!(parsed.guest.full_name.as_deref(), Some("NGUYEN VAN AN"));
        assert_eq!(parsed.guest.nationality.as_deref(), Some("VNM"));
        assert_eq!(parsed.issuing_state.as_deref(), Some("VNM"));
    }

    #[test]
    fn wrong_characters_lengths_and_shapes_are_named() {
        let text = TD3_SPECIMEN.join("\n").replacen("<<", "«<", 1);
        assert_eq!(codes(&read(&text).unwrap_err()), ["mrz_characters"]);

        let text = format!("{}\n{}", TD3_SPECIMEN[0], &TD3_SPECIMEN[1][..43]);
        let errors = read(&text).unwrap_err();
        assert_eq!(codes(&errors), ["mrz_length"]);
        assert!(errors.0[FIELD][0].message.contains("44, 43"));

        let text = TD3_SPECIMEN.join("\n").replacen('P', "V", 1);
        assert_eq!(codes(&read(&text).unwrap_err()), ["document_text"]);
    }
}
