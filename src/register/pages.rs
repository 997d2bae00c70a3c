//! `/hotel`: the register as a page, with desk entry and check-out.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::repo::{self, RegisterStay};
use super::routes::{create_stay, filter_from, DeskStayRequest, ListQuery};
use crate::auth::CurrentUser;
use crate::checkin::model::{GuestInput, MAX_GUESTS};
use crate::checkin::pages::COUNTRIES;
use crate::error::Error;
use crate::extract::ApiQuery;
use crate::i18n::{Lang, Tr};
use crate::places::repo as places;
use crate::stats::repo::{summary, Summary};
use crate::web::{render, render_status, same_origin, PageError, PageResult};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hotel", get(page))
        .route("/hotel/{place}/stays", post(desk_entry))
        .route("/hotel/{place}/stays/{id}/checkout", post(checkout))
        .route("/hotel/{place}/guests/{id}/checkout", post(guest_checkout))
        .route("/hotel/{place}/guests/{id}/undo-checkout", post(guest_undo))
        .route("/hotel/{place}/guests/{id}/reveal", post(reveal))
        .route("/hotel/{place}/stays/{id}/{change}", post(change))
        .route("/hotel/{place}/screen", get(screen))
}

#[derive(Template)]
#[template(path = "hotel.html")]
struct HotelPage {
    t: Tr,
    user: CurrentUser,
    places: Vec<(i64, String)>,
    place_id: Option<i64>,
    place_name: String,
    /// in_house, arriving, departing or all
    view: String,
    counts: repo::Counts,
    /// Guests not yet declared to the police, the most urgent first.
    due: Vec<super::police::Due>,
    /// Exports of the last week not yet recorded as sent.
    batches: Vec<super::police::Batch>,
    /// How many guests the last "mark as sent" recorded.
    sent: Option<i64>,
    /// What the desk's last action did (one of `DONE`), said above the
    /// register.
    done: Option<&'static str>,
    /// Why a change from a row did not happen, above the register.
    alert: Option<String>,
    /// The one guest whose full document number is shown, after an audited
    /// request; every other number stays masked.
    revealed: Option<Uuid>,
    /// The place's own figures: this month so far, and last month.
    figures: Option<(Summary, Summary)>,
    /// The local date the page was made on.
    today: chrono::NaiveDate,
    offset: i64,
    limit: i64,
    q: String,
    /// An inspector's stated reason for the search, kept in the form.
    reason: String,
    /// The date filters of the register, as typed (YYYY-MM-DD).
    from: String,
    to: String,
    stays: Vec<RegisterStay>,
    tz: chrono_tz::Tz,
    countries: &'static [&'static str],
    form: HashMap<String, String>,
    errors: Vec<(String, String)>,
    /// The first refusal of each field of the desk form, by the field's id
    /// ("g1_date_of_birth", "consent"), said under it.
    field_errors: HashMap<String, String>,
    nonce: String,
}

