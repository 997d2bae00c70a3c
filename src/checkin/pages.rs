//! The visitor's pages: what a scanned code opens. Server-rendered, no
//! script needed; a form nonce makes a double tap or a reload store one stay.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Duration;
use serde::Deserialize;
use uuid::Uuid;

use super::forms::{Inputs, Spliced};
use super::model::{GuestInput, Purpose, MAX_GUESTS};
use super::service::{self, CheckinRequest};
use crate::error::Error;
use crate::extract::ClientAddr;
use crate::i18n::{Lang, Tr};
use crate::localtime;
use crate::places::model::PlaceKind;
use crate::places::repo::{lookup_code, CodeLookup, ScanTarget};
use crate::web::{render, render_status, MessagePage, PageError, PageResult};
use crate::AppState;

/// Nationalities offered first; any other ICAO code can be typed.
pub const COUNTRIES: [&str; 22] = [
    "VNM", "KOR", "CHN", "RUS", "USA", "AUS", "GBR", "FRA", "DEU", "JPN", "TWN", "THA", "SGP",
    "MYS", "IND", "CAN", "KHM", "LAO", "PHL", "IDN", "NLD", "ITA",
];
const GUEST_FIELDS: [&str; 14] = [
    "full_name",
    "date_of_birth",
    "sex",
    "nationality",
    "nationality_other",
    "document_type",
    "document_number",
    "address",
    "phone",
    "document_expiry",
    "visa_number",
    "entry_date",
    "with_guest",
    "capture",
];

/// What the document reader can answer, translated for the page's script.
const DOCUMENT_ERRORS: [&str; 16] = [
    "document_text",
    "cccd_qr_fields",
    "cccd_format",
    "date_format",
    "sex_value",
    "mrz_length",
    "mrz_characters",
    "mrz_check_document",
    "mrz_check_birth",
    "mrz_check_expiry",
    "mrz_check_personal",
    "mrz_check_composite",
    "mrz_date",
    "qr_not_found",
    "image_format",
    "too_long",
];

fn default_nationality(lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => "VNM",
        Lang::Ko => "KOR",
        Lang::Zh => "CHN",
        Lang::Ru => "RUS",
        Lang::En => "",
    }
}

/// The document reader's messages as JSON, safe inside a script element.
pub(crate) fn document_errors(t: Tr) -> String {
    let map: BTreeMap<&str, &str> = DOCUMENT_ERRORS
        .iter()
        .map(|code| (*code, t.dynamic(&format!("error.{code}"))))
        .chain([
            ("", t.get("page.error_server")),
            ("rate", t.get("page.too_many")),
        ])
        .collect();
    serde_json::to_string(&map)
        .unwrap_or_default()
        .replace("</", "<\\/")
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{code}", get(scan_page).post(submit))
        .route("/C/{code}", get(scan_page).post(submit))
        .route("/c/{code}/{live}", get(scan_live))
        .route("/C/{code}/{live}", get(scan_live))
        .route("/stay/{id}", get(receipt))
        .route("/stay/{id}/checkout", post(receipt_checkout))
}

/// A guest added to the form starts with the nationality and the home
/// address of the guest before: a group usually shares the one, a family
/// the other, and both are there to change. What the form already holds for
/// the new guest is kept.
fn share_with_new_guests(form: &mut HashMap<String, String>, before: usize, count: usize) {
    for i in before.max(1)..count {
        for field in ["nationality", "nationality_other", "address"] {
            let name = format!("g{i}_{field}");
            if form.contains_key(&name) {
                continue;
            }
            if let Some(value) = form.get(&format!("g{}_{field}", i - 1)).cloned() {
                form.insert(name, value);
            }
        }
    }
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
    /// Kept as text: a mangled link still opens the form.
    guests: Option<String>,
}

/// One guest's block of the form, with what was typed and what is wrong.
pub struct GuestBlock {
    pub i: usize,
    values: HashMap<&'static str, String>,
    errors: BTreeMap<String, Vec<String>>,
    /// Just filled in from a scanned or typed document: ask for a check.
    pub filled: bool,
}

impl GuestBlock {
    fn empty(i: usize) -> Self {
        GuestBlock {
            i,
            values: HashMap::new(),
            errors: BTreeMap::new(),
            filled: false,
        }
    }

    pub fn v(&self, field: &str) -> &str {
        self.values.get(field).map_or("", String::as_str)
    }

