//! QR images of a check-in URL. Error correction level M survives a scuffed
//! print while keeping a short URL at version 3 or 4; the four-module quiet
//! zone is always kept.

use qrcode::canvas::Canvas;
use qrcode::{EcLevel, Version};

pub const MIN_SIZE: u32 = 100;
pub const MAX_SIZE: u32 = 2000;
pub const DEFAULT_SIZE: u32 = 512;

/// The modules of a code, `width` × `width`, row by row: `true` is dark.
pub struct Matrix {
    pub width: usize,
    pub dark: Vec<bool>,
    pub version: i16,
}

/// Encode `text` at level M (the shortest mix of modes, as the `qrcode`
/// crate segments it) under the best of the eight masks.
pub fn matrix(text: &str) -> anyhow::Result<Matrix> {
    let bits = qrcode::bits::encode_auto(text.as_bytes(), EcLevel::M)?;
    let version = bits.version();
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M)?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    let width = version.width() as usize;
    let number = match version {
        Version::Normal(v) | Version::Micro(v) => v,
    };
    Ok(Matrix {
        width,
        dark: super::mask::best(&canvas, width),
        version: number,
    })
}

/// A PNG of exactly `size` × `size` pixels: whole pixels per module (sharp
/// edges for print and for decoders), centred on white, so the quiet zone is
/// never less than four modules. Written straight from the module matrix as
/// a one-bit greyscale image: an eighth of the bytes of an 8-bit one to
/// filter and compress, and the same pixels.
pub fn png(url: &str, size: u32) -> anyhow::Result<Vec<u8>> {
    let code = matrix(url)?;
    let width = code.width;
    let modules = width as u32 + 8;
    let scale = (size / modules).max(1);
    let side = size.max(modules * scale);
    // Top-left corner of the first dark-capable module.
    let origin = (side - width as u32 * scale) / 2;
    let row_bytes = side.div_ceil(8) as usize;
    let mut pixels = vec![0xFFu8; row_bytes * side as usize];
    for (i, dark) in code.dark.iter().enumerate() {
        if !dark {
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

/// An SVG of the code with its four-module quiet zone: one square per dark
/// module, crisp at any print size.
pub fn svg(url: &str) -> anyhow::Result<String> {
    use std::fmt::Write;
    let code = matrix(url)?;
    let side = code.width + 8;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{px}\" height=\"{px}\" \
         viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
        px = side * 8
    );
    for (i, dark) in code.dark.iter().enumerate() {
        if *dark {
            let _ = write!(
                out,
                "M{} {}h1v1h-1z",
                i % code.width + 4,
                i / code.width + 4
            );
        }
    }
    out.push_str("\"/></svg>");
    Ok(out)
}

/// The QR version (1–40) a URL needs; small is what native camera apps open.
pub fn version(url: &str) -> anyhow::Result<i16> {
    Ok(matrix(url)?.version)
}
