//! `/office`: the tourism office's page: today's figures, the summary for a
//! range, and the places with their codes.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Datelike, NaiveDate};

use super::live::{self, Live};
use super::repo::{self, Summary};
use super::routes::{range, SummaryQuery};
use crate::auth::CurrentUser;
use crate::error::Error;
use crate::i18n::{Lang, Tr};
use crate::places::model::{Place, PlaceInput, ACCOMMODATION_TYPES};
use crate::places::repo as places;
use crate::web::{same_origin, PageError, PageResult};
use crate::{localtime, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/office", get(page))
        .route("/office/places", post(create_place))
        .route("/office/places/{id}/rotate", post(rotate))
}

#[derive(Template)]
#[template(path = "office.html")]
struct OfficePage {
    t: Tr,
    user: CurrentUser,
    summary: Summary,
    comparison: super::compare::Comparison,
    compliance: super::compliance::Compliance,
    charts: Vec<super::dashboard::Chart>,
    tz: chrono_tz::Tz,
    live: Live,
    places: Vec<Place>,
    wards: Vec<String>,
    types: &'static [&'static str],
    /// What to fix, in the reader's language, shown above the form it concerns.
    range_errors: Vec<String>,
    place_errors: Vec<String>,
    form: PlaceForm,
    /// What the office's last action did, in words, above the places.
    done: Option<String>,
}

impl OfficePage {
    /// The last full month (YYYY-MM), which the monthly report shows first.
    fn last_month(&self) -> String {
        let today = crate::localtime::date(self.tz, chrono::Utc::now());
        let first = today.with_day(1).unwrap_or(today);
        (first - chrono::Duration::days(1))
            .format("%Y-%m")
            .to_string()
    }
    fn day(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        at.with_timezone(&self.tz).format("%d/%m/%Y").to_string()
    }
    /// The period the comparison is of, "01/12/2026–03/12/2026".
    fn period(&self) -> String {
        let current = &self.comparison.current;
        format!(
            "{}–{}",
            current.from.format("%d/%m/%Y"),
            current.to.format("%d/%m/%Y")
        )
    }
    /// A period's dates, as the comparison's head and a phone's cards give
    /// an earlier one: "01/11–30/11/2026".
    fn dates(&self, from: &NaiveDate, to: &NaiveDate) -> String {
        format!("{}–{}", from.format("%d/%m"), to.format("%d/%m/%Y"))
    }
    /// Under the comparison, when an earlier period begins before the
    /// records do: from which day they run.
    fn records_note(&self) -> Option<String> {
        let since = self
            .comparison
            .records_since
            .filter(|_| self.comparison.cut_short())?;
        Some(
            self.t
                .get("stats.records_since")
                .replace("{date}", &since.format("%d/%m/%Y").to_string()),
        )
    }
    /// "+12.5 %", "−3.0 %" or "–".
    fn pct(&self, change: &Option<f64>) -> String {
        match change {
            Some(c) if *c > 0.0 => format!("+{} %", self.t.decimal(*c, 1)),
            Some(c) => format!("{} %", self.t.decimal(*c, 1)).replace('-', "−"),
            None => "–".to_owned(),
        }
    }
}

fn translated(t: Tr, error: Error) -> Result<Vec<String>, Error> {
    match error {
        Error::Validation(fields) => Ok(fields
            .0
            .iter()
            .flat_map(|(field, list)| {
                let label = t.dynamic(&format!("office.field.{field}"));
                let label = if label.is_empty() {
                    field.clone()
                } else {
                    label.to_owned()
                };
                list.iter().map(move |e| format!("{label}: {}", t.error(e)))
            })
            .collect()),
        other => Err(other),
    }
}

