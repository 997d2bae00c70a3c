//! Instances are stateless: two of them on different ports, sharing one
//! PostgreSQL and one Redis, agree on idempotency, rate limits, cached codes
//! and the statistics, whichever one a request lands on.

mod common;

use common::{spawn_sharing, TestApp};
use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn two(pool: sqlx::PgPool) -> (TestApp, TestApp) {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let a = spawn_sharing(pool.clone(), common::redis_url(), &prefix).await;
    let b = spawn_sharing(pool, common::redis_url(), &prefix).await;
    (a, b)
}

fn visit(code: &Value) -> Value {
    json!({"code": code, "party_size": 3, "origin_country": "VNM"})
}

async fn post_keyed(app: &TestApp, body: &Value, key: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/checkins"))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[sqlx::test]
async fn a_retry_on_the_other_instance_gets_the_first_answer(pool: sqlx::PgPool) {
    let (a, b) = two(pool).await;
    let office = a.sign_in_as(Role::Office, &[]).await;
    let place = a.hotel(&office).await;
    let body = json!({"code": place["code"], "guests": [common::vietnamese_guest()],
                      "expected_departure": (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(2)).format("%Y-%m-%d").to_string(),
                      "purpose": "tourism", "consent": true});
    let (first, answer) = post_keyed(&a, &body, "phone-retry-1").await;
    assert_eq!(first, StatusCode::CREATED, "{answer}");
    let (again, replay) = post_keyed(&b, &body, "phone-retry-1").await;
    assert_eq!(again, StatusCode::CREATED);
    assert_eq!(replay, answer, "the same stay and token");
    let stays: i64 = sqlx::query_scalar("SELECT count(*) FROM stays")
        .fetch_one(&a.pool)
        .await
        .unwrap();
    assert_eq!(stays, 1);
    // The same key with another body is refused on either instance.
    let mut other = body.clone();
    other["guests"][0]["full_name"] = json!("Trần Thị Bình");
    let (status, _) = post_keyed(&b, &other, "phone-retry-1").await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[sqlx::test]
async fn rate_limits_count_requests_on_both_instances(pool: sqlx::PgPool) {
    let (a, b) = two(pool).await;
    let limit = a
        .state
        .config
        .rate_limits
        .get("visit")
        .expect("a site limit is configured");
    let office = a.sign_in_as(Role::Office, &[]).await;
    let site = a
        .create_place(
            &office,
            json!({"kind": "attraction", "name": "Bạch Dinh", "address": "Trần Phú", "ward": "Vũng Tàu"}),
        )
        .await;
    // Half on each instance, from one address: together they reach the limit.
    for i in 0..limit.requests {
        let app = if i % 2 == 0 { &a } else { &b };
        let (status, answer) = app
            .post_json("/api/v1/checkins", None, &visit(&site["code"]))
            .await;
        assert_eq!(status, StatusCode::CREATED, "request {i}: {answer}");
    }
    for app in [&a, &b] {
        let (status, _) = app
            .post_json("/api/v1/checkins", None, &visit(&site["code"]))
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    }
    let visits: i64 = sqlx::query_scalar("SELECT count(*) FROM visits")
        .fetch_one(&a.pool)
        .await
        .unwrap();
    assert_eq!(visits as u64, limit.requests);
}

#[sqlx::test]
async fn a_code_replaced_on_one_instance_is_outdated_on_the_other(pool: sqlx::PgPool) {
    let (a, b) = two(pool).await;
    let office = a.sign_in_as(Role::Office, &[]).await;
    let site = a
        .create_place(
            &office,
            json!({"kind": "attraction", "name": "Hải Đăng", "address": "Núi Nhỏ", "ward": "Vũng Tàu"}),
        )
        .await;
    let id = site["id"].as_i64().unwrap();
    let old = site["code"].as_str().unwrap().to_owned();
    // B has resolved (and cached) the code.
    let (status, _) = b
        .post_json("/api/v1/checkins", None, &visit(&site["code"]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, rotated) = a
        .post_json(
            &format!("/api/v1/places/{id}/qr/rotate"),
            Some(&office),
            &json!({}),
        )
        .await;
    assert!(status.is_success(), "{rotated}");
    // B kept the code in memory; the change reaches it through Redis, as
    // soon as the message is delivered (a millisecond on one machine).
    let mut tries = 0;
    let (status, answer) = loop {
        let (status, answer) = b
            .post_json("/api/v1/checkins", None, &visit(&json!(old)))
            .await;
        tries += 1;
        if status != StatusCode::CREATED || tries == 100 {
            break (status, answer);
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("newer poster"));
    let (_, place) = b
        .get_json(&format!("/api/v1/places/{id}"), Some(&office))
        .await;
    let (status, _) = b
        .post_json("/api/v1/checkins", None, &visit(&place["code"]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "the new code works on B");
}

#[sqlx::test]
async fn both_instances_give_the_same_figures(pool: sqlx::PgPool) {
    let (a, b) = two(pool).await;
    let office_a = a.sign_in_as(Role::Office, &[]).await;
    let office_b = b.sign_in_as(Role::Office, &[]).await;
    let place = a.hotel(&office_a).await;
    a.check_in(&place, json!([common::vietnamese_guest()]), 2)
        .await;
    b.check_in(&place, json!([common::korean_guest()]), 3).await;
    let (_, from_a) = a.get_json("/api/v1/stats/summary", Some(&office_a)).await;
    let (_, from_b) = b.get_json("/api/v1/stats/summary", Some(&office_b)).await;
    assert_eq!(from_a["arrivals"], 2, "{from_a}");
    assert_eq!(from_a, from_b);
    let (_, live_a) = a.get_json("/api/v1/stats/live", Some(&office_a)).await;
    let (_, live_b) = b.get_json("/api/v1/stats/live", Some(&office_b)).await;
    assert_eq!(live_a, live_b);
}
