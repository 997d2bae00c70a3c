//! Translations for the pages people read. Each language is one JSON file in
//! `web/i18n/`, compiled into the binary; a test fails when a language lacks
//! a key that another has or that a template uses.

use std::sync::LazyLock;

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Vi,
    En,
    Ko,
    Zh,
    Ru,
}

const CATALOG_FILES: [(Lang, &str); Lang::COUNT] = [
    (Lang::Vi, include_str!("../web/i18n/vi.json")),
    (Lang::En, include_str!("../web/i18n/en.json")),
    (Lang::Ko, include_str!("../web/i18n/ko.json")),
    (Lang::Zh, include_str!("../web/i18n/zh.json")),
    (Lang::Ru, include_str!("../web/i18n/ru.json")),
];

/// A catalog per language, in the order of `Lang::ALL`. Every page looks up
/// dozens of keys, so the maps hash with foldhash rather than SipHash: the
/// keys are our own, not an attacker's.
static CATALOGS: LazyLock<[Catalog; Lang::COUNT]> = LazyLock::new(|| {
    CATALOG_FILES.map(|(lang, text)| {
        serde_json::from_str(text).unwrap_or_else(|e| {
            panic!(
                "web/i18n/{}.json is not a flat JSON object: {e}",
                lang.code()
            )
        })
    })
});

type Catalog = foldhash::HashMap<String, String>;

/// Remember a language chosen from a page's switcher: the cookie every page
/// reads next (a visitor's next scan, a desk's pages once signed in).
pub fn remember(response: &mut Response, lang: Lang) {
    let cookie = format!(
        "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

impl Lang {
    pub const COUNT: usize = 5;
    /// Every language, each at the index of its discriminant (`lang as
    /// usize`), which tables by language rely on.
    pub const ALL: [Lang; Lang::COUNT] = [Lang::Vi, Lang::En, Lang::Ko, Lang::Zh, Lang::Ru];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
            Lang::Ko => "ko",
            Lang::Zh => "zh",
            Lang::Ru => "ru",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Vi => "Tiếng Việt",
            Lang::En => "English",
            Lang::Ko => "한국어",
            Lang::Zh => "中文",
            Lang::Ru => "Русский",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// `?lang=`, then the remembered cookie, then `Accept-Language` by
    /// weight, then Vietnamese.
    pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = query.and_then(Lang::from_code) {
            return lang;
        }
        let cookie = crate::web::cookie(headers, "lang").and_then(Lang::from_code);
        if let Some(lang) = cookie {
            return lang;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut offers: Vec<(f32, Lang)> = accept
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = Lang::from_code(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                Some((q, lang)).filter(|(q, _)| *q > 0.0)
            })
            .collect();
        offers.sort_by(|a, b| b.0.total_cmp(&a.0));
        match offers.first() {
            Some((_, lang)) => *lang,
            // A visitor whose phone asks only for languages we lack reads
            // English more likely than Vietnamese.
            None if !accept.trim().is_empty() => Lang::En,
            None => Lang::Vi,
        }
    }
}

/// The translator handed to templates: `{{ t.get("scan.title") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn lang(&self) -> Lang {
        self.0
    }

    pub fn get<'a>(&self, key: &'a str) -> &'a str {
        lookup(self.0, key)
            .or_else(|| lookup(Lang::En, key))
            .unwrap_or(key)
    }

    /// A key built at run time (`country.KOR`); empty when no language has it.
    pub fn dynamic(&self, key: &str) -> &'static str {
        lookup(self.0, key)
            .or_else(|| lookup(Lang::En, key))
            .unwrap_or("")
    }

    /// A key built at run time, or `fallback` when no language has it.
    pub fn dynamic_or(&self, key: &str, fallback: &str) -> String {
        match self.dynamic(key) {
            "" => fallback.to_owned(),
            words => words.to_owned(),
        }
    }

    /// A field's name from the first of `scopes` that has it
    /// (`guest.full_name`, `hotel.room`).
    pub fn label(&self, scopes: &[&str], field: &str) -> Option<&'static str> {
        scopes
            .iter()
            .map(|scope| self.dynamic(&format!("{scope}.{field}")))
            .find(|words| !words.is_empty())
    }

    /// A country (ISO 3166 alpha-3 code) by its name in this language, or
    /// its code when no language names it.
    pub fn country(&self, code: &str) -> String {
        self.dynamic_or(&format!("country.{code}"), code)
    }

    /// A validation message: the translated code, else the English sentence.
    pub fn error<'a>(&self, error: &'a crate::error::FieldError) -> &'a str {
        let key = format!("error.{}", error.code);
        lookup(self.0, &key).unwrap_or(&error.message)
    }

    /// A number with `places` decimals, with this language's decimal point
    /// (`format.decimal_point`: "74,5" in Vietnamese, "74.5" in English).
    pub fn decimal(&self, value: f64, places: usize) -> String {
        format!("{value:.places$}").replace('.', self.get("format.decimal_point"))
    }

    /// A figure with `places` decimals ("2,17" in Vietnamese), or "–" when
    /// there is none (an average of nothing, a rate of no capacity).
    pub fn figure(&self, value: &Option<f64>, places: usize) -> String {
        value.map_or("–".to_owned(), |v| self.decimal(v, places))
    }

    /// A rate in percent with one decimal ("72,5 %"), or "–".
    pub fn rate(&self, rate: &Option<f64>) -> String {
        rate.map_or("–".to_owned(), |r| format!("{} %", self.decimal(r, 1)))
    }

    /// A day as this language writes it (`format.date`).
    pub fn date(&self, day: chrono::NaiveDate) -> String {
        day.format(self.get("format.date")).to_string()
    }

    /// A moment as this language writes it (`format.date_time`), in `tz`.
    pub fn date_time(&self, at: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
        at.with_timezone(&tz)
            .format(self.get("format.date_time"))
            .to_string()
    }

    /// A refusal's sentence in this language, with its fact when it has
    /// one ("… Portal reference: VNEID-2026-000123.").
    pub fn refusal(&self, refusal: &crate::error::FieldError) -> String {
        match (
            &refusal.detail,
            lookup(self.0, &format!("error.{}", refusal.code)),
        ) {
            (Some((name, value)), Some(sentence)) => {
                format!("{sentence} {}: {value}.", self.dynamic(name))
            }
            _ => self.error(refusal).to_owned(),
        }
    }
}

fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    CATALOGS[lang as usize].get(key).map(String::as_str)
}

pub fn keys(lang: Lang) -> Vec<&'static str> {
    let mut keys: Vec<&str> = CATALOGS[lang as usize].keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[cfg(test)]
mod tests {

    #[test]
    fn decimals_are_written_with_each_languages_point() {
        assert_eq!(Tr(Lang::Vi).decimal(74.54, 1), "74,5");
        assert_eq!(Tr(Lang::En).decimal(74.54, 1), "74.5");
        assert_eq!(Tr(Lang::Ru).decimal(2.0, 2), "2,00");
        assert_eq!(Tr(Lang::Ko).decimal(-3.25, 1), "-3.2");
    }

    use super::*;
    use crate::error::Error;

    #[test]
    fn each_catalog_sits_at_its_language() {
        for (i, (lang, _)) in CATALOG_FILES.iter().enumerate() {
            assert_eq!(*lang as usize, i, "{}", lang.code());
            assert_eq!(Lang::ALL[i], *lang);
        }
        assert_eq!(Tr(Lang::Ko).get("lang.choose"), "언어 선택");
    }

    #[test]
    fn every_language_writes_dates_its_way() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let at = day.and_hms_opt(3, 30, 0).unwrap().and_utc();
        let tz = chrono_tz::Asia::Ho_Chi_Minh;
        let written: Vec<(String, String)> = Lang::ALL
            .into_iter()
            .map(|lang| (Tr(lang).date(day), Tr(lang).date_time(at, tz)))
            .collect();
        assert_eq!(
            written,
            [
                ("05/12/2026", "05/12/2026 10:30"),
                ("5 December 2026", "5 December 2026, 10:30"),
                ("2026. 12. 5.", "2026. 12. 5. 10:30"),
                ("2026年12月5日", "2026年12月5日 10:30"),
                ("05.12.2026", "05.12.2026 10:30"),
            ]
            .map(|(d, t)| (d.to_owned(), t.to_owned()))
        );
    }

    #[test]
    fn a_refusal_keeps_its_fact_in_every_language() {
        let Error::Conflict(refusal) = crate::error::Error::conflict_with(
            "already_sent",
            "this file was already recorded as sent, reference CA-2026-0042",
            ("police.reference", "CA-2026-0042".to_owned()),
        ) else {
            unreachable!()
        };
        for lang in Lang::ALL {
            let said = Tr(lang).refusal(&refusal);
            assert!(said.ends_with(": CA-2026-0042."), "{said}");
            assert!(
                said.starts_with(Tr(lang).get("error.already_sent")),
                "{said}"
            );
        }
        let plain = crate::error::FieldError {
            detail: None,
            ..refusal
        };
        assert_eq!(
            Tr(Lang::Vi).refusal(&plain),
            Tr(Lang::Vi).get("error.already_sent")
        );
    }

    #[test]
    fn every_language_has_every_key() {
        let reference = keys(Lang::En);
        for lang in Lang::ALL {
            let have = keys(lang);
            let missing: Vec<_> = reference.iter().filter(|k| !have.contains(k)).collect();
            let extra: Vec<_> = have.iter().filter(|k| !reference.contains(k)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.code());
            assert!(
                extra.is_empty(),
                "{} has keys English lacks: {extra:?}",
                lang.code()
            );
        }
    }

    #[test]
    fn every_key_a_template_uses_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/web/templates");
        let reference = keys(Lang::En);
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split("t.get(\"").skip(1) {
                let key = piece.split('"').next().unwrap();
                assert!(
                    reference.contains(&key),
                    "{} uses missing key {key}",
                    path.display()
                );
                checked += 1;
            }
        }
        assert!(
            checked > 20,
            "templates should be translated, found {checked} keys"
        );
    }

    #[test]
    fn accept_language_is_read_by_weight() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "ko-KR,ko;q=0.9,en-US;q=0.8,vi;q=0.5".parse().unwrap(),
        );
        assert_eq!(Lang::negotiate(None, &headers), Lang::Ko);
        assert_eq!(Lang::negotiate(Some("vi"), &headers), Lang::Vi);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "de-DE,de;q=0.9,zh-CN;q=0.7,en;q=0.5".parse().unwrap(),
        );
        assert_eq!(Lang::negotiate(None, &headers), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("ru-RU"), &headers), Lang::Ru);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "de-DE,fr;q=0.8,vi;q=0".parse().unwrap(),
        );
        assert_eq!(Lang::negotiate(None, &headers), Lang::En);
        headers.insert(header::COOKIE, "lang=vi".parse().unwrap());
        assert_eq!(Lang::negotiate(None, &headers), Lang::Vi);
        assert_eq!(Lang::negotiate(None, &HeaderMap::new()), Lang::Vi);
    }
}
