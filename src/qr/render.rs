//! QR images of a check-in URL. Error correction level M survives a scuffed
//! print while keeping a short URL at version 3 or 4; the four-module quiet
//! zone is always kept.

use image::{ImageEncoder, Luma};
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
/// never less than four modules.
pub fn png(url: &str, size: u32) -> anyhow::Result<Vec<u8>> {
    let code = encode(url)?;
    let modules = code.width() as u32 + 8;
    let scale = (size / modules).max(1);
    let drawn = code
        .render::<Luma<u8>>()
        .quiet_zone(true)
        .module_dimensions(scale, scale)
        .build();
    let side = size.max(drawn.width());
    let mut img = image::GrayImage::from_pixel(side, side, Luma([255]));
    let offset = i64::from((side - drawn.width()) / 2);
    image::imageops::overlay(&mut img, &drawn, offset, offset);
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::L8,
    )?;
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
