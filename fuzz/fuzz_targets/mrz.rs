//! The MRZ reader on lines of the MRZ alphabet (digits, capitals, `<`,
//! line breaks), so the fuzzer spends its time inside passports and ID cards.
#![no_main]

use libfuzzer_sys::fuzz_target;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<<<<<<<<\n";

fuzz_target!(|data: &[u8]| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
    let text: String = data
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    let _ = luutru::documents::parse_on(&text, today);
});