impl HotelPage {
    fn local(&self, at: &DateTime<Utc>) -> String {
        at.with_timezone(&self.tz).format("%d/%m %H:%M").to_string()
    }
    /// How a message of `DONE` looks: done as asked, or done with a word
    /// to check something (a room another stay has too).
    fn done_class(&self, done: &str) -> &'static str {
        match done {
            "room_shared" => "notice",
            _ => "ok",
        }
    }
    /// What is wrong with the desk form's field `id`, if anything.
    fn error_at(&self, id: &str) -> Option<&str> {
        self.field_errors.get(id).map(String::as_str)
    }
    fn is_revealed(&self, guest: &Uuid) -> bool {
        self.revealed.as_ref() == Some(guest)
    }
    fn overdue(&self) -> usize {
        self.due.iter().filter(|d| d.status == "overdue").count()
    }
    /// The tab, search and dates of this view, for its paging links.
    fn filters(&self) -> String {
        filters_query(&self.view, &self.q, &self.from, &self.to)
    }
    /// Another tab, with this view's search and dates: a search made in
    /// one tab is kept in the next.
    fn tab(&self, status: &str) -> String {
        filters_query(status, &self.q, &self.from, &self.to)
    }
    /// Whether the search and dates show open: once used, on the history
    /// (where searching is what one comes for) and for an inspector, who
    /// states a reason there. Otherwise they fold into one line, so that on
    /// a phone the stays come right after the tabs.
    fn search_open(&self) -> bool {
        !(self.q.is_empty() && self.from.is_empty() && self.to.is_empty())
            || self.view == "all"
            || self.user.role.as_str() == "inspector"
    }
    fn can_enter(&self) -> bool {
        self.place_id.is_some_and(|p| self.user.works_at(p))
    }
    /// Whether the desk may still mark this stay as a no-show or cancelled:
    /// in house, arrived today or yesterday, its documents not seen at the
    /// desk and none of its guests declared to the police.
    fn can_void(&self, stay: &RegisterStay) -> bool {
        stay.departed_at.is_none()
            && !(stay.source == "self_qr" && stay.confirmed)
            && stay
                .guests
                .iter()
                .all(|g| !g.notification_status.starts_with("sent"))
            && super::desk::may_correct(
                stay.arrived_at.with_timezone(&self.tz).date_naive(),
                self.today,
            )
    }
    /// Whether a check-out at `left` may still be undone: until the day
    /// after it (the undo is refused later, so it is not offered).
    fn can_undo(&self, left: &DateTime<Utc>) -> bool {
        super::desk::may_correct(left.with_timezone(&self.tz).date_naive(), self.today)
    }
    fn is_current(&self, id: &i64) -> bool {
        self.place_id == Some(*id)
    }
    fn f(&self, name: &str) -> &str {
        self.form.get(name).map_or("", String::as_str)
    }
    /// Guests on the desk form: as many as it had, one more when asked.
    fn desk_count(&self) -> usize {
        self.f("guest_count")
            .parse::<usize>()
            .unwrap_or(1)
            .clamp(1, crate::checkin::model::MAX_GUESTS)
    }
    /// A field of guest `i` on the desk form.
    fn gv(&self, i: impl std::borrow::Borrow<usize>, field: &str) -> &str {
        self.f(&format!("g{}_{field}", i.borrow()))
    }
}

