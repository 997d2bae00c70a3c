//! Every route of the service, tried by every role. The routes are read from
//! the router's source (each `.route(path, method(…))` under `src/`), and
//! each must have a rule below: a route added without one fails this test,
//! and so does a role let in where its rule says no, or kept out where it
//! says yes. No route may answer 5xx to anyone.

mod common;

use std::collections::BTreeSet;

use common::TestApp;
use luutru::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    Admin,
    Office,
    Inspector,
    /// Manager of the place the request is about.
    Manager,
    /// Staff of the place the request is about.
    Staff,
    /// Staff of another place.
    Outsider,
}

use Who::*;

const EVERYONE: &[Who] = &[
    Anonymous, Admin, Office, Inspector, Manager, Staff, Outsider,
];
const SIGNED_IN: &[Who] = &[Admin, Office, Inspector, Manager, Staff, Outsider];
const OFFICE: &[Who] = &[Admin, Office];
const PLACE_ADMIN: &[Who] = &[Admin, Office, Manager];
/// Guests' personal data: the place's people, inspectors and admins.
const REGISTER: &[Who] = &[Admin, Inspector, Manager, Staff];
/// Changing the register: the place's people only.
const DESK: &[Who] = &[Manager, Staff];
const STATS: &[Who] = &[Admin, Office, Inspector];
/// A place's codes and posters: the office and the place's people.
const PLACE_PRINT: &[Who] = &[Admin, Office, Manager, Staff];

