//! A visitor's check-in from a scanned code, shared by the API and the page:
//! parse, then write the stay (or visit) and its idempotency record in one
//! transaction, then refresh what follows a commit.

use axum::http::StatusCode;
use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest;

use super::model::{self, GuestInput, Purpose};
use super::repo::{self, NewStay};
use super::{batch, stay_batch};
use crate::error::{Error, FieldErrors, Result};
use crate::idempotency::{self, Start};
use crate::localtime;
use crate::places::model::PlaceKind;
use crate::places::repo::ScanTarget;
use crate::AppState;

/// A check-in: guests for an accommodation, a party for a tourist site.
#[derive(Debug, Default, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinRequest {
    /// The code from the scanned poster (the last part of the check-in URL).
    pub code: String,
    /// Accommodation: everyone staying, 1 to 60.
    pub guests: Option<Vec<GuestInput>>,
    /// Accommodation: YYYY-MM-DD.
    #[schema(format = Date)]
    pub expected_departure: Option<String>,
    /// Accommodation, required: tourism, business, visiting_family or other.
    pub purpose: Option<String>,
    /// Accommodation: the guest agreed to the personal-data notice.
    pub consent: Option<bool>,
    /// Attraction: people in the party, 1 to 500.
    pub party_size: Option<i64>,
    /// Attraction: country code, e.g. VNM.
    pub origin_country: Option<String>,
    /// Attraction: province of origin for Vietnamese visitors (current or former name).
    pub origin_province: Option<String>,
    /// Accommodation: the token of a form opened from the reception screen's
    /// rotating code; the stay is then "verified at the desk".
    pub presence_token: Option<String>,
    /// Attraction: an opaque id the phone keeps (the page keeps one in a
    /// cookie). A second count-in from the same id at the same site within
    /// `VISIT_REPEAT_MINUTES` answers 200 with `"counted": false` and counts
    /// nobody again.
    pub device_id: Option<String>,
}

/// Expected departure: a date from the arrival day up to a year later.
pub fn parse_departure(
    raw: Option<&str>,
    arrival: NaiveDate,
    errors: &mut FieldErrors,
) -> Option<NaiveDate> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.add(
                "expected_departure",
                "required",
                "give the day you expect to leave",
            );
            None
        }
        Some(raw) => match model::parse_date(raw) {
            None => {
                errors.add(
                    "expected_departure",
                    "date_format",
                    "write the date as YYYY-MM-DD",
                );
                None
            }
            Some(d) if d < arrival => {
                errors.add(
                    "expected_departure",
                    "departure_past",
                    "the departure cannot be before the arrival",
                );
                None
            }
            Some(d) if d > arrival + Duration::days(model::MAX_STAY_DAYS) => {
                errors.add(
                    "expected_departure",
                    "departure_far",
                    "a stay declared here lasts at most a year",
                );
                None
            }
            Some(d) => Some(d),
        },
    }
}

/// The purpose of a stay, which the police notification gives: asked for,
/// never assumed (the forms preselect one; an API client sends it).
pub fn parse_purpose(raw: Option<&str>, errors: &mut FieldErrors) -> Option<Purpose> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.add(
                "purpose",
                "required",
                "say why you are staying: tourism, business, visiting_family or other",
            );
            None
        }
        Some(p) => {
            let parsed = Purpose::parse(p);
            if parsed.is_none() {
                errors.add(
                    "purpose",
                    "purpose_value",
                    "must be tourism, business, visiting_family or other",
                );
            }
            parsed
        }
    }
}

/// A request's idempotency key with its scope and the request's hash, as a
/// batch writer takes it.
fn keyed(
    scope: &str,
    key: Option<&str>,
    req: &CheckinRequest,
) -> Option<(String, String, Vec<u8>)> {
    key.map(|k| {
        (
            scope.to_owned(),
            k.to_owned(),
            idempotency::request_hash(req),
        )
    })
}

