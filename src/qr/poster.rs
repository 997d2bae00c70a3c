//! Printable posters: the place's name with its diacritics, "scan to check
//! in" (or, at a tourist site, "scan to count your visit") in the five
//! visitor languages, the code drawn as vector squares (sharp
//! at any print size), the short URL to type as a fallback, the ward, the code
//! version and the issue date. A4 for a wall, A6 for a desk.
//!
//! Fonts come from the system (Debian's fonts-noto-core and fonts-noto-cjk),
//! found under `FONT_DIR` at run time and subset into the PDF by krilla.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};
use krilla::Document;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    A4,
    A6,
}

impl Paper {
    pub fn parse(s: &str) -> Option<Paper> {
        match s.to_ascii_lowercase().as_str() {
            "a4" => Some(Paper::A4),
            "a6" => Some(Paper::A6),
            _ => None,
        }
    }

    /// Width and height in points.
    fn size(self) -> (f32, f32) {
        match self {
            Paper::A4 => (595.0, 842.0),
            Paper::A6 => (298.0, 420.0),
        }
    }
}

/// What a poster says.
pub struct PosterText {
    pub place: String,
    pub ward: String,
    /// Upper-case URL the code holds.
    pub payload: String,
    /// The link people type.
    pub url: String,
    pub key_id: u8,
    pub issued: String,
    /// An accommodation's poster (guests declare their stay), else a
    /// tourist site's (a party counts itself in).
    pub lodging: bool,
}

/// "Scan to check in" at an accommodation, in Vietnamese, English, Korean,
/// Chinese and Russian.
const SCAN_STAY: [&str; 5] = [
    "Quét mã để khai báo lưu trú",
    "Scan to check in",
    "스캔하여 체크인하세요",
    "扫码登记入住",
    "Отсканируйте, чтобы зарегистрироваться",
];

/// "Scan to count your visit" at a tourist site, where a party only counts
/// itself in, in the same five languages.
const SCAN_VISIT: [&str; 5] = [
    "Quét mã để ghi nhận lượt tham quan",
    "Scan to count your visit",
    "스캔하여 방문을 기록하세요",
    "扫码登记参观",
    "Отсканируйте, чтобы отметить посещение",
];

/// The fonts a poster needs, read once from the system.
pub struct Fonts {
    regular: Font,
    bold: Font,
    korean: Font,
    chinese: Font,
}

static FONTS: OnceLock<Result<Arc<Fonts>, String>> = OnceLock::new();

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            subdirs.push(path);
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    subdirs.iter().find_map(|d| find(d, name))
}

fn load(dir: &Path, name: &str, index: u32) -> Result<Font, String> {
    let path = find(dir, name).ok_or_else(|| {
        format!("font {name} not found under {} (install fonts-noto-core and fonts-noto-cjk, or set FONT_DIR)", dir.display())
    })?;
    let data = std::fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Font::new(data.into(), index).ok_or_else(|| format!("{} is not a usable font", path.display()))
}

impl Fonts {
    /// The system's fonts, loaded on first use and kept.
    pub fn get(dir: &Path) -> Result<Arc<Fonts>, String> {
        FONTS
            .get_or_init(|| {
                // NotoSansCJK-Regular.ttc holds Japanese, Korean, simplified
                // and traditional Chinese faces, in that order.
                Ok(Arc::new(Fonts {
                    regular: load(dir, "NotoSans-Regular.ttf", 0)?,
                    bold: load(dir, "NotoSans-Bold.ttf", 0)?,
                    korean: load(dir, "NotoSansCJK-Regular.ttc", 1)?,
                    chinese: load(dir, "NotoSansCJK-Regular.ttc", 2)?,
                }))
            })
            .clone()
    }

    /// The face that has the glyphs of `text`: CJK faces for Hangul and Han.
    pub fn for_text(&self, text: &str, bold: bool) -> Font {
        let hangul = text.chars().any(|c| {
            ('\u{AC00}'..='\u{D7AF}').contains(&c) || ('\u{1100}'..='\u{11FF}').contains(&c)
        });
        let han = text.chars().any(|c| {
            ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
        });
        match (hangul, han) {
            (true, _) => self.korean.clone(),
            (false, true) => self.chinese.clone(),
            _ if bold => self.bold.clone(),
            _ => self.regular.clone(),
        }
    }
}