    pub fn e(&self, field: &str) -> &[String] {
        self.errors.get(field).map_or(&[], Vec::as_slice)
    }

    pub fn chosen(&self, field: &str, value: &str) -> bool {
        self.v(field) == value
    }

    /// The nationality select shows "other" when a code outside the list was typed.
    pub fn other_nationality(&self) -> bool {
        !self.v("nationality_other").is_empty()
    }
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

fn choices(t: Tr, prefix: &str, values: &[&'static str]) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            value: v,
            label: t.dynamic(&format!("{prefix}.{v}")),
        })
        .collect()
}

/// The countries of the forms' lists in a language, made once: every scan
/// of a code shows them.
fn countries(t: Tr) -> &'static [Choice] {
    static LISTS: LazyLock<[Vec<Choice>; Lang::COUNT]> =
        LazyLock::new(|| Lang::ALL.map(|lang| choices(Tr(lang), "country", &COUNTRIES)));
    &LISTS[t.lang() as usize]
}

/// The purposes of a stay in a language, made once.
fn purposes(t: Tr) -> &'static [Choice] {
    static LISTS: LazyLock<[Vec<Choice>; Lang::COUNT]> = LazyLock::new(|| {
        Lang::ALL.map(|lang| choices(Tr(lang), "purpose", &Purpose::ALL.map(Purpose::as_str)))
    });
    &LISTS[t.lang() as usize]
}

#[derive(Template)]
#[template(path = "scan_stay.html")]
struct StayPage<'a> {
    t: Tr,
    code: &'a str,
    place: &'a ScanTarget,
    guests: Vec<GuestBlock>,
    expected_departure: String,
    purpose: String,
    consent: bool,
    nonce: String,
    /// Set when the form was opened from the reception screen's code.
    presence: String,
    errors: BTreeMap<String, Vec<String>>,
    today: String,
    countries: &'static [Choice],
    purposes: &'static [Choice],
    max_guests: usize,
    doc_errors: String,
    /// Preselected nationality: the one most visitors reading this language
    /// have; none for English, so that nobody is Vietnamese by default.
    default_nationality: &'static str,
}

impl StayPage<'_> {
    fn e(&self, field: &str) -> &[String] {
        self.errors.get(field).map_or(&[], Vec::as_slice)
    }
}

#[derive(Template)]
#[template(path = "scan_visit.html")]
struct VisitPage<'a> {
    t: Tr,
    code: &'a str,
    place: &'a ScanTarget,
    party_size: String,
    origin_country: String,
    origin_province: String,
    origin_country_other: String,
    provinces: std::sync::Arc<Vec<String>>,
    countries: &'static [Choice],
    nonce: String,
    errors: BTreeMap<String, Vec<String>>,
}

impl VisitPage<'_> {
    fn e(&self, field: &str) -> &[String] {
        self.errors.get(field).map_or(&[], Vec::as_slice)
    }
}

#[derive(Template)]
#[template(path = "visit_done.html")]
struct VisitDone<'a> {
    t: Tr,
    place: &'a str,
    party_size: i64,
    /// The same phone was counted here a moment ago; nobody was added.
    repeat: bool,
}

fn nonce() -> String {
    Uuid::new_v4().simple().to_string()
}

/// The phone's opaque id for site visits, from its cookie.
fn device_cookie(headers: &HeaderMap) -> Option<String> {
    crate::web::cookie(headers, "vid")
        .filter(|v| (1..=64).contains(&v.len()))
        .map(str::to_owned)
}

/// Language switcher links and the cookie that remembers a choice.
fn with_lang_cookie(mut response: Response, query: &LangQuery, lang: Lang) -> Response {
    if query.lang.is_some() {
        crate::i18n::remember(&mut response, lang);
    }
    response
}

/// The place behind a code, or the page that says why there is none.
async fn page_target(state: &AppState, code: &str, t: Tr) -> Result<ScanTarget, Response> {
    let not_found = |key: &'static str| {
        render_status(
            StatusCode::NOT_FOUND,
            &MessagePage {
                t,
                title: t.get("scan.invalid_title"),
                message: t.get(key),
                link: None,
            },
        )
    };
    let Some(verified) = state.codes.verify(code) else {
        return Err(not_found("scan.invalid"));
    };
    match lookup_code(state, &verified).await {
        Ok(CodeLookup::Active(target)) if target.open => Ok(target),
        Ok(CodeLookup::Active(_)) => Err(render_status(
            StatusCode::CONFLICT,
            &MessagePage {
                t,
                title: t.get("scan.closed_title"),
                message: t.get("scan.closed"),
                link: None,
            },
        )),
        Ok(CodeLookup::Revoked { .. }) => Err(not_found("scan.revoked")),
        Ok(CodeLookup::Unknown) => Err(not_found("scan.invalid")),
        Err(e) => Err(PageError {
            error: e,
            lang: t.lang(),
        }
        .into_response()),
    }
}

