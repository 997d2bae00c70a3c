//! The second factor of admin, office and inspector accounts: set up at the
//! first sign-in on the page, asked for at every later one (page and API),
//! each code good once, wrong codes throttled, a pending sign-in opening
//! nothing, and a reset for a lost phone.

mod common;

use common::{spawn_configured, TestApp};
use luutru::auth::{totp, Role};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

async fn app(pool: sqlx::PgPool) -> TestApp {
    spawn_configured(pool, |c| c.require_second_factor = true).await
}

/// A browser: keeps cookies, does not follow redirects, sends its origin.
fn browser(app: &TestApp) -> reqwest::Client {
    let mut headers = header::HeaderMap::new();
    headers.insert(header::ORIGIN, app.base.parse().unwrap());
    headers.insert(header::ACCEPT_LANGUAGE, "en".parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn account(app: &TestApp, role: Role) -> String {
    let email = format!(
        "{}-{}@test.vn",
        role.as_str(),
        uuid::Uuid::new_v4().simple()
    );
    luutru::auth::repo::create_user(&app.pool, &email, PASSWORD, role, &[])
        .await
        .unwrap();
    email
}

async fn api_login(app: &TestApp, email: &str, code: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(code) = code {
        body["totp"] = json!(code);
    }
    app.post_json("/api/v1/auth/login", None, &body).await
}

/// The sign-in form, sent with a password.
async fn send_password(browser: &reqwest::Client, app: &TestApp, email: &str) -> reqwest::Response {
    browser
        .post(app.url("/login"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap()
}

/// The code page as the browser sees it.
async fn code_page(browser: &reqwest::Client, app: &TestApp) -> String {
    let page = browser.get(app.url("/login/code")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    page.text().await.unwrap()
}

/// The code page's form, sent with a code.
async fn send_code(browser: &reqwest::Client, app: &TestApp, code: &str) -> reqwest::Response {
    browser
        .post(app.url("/login/code"))
        .form(&[("code", code)])
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()[header::LOCATION].to_str().unwrap()
}

/// The text between `start` and `end` in `page`.
fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {page}"))
        + start.len();
    &page[from..from + page[from..].find(end).unwrap()]
}

fn code(secret: &[u8], seconds_ahead: u64) -> String {
    totp::code_at(secret, totp::now() + seconds_ahead).unwrap()
}

#[sqlx::test]
async fn an_office_account_sets_up_its_second_factor_then_owes_a_code_each_time(
    pool: sqlx::PgPool,
) {
    let app = app(pool).await;
    let email = account(&app, Role::Office).await;

    // Before any set-up, the API sends the account to the page.
    let (status, body) = api_login(&app, &email, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("sign-in page"));

    // The password is right: the page asks for a code, and shows the secret
    // as a QR code and as text.
    // A second browser, with no sign-in pending.
    let stranger = browser(&app);
    let browser = browser(&app);
    let response = send_password(&browser, &app, &email).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login/code");
    let page = code_page(&browser, &app).await;
    let shown = between(&page, "<code class=\"secret\">", "</code>").replace(' ', "");
    let secret = data_encoding::BASE32_NOPAD
        .decode(shown.as_bytes())
        .unwrap();
    assert_eq!(secret.len(), 20);
    let uri = totp::otpauth_uri(&secret, &email);
    let svg = luutru::qr::render::svg(&uri).unwrap();
    assert!(page.contains(&svg), "the QR code is the app's address");

    // A pending sign-in opens nothing.
    let me = browser
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let office = browser.get(app.url("/office")).send().await.unwrap();
    assert_ne!(office.status(), StatusCode::OK);

    // A wrong code is refused on the page, which stays.
    let wrong = (code(&secret, 0).parse::<u32>().unwrap() + 1) % 1_000_000;
    let response = send_code(&browser, &app, &format!("{wrong:06}")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains("not right"));

    // Its language links, followed once the sign-in is no longer pending
    // (ended elsewhere, or expired), lead back to the sign-in page in the
    // language chosen.
    let back = stranger
        .get(app.url("/login/code?lang=ru"))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&back), "/");
    let sign_in = stranger.get(app.url("/")).send().await.unwrap();
    assert!(sign_in.text().await.unwrap().contains("<html lang=\"ru\">"));

    // The page has its language switcher, and the language chosen there is
    // the one of what follows.
    assert!(page.contains(r#"<a href="?lang=vi" lang="vi">"#), "{page}");
    let vi = browser
        .get(app.url("/login/code?lang=vi"))
        .send()
        .await
        .unwrap();
    assert_eq!(vi.status(), StatusCode::OK);
    assert!(vi.text().await.unwrap().contains("Bước hai: mã xác thực"));
    let response = send_code(&browser, &app, &format!("{wrong:06}")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains("Mã không đúng"));

    // The right code signs in, under a new session.
    let first = code(&secret, 0);
    let response = send_code(&browser, &app, &first).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/office");
    let (status, me) = {
        let r = browser
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], email);

    // From now on the API wants the code too; a used code does not work again.
    let (status, body) = api_login(&app, &email, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["codes"]["totp"][0], "second_factor_required");
    let (status, _) = api_login(&app, &email, Some(&first)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a code works once");
    let next = code(&secret, 30);
    let (status, body) = api_login(&app, &email, Some(&next)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();

    // The set-up and both sign-ins are in the audit log.
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log a JOIN users u ON u.id = a.actor_id
         WHERE u.email = $1 ORDER BY a.id",
    )
    .bind(&email)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        ["auth.second_factor_set_up", "auth.sign_in", "auth.sign_in"]
    );

    // The secret is stored sealed, never as its text.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT totp_secret FROM users WHERE email = $1")
        .bind(&email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let text = data_encoding::BASE32_NOPAD.encode(&secret);
    assert!(!stored.windows(text.len()).any(|w| w == text.as_bytes()));

    // A session opened without a code (before the requirement, or while it
    // was off) opens nothing now.
    let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let old = luutru::auth::repo::create_session(&app.pool, user_id, 1, false)
        .await
        .unwrap();
    let (status, _) = app.get_json("/api/v1/auth/me", Some(&old)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A lost phone: the reset ends the sessions at once, and the next
    // sign-in sets up a new secret.
    assert!(luutru::auth::reset_second_factor(&app.state, &email)
        .await
        .unwrap());
    let (status, _) = app.get_json("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = api_login(&app, &email, Some(&code(&secret, 0))).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "no second factor until set up again"
    );
}

#[sqlx::test]
async fn wrong_codes_are_throttled_and_desk_accounts_owe_none(pool: sqlx::PgPool) {
    let app = app(pool).await;

    // An admin owes a code too (and must set one up first).
    let admin = account(&app, Role::Admin).await;
    let (status, _) = api_login(&app, &admin, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A manager signs in with the password alone.
    let place: i64 = sqlx::query_scalar(
        "INSERT INTO places (kind, name, ward_id, accommodation_type)
         SELECT 'accommodation', 'Khách sạn Hai Bước', id, 'hotel' FROM wards LIMIT 1 RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let manager = app.sign_in_as(Role::Manager, &[place]).await;
    assert!(!manager.is_empty());

    // An inspector set up before: its code is asked for on the page.
    let email = account(&app, Role::Inspector).await;
    let secret = totp::new_secret();
    sqlx::query("UPDATE users SET totp_secret = $2 WHERE email = $1")
        .bind(&email)
        .bind(totp::seal(&app.state.cipher, &secret))
        .execute(&app.pool)
        .await
        .unwrap();
    let browser = browser(&app);
    let response = send_password(&browser, &app, &email).await;
    assert_eq!(location(&response), "/login/code");
    let page = code_page(&browser, &app).await;
    assert!(!page.contains("class=\"secret\""), "no secret once set up");

    // Ten wrong codes (the sign-in budget), then even the right one waits
    // (and so does every sign-in from this address).
    let right = code(&secret, 0);
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    for _ in 0..10 {
        let response = send_code(&browser, &app, &wrong).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = send_code(&browser, &app, &right).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
}

#[sqlx::test]
async fn without_the_setting_every_account_signs_in_with_its_password(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let email = account(&app, Role::Admin).await;
    let (status, body) = api_login(&app, &email, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