/// Split text into lines of at most `max` characters at spaces.
fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= max => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// One poster per text, each on its own page, as one PDF; `on_page` is
/// called after each page (a progress bar, say).
pub fn render(
    fonts: &Fonts,
    paper: Paper,
    posters: &[PosterText],
    on_page: &(dyn Fn() + Send + Sync),
) -> anyhow::Result<Vec<u8>> {
    let (width, height) = paper.size();
    let scale = width / 595.0;
    let margin = 40.0 * scale;
    let mut document = Document::new();
    for poster in posters {
        let code = super::render::matrix(&poster.payload)?;
        let place = poster.place.as_str();
        let ward = poster.ward.as_str();
        let settings =
            PageSettings::from_wh(width, height).ok_or_else(|| anyhow::anyhow!("bad page size"))?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        surface.set_fill(Some(Fill::default()));

        // The place's name, large, wrapped.
        let mut y = margin + 30.0 * scale;
        let title_size = 30.0 * scale;
        for line in wrap(place, 28) {
            surface.draw_text(
                Point::from_xy(margin, y),
                fonts.for_text(&line, true),
                title_size,
                &line,
                false,
                TextDirection::Auto,
            );
            y += title_size * 1.25;
        }
        surface.draw_text(
            Point::from_xy(margin, y),
            fonts.for_text(ward, false),
            14.0 * scale,
            ward,
            false,
            TextDirection::Auto,
        );
        y += 30.0 * scale;

        // The code: dark modules as squares, four modules of quiet zone left white.
        let modules = code.width;
        let side = (width - 2.0 * margin).min(height * 0.5);
        let module = side / (modules as f32 + 8.0);
        let left = (width - side) / 2.0 + 4.0 * module;
        let top = y + 4.0 * module;
        let mut squares = PathBuilder::new();
        for (i, dark) in code.dark.iter().enumerate() {
            if *dark {
                let (col, row) = ((i % modules) as f32, (i / modules) as f32);
                if let Some(rect) =
                    Rect::from_xywh(left + col * module, top + row * module, module, module)
                {
                    squares.push_rect(rect);
                }
            }
        }
        if let Some(path) = squares.finish() {
            surface.draw_path(&path);
        }
        y += side + 24.0 * scale;

        // "Scan to check in" (or to count a visit), five languages.
        let scan = if poster.lodging {
            SCAN_STAY
        } else {
            SCAN_VISIT
        };
        for text in scan {
            surface.draw_text(
                Point::from_xy(margin, y),
                fonts.for_text(text, false),
                16.0 * scale,
                text,
                false,
                TextDirection::Auto,
            );
            y += 22.0 * scale;
        }
        y += 10.0 * scale;
        surface.draw_text(
            Point::from_xy(margin, y),
            fonts.regular.clone(),
            12.0 * scale,
            &poster.url,
            false,
            TextDirection::Auto,
        );
        let footer = format!(
            "{} · v1-k{} · {}",
            poster.ward, poster.key_id, poster.issued
        );
        surface.draw_text(
            Point::from_xy(margin, height - margin),
            fonts.for_text(&footer, false),
            9.0 * scale,
            &footer,
            false,
            TextDirection::Auto,
        );
        surface.finish();
        page.finish();
        on_page();
    }
    document
        .finish()
        .map_err(|e| anyhow::anyhow!("writing the PDF: {e:?}"))
}

/// How a batch of posters is handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bundle {
    /// One PDF, a page per place: print the lot at once.
    Pdf,
    /// A ZIP of one PDF per place, named by place: send each to its owner.
    Zip,
}