/// Who may use each route (method and path as the router writes them).
const RULES: &[(&str, &str, &[Who])] = &[
    ("GET", "/healthz", EVERYONE),
    ("GET", "/readyz", EVERYONE),
    ("GET", "/api/openapi.json", EVERYONE),
    ("GET", "/api/docs", EVERYONE),
    ("GET", "/static/app.css", EVERYONE),
    ("GET", "/static/checkin.js", EVERYONE),
    ("GET", "/static/desk.js", EVERYONE),
    ("GET", "/static/office.js", EVERYONE),
    ("GET", "/favicon.ico", EVERYONE),
    // Signing in and out.
    ("POST", "/api/v1/auth/login", EVERYONE),
    ("POST", "/api/v1/auth/logout", EVERYONE),
    ("GET", "/api/v1/auth/me", SIGNED_IN),
    ("GET", "/", EVERYONE),
    ("GET", "/login", EVERYONE),
    ("POST", "/login", EVERYONE),
    ("POST", "/logout", EVERYONE),
    // The signed-in pages' language switcher, which any page may link to.
    ("GET", "/lang/{lang}", EVERYONE),
    // Only a sign-in whose password was right and whose code is owed
    // (second_factor.rs); every other caller is sent to the sign-in page.
    ("GET", "/login/code", &[]),
    ("POST", "/login/code", &[]),
    // Visitors: the scanned code, the receipt link, document reading.
    ("GET", "/c/{code}", EVERYONE),
    ("POST", "/c/{code}", EVERYONE),
    ("GET", "/C/{code}", EVERYONE),
    ("POST", "/C/{code}", EVERYONE),
    ("GET", "/c/{code}/{live}", EVERYONE),
    ("GET", "/C/{code}/{live}", EVERYONE),
    ("GET", "/stay/{id}", EVERYONE),
    ("POST", "/stay/{id}/checkout", EVERYONE),
    ("POST", "/api/v1/checkins", EVERYONE),
    ("POST", "/api/v1/documents/parse", EVERYONE),
    ("POST", "/api/v1/documents/photo", EVERYONE),
    // Without the visitor's token: the place's people only.
    ("POST", "/api/v1/stays/{id}/checkout", DESK),
    // Places.
    ("POST", "/api/v1/places", OFFICE),
    ("GET", "/api/v1/places", SIGNED_IN),
    (
        "GET",
        "/api/v1/places/{id}",
        &[Admin, Office, Inspector, Manager, Staff],
    ),
    ("PATCH", "/api/v1/places/{id}", OFFICE),
    ("POST", "/api/v1/places/{id}/qr/rotate", PLACE_ADMIN),
    ("GET", "/api/v1/places/{id}/codes", PLACE_ADMIN),
    ("GET", "/api/v1/places/{id}/qr.png", PLACE_PRINT),
    ("GET", "/api/v1/places/{id}/qr.svg", PLACE_PRINT),
    ("GET", "/api/v1/places/{id}/poster.pdf", PLACE_PRINT),
    ("GET", "/api/v1/posters.pdf", OFFICE),
    ("GET", "/api/v1/posters.zip", OFFICE),
    // The register.
    ("GET", "/api/v1/places/{id}/stays", REGISTER),
    ("POST", "/api/v1/places/{id}/stays", DESK),
    ("GET", "/api/v1/places/{id}/stays.csv", REGISTER),
    ("GET", "/api/v1/places/{id}/stays.xlsx", REGISTER),
    ("PATCH", "/api/v1/places/{id}/guests/{guest_id}", DESK),
    ("GET", "/api/v1/places/{id}/police.xlsx", REGISTER),
    ("GET", "/api/v1/places/{id}/police.csv", REGISTER),
    ("POST", "/api/v1/places/{id}/police/sent", DESK),
    (
        "GET",
        "/hotel",
        &[Admin, Inspector, Manager, Staff, Outsider],
    ),
    ("POST", "/hotel/{place}/stays", DESK),
    ("POST", "/hotel/{place}/stays/{id}/checkout", DESK),
    ("POST", "/hotel/{place}/guests/{id}/checkout", DESK),
    ("POST", "/hotel/{place}/guests/{id}/undo-checkout", DESK),
    ("POST", "/hotel/{place}/guests/{id}/reveal", REGISTER),
    ("POST", "/hotel/{place}/stays/{id}/{change}", DESK),
    ("GET", "/hotel/{place}/screen", &[Admin, Manager, Staff]),
    ("GET", "/hotel/{id}/guests/{guest_id}", DESK),
    ("POST", "/hotel/{id}/guests/{guest_id}", DESK),
    ("POST", "/hotel/{id}/police/sent", DESK),
    // A place's people.
    ("GET", "/api/v1/places/{id}/people", PLACE_ADMIN),
    ("POST", "/api/v1/places/{id}/people", PLACE_ADMIN),
    (
        "DELETE",
        "/api/v1/places/{id}/people/{user_id}",
        PLACE_ADMIN,
    ),
    (
        "POST",
        "/api/v1/places/{id}/people/{user_id}/password",
        PLACE_ADMIN,
    ),
    ("GET", "/api/v1/places/{id}/activity", &[Admin, Manager]),
    ("GET", "/hotel/{id}/team", PLACE_ADMIN),
    ("POST", "/hotel/{id}/team", PLACE_ADMIN),
    ("POST", "/hotel/{id}/team/{user_id}/remove", PLACE_ADMIN),
    ("POST", "/hotel/{id}/team/{user_id}/password", PLACE_ADMIN),
    // Statistics: the office and inspectors; a place's people for their own.
    ("GET", "/api/v1/stats/summary", STATS),
    ("GET", "/api/v1/stats/live", STATS),
    ("GET", "/api/v1/stats/compare", STATS),
    ("GET", "/api/v1/stats/compliance", STATS),
    ("GET", "/api/v1/stats/monthly.xlsx", STATS),
    ("GET", "/api/v1/stats/monthly.pdf", STATS),
    ("GET", "/api/v1/stats/chart.csv", STATS),
    ("GET", "/api/v1/stats/live/stream", STATS),
    ("GET", "/office", OFFICE),
    ("POST", "/office/places", OFFICE),
    ("POST", "/office/places/{id}/rotate", OFFICE),
    ("GET", "/api/v1/audit.csv", &[Admin]),
];

/// Routes served elsewhere than the public router.
const NOT_PUBLIC: &[&str] = &["src/metrics.rs"];

