//! Properties of the parsers and validators, checked on generated input:
//! no input makes one panic, every well-formed document reads back to what
//! was written into it, and a changed digit or character is caught.

use chrono::{Datelike, NaiveDate};
use luutru::checkin::model::parse_date;
use luutru::documents::parse_on;
use luutru::qr::code::CodeSigner;
use proptest::prelude::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
}

/// ICAO 9303's check digit (weights 7, 3, 1; `<` counts 0).
fn check_digit(data: &str) -> char {
    let sum: u32 = data
        .bytes()
        .zip([7u32, 3, 1].into_iter().cycle())
        .map(|(c, w)| {
            w * match c {
                b'0'..=b'9' => u32::from(c - b'0'),
                b'A'..=b'Z' => u32::from(c - b'A') + 10,
                _ => 0,
            }
        })
        .sum();
    char::from_digit(sum % 10, 10).unwrap()
}

fn checked(data: &str) -> String {
    format!("{data}{}", check_digit(data))
}

fn pad(text: &str, len: usize) -> String {
    format!("{text:<<len$}")
}

/// Dates a document can carry.
fn date(from: i32, to: i32) -> impl Strategy<Value = NaiveDate> {
    (from..=to, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

/// A passport's two lines, and what they should read as.
#[derive(Debug, Clone)]
struct Passport {
    surname: String,
    given: Vec<String>,
    number: String,
    nationality: &'static str,
    birth: NaiveDate,
    sex: char,
    expiry: NaiveDate,
}

impl Passport {
    fn lines(&self) -> [String; 2] {
        let name = format!("{}<<{}", self.surname, self.given.join("<"));
        let line1 = pad(&format!("P<{}{name}", self.nationality), 44);
        let yymmdd = |d: NaiveDate| d.format("%y%m%d").to_string();
        let body = format!(
            "{}{}{}{}{}{}",
            checked(&pad(&self.number, 9)),
            self.nationality,
            checked(&yymmdd(self.birth)),
            self.sex,
            checked(&yymmdd(self.expiry)),
            checked(&pad("", 14)),
        );
        let composite = [&body[0..10], &body[13..20], &body[21..43]].concat();
        [line1, format!("{body}{}", check_digit(&composite))]
    }
}

fn passport() -> impl Strategy<Value = Passport> {
    (
        "[A-Z]{2,12}",
        proptest::collection::vec("[A-Z]{2,8}", 1..3),
        "[A-Z][A-Z0-9]{5,8}",
        prop::sample::select(vec!["KOR", "DEU", "FRA", "USA", "JPN", "CHN", "RUS"]),
        date(1930, 2025),
        prop::sample::select(vec!['M', 'F']),
        date(2027, 2035),
    )
        .prop_filter("a name fits the first line", |(s, g, ..)| {
            s.len() + g.iter().map(|n| n.len() + 1).sum::<usize>() < 38
        })
        .prop_map(
            |(surname, given, number, nationality, birth, sex, expiry)| Passport {
                surname,
                given,
                number,
                nationality,
                birth,
                sex,
                expiry,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_text_makes_the_document_reader_panic(text in any::<String>()) {
        let _ = parse_on(&text, today());
    }

    #[test]
    fn no_field_soup_makes_the_document_reader_panic(
        text in "[0-9A-Z<|\\n\\r ÃƒÂ¡Ä‘Æ°á»‡ư]{0,120}",
    ) {
        let _ = parse_on(&text, today());
    }

    #[test]
    fn no_near_mrz_makes_the_document_reader_panic(
        lines in proptest::collection::vec("[0-9A-Z<]{28,46}", 1..4),
    ) {
        let _ = parse_on(&lines.join("\n"), today());
    }

    #[test]
    fn a_well_formed_passport_reads_back(p in passport()) {
        let [l1, l2] = p.lines();
        let parsed = parse_on(&format!("{l1}\n{l2}"), today())
            .map_err(|e| TestCaseError::fail(format!("{l1}\n{l2}: {e:?}")))?;
        let g = parsed.guest;
        let name = format!("{} {}", p.surname, p.given.join(" "));
        prop_assert_eq!(g.full_name.as_deref(), Some(name.as_str()));
        prop_assert_eq!(g.document_number.as_deref(), Some(p.number.as_str()));
        prop_assert_eq!(g.nationality.as_deref(), Some(p.nationality));
        let birth = p.birth.format("%Y-%m-%d").to_string();
        prop_assert_eq!(g.date_of_birth.as_deref(), Some(birth.as_str()));
        let expiry = p.expiry.format("%Y-%m-%d").to_string();
        prop_assert_eq!(g.document_expiry.as_deref(), Some(expiry.as_str()));
        let sex = p.sex.to_string();
        prop_assert_eq!(g.sex.as_deref(), Some(sex.as_str()));
    }

    #[test]
    fn a_changed_digit_in_a_passport_is_caught(
        p in passport(),
        at in 0usize..43,
        shift in 1u32..10,
    ) {
        let [l1, l2] = p.lines();
        let c = l2.as_bytes()[at];
        prop_assume!(c.is_ascii_digit());
        // A digit for another digit always moves an ICAO check sum.
        let other = char::from_digit((u32::from(c - b'0') + shift) % 10, 10).unwrap();
        let mut changed = l2.clone();
        changed.replace_range(at..=at, &other.to_string());
        prop_assert!(parse_on(&format!("{l1}\n{changed}"), today()).is_err(), "{}", changed);
    }

    #[test]
    fn a_well_formed_card_reads_back(
        number in "[0-9]{12}",
        name in "[A-ZĐ][a-zàáâãèéêìíòóôõùúăđĩũơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]{1,8}( [A-ZĐ][a-zàáâãèéêìíòóôõùúăđơư]{1,8}){1,3}",
        birth in date(1930, 2010),
        female in any::<bool>(),
        issued in date(2016, 2026),
    ) {
        let text = format!(
            "{number}||{name}|{}|{}|12 Thùy Vân, Phường 2, Vũng Tàu|{}",
            birth.format("%d%m%Y"),
            if female { "Nữ" } else { "Nam" },
            issued.format("%d%m%Y"),
        );
        let parsed = parse_on(&text, today()).map_err(|e| TestCaseError::fail(format!("{text}: {e:?}")))?;
        let g = parsed.guest;
        prop_assert_eq!(g.document_number.as_deref(), Some(number.as_str()));
        prop_assert_eq!(g.full_name.as_deref(), Some(name.as_str()));
        let iso = birth.format("%Y-%m-%d").to_string();
        prop_assert_eq!(g.date_of_birth.as_deref(), Some(iso.as_str()));
        prop_assert_eq!(g.sex.as_deref(), Some(if female { "F" } else { "M" }));
        prop_assert_eq!(g.nationality.as_deref(), Some("VNM"));
    }

    #[test]
    fn no_text_makes_the_code_verifier_panic(text in any::<String>()) {
        let signer = CodeSigner::new(&[7; 32], &[]);
        let _ = signer.verify(&text);
    }

    #[test]
    fn an_issued_code_verifies_and_any_changed_character_does_not(
        at in 0usize..24,
        with in "[A-Z2-7]",
        lower in any::<bool>(),
    ) {
        let signer = CodeSigner::new(&[7; 32], &[[9; 32]]);
        let code = signer.issue().as_str().to_owned();
        prop_assert!(signer.verify(&code).is_some());
        // Scanners and people may change the case: the same code.
        if lower {
            prop_assert!(signer.verify(&code.to_ascii_lowercase()).is_some());
        }
        prop_assume!(code.as_bytes()[at] != with.as_bytes()[0]);
        let mut changed = code.clone();
        changed.replace_range(at..=at, &with);
        prop_assert!(signer.verify(&changed).is_none(), "{} verified", changed);
        // A code signed under another key is not ours.
        let other = CodeSigner::new(&[8; 32], &[]).issue();
        prop_assert!(signer.verify(other.as_str()).is_none());
    }

    #[test]
    fn dates_read_back_and_nothing_else_panics(day in date(1900, 2100), text in any::<String>()) {
        prop_assert_eq!(parse_date(&day.format("%Y-%m-%d").to_string()), Some(day));
        prop_assert_eq!(parse_date(&format!(" {} ", day.format("%Y-%m-%d"))), Some(day));
        let _ = parse_date(&text);
        let impossible = format!("{}-02-30", day.year());
        prop_assert!(parse_date(&impossible).is_none(), "{} read", impossible);
    }
}