/// The poster of each place that has an active code, as one PDF or a ZIP.
pub async fn for_places(
    state: &crate::AppState,
    places: &[crate::places::model::Place],
    paper: Paper,
    bundle: Bundle,
    on_page: Box<dyn Fn() + Send + Sync>,
) -> crate::error::Result<Vec<u8>> {
    let fonts = Fonts::get(&state.config.font_dir).map_err(|e| {
        tracing::error!(error = %e, "poster fonts missing");
        crate::error::Error::Unavailable("poster printing")
    })?;
    let base = state.config.base_url();
    let (names, texts): (Vec<String>, Vec<PosterText>) = places
        .iter()
        .filter_map(|place| {
            let code = place.code.as_deref()?;
            // The key that signed this code is named in its second byte.
            let key_id = data_encoding::BASE32_NOPAD
                .decode(code.as_bytes())
                .ok()
                .and_then(|raw| raw.get(1).copied())
                .unwrap_or_default();
            let file = file_name(place.id, &place.name, None);
            Some((
                file,
                PosterText {
                    place: place.name.clone(),
                    ward: place.ward.clone(),
                    payload: crate::places::repo::qr_payload(base, code),
                    url: crate::places::repo::checkin_url(base, code),
                    key_id,
                    issued: place
                        .code_issued_at
                        .map(|t| {
                            crate::localtime::date(state.tz(), t)
                                .format("%d/%m/%Y")
                                .to_string()
                        })
                        .unwrap_or_default(),
                    lodging: place.kind == crate::places::model::PlaceKind::Accommodation,
                },
            ))
        })
        .unzip();
    if texts.is_empty() {
        return Err(crate::error::FieldErrors::single(
            "ward",
            "nothing_to_print",
            "no place here has an active code to print",
        ));
    }
    let bytes = tokio::task::spawn_blocking(move || match bundle {
        Bundle::Pdf => render(&fonts, paper, &texts, on_page.as_ref()),
        Bundle::Zip => zip_each(&fonts, paper, &names, &texts, on_page.as_ref()),
    })
    .await
    .map_err(anyhow::Error::from)??;
    Ok(bytes)
}

/// One PDF per place in a ZIP. PDFs are compressed already: stored as is.
fn zip_each(
    fonts: &Fonts,
    paper: Paper,
    names: &[String],
    texts: &[PosterText],
    on_page: &(dyn Fn() + Send + Sync),
) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in names.iter().zip(texts) {
        let pdf = render(fonts, paper, std::slice::from_ref(text), on_page)?;
        zip.start_file(name.as_str(), options)
            .and_then(|()| zip.write_all(&pdf).map_err(Into::into))
            .map_err(|e| anyhow::anyhow!("writing the ZIP: {e}"))?;
    }
    let cursor = zip
        .finish()
        .map_err(|e| anyhow::anyhow!("writing the ZIP: {e}"))?;
    Ok(cursor.into_inner())
}

/// A place's poster file: "00041-khach-san-doi-duong.pdf", with the paper
/// when it is named alone ("…-a6.pdf").
pub fn file_name(id: i64, name: &str, paper: Option<Paper>) -> String {
    let paper = match paper {
        Some(Paper::A4) => "-a4",
        Some(Paper::A6) => "-a6",
        None => "",
    };
    format!("{id:05}-{}{paper}.pdf", file_stem(name))
}

/// A file name any system accepts: the place's name without accents.
fn file_stem(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut stem = String::new();
    for c in name.nfd() {
        let c = match c {
            'đ' => 'd',
            'Đ' => 'D',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            stem.push(c.to_ascii_lowercase());
        } else if (c.is_whitespace() || c == '-') && !stem.ends_with('-') {
            stem.push('-');
        }
    }
    let stem = stem.trim_matches('-');
    if stem.is_empty() {
        "poster".to_owned()
    } else {
        stem.chars().take(60).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_drop_accents_and_punctuation() {
        assert_eq!(
            super::file_stem("Khách sạn Đồi Dương (cơ sở 2)"),
            "khach-san-doi-duong-co-so-2"
        );
        assert_eq!(super::file_stem("해변 호텔"), "poster");
    }

    #[test]
    fn long_names_wrap_at_spaces() {
        assert_eq!(
            super::wrap("Khách sạn Hoàng Hôn Đồi Dương", 14),
            ["Khách sạn", "Hoàng Hôn Đồi", "Dương"]
        );
    }
}