/// Every `(method, path)` the source gives a router.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut files = vec![std::path::PathBuf::from("src")];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let name = path.to_string_lossy().replace('\\', "/");
        if !name.ends_with(".rs") || NOT_PUBLIC.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let Some(path) = rest.trim_start().strip_prefix('"') else {
                continue;
            };
            let path = &path[..path.find('"').unwrap()];
            // The call's arguments, up to its closing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let call = &rest[..end];
            for method in ["get", "post", "patch", "put", "delete"] {
                let mut from = 0;
                while let Some(i) = call[from..].find(&format!("{method}(")) {
                    let i = from + i;
                    let before = call[..i].chars().last().unwrap_or(' ');
                    if !before.is_alphanumeric() && before != '_' {
                        found.insert((method.to_uppercase(), path.to_owned()));
                    }
                    from = i + 1;
                }
            }
        }
    }
    found
}

#[test]
fn every_route_has_a_rule() {
    let ruled: BTreeSet<(String, String)> = RULES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let routes = routes_in_source();
    assert!(routes.len() > 60, "the source scan found {routes:?}");
    let unruled: Vec<_> = routes.difference(&ruled).collect();
    assert!(
        unruled.is_empty(),
        "routes without an access rule: {unruled:?}"
    );
    let stale: Vec<_> = ruled.difference(&routes).collect();
    assert!(
        stale.is_empty(),
        "rules for routes that do not exist: {stale:?}"
    );
}

struct World {
    place: i64,
    code: String,
    stay: String,
    guest: String,
    victim: i64,
}

async fn world(app: &TestApp) -> World {
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    let place = hotel["id"].as_i64().unwrap();
    let stay = app
        .check_in(&hotel, json!([common::korean_guest()]), 2)
        .await;
    let victim = luutru::auth::repo::create_user(
        &app.pool,
        "victim@test.vn",
        "correct horse battery",
        Role::Staff,
        &[place],
    )
    .await
    .unwrap();
    World {
        place,
        code: hotel["code"].as_str().unwrap().to_owned(),
        stay: stay["stay_id"].as_str().unwrap().to_owned(),
        guest: stay["guests"][0]["id"].as_str().unwrap().to_owned(),
        victim,
    }
}

fn url_of(path: &str, w: &World) -> String {
    let stay_path = path.starts_with("/stay/")
        || path.starts_with("/api/v1/stays/")
        || path.contains("/stays/{id}");
    let mut url = path
        .replace("{code}", &w.code)
        .replace("{live}", "AAAA")
        .replace("{lang}", "en")
        .replace("{place}", &w.place.to_string())
        .replace("{guest_id}", &w.guest)
        .replace("{user_id}", &w.victim.to_string())
        .replace("{change}", "room");
    url = if stay_path {
        url.replace("{id}", &w.stay)
    } else if path.contains("/guests/{id}") {
        url.replace("{id}", &w.guest)
    } else {
        url.replace("{id}", &w.place.to_string())
    };
    // Queries some routes need to get past their parameters to their rules.
    if path.starts_with("/api/v1/stats/")
        || path == "/api/v1/posters.pdf"
        || path == "/api/v1/posters.zip"
    {
        url.push_str("?from=2026-01-01&to=2026-01-31&month=2026-01&chart=by_day");
    }
    url
}

/// A well-formed body for the routes that read one, so that a refusal is
/// the rule's and not the body's; `n` keeps created things apart.
fn body_of(method: &str, path: &str, n: usize) -> Option<String> {
    let departure = (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        + chrono::Duration::days(2))
    .format("%Y-%m-%d")
    .to_string();
    let json = match (method, path) {
        ("POST", "/api/v1/places/{id}/stays") => json!({
            "guests": [{"full_name": "Kim Min Jun", "date_of_birth": "1990-01-01", "sex": "M",
                        "nationality": "KOR", "document_type": "passport",
                        "document_number": format!("R{n:07}")}],
            "expected_departure": departure, "room": "101", "purpose": "tourism"}),
        ("POST", "/api/v1/places/{id}/police/sent") => json!({"batch": 1, "reference": "CA-1"}),
        ("POST", "/api/v1/places/{id}/people") => json!({
            "email": format!("new{n}@roles.test.vn"), "role": "staff",
            "password": "correct horse battery"}),
        ("POST", "/api/v1/places/{id}/people/{user_id}/password") => {
            json!({"password": "another horse battery"})
        }
        ("POST", "/hotel/{id}/police/sent") => return Some("batch=1&reference=CA-1".into()),
        ("POST", "/hotel/{id}/team") => {
            return Some(format!(
                "email=page{n}%40roles.test.vn&role=staff&password=correct+horse+battery"
            ))
        }
        ("POST", "/hotel/{id}/team/{user_id}/password") => {
            return Some("password=another+horse+battery".into())
        }
        ("POST", "/office/places") => {
            return Some(format!(
                "kind=attraction&name=Site+{n}&ward=V%C5%A9ng+T%C3%A0u"
            ))
        }
        _ => return None,
    };
    Some(json.to_string())
}