async fn scan_page(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    show_form(&state, &code, None, &query, &headers).await
}

/// The form opened from the reception screen: the rotating code must be fresh.
async fn scan_live(
    State(state): State<AppState>,
    Path((code, live)): Path<(String, String)>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    show_form(&state, &code, Some(&live), &query, &headers).await
}

async fn show_form(
    state: &AppState,
    code: &str,
    live: Option<&str>,
    query: &LangQuery,
    headers: &HeaderMap,
) -> Response {
    let lang = Lang::negotiate(query.lang.as_deref(), headers);
    let t = Tr(lang);
    let target = match page_target(state, code, t).await {
        Ok(target) => target,
        Err(page) => return page,
    };
    let now = chrono::Utc::now().timestamp();
    let presence = match live {
        None => String::new(),
        Some(live)
            if state
                .presence
                .check_live(&code.to_ascii_uppercase(), live, now) =>
        {
            state.presence.token(target.place_id, now)
        }
        Some(_) => {
            return render_status(
                StatusCode::GONE,
                &MessagePage {
                    t,
                    title: t.get("scan.live_expired_title"),
                    message: t.get("scan.live_expired"),
                    link: None,
                },
            )
        }
    };
    let page = match target.kind {
        // As the printed code opens it: kept for the day.
        PlaceKind::Accommodation if live.is_none() && query.guests.is_none() => {
            first_stay_form(state, code, &target, t)
        }
        PlaceKind::Accommodation => {
            let count = query
                .guests
                .as_deref()
                .and_then(|g| g.trim().parse::<usize>().ok())
                .unwrap_or(1)
                .clamp(1, MAX_GUESTS);
            let today = localtime::today(state.tz());
            render(&stay_page(code, &target, t, count, presence, today))
        }
        PlaceKind::Attraction => match first_visit_form(state, code, &target, t).await {
            Ok(page) => page,
            Err(e) => PageError { error: e, lang }.into_response(),
        },
    };
    // Each form carries its own nonce: never from a shared cache, and a
    // step back to it asks for a fresh one.
    crate::web::private(with_lang_cookie(page, query, lang))
}

/// An accommodation's empty check-in form for `count` guests, on `today`.
fn stay_page<'a>(
    code: &'a str,
    target: &'a ScanTarget,
    t: Tr,
    count: usize,
    presence: String,
    today: chrono::NaiveDate,
) -> StayPage<'a> {
    StayPage {
        t,
        code,
        place: target,
        guests: (0..count).map(GuestBlock::empty).collect(),
        expected_departure: (today + Duration::days(1)).to_string(),
        purpose: "tourism".into(),
        consent: false,
        nonce: nonce(),
        presence,
        errors: BTreeMap::new(),
        today: today.to_string(),
        countries: countries(t),
        purposes: purposes(t),
        max_guests: MAX_GUESTS,
        doc_errors: document_errors(t),
        default_nationality: default_nationality(t.lang()),
    }
}

/// An accommodation's check-in form as the printed code opens it (one
/// guest, not from the reception screen): rendered once for the place,
/// language and day and kept, each scan with its own nonce spliced in (see
/// `checkin::forms`).
fn first_stay_form(state: &AppState, code: &str, target: &ScanTarget, t: Tr) -> Response {
    let today = localtime::today(state.tz());
    let inputs = Inputs::Day(today);
    if let Some(form) = state.scan_forms.get(code, t.lang(), target, &inputs) {
        return Html(form.with(&nonce())).into_response();
    }
    let page = stay_page(code, target, t, 1, String::new(), today);
    match page.render() {
        Ok(html) => {
            keep_printed(state, code, t, target, inputs, &html, &page.nonce);
            Html(html).into_response()
        }
        // `render` logs the failure and answers 500.
        Err(_) => render(&page),
    }
}

