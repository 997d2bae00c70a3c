//! Prometheus metrics on their own listener: requests by route and status
//! with latencies, check-ins by kind and source, batch sizes, the database
//! pool and Redis fallbacks; never on the public address.

mod common;

use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

/// The value of the first sample whose line holds every `part`.
fn sample(text: &str, parts: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| parts.iter().all(|p| l.contains(p)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[sqlx::test]
async fn metrics_count_requests_check_ins_and_fallbacks_on_their_own_listener(pool: sqlx::PgPool) {
    let handle = luutru::metrics::install().expect("the recorder installs");
    // One instance with Redis, one with Redis down, sharing the database.
    let app = common::spawn(pool.clone()).await;
    let without_redis = common::spawn_with(pool, "redis://127.0.0.1:1".into()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let router = luutru::metrics::router(app.state.clone(), handle);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app.site(&office, "Núi Lớn").await;
    let visit = json!({"code": site["code"], "party_size": 4, "origin_country": "VNM"});
    for instance in [&app, &without_redis] {
        let (status, body) = instance.post_json("/api/v1/checkins", None, &visit).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, _) = app.get_json("/api/v1/places/999999", Some(&office)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let text = app
        .client
        .get(&metrics_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let created = sample(
        &text,
        &[
            "luutru_http_requests_total{",
            "route=\"/api/v1/checkins\"",
            "status=\"201\"",
        ],
    );
    assert!(created >= Some(2.0), "{text}");
    assert!(
        sample(
            &text,
            &[
                "luutru_http_requests_total{",
                "route=\"/api/v1/places/{id}\"",
                "status=\"404\""
            ]
        ) >= Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            &[
                "luutru_http_request_duration_seconds_bucket{",
                "route=\"/api/v1/checkins\"",
                "le=\"+Inf\""
            ]
        ) >= Some(2.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            &[
                "luutru_checkins_total{",
                "kind=\"visit\"",
                "source=\"self_qr\""
            ]
        ) >= Some(2.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            &["luutru_checkin_batch_size_count{", "kind=\"visits\""]
        ) >= Some(1.0),
        "{text}"
    );
    // Each batch also counts the time its writer took over it.
    assert!(
        sample(
            &text,
            &[
                "luutru_checkin_batch_write_seconds_count{",
                "kind=\"visits\""
            ]
        ) >= Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            &["luutru_checkin_batch_write_seconds_sum{", "kind=\"visits\""]
        ) > Some(0.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            &["luutru_redis_fallbacks_total{", "reason=\"unreachable\""]
        ) >= Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, &["luutru_db_pool_connections{", "state=\"idle\""]).is_some(),
        "{text}"
    );
    // Raw URLs never become labels: the code is not in the metrics.
    assert!(!text.contains(site["code"].as_str().unwrap()));

    // The public address does not serve them.
    let public = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
}