/// Check in at the place behind a verified code from a client address
/// (rate-limited per address and place). Returns the status and the JSON
/// answer, which a retry with the same key gets again.
pub async fn check_in(
    state: &AppState,
    target: &ScanTarget,
    client_addr: &str,
    req: &CheckinRequest,
    idempotency_key: Option<&str>,
) -> Result<(StatusCode, Value)> {
    let limit = match target.kind {
        PlaceKind::Accommodation => "checkin",
        PlaceKind::Attraction => "visit",
    };
    let who = format!("{client_addr}|{}", target.place_id);
    state
        .config
        .rate_limits
        .check(&state.cache, limit, &who)
        .await?;
    let scope = format!("checkin:{}", target.place_id);
    let answer = match target.kind {
        PlaceKind::Accommodation => stay(state, target, req, idempotency_key, &scope).await,
        PlaceKind::Attraction => visit(state, target, req, idempotency_key, &scope).await,
    };
    match (answer, idempotency_key) {
        // A retry of a request answered before no longer passes the checks
        // (the day has turned since, and a date it gave is now past): it
        // gets its first answer, as any retry does.
        (Err(Error::Validation(errors)), Some(key)) => {
            match idempotency::stored(&state.db, &state.cipher, &scope, key, req).await? {
                Some(first) => Ok(first),
                None => Err(Error::Validation(errors)),
            }
        }
        (answer, _) => answer,
    }
}

async fn stay(
    state: &AppState,
    target: &ScanTarget,
    req: &CheckinRequest,
    key: Option<&str>,
    scope: &str,
) -> Result<(StatusCode, Value)> {
    let now = Utc::now();
    let today = localtime::date(state.tz(), now);
    let mut errors = FieldErrors::default();
    let guests = model::parse_guests(
        req.guests.as_deref().unwrap_or_default(),
        today,
        false,
        &mut errors,
    );
    let departure = parse_departure(req.expected_departure.as_deref(), today, &mut errors);
    let purpose = parse_purpose(req.purpose.as_deref(), &mut errors);
    let presence = match req
        .presence_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => "printed_code",
        Some(token)
            if state
                .presence
                .check_token(token, target.place_id, now.timestamp()) =>
        {
            "desk_screen"
        }
        Some(_) => {
            errors.add(
                "presence_token",
                "presence_expired",
                "the form from the desk screen has expired: scan the code on the screen again",
            );
            "printed_code"
        }
    };
    if req.consent != Some(true) {
        errors.add(
            "consent",
            "consent_required",
            "read the notice on personal data and agree to it",
        );
    }
    let (departure, purpose) = match (departure, purpose) {
        (Some(d), Some(p)) if errors.is_empty() => (d, p),
        _ => return Err(Error::Validation(errors)),
    };

    let token = crate::auth::repo::new_token();
    let written = state
        .stays()
        .write(stay_batch::Stay {
            place_id: target.place_id,
            place_name: target.name.clone(),
            expected_departure: departure,
            purpose,
            presence,
            token_hash: crate::auth::repo::token_hash(&token),
            token: token.clone(),
            sealed: guests
                .iter()
                .map(|g| repo::Sealed::of(&state.cipher, g))
                .collect(),
            guests: guests.clone(),
            key: keyed(scope, key, req),
        })
        .await?;
    if let batch::Written::Answer(status, body) = written {
        crate::metrics::checked_in("stay", "self_qr");
        return Ok((status, body));
    }
    // Its key was used before: the first answer again, or a conflict. Should
    // the key be free by now (expired, or given back because the request
    // that held it first was refused), a stay of its own.
    let mut guard = match idempotency::start(&state.db, &state.cipher, scope, key, req).await? {
        Start::Replay(status, body) => return Ok((status, body)),
        Start::Fresh(guard) => guard,
    };
    let (stay_id, created) = repo::insert_stay(
        &mut guard.tx,
        &state.cipher,
        state.tz(),
        &NewStay {
            place_id: target.place_id,
            room: None,
            arrived_at: now,
            expected_departure: departure,
            departed_at: None,
            purpose,
            source: "self_qr",
            presence,
            consent_version: Some(&state.config.consent_version),
            checkout_token_hash: Some(crate::auth::repo::token_hash(&token)),
            created_by: None,
            confirmed: false,
            guests: &guests,
        },
    )
    .await?;
    let body = stay_batch::answer(
        state.config.base_url(),
        (target.place_id, &target.name),
        stay_id,
        &token,
        now,
        departure,
        &created,
    );
    guard.commit(StatusCode::CREATED, &body).await?;
    crate::stats::live::invalidate(state, target.place_id).await;
    Ok((StatusCode::CREATED, body))
}

