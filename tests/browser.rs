//! The pages people use, in a real headless Chromium (Debian's `chromium`
//! driven through `chromedriver`), on a phone-sized window.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use luutru::auth::Role;
use serde_json::json;

struct Driver {
    process: Child,
    port: u16,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser() -> (Driver, Client) {
    browser_in("vi").await
}

/// A phone whose owner reads `lang`.
async fn browser_in(lang: &str) -> (Driver, Client) {
    let port = free_port();
    let process = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (scripts/test.sh installs Debian's chromium-driver)");
    let profile =
        std::env::temp_dir().join(format!("luutru-chromium-{}", uuid::Uuid::new_v4().simple()));
    let driver = Driver {
        process,
        port,
        profile,
    };
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=360,640", format!("--lang={lang}"),
                     format!("--user-data-dir={}", driver.profile.display())],
            "prefs": {"intl.accept_languages": lang},
            // A 360×640 phone screen, whatever the headless window allows.
            "mobileEmulation": {"deviceMetrics": {"width": 360, "height": 640, "pixelRatio": 2.0, "touch": true}},
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    let mut last_error = None;
    for _ in 0..50 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) => last_error = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("chromedriver did not start: {last_error:?}");
}

/// Wait until a click's navigation has landed on a page under `prefix`.
async fn wait_for_path(client: &Client, prefix: &str) -> url::Url {
    for _ in 0..300 {
        let url = client.current_url().await.unwrap();
        if url.path().starts_with(prefix) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never reached {prefix}: {}", client.source().await.unwrap());
}

/// The text of `css` once it does (or no longer does) contain `needle`.
async fn wait_for_text(client: &Client, css: &str, needle: &str, present: bool) -> String {
    let mut text = String::new();
    for _ in 0..300 {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            text = element.text().await.unwrap_or_default();
            if text.contains(needle) == present {
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{css} {} {needle:?}: {text}",
        if present {
            "never showed"
        } else {
            "still shows"
        }
    );
}

async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

async fn choose(client: &Client, css: &str, value: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Sign in through the page as a person would.
async fn sign_in(client: &Client, app: &common::TestApp, email: &str, home: &str) {
    client.goto(&app.url("/")).await.unwrap();
    type_into(client, "#email", email).await;
    type_into(client, "#password", "correct horse battery").await;
    click(client, "button[type=submit]").await;
    wait_for_path(client, home).await;
}

async fn set_value(client: &Client, id: &str, value: &str) {
    client
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![json!(id), json!(value)],
        )
        .await
        .unwrap();
}

async fn fits_the_screen(client: &Client) -> bool {
    client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

#[sqlx::test]
async fn a_family_checks_in_and_out_on_a_phone_and_the_desk_sees_them(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let place_id = place["id"].as_i64().unwrap();
    let email = "letan@test.vn";
    luutru::auth::repo::create_user(
        &app.pool,
        email,
        "correct horse battery",
        Role::Staff,
        &[place_id],
    )
    .await
    .unwrap();
    let (_driver, client) = browser().await;

    // The visitor opens the scanned link: the page is in Vietnamese and fits a 360 px screen.
    client
        .goto(place["checkin_url"].as_str().unwrap())
        .await
        .unwrap();
    let source = client.source().await.unwrap();
    assert!(source.contains("Khai báo lưu trú"), "Vietnamese page");
    assert!(
        fits_the_screen(&client).await,
        "no sideways scrolling on a phone"
    );

    // Switch to English; add a second guest without script-dependent widgets.
    client
        .find(Locator::LinkText("English"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&client, "main", "Declare your stay", true).await;
    type_into(&client, "#g0_full_name", "Nguyễn Văn An").await;
    click(&client, "button[value=add_guest]").await;
    client
        .wait()
        .for_element(Locator::Css("#g1_full_name"))
        .await
        .unwrap();
    let kept = client
        .find(Locator::Css("#g0_full_name"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("Nguyễn Văn An"),
        "typed input survives adding a guest"
    );
    assert!(
        client.source().await.unwrap().contains("Add a guest"),
        "the language choice is remembered"
    );

    // In English nothing is preselected: nobody is Vietnamese by default.
    assert_eq!(value_of(&client, "#g0_nationality").await, "");
    choose(&client, "#g0_nationality", "VNM").await;
    choose(&client, "#g1_nationality", "VNM").await;
    set_value(&client, "g0_date_of_birth", "1990-08-15").await;
    choose(&client, "#g0_sex", "M").await;
    choose(&client, "#g0_document_type", "cccd").await;
    type_into(&client, "#g0_document_number", "077090001234").await;
    // A third guest starts with the home address typed for the guest
    // before; taken away again, the party is two.
    type_into(&client, "#g1_address", "12 Lê Lợi, Vũng Tàu").await;
    click(&client, "button[value=add_guest]").await;
    assert_eq!(value_of(&client, "#g2_nationality").await, "VNM");
    assert_eq!(
        value_of(&client, "#g2_address").await,
        "12 Lê Lợi, Vũng Tàu"
    );
    assert_eq!(value_of(&client, "#g2_full_name").await, "");
    click(&client, "button[value=remove_guest]").await;
    assert!(
        client.find(Locator::Css("#g2_full_name")).await.is_err(),
        "the third guest is gone"
    );
    // The second guest: a child travelling on the first guest's documents.
    type_into(&client, "#g1_full_name", "Nguyễn Bảo Anh").await;
    set_value(&client, "g1_date_of_birth", "2019-04-02").await;
    choose(&client, "#g1_sex", "F").await;
    type_into(&client, "#g1_with_guest", "1").await;

    // Forgetting the consent box: the error sits next to it, in English, and nothing is lost.
    click(&client, ".actions button[value=submit]").await;
    wait_for_text(&client, "main", "Please fix the marked fields", true).await;
    let source = client.source().await.unwrap();
    assert!(
        source.contains("Please read the notice on personal data"),
        "consent error shown"
    );
    assert!(
        source.contains("Nguyễn Bảo Anh"),
        "the second guest is still there"
    );
    click(&client, "input[name=consent]").await;
    click(&client, ".actions button[value=submit]").await;

    // The receipt, with a check-out button.
    let url = wait_for_path(&client, "/stay/").await;
    let source = client.source().await.unwrap();
    assert!(source.contains("You are checked in"));
    assert!(source.contains("Nguyễn Bảo Anh"));
    assert!(
        source.contains("Vietnamese ID card (CCCD)")
            && source.contains("None (travels on an adult's documents)")
            && !source.contains(">none<"),
        "each guest's document named in words: {source}"
    );
    assert!(
        source.contains("<th>Travels with</th><td>Nguyễn Văn An (Guest 1)</td>"),
        "the child's adult named: {source}"
    );
    assert!(fits_the_screen(&client).await);

    // The desk signs in and sees both guests in house.
    let receipt = url.clone();
    sign_in(&client, &app, email, "/hotel").await;
    let register = text_of(&client, "#register").await;
    assert!(
        register.contains("Nguyễn Văn An") && register.contains("Nguyễn Bảo Anh"),
        "{register}"
    );

    // The visitor checks out from the receipt; the desk's in-house list empties.
    client.goto(receipt.as_str()).await.unwrap();
    // Leaving is asked once more: a tap by mistake checks no one out.
    assert!(!displayed(&client, "form[action$=checkout] button").await);
    click(&client, "#checkout summary").await;
    assert!(displayed(&client, "form[action$=checkout] button").await);
    assert!(text_of(&client, "#checkout").await.contains("Leaving now?"));
    click(&client, "form[action$=checkout] button").await;
    wait_for_text(&client, "main", "You have checked out", true).await;
    client
        .goto(&app.url(&format!("/hotel?place={place_id}")))
        .await
        .unwrap();
    wait_for_text(&client, "#register", "Nguyễn Văn An", false).await;

    // On the phone the stays start within the first screen: the search and
    // dates fold into one line until they are opened or used.
    assert!(!displayed(&client, "#q").await);
    let top = client
        .execute(
            "window.scrollTo(0, 0);
             return document.getElementById('register').getBoundingClientRect().top;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        top.as_f64().unwrap() < 640.0,
        "the stays start {top} px down"
    );
    screenshot(&client, "register-phone").await;
    click(&client, "details.search summary").await;
    assert!(displayed(&client, "#q").await);

    // A desk entry from the register page, then check-out with one click.
    type_into(&client, "#g0_full_name", "Trần Thị Bình").await;
    type_into(&client, "#desk-entry #room", "204").await;
    set_value(&client, "g0_date_of_birth", "1985-01-02").await;
    // No sex is chosen for the guest until the clerk chooses it.
    assert_eq!(value_of(&client, "#g0_sex").await, "");
    choose(&client, "#g0_sex", "F").await;
    type_into(&client, "#g0_document_number", "079185000111").await;
    let tomorrow = (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        + chrono::Duration::days(1))
    .format("%Y-%m-%d")
    .to_string();
    set_value(&client, "expected_departure", &tomorrow).await;
    // She was shown the notice on personal data, and agrees.
    click(&client, "#desk-entry input[name=consent]").await;
    click(&client, "#desk-entry .actions button[value=save]").await;
    let register = wait_for_text(&client, "#register", "Trần Thị Bình", true).await;
    assert!(register.contains("204"), "{register}");
    click(&client, "#register button.checkout").await;
    wait_for_text(&client, "#register", "Trần Thị Bình", false).await;

    client.close().await.unwrap();
}

#[sqlx::test]
async fn the_office_page_shows_todays_figures_and_a_site_visit_counts(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app
        .create_place(
            &office,
            json!({"kind": "attraction", "name": "Hải đăng Vũng Tàu", "ward": "Vũng Tàu"}),
        )
        .await;
    luutru::auth::repo::create_user(
        &app.pool,
        "phong@test.vn",
        "correct horse battery",
        Role::Office,
        &[],
    )
    .await
    .unwrap();
    let (_driver, client) = browser().await;

    client
        .goto(site["checkin_url"].as_str().unwrap())
        .await
        .unwrap();
    assert!(fits_the_screen(&client).await);
    let party = client.find(Locator::Css("#party_size")).await.unwrap();
    party.clear().await.unwrap();
    party.send_keys("7").await.unwrap();
    click(&client, "button[value=submit]").await;
    wait_for_text(&client, "main", "Cảm ơn bạn", true).await;

    sign_in(&client, &app, "phong@test.vn", "/office").await;
    let live = text_of(&client, "#live").await;
    assert!(live.contains('7'), "{live}");
    let places = client.source().await.unwrap();
    assert!(places.contains("Hải đăng Vũng Tàu"));
    // Another party counts in: the open page follows without a reload.
    let (status, _) = app
        .post_json(
            "/api/v1/checkins",
            None,
            &json!({"code": site["code"], "party_size": 5, "origin_country": "KOR"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    wait_for_text(&client, "#live", "12", true).await;
    // The charts are drawn on the server, one per figure the office reads.
    let charts = client
        .find_all(Locator::Css("#charts svg.chart"))
        .await
        .unwrap();
    assert_eq!(charts.len(), 9);
    assert!(fits_the_screen(&client).await, "charts fit a phone");
    // Their words read on a phone (10 px or more), and none runs into
    // another.
    let words = client
        .execute(
            "const texts = [...document.querySelectorAll('#charts svg text')]
                 .map(t => t.getBoundingClientRect()).filter(r => r.width > 0);
             const smallest = Math.min(...texts.map(r => r.height));
             const clash = texts.some((a, i) => texts.slice(i + 1).some(b =>
                 a.left < b.right - 1 && b.left < a.right - 1 &&
                 a.top < b.bottom - 1 && b.top < a.bottom - 1));
             return [smallest, clash];",
            vec![],
        )
        .await
        .unwrap();
    assert!(words[0].as_f64().unwrap() >= 10.0, "chart text {words}");
    assert_eq!(words[1], json!(false), "chart words overlap");
    client
        .execute(
            "document.getElementById('charts').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&client, "office-charts").await;
    // The comparison with earlier periods reads on a phone without
    // scrolling sideways: each figure a card.
    assert!(
        in_reach(&client, "compare", "th, td").await,
        "the comparison fits a phone"
    );
    // Its cards have no table head: the earlier periods' dates are said
    // once, above them.
    assert!(displayed(&client, "p.phone-only").await);
    assert!(text_of(&client, "p.phone-only")
        .await
        .starts_with("Kỳ trước, "));
    screenshot(&client, "office-compare").await;

    // A new code retires every printed poster: the page asks first, and a
    // "no" changes nothing.
    let site_id = site["id"].as_i64().unwrap();
    let code = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT code FROM qr_codes WHERE place_id = $1 AND revoked_at IS NULL",
        )
        .bind(site_id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let before = code().await;
    let rotate = format!("form[action='/office/places/{site_id}/rotate'] button");
    // On a phone each place's links and its new-code button are in reach.
    assert!(
        in_reach(&client, "place-list", "a, button").await,
        "the places fit a phone"
    );
    screenshot(&client, "office-places").await;
    click(&client, &rotate).await;
    let question = client.get_alert_text().await.unwrap();
    assert!(question.contains("áp phích"), "{question}");
    client.dismiss_alert().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(code().await, before);
    click(&client, &rotate).await;
    client.accept_alert().await.unwrap();
    for _ in 0..100 {
        if code().await != before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ne!(code().await, before, "a yes issues the new code");
    let done = wait_for_text(&client, "#done", "Hải đăng Vũng Tàu", true).await;
    assert!(done.contains("áp phích"), "{done}");
    client.close().await.unwrap();
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Keep a picture of the page as a test artifact (target/screenshots/).
async fn screenshot(client: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

fn catalog(lang: &str) -> std::collections::HashMap<String, String> {
    let path = format!("{}/web/i18n/{lang}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// ICAO 9303 check digit, to build a passport's machine-readable zone.
fn mrz_check(field: &str) -> char {
    let sum: u32 = field
        .chars()
        .zip([7, 3, 1].iter().cycle())
        .map(|(c, w)| {
            let v = match c {
                '0'..='9' => c as u32 - '0' as u32,
                'A'..='Z' => c as u32 - 'A' as u32 + 10,
                _ => 0,
            };
            v * w
        })
        .sum();
    char::from_digit(sum % 10, 10).unwrap()
}

fn korean_passport_mrz() -> String {
    passport_mrz("KIM", "MINJUN", "M12345678")
}

fn passport_mrz(surname: &str, given: &str, number: &str) -> String {
    let line1 = format!("{:<<44}", format!("P<KOR{surname}<<{given}"));
    let (birth, expiry, personal) = ("880203", "310101", "<<<<<<<<<<<<<<");
    let mut line2 = format!(
        "{number}{}KOR{birth}{}M{expiry}{}{personal}{}",
        mrz_check(number),
        mrz_check(birth),
        mrz_check(expiry),
        mrz_check(personal)
    );
    let composite: String = [&line2[0..10], &line2[13..20], &line2[21..43]].concat();
    line2.push(mrz_check(&composite));
    format!("{line1}\n{line2}")
}

async fn displayed(client: &Client, css: &str) -> bool {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .is_displayed()
        .await
        .unwrap()
}

/// Whether every element matching `inside` of the element `id`, scrolled
/// to, ends within the screen's width: in reach on a phone.
async fn in_reach(client: &Client, id: &str, inside: &str) -> bool {
    client
        .execute(
            "const box = document.getElementById(arguments[0]);
             box.scrollIntoView();
             return [...box.querySelectorAll(arguments[1])]
                 .every(e => e.getBoundingClientRect().right <= window.innerWidth);",
            vec![json!(id), json!(inside)],
        )
        .await
        .unwrap()
        == json!(true)
}

async fn value_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[sqlx::test]
async fn a_korean_family_of_three_checks_in_in_korean_from_a_passport(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let ko = catalog("ko");
    let (_driver, client) = browser_in("ko").await;

    // The phone is set to Korean: so is the page.
    client
        .goto(place["checkin_url"].as_str().unwrap())
        .await
        .unwrap();
    let source = client.source().await.unwrap();
    assert!(source.contains("<html lang=\"ko\">"));
    assert!(source.contains(&ko["scan.stay_intro"]));
    assert!(fits_the_screen(&client).await);
    screenshot(&client, "stay-ko-1-form").await;

    // A Korean page starts from Korea: the foreign fields, no address.
    assert_eq!(value_of(&client, "#g0_nationality").await, "KOR");
    assert!(!displayed(&client, "#g0_address").await);
    assert!(displayed(&client, "#g0_visa_number").await);
    // Vietnamese shows the address instead; what is typed there and then
    // hidden again is not sent (a foreigner has no Vietnamese address).
    choose(&client, "#g0_nationality", "VNM").await;
    assert!(displayed(&client, "#g0_address").await);
    assert!(!displayed(&client, "#g0_visa_number").await);
    type_into(&client, "#g0_address", "12 Thùy Vân").await;
    choose(&client, "#g0_nationality", "KOR").await;
    assert!(!displayed(&client, "#g0_address").await);
    assert!(displayed(&client, "#g0_visa_number").await);

    // The head of the family types the passport's two lines: the guest fills in.
    click(&client, "fieldset[data-i='0'] details.doc summary").await;
    type_into(&client, "#g0_doc", &korean_passport_mrz()).await;
    click(&client, "button[value=read_document_0]").await;
    wait_for_text(&client, "fieldset[data-i='0']", &ko["doc.filled"], true).await;
    assert_eq!(value_of(&client, "#g0_full_name").await, "KIM MINJUN");
    assert_eq!(value_of(&client, "#g0_document_number").await, "M12345678");
    assert_eq!(value_of(&client, "#g0_date_of_birth").await, "1988-02-03");
    assert_eq!(value_of(&client, "input[name=g0_capture]").await, "mrz");
    screenshot(&client, "stay-ko-2-filled").await;

    // Two more guests, added on the phone: the party's size typed, and the
    // phone's Enter key (which sets the size, and checks no one in); the
    // nationality follows the first.
    client
        .find(Locator::Css("#want_count"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&client, "#want_count", "3\u{E007}").await;
    client
        .wait()
        .for_element(Locator::Css("#g2_full_name"))
        .await
        .unwrap();
    assert!(client
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/c/"));
    assert_eq!(value_of(&client, "#g2_nationality").await, "KOR");
    assert!(
        !displayed(&client, "#g2_address").await,
        "fields fit the copied nationality"
    );
    type_into(&client, "#g1_full_name", "LEE SEOYEON").await;
    set_value(&client, "g1_date_of_birth", "1990-05-06").await;
    choose(&client, "#g1_sex", "F").await;
    choose(&client, "#g1_document_type", "passport").await;
    // A number typed too short: the mistake the desk would otherwise catch.
    type_into(&client, "#g1_document_number", "M1").await;
    type_into(&client, "#g2_full_name", "KIM JIHO").await;
    set_value(&client, "g2_date_of_birth", "2020-09-01").await;
    choose(&client, "#g2_sex", "M").await;
    type_into(&client, "#g2_with_guest", "1").await;
    set_value(
        &client,
        "expected_departure",
        &(chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
            + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string(),
    )
    .await;
    click(&client, "input[name=consent]").await;
    click(&client, ".actions button[value=submit]").await;

    // The error is in Korean, next to the field; nothing else is lost.
    wait_for_text(&client, "main", &ko["form.fix_errors"], true).await;
    let field = client
        .find(Locator::Css("#g1_document_number"))
        .await
        .unwrap();
    let around = field
        .find(Locator::XPath(".."))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(around.contains(&ko["error.passport_format"]), "{around}");
    assert_eq!(value_of(&client, "#g2_full_name").await, "KIM JIHO");
    assert_eq!(value_of(&client, "input[name=g0_capture]").await, "mrz");
    screenshot(&client, "stay-ko-3-error").await;

    field.clear().await.unwrap();
    field.send_keys("M87654321").await.unwrap();
    // Enter in the field checks in, as the big button would.
    field.send_keys("\u{E007}").await.unwrap();
    wait_for_path(&client, "/stay/").await;
    let source = client.source().await.unwrap();
    assert!(source.contains(&ko["receipt.checked_in"]));
    assert!(source.contains("KIM JIHO"));
    assert!(
        source.contains(&format!("<td>{}</td>", ko["country.KOR"])),
        "the nationality by its name"
    );
    assert!(fits_the_screen(&client).await);
    screenshot(&client, "stay-ko-4-receipt").await;

    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT g.nationality, g.capture FROM guests g ORDER BY g.position")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            ("KOR".into(), "mrz".into()),
            ("KOR".into(), "manual".into()),
            ("KOR".into(), "manual".into())
        ],
        "one stay of three, stored once"
    );
    client.close().await.unwrap();
}

/// Cut the phone off the network, or give it back (chromedriver's own command).
async fn set_offline(driver: &Driver, client: &Client, offline: bool) {
    let session = client.session_id().await.unwrap().unwrap();
    let response = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/session/{session}/chromium/network_conditions",
            driver.port
        ))
        .json(&json!({"network_conditions": {
            "offline": offline, "latency": 0,
            "download_throughput": 100_000_000, "upload_throughput": 100_000_000}}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{:?}",
        response.text().await
    );
}

#[sqlx::test]
async fn in_russian_a_party_counts_in_and_a_form_survives_a_reload_and_a_lost_network(
    pool: sqlx::PgPool,
) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app
        .create_place(
            &office,
            json!({"kind": "attraction", "name": "Bạch Dinh", "ward": "Vũng Tàu"}),
        )
        .await;
    let hotel = app.hotel(&office).await;
    let ru = catalog("ru");
    let (driver, client) = browser_in("ru").await;

    // The site: one screen, one tap.
    client
        .goto(site["checkin_url"].as_str().unwrap())
        .await
        .unwrap();
    assert!(client.source().await.unwrap().contains(&ru["visit.submit"]));
    let party = client.find(Locator::Css("#party_size")).await.unwrap();
    party.clear().await.unwrap();
    party.send_keys("5").await.unwrap();
    assert_eq!(
        value_of(&client, "#origin_country").await,
        "RUS",
        "a Russian reader's country is chosen for them, not Vietnam"
    );
    screenshot(&client, "visit-ru-1-form").await;
    click(&client, "button[value=submit]").await;
    wait_for_text(&client, "main", &ru["visit.done_title"], true).await;
    screenshot(&client, "visit-ru-2-done").await;

    // The hotel form: what was typed survives a reload.
    client
        .goto(hotel["checkin_url"].as_str().unwrap())
        .await
        .unwrap();
    choose(&client, "#g0_nationality", "RUS").await;
    type_into(&client, "#g0_full_name", "IVANOVA ANNA").await;
    client.refresh().await.unwrap();
    client
        .wait()
        .for_element(Locator::Css("#g0_full_name"))
        .await
        .unwrap();
    for _ in 0..50 {
        if value_of(&client, "#g0_full_name").await == "IVANOVA ANNA" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(value_of(&client, "#g0_full_name").await, "IVANOVA ANNA");
    assert_eq!(value_of(&client, "#g0_nationality").await, "RUS");

    set_value(&client, "g0_date_of_birth", "1985-03-04").await;
    choose(&client, "#g0_sex", "F").await;
    choose(&client, "#g0_document_type", "passport").await;
    type_into(&client, "#g0_document_number", "751234567").await;
    click(&client, "input[name=consent]").await;

    // The network drops as the guest taps: the form says so and keeps trying.
    set_offline(&driver, &client, true).await;
    click(&client, ".actions button[value=submit]").await;
    wait_for_text(&client, "#net", &ru["js.offline"], true).await;
    screenshot(&client, "stay-ru-offline").await;
    let stays: i64 = sqlx::query_scalar("SELECT count(*) FROM stays")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stays, 0);
    set_offline(&driver, &client, false).await;
    let mut landed = false;
    for _ in 0..400 {
        if client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/stay/")
        {
            landed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(landed, "the retry went through once the network returned");
    assert!(client
        .source()
        .await
        .unwrap()
        .contains(&ru["receipt.checked_in"]));
    let stays: i64 = sqlx::query_scalar("SELECT count(*) FROM stays")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stays, 1, "stored once");
    client.close().await.unwrap();
}

async fn click_in_row(client: &Client, text: &str, button: &str) {
    client
        .find(Locator::XPath(&format!(
            "//table[@id='register']//tr[contains(., '{text}')]//button[contains(@class, '{button}')]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[sqlx::test]
async fn the_desk_reads_a_scanned_card_then_confirms_moves_checks_out_and_undoes(
    pool: sqlx::PgPool,
) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let place_id = place["id"].as_i64().unwrap();
    let email = "quay@test.vn";
    luutru::auth::repo::create_user(
        &app.pool,
        email,
        "correct horse battery",
        Role::Staff,
        &[place_id],
    )
    .await
    .unwrap();
    // A Korean guest checked in by QR: waiting for the desk to see the passport.
    app.check_in(&place, json!([common::korean_guest()]), 2)
        .await;
    let vi = catalog("vi");
    let (_driver, client) = browser().await;
    sign_in(&client, &app, email, "/hotel").await;

    // The scanner types a card's QR text and Enter: the guest fills in, the room is next.
    let card = "077090001234|273456789|Nguyễn Văn An|15081990|Nam|12 Thùy Vân, Phường 2|10052021";
    type_into(&client, "#scan", &format!("{card}\u{E007}")).await;
    for _ in 0..300 {
        if value_of(&client, "#g0_full_name").await == "Nguyễn Văn An" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(value_of(&client, "#g0_full_name").await, "Nguyễn Văn An");
    // Said under the scanner: whose document, and that the fields want a look.
    wait_for_text(
        &client,
        "#desk-entry p.ok[role=status]",
        &format!("Nguyễn Văn An: {}", vi["doc.filled"]),
        true,
    )
    .await;
    assert_eq!(
        value_of(&client, "#g0_document_number").await,
        "077090001234"
    );
    assert_eq!(value_of(&client, "#g0_date_of_birth").await, "1990-08-15");
    assert_eq!(value_of(&client, "#g0_nationality").await, "VNM");
    assert_eq!(
        value_of(&client, "#g0_address").await,
        "12 Thùy Vân, Phường 2",
        "the permanent address the police sheet asks for"
    );
    type_into(&client, "#desk-entry #room", "101").await;
    // Ctrl+Enter: the next guest of the group; a passport's two lines from the
    // scanner fill that one.
    type_into(&client, "#room", "\u{E009}\u{E007}\u{E000}").await;
    client
        .wait()
        .for_element(Locator::Css("#g1_full_name"))
        .await
        .unwrap();
    assert_eq!(
        value_of(&client, "#g0_full_name").await,
        "Nguyễn Văn An",
        "kept"
    );
    type_into(
        &client,
        "#scan",
        &format!(
            "{}\u{E007}",
            passport_mrz("LEE", "SEOYEON", "M55555555").replace('\n', "")
        ),
    )
    .await;
    for _ in 0..300 {
        if value_of(&client, "#g1_full_name").await == "LEE SEOYEON" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(value_of(&client, "#g1_full_name").await, "LEE SEOYEON");
    assert_eq!(value_of(&client, "#g1_nationality").await, "KOR");
    assert_eq!(value_of(&client, "#g1_document_type").await, "passport");
    // The address copied from the guest before (a Vietnamese one) is not a
    // Korean passport holder's.
    assert_eq!(value_of(&client, "#g1_address").await, "");
    set_value(
        &client,
        "expected_departure",
        &(chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
            + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string(),
    )
    .await;
    click(&client, "#desk-entry input[name=consent]").await;
    click(&client, "#desk-entry .actions button[value=save]").await;
    let register = wait_for_text(&client, "#register", "Nguyễn Văn An", true).await;
    assert!(
        register.contains("LEE SEOYEON"),
        "one stay, two guests: {register}"
    );
    let captures: Vec<String> = sqlx::query_scalar(
        "SELECT g.capture FROM guests g JOIN stays s ON s.id = g.stay_id WHERE s.source = 'desk' ORDER BY g.position",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(captures, ["cccd_qr", "mrz"]);

    // Arriving: the self check-in; the documents are seen and it leaves the tab.
    client
        .goto(&app.url(&format!("/hotel?place={place_id}&status=arriving")))
        .await
        .unwrap();
    wait_for_text(&client, "#register", "KIM MINJUN", true).await;
    assert!(client
        .source()
        .await
        .unwrap()
        .contains(&vi["hotel.arriving"]));
    click_in_row(&client, "KIM MINJUN", "confirm").await;
    wait_for_text(&client, "#register", "KIM MINJUN", false).await;
    screenshot(&client, "desk-1-arriving-confirmed").await;

    // In house, found by a search: move the Korean guest to room 305.
    client
        .goto(&app.url(&format!("/hotel?place={place_id}&q=kim")))
        .await
        .unwrap();
    let room = client
        .find(Locator::XPath(
            "//table[@id='register']//tr[contains(., 'KIM MINJUN')]//input[@name='room']",
        ))
        .await
        .unwrap();
    room.clear().await.unwrap();
    room.send_keys("305").await.unwrap();
    click_in_row(&client, "KIM MINJUN", "move").await;
    wait_for_text(&client, "#register", "305", true).await;
    // The page says what was done, and keeps the search.
    wait_for_text(&client, "#done", &vi["hotel.done.room"], true).await;
    let url = client.current_url().await.unwrap();
    assert!(url.as_str().contains("q=kim"), "{url}");
    assert_eq!(
        value_of(&client, "#q").await,
        "kim",
        "the search is kept after a move"
    );
    // And in the other tabs: "All stays" searches the same name.
    let all_tab = client
        .find(Locator::Css("nav.tabs a[href*='status=all']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(all_tab.contains("q=kim"), "{all_tab}");
    let register = text_of(&client, "#register").await;
    assert!(
        !register.contains("Nguyễn Văn An"),
        "still searched: {register}"
    );

    // Check out by mistake, then undo from the history.
    click_in_row(&client, "KIM MINJUN", "checkout").await;
    wait_for_text(&client, "#register", "KIM MINJUN", false).await;
    wait_for_text(&client, "#done", &vi["hotel.done.checked_out"], true).await;
    client
        .goto(&app.url(&format!("/hotel?place={place_id}&status=all")))
        .await
        .unwrap();
    click_in_row(&client, "KIM MINJUN", "undo").await;
    wait_for_text(&client, "#done", &vi["hotel.done.undone"], true).await;
    // Back in house: the row offers a check-out again.
    client
        .wait()
        .for_element(Locator::XPath(
            "//table[@id='register']//tr[contains(., 'KIM MINJUN')]//button[contains(@class, 'checkout')]",
        ))
        .await
        .unwrap();
    client
        .goto(&app.url(&format!("/hotel?place={place_id}")))
        .await
        .unwrap();
    let register = wait_for_text(&client, "#register", "KIM MINJUN", true).await;
    assert!(register.contains("305"), "{register}");
    // On a phone every stay's controls are in reach, without scrolling
    // the table sideways.
    let fits = client
        .execute(
            "const r = document.getElementById('register');
             r.scrollIntoView();
             const wide = [r, ...r.querySelectorAll('button, input')]
                 .filter(e => e.getBoundingClientRect().right > window.innerWidth);
             return wide.length === 0 && r.scrollWidth <= r.parentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!(true), "the register fits a phone");
    screenshot(&client, "desk-2-in-house").await;

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action || COALESCE(':' || (detail->>'field'), '') FROM audit_log
         WHERE action LIKE 'stay.%' AND actor_id IS NOT NULL ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "stay.desk_entry",
            "stay.confirm",
            "stay.correct:room",
            "stay.check_out",
            "stay.undo_check_out"
        ],
        "every change audited with who did it"
    );
    client.close().await.unwrap();
}

#[sqlx::test]
async fn an_office_account_sets_up_its_second_factor_on_a_phone(pool: sqlx::PgPool) {
    let app = common::spawn_configured(pool, |c| c.require_second_factor = true).await;
    luutru::auth::repo::create_user(
        &app.pool,
        "thu@office.vn",
        "correct horse battery",
        Role::Office,
        &[],
    )
    .await
    .unwrap();
    let (_driver, client) = browser().await;
    // The right password leads to the code page, not in.
    sign_in(&client, &app, "thu@office.vn", "/login/code").await;
    assert!(fits_the_screen(&client).await);
    screenshot(&client, "second-factor-setup").await;

    // The QR code on the screen, read by a decoder as a phone's app would.
    let qr = client
        .find(Locator::Css(".setup-qr svg"))
        .await
        .unwrap()
        .screenshot()
        .await
        .unwrap();
    let image = image::load_from_memory(&qr).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one code on the page");
    let (_, uri) = grids[0].decode().unwrap();
    let shown = text_of(&client, "code.secret").await.replace(' ', "");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(
        uri.contains(&format!("secret={shown}&")),
        "{uri} carries {shown}"
    );

    // The app's code signs in.
    let secret = data_encoding::BASE32_NOPAD
        .decode(shown.as_bytes())
        .unwrap();
    let code = luutru::auth::totp::code_at(&secret, luutru::auth::totp::now()).unwrap();
    type_into(&client, "#code", &code).await;
    click(&client, "button[type=submit]").await;
    wait_for_path(&client, "/office").await;
    client.close().await.unwrap();
}

/// The forms of a manager's day that a check-in does not go through: a
/// guest's details corrected, a police declaration recorded as sent, a
/// walk-in from a country the desk's list does not suggest, a colleague's
/// password set. Each is sent by the page itself, with every
/// field the page gives it.
#[sqlx::test]
async fn a_manager_corrects_a_guest_records_a_declaration_sets_a_password_and_removes_a_clerk(
    pool: sqlx::PgPool,
) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let place_id = place["id"].as_i64().unwrap();
    let (manager, desk) = ("quanly@test.vn", "le-tan@test.vn");
    for (email, role) in [(manager, Role::Manager), (desk, Role::Staff)] {
        luutru::auth::repo::create_user(
            &app.pool,
            email,
            "correct horse battery",
            role,
            &[place_id],
        )
        .await
        .unwrap();
    }
    let stay = app
        .check_in(&place, json!([common::korean_guest()]), 2)
        .await;
    let guest_id = stay["guests"][0]["id"].as_str().unwrap().to_owned();
    // Today's declaration, downloaded: the export the page offers to record.
    let api = app.sign_in_as(Role::Manager, &[place_id]).await;
    let export = app
        .get_response(
            &format!("/api/v1/places/{place_id}/police.xlsx?unsent=true"),
            &api,
        )
        .await;
    assert_eq!(export.status(), reqwest::StatusCode::OK);
    let batch: i64 = export.headers()["x-police-batch"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();

    let (_driver, client) = browser().await;
    sign_in(&client, &app, manager, "/hotel").await;

    client
        .goto(&app.url(&format!("/hotel/{place_id}/guests/{guest_id}")))
        .await
        .unwrap();
    let name = client
        .find(Locator::Css("#correct input[name=full_name]"))
        .await
        .unwrap();
    name.clear().await.unwrap();
    name.send_keys("KIM MIN-JUN").await.unwrap();
    click(&client, "#correct button[type=submit]").await;
    wait_for_text(&client, "#register", "KIM MIN-JUN", true).await;
    let stored: String =
        sqlx::query_scalar("SELECT full_name FROM guest_identities WHERE guest_id = $1::uuid")
            .bind(&guest_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, "KIM MIN-JUN");

    client
        .goto(&app.url(&format!("/hotel?place={place_id}")))
        .await
        .unwrap();
    // The reference typed, and Enter: the figures above the form may still
    // be arriving and moving it.
    type_into(&client, &format!("#ref-{batch}"), "CA-2026-0042\u{E007}").await;
    let marked = wait_for_text(&client, "p.ok[role=status]", "1", true).await;
    assert!(
        marked.ends_with(" 1"),
        "one guest recorded as declared: {marked}"
    );
    let reference: Option<String> =
        sqlx::query_scalar("SELECT reference FROM police_batches WHERE id = $1")
            .bind(batch)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(reference.as_deref(), Some("CA-2026-0042"));

    // A walk-in from a country the desk's list does not suggest: its code
    // typed by hand.
    client
        .goto(&app.url(&format!("/hotel?place={place_id}")))
        .await
        .unwrap();
    type_into(&client, "#g0_full_name", "GARCÍA LUCÍA").await;
    set_value(&client, "g0_date_of_birth", "1991-05-17").await;
    choose(&client, "#g0_sex", "F").await;
    let nationality = client.find(Locator::Css("#g0_nationality")).await.unwrap();
    nationality.clear().await.unwrap();
    nationality.send_keys("esp").await.unwrap();
    choose(&client, "#g0_document_type", "passport").await;
    type_into(&client, "#g0_document_number", "PAB123456").await;
    set_value(&client, "g0_document_expiry", "2031-01-31").await;
    type_into(&client, "#desk-entry #room", "12").await;
    let tomorrow =
        chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(1);
    set_value(
        &client,
        "expected_departure",
        &tomorrow.format("%Y-%m-%d").to_string(),
    )
    .await;
    // She came in last night; the paper register says 22:40.
    let last_night = (tomorrow - chrono::Duration::days(2)).date_naive();
    set_value(
        &client,
        "arrived_at",
        &format!("{}T22:40", last_night.format("%Y-%m-%d")),
    )
    .await;
    click(&client, "#desk-entry .actions button[value=save]").await;
    let register = wait_for_text(&client, "#register", "GARCÍA LUCÍA", true).await;
    assert!(register.contains("ESP"), "{register}");
    let arrived: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "SELECT s.arrived_at FROM stays s JOIN guests g ON g.stay_id = s.id WHERE g.nationality = 'ESP'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        arrived
            .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
            .naive_local(),
        last_night.and_hms_opt(22, 40, 0).unwrap(),
        "the time typed, in the city's clock"
    );

    client
        .goto(&app.url(&format!("/hotel/{place_id}/team")))
        .await
        .unwrap();
    assert!(
        fits_the_screen(&client).await
            && in_reach(&client, "people", "td, button").await
            && in_reach(&client, "activity", "td").await,
        "the team, its buttons and its activity are in reach on a phone"
    );
    let old_hash = password_hash(&app, desk).await;
    let row = format!("//tr[contains(., '{desk}')]");
    client
        .find(Locator::XPath(&format!("{row}//input[@name='password']")))
        .await
        .unwrap()
        .send_keys("a new desk password")
        .await
        .unwrap();
    client
        .find(Locator::XPath(&format!(
            "{row}//form[contains(@action, '/password')]//button"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..300 {
        if password_hash(&app, desk).await != old_hash {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let signed_in = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": desk, "password": "a new desk password"}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(signed_in, reqwest::StatusCode::OK, "the new password holds");
    wait_for_text(&client, "main", &catalog("vi")["team.done.password"], true).await;

    // Removing asks first: the button opens what it does, and only the
    // button under it removes.
    let row = format!("//tr[contains(., '{desk}')]");
    let ask = client
        .find(Locator::XPath(&format!("{row}//summary")))
        .await
        .unwrap();
    assert_eq!(ask.text().await.unwrap(), catalog("vi")["team.remove"]);
    ask.click().await.unwrap();
    wait_for_text(&client, "#people", &catalog("vi")["team.remove_note"], true).await;
    assert!(
        in_reach(&client, "people", "summary, button").await,
        "the confirmation is in reach on a phone"
    );
    client
        .find(Locator::XPath(&format!(
            "{row}//button[contains(@class, 'remove')]"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&client, "main", &catalog("vi")["team.done.removed"], true).await;
    wait_for_text(&client, "#people", desk, false).await;
    client.close().await.unwrap();
}

async fn password_hash(app: &common::TestApp, email: &str) -> String {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}