async fn build(
    state: &AppState,
    user: CurrentUser,
    query: &ListQuery,
    place: Option<i64>,
    lang: Lang,
) -> Result<HotelPage, Error> {
    // The office reads figures, never a register, not even its list.
    if user.role == crate::auth::Role::Office {
        return Err(Error::Forbidden(
            "the tourism office does not see guests' personal data",
        ));
    }
    let only = user
        .role
        .works_at_places()
        .then_some(user.place_ids.as_slice());
    let list = places::list(&state.db, state.config.base_url(), only, None).await?;
    let places: Vec<(i64, String)> = list
        .iter()
        .filter(|p| p.kind == crate::places::model::PlaceKind::Accommodation)
        .map(|p| (p.id, p.name.clone()))
        .collect();
    let place_id = place.or_else(|| (places.len() == 1).then(|| places[0].0));
    let mut stays = Vec::new();
    let mut place_name = String::new();
    let mut counts = repo::Counts::default();
    let mut due = Vec::new();
    let mut batches = Vec::new();
    let mut figures = None;
    let today = crate::localtime::today(state.tz());
    if let Some(id) = place_id {
        user.require_register(id)?;
        place_name = places
            .iter()
            .find(|(p, _)| *p == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        let filter = filter_from(query, today)?;
        super::routes::audit_read(state, &user, id, "register.read", query).await?;
        stays = repo::list(&state.db, &state.cipher, id, &filter).await?;
        counts = repo::counts(&state.db, id, today).await?;
        due = super::police::due(&state.db, id, Utc::now()).await?;
        batches = super::police::open_batches(&state.db, id).await?;
        if user.works_at(id) {
            figures = Some(month_figures(state, id).await?);
        }
    }
    Ok(HotelPage {
        t: Tr(lang),
        view: match query.status.as_deref() {
            Some(v @ ("arriving" | "departing" | "all")) => v.to_owned(),
            _ => "in_house".to_owned(),
        },
        counts,
        due,
        batches,
        sent: None,
        done: None,
        alert: None,
        revealed: None,
        figures,
        today,
        offset: query.offset.unwrap_or(0),
        limit: query.limit.unwrap_or(100),
        q: query.q.clone().unwrap_or_default(),
        reason: query.reason.clone().unwrap_or_default(),
        from: query.from.clone().unwrap_or_default(),
        to: query.to.clone().unwrap_or_default(),
        user,
        places,
        place_id,
        place_name,
        stays,
        tz: state.tz(),
        countries: &COUNTRIES,
        form: HashMap::new(),
        errors: Vec::new(),
        field_errors: HashMap::new(),
        nonce: Uuid::new_v4().simple().to_string(),
    })
}

/// A place's month so far and the whole month before, for its own people.
/// Kept in Redis until the place's figures move (every commit that moves
/// them drops the copy, see `stats::live::invalidate`), at most two
/// minutes: the register page is opened all day long.
async fn month_figures(state: &AppState, place_id: i64) -> Result<(Summary, Summary), Error> {
    let today = crate::localtime::today(state.tz());
    let key = crate::stats::live::month_key(place_id, today);
    if let Some(figures) = state.cache.get_json(&key).await {
        return Ok(figures);
    }
    let figures = compute_month_figures(state, place_id, today).await?;
    state
        .cache
        .set_json(&key, &figures, std::time::Duration::from_secs(120))
        .await;
    Ok(figures)
}

async fn compute_month_figures(
    state: &AppState,
    place_id: i64,
    today: chrono::NaiveDate,
) -> Result<(Summary, Summary), Error> {
    use chrono::Datelike;
    let first = today.with_day(1).unwrap_or(today);
    let last_month_end = first.pred_opt().unwrap_or(first);
    let last_month_start = last_month_end.with_day(1).unwrap_or(last_month_end);
    let this = summary(&state.db, first, today, today, Some(place_id), state.tz()).await?;
    let last = summary(
        &state.db,
        last_month_start,
        last_month_end,
        today,
        Some(place_id),
        state.tz(),
    )
    .await?;
    Ok((this, last))
}

#[derive(serde::Deserialize)]
struct PlaceQuery {
    place: Option<i64>,
    /// Guests just recorded as sent to the police.
    sent: Option<i64>,
    /// What the desk's last action did.
    done: Option<String>,
}

/// What a desk's action did, each said in words above the register
/// (`hotel.done.*`).
const DONE: [&str; 15] = [
    "entered",
    "confirmed",
    "corrected",
    "room",
    "room_shared",
    "extend",
    "checked_out",
    "undone",
    "guest_left",
    "guest_left_children",
    "guest_back",
    "guest_back_children",
    "no_show",
    "cancelled",
    "unchanged",
];

/// The register's tab, search and dates as a query string: the tab, then
/// each of the others that is given.
fn filters_query(status: &str, q: &str, from: &str, to: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("status", status);
    for (k, v) in [("q", q), ("from", from), ("to", to)] {
        if !v.is_empty() {
            query.append_pair(k, v);
        }
    }
    query.finish()
}

/// The register after a desk's action, showing the tab, search and dates
/// of `list`, with what the action did.
fn back_to(place_id: i64, list: &ListQuery, done: &str) -> Redirect {
    let given = |v: &Option<String>| v.clone().unwrap_or_default();
    let filters = filters_query(
        list.status.as_deref().unwrap_or("in_house"),
        &given(&list.q),
        &given(&list.from),
        &given(&list.to),
    );
    Redirect::to(&format!(
        "/hotel?place={place_id}&{filters}&done={done}#done"
    ))
}

/// The register as a row's form left it: the tab, search and dates of its
/// `back` field, else the tab `view`.
fn filters_of(back: Option<&str>, view: Option<&str>) -> ListQuery {
    let mut query = ListQuery {
        status: view.map(str::to_owned),
        ..Default::default()
    };
    for (k, v) in form_urlencoded::parse(back.unwrap_or_default().as_bytes()) {
        let v = Some(v.into_owned());
        match k.as_ref() {
            "status" => query.status = v,
            "q" => query.q = v,
            "from" => query.from = v,
            "to" => query.to = v,
            _ => {}
        }
    }
    query
}

/// The filters a row's form came from (its `back` field), if it sent a
/// form: a check-out may come with no body at all.
fn back_of(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "back")
        .map(|(_, v)| v.into_owned())
}

