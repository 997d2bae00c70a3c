//! The check-in code verifier on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use luutru::qr::code::CodeSigner;

fuzz_target!(|text: &str| {
    let signer = CodeSigner::new(&[7; 32], &[[9; 32]]);
    if let Some(code) = signer.verify(text) {
        // Only a code we issued verifies; nothing random should.
        panic!("a fuzzed text verified as a code: {}", code.as_str());
    }
});
