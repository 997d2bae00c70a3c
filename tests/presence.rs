//! The reception screen's rotating code proves presence: a check-in through
//! it is "verified at the desk", one through the printed poster is
//! "self-declared", and an old screen code is refused.

mod common;

use base64::Engine;
use common::{spawn, vietnamese_guest};
use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

fn decode(png: &[u8]) -> String {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    grids[0].decode().unwrap().1
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in page"))
        + start.len();
    &text[from..from + text[from..].find(end).unwrap()]
}

#[sqlx::test]
async fn a_check_in_from_the_reception_screen_is_verified_at_the_desk(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let code = place["code"].as_str().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let other = app
        .sign_in_as(
            Role::Staff,
            &[app.hotel(&office).await["id"].as_i64().unwrap()],
        )
        .await;

    // The screen shows a code that decodes to the check-in URL plus a live part.
    let screen = app
        .client
        .get(app.url(&format!("/hotel/{id}/screen")))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(screen.status(), StatusCode::OK);
    let html = screen.text().await.unwrap();
    assert!(
        html.contains("http-equiv=\"refresh\""),
        "the screen renews itself without script"
    );
    let png = base64::engine::general_purpose::STANDARD
        .decode(between(&html, "data:image/png;base64,", "\""))
        .unwrap();
    let url = decode(&png);
    let printed = format!("{}/C/{code}", app.base.to_uppercase());
    assert!(url.starts_with(&format!("{printed}/")), "{url}");
    assert!(
        luutru::qr::render::version(&url).unwrap() <= 4,
        "still a sparse code"
    );

    // Opening it gives a form that carries a presence token.
    let page = app.client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let presence = between(&html, "name=\"presence\" value=\"", "\"").to_owned();
    let nonce = between(&html, "name=\"nonce\" value=\"", "\"").to_owned();
    let departure = (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        + chrono::Duration::days(1))
    .format("%Y-%m-%d")
    .to_string();
    let form = [
        ("nonce", nonce.as_str()),
        ("presence", presence.as_str()),
        ("guest_count", "1"),
        ("g0_full_name", "Lê Thị Hà"),
        ("g0_date_of_birth", "1992-05-06"),
        ("g0_sex", "F"),
        ("g0_nationality", "VNM"),
        ("g0_document_type", "cccd"),
        ("g0_document_number", "079192000222"),
        ("expected_departure", departure.as_str()),
        ("purpose", "tourism"),
        ("consent", "yes"),
        ("action", "submit"),
    ];
    let done = app
        .client
        .post(app.url(&format!("/c/{code}")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);

    // The printed code still works, as self-declared.
    let (status, _) = app
        .post_json(
            "/api/v1/checkins",
            None,
            &json!({"code": code, "guests": [vietnamese_guest()],
            "expected_departure": departure, "purpose": "tourism", "consent": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, register) = app
        .get_json(&format!("/api/v1/places/{id}/stays"), Some(&staff))
        .await;
    let mut presences: Vec<&str> = register
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["presence"].as_str().unwrap())
        .collect();
    presences.sort();
    assert_eq!(presences, ["desk_screen", "printed_code"]);

    // A screen code from two minutes ago, a forged presence token, another place's screen: refused.
    let old = app
        .state
        .presence
        .live_code(code, chrono::Utc::now().timestamp() - 120);
    let stale = app
        .client
        .get(format!("{printed}/{old}"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::GONE);
    assert!(
        stale.text().await.unwrap().contains("30"),
        "says the code changes every 30 seconds"
    );
    let (status, answer) = app
        .post_json("/api/v1/checkins", None, &json!({"code": code, "guests": [vietnamese_guest()],
            "expected_departure": departure, "purpose": "tourism", "consent": true, "presence_token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["errors"]["presence_token"].is_array());
    let foreign = app
        .client
        .get(app.url(&format!("/hotel/{id}/screen")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let office_screen = app
        .client
        .get(app.url(&format!("/hotel/{id}/screen")))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(office_screen.status(), StatusCode::FORBIDDEN);
}