async fn page(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    ApiQuery(place): ApiQuery<PlaceQuery>,
    ApiQuery(list): ApiQuery<ListQuery>,
) -> PageResult {
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    let mut page = build(&state, user, &list, place.place, lang)
        .await
        .map_err(|error| PageError { error, lang })?;
    page.sent = place.sent;
    page.done = DONE.into_iter().find(|d| place.done.as_deref() == Some(*d));
    Ok(render(&page))
}

async fn desk_entry(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path(place_id): Path<i64>,
    Form(mut form): Form<HashMap<String, String>>,
) -> PageResult {
    same_origin(&headers)?;
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    if !user.works_at(place_id) {
        return Err(Error::Forbidden("only this place's manager and staff enter its stays").into());
    }
    let count = form
        .get("guest_count")
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_GUESTS);
    let action = form.get("action").cloned().unwrap_or_default();
    // The next guest of a group: the same form with one more guest, kept,
    // who starts with the guest before's nationality, kind of document and
    // home address (a family's are most often the same).
    if action == "add_guest" {
        if count < MAX_GUESTS {
            for field in ["nationality", "document_type", "address"] {
                if let Some(value) = form.get(&format!("g{}_{field}", count - 1)).cloned() {
                    form.entry(format!("g{count}_{field}")).or_insert(value);
                }
            }
        }
        form.insert(
            "guest_count".into(),
            (count + 1).min(MAX_GUESTS).to_string(),
        );
        let mut page = build(&state, user, &ListQuery::default(), Some(place_id), lang)
            .await
            .map_err(|error| PageError { error, lang })?;
        page.form = form;
        return Ok(render(&page));
    }
    // What a scanner typed (a card's QR text or a passport's MRZ) fills the
    // last guest in, through the parser the visitor's page uses.
    if action == "read" {
        let text = form.get("scan").cloned().unwrap_or_default();
        let mut page = build(&state, user, &ListQuery::default(), Some(place_id), lang)
            .await
            .map_err(|error| PageError { error, lang })?;
        let t = Tr(lang);
        let last = count - 1;
        let status = match crate::documents::parse(&text) {
            Ok(doc) => {
                let g = doc.guest;
                // A document without an address, of another nationality
                // than the one this guest started with (the guest
                // before's): not of that household, so the address copied
                // with it goes.
                let was = form.get(&format!("g{last}_nationality"));
                if g.address.is_none()
                    && g.nationality.is_some()
                    && was.is_some_and(|was| !was.is_empty() && Some(was) != g.nationality.as_ref())
                {
                    form.insert(format!("g{last}_address"), String::new());
                }
                for (field, value) in [
                    ("full_name", g.full_name),
                    ("date_of_birth", g.date_of_birth),
                    ("sex", g.sex),
                    ("nationality", g.nationality),
                    ("document_type", g.document_type),
                    ("document_number", g.document_number),
                    ("address", g.address),
                    ("document_expiry", g.document_expiry),
                    ("capture", g.capture),
                ] {
                    // What the document does not say (a passport gives no
                    // address) is left as it was, as the page's script does.
                    if let Some(value) = value {
                        form.insert(format!("g{last}_{field}"), value);
                    }
                }
                form.remove("scan");
                axum::http::StatusCode::OK
            }
            Err(errors) => {
                page.errors = errors
                    .0
                    .values()
                    .flatten()
                    .map(|e| (t.get("hotel.scan").to_owned(), t.error(e).to_owned()))
                    .collect();
                axum::http::StatusCode::UNPROCESSABLE_ENTITY
            }
        };
        page.form = form;
        return Ok(render_status(status, &page));
    }
    let get = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let guests = (0..count)
        .map(|i| {
            let g = |f: &str| get(&format!("g{i}_{f}"));
            GuestInput {
                full_name: g("full_name"),
                date_of_birth: g("date_of_birth"),
                sex: g("sex"),
                nationality: g("nationality"),
                document_type: g("document_type"),
                document_number: g("document_number"),
                address: g("address"),
                document_expiry: g("document_expiry"),
                visa_number: g("visa_number"),
                entry_date: g("entry_date"),
                capture: g("capture"),
                // Guests are numbered from 1 on the form.
                with_guest: g("with_guest").map(|n| {
                    n.parse::<u32>()
                        .ok()
                        .and_then(|n| n.checked_sub(1))
                        .unwrap_or(u32::MAX)
                }),
                ..Default::default()
            }
        })
        .collect();
    let req = DeskStayRequest {
        guests,
        purpose: get("purpose"),
        room: get("room"),
        expected_departure: get("expected_departure"),
        arrived_at: get("arrived_at").map(|t| local_instant(state.tz(), t)),
        // A guest arriving now agrees at the desk; a stay carried over from
        // the paper register (its arrival given) may come without.
        consent: match (form.contains_key("consent"), get("arrived_at")) {
            (true, _) => Some(true),
            (false, None) => Some(false),
            (false, Some(_)) => None,
        },
        ..Default::default()
    };
    let key = get("nonce").map(|n| format!("form:{n}"));
    match create_stay(&state, &user, place_id, &req, key.as_deref()).await {
        Ok(_) => Ok(back_to(place_id, &ListQuery::default(), "entered").into_response()),
        Err(Error::Validation(errors)) => {
            let mut page = build(&state, user, &ListQuery::default(), Some(place_id), lang)
                .await
                .map_err(|error| PageError { error, lang })?;
            let t = Tr(lang);
            for (field, list) in &errors.0 {
                // Name the field as the form labels it: "Guest 2 · Date of birth".
                let (guest, name, id) = match field.strip_prefix("guests[") {
                    Some(rest) => {
                        let (n, name) = rest.split_once("].").unwrap_or((rest, ""));
                        let n = n.parse::<usize>().unwrap_or(0);
                        (
                            format!("{} {} · ", t.get("guest.legend"), n + 1),
                            name,
                            format!("g{n}_{name}"),
                        )
                    }
                    None => (String::new(), field.as_str(), field.clone()),
                };
                let label = match name {
                    "full_name" | "date_of_birth" | "sex" | "nationality" | "document_type"
                    | "document_number" | "with_guest" | "address" | "document_expiry"
                    | "visa_number" | "entry_date" => {
                        t.dynamic(&format!("guest.{name}")).to_owned()
                    }
                    "expected_departure" | "purpose" => {
                        t.dynamic(&format!("stay.{name}")).to_owned()
                    }
                    "room" => t.get("hotel.room").to_owned(),
                    "arrived_at" => t.get("desk.arrived_at").to_owned(),
                    "consent" => t.get("desk.consent_label").to_owned(),
                    other => other.to_owned(),
                };
                // Said at the top of the form, each with its field's name,
                // and again under the field itself.
                if let Some(first) = list.first() {
                    page.field_errors.insert(id, t.error(first).to_owned());
                }
                for e in list {
                    page.errors
                        .push((format!("{guest}{label}"), t.error(e).to_owned()));
                }
            }
            page.form = form;
            Ok(render_status(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page,
            ))
        }
        Err(error) => Err(PageError { error, lang }),
    }
}

