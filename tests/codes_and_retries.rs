//! Forged and rotated codes are refused; retries store one stay.

mod common;

use common::{spawn, vietnamese_guest};
use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn departure() -> String {
    (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string()
}

/// `body` with a departure day since past, stored under `key` as if it
/// had been the first request (sent yesterday, read as a `R`): its retry
/// today breaks today's rule on the departure.
async fn sent_yesterday<R: serde::de::DeserializeOwned + serde::Serialize>(
    app: &common::TestApp,
    key: &str,
    body: &Value,
) -> Value {
    let mut late = body.clone();
    late["expected_departure"] = json!((chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string());
    let as_sent: R = serde_json::from_value(late.clone()).unwrap();
    sqlx::query("UPDATE idempotency_keys SET request_hash = $1 WHERE key = $2")
        .bind(luutru::idempotency::request_hash(&as_sent))
        .bind(key)
        .execute(&app.pool)
        .await
        .unwrap();
    late
}

#[sqlx::test]
async fn forged_and_rotated_codes_get_404_and_the_new_code_works(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let old = place["code"].as_str().unwrap().to_owned();

    // Alter one character of a real code: the signature fails.
    let mut forged = old.clone().into_bytes();
    forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for code in [forged.as_str(), "AAAAAAAAAAAAAAAAAAAAAAAA", "short"] {
        let page = app
            .client
            .get(app.url(&format!("/c/{code}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::NOT_FOUND, "{code}");
        let (status, body) = app
            .post_json(
                "/api/v1/checkins",
                None,
                &json!({"code": code, "guests": [vietnamese_guest()],
                "expected_departure": departure(), "purpose": "tourism", "consent": true}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{code}: {body}");
    }

    let (status, rotated) = app
        .post_json(
            &format!("/api/v1/places/{id}/qr/rotate"),
            Some(&office),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new = rotated["code"].as_str().unwrap();
    assert_ne!(new, old);

    let page = app
        .client
        .get(app.url(&format!("/c/{old}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.text().await.unwrap().contains("đã cũ"),
        "the page says the poster is outdated"
    );
    let (status, _) = app
        .post_json(
            "/api/v1/checkins",
            None,
            &json!({"code": old, "guests": [vietnamese_guest()],
            "expected_departure": departure(), "purpose": "tourism", "consent": true}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let page = app
        .client
        .get(app.url(&format!("/c/{new}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    // The history says which code was printed when and which is active.
    let (status, history) = app
        .get_json(&format!("/api/v1/places/{id}/codes"), Some(&office))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history[0]["code"], new);
    assert_eq!(history[0]["active"], true);
    assert_eq!(history[1]["code"], old.as_str());
    assert_eq!(history[1]["active"], false);
    assert!(history[1]["revoked_at"].is_string());
}

#[sqlx::test]
async fn a_retry_with_the_same_idempotency_key_stores_one_stay(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let body = json!({"code": place["code"], "guests": [vietnamese_guest()], "expected_departure": departure(),
                      "purpose": "business", "consent": true});

    let send = |body: serde_json::Value| {
        app.client
            .post(app.url("/api/v1/checkins"))
            .header("Idempotency-Key", "retry-7d1c")
            .json(&body)
            .send()
    };
    // Two at once, then one more after both answered.
    let (a, b) = tokio::join!(send(body.clone()), send(body.clone()));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.status(), StatusCode::CREATED);
    assert_eq!(b.status(), StatusCode::CREATED);
    let a: serde_json::Value = a.json().await.unwrap();
    let b: serde_json::Value = b.json().await.unwrap();
    let c: serde_json::Value = send(body.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(a["stay_id"], b["stay_id"]);
    assert_eq!(a["stay_id"], c["stay_id"]);
    // The first answer again, check-out token and all, though the answer
    // is kept sealed: the database does not hold the token in clear.
    let token = a["checkout_token"].as_str().unwrap();
    assert_eq!(b, a);
    assert_eq!(c, a);
    let kept: String =
        sqlx::query_scalar("SELECT response::text FROM idempotency_keys WHERE key = 'retry-7d1c'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(kept.starts_with(r#"{"sealed": "#), "{kept}");
    assert!(!kept.contains(token), "{kept}");
    assert!(!kept.contains(a["stay_id"].as_str().unwrap()), "{kept}");
    let receipt = app
        .client
        .get(app.url(&format!(
            "/stay/{}?t={}",
            c["stay_id"].as_str().unwrap(),
            c["checkout_token"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(receipt.status(), StatusCode::OK, "the replayed link opens");
    let stays: i64 = sqlx::query_scalar("SELECT count(*) FROM stays")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let guests: i64 = sqlx::query_scalar("SELECT count(*) FROM guests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!((stays, guests), (1, 1));

    let mut other = body.clone();
    other["purpose"] = json!("tourism");
    let conflict = send(other).await.unwrap();
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    // A client says the refusal in its user's language from its code.
    let refusal: Value = conflict.json().await.unwrap();
    assert_eq!(refusal["code"], "key_reused", "{refusal}");

    // A retry after midnight, whose departure day is now past: as if the
    // first request had been sent yesterday for a stay ending yesterday.
    let late =
        sent_yesterday::<luutru::checkin::service::CheckinRequest>(&app, "retry-7d1c", &body).await;
    let retried = send(late.clone()).await.unwrap();
    assert_eq!(
        retried.status(),
        StatusCode::CREATED,
        "the first answer again"
    );
    let retried: serde_json::Value = retried.json().await.unwrap();
    assert_eq!(retried["stay_id"], a["stay_id"]);
    // Without a key, or under a new one, the same request is refused.
    let fresh = app
        .client
        .post(app.url("/api/v1/checkins"))
        .header("Idempotency-Key", "retry-new")
        .json(&late)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The page's form nonce does the same for a double tap without script.
    let form = [
        ("nonce", "tap-twice"),
        ("guest_count", "1"),
        ("g0_full_name", "Trần Thị Bình"),
        ("g0_date_of_birth", "1985-01-02"),
        ("g0_sex", "F"),
        ("g0_nationality", "VNM"),
        ("g0_document_type", "cccd"),
        ("g0_document_number", "079185000111"),
        ("expected_departure", &departure()),
        ("purpose", "tourism"),
        ("consent", "yes"),
        ("action", "submit"),
    ];
    let url = app.url(&format!("/c/{}", place["code"].as_str().unwrap()));
    let first = app.client.post(&url).form(&form).send().await.unwrap();
    let second = app.client.post(&url).form(&form).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(first.headers()["location"], second.headers()["location"]);
    let stays: i64 = sqlx::query_scalar("SELECT count(*) FROM stays")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stays, 2);
}

#[sqlx::test]
async fn a_desk_entry_retried_after_midnight_gets_its_first_answer(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let id = app.hotel(&office).await["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let body = json!({"guests": [vietnamese_guest()], "expected_departure": departure(),
                      "purpose": "business", "room": "12", "consent": true});
    let send = |body: Value| {
        app.client
            .post(app.url(&format!("/api/v1/places/{id}/stays")))
            .bearer_auth(&staff)
            .header("Idempotency-Key", "desk-7d1c")
            .json(&body)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();

    // As if the first request had been sent yesterday for a stay ending
    // yesterday: its retry today breaks today's rule on the departure, and
    // still gets the answer it was given.
    let late =
        sent_yesterday::<luutru::register::routes::DeskStayRequest>(&app, "desk-7d1c", &body).await;
    let retried = send(late.clone()).await.unwrap();
    assert_eq!(retried.status(), StatusCode::CREATED);
    let retried: Value = retried.json().await.unwrap();
    assert_eq!(retried, first);
    let stays: i64 = sqlx::query_scalar("SELECT count(*) FROM stays")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stays, 1);
    // Sent anew (no key), the same body is refused for its departure.
    let (status, refused) = app
        .post_json(&format!("/api/v1/places/{id}/stays"), Some(&staff), &late)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
}

#[sqlx::test]
async fn check_ins_are_recorded_while_redis_is_down(pool: sqlx::PgPool) {
    // Nothing listens on port 1.
    let app = common::spawn_with(pool, "redis://127.0.0.1:1".into()).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let (status, body) = app
        .post_json(
            "/api/v1/checkins",
            None,
            &json!({"code": place["code"], "guests": [vietnamese_guest()],
            "expected_departure": departure(), "purpose": "tourism", "consent": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stays: i64 = sqlx::query_scalar("SELECT count(*) FROM stays")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stays, 1);
    let (status, ready) = app.get_json("/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready, json!({"postgres": "up", "redis": "down"}));
    let (_, live) = app.get_json("/api/v1/stats/live", Some(&office)).await;
    assert_eq!(
        live["guests_in_house"], 1,
        "live figures fall back to PostgreSQL"
    );
}