/// Keep a form rendered for a code as printed. A code verifies in any case,
/// and a form kept for every spelling of it would be memory anyone could
/// fill.
fn keep_printed(
    state: &AppState,
    code: &str,
    t: Tr,
    target: &ScanTarget,
    inputs: Inputs,
    html: &str,
    nonce: &str,
) {
    if code.bytes().any(|b| b.is_ascii_lowercase()) {
        return;
    }
    if let Some(form) = Spliced::cut(html, nonce) {
        state.scan_forms.keep(code, t.lang(), target, inputs, form);
    }
}

/// A site's count-in form as a scan first shows it: rendered once for the
/// place and language and kept, each scan with its own nonce spliced in
/// (see `checkin::forms`).
async fn first_visit_form(
    state: &AppState,
    code: &str,
    target: &ScanTarget,
    t: Tr,
) -> Result<Response, Error> {
    let provinces = Inputs::Provinces(state.province_names().await?);
    if let Some(form) = state.scan_forms.get(code, t.lang(), target, &provinces) {
        return Ok(Html(form.with(&nonce())).into_response());
    }
    let page = visit_page(state, code, target, t, &HashMap::new(), BTreeMap::new()).await?;
    match page.render() {
        Ok(html) => {
            let inputs = Inputs::Provinces(page.provinces.clone());
            keep_printed(state, code, t, target, inputs, &html, &page.nonce);
            Ok(Html(html).into_response())
        }
        // `render` logs the failure and answers 500.
        Err(_) => Ok(render(&page)),
    }
}

async fn visit_page<'a>(
    state: &AppState,
    code: &'a str,
    target: &'a ScanTarget,
    t: Tr,
    form: &HashMap<String, String>,
    errors: BTreeMap<String, Vec<String>>,
) -> Result<VisitPage<'a>, Error> {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    Ok(VisitPage {
        t,
        code,
        place: target,
        party_size: form
            .get("party_size")
            .cloned()
            .unwrap_or_else(|| "1".into()),
        // The country most visitors reading this language come from; none
        // in English, so that nobody is counted as from a country by a tap.
        origin_country: form
            .get("origin_country")
            .cloned()
            .unwrap_or_else(|| default_nationality(t.lang()).into()),
        origin_province: get("origin_province"),
        origin_country_other: get("origin_country_other"),
        provinces: state.province_names().await?,
        countries: countries(t),
        nonce: form.get("nonce").cloned().unwrap_or_else(nonce),
        errors,
    })
}

fn translate(t: Tr, errors: &crate::error::FieldErrors) -> BTreeMap<String, Vec<String>> {
    errors
        .0
        .iter()
        .map(|(field, list)| {
            (
                field.clone(),
                list.iter().map(|e| t.error(e).to_owned()).collect(),
            )
        })
        .collect()
}

/// The form's guests as the API's guest inputs.
fn guests_from_form(form: &HashMap<String, String>, count: usize) -> Vec<GuestInput> {
    (0..count)
        .map(|i| {
            let get = |f: &str| {
                form.get(&format!("g{i}_{f}"))
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
            };
            GuestInput {
                full_name: get("full_name"),
                date_of_birth: get("date_of_birth"),
                sex: get("sex"),
                nationality: get("nationality_other").or_else(|| get("nationality")),
                residence_country: None,
                document_type: get("document_type"),
                document_number: get("document_number"),
                address: get("address"),
                phone: get("phone"),
                document_expiry: get("document_expiry"),
                visa_number: get("visa_number"),
                entry_date: get("entry_date"),
                // People count guests from 1 on the page.
                // An unknown number (0, or not a number) stays visibly wrong.
                with_guest: get("with_guest").map(|v| {
                    v.parse::<u32>()
                        .ok()
                        .and_then(|n| n.checked_sub(1))
                        .unwrap_or(u32::MAX)
                }),
                capture: get("capture"),
            }
        })
        .collect()
}