/// One guest of a room leaves before the others, or comes back (`undo`).
async fn guest_leaves(
    state: AppState,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    (place_id, id): (i64, Uuid),
    undo: bool,
    back: Option<&str>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    user.require_desk(place_id)?;
    let (db, tz) = (&state.db, state.tz());
    let done = if undo {
        super::desk::undo_guest_checkout(db, tz, place_id, id, user.id).await
    } else {
        super::desk::check_out_guest(db, tz, place_id, id, user.id).await
    };
    let query = filters_of(back, None);
    let changed = match done {
        Ok(changed) => changed,
        Err(error) => return refused(&state, user, &query, place_id, lang, error).await,
    };
    crate::stats::live::invalidate(&state, place_id).await;
    let done = match changed {
        None => "unchanged",
        Some(m) if m.room_closed => "checked_out",
        Some(m) => match (undo, m.children > 0) {
            (true, false) => "guest_back",
            (true, true) => "guest_back_children",
            (false, false) => "guest_left",
            (false, true) => "guest_left_children",
        },
    };
    Ok(back_to(place_id, &query, done).into_response())
}

async fn guest_checkout(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path(ids): Path<(i64, Uuid)>,
    body: axum::body::Bytes,
) -> PageResult<Response> {
    guest_leaves(state, user, headers, ids, false, back_of(&body).as_deref()).await
}

