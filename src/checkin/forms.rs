//! A site's count-in form, as a scan first shows it, is the same for every
//! visitor of that place who reads one language, but for its nonce. It is
//! rendered once and kept, cut around the nonce, and each scan splices its
//! own nonce in: rendering it (the lists of countries and provinces, every
//! label escaped) took about a sixth of the service's CPU per scan.
//!
//! A kept form is used only for the very place it was rendered for (same
//! name, ward, kind and opening) and the same provinces; anything else
//! renders it anew and keeps that instead. So an edited place shows at once
//! on every instance, with no message to wait for.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::i18n::Lang;
use crate::places::repo::ScanTarget;

/// Codes whose forms are kept at most; past it, all are forgotten and kept
/// again as they are scanned. Only the codes of open sites, as printed, get
/// here (see `checkin::pages`), so a city's stay far below it; at about 4 KB
/// a form, the most kept is some 40 MB, were every one scanned in each of
/// the five languages.
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

struct Kept {
    target: ScanTarget,
    provinces: Arc<Vec<String>>,
    page: Arc<Spliced>,
}

/// Sites' count-in forms as first shown, by code and language.
#[derive(Default)]
pub struct VisitForms {
    kept: RwLock<HashMap<String, HashMap<Lang, Kept>>>,
}

impl VisitForms {
    /// The form kept for `code` in `lang`, if it was rendered for this
    /// place as it is now and for these provinces.
    pub fn get(
        &self,
        code: &str,
        lang: Lang,
        target: &ScanTarget,
        provinces: &Arc<Vec<String>>,
    ) -> Option<Arc<Spliced>> {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        kept.get(code)
            .and_then(|langs| langs.get(&lang))
            .filter(|k| k.target == *target && Arc::ptr_eq(&k.provinces, provinces))
            .map(|k| k.page.clone())
    }

    /// Keep `page`, rendered for `target` with `provinces`.
    pub fn keep(
        &self,
        code: &str,
        lang: Lang,
        target: &ScanTarget,
        provinces: Arc<Vec<String>>,
        page: Spliced,
    ) {
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= MOST_CODES && !kept.contains_key(code) {
            kept.clear();
        }
        kept.entry(code.to_owned()).or_default().insert(
            lang,
            Kept {
                target: target.clone(),
                provinces,
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
        let forms = VisitForms::default();
        let provinces = Arc::new(vec!["Bà Rịa - Vũng Tàu".to_owned()]);
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
        let reread = Arc::new(provinces.as_ref().clone());
        assert!(forms
            .get("CODE", Lang::Vi, &target("Bạch Dinh"), &reread)
            .is_none());
    }
}
