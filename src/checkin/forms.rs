//! The form a scan first shows is the same for every visitor of that place
//! who reads one language, but for its nonce: a site's count-in form, and an
//! accommodation's check-in form for one guest on one day. It is rendered
//! once and kept, cut around the nonce, and each scan splices its own nonce
//! in. Rendering a site's form (the lists of countries and provinces, every
//! label escaped) took about a sixth of the service's CPU per scan; an
//! accommodation's scan page (the guest's block, the lists of countries,
//! purposes and documents) made 0.49 of the HTTP ceiling rendered at every
//! scan, and about 0.78 kept (`scripts/bench.sh load`).
//!
//! A kept form is used only for the very place it was rendered for (same
//! name, ward, kind and opening) and with the same inputs (a site's
//! provinces, an accommodation's day); anything else renders it anew and
//! keeps that instead. So an edited place shows at once on every instance,
//! with no message to wait for, and an accommodation's dates move at
//! midnight.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use chrono::NaiveDate;

use crate::i18n::Lang;
use crate::places::repo::ScanTarget;

/// Codes whose forms are kept at most; past it, all are forgotten and kept
/// again as they are scanned. Only the codes of open places, as printed, get
/// here (see `checkin::pages`), so a city's stay far below it; at about 4 KB
/// a site's form and 10 KB an accommodation's, the most kept is some 100 MB,
/// were every one an accommodation scanned in each of the five languages.
const MOST_CODES: usize = 2_000;

/// A page rendered with a nonce, cut around it.
#[derive(Debug, PartialEq)]
pub struct Spliced {
    head: String,
    tail: String,
}

impl Spliced {
    /// `html` cut at `nonce`; `None` unless the page holds it exactly once.
    pub fn cut(html: &str, nonce: &str) -> Option<Spliced> {
        if nonce.is_empty() {
            return None;
        }
        let at = html.find(nonce)?;
        let tail = &html[at + nonce.len()..];
        if tail.contains(nonce) {
            return None;
        }
        Some(Spliced {
            head: html[..at].to_owned(),
            tail: tail.to_owned(),
        })
    }

    /// The page with `nonce` where the cut was.
    pub fn with(&self, nonce: &str) -> String {
        let mut page = String::with_capacity(self.head.len() + nonce.len() + self.tail.len());
        page.push_str(&self.head);
        page.push_str(nonce);
        page.push_str(&self.tail);
        page
    }
}

/// What a form was rendered with besides its place and language.
#[derive(Debug, Clone)]
pub enum Inputs {
    /// A site's: the provinces it lists, as read once (the same list, not
    /// merely an equal one).
    Provinces(Arc<Vec<String>>),
    /// An accommodation's: the day whose dates it offers.
    Day(NaiveDate),
}

impl PartialEq for Inputs {
    fn eq(&self, other: &Inputs) -> bool {
        match (self, other) {
            (Inputs::Provinces(a), Inputs::Provinces(b)) => Arc::ptr_eq(a, b),
            (Inputs::Day(a), Inputs::Day(b)) => a == b,
            _ => false,
        }
    }
}

struct Kept {
    target: ScanTarget,
    inputs: Inputs,
    page: Arc<Spliced>,
}

/// Forms as a scan first shows them, by code and language.
#[derive(Default)]
pub struct ScanForms {
    kept: RwLock<HashMap<String, HashMap<Lang, Kept>>>,
}

impl ScanForms {
    /// The form kept for `code` in `lang`, if it was rendered for this
    /// place as it is now and with these inputs.
    pub fn get(
        &self,
        code: &str,
        lang: Lang,
        target: &ScanTarget,
        inputs: &Inputs,
    ) -> Option<Arc<Spliced>> {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        kept.get(code)
            .and_then(|langs| langs.get(&lang))
            .filter(|k| k.target == *target && k.inputs == *inputs)
            .map(|k| k.page.clone())
    }

    /// Keep `page`, rendered for `target` with `inputs`.
    pub fn keep(&self, code: &str, lang: Lang, target: &ScanTarget, inputs: Inputs, page: Spliced) {
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= MOST_CODES && !kept.contains_key(code) {
            kept.clear();
        }
        kept.entry(code.to_owned()).or_default().insert(
            lang,
            Kept {
                target: target.clone(),
                inputs,
                page: Arc::new(page),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_cut_around_its_one_nonce_and_spliced_back() {
        let html = r#"<form><input name="nonce" value="abc123"><p>Vũng Tàu</p></form>"#;
        let cut = Spliced::cut(html, "abc123").unwrap();
        assert_eq!(cut.with("abc123"), html);
        assert_eq!(
            cut.with("ffff"),
            r#"<form><input name="nonce" value="ffff"><p>Vũng Tàu</p></form>"#
        );
    }

    #[test]
    fn a_page_without_its_nonce_or_with_it_twice_is_not_cut() {
        assert_eq!(Spliced::cut("<p>none here</p>", "abc123"), None);
        assert_eq!(Spliced::cut("abc123 and abc123", "abc123"), None);
        assert_eq!(Spliced::cut("<p></p>", ""), None);
    }

    fn target(name: &str) -> ScanTarget {
        ScanTarget {
            place_id: 7,
            kind: crate::places::model::PlaceKind::Attraction,
            name: name.to_owned(),
            ward: "Vũng Tàu".to_owned(),
            open: true,
        }
    }

    #[test]
    fn a_kept_form_serves_only_its_place_as_it_was_and_its_language() {
        let forms = ScanForms::default();
        let list = Arc::new(vec!["Bà Rịa - Vũng Tàu".to_owned()]);
        let provinces = Inputs::Provinces(list.clone());
        let page = Spliced::cut("<h1>Bạch Dinh</h1>n0nce", "n0nce").unwrap();
        forms.keep(
            "CODE",
            Lang::Vi,
            &target("Bạch Dinh"),
            provinces.clone(),
            page,
        );

        let kept = forms.get("CODE", Lang::Vi, &target("Bạch Dinh"), &provinces);
        assert_eq!(kept.unwrap().with("x"), "<h1>Bạch Dinh</h1>x");
        // Renamed since, another language, another code, other provinces.
        assert!(forms
            .get("CODE", Lang::Vi, &target("Dinh Thống Đốc"), &provinces)
            .is_none());
        assert!(forms
            .get("CODE", Lang::En, &target("Bạch Dinh"), &provinces)
            .is_none());
        assert!(forms
            .get("OTHER", Lang::Vi, &target("Bạch Dinh"), &provinces)
            .is_none());
        let reread = Inputs::Provinces(Arc::new(list.as_ref().clone()));
        assert!(forms
            .get("CODE", Lang::Vi, &target("Bạch Dinh"), &reread)
            .is_none());
    }

    #[test]
    fn an_accommodations_kept_form_serves_only_its_day() {
        let forms = ScanForms::default();
        let day = |d: u32| Inputs::Day(NaiveDate::from_ymd_opt(2026, 12, d).unwrap());
        let page = Spliced::cut("<h1>Biển Xanh</h1>n0nce", "n0nce").unwrap();
        forms.keep("CODE", Lang::Vi, &target("Biển Xanh"), day(2), page);
        assert!(forms
            .get("CODE", Lang::Vi, &target("Biển Xanh"), &day(2))
            .is_some());
        assert!(forms
            .get("CODE", Lang::Vi, &target("Biển Xanh"), &day(3))
            .is_none());
        let provinces = Inputs::Provinces(Arc::new(Vec::new()));
        assert!(forms
            .get("CODE", Lang::Vi, &target("Biển Xanh"), &provinces)
            .is_none());
    }
}
