//! Live figures pushed as server-sent events, across two instances of the
//! service sharing PostgreSQL and Redis: a check-in on one reaches a stream
//! held open on the other.

mod common;

use std::time::Duration;

use common::{spawn_sharing, vietnamese_guest};
use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The next `live` event of a stream, or `None` after `wait`.
async fn next_live(
    response: &mut reqwest::Response,
    buffer: &mut String,
    wait: Duration,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if event.contains("event: live") {
                let data = event
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap();
                return Some(serde_json::from_str(data).unwrap());
            }
            continue;
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .ok()?;
        buffer.push_str(&String::from_utf8_lossy(&chunk.unwrap()?));
    }
}

#[sqlx::test]
async fn a_check_in_on_one_instance_reaches_a_live_stream_on_another(pool: sqlx::PgPool) {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let a = spawn_sharing(pool.clone(), common::redis_url(), &prefix).await;
    let b = spawn_sharing(pool, common::redis_url(), &prefix).await;
    let office = a.sign_in_as(Role::Office, &[]).await;
    let place = a.hotel(&office).await;

    let mut stream = b
        .client
        .get(b.url("/api/v1/stats/live/stream"))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut buffer = String::new();
    let first = next_live(&mut stream, &mut buffer, Duration::from_secs(5))
        .await
        .expect("the figures as they are, at once");
    assert_eq!(first["arrivals_today"], 0);

    let (status, _) = a
        .post_json(
            "/api/v1/checkins",
            None,
            &json!({"code": place["code"], "guests": [vietnamese_guest()],
                    "expected_departure": (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(1)).format("%Y-%m-%d").to_string(),
                    "purpose": "tourism", "consent": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let pushed = next_live(&mut stream, &mut buffer, Duration::from_secs(5))
        .await
        .expect("the other instance's stream hears the check-in");
    assert_eq!(pushed["arrivals_today"], 1);
    assert_eq!(pushed["guests_in_house"], 1);

    // Only the office's kind of reader: staff of no place get nothing.
    let (status, _) = b.get_json("/api/v1/stats/live/stream", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
