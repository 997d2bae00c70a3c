//! Forms sent with a session cookie must carry their page's token: a form
//! posted from another site (which can make the browser send the cookie,
//! but cannot read our pages) is refused and changes nothing. Also the
//! headers every page carries, and sessions that end.

mod common;

use common::TestApp;
use luutru::auth::Role;
use reqwest::{header, StatusCode};
use serde_json::Value;

/// A browser signed in through the sign-in form, sending no `Origin`
/// (as some browsers and privacy tools do).
async fn signed_in_browser(app: &TestApp, email: &str) -> reqwest::Client {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser
        .post(app.url("/login"))
        .form(&[("email", email), ("password", "correct horse battery")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    browser
}

async fn page(browser: &reqwest::Client, url: String) -> String {
    let response = browser.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// The token in a page's forms (every one carries the same).
fn form_token(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let from = page.find(marker).expect("a form token") + marker.len();
    page[from..from + page[from..].find('"').unwrap()].to_owned()
}

#[sqlx::test]
async fn a_form_without_its_pages_token_is_refused_and_changes_nothing(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    let pid = hotel["id"].as_i64().unwrap();
    let stay = app
        .check_in(&hotel, serde_json::json!([common::vietnamese_guest()]), 2)
        .await;
    let stay_id = stay["stay_id"].as_str().unwrap().to_owned();
    let email = format!("desk-{}@test.vn", uuid::Uuid::new_v4().simple());
    luutru::auth::repo::create_user(
        &app.pool,
        &email,
        "correct horse battery",
        Role::Staff,
        &[pid],
    )
    .await
    .unwrap();
    let desk = signed_in_browser(&app, &email).await;
    let register = page(&desk, app.url(&format!("/hotel?place={pid}"))).await;
    let token = form_token(&register);
    assert!(
        register.matches(&format!("value=\"{token}\"")).count() >= 3,
        "the sign-out, desk entry and row forms all carry it"
    );
    let confirm = app.url(&format!("/hotel/{pid}/stays/{stay_id}/confirm"));
    let confirmed = || async {
        sqlx::query_scalar::<_, bool>(
            "SELECT confirmed_at IS NOT NULL FROM stays WHERE id = $1::uuid",
        )
        .bind(&stay_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };

    // Another site's form: the cookie goes along, the token cannot.
    let forged = desk
        .post(&confirm)
        .header(header::ACCEPT_LANGUAGE, "en")
        .form(&[("view", "arriving")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.text().await.unwrap().contains("reload the page"));
    // A guessed token, or another session's, does no better.
    let other = signed_in_browser(&app, &email).await;
    let others_token = form_token(&page(&other, app.url(&format!("/hotel?place={pid}"))).await);
    assert_ne!(others_token, token);
    for wrong in ["AAAA", others_token.as_str()] {
        let response = desk
            .post(&confirm)
            .form(&[("view", "arriving"), ("csrf", wrong)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{wrong}");
    }
    // A browser's saved Basic login goes along cross-site too: it is no
    // bearer token and excuses nothing. Nor does a body typed as text.
    let response = desk
        .post(&confirm)
        .basic_auth("intranet", Some("password"))
        .form(&[("view", "arriving")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = desk
        .post(&confirm)
        .header(header::CONTENT_TYPE, "text/plain")
        .body("view=arriving")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!confirmed().await, "nothing changed");

    // What no other site can send without asking first (an image) needs no
    // token: a visitor's photo of a card goes through on a desk's phone.
    let photo = desk
        .post(app.url("/api/v1/documents/photo"))
        .header(header::CONTENT_TYPE, "image/jpeg")
        .body(vec![0xFF, 0xD8, 0xFF])
        .send()
        .await
        .unwrap();
    assert_ne!(photo.status(), StatusCode::FORBIDDEN);

    // Sign-out is a form too: a forged one leaves the session alone.
    let forged = desk.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let me = desk.get(app.url("/api/v1/auth/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // Our own page's form goes through.
    let response = desk
        .post(&confirm)
        .form(&[("view", "arriving"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(confirmed().await);

    // Programs send a bearer token and JSON, and need no form token: an
    // incomplete desk entry is answered on its fields, not refused.
    let program = app.sign_in_as(Role::Staff, &[pid]).await;
    let (status, body): (StatusCode, Value) = app
        .post_json(
            &format!("/api/v1/places/{pid}/stays"),
            Some(&program),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[sqlx::test]
async fn pages_carry_the_security_headers_and_hsts_behind_https(pool: sqlx::PgPool) {
    let app = common::spawn_configured(pool, |c| {
        c.public_base_url = "https://luutru.example.vn".into();
    })
    .await;
    let page = app.client.get(app.url("/")).send().await.unwrap();
    let headers = page.headers();
    let get = |name: &str| headers[name].to_str().unwrap().to_owned();
    assert_eq!(get("x-frame-options"), "DENY");
    assert_eq!(get("referrer-policy"), "same-origin");
    assert_eq!(get("x-content-type-options"), "nosniff");
    assert!(get("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(get("strict-transport-security").contains("max-age=31536000"));
}

#[sqlx::test]
async fn an_expired_session_opens_nothing(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let email = format!("desk-{}@test.vn", uuid::Uuid::new_v4().simple());
    let id = luutru::auth::repo::create_user(
        &app.pool,
        &email,
        "correct horse battery",
        Role::Admin,
        &[],
    )
    .await
    .unwrap();
    let live = luutru::auth::repo::create_session(&app.pool, id, 1, false)
        .await
        .unwrap();
    let (status, _) = app.get_json("/api/v1/auth/me", Some(&live)).await;
    assert_eq!(status, StatusCode::OK);
    // A session whose hours are over.
    let ended = luutru::auth::repo::create_session(&app.pool, id, 0, false)
        .await
        .unwrap();
    let (status, _) = app.get_json("/api/v1/auth/me", Some(&ended)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn a_language_chosen_on_the_sign_in_page_is_the_one_after_signing_in(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let id = app.hotel(&office).await["id"].as_i64().unwrap();
    luutru::auth::repo::create_user(
        &app.pool,
        "le-tan@test.vn",
        "correct horse battery",
        Role::Staff,
        &[id],
    )
    .await
    .unwrap();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let sign_in = page(&browser, app.url("/?lang=en")).await;
    assert!(sign_in.contains("lang=\"en\""), "{sign_in}");
    // A refused sign-in is shown at /login: its language links work there.
    let refused = browser
        .post(app.url("/login"))
        .form(&[("email", "le-tan@test.vn"), ("password", "wrong password")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.url().path(), "/login");
    assert!(refused.text().await.unwrap().contains("href=\"?lang=ru\""));
    let russian = page(&browser, app.url("/login?lang=ru")).await;
    assert!(russian.contains("<html lang=\"ru\""), "{russian}");
    // Back to English, as chosen first, for the rest of this test.
    page(&browser, app.url("/?lang=en")).await;
    let response = browser
        .post(app.url("/login"))
        .header("accept-language", "vi")
        .form(&[
            ("email", "le-tan@test.vn"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().path(), "/hotel");
    let register = response.text().await.unwrap();
    assert!(register.contains("<html lang=\"en\""), "{register}");

    // Signed in, the page's own switcher: Tiếng Việt, back on the same page.
    assert!(
        register.contains("<a href=\"/lang/vi\" lang=\"vi\">"),
        "{register}"
    );
    let here = app.url(&format!("/hotel?place={id}"));
    let switched = browser
        .get(app.url("/lang/vi"))
        .header("referer", &here)
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), StatusCode::OK);
    assert_eq!(switched.url().as_str(), here);
    let register = switched.text().await.unwrap();
    assert!(register.contains("<html lang=\"vi\""), "{register}");
    assert!(register.contains("<a href=\"/lang/vi\" lang=\"vi\" aria-current=\"true\">"));

    // Sent from elsewhere, it goes to this site's start; an unknown language is not found.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for referer in [
        "https://evil.example/hotel".to_owned(),
        app.url("//evil.example/"),
    ] {
        let answer = no_redirects
            .get(app.url("/lang/ko"))
            .header("referer", &referer)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(answer.headers()["location"], "/", "{referer}");
        assert!(answer.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("lang=ko;"));
    }
    // A page shown as a form's answer is at an address only forms go to:
    // back to the page it belongs to, without an old "done" message.
    let uuid = "0190d6a8-0000-7000-8000-000000000000";
    for (referer, back) in [
        (
            format!("/hotel/{id}/guests/{uuid}/reveal"),
            format!("/hotel?place={id}"),
        ),
        (format!("/hotel/{id}/stays"), format!("/hotel?place={id}")),
        (
            format!("/hotel/{id}/team/7/remove"),
            format!("/hotel/{id}/team"),
        ),
        ("/office/places".to_owned(), "/office".to_owned()),
        (
            format!("/hotel/{id}/guests/{uuid}"),
            format!("/hotel/{id}/guests/{uuid}"),
        ),
        (
            format!("/hotel?place={id}&status=all&done=room#done"),
            format!("/hotel?place={id}&status=all"),
        ),
        (
            format!("/hotel?place={id}&sent=2#sent"),
            format!("/hotel?place={id}"),
        ),
        ("/\\evil.example/".to_owned(), "/".to_owned()),
    ] {
        let answer = no_redirects
            .get(app.url("/lang/en"))
            .header("referer", app.url(&referer))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.headers()["location"], back.as_str(), "{referer}");
    }
    let unknown = no_redirects.get(app.url("/lang/xx")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