async fn guest_undo(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path(ids): Path<(i64, Uuid)>,
    body: axum::body::Bytes,
) -> PageResult<Response> {
    guest_leaves(state, user, headers, ids, true, back_of(&body).as_deref()).await
}

#[derive(serde::Deserialize)]
struct RevealForm {
    view: Option<String>,
    /// The filters the register had (the page's `filters`).
    back: Option<String>,
}

/// Show one guest's full document number: whoever reads the register may,
/// and each time is written in the audit log.
async fn reveal(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path((place_id, id)): Path<(i64, Uuid)>,
    Form(form): Form<RevealForm>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let lang = Lang::negotiate(None, &headers);
    let wrap = |error| PageError { error, lang };
    let user = user.ok_or(Error::Unauthorized)?;
    user.require_register(place_id).map_err(wrap)?;
    let belongs = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM guests g JOIN stays s ON s.id = g.stay_id AND s.status = 'active'
           WHERE g.id = $1 AND g.place_id = $2"#,
        id,
        place_id
    )
    .fetch_one(&state.db)
    .await
    .map_err(|e| wrap(e.into()))?;
    if belongs == 0 {
        return Err(wrap(Error::NotFound(
            "there is no such guest at this place",
        )));
    }
    crate::audit::record(
        &state.db,
        Some(user.id),
        "guest.reveal",
        Some(place_id),
        Some(&id.to_string()),
        serde_json::json!({}),
    )
    .await
    .map_err(wrap)?;
    let query = filters_of(form.back.as_deref(), form.view.as_deref());
    let mut page = build(&state, user, &query, Some(place_id), lang)
        .await
        .map_err(wrap)?;
    page.revealed = Some(id);
    Ok(crate::web::private(render(&page)))
}

async fn checkout(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path((place_id, id)): Path<(i64, Uuid)>,
    body: axum::body::Bytes,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let user = user.ok_or(Error::Unauthorized)?;
    let head = crate::checkin::repo::stay_head(&state.db, id).await?;
    if head.place_id != place_id {
        return Err(Error::NotFound("there is no such stay").into());
    }
    user.require_desk(place_id)?;
    let list = filters_of(back_of(&body).as_deref(), None);
    let departed =
        crate::checkin::repo::check_out(&state.db, state.tz(), id, "desk", Some(user.id)).await?;
    if !departed.changed {
        return Ok(back_to(place_id, &list, "unchanged").into_response());
    }
    crate::stats::live::invalidate(&state, place_id).await;
    Ok(back_to(place_id, &list, "checked_out").into_response())
}

#[derive(serde::Deserialize)]
struct ChangeForm {
    room: Option<String>,
    expected_departure: Option<String>,
    /// The tab to go back to.
    view: Option<String>,
    /// The filters to go back to (the page's `filters`).
    back: Option<String>,
}

/// Confirm, move, extend or undo a check-out from the register page.
async fn change(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path((place_id, id, change)): Path<(i64, Uuid, String)>,
    Form(form): Form<ChangeForm>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    user.require_desk(place_id)?;
    let (change, done) = match change.as_str() {
        "confirm" => (super::desk::Change::Confirm, "confirmed"),
        "room" => (
            super::desk::Change::Room(form.room.clone().unwrap_or_default()),
            "room",
        ),
        "extend" => {
            let raw = form.expected_departure.as_deref().unwrap_or_default();
            match crate::checkin::model::parse_date(raw) {
                Some(day) => (super::desk::Change::Departure(day), "extend"),
                None => {
                    let error = crate::error::FieldErrors::single(
                        "expected_departure",
                        "date_format",
                        "write the date as YYYY-MM-DD",
                    );
                    let query = filters_of(form.back.as_deref(), form.view.as_deref());
                    return refused(&state, user, &query, place_id, lang, error).await;
                }
            }
        }
        "undo-checkout" => (super::desk::Change::UndoCheckout, "undone"),
        "no-show" => (
            super::desk::Change::Void(super::desk::Void::NoShow),
            "no_show",
        ),
        "cancel" => (
            super::desk::Change::Void(super::desk::Void::Cancelled),
            "cancelled",
        ),
        _ => return Err(Error::NotFound("there is no such page").into()),
    };
    let view = form
        .view
        .as_deref()
        .filter(|v| ["arriving", "departing", "all"].contains(v))
        .unwrap_or("in_house");
    let query = filters_of(form.back.as_deref(), Some(view));
    match super::desk::apply(&state.db, state.tz(), place_id, id, &change, user.id).await {
        Ok(changed) => {
            crate::stats::live::invalidate(&state, place_id).await;
            let done = match &change {
                _ if !changed => "unchanged",
                super::desk::Change::Room(room) if !room.trim().is_empty() => {
                    // The move is made: a failure to look at the room only
                    // leaves the word about it out.
                    match super::desk::others_in_room(&state.db, place_id, id, room).await {
                        Ok(0) => done,
                        Ok(_) => "room_shared",
                        Err(error) => {
                            tracing::warn!(%error, "the stays in the room moved to were not counted");
                            done
                        }
                    }
                }
                _ => done,
            };
            Ok(back_to(place_id, &query, done).into_response())
        }
        Err(error) => refused(&state, user, &query, place_id, lang, error).await,
    }
}

