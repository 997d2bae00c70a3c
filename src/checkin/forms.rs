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
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use chrono::NaiveDate;
use http_body::{Frame, SizeHint};

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
    head: Bytes,
    tail: Bytes,
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
            head: Bytes::copy_from_slice(html[..at].as_bytes()),
            tail: Bytes::copy_from_slice(tail.as_bytes()),
        })
    }

    /// The page with `nonce` where the cut was, as a body that sends the
    /// kept parts themselves: a scan copies none of the page (an
    /// accommodation's is some 10 KB), only counts a reference to it.
    pub fn with(&self, nonce: String) -> Body {
        Body::new(Parts {
            parts: [self.head.clone(), Bytes::from(nonce), self.tail.clone()],
            next: 0,
        })
    }
}

/// A body of a few parts sent one after another, its length known.
struct Parts {
    parts: [Bytes; 3],
    next: usize,
}

impl Parts {
    fn left(&self) -> u64 {
        self.parts[self.next..].iter().map(|p| p.len() as u64).sum()
    }
}

impl http_body::Body for Parts {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        while let Some(part) = this.parts.get_mut(this.next) {
            this.next += 1;
            if !part.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(std::mem::take(part)))));
            }
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.left() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left())
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
    use axum::body::to_bytes;

    /// The page a kept form sends with `nonce`, and the length its body
    /// declared before sending it.
    async fn sent(form: &Spliced, nonce: &str) -> (String, Option<u64>) {
        let body = form.with(nonce.to_owned());
        let declared = http_body::Body::size_hint(&body).exact();
        let bytes = to_bytes(body, usize::MAX).await.unwrap();
        (String::from_utf8(bytes.to_vec()).unwrap(), declared)
    }

    #[tokio::test]
    async fn a_page_is_cut_around_its_one_nonce_and_spliced_back() {
        let html = r#"<form><input name="nonce" value="abc123"><p>Vũng Tàu</p></form>"#;
        let cut = Spliced::cut(html, "abc123").unwrap();
        assert_eq!(
            sent(&cut, "abc123").await,
            (html.to_owned(), Some(html.len() as u64))
        );
        let other = r#"<form><input name="nonce" value="ffff"><p>Vũng Tàu</p></form>"#;
        assert_eq!(
            sent(&cut, "ffff").await,
            (other.to_owned(), Some(other.len() as u64))
        );
    }

    #[tokio::test]
    async fn a_page_cut_at_its_very_start_or_end_sends_no_empty_part() {
        let cut = Spliced::cut("n0nce<p>tail</p>", "n0nce").unwrap();
        assert_eq!(
            sent(&cut, "ab").await,
            ("ab<p>tail</p>".to_owned(), Some(13))
        );
        let cut = Spliced::cut("<p>head</p>n0nce", "n0nce").unwrap();
        let mut body = cut.with("cd".to_owned());
        let mut frames = Vec::new();
        while let Some(frame) =
            std::future::poll_fn(|cx| http_body::Body::poll_frame(Pin::new(&mut body), cx)).await
        {
            frames.push(frame.unwrap().into_data().unwrap());
        }
        assert_eq!(frames, [Bytes::from("<p>head</p>"), Bytes::from("cd")]);
        assert!(http_body::Body::is_end_stream(&body));
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

    #[tokio::test]
    async fn a_kept_form_serves_only_its_place_as_it_was_and_its_language() {
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
        assert_eq!(sent(&kept.unwrap(), "x").await.0, "<h1>Bạch Dinh</h1>x");
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