/// Put what a document gave into guest `i`'s fields, as if typed.
fn fill_from_document(form: &mut HashMap<String, String>, i: usize, guest: &GuestInput) {
    let mut set = |field: &str, value: &Option<String>| {
        if let Some(v) = value {
            form.insert(format!("g{i}_{field}"), v.clone());
        }
    };
    set("full_name", &guest.full_name);
    set("date_of_birth", &guest.date_of_birth);
    set("sex", &guest.sex);
    set("document_type", &guest.document_type);
    set("document_number", &guest.document_number);
    set("address", &guest.address);
    set("document_expiry", &guest.document_expiry);
    set("capture", &guest.capture);
    if let Some(code) = &guest.nationality {
        let listed = COUNTRIES.contains(&code.as_str());
        form.insert(
            format!("g{i}_nationality"),
            if listed { code.clone() } else { String::new() },
        );
        form.insert(
            format!("g{i}_nationality_other"),
            if listed { String::new() } else { code.clone() },
        );
    }
    form.remove(&format!("g{i}_doc"));
}

async fn submit(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<LangQuery>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let lang = Lang::negotiate(query.lang.as_deref(), &headers);
    let t = Tr(lang);
    let target = match page_target(&state, &code, t).await {
        Ok(target) => target,
        Err(page) => return page,
    };
    let mut form: HashMap<String, String> = fields.into_iter().collect();
    let action = form
        .get("action")
        .cloned()
        .unwrap_or_else(|| "submit".to_owned());
    let action = action.as_str();
    let nonce_value = form
        .get("nonce")
        .cloned()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(nonce);
    // The script sends the form with an Idempotency-Key (the form's nonce
    // unless it chose another); without script the nonce alone guards it.
    let retry_key = match crate::extract::idempotency_key(&headers) {
        Ok(key) => key.unwrap_or_else(|| nonce_value.clone()),
        Err(error) => return PageError { error, lang }.into_response(),
    };
    let known_device = device_cookie(&headers);
    // A phone without the cookie yet is known by this form's nonce, so a
    // retry of the same form is the same request.
    let device = known_device.clone().unwrap_or_else(|| nonce_value.clone());
    let count = form
        .get("guest_count")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_GUESTS);
    let before = count;
    let count = match action {
        "add_guest" => (count + 1).min(MAX_GUESTS),
        a if a.starts_with("remove_guest") => count.saturating_sub(1).max(1),
        "set_count" => form
            .get("want_count")
            .and_then(|c| c.trim().parse::<usize>().ok())
            .unwrap_or(count)
            .clamp(1, MAX_GUESTS),
        _ => count,
    };
    share_with_new_guests(&mut form, before, count);
    // "Fill in" under a guest without script: read the document text here.
    let mut document: Option<(usize, Result<(), Vec<String>>)> = None;
    if let Some(i) = action
        .strip_prefix("read_document_")
        .and_then(|i| i.parse::<usize>().ok())
        .filter(|i| *i < count)
    {
        let text = form.get(&format!("g{i}_doc")).cloned().unwrap_or_default();
        let outcome = match crate::documents::parse(&text) {
            Ok(parsed) => {
                fill_from_document(&mut form, i, &parsed.guest);
                Ok(())
            }
            Err(errors) => Err(errors
                .0
                .values()
                .flatten()
                .map(|e| t.error(e).to_owned())
                .collect()),
        };
        document = Some((i, outcome));
    }

    let mut req = CheckinRequest {
        code: code.clone(),
        ..Default::default()
    };
    match target.kind {
        PlaceKind::Accommodation => {
            req.guests = Some(guests_from_form(&form, count));
            req.expected_departure = form.get("expected_departure").cloned();
            req.purpose = form.get("purpose").cloned();
            req.consent = Some(form.contains_key("consent"));
            req.presence_token = form.get("presence").cloned().filter(|p| !p.is_empty());
        }
        PlaceKind::Attraction => {
            req.party_size = form
                .get("party_size")
                .and_then(|p| p.trim().parse().ok())
                .or(Some(0));
            req.origin_country = form
                .get("origin_country_other")
                .filter(|c| !c.trim().is_empty())
                .or_else(|| form.get("origin_country"))
                .cloned();
            req.origin_province = form.get("origin_province").cloned();
            req.device_id = Some(device.clone());
        }
    }

    let result = if action != "submit" {
        Err(Error::Validation(Default::default()))
    } else {
        let key = format!("form:{retry_key}");
        service::check_in(&state, &target, &addr, &req, Some(&key)).await
    };
    match result {
        Ok((_, body)) if target.kind == PlaceKind::Accommodation => {
            let stay = body["stay_id"].as_str().unwrap_or_default();
            let token = body["checkout_token"].as_str().unwrap_or_default();
            Redirect::to(&format!("/stay/{stay}?t={token}")).into_response()
        }
        Ok((_, body)) => {
            let mut page = render(&VisitDone {
                t,
                place: &target.name,
                party_size: body["party_size"].as_i64().unwrap_or_default(),
                repeat: body["counted"] == false,
            });
            if known_device.is_none() {
                let cookie =
                    format!("vid={device}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax");
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    page.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            page
        }
        Err(Error::Validation(errors)) => {
            let translated = translate(t, &errors);
            let document_failed = matches!(document, Some((_, Err(_))));
            let status = if errors.is_empty() && !document_failed {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            match target.kind {
                PlaceKind::Accommodation => {
                    let guests = (0..count)
                        .map(|i| {
                            let mut block = GuestBlock::empty(i);
                            for field in GUEST_FIELDS {
                                if let Some(v) = form.get(&format!("g{i}_{field}")) {
                                    block.values.insert(field, v.clone());
                                }
                            }
                            match &document {
                                Some((at, Ok(()))) if *at == i => block.filled = true,
                                Some((at, Err(messages))) if *at == i => {
                                    let text = form.get(&format!("g{i}_doc")).cloned();
                                    block.values.insert("doc", text.unwrap_or_default());
                                    block.errors.insert("doc".into(), messages.clone());
                                }
                                _ => {}
                            }
                            let prefix = format!("guests[{i}].");
                            for (k, v) in &translated {
                                if let Some(f) = k.strip_prefix(&prefix) {
                                    // A code typed in "other nationality" is wrong there, not in the list.
                                    let f = if f == "nationality" && block.other_nationality() {
                                        "nationality_other"
                                    } else {
                                        f
                                    };
                                    block
                                        .errors
                                        .entry(f.to_owned())
                                        .or_default()
                                        .extend(v.clone());
                                }
                            }
                            block
                        })
                        .collect();
                    let page = StayPage {
                        t,
                        code: &code,
                        place: &target,
                        guests,
                        expected_departure: req.expected_departure.clone().unwrap_or_default(),
                        purpose: req.purpose.clone().unwrap_or_default(),
                        consent: req.consent == Some(true),
                        nonce: nonce_value,
                        presence: req.presence_token.clone().unwrap_or_default(),
                        errors: translated,
                        today: localtime::today(state.tz()).to_string(),
                        countries: countries(t),
                        purposes: purposes(t),
                        max_guests: MAX_GUESTS,
                        doc_errors: document_errors(t),
                        default_nationality: default_nationality(t.lang()),
                    };
                    render_status(status, &page)
                }
                PlaceKind::Attraction => {
                    match visit_page(&state, &code, &target, t, &form, translated).await {
                        Ok(page) => render_status(status, &page),
                        Err(e) => PageError { error: e, lang }.into_response(),
                    }
                }
            }
        }
        Err(error) => PageError { error, lang }.into_response(),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    t: Option<String>,
    lang: Option<String>,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct Receipt {
    t: Tr,
    stay_id: Uuid,
    token: String,
    /// The receipt's own address, to copy and keep.
    link: String,
    place: String,
    arrived: String,
    expected_departure: String,
    departed: Option<String>,
    /// Closed by the job after the expected departure, not by anyone.
    automatic: bool,
    guests: Vec<String>,
    /// What is stored about each guest, as the visitor may see it; empty
    /// once the retention purge has deleted it.
    stored: Vec<StoredGuest>,
    retention_days: i64,
}

/// One guest's stored details on their receipt; numbers masked, since a
/// link can be forwarded.
struct StoredGuest {
    full_name: String,
    date_of_birth: String,
    sex: String,
    nationality: String,
    document_type: String,
    document_number: Option<String>,
    address: Option<String>,
    phone: Option<String>,
    visa_number: Option<String>,
    /// A child on an adult's document: that adult, "PARK SEOYEON (Guest 1)".
    travels_with: Option<String>,
}

/// Load a stay for its visitor, checking the token from the link.
async fn visitor_stay(state: &AppState, id: Uuid, token: &str, t: Tr) -> PageResult<Receipt> {
    let lang = t.lang();
    let wrap = |error: Error| PageError { error, lang };
    let row = sqlx::query!(
        r#"SELECT s.checkout_token_hash, s.arrived_at, s.expected_departure, s.departed_at, s.checkout_by, p.name AS place
           FROM stays s JOIN places p ON p.id = s.place_id
           WHERE s.id = $1"#,
        id
    )
    .fetch_optional(&state.db)
    .await
    .map_err(|e| wrap(e.into()))?
    .ok_or_else(|| wrap(Error::NotFound("there is no such stay")))?;
    if !super::repo::token_matches(row.checkout_token_hash.as_deref(), token) {
        return Err(wrap(Error::NotFound("this link is not valid")));
    }
    let people = sqlx::query!(
        r#"SELECT g.id, g.companion_of, i.full_name, i.date_of_birth, g.sex, g.nationality,
                  g.document_type, i.document_number, i.address, i.phone, i.visa_number
           FROM guests g JOIN guest_identities i ON i.guest_id = g.id
           WHERE g.stay_id = $1 ORDER BY g.position"#,
        id
    )
    .fetch_all(&state.db)
    .await
    .map_err(|e| wrap(e.into()))?;
    let masked = |data: Option<Vec<u8>>| -> Result<Option<String>, PageError> {
        Ok(state
            .cipher
            .decrypt_opt(data.as_deref())
            .map_err(wrap)?
            .filter(|s| !s.is_empty())
            .map(|s| crate::register::repo::mask(&s)))
    };
    // Each adult a child travels with, as the receipt numbers the guests.
    let legend = t.get("guest.legend");
    let adults: HashMap<Uuid, String> = people
        .iter()
        .enumerate()
        .map(|(n, p)| (p.id, format!("{} ({legend} {})", p.full_name, n + 1)))
        .collect();
    let mut stored = Vec::with_capacity(people.len());
    for p in people {
        let travels_with = p.companion_of.and_then(|a| adults.get(&a).cloned());
        stored.push(StoredGuest {
            date_of_birth: t.date(p.date_of_birth),
            sex: t.dynamic(&format!("sex.{}", p.sex)).to_owned(),
            nationality: p.nationality,
            document_type: match t.dynamic(&format!("doc.{}", p.document_type)) {
                "" => p.document_type,
                name => name.to_owned(),
            },
            document_number: masked(p.document_number)?,
            address: state
                .cipher
                .decrypt_opt(p.address.as_deref())
                .map_err(wrap)?
                .filter(|s| !s.is_empty()),
            phone: masked(p.phone)?,
            visa_number: masked(p.visa_number)?,
            full_name: p.full_name,
            travels_with,
        });
    }
    let local = |at: chrono::DateTime<chrono::Utc>| t.date_time(at, state.tz());
    Ok(Receipt {
        t,
        stay_id: id,
        token: token.to_owned(),
        link: format!("{}/stay/{id}?t={token}", state.config.base_url()),
        place: row.place,
        arrived: local(row.arrived_at),
        expected_departure: t.date(row.expected_departure),
        departed: row.departed_at.map(local),
        automatic: row.checkout_by.as_deref() == Some("automatic"),
        guests: stored.iter().map(|g| g.full_name.clone()).collect(),
        stored,
        retention_days: state.config.retention_days,
    })
}

/// A receipt link cut short in a message opens the not-found page, not an error.
fn stay_id(raw: &str, lang: Lang) -> Result<Uuid, PageError> {
    raw.parse().map_err(|_| PageError {
        error: Error::NotFound("this link is not valid"),
        lang,
    })
}

async fn receipt(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> PageResult {
    let t = Tr(Lang::negotiate(query.lang.as_deref(), &headers));
    let id = stay_id(&id, t.lang())?;
    let page = visitor_stay(&state, id, query.t.as_deref().unwrap_or_default(), t).await?;
    // The link is the visitor's key to the stay: keep it out of shared caches.
    Ok(crate::web::private(render(&page)))
}

#[derive(Deserialize)]
struct CheckoutForm {
    t: String,
}

async fn receipt_checkout(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CheckoutForm>,
) -> PageResult {
    let lang = Lang::negotiate(None, &headers);
    let id = stay_id(&id, lang)?;
    let page = visitor_stay(&state, id, &form.t, Tr(lang)).await?;
    if page.departed.is_none() {
        let departed = super::repo::check_out(&state.db, state.tz(), id, "visitor", None)
            .await
            .map_err(|error| PageError { error, lang })?;
        if departed.changed {
            crate::stats::live::invalidate(&state, departed.place_id).await;
        }
    }
    Ok(Redirect::to(&format!("/stay/{id}?t={}", form.t)).into_response())
}
