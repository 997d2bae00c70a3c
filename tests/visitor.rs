//! The visitor's side through HTTP: five languages, the page's weight, the
//! document reader (text and photo), a tour group behind one address, a
//! phone counted once at a site, and the automatic check-out.

mod common;

use std::collections::HashMap;

use common::{korean_guest, spawn, vietnamese_guest};
use luutru::auth::Role;
use luutru::checkin::forms::Inputs;
use reqwest::StatusCode;
use serde_json::{json, Value};

const CCCD: &str = "077090001234|273456789|Nguyễn Văn An|15081990|Nam|12 Thùy Vân, Phường 2, TP Vũng Tàu, Bà Rịa - Vũng Tàu|10052021";
const TD3: &str =
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";

/// A stay's receipt page, in `lang`.
async fn receipt_in(app: &common::TestApp, stay: &Value, lang: &str) -> String {
    app.client
        .get(format!(
            "{}&lang={lang}",
            stay["receipt_url"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn catalog(lang: &str) -> HashMap<String, String> {
    let path = format!("{}/web/i18n/{lang}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The place's code and a client that keeps cookies, as a phone does.
async fn hotel_code(app: &common::TestApp) -> (i64, String) {
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    (
        place["id"].as_i64().unwrap(),
        place["code"].as_str().unwrap().to_owned(),
    )
}

fn phone() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The check-in form of one Korean guest with passport `number`, sent with
/// `nonce`, without consent.
fn korean_guest_form<'a>(
    nonce: &'a str,
    number: &'a str,
    departure: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("nonce", nonce),
        ("guest_count", "1"),
        ("g0_full_name", "KIM MINJUN"),
        ("g0_date_of_birth", "1988-02-03"),
        ("g0_sex", "M"),
        ("g0_nationality", "KOR"),
        ("g0_document_type", "passport"),
        ("g0_document_number", number),
        ("expected_departure", departure),
        ("purpose", "tourism"),
        ("action", "submit"),
    ]
}

async fn post_form(
    client: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let response = client.post(url).form(form).send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

#[sqlx::test]
async fn the_form_speaks_the_visitors_language_and_remembers_a_choice(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (_, code) = hotel_code(&app).await;
    let url = app.url(&format!("/c/{code}"));
    for (accept, lang) in [
        ("ko-KR,ko;q=0.9", "ko"),
        ("zh-CN,zh;q=0.9,en;q=0.5", "zh"),
        ("ru-RU,ru;q=0.9", "ru"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR", "en"),
        ("", "vi"),
    ] {
        let html = app
            .client
            .get(&url)
            .header("accept-language", accept)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let words = catalog(lang);
        assert!(
            html.contains(&format!("<html lang=\"{lang}\">")),
            "{accept}"
        );
        for key in ["stay.submit", "guest.full_name", "consent.notice"] {
            assert!(html.contains(&words[key]), "{accept}: {key} in {lang}");
        }
    }

    // Chosen on the page: remembered by a cookie for the next page.
    let phone = phone();
    let chosen = phone.get(format!("{url}?lang=ru")).send().await.unwrap();
    assert!(chosen.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("lang=ru"));
    let html = phone.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"ru\">"));

    // Validation messages come in the same language, next to the field.
    let ko = catalog("ko");
    let departure = in_days(2);
    let (status, html) = post_form(
        &app.client,
        &format!("{url}?lang=ko"),
        &korean_guest_form("n-ko-1", "M12", &departure),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(&ko["error.passport_format"]), "{html}");
    assert!(html.contains(&ko["error.consent_required"]));
    assert!(html.contains("value=\"KIM MINJUN\""), "input kept");
}

#[sqlx::test]
async fn the_first_load_stays_under_30_kilobytes(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (_, code) = hotel_code(&app).await;
    let page = app
        .client
        .get(app.url(&format!("/c/{code}")))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["content-encoding"], "gzip");
    // Only our own script runs on it, and no site may frame it.
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    assert!(
        page.headers().get("strict-transport-security").is_none(),
        "HSTS only behind https"
    );
    let html = page.bytes().await.unwrap();
    let text = String::from_utf8_lossy(&flate_free_html(&app, &code).await).into_owned();
    let mut total = html.len();
    let mut assets = 0;
    for piece in text.split("=\"/static/").skip(1) {
        let path = piece.split('"').next().unwrap();
        let asset = app
            .client
            .get(app.url(&format!("/static/{path}")))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), StatusCode::OK, "{path}");
        total += asset.bytes().await.unwrap().len();
        assets += 1;
    }
    assert_eq!(assets, 2, "the stylesheet and the script");
    println!("first load: {total} bytes compressed");
    assert!(total < 30 * 1024, "first load is {total} bytes compressed");
}

/// The page at `path`, as text.
async fn page_text(app: &common::TestApp, path: &str) -> String {
    app.client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The page as text, to find what it links.
async fn flate_free_html(app: &common::TestApp, code: &str) -> Vec<u8> {
    page_text(app, &format!("/c/{code}")).await.into_bytes()
}

#[sqlx::test]
async fn a_document_is_read_from_its_text_or_a_photo(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (status, card) = app
        .post_json("/api/v1/documents/parse", None, &json!({ "text": CCCD }))
        .await;
    assert_eq!(status, StatusCode::OK, "{card}");
    assert_eq!(card["kind"], "cccd");
    assert_eq!(card["format"], "cccd_qr");
    let guest = &card["guest"];
    assert_eq!(guest["full_name"], "Nguyễn Văn An");
    assert_eq!(guest["date_of_birth"], "1990-08-15");
    assert_eq!(guest["sex"], "M");
    assert_eq!(guest["nationality"], "VNM");
    assert_eq!(guest["document_number"], "077090001234");
    assert_eq!(guest["capture"], "cccd_qr");

    let (status, passport) = app
        .post_json("/api/v1/documents/parse", None, &json!({ "text": TD3 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{passport}");
    assert_eq!(passport["kind"], "mrz");
    assert_eq!(passport["guest"]["full_name"], "ERIKSSON ANNA MARIA");
    assert_eq!(passport["guest"]["document_number"], "L898902C3");
    assert_eq!(passport["guest"]["nationality"], "UTO");

    // A wrong check digit is named, in a code a page can translate.
    let broken = TD3.replace("7408122F", "7408123F");
    let (status, error) = app
        .post_json("/api/v1/documents/parse", None, &json!({ "text": broken }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let codes: Vec<&str> = error["codes"]["text"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(codes.contains(&"mrz_check_birth"), "{error}");

    // A photo of the card's QR code: a code on a larger light background,
    // as PNG and as JPEG.
    let code_png = luutru::qr::render::png(CCCD, 420).unwrap();
    let code_image = image::load_from_memory(&code_png).unwrap().to_luma8();
    let mut photo = image::GrayImage::from_pixel(900, 700, image::Luma([225]));
    image::imageops::overlay(&mut photo, &code_image, 180, 120);
    for (kind, format) in [
        ("image/png", image::ImageFormat::Png),
        ("image/jpeg", image::ImageFormat::Jpeg),
    ] {
        let mut bytes = std::io::Cursor::new(Vec::new());
        photo.write_to(&mut bytes, format).unwrap();
        let response = app
            .client
            .post(app.url("/api/v1/documents/photo"))
            .header("content-type", kind)
            .body(bytes.into_inner())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{kind}");
        let read: Value = response.json().await.unwrap();
        assert_eq!(read["guest"]["full_name"], "Nguyễn Văn An", "{kind}");
    }

    // Not an image, or an image without a code: say so.
    let response = app
        .client
        .post(app.url("/api/v1/documents/photo"))
        .header("content-type", "image/jpeg")
        .body(vec![0u8; 100])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let blank = image::GrayImage::from_pixel(300, 300, image::Luma([200]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    blank.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    let response = app
        .client
        .post(app.url("/api/v1/documents/photo"))
        .header("content-type", "image/png")
        .body(bytes.into_inner())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["codes"]["photo"][0], "qr_not_found");
    let response = app
        .client
        .post(app.url("/api/v1/documents/photo"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[sqlx::test]
async fn without_script_the_form_reads_a_document_and_shows_more_guests(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (_, code) = hotel_code(&app).await;
    let url = app.url(&format!("/c/{code}?lang=vi"));
    let (status, html) = post_form(
        &app.client,
        &url,
        &[
            ("nonce", "n-doc"),
            ("guest_count", "2"),
            ("g1_doc", CCCD),
            ("action", "read_document_1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(
        "id=\"g1_full_name\" name=\"g1_full_name\" type=\"text\" value=\"Nguyễn Văn An\""
    ));
    assert!(html.contains("value=\"077090001234\""));
    assert!(html.contains(&catalog("vi")["doc.filled"]));

    let (status, html) = post_form(
        &app.client,
        &url,
        &[
            ("nonce", "n-doc"),
            ("guest_count", "1"),
            ("g0_doc", &TD3.replace("L898902C36", "L898902C37")),
            ("action", "read_document_0"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(&catalog("vi")["error.mrz_check_document"]));

    let (status, html) = post_form(
        &app.client,
        &url,
        &[
            ("nonce", "n-doc"),
            ("guest_count", "1"),
            ("want_count", "12"),
            ("action", "set_count"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("name=\"g11_full_name\"") && !html.contains("name=\"g12_full_name\""));

    // A guest added to a family starts with the guest before's nationality
    // and home address; the name stays empty.
    let (status, html) = post_form(
        &app.client,
        &url,
        &[
            ("nonce", "n-doc"),
            ("guest_count", "1"),
            ("g0_full_name", "Nguyễn Văn An"),
            ("g0_nationality", "VNM"),
            ("g0_address", "12 Lê Lợi, Vũng Tàu"),
            ("action", "add_guest"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("name=\"g1_address\" type=\"text\" value=\"12 Lê Lợi, Vũng Tàu\""),
        "{html}"
    );
    assert!(html.contains("name=\"g1_full_name\" type=\"text\" value=\"\""));
    let second = &html[html.find("name=\"g1_nationality\"").unwrap()..];
    let second = &second[..second.find("</select>").unwrap()];
    assert!(
        second.contains("<option value=\"VNM\" selected>"),
        "{second}"
    );
}

#[sqlx::test]
async fn the_desks_next_guest_starts_with_the_guest_befores_nationality_document_and_address(
    pool: sqlx::PgPool,
) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let id = app.hotel(&office).await["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    // The desk's form sent with `fields`, after the first guest's: the page
    // it comes back as.
    let desk = |fields: &'static [(&'static str, &'static str)]| {
        let mut form = vec![
            ("g0_full_name", "KIM MIN JUN"),
            ("g0_nationality", "KOR"),
            ("g0_document_type", "passport"),
            ("g0_address", "12 Lê Lợi, Vũng Tàu"),
            ("purpose", "tourism"),
        ];
        form.extend_from_slice(fields);
        let request = app
            .client
            .post(app.url(&format!("/hotel/{id}/stays")))
            .bearer_auth(&staff)
            .form(&form);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.text().await.unwrap()
        }
    };
    let html = desk(&[("guest_count", "1"), ("action", "add_guest")]).await;
    assert!(
        html.contains("name=\"g1_nationality\" list=\"nationalities\" value=\"KOR\""),
        "{html}"
    );
    assert!(html.contains("name=\"g1_address\" value=\"12 Lê Lợi, Vũng Tàu\""));
    let kind = &html[html.find("name=\"g1_document_type\"").unwrap()..];
    let kind = &kind[..kind.find("</select>").unwrap()];
    assert!(
        kind.contains("<option value=\"passport\" selected>"),
        "{kind}"
    );
    // Sex is not copied, nor guessed: the clerk chooses it, or the scan gives it.
    let sex = &html[html.find("name=\"g1_sex\"").unwrap()..];
    let sex = &sex[..sex.find("</select>").unwrap()];
    assert!(
        sex.starts_with("name=\"g1_sex\"><option value=\"\"></option>")
            && !sex.contains("selected"),
        "{sex}"
    );
    // The form opens on the scanner, above the guest added.
    assert!(html.contains(
        "id=\"scan\" name=\"scan\" autocomplete=\"off\" spellcheck=\"false\" value=\"\" autofocus>"
    ));
    // The first guest is kept as typed.
    assert!(html.contains("name=\"g0_full_name\" value=\"KIM MIN JUN\""));

    // The scanner (without script) reads a passport of another country into
    // the new guest: not of that household, so the copied address goes.
    let html = desk(&[
        ("guest_count", "2"),
        ("g1_nationality", "KOR"),
        ("g1_address", "12 Lê Lợi, Vũng Tàu"),
        ("scan", TD3),
        ("action", "read"),
    ])
    .await;
    assert!(
        html.contains("name=\"g1_full_name\" value=\"ERIKSSON ANNA MARIA\""),
        "{html}"
    );
    assert!(html.contains("name=\"g1_address\" value=\"\""));
    assert!(html.contains("name=\"g0_address\" value=\"12 Lê Lợi, Vũng Tàu\""));
    assert!(html.contains("<option value=\"F\" selected>"), "{html}");

    // Saved without a sex for the first guest: refused, saying so.
    let refused = app
        .client
        .post(app.url(&format!("/hotel/{id}/stays")))
        .bearer_auth(&staff)
        .header("accept-language", "en")
        .form(&[
            ("guest_count", "1"),
            ("g0_full_name", "KIM MIN JUN"),
            ("action", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Guest 1 · Sex: Please fill this in."),
        "{html}"
    );
    // Said again under the field itself, which is marked, and under the
    // notice's box, which was not ticked.
    assert!(
        html.contains("<select id=\"g0_sex\" name=\"g0_sex\" aria-invalid=\"true\" aria-describedby=\"g0_sex-error\">"),
        "{html}"
    );
    assert!(
        html.contains("</select><p class=\"error\" id=\"g0_sex-error\">Please fill this in.</p>"),
        "{html}"
    );
    assert!(
        html.contains("name=\"consent\" value=\"yes\" aria-invalid=\"true\""),
        "{html}"
    );
    assert!(html.contains("id=\"consent-error\""), "{html}");
    assert!(!html.contains("id=\"g0_full_name-error\""), "{html}");
}

#[sqlx::test]
async fn sixty_phones_behind_one_address_all_check_in_once(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let (place_id, code) = hotel_code(&app).await;
    assert!(
        app.state.config.rate_limits.get("checkin").is_some(),
        "the default limits are on"
    );
    let mut tasks = Vec::new();
    for n in 0..60 {
        let client = app.client.clone();
        let url = app.url("/api/v1/checkins");
        let mut guest = korean_guest();
        guest["document_number"] = json!(format!("M{n:08}"));
        let body = json!({"code": code, "guests": [guest], "expected_departure": in_days(2), "purpose": "tourism", "consent": true});
        tasks.push(tokio::spawn(async move {
            let send = || {
                client
                    .post(&url)
                    .header("idempotency-key", format!("phone-{n}"))
                    .json(&body)
                    .send()
            };
            // Every phone taps twice.
            let first = send().await.unwrap().status();
            let second = send().await.unwrap().status();
            (first, second)
        }));
    }
    for task in tasks {
        let (first, second) = task.await.unwrap();
        assert_eq!(first, StatusCode::CREATED);
        assert_eq!(second, StatusCode::CREATED, "the retry replays the answer");
    }
    let stays: i64 = sqlx::query_scalar("SELECT count(*) FROM stays WHERE place_id = $1")
        .bind(place_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stays, 60);
}

#[sqlx::test]
async fn a_phone_is_counted_once_at_a_site_within_the_window(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app.site(&office, "Tượng Chúa Kitô").await;
    let code = site["code"].as_str().unwrap();
    let url = app.url(&format!("/c/{code}?lang=en"));
    let visitors = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT COALESCE(sum(party_size), 0)::bigint FROM visits")
            .fetch_one(&pool)
            .await
            .unwrap()
    };

    let phone_a = phone();
    let count_in = |client: reqwest::Client, nonce: &'static str, size: &'static str| {
        let url = url.clone();
        async move {
            post_form(
                &client,
                &url,
                &[
                    ("nonce", nonce),
                    ("party_size", size),
                    ("origin_country", "VNM"),
                    ("origin_province", "Hà Nội"),
                    ("action", "submit"),
                ],
            )
            .await
        }
    };
    // A typed country that is none: said under the field it was typed in.
    let (status, html) = post_form(
        &phone(),
        &url,
        &[
            ("nonce", "x1"),
            ("party_size", "2"),
            ("origin_country", ""),
            ("origin_country_other", "XYZ"),
            ("action", "submit"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let under = |id: &str| -> String {
        let after = html.split(&format!("id=\"{id}\"")).nth(1).unwrap();
        after.split("</div>").next().unwrap().to_owned()
    };
    assert!(
        under("origin_country_other").contains("class=\"error\""),
        "{html}"
    );
    assert!(
        !under("origin_country").contains("class=\"error\""),
        "{html}"
    );
    assert_eq!(visitors(app.pool.clone()).await, 0);

    let (status, html) = count_in(phone_a.clone(), "a1", "4").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains(&catalog("en")["visit.already_counted"]));
    // The same phone scans again a minute later (a new form): not counted twice.
    let (status, html) = count_in(phone_a.clone(), "a2", "4").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&catalog("en")["visit.already_counted"]));
    assert_eq!(visitors(app.pool.clone()).await, 4);
    // Another phone in the same place is.
    let (status, _) = count_in(phone(), "b1", "3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(visitors(app.pool.clone()).await, 7);
    // A double tap before the phone has any cookie: the form's nonce makes it one.
    let fresh = phone();
    let (first, second) = tokio::join!(
        count_in(fresh.clone(), "c1", "2"),
        count_in(fresh.clone(), "c1", "2")
    );
    assert_eq!((first.0, second.0), (StatusCode::OK, StatusCode::OK));
    assert_eq!(visitors(app.pool.clone()).await, 9);

    // The API keeps the same rule for a device id.
    let body = json!({"code": code, "party_size": 2, "origin_country": "KOR", "device_id": "app-install-1"});
    let (status, first) = app.post_json("/api/v1/checkins", None, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["counted"], true);
    let (status, again) = app.post_json("/api/v1/checkins", None, &body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["counted"], false);
    assert_eq!(again["visit_id"], first["visit_id"]);
    assert_eq!(visitors(app.pool.clone()).await, 11);

    // After the window the phone counts again.
    sqlx::query("UPDATE visits SET visited_at = visited_at - interval '31 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, html) = count_in(phone_a, "a3", "4").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(&catalog("en")["visit.already_counted"]));
    assert_eq!(visitors(app.pool.clone()).await, 15);
}

#[sqlx::test]
async fn stays_past_their_departure_are_checked_out_automatically(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let (place_id, code) = hotel_code(&app).await;
    let check_in = |departure: String, guest: Value| {
        let body = json!({"code": code, "guests": [guest], "expected_departure": departure, "purpose": "tourism", "consent": true});
        let app = &app;
        async move {
            let (status, stay) = app.post_json("/api/v1/checkins", None, &body).await;
            assert_eq!(status, StatusCode::CREATED, "{stay}");
            stay
        }
    };
    let gone = check_in(in_days(1), vietnamese_guest()).await;
    let staying = check_in(in_days(3), korean_guest()).await;
    let gone_id: uuid::Uuid = gone["stay_id"].as_str().unwrap().parse().unwrap();
    // The first party arrived three days ago and was due to leave yesterday.
    for table in ["stays", "guests"] {
        let key = if table == "stays" { "id" } else { "stay_id" };
        sqlx::query(&format!(
            "UPDATE {table} SET arrived_at = arrived_at - interval '3 days', arrival_date = arrival_date - 3 WHERE {key} = $1"
        ))
        .bind(gone_id)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    sqlx::query("UPDATE stays SET expected_departure = expected_departure - 2 WHERE id = $1")
        .bind(gone_id)
        .execute(&app.pool)
        .await
        .unwrap();

    let tz = app.state.tz();
    let noon = chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap();
    let touched = luutru::checkin::departures::run_once(&app.pool, tz, noon)
        .await
        .unwrap();
    assert_eq!(touched, vec![place_id]);
    let row: (
        chrono::DateTime<chrono::Utc>,
        chrono::NaiveDate,
        String,
        chrono::NaiveDate,
    ) = sqlx::query_as(
        "SELECT departed_at, departure_date, checkout_by, expected_departure FROM stays WHERE id = $1",
    )
    .bind(gone_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(row.2, "automatic");
    assert_eq!(row.1, row.3, "dated on the expected departure day");
    assert_eq!(
        row.0,
        row.3.and_time(noon).and_local_timezone(tz).unwrap(),
        "at the check-out time"
    );
    let in_house: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM guests WHERE stay_id = $1 AND departed_at IS NULL",
    )
    .bind(gone_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(in_house, 0);
    let open: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT departed_at FROM stays WHERE id = $1")
            .bind(
                staying["stay_id"]
                    .as_str()
                    .unwrap()
                    .parse::<uuid::Uuid>()
                    .unwrap(),
            )
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(open.is_none(), "a stay not yet due stays open");
    assert!(luutru::checkin::departures::run_once(&app.pool, tz, noon)
        .await
        .unwrap()
        .is_empty());

    // The visitor's receipt and the register say it was automatic.
    let receipt = receipt_in(&app, &gone, "en").await;
    assert!(receipt.contains(&catalog("en")["receipt.auto_checkout"]));
    let manager = app.sign_in_as(Role::Manager, &[place_id]).await;
    let register = app
        .get_text(&format!("/hotel?place={place_id}&status=all"), &manager)
        .await;
    assert!(
        register.contains(&catalog("vi")["hotel.checkout_auto"]),
        "{register}"
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'stay.check_out' AND detail->>'by' = 'automatic'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    let _ = office;
}

#[sqlx::test]
async fn a_stay_due_today_stays_in_house_and_an_undone_automatic_check_out_holds(
    pool: sqlx::PgPool,
) {
    let app = spawn(pool).await;
    let (place_id, code) = hotel_code(&app).await;
    let body = |departure: String| json!({"code": code, "guests": [vietnamese_guest()], "expected_departure": departure, "purpose": "tourism", "consent": true});
    let today = in_days(0);
    let (status, due_today) = app.post_json("/api/v1/checkins", None, &body(today)).await;
    assert_eq!(status, StatusCode::CREATED);
    let tz = app.state.tz();
    let noon = chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap();
    // Leaving today, whatever the hour: the desk checks them out, not the job.
    luutru::checkin::departures::run_once(&app.pool, tz, noon)
        .await
        .unwrap();
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM stays WHERE departed_at IS NULL")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(open, 1);

    // Due yesterday: closed by the job; the desk undoes it (the guest stayed
    // on), and the next run leaves it alone.
    let stay: uuid::Uuid = due_today["stay_id"].as_str().unwrap().parse().unwrap();
    for sql in [
        "UPDATE stays SET arrived_at = arrived_at - interval '2 days', arrival_date = arrival_date - 2, expected_departure = expected_departure - 1 WHERE id = $1",
        "UPDATE guests SET arrived_at = arrived_at - interval '2 days', arrival_date = arrival_date - 2 WHERE stay_id = $1",
    ] {
        sqlx::query(sql).bind(stay).execute(&app.pool).await.unwrap();
    }
    luutru::checkin::departures::run_once(&app.pool, tz, noon)
        .await
        .unwrap();
    let manager = app.sign_in_as(Role::Manager, &[place_id]).await;
    let undo = app
        .client
        .post(app.url(&format!("/hotel/{place_id}/stays/{stay}/undo-checkout")))
        .bearer_auth(&manager)
        .form(&[("view", "all")])
        .send()
        .await
        .unwrap();
    assert_eq!(undo.status(), StatusCode::SEE_OTHER);
    let touched = luutru::checkin::departures::run_once(&app.pool, tz, noon)
        .await
        .unwrap();
    assert!(touched.is_empty(), "not closed again");
    let (departed, expected): (Option<chrono::DateTime<chrono::Utc>>, chrono::NaiveDate) =
        sqlx::query_as("SELECT departed_at, expected_departure FROM stays WHERE id = $1")
            .bind(stay)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(departed.is_none());
    assert_eq!(
        expected,
        luutru::localtime::today(tz),
        "expected to leave today at the earliest"
    );
}

/// The scan page of `code` in `lang`, with its nonce.
async fn scan_form(app: &common::TestApp, code: &str, lang: &str) -> (String, String) {
    let html = page_text(app, &format!("/c/{code}?lang={lang}")).await;
    let nonce = html
        .split(r#"name="nonce" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries a nonce")
        .to_owned();
    (html, nonce)
}

/// Every scan of `place`'s code gets the same form with a nonce of its own,
/// in the spelling and language it asked for, and the place as it is now
/// once renamed from `name` to `renamed`.
async fn each_scan_gets_its_own_nonce_and_the_place_as_it_is_now(
    app: &common::TestApp,
    office: &str,
    place: &Value,
    (name, renamed): (&str, &str),
) {
    let code = place["code"].as_str().unwrap();

    // The same form each time, each with a nonce of its own.
    let (first, first_nonce) = scan_form(app, code, "vi").await;
    let (second, second_nonce) = scan_form(app, code, "vi").await;
    assert_ne!(first_nonce, second_nonce);
    assert_eq!(
        first.replace(&first_nonce, "-"),
        second.replace(&second_nonce, "-")
    );
    assert!(first.contains(name));

    // A phone that sends the code in lower case gets the same form, its
    // own spelling in it.
    let lower = code.to_ascii_lowercase();
    let (spelled, spelled_nonce) = scan_form(app, &lower, "vi").await;
    assert_eq!(
        spelled.replace(&spelled_nonce, "-"),
        first.replace(&first_nonce, "-").replace(code, &lower)
    );

    // Each language its own.
    let (english, _) = scan_form(app, code, "en").await;
    assert!(english.contains(r#"<html lang="en""#), "{english}");
    let (vietnamese, _) = scan_form(app, code, "vi").await;
    assert!(vietnamese.contains(r#"<html lang="vi""#));

    // Renamed, the place shows its new name at the next scan.
    let (status, _) = app
        .patch_json(
            &format!("/api/v1/places/{}", place["id"]),
            office,
            &json!({"name": renamed}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (now, _) = scan_form(app, code, "vi").await;
    assert!(now.contains(renamed), "{now}");
    assert!(!now.contains(name));
}

#[sqlx::test]
async fn every_scan_of_a_site_gets_its_own_nonce_and_the_place_as_it_is_now(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app.site(&office, "Bạch Dinh").await;
    each_scan_gets_its_own_nonce_and_the_place_as_it_is_now(
        &app,
        &office,
        &site,
        ("Bạch Dinh", "Dinh Thống Đốc"),
    )
    .await;
}

#[sqlx::test]
async fn every_scan_of_an_accommodation_gets_its_own_nonce_and_its_form_still_works(
    pool: sqlx::PgPool,
) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    each_scan_gets_its_own_nonce_and_the_place_as_it_is_now(
        &app,
        &office,
        &hotel,
        ("Khách sạn Thử Nghiệm", "Khách sạn Đổi Tên"),
    )
    .await;
    let code = hotel["code"].as_str().unwrap();
    let today = luutru::localtime::today(chrono_tz::Asia::Ho_Chi_Minh);

    // Kept for the place as it is now and for today only.
    let renamed = luutru::places::repo::ScanTarget {
        place_id: hotel["id"].as_i64().unwrap(),
        kind: luutru::places::model::PlaceKind::Accommodation,
        name: "Khách sạn Đổi Tên".to_owned(),
        ward: hotel["ward"].as_str().unwrap().to_owned(),
        open: true,
    };
    let kept = |day| {
        app.state
            .scan_forms
            .get(code, luutru::i18n::Lang::Vi, &renamed, &Inputs::Day(day))
            .is_some()
    };
    assert!(kept(today));
    assert!(!kept(today + chrono::Duration::days(1)));

    // The form offers today's dates, for one guest; asked for two, it
    // has two.
    let (form, nonce) = scan_form(&app, code, "en").await;
    assert!(
        form.contains(&format!(r#"value="{}""#, in_days(1))),
        "{form}"
    );
    assert!(form.contains(&today.to_string()));
    assert!(form.contains("g0_full_name") && !form.contains("g1_full_name"));
    let two = page_text(&app, &format!("/c/{code}?lang=en&guests=2")).await;
    assert!(two.contains("g1_full_name"), "{two}");
    let (again, _) = scan_form(&app, code, "en").await;
    assert!(!again.contains("g1_full_name"), "the one-guest form kept");

    // A kept form's nonce checks a guest in.
    let departure = in_days(2);
    let mut form = korean_guest_form(&nonce, "M12345678", &departure);
    form.push(("consent", "yes"));
    let (status, html) =
        post_form(&app.client, &app.url(&format!("/c/{code}?lang=en")), &form).await;
    assert!(
        status.is_success() || status.is_redirection(),
        "{status}: {html}"
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM stays WHERE place_id = $1")
        .bind(hotel["id"].as_i64().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

/// A family's receipt keeps each guest's details apart, in the reader's
/// words: "Guest 1", "Guest 2", the sex and the document as the form named
/// them.
#[sqlx::test]
async fn a_familys_receipt_shows_each_guest_apart_in_words(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let stay = app
        .check_in(&place, json!([korean_guest(), vietnamese_guest()]), 2)
        .await;
    let receipt = receipt_in(&app, &stay, "vi").await;
    let vi = catalog("vi");
    for words in [
        format!("<h3>{} 1</h3>", vi["guest.legend"]),
        format!("<h3>{} 2</h3>", vi["guest.legend"]),
        format!("<td>{}</td>", vi["sex.M"]),
        format!("<td>{}</td>", vi["doc.passport"]),
    ] {
        assert!(receipt.contains(&words), "{words} in {receipt}");
    }
    assert!(!receipt.contains("<td>passport</td>"), "{receipt}");
}
