//! Times the uncached rendering of check-in codes as PNG with 8-pixel modules
//! (what `scripts/bench.sh qr` compares against a reference generator).
//!
//! `cargo run --release --example qr_render -- COUNT URL_PREFIX`

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let prefix = args
        .next()
        .unwrap_or_else(|| "HTTPS://LUUTRU.VUNGTAU.GOV.VN/C/".to_owned());
    let signer = luutru::qr::code::CodeSigner::new(&[7; 32], &[]);
    let urls: Vec<String> = (0..count)
        .map(|_| format!("{prefix}{}", signer.issue().as_str()))
        .collect();
    // 8-pixel modules: a version 3 code (29 modules) and its quiet zone.
    let modules = 29 + 8;
    let size = modules * 8;
    let start = Instant::now();
    let mut bytes = 0;
    for url in &urls {
        bytes += luutru::qr::render::png(url, size).expect("renders").len();
    }
    let elapsed = start.elapsed();
    println!(
        "rust_png_ms_per_code {:.4} ({} codes, {} px, {} bytes each on average)",
        elapsed.as_secs_f64() * 1000.0 / count as f64,
        count,
        size,
        bytes / count
    );
}
