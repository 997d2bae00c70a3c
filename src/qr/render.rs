//! QR images of a check-in URL. Error correction level M survives a scuffed
//! print while keeping a short URL at version 3 or 4; the four-module quiet
//! zone is always kept.

use qrcode::{EcLevel, QrCode};

pub const MIN_SIZE: u32 = 100;
pub const MAX_SIZE: u32 = 2000;
pub const DEFAULT_SIZE: u32 = 512;

fn encode(url: &str) -> anyhow::Result<QrCode> {
    Ok(QrCode::with_error_correction_level(
        url.as_bytes(),
        EcLevel::M,
    )?)
}

/// A PNG of exactly `size` × `size` pixels: whole pixels per module (sharp
/// edges for print and for decoders), centred on white, so the quiet zone is
/// never less than four modules. Written straight from the module matrix as
/// a one-bit greyscale image: an eighth of the bytes of an 8-bit one to
/// filter and compress, and the same pixels.
pub fn png(url: &str, size: u32) -> anyhow::Result<Vec<u8>> {
    let code = encode(url)?;
    let width = code.width();
    let modules = width as u32 + 8;
    let scale = (size / modules).max(1);
    let side = size.max(modules * scale);
    // Top-left corner of the first dark-capable module.
    let origin = (side - width as u32 * scale) / 2;
    let dark = code.to_colors();
    let row_bytes = side.div_ceil(8) as usize;
    let mut pixels = vec![0xFFu8; row_bytes * side as usize];
    for (i, colour) in dark.iter().enumerate() {
        if *colour != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = ((i % width) as u32, (i / width) as u32);
        let x0 = origin + mx * scale;
        let y0 = origin + my * scale;
        for y in y0..y0 + scale {
            let row = &mut pixels[y as usize * row_bytes..(y as usize + 1) * row_bytes];
            for x in x0..x0 + scale {
                row[(x / 8) as usize] &= !(0x80 >> (x % 8));
            }
        }
    }
    let mut out = Vec::with_capacity(row_bytes * side as usize / 8);
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

pub fn svg(url: &str) -> anyhow::Result<String> {
    let code = encode(url)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(256, 256)
        .build())
}

/// The QR version (1–40) a URL needs; small is what native camera apps open.
pub fn version(url: &str) -> anyhow::Result<i16> {
    match encode(url)?.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => Ok(v),
    }
}