/// A row's action refused: why, said above the register, which stays as it
/// was (a refusal of the current state or of what was typed); any other
/// error on a page of its own.
async fn refused(
    state: &AppState,
    user: CurrentUser,
    query: &ListQuery,
    place_id: i64,
    lang: Lang,
    error: Error,
) -> PageResult<Response> {
    if !matches!(error, Error::Validation(_) | Error::Conflict(_)) {
        return Err(PageError { error, lang });
    }
    let mut page = build(state, user, query, Some(place_id), lang)
        .await
        .map_err(|error| PageError { error, lang })?;
    page.alert = Some(crate::web::reason(Tr(lang), &error));
    Ok(render_status(error.status(), &page))
}

#[derive(Template)]
#[template(path = "screen.html")]
struct ScreenPage {
    t: Tr,
    /// The screen also speaks English to foreign guests.
    en: Tr,
    place: String,
    image: String,
    refresh: i64,
}

/// The reception screen: a code that changes every 30 seconds, so a check-in
/// through it proves the guest stood at the desk. The page reloads itself at
/// each change without any script.
async fn screen(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path(place_id): Path<i64>,
) -> PageResult {
    let lang = Lang::negotiate(None, &headers);
    let wrap = |error: Error| PageError { error, lang };
    let user = user.ok_or(Error::Unauthorized)?;
    if !user.works_at(place_id) && user.role != crate::auth::Role::Admin {
        return Err(wrap(Error::Forbidden(
            "only this place's people open its reception screen",
        )));
    }
    let place = places::get(&state.db, state.config.base_url(), place_id)
        .await
        .map_err(wrap)?;
    if place.kind != crate::places::model::PlaceKind::Accommodation {
        return Err(wrap(Error::NotFound(
            "only accommodations have a reception screen",
        )));
    }
    let code = place
        .code
        .ok_or_else(|| wrap(Error::NotFound("this place has no active code")))?;
    let now = Utc::now().timestamp();
    let live = state.presence.live_code(&code, now);
    let payload = format!(
        "{}/{live}",
        places::qr_payload(state.config.base_url(), &code)
    );
    let png = tokio::task::spawn_blocking(move || crate::qr::render::png(&payload, 640))
        .await
        .map_err(|e| wrap(anyhow::Error::from(e).into()))?
        .map_err(|e| wrap(e.into()))?;
    use base64::Engine;
    let window = crate::qr::presence::WINDOW_SECONDS;
    let mut response = render(&ScreenPage {
        t: Tr(lang),
        en: Tr(Lang::En),
        place: place.name,
        image: base64::engine::general_purpose::STANDARD.encode(png),
        refresh: window - now.rem_euclid(window),
    });
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// A time the desk typed in the city's clock (a `datetime-local` field, as
/// when copying the paper register), as the API takes it; anything else is
/// passed on for the API to refuse.
fn local_instant(tz: chrono_tz::Tz, typed: String) -> String {
    use chrono::Timelike;
    chrono::NaiveDateTime::parse_from_str(&typed, "%Y-%m-%dT%H:%M").map_or(typed, |t| {
        crate::localtime::instant(tz, t.date(), t.hour(), t.minute()).to_rfc3339()
    })
}
