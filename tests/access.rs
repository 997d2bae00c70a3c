//! Each role is refused what it may not do.

mod common;

use common::{spawn, vietnamese_guest};
use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

#[sqlx::test]
async fn roles_see_only_what_they_may(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let a = app.hotel(&office).await["id"].as_i64().unwrap();
    let b = app.hotel(&office).await["id"].as_i64().unwrap();
    let staff_a = app.sign_in_as(Role::Staff, &[a]).await;
    let manager_b = app.sign_in_as(Role::Manager, &[b]).await;
    let inspector = app.sign_in_as(Role::Inspector, &[]).await;

    let desk = json!({"guests": [vietnamese_guest()], "room": "101",
                      "expected_departure": (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(1)).format("%Y-%m-%d").to_string(), "purpose": "tourism"});
    let (status, body) = app
        .post_json(&format!("/api/v1/places/{a}/stays"), Some(&staff_a), &desk)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let cases: Vec<(&str, Option<&str>, String, StatusCode)> = vec![
        (
            "anonymous reads a register",
            None,
            format!("/api/v1/places/{a}/stays"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "anonymous reads places",
            None,
            "/api/v1/places".into(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "anonymous reads figures",
            None,
            "/api/v1/stats/summary".into(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "staff of A reads B's register",
            Some(&staff_a),
            format!("/api/v1/places/{b}/stays"),
            StatusCode::FORBIDDEN,
        ),
        (
            "staff of A exports B's register",
            Some(&staff_a),
            format!("/api/v1/places/{b}/stays.csv"),
            StatusCode::FORBIDDEN,
        ),
        (
            "manager of B reads A's register",
            Some(&manager_b),
            format!("/api/v1/places/{a}/stays"),
            StatusCode::FORBIDDEN,
        ),
        (
            "office reads names",
            Some(&office),
            format!("/api/v1/places/{a}/stays"),
            StatusCode::FORBIDDEN,
        ),
        (
            "office exports names",
            Some(&office),
            format!("/api/v1/places/{a}/stays.csv"),
            StatusCode::FORBIDDEN,
        ),
        (
            "staff read city figures",
            Some(&staff_a),
            "/api/v1/stats/summary".into(),
            StatusCode::FORBIDDEN,
        ),
        (
            "staff read another place's figures",
            Some(&staff_a),
            format!("/api/v1/stats/summary?place_id={b}"),
            StatusCode::FORBIDDEN,
        ),
        (
            "staff read B's QR code",
            Some(&staff_a),
            format!("/api/v1/places/{b}/qr.png"),
            StatusCode::FORBIDDEN,
        ),
        (
            "staff read their own figures",
            Some(&staff_a),
            format!("/api/v1/stats/summary?place_id={a}"),
            StatusCode::OK,
        ),
        (
            "staff read their own register",
            Some(&staff_a),
            format!("/api/v1/places/{a}/stays"),
            StatusCode::OK,
        ),
        (
            "inspector reads any register",
            Some(&inspector),
            format!("/api/v1/places/{b}/stays"),
            StatusCode::OK,
        ),
        (
            "office reads figures",
            Some(&office),
            "/api/v1/stats/summary".into(),
            StatusCode::OK,
        ),
    ];
    for (what, token, path, expected) in cases {
        let (status, body) = app.get_json(&path, token).await;
        assert_eq!(status, expected, "{what}: {body}");
    }

    let writes: Vec<(&str, &str, String, serde_json::Value)> = vec![
        (
            "staff register a place",
            &staff_a,
            "/api/v1/places".into(),
            json!({"kind": "attraction", "name": "X", "ward": "Vũng Tàu"}),
        ),
        (
            "staff rotate a code",
            &staff_a,
            format!("/api/v1/places/{a}/qr/rotate"),
            json!({}),
        ),
        (
            "manager of B rotates A's code",
            &manager_b,
            format!("/api/v1/places/{a}/qr/rotate"),
            json!({}),
        ),
        (
            "manager of B enters a stay at A",
            &manager_b,
            format!("/api/v1/places/{a}/stays"),
            desk.clone(),
        ),
        (
            "office enters a stay",
            &office,
            format!("/api/v1/places/{a}/stays"),
            desk.clone(),
        ),
        (
            "inspector registers a place",
            &inspector,
            "/api/v1/places".into(),
            json!({"kind": "attraction", "name": "X", "ward": "Vũng Tàu"}),
        ),
    ];
    for (what, token, path, body) in writes {
        let (status, answer) = app.post_json(&path, Some(token), &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {answer}");
    }

    // The inspector's read is in the audit log; the office's list of places has no names of guests.
    let reads: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'register.read'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(reads, 1);
    let (_, places) = app.get_json("/api/v1/places", Some(&office)).await;
    assert!(!places.to_string().contains("Nguyễn"));

    // Staff check out their own guests but not another place's.
    let stay = sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM stays")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (status, _) = app
        .post_json(
            &format!("/api/v1/stays/{stay}/checkout"),
            Some(&manager_b),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post_json(&format!("/api/v1/stays/{stay}/checkout"), None, &json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .post_json(
            &format!("/api/v1/stays/{stay}/checkout"),
            Some(&staff_a),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Pages: anonymous people are sent to sign in; the office cannot open the register page of a place.
    let page = app.client.get(app.url("/hotel")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    let page = app
        .client
        .get(app.url(&format!("/hotel?place={a}")))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let page = app
        .client
        .get(app.url("/office"))
        .bearer_auth(&staff_a)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
}

#[sqlx::test]
async fn wrong_passwords_are_refused_and_signing_out_ends_the_session(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let token = app.sign_in_as(Role::Office, &[]).await;
    let (status, _) = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "nobody@test.vn", "password": "whatever-it-is"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, me) = app.get_json("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "office");
    let response = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, _) = app.get_json("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test]
async fn repeated_wrong_passwords_are_throttled_but_correct_ones_are_not(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let limit = app
        .state
        .config
        .rate_limits
        .get("login")
        .expect("a sign-in limit is configured");
    // Colleagues signing in correctly from one address are never throttled.
    for _ in 0..=limit.requests {
        app.sign_in_as(Role::Inspector, &[]).await;
    }
    let attempt = json!({"email": "someone@test.vn", "password": "not the password"});
    for _ in 0..limit.requests {
        let (status, _) = app.post_json("/api/v1/auth/login", None, &attempt).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&attempt)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= limit.window.as_secs());
}

#[sqlx::test]
async fn a_lockout_ends_with_its_window(pool: sqlx::PgPool) {
    let app = common::spawn_configured(pool, |c| {
        c.rate_limits = "login=3/2".parse().unwrap();
    })
    .await;
    let email = format!("locked-{}@test.vn", uuid::Uuid::new_v4().simple());
    luutru::auth::repo::create_user(
        &app.pool,
        &email,
        "correct horse battery",
        Role::Office,
        &[],
    )
    .await
    .unwrap();
    let wrong = json!({"email": email, "password": "not the password"});
    let right = json!({"email": email, "password": "correct horse battery"});
    for _ in 0..3 {
        let (status, _) = app.post_json("/api/v1/auth/login", None, &wrong).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password waits.
    let (status, _) = app.post_json("/api/v1/auth/login", None, &right).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // The window over, the lock is released by itself.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = app.post_json("/api/v1/auth/login", None, &right).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[sqlx::test]
async fn an_inspector_states_the_reason_for_each_search(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    app.check_in(&place, json!([vietnamese_guest()]), 2).await;
    let inspector = app.sign_in_as(Role::Inspector, &[]).await;

    let (status, body) = app
        .get_json(
            &format!("/api/v1/places/{id}/stays?q=nguyen"),
            Some(&inspector),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["codes"]["reason"][0], "reason_required");
    let page = app
        .get_response(&format!("/hotel?place={id}&q=nguyen"), &inspector)
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let (status, body) = app
        .get_json(
            &format!("/api/v1/places/{id}/stays?q=nguyen&reason=HS-2026-0173"),
            Some(&inspector),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    let page = app
        .get_text(
            &format!("/hotel?place={id}&q=nguyen&reason=HS-2026-0174"),
            &inspector,
        )
        .await;
    assert!(page.contains("Nguyễn Văn An"));
    assert!(page.contains(r#"name="reason""#));

    let reasons: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT detail->>'reason' FROM audit_log WHERE action = 'register.read' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        reasons,
        [
            Some("HS-2026-0173".to_owned()),
            Some("HS-2026-0174".to_owned())
        ]
    );
    // A search by document number is kept in the log with its last
    // digits only.
    let number = common::vietnamese_guest()["document_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = app
        .get_json(
            &format!("/api/v1/places/{id}/stays?q={number}&reason=HS-2026-0175"),
            Some(&inspector),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    let logged: String = sqlx::query_scalar(
        "SELECT detail->>'q' FROM audit_log WHERE detail->>'reason' = 'HS-2026-0175'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(!logged.contains(&number), "{logged}");
    assert!(logged.ends_with(&number[number.len() - 3..]), "{logged}");
    // The place's own staff search without giving a reason.
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let (status, _) = app
        .get_json(&format!("/api/v1/places/{id}/stays?q=nguyen"), Some(&staff))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test]
async fn the_audit_log_is_append_only_and_admins_export_it(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(written >= 1);
    // Nobody changes or removes a line, not even the service's own role.
    for sql in [
        "UPDATE audit_log SET action = 'nothing happened'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let error = sqlx::query(sql).execute(&app.pool).await.unwrap_err();
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }

    let admin = app.sign_in_as(Role::Admin, &[]).await;
    let response = app.get_response("/api/v1/audit.csv", &admin).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    let mut lines = csv.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next(),
        Some("id,at,who,action,place_id,place,target,detail")
    );
    let name = hotel["name"].as_str().unwrap();
    assert!(
        lines.any(|l| l.contains("place.create") && l.contains(name)),
        "{csv}"
    );
    // The export is itself in the log; the office may not export.
    let exports: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'audit.export'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(exports, 1);
    let refused = app.get_response("/api/v1/audit.csv", &office).await;
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    let backwards = app
        .get_response("/api/v1/audit.csv?from=2026-05-02&to=2026-05-01", &admin)
        .await;
    assert_eq!(
        backwards.status(),
        reqwest::StatusCode::UNPROCESSABLE_ENTITY
    );
}
