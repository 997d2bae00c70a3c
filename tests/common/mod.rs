//! A real server on a free port, on a database of its own (`#[sqlx::test]`)
//! and a Redis key prefix of its own, for black-box tests over HTTP.
#![allow(dead_code)]

use luutru::auth::Role;
use luutru::cache::Cache;
use luutru::config::Config;
use luutru::AppState;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub pool: PgPool,
}

pub fn redis_url() -> String {
    std::env::var("LUUTRU_TEST_REDIS_URL")
        .or_else(|_| std::env::var("REDIS_URL"))
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

pub async fn spawn(pool: PgPool) -> TestApp {
    spawn_with(pool, redis_url()).await
}

/// Start the application; `redis_url` may name a server that is down.
pub async fn spawn_with(pool: PgPool, redis_url: String) -> TestApp {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    spawn_sharing(pool, redis_url, &prefix).await
}

/// Another instance of the same deployment: the same database and the same
/// Redis keys (`prefix`), on its own port.
#[allow(dead_code)]
pub async fn spawn_sharing(pool: PgPool, redis_url: String, prefix: &str) -> TestApp {
    spawn_reading(pool, None, redis_url, prefix).await
}

/// An instance reading its statistics from `read` (a replica), when given.
pub async fn spawn_reading(
    pool: PgPool,
    read: Option<PgPool>,
    redis_url: String,
    prefix: &str,
) -> TestApp {
    spawn_full(pool, read, redis_url, prefix, |_| {}).await
}

/// An instance whose configuration `configure` changes (keys, say).
pub async fn spawn_configured(pool: PgPool, configure: impl FnOnce(&mut Config)) -> TestApp {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    spawn_full(pool, None, redis_url(), &prefix, configure).await
}

async fn spawn_full(
    pool: PgPool,
    read: Option<PgPool>,
    redis_url: String,
    prefix: &str,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    luutru::regions::load_defaults(&pool)
        .await
        .expect("regions load");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = Config::from_env().expect("configuration");
    config.bind_addr = addr;
    config.public_base_url = format!("http://{addr}");
    config.redis_url = redis_url;
    config.redis_prefix = prefix.to_owned();
    // Most tests sign in through the API as every role; the second factor
    // has tests of its own (second_factor.rs), which turn it back on.
    config.require_second_factor = false;
    configure(&mut config);
    let cache = Cache::new(&config.redis_url, &config.redis_prefix).unwrap();
    let read = read.unwrap_or_else(|| pool.clone());
    let state = AppState::reading(config, pool.clone(), read, cache);
    let app =
        luutru::app(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    TestApp {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        state,
        pool,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Create an account and sign in through the API; returns the bearer token.
    pub async fn sign_in_as(&self, role: Role, places: &[i64]) -> String {
        let email = format!(
            "{}-{}@test.vn",
            role.as_str(),
            uuid::Uuid::new_v4().simple()
        );
        luutru::auth::repo::create_user(&self.pool, &email, "correct horse battery", role, places)
            .await
            .expect("user created");
        let response = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (StatusCode, Value) {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    #[allow(dead_code)]
    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_json(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Register a place as the office; returns the place JSON.
    pub async fn create_place(&self, office: &str, body: Value) -> Value {
        let (status, place) = self.post_json("/api/v1/places", Some(office), &body).await;
        assert_eq!(status, StatusCode::CREATED, "{place}");
        place
    }

    /// A page or file as the user of `token` gets it: its text.
    #[allow(dead_code)]
    pub async fn get_text(&self, path: &str, token: &str) -> String {
        self.get_response(path, token).await.text().await.unwrap()
    }

    /// A page as the user of `token` reads it in `lang` (Accept-Language).
    #[allow(dead_code)]
    pub async fn get_text_in(&self, path: &str, token: &str, lang: &str) -> String {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The response itself, for its status, headers or bytes.
    #[allow(dead_code)]
    pub async fn get_response(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Guests check in at `place` by its code, leaving in `days` days: the
    /// answer of a 201, or the test stops.
    #[allow(dead_code)]
    pub async fn check_in(&self, place: &Value, guests: Value, days: i64) -> Value {
        let departure = local_day(days).to_string();
        let (status, stay) = self
            .post_json(
                "/api/v1/checkins",
                None,
                &json!({"code": place["code"], "guests": guests, "expected_departure": departure, "purpose": "tourism", "consent": true}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{stay}");
        stay
    }

    pub async fn hotel(&self, office: &str) -> Value {
        self.create_place(
            office,
            json!({"kind": "accommodation", "name": "Khách sạn Thử Nghiệm", "address": "1 Thùy Vân",
                   "ward": "Tam Thắng", "accommodation_type": "hotel", "class": 3, "rooms": 5, "beds": 10}),
        )
        .await
    }

    /// Register a tourist site in the city's central ward.
    pub async fn site(&self, office: &str, name: &str) -> Value {
        self.create_place(
            office,
            json!({"kind": "attraction", "name": name, "ward": "Vũng Tàu"}),
        )
        .await
    }
}

/// The city's date `days` days from today.
#[allow(dead_code)]
pub fn local_day(days: i64) -> chrono::NaiveDate {
    (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(days))
        .date_naive()
}

pub fn vietnamese_guest() -> Value {
    json!({"full_name": "Nguyễn Văn An", "date_of_birth": "1990-08-15", "sex": "M", "nationality": "VNM",
           "document_type": "cccd", "document_number": "077090001234", "address": "12 Thùy Vân, Phường 2"})
}

pub fn korean_guest() -> Value {
    json!({"full_name": "KIM MINJUN", "date_of_birth": "1988-02-03", "sex": "M", "nationality": "KOR",
           "document_type": "passport", "document_number": "M12345678", "document_expiry": "2031-01-01"})
}
