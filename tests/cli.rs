//! The `luutru` binary as an operator uses it, against a test database.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

/// The URL of the database `#[sqlx::test]` made for this test.
fn database_url(pool: &sqlx::PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for the tests");
    let name = pool.connect_options().get_database().unwrap().to_owned();
    match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("DATABASE_URL names no database: {base}"),
    }
}

fn luutru(pool: &sqlx::PgPool, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_luutru"))
        .args(args)
        .env("DATABASE_URL", database_url(pool))
        .env("REDIS_URL", common::redis_url())
        .env(
            "REDIS_PREFIX",
            format!("test:{}:", uuid::Uuid::new_v4().simple()),
        )
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[sqlx::test]
async fn an_operator_creates_a_manager_who_can_then_sign_in(pool: sqlx::PgPool) {
    let app = common::spawn(pool.clone()).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await["id"].as_i64().unwrap().to_string();

    let (ok, out) = luutru(
        &pool,
        &[
            "user",
            "create",
            "--email",
            "quanly@test.vn",
            "--role",
            "manager",
            "--place",
            &place,
            "--password-stdin",
        ],
        "a long enough secret\n",
    );
    assert!(ok, "{out}");
    let (status, body) = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "quanly@test.vn", "password": "a long enough secret"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["user"]["place_ids"],
        json!([place.parse::<i64>().unwrap()])
    );

    let (ok, out) = luutru(
        &pool,
        &[
            "user",
            "create",
            "--email",
            "ngan@test.vn",
            "--role",
            "staff",
            "--place",
            &place,
            "--password-stdin",
        ],
        "short\n",
    );
    assert!(!ok);
    assert!(out.contains("at least 10 characters"), "{out}");
    let (ok, out) = luutru(
        &pool,
        &[
            "user",
            "create",
            "--email",
            "quanly@test.vn",
            "--role",
            "office",
            "--password-stdin",
        ],
        "a long enough secret\n",
    );
    assert!(!ok);
    assert!(out.contains("already has an account"), "{out}");
}

#[sqlx::test]
async fn the_demo_city_loads_once(pool: sqlx::PgPool) {
    let (ok, out) = luutru(&pool, &["seed", "--demo", "--stays", "300"], "");
    assert!(ok, "{out}");
    assert!(
        out.contains("office@demo.luutru.vn"),
        "prints the sign-ins: {out}"
    );
    let (ok, out) = luutru(&pool, &["seed", "--demo", "--stays", "300"], "");
    assert!(ok, "{out}");
    assert!(out.contains("already loaded"), "{out}");

    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT count(*) FROM places WHERE kind = 'accommodation'").await,
        30
    );
    assert_eq!(
        count("SELECT count(*) FROM places WHERE kind = 'attraction'").await,
        10
    );
    assert_eq!(
        count("SELECT count(*) FROM qr_codes WHERE revoked_at IS NULL").await,
        40
    );
    assert_eq!(count("SELECT count(*) FROM users").await, 5);
    let stays = count("SELECT count(*) FROM stays").await;
    assert!(
        (250..=300).contains(&stays),
        "{stays} stays (a few land in the future and are skipped)"
    );
    assert!(count("SELECT count(*) FROM visits").await > 1000);
    assert!(
        count("SELECT count(DISTINCT nationality) FROM guests").await >= 5,
        "a mix of nationalities"
    );
    let names =
        sqlx::query_scalar::<_, String>("SELECT name FROM places WHERE kind = 'attraction'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(names.iter().any(|n| n == "Tượng Chúa Kitô Vua"));
}

#[sqlx::test]
async fn places_can_be_changed_and_the_scan_page_follows(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let url = place["checkin_url"].as_str().unwrap();
    // Warm the code cache, then rename.
    assert!(app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Khách sạn Thử Nghiệm"));
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/places/{id}")))
        .bearer_auth(&office)
        .json(&json!({"name": "Khách sạn Đổi Tên", "beds": 12, "status": "seasonal", "season_months": [6, 7, 8]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let changed: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (changed["beds"].as_i64(), changed["status"].as_str()),
        (Some(12), Some("seasonal"))
    );
    assert!(app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Khách sạn Đổi Tên"));

    let response = app
        .client
        .patch(app.url(&format!("/api/v1/places/{id}")))
        .bearer_auth(&office)
        .json(&json!({"status": "seasonal", "season_months": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/places/{id}")))
        .bearer_auth(&office)
        .json(&json!({"status": "closed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = app.client.get(url).send().await.unwrap();
    assert_eq!(
        page.status(),
        StatusCode::CONFLICT,
        "a closed place takes no check-ins"
    );
}

#[sqlx::test]
async fn in_production_the_log_is_json_lines_carrying_each_request_id(pool: sqlx::PgPool) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_luutru"))
        .arg("serve")
        .env("DATABASE_URL", database_url(&pool))
        .env("REDIS_URL", common::redis_url())
        .env(
            "REDIS_PREFIX",
            format!("test:{}:", uuid::Uuid::new_v4().simple()),
        )
        .env("LUUTRU_ENV", "production")
        .env("PUBLIC_BASE_URL", "https://luutru.example.vn")
        .env(
            "QR_SIGNING_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .env(
            "DATA_ENCRYPTION_KEY",
            "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
        )
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the service answers");
    let answer = client
        .get(format!("{base}/api/v1/no-such-thing"))
        .header("x-request-id", "complaint-2026-0042")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["request_id"], "complaint-2026-0042");
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l}")))
        .collect();
    assert!(!lines.is_empty(), "something was logged");
    assert!(
        lines
            .iter()
            .any(|l| l.to_string().contains("complaint-2026-0042")),
        "the request's id is in its log lines: {log}"
    );
}