/// The office page; a bad range or a rejected new place is explained on it,
/// with what was typed kept.
async fn office_page(
    state: &AppState,
    user: CurrentUser,
    lang: Lang,
    q: &SummaryQuery,
    place_errors: Vec<String>,
    form: PlaceForm,
    done: &DoneQuery,
) -> Result<Response, Error> {
    let t = Tr(lang);
    let today = localtime::today(state.tz());
    let (range_errors, (from, to)) = match range(q, today) {
        Ok(range) => (Vec::new(), range),
        Err(e) => (translated(t, e)?, range(&SummaryQuery::default(), today)?),
    };
    let mut figures = super::dashboard::figures(
        repo::Source::Rollups,
        &state.read_db,
        (from, to),
        today,
        state.tz(),
    )
    .await?;
    repo::fold_for_reader(&mut figures.summary, user.role, state.config.stats_min_cell);
    let compliance = super::compliance::compliance(&state.read_db, 7, from, to, state.tz()).await?;
    let charts = super::dashboard::charts(&figures, t);
    let super::dashboard::Figures {
        summary,
        comparison,
        ..
    } = figures;
    let live = live::get(state, None).await?;
    let places = places::list(&state.db, state.config.base_url(), None, None).await?;
    let wards = crate::regions::ward_names(&state.db).await?;
    // "Registered: Khách sạn …", said of a place still in the list.
    let done = match (done.done.as_deref(), done.place) {
        (Some(what @ ("created" | "rotated")), Some(id)) => places
            .iter()
            .find(|p| p.id == id)
            .map(|p| format!("{} {}", t.dynamic(&format!("office.done.{what}")), p.name)),
        _ => None,
    };
    let status = if range_errors.is_empty() && place_errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(crate::web::render_status(
        status,
        &OfficePage {
            t,
            user,
            summary,
            comparison,
            compliance,
            charts,
            tz: state.tz(),
            live,
            places,
            wards,
            types: &ACCOMMODATION_TYPES,
            range_errors,
            place_errors,
            form,
            done,
        },
    ))
}

/// What the office's last action did, and to which place.
#[derive(Debug, Default, serde::Deserialize)]
struct DoneQuery {
    done: Option<String>,
    place: Option<i64>,
}

async fn page(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Query(q): Query<SummaryQuery>,
    Query(done): Query<DoneQuery>,
) -> PageResult {
    let lang = Lang::negotiate(None, &headers);
    let user = user.ok_or(Error::Unauthorized)?;
    user.require_office()
        .map_err(|error| PageError { error, lang })?;
    office_page(
        &state,
        user,
        lang,
        &q,
        Vec::new(),
        PlaceForm::default(),
        &done,
    )
    .await
    .map_err(|error| PageError { error, lang })
}

#[derive(Debug, Default, serde::Deserialize)]
struct PlaceForm {
    kind: String,
    name: String,
    address: Option<String>,
    ward: String,
    accommodation_type: Option<String>,
    /// Stars, 1 to 5; empty: unrated.
    class: Option<String>,
    rooms: Option<String>,
    beds: Option<String>,
}

async fn create_place(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Form(form): Form<PlaceForm>,
) -> PageResult<Response> {
    let lang = Lang::negotiate(None, &headers);
    let wrap = |error: Error| PageError { error, lang };
    same_origin(&headers).map_err(wrap)?;
    let user = user.ok_or(Error::Unauthorized)?;
    user.require_office().map_err(wrap)?;
    let accommodation = form.kind == "accommodation";
    let mut errors = crate::error::FieldErrors::default();
    let mut number = |v: &Option<String>, field: &str| match v
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(text) => {
            let parsed = text.parse::<i32>().ok().filter(|n| *n >= 0);
            if parsed.is_none() {
                errors.add(field, "whole_number", "must be a whole number, 0 or more");
            }
            parsed
        }
    };
    // In the order of the form's fields. Out of range, the class is refused
    // with the API's own check.
    let class = number(&form.class, "class").map(|c| i16::try_from(c).unwrap_or(i16::MAX));
    let rooms = number(&form.rooms, "rooms");
    let beds = number(&form.beds, "beds");
    let input = PlaceInput {
        kind: Some(form.kind.clone()),
        name: Some(form.name.clone()),
        address: form.address.clone(),
        ward: Some(form.ward.clone()).filter(|w| !w.is_empty()),
        accommodation_type: form.accommodation_type.clone().filter(|_| accommodation),
        class: class.filter(|_| accommodation),
        rooms: rooms.filter(|_| accommodation),
        beds: beds.filter(|_| accommodation),
        ..Default::default()
    };
    let result = match errors.is_empty() {
        true => places::create(&state, &input, user.id).await,
        false => Err(Error::Validation(errors)),
    };
    match result {
        Ok(place) => Ok(
            Redirect::to(&format!("/office?done=created&place={}#done", place.id)).into_response(),
        ),
        Err(e @ Error::Validation(_)) => {
            let messages = translated(Tr(lang), e).map_err(wrap)?;
            office_page(
                &state,
                user,
                lang,
                &SummaryQuery::default(),
                messages,
                form,
                &DoneQuery::default(),
            )
            .await
            .map_err(wrap)
        }
        Err(error) => Err(wrap(error)),
    }
}

async fn rotate(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    same_origin(&headers)?;
    let user = user.ok_or(Error::Unauthorized)?;
    user.require_office()?;
    places::rotate_code(&state, id, user.id).await?;
    Ok(Redirect::to(&format!("/office?done=rotated&place={id}#done")).into_response())
}
