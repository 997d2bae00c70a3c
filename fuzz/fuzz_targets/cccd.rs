//! The CCCD QR reader on any text with the card's field separator.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
    let text = if text.contains('|') {
        text.to_owned()
    } else {
        format!("{text}|")
    };
    let _ = luutru::documents::parse_on(&text, today);
});