async fn visit(
    state: &AppState,
    target: &ScanTarget,
    req: &CheckinRequest,
    key: Option<&str>,
    scope: &str,
) -> Result<(StatusCode, Value)> {
    let mut errors = FieldErrors::default();
    let party = match req.party_size {
        None => {
            errors.add(
                "party_size",
                "required",
                "say how many people are in your party",
            );
            None
        }
        Some(n @ 1..=500) => Some(n as i32),
        Some(_) => {
            errors.add("party_size", "party_range", "a party is 1 to 500 people");
            None
        }
    };
    let country = model::country_field(
        req.origin_country.as_deref(),
        "origin_country",
        Some("say which country you come from"),
        &mut errors,
    );
    let province = match req
        .origin_province
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(_) if country.as_deref() != Some("VNM") => None,
        Some(name) => match crate::regions::find_province(&state.db, name).await? {
            Some((id, _)) => Some(id),
            None => {
                errors.add(
                    "origin_province",
                    "province_unknown",
                    "choose a province from the list",
                );
                None
            }
        },
    };
    let (party, country) = match (party, country) {
        (Some(p), Some(c)) if errors.is_empty() => (p, c),
        _ => return Err(Error::Validation(errors)),
    };

    let device = req
        .device_id
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| sha2::Sha256::digest(d.as_bytes())[..16].to_vec());

    let written = state
        .visits()
        .write(batch::Visit {
            place_id: target.place_id,
            place_name: target.name.clone(),
            party_size: party,
            country: country.clone(),
            province,
            device: device.clone(),
            key: keyed(scope, key, req),
        })
        .await?;
    match written {
        batch::Written::Answer(status, body) => {
            if status == StatusCode::CREATED {
                crate::metrics::checked_in("visit", "self_qr");
            }
            Ok((status, body))
        }
        batch::Written::Alone => {
            let visit = Alone {
                party,
                country: &country,
                province,
                device: device.as_deref(),
            };
            visit_alone(state, target, req, key, scope, visit).await
        }
    }
}

/// A count-in written on its own transaction: a request whose idempotency
/// key was used before, which replays the first answer or conflicts.
struct Alone<'a> {
    party: i32,
    country: &'a str,
    province: Option<i32>,
    device: Option<&'a [u8]>,
}

async fn visit_alone(
    state: &AppState,
    target: &ScanTarget,
    req: &CheckinRequest,
    key: Option<&str>,
    scope: &str,
    visit: Alone<'_>,
) -> Result<(StatusCode, Value)> {
    let Alone {
        party,
        country,
        province,
        device,
    } = visit;
    let mut guard = match idempotency::start(&state.db, &state.cipher, scope, key, req).await? {
        Start::Replay(status, body) => return Ok((status, body)),
        Start::Fresh(guard) => guard,
    };
    if let Some(device) = device {
        let window = state.config.visit_repeat_minutes;
        if let Some(earlier) =
            repo::recent_visit(&mut guard.tx, target.place_id, device, window).await?
        {
            // Nothing stored, so no key kept, as in a batch (see the
            // `write_visits` function): dropping the transaction gives the
            // key back, and a retry gets this earlier count-in again.
            let body = batch::answer(
                false,
                earlier.id,
                target.place_id,
                &target.name,
                earlier.party_size,
                earlier.visited_at,
            );
            return Ok((StatusCode::OK, body));
        }
    }
    let (visit_id, at) = repo::insert_visit(
        &mut guard.tx,
        state.tz(),
        target.place_id,
        party,
        country,
        province,
        device,
    )
    .await?;
    let body = batch::answer(true, visit_id, target.place_id, &target.name, party, at);
    guard.commit(StatusCode::CREATED, &body).await?;
    crate::stats::live::invalidate(state, target.place_id).await;
    Ok((StatusCode::CREATED, body))
}
