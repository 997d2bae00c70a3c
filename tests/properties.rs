//! Properties of the parsers and validators, checked on generated input:
//! no input makes one panic, every well-formed document reads back to what
//! was written into it, a changed digit or character is caught, and what a
//! validator accepts it accepts again unchanged.

use chrono::{Datelike, NaiveDate};
use luutru::checkin::model::{
    clean_text, parse_country, parse_date, parse_document_number, parse_guests, search_key,
    DocumentType, GuestInput, MAX_GUESTS,
};
use luutru::documents::parse_on;
use luutru::error::FieldErrors;
use luutru::places::model::{check as check_place, PlaceInput, PlaceKind};
use luutru::qr::code::CodeSigner;
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

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

    #[test]
    fn document_numbers_accepted_are_clean_and_accepted_again(
        raw in any::<String>(),
        digits in "[0-9]{12}",
        kind in prop::sample::select(vec![
            DocumentType::Cccd, DocumentType::Cmnd, DocumentType::Passport, DocumentType::Other,
        ]),
    ) {
        if let Ok(number) = parse_document_number(kind, &raw) {
            prop_assert!(number.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
            prop_assert_eq!(parse_document_number(kind, &number), Ok(number.clone()));
        }
        // As people write a CCCD number: in groups, with spaces or dashes.
        let grouped = format!(" {}-{} {} ", &digits[..4], &digits[4..8], &digits[8..]);
        prop_assert_eq!(parse_document_number(DocumentType::Cccd, &grouped), Ok(digits.clone()));
        prop_assert!(parse_document_number(DocumentType::Cccd, &digits[1..]).is_err());
    }

    #[test]
    fn names_are_cleaned_and_searched_the_same_way_twice(
        text in any::<String>(),
        name in "[a-zA-ZàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđĐ ]{0,30}",
    ) {
        let clean = clean_text(&text);
        prop_assert_eq!(clean_text(&clean), clean.clone());
        prop_assert_eq!(clean.trim(), clean.as_str());
        let key = search_key(&text);
        prop_assert_eq!(search_key(&key), key.clone());
        prop_assert!(!key.chars().any(|c| c.is_uppercase() && c.to_lowercase().next() != Some(c)));
        // A Vietnamese name is found however it was typed: any case, any
        // accents (or none).
        let bare: String = name
            .chars()
            .map(|c| match c { 'đ' | 'Đ' => 'd', c => c })
            .collect::<String>()
            .nfd()
            .filter(|c| c.is_ascii())
            .collect();
        prop_assert_eq!(search_key(&name.to_uppercase()), search_key(&name.to_lowercase()));
        prop_assert_eq!(search_key(&bare), search_key(&name));
    }

    #[test]
    fn country_codes_read_in_any_case(text in "[A-Za-z]{1,3}|.{0,6}") {
        let parsed = parse_country(&text);
        prop_assert_eq!(parse_country(&text.to_lowercase()), parse_country(&text.to_uppercase()));
        if let Some(code) = parsed {
            prop_assert_eq!(code.clone(), text.trim().to_ascii_uppercase());
            prop_assert_eq!(parse_country(&code), Some(code.clone()));
        }
    }

    #[test]
    fn passwords_are_accepted_from_ten_characters(password in any::<String>()) {
        let long_enough = password.chars().count() >= 10;
        prop_assert_eq!(luutru::auth::password::check_policy(&password).is_ok(), long_enough);
    }

    #[test]
    fn any_party_is_parsed_or_refused_with_reasons(
        guests in prop::collection::vec(
            prop_oneof![
                // A guest as a phone would send one.
                ("[A-ZĐ][a-zàáảãạăâđêôơư]{1,8} [A-Z][a-zàáạêôơư]{1,8}", date(1930, 2020), "[MF]", "[0-9]{12}")
                    .prop_map(|(name, born, sex, number)| vec![
                        Some(name), Some(born.to_string()), Some(sex), Some("VNM".into()),
                        None, Some("cccd".into()), Some(number), Some("12 Trần Phú".into()),
                        None, None, None, None, None,
                    ]),
                // Anything at all.
                prop::collection::vec(prop::option::of(".{0,16}"), 13),
            ],
            0..(MAX_GUESTS + 3),
        ),
        companion in prop::option::of(0u32..70),
        arrival in date(2021, 2040),
    ) {
        let fields = ["full_name", "date_of_birth", "sex", "nationality", "residence_country",
                      "document_type", "document_number", "address", "phone", "document_expiry",
                      "visa_number", "entry_date", "capture"];
        let inputs: Vec<GuestInput> = guests
            .iter()
            .map(|values| {
                let mut object = serde_json::Map::new();
                for (name, value) in fields.iter().zip(values) {
                    object.insert((*name).to_owned(), serde_json::json!(value));
                }
                object.insert("with_guest".into(), serde_json::json!(companion));
                serde_json::from_value(serde_json::Value::Object(object)).unwrap()
            })
            .collect();
        let mut errors = FieldErrors::default();
        let parsed = parse_guests(&inputs, arrival, false, &mut errors);
        // No guest is dropped without a word about what to fix, and a party
        // with nothing to fix is read whole.
        if parsed.len() < inputs.len() || inputs.is_empty() {
            prop_assert!(!errors.is_empty());
        }
        if errors.is_empty() {
            prop_assert_eq!(parsed.len(), inputs.len());
        }
        for guest in &parsed {
            if let Some(document) = &guest.document {
                prop_assert_eq!(
                    parse_document_number(document.kind, &document.number),
                    Ok(document.number.clone())
                );
            }
            prop_assert!(parse_country(&guest.nationality).is_some());
        }
    }

    #[test]
    fn any_body_is_read_or_refused_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = luutru::extract::parse_json::<GuestInput>(&bytes);
        let _ = luutru::extract::parse_json::<serde_json::Value>(&bytes);
    }

    #[test]
    fn a_place_is_refused_only_for_what_was_given_and_accepted_within_every_range(
        name in prop::option::of(".{0,210}"),
        address in prop::option::of(".{0,310}"),
        accommodation_type in prop::option::of("hotel|resort|homestay|castle|.{0,8}"),
        class in prop::option::of(-2i16..8),
        rooms in prop::option::of(-5i32..100_010),
        beds in prop::option::of(-5i32..100_010),
        status in prop::option::of("open|closed|seasonal|.{0,6}"),
        season_months in prop::option::of(prop::collection::vec(-1i16..14, 0..13)),
        attraction in any::<bool>(),
        good_name in "[A-Za-zà-ỹ ]{0,40}[A-Za-zà-ỹ]",
        good_class in 1i16..=5,
        good_rooms in 0i32..=100_000,
        good_months in prop::collection::vec(1i16..=12, 1..12),
    ) {
        let kind = if attraction { PlaceKind::Attraction } else { PlaceKind::Accommodation };
        let input = PlaceInput {
            kind: None, name, address, ward: None, accommodation_type, class, rooms, beds, status,
            season_months,
        };
        let mut errors = FieldErrors::default();
        check_place(&input, kind, &mut errors);
        for field in errors.0.keys() {
            let given = match field.as_str() {
                "name" => input.name.is_some(),
                "address" => input.address.is_some(),
                "accommodation_type" => input.accommodation_type.is_some(),
                "class" => input.class.is_some(),
                "rooms" => input.rooms.is_some(),
                "beds" => input.beds.is_some(),
                "status" => input.status.is_some(),
                // A seasonal place must list its months.
                "season_months" => input.season_months.is_some() || input.status.is_some(),
                _ => false,
            };
            prop_assert!(given, "{} refused but not given", field);
        }
        // Within every range, nothing to fix.
        let good = PlaceInput {
            kind: None,
            name: Some(good_name),
            address: Some("1 Thùy Vân".into()),
            ward: None,
            accommodation_type: (!attraction).then(|| "hotel".into()),
            class: Some(good_class),
            rooms: Some(good_rooms),
            beds: Some(good_rooms),
            status: Some("seasonal".into()),
            season_months: Some(good_months),
        };
        let mut errors = FieldErrors::default();
        check_place(&good, kind, &mut errors);
        prop_assert!(errors.is_empty(), "{:?}", errors.0.keys().collect::<Vec<_>>());
    }
}
