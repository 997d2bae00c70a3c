//! The whole loop through HTTP: a place, its QR code decoded by a real
//! decoder, a check-in from the decoded URL, the register, the figures,
//! the check-out.

mod common;

use common::{korean_guest, spawn, vietnamese_guest};
use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

fn decode_qr(png: &[u8]) -> String {
    let image = image::load_from_memory(png).expect("a PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    let (_, content) = grids[0].decode().expect("the code decodes");
    content
}

#[sqlx::test]
async fn a_guest_party_checks_in_from_the_decoded_qr_code_and_out_again(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let manager = app.sign_in_as(Role::Manager, &[id]).await;

    // The poster's code, decoded by a real decoder.
    let png = app
        .client
        .get(app.url(&format!("/api/v1/places/{id}/qr.png?size=400")))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(png.headers()["content-type"], "image/png");
    let url = decode_qr(&png.bytes().await.unwrap());
    let code = place["code"].as_str().unwrap();
    assert_eq!(url, format!("{}/C/{code}", app.base.to_uppercase()));
    assert_eq!(place["checkin_url"], format!("{}/c/{code}", app.base));

    // The decoded (upper-case) URL opens the check-in form.
    let page = app.client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Khách sạn Thử Nghiệm"),
        "the page names the place"
    );
    assert!(
        html.contains("name=\"g0_full_name\""),
        "the form asks for the guest's name"
    );

    // Two guests check in.
    let (status, stay) = app
        .post_json(
            "/api/v1/checkins",
            None,
            &json!({"code": code.to_lowercase(), "guests": [vietnamese_guest(), korean_guest()],
                    "expected_departure": (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(3)).format("%Y-%m-%d").to_string(),
                    "purpose": "tourism", "consent": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stay}");
    let stay_id = stay["stay_id"].as_str().unwrap();
    let token = stay["checkout_token"].as_str().unwrap();
    assert_eq!(stay["guests"].as_array().unwrap().len(), 2);

    // The register lists them, document numbers masked.
    let (status, register) = app
        .get_json(&format!("/api/v1/places/{id}/stays"), Some(&manager))
        .await;
    assert_eq!(status, StatusCode::OK);
    let guests = register[0]["guests"].as_array().unwrap();
    let names: Vec<&str> = guests
        .iter()
        .map(|g| g["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Nguyễn Văn An", "KIM MINJUN"]);
    assert_eq!(guests[0]["document_number_masked"], "•••••••••234");
    assert_eq!(register[0]["source"], "self_qr");

    // Accent-free search and exact document search find the stay.
    let (_, found) = app
        .get_json(
            &format!("/api/v1/places/{id}/stays?q=nguyen%20van"),
            Some(&manager),
        )
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (_, found) = app
        .get_json(
            &format!("/api/v1/places/{id}/stays?q=M12345678"),
            Some(&manager),
        )
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (_, found) = app
        .get_json(&format!("/api/v1/places/{id}/stays?q=tran"), Some(&manager))
        .await;
    assert_eq!(found.as_array().unwrap().len(), 0);

    // The figures count them.
    let today = luutru::localtime::today(app.state.tz()).to_string();
    let (status, summary) = app
        .get_json(
            &format!("/api/v1/stats/summary?from={today}&to={today}"),
            Some(&office),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["arrivals"], 2);
    assert_eq!(summary["domestic_arrivals"], 1);
    assert_eq!(summary["international_arrivals"], 1);
    assert_eq!(summary["guest_nights"], 0, "nobody has slept yet");
    let (_, live) = app.get_json("/api/v1/stats/live", Some(&office)).await;
    assert_eq!(live["guests_in_house"], 2);
    assert_eq!(live["arrivals_today"], 2);

    // The CSV has both guests with full document numbers, and a BOM.
    let csv = app
        .client
        .get(app.url(&format!("/api/v1/places/{id}/stays.csv")))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(csv.starts_with("\u{feff}".as_bytes()));
    let text = String::from_utf8(csv.to_vec()).unwrap();
    assert!(text.contains("077090001234") && text.contains("KIM MINJUN"));

    // The visitor checks out with the token; they leave the in-house list.
    let (status, out) = app
        .post_json(
            &format!("/api/v1/stays/{stay_id}/checkout"),
            None,
            &json!({"checkout_token": token}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (_, register) = app
        .get_json(&format!("/api/v1/places/{id}/stays"), Some(&manager))
        .await;
    assert_eq!(register.as_array().unwrap().len(), 0);
    let (_, all) = app
        .get_json(
            &format!("/api/v1/places/{id}/stays?status=all"),
            Some(&manager),
        )
        .await;
    assert_eq!(all[0]["checkout_by"], "visitor");
    let (_, live) = app.get_json("/api/v1/stats/live", Some(&office)).await;
    assert_eq!(live["guests_in_house"], 0);
    assert_eq!(live["arrivals_today"], 2);
    let (_, summary) = app
        .get_json(
            &format!("/api/v1/stats/summary?from={today}&to={today}"),
            Some(&office),
        )
        .await;
    assert_eq!(summary["same_day_guests"], 2, "left the day they came");

    // A wrong token cannot check anyone out.
    let (status, _) = app
        .post_json(
            &format!("/api/v1/stays/{stay_id}/checkout"),
            None,
            &json!({"checkout_token": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn a_site_visit_counts_its_party_today(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app
        .create_place(
            &office,
            json!({"kind": "attraction", "name": "Bạch Dinh", "ward": "Phường 1"}),
        )
        .await;
    assert_eq!(site["ward"], "Vũng Tàu", "a former ward name is understood");
    let code = site["code"].as_str().unwrap();
    let (status, visit) = app
        .post_json(
            "/api/v1/checkins",
            None,
            &json!({"code": code, "party_size": 12, "origin_country": "VNM", "origin_province": "Bình Dương"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{visit}");
    let province: Option<String> = sqlx::query_scalar(
        "SELECT p.name FROM visits v JOIN provinces p ON p.id = v.origin_province_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        province.as_deref(),
        Some("Hồ Chí Minh"),
        "a former province maps to today's"
    );
    let (_, live) = app.get_json("/api/v1/stats/live", Some(&office)).await;
    assert_eq!(live["attraction_visitors_today"], 12);
    let (status, bad) = app
        .post_json(
            "/api/v1/checkins",
            None,
            &json!({"code": code, "party_size": 501, "origin_country": "VNM"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad["errors"]["party_size"].is_array());
}

/// The register's tabs count the stays in house, those checked in by code and
/// not yet seen at the desk, those due to leave, and every stay; a cancelled
/// stay is in none of them and one that left is only in the history.
#[sqlx::test]
async fn the_register_tabs_count_what_they_list(pool: sqlx::PgPool) {
    let app = spawn(pool.clone()).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    let id = hotel["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    app.check_in(&hotel, json!([korean_guest()]), 0).await;
    let cancelled = app.check_in(&hotel, json!([vietnamese_guest()]), 2).await;
    let mut third = korean_guest();
    third["document_number"] = json!("M87654321");
    third["full_name"] = json!("PARK JIWOO");
    let left = app.check_in(&hotel, json!([third]), 2).await;
    let (status, _) = app
        .post_json(
            &format!(
                "/api/v1/stays/{}/checkout",
                left["stay_id"].as_str().unwrap()
            ),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    sqlx::query("UPDATE stays SET status = 'cancelled' WHERE id = $1::uuid")
        .bind(cancelled["stay_id"].as_str().unwrap())
        .execute(&pool)
        .await
        .unwrap();

    let page = app.get_text(&format!("/hotel?place={id}"), &staff).await;
    let tabs = &page[page.find("<nav class=\"tabs\">").unwrap()..];
    let tabs = &tabs[..tabs.find("</nav>").unwrap()];
    let counts: Vec<&str> = tabs
        .split("<b>")
        .skip(1)
        .map(|s| &s[..s.find("</b>").unwrap()])
        .collect();
    // In house, arriving, departing (today), history.
    assert_eq!(counts, ["1", "1", "1", "2"], "{tabs}");
}
