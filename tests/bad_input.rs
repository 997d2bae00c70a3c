//! Malformed input gets a 4xx whose JSON names the field; never a 500.

mod common;

use common::{spawn, vietnamese_guest};
use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[sqlx::test]
async fn malformed_check_ins_name_the_field_to_fix(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let code = place["code"].as_str().unwrap();
    let tomorrow = (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        + chrono::Duration::days(1))
    .format("%Y-%m-%d")
    .to_string();

    let mut second = vietnamese_guest();
    second["date_of_birth"] = json!("15/08/1990");
    second["document_number"] = json!("12345");
    let cases = vec![
        (
            json!({"code": code, "guests": [vietnamese_guest(), second], "expected_departure": tomorrow, "purpose": "tourism", "consent": true}),
            vec!["guests[1].date_of_birth", "guests[1].document_number"],
        ),
        (
            json!({"code": code, "guests": [], "expected_departure": tomorrow, "purpose": "tourism", "consent": true}),
            vec!["guests"],
        ),
        (
            json!({"code": code, "guests": [vietnamese_guest()], "expected_departure": "2020-01-01", "purpose": "tourism", "consent": true}),
            vec!["expected_departure"],
        ),
        (
            json!({"code": code, "guests": [vietnamese_guest()], "expected_departure": tomorrow, "purpose": "tourism"}),
            vec!["consent"],
        ),
        (
            json!({"code": code, "guests": [vietnamese_guest()], "expected_departure": tomorrow, "consent": true, "purpose": "fun"}),
            vec!["purpose"],
        ),
        // The purpose goes to the police: it is asked for, not assumed.
        (
            json!({"code": code, "guests": [vietnamese_guest()], "expected_departure": tomorrow, "consent": true}),
            vec!["purpose"],
        ),
        (
            json!({"code": code, "guests": [{"full_name": "A"}], "expected_departure": tomorrow, "purpose": "tourism", "consent": true}),
            vec![
                "guests[0].date_of_birth",
                "guests[0].sex",
                "guests[0].nationality",
                "guests[0].document_type",
            ],
        ),
        (
            json!({"code": code, "guests": [{"full_name": 42}], "expected_departure": tomorrow, "purpose": "tourism", "consent": true}),
            vec!["guests[0].full_name"],
        ),
        (
            json!({"code": code, "guests": "everyone", "purpose": "tourism", "consent": true}),
            vec!["guests"],
        ),
        (
            json!({"guests": [vietnamese_guest()], "purpose": "tourism"}),
            vec!["code"],
        ),
        (
            json!({"code": code, "party_size": "ten"}),
            vec!["party_size"],
        ),
    ];
    for (body, fields) in cases {
        let (status, answer) = app.post_json("/api/v1/checkins", None, &body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} → {answer}"
        );
        for field in fields {
            assert!(
                answer["errors"][field].is_array(),
                "{field} named in {answer}"
            );
        }
        assert!(answer["message"].is_string());
    }

    let too_many: Vec<_> = (0..61).map(|_| vietnamese_guest()).collect();
    let (status, answer) = app
        .post_json("/api/v1/checkins", None, &json!({"code": code, "guests": too_many, "expected_departure": tomorrow, "purpose": "tourism", "consent": true}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["errors"]["guests"].is_array());

    let raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/api/v1/checkins"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_eq!(
        raw("{not json", "application/json").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        raw("code=x", "application/x-www-form-urlencoded")
            .await
            .unwrap()
            .status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let huge = "x".repeat(2 * 1024 * 1024);
    let response = app
        .client
        .post(app.url("/api/v1/checkins"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["request_id"], id.as_str(), "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("too large"));
    // A method a route does not take: 405, naming the ones it does.
    let response = app
        .client
        .delete(app.url("/api/v1/checkins"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["message"],
        "this route does not take this method: the Allow header names the ones it does"
    );

    // Places, registers and figures: the same.
    let (status, answer) = app
        .post_json(
            "/api/v1/places",
            Some(&office),
            &json!({"kind": "castle", "name": "", "ward": "Atlantis", "class": 9}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["kind", "name", "class", "ward"] {
        assert!(answer["errors"][field].is_array(), "{field} in {answer}");
    }
    let (status, answer) = app
        .post_json(
            "/api/v1/places",
            Some(&office),
            &json!({"kind": "attraction", "name": "X", "ward": "Atlantis"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer["errors"]["ward"][0]
            .as_str()
            .unwrap()
            .contains("Vũng Tàu"),
        "lists the wards: {answer}"
    );
    // An accommodation's address is on every guest's police notification;
    // a tourist site may go without.
    let (status, answer) = app
        .post_json(
            "/api/v1/places",
            Some(&office),
            &json!({"kind": "accommodation", "name": "Nhà nghỉ Không Số", "ward": "Vũng Tàu"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["errors"]["address"].is_array(), "{answer}");
    let hotel = place["id"].as_i64().unwrap();
    let (status, answer) = app
        .patch_json(
            &format!("/api/v1/places/{hotel}"),
            &office,
            &json!({"address": "  "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["errors"]["address"].is_array(), "{answer}");
    let (status, _) = app
        .post_json(
            "/api/v1/places",
            Some(&office),
            &json!({"kind": "attraction", "name": "Bãi Dâu", "ward": "Vũng Tàu"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // A value of the wrong type is said plainly, not in the parser's words.
    let (status, answer) = app
        .post_json(
            "/api/v1/places",
            Some(&office),
            &json!({"kind": "accommodation", "name": "Khách sạn Chữ", "address": "9 Thùy Vân",
                    "ward": "Vũng Tàu", "class": "3"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer["errors"]["class"][0], r#"must be a whole number; got string "3""#,
        "{answer}"
    );
    let (status, answer) = app
        .get_json("/api/v1/stats/summary?from=2026-13-01", Some(&office))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["errors"]["from"].is_array());
    let (status, _) = app
        .get_json(
            "/api/v1/stats/summary?from=2026-05-02&to=2026-05-01",
            Some(&office),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let id = place["id"].as_i64().unwrap();
    let (status, _) = app
        .get_json(
            &format!("/api/v1/places/{id}/qr.png?size=5000"),
            Some(&office),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.get_json("/api/v1/places/999999", Some(&office)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get_json("/api/v1/places/not-a-number", Some(&office))
        .await;
    assert!(status.is_client_error());
    let (status, _) = app
        .post_json("/api/v1/stays/not-a-uuid/checkout", None, &json!({}))
        .await;
    assert!(status.is_client_error());

    // NUL characters, which PostgreSQL text cannot hold, are refused up front.
    let mut nul = vietnamese_guest();
    nul["full_name"] = json!("An\u{0}");
    let (status, answer) = app
        .post_json("/api/v1/checkins", None, &json!({"code": code, "guests": [nul], "expected_departure": tomorrow, "purpose": "tourism", "consent": true}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("NUL"));
    let (status, _) = app
        .get_json(&format!("/api/v1/places/{id}/stays?q=a%00b"), Some(&office))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[("email", "a\u{0}@x.vn"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // The visitor page shows errors next to the field, in the visitor's language.
    let response = app
        .client
        .post(app.url(&format!("/c/{code}?lang=en")))
        .form(&[
            ("nonce", "n1"),
            ("guest_count", "1"),
            ("g0_date_of_birth", "1990"),
            ("action", "submit"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("This date is not valid"), "English message");
    assert!(html.contains("Please read the notice on personal data"));
}

#[sqlx::test]
async fn staff_forms_explain_errors_in_place_and_keep_what_was_typed(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[place]).await;

    // The office's new-place form: bad numbers are named, nothing typed is lost.
    let place_form = |name: &'static str, class: &'static str, rooms: &'static str, beds| {
        let request = app
            .client
            .post(app.url("/office/places"))
            .bearer_auth(&office)
            .form(&[
                ("kind", "accommodation"),
                ("name", name),
                ("address", "8 Thùy Vân"),
                ("ward", "Tam Thắng"),
                ("accommodation_type", "hotel"),
                ("class", class),
                ("rooms", rooms),
                ("beds", beds),
            ]);
        async move { request.send().await.unwrap() }
    };
    let new_place = |rooms, beds| place_form("Nhà nghỉ Gió Mới", "", rooms, beds);
    let response = new_place("2.5", "mười").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Số phòng: Phải là số nguyên"),
        "rooms named in Vietnamese"
    );
    assert!(html.contains("Số giường: Phải là số nguyên"));
    assert_eq!(
        html.matches("autofocus>").count(),
        1,
        "the page opens on the first error, not at its top far above the form"
    );
    assert!(html.contains("<p class=\"error\" role=\"alert\" tabindex=\"-1\" autofocus>"));
    assert!(
        html.contains("value=\"Nhà nghỉ Gió Mới\""),
        "the name is kept"
    );
    let places: i64 = sqlx::query_scalar("SELECT count(*) FROM places")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(places, 1, "nothing half-written");

    // The class in stars, as the statistics break places down by it.
    let with_class = |class| place_form("Khách sạn Sao Mai", class, "40", "80");
    let response = with_class("7").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Hạng sao: Hạng sao từ 1 đến 5."), "{html}");
    // Counts out of range are said in the reader's language too.
    let response = place_form("Khách sạn Biển Xa", "", "200000", "300000").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Số phòng: Nhập một số từ 0 đến 100.000."),
        "{html}"
    );
    assert!(html.contains("Số giường: Nhập một số từ 0 đến 100.000."));
    let response = with_class("3").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let class: Option<i16> =
        sqlx::query_scalar("SELECT class FROM places WHERE name = 'Khách sạn Sao Mai'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(class, Some(3));

    // Rooms and beds swapped: fewer beds than rooms is refused, on the form
    // and through the API, also when only one of them changes.
    let response = new_place("20", "5").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Số giường: Số giường ít hơn số phòng"),
        "{html}"
    );
    let (status, body) = app
        .patch_json(
            &format!("/api/v1/places/{place}"),
            &office,
            &json!({"beds": 4}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "5 rooms: {body}");
    assert_eq!(body["codes"]["beds"][0], "fewer_than_rooms", "{body}");
    // Put right, the place is registered and the page says so above the list.
    let response = new_place("5", "20").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let page = app.get_text(&location, &office).await;
    assert!(
        page.contains(
            "Đã đăng ký; áp phích của cơ sở có trong danh sách dưới đây: Nhà nghỉ Gió Mới"
        ),
        "{location}: {page}"
    );

    // A desk change refused from a searched register: said above the
    // register, which keeps the search it had.
    let hotel = app
        .get_json(&format!("/api/v1/places/{place}"), Some(&office))
        .await
        .1;
    let stay = app
        .check_in(&hotel, json!([common::korean_guest()]), 2)
        .await;
    let response = app
        .client
        .post(app.url(&format!(
            "/hotel/{place}/stays/{}/extend",
            stay["stay_id"].as_str().unwrap()
        )))
        .bearer_auth(&staff)
        .form(&[
            ("expected_departure", "2020-01-01"),
            ("view", "in_house"),
            ("back", "status=in_house&q=kim"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(
        html.contains("id=\"q\" name=\"q\" type=\"search\" value=\"kim\""),
        "the search is kept: {html}"
    );

    // The register's dates, the wrong way round, are refused with what to
    // fix, not answered with a list that looks like the register.
    let (status, answer) = app
        .get_json(
            &format!("/api/v1/places/{place}/stays?status=all&from=2026-11-05&to=2026-11-01"),
            Some(&staff),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["codes"]["to"][0], "range", "{answer}");

    // A bad range on the office page is explained there, not on a dead end.
    let response = app
        .client
        .get(app.url("/office?from=2026-05-02&to=2026-05-01"))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Đến ngày: Khoảng ngày không hợp lệ"));

    // The desk form keeps its choices after an error.
    let response = app
        .client
        .post(app.url(&format!("/hotel/{place}/stays")))
        .bearer_auth(&staff)
        .form(&[
            ("guest_count", "2"),
            ("g0_full_name", "PARK JI YEON"),
            ("g0_date_of_birth", "1995-03-04"),
            ("g0_sex", "F"),
            ("g0_nationality", "KOR"),
            ("g0_document_type", "passport"),
            ("g0_document_number", "M7654321"),
            ("g1_full_name", "PARK MIN"),
            ("g1_date_of_birth", "2090-01-01"),
            ("g1_sex", "M"),
            ("g1_nationality", "KOR"),
            ("g1_document_type", "passport"),
            ("g1_document_number", "M7654322"),
            ("expected_departure", "2001-01-01"),
            ("purpose", "tourism"),
            ("room", "Phòng hướng biển tầng mười hai"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("<option value=\"F\" selected>"), "sex kept");
    assert!(
        html.contains("name=\"g0_nationality\" list=\"nationalities\" value=\"KOR\""),
        "nationality kept"
    );
    assert!(
        html.contains("<option value=\"passport\" selected>"),
        "document type kept"
    );
    assert!(
        html.contains("Ngày dự kiến rời đi:"),
        "the field is named as the form labels it"
    );
    assert!(
        html.contains("Khách 2 · Ngày sinh:"),
        "a guest's field is named with the guest: {html}"
    );
    assert!(
        html.contains("value=\"PARK MIN\""),
        "the second guest is kept"
    );
    // The errors in the order of the form's fields.
    let at = |said: &str| {
        html.find(said)
            .unwrap_or_else(|| panic!("{said} in {html}"))
    };
    assert!(at("Phòng: Nội dung quá dài.") < at("Ngày dự kiến rời đi:"));
    assert!(at("Ngày dự kiến rời đi:") < at("Khách 2 · Ngày sinh:"));
}

#[sqlx::test]
async fn every_error_carries_the_request_id_its_logs_carry(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    // An id of our own is made for each request, in the header and the body.
    let response = app
        .client
        .post(app.url("/api/v1/checkins"))
        .json(&serde_json::json!({"code": "NOT-A-CODE"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    let header = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["request_id"], serde_json::json!(header));
    assert_eq!(header.len(), 32);
    // A proxy's id is kept when it is a plain one, replaced when it is not.
    for (sent, kept) in [("lb-7f3a-0001", true), ("bad id\twith tab", false)] {
        let response = app
            .client
            .get(app.url("/api/v1/places/1"))
            .header("x-request-id", sent)
            .send()
            .await
            .unwrap();
        let header = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(header == sent, kept, "{header}");
        assert_eq!(body["request_id"], serde_json::json!(header));
    }
    // A page that fails on our side names the reference in the reader's language.
    app.pool.close().await;
    let response = app
        .client
        .get(app.url(&format!("/stay/{}?t=x&lang=en", uuid::Uuid::now_v7())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let page = response.text().await.unwrap();
    assert!(
        page.contains(&format!("quote this reference: {id}")),
        "{page}"
    );
}

/// Write `parts` with a pause after each, then read what the server says
/// until it closes the connection or 3 seconds pass.
async fn talk(addr: std::net::SocketAddr, parts: &[(&[u8], u64)]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    for (bytes, pause_ms) in parts {
        if stream.write_all(bytes).await.is_err() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(*pause_ms)).await;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        stream.read_to_end(&mut answer),
    )
    .await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[sqlx::test]
async fn slow_and_oversized_requests_are_cut_off(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = luutru::server::Limits {
        header_read_timeout: std::time::Duration::from_secs(1),
        max_header_bytes: 16 * 1024,
    };
    tokio::spawn(luutru::server::run(
        listener,
        luutru::app(app.state.clone()),
        limits,
        std::future::pending(),
        std::time::Duration::from_secs(1),
    ));
    let request = b"GET /healthz HTTP/1.1\r\nHost: luutru\r\n\r\n".as_slice();

    // A plain request is answered.
    let answer = talk(addr, &[(request, 0)]).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // A client trickling its headers is cut off before it finishes.
    let answer = talk(
        addr,
        &[
            (b"GET /healthz HTTP/1.1\r\n".as_slice(), 700),
            (b"Host: luutru\r\n".as_slice(), 700),
            (b"\r\n".as_slice(), 0),
        ],
    )
    .await;
    assert!(!answer.contains(" 200 "), "{answer}");
    // A connection left idle after its answer is closed: the next request
    // on it gets nothing.
    let answer = talk(addr, &[(request, 1500), (request, 0)]).await;
    assert_eq!(answer.matches("HTTP/1.1 200").count(), 1, "{answer}");
    // A client that connects and says nothing is disconnected too.
    {
        use tokio::io::AsyncReadExt;
        let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut buffer = Vec::new();
        let closed = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            silent.read_to_end(&mut buffer),
        )
        .await;
        assert!(
            closed.is_ok(),
            "a silent connection is still open after 3 s"
        );
    }
    // Headers beyond the limit get 431.
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: luutru\r\nX-Filler: {}\r\n\r\n",
        "a".repeat(40 * 1024)
    );
    let answer = talk(addr, &[(big.as_bytes(), 0)]).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
}

#[sqlx::test]
async fn a_desk_entry_without_its_purpose_is_refused_and_nothing_is_stored(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let id = app.hotel(&office).await["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let tomorrow = common::local_day(1);
    let (status, answer) = app
        .post_json(
            &format!("/api/v1/places/{id}/stays"),
            Some(&staff),
            &json!({"guests": [vietnamese_guest()], "expected_departure": tomorrow.to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["codes"]["purpose"], json!(["required"]), "{answer}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM stays")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
}