/// Whether an answer keeps the caller out: 401, 403, or a page's redirect
/// to the sign-in page.
fn kept_out(status: StatusCode, location: Option<&str>) -> bool {
    status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || (status.is_redirection() && location == Some("/"))
}

#[sqlx::test]
async fn every_role_gets_exactly_what_its_rule_allows(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let w = world(&app).await;
    let other = {
        let office = app.sign_in_as(Role::Office, &[]).await;
        app.hotel(&office).await["id"].as_i64().unwrap()
    };
    let mut wrong = Vec::new();
    let mut sent = 0;
    let mut routes: Vec<_> = routes_in_source().into_iter().collect();
    // Signing out last, with sessions of its own (below).
    routes.sort_by_key(|(_, p)| p.ends_with("logout"));
    for who in EVERYONE {
        let (role, places) = match who {
            Anonymous => (None, vec![]),
            Admin => (Some(Role::Admin), vec![]),
            Office => (Some(Role::Office), vec![]),
            Inspector => (Some(Role::Inspector), vec![]),
            Manager => (Some(Role::Manager), vec![w.place]),
            Staff => (Some(Role::Staff), vec![w.place]),
            Outsider => (Some(Role::Staff), vec![other]),
        };
        let user = match role {
            None => None,
            Some(role) => Some(
                luutru::auth::repo::create_user(
                    &app.pool,
                    &format!("{who:?}@roles.test.vn").to_lowercase(),
                    "correct horse battery",
                    role,
                    &places,
                )
                .await
                .unwrap(),
            ),
        };
        for (method, path) in &routes {
            let rule = RULES
                .iter()
                .find(|(m, p, _)| m == method && p == path)
                .map_or(&[][..], |r| r.2);
            // A session of its own for each request: signing out, or a
            // password change, ends only that one.
            let token = match user {
                None => None,
                Some(id) => Some(
                    luutru::auth::repo::create_session(&app.pool, id, 1, false)
                        .await
                        .unwrap(),
                ),
            };
            let url = app.url(&url_of(path, &w));
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let page = !path.starts_with("/api/");
            let mut request = app.client.request(method.clone(), &url);
            if let Some(token) = &token {
                request = request
                    .bearer_auth(token)
                    .header("cookie", format!("luutru_session={token}"));
            }
            if method != Method::GET {
                sent += 1;
                let body = body_of(method.as_str(), path, sent);
                request = if page {
                    request
                        .header("origin", app.base.clone())
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body.unwrap_or_default())
                } else {
                    request
                        .header("content-type", "application/json")
                        .body(body.unwrap_or_else(|| "{}".into()))
                };
            }
            if path.ends_with("/stream") {
                request = request.timeout(std::time::Duration::from_millis(500));
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) if e.is_timeout() => continue,
                Err(e) => panic!("{method} {url}: {e}"),
            };
            let status = response.status();
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(str::to_owned);
            if status.is_server_error() {
                wrong.push(format!("{who:?} {method} {path}: {status}"));
                continue;
            }
            // Signing out ends on the sign-in page, whoever asks; switching
            // language goes there when there is no page to go back to: not
            // a refusal.
            let out = !path.ends_with("logout")
                && !path.starts_with("/lang/")
                && kept_out(status, location.as_deref());
            let allowed = rule.contains(who);
            if out == allowed {
                wrong.push(format!(
                    "{who:?} {method} {path}: {status} {} (rule: {})",
                    location.unwrap_or_default(),
                    if allowed { "let in" } else { "kept out" }
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
