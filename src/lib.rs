//! Lưu trú: visitor check-in by QR code, the lodging register (sổ lưu trú)
//! and tourism statistics for a city.
#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod cache;
pub mod checkin;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod csrf;
pub mod db;
pub mod documents;
pub mod error;
pub mod extract;
pub mod health;
pub mod i18n;
pub mod idempotency;
pub mod localtime;
pub mod metrics;
pub mod openapi;
pub mod places;
pub mod qr;
pub mod ratelimit;
pub mod regions;
pub mod register;
pub mod rekey;
pub mod request_id;
pub mod retention;
pub mod seed;
pub mod server;
pub mod stats;
pub mod telemetry;
pub mod web;

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::body::Limited;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionBody;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::limit::ResponseBody;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::cache::Cache;
use crate::config::Config;
use crate::crypto::DataCipher;
use crate::qr::code::CodeSigner;

/// Largest request body: a tour group of sixty with every field filled fits
/// many times over.
const BODY_LIMIT: usize = 1024 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long requests in flight may take to finish once the service is told
/// to stop (a check-in takes milliseconds; live streams would never end on
/// their own), within the 30 seconds orchestrators usually wait before they
/// kill.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything a request handler needs, shared by every request.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: sqlx::PgPool,
    /// Where the statistics are read: a replica with `DATABASE_READ_URL`,
    /// else the same pool as `db`.
    pub read_db: sqlx::PgPool,
    pub cache: Cache,
    pub config: Config,
    pub codes: CodeSigner,
    pub presence: crate::qr::presence::Presence,
    pub cipher: DataCipher,
    /// Columns of the police-notification export.
    pub police: crate::register::police::Layout,
    /// The provinces' names, read once: they change only with a migration.
    provinces: std::sync::OnceLock<Arc<Vec<String>>>,
    /// The writers that store site visits in batches, started on first use.
    visits: std::sync::OnceLock<checkin::batch::Queue<checkin::batch::Visits>>,
    /// The writers that store visitors' stays in batches, started on first use.
    stays: std::sync::OnceLock<checkin::batch::Queue<checkin::stay_batch::Stays>>,
    /// Codes resolved lately, in this process (see `places::local`).
    local_codes: std::sync::OnceLock<Arc<places::local::LocalCodes>>,
    /// Forms as a scan first shows them (see `checkin::forms`).
    pub scan_forms: checkin::forms::ScanForms,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(config: Config, db: sqlx::PgPool, cache: Cache) -> Self {
        Self::reading(config, db.clone(), db, cache)
    }

    /// The state of a service that reads its statistics from `read_db` (a
    /// replica) and everything else from `db`.
    pub fn reading(config: Config, db: sqlx::PgPool, read_db: sqlx::PgPool, cache: Cache) -> Self {
        let codes = CodeSigner::new(&config.qr_key(), &config.retired_qr_keys());
        let cipher = DataCipher::with_retired(&config.data_key(), &config.retired_data_keys());
        let presence = crate::qr::presence::Presence::new(&config.qr_key());
        // `Config::check` refuses a layout that does not load; one that
        // fails here after all falls back to the bundled layout, loudly.
        let police = crate::register::police::Layout::load(config.police_columns.as_deref())
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "police columns: using the bundled layout");
                crate::register::police::Layout::load(None)
                    .unwrap_or_else(|_| unreachable!("the bundled police layout is tested"))
            });
        AppState(Arc::new(Inner {
            read_db,
            db,
            cache,
            config,
            codes,
            presence,
            cipher,
            police,
            provinces: std::sync::OnceLock::new(),
            visits: std::sync::OnceLock::new(),
            stays: std::sync::OnceLock::new(),
            local_codes: std::sync::OnceLock::new(),
            scan_forms: checkin::forms::ScanForms::default(),
        }))
    }

    /// The provinces' names in their order, for the visitors' forms; read
    /// from the database once it has them.
    pub async fn province_names(&self) -> sqlx::Result<Arc<Vec<String>>> {
        if let Some(names) = self.provinces.get() {
            return Ok(names.clone());
        }
        let names = Arc::new(crate::regions::province_names(&self.db).await?);
        if names.is_empty() {
            return Ok(names);
        }
        Ok(self.provinces.get_or_init(|| names).clone())
    }

    /// The queue of site visits to store (see `checkin::batch`).
    pub fn visits(&self) -> &checkin::batch::Queue<checkin::batch::Visits> {
        self.visits.get_or_init(|| {
            checkin::batch::Queue::start(
                checkin::batch::Visits {
                    cipher: self.cipher.clone(),
                    tz: self.tz(),
                    repeat_minutes: self.config.visit_repeat_minutes,
                },
                self.writers(),
            )
        })
    }

    /// The queue of visitors' stays to store (see `checkin::stay_batch`).
    pub fn stays(&self) -> &checkin::batch::Queue<checkin::stay_batch::Stays> {
        self.stays.get_or_init(|| {
            checkin::batch::Queue::start(
                checkin::stay_batch::Stays {
                    cipher: self.cipher.clone(),
                    tz: self.tz(),
                    base_url: self.config.base_url().to_owned(),
                    consent_version: self.config.consent_version.clone(),
                },
                self.writers(),
            )
        })
    }

    fn writers(&self) -> checkin::batch::Writers {
        checkin::batch::Writers {
            db: self.db.clone(),
            cache: self.cache.clone(),
            tz: self.tz(),
        }
    }

    /// The codes this process keeps, listening for changes from first use.
    pub fn local_codes(&self) -> &places::local::LocalCodes {
        self.local_codes
            .get_or_init(|| places::local::LocalCodes::start(self.cache.clone()))
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.config.timezone
    }
}

/// The whole application: the same router serves production and tests.
pub fn app(state: AppState) -> Router {
    // Behind https the browser is told to stay on https; on a plain-http
    // development address the header would only get in the way.
    let hsts = if state.config.base_url().starts_with("https://") {
        Some(HeaderValue::from_static(
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        None
    };
    Router::new()
        .merge(health::router())
        .merge(audit::router())
        .merge(auth::routes::router())
        .merge(places::routes::router())
        .merge(qr::routes::router())
        .merge(checkin::routes::router())
        .merge(checkin::pages::router())
        .merge(documents::routes::router())
        .merge(register::routes::router())
        .merge(register::pages::router())
        .merge(register::police_routes::router())
        .merge(register::team_routes::router())
        .merge(register::corrections_routes::router())
        .merge(stats::routes::router())
        .merge(stats::pages::router())
        .merge(openapi::router())
        .merge(web::router())
        .fallback(web::not_found)
        // Each `layer` call wraps every route in a service of its own, which
        // is cloned, boxed and called in turn on each request: the layers
        // go on in two stacks, one service each, and the request id's
        // around them, in the order they always had (the first in a stack
        // is the outermost).
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    csrf::guard,
                ))
                .layer(axum::middleware::from_fn(web::reject_nul)),
        )
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    // The matched route, never the raw URL: codes and tokens stay out of logs.
                    let route = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("unmatched", MatchedPath::as_str);
                    let id = req
                        .headers()
                        .get(&request_id::HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!("request", method = %req.method(), route, request_id = id)
                }))
                .layer(CatchPanicLayer::custom(|_| {
                    let body = serde_json::json!({
                        "message": "internal error",
                        "request_id": request_id::current(),
                    })
                    .to_string();
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        [(header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                        .into_response()
                }))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::STRICT_TRANSPORT_SECURITY,
                    hsts,
                ))
                // Pages load only what we serve: no inline script, no other origin,
                // never inside another site's frame.
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                         media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                         form-action 'self'; frame-ancestors 'none'",
                    ),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    // Receipt links carry the visitor's token: never send them to another site.
                    // (`no-referrer` would also blank the Origin of our own form posts.)
                    HeaderValue::from_static("same-origin"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT,
                ))
                // A refusal for a slow request needs a body of a type it can make.
                .map_response(
                    |response: axum::http::Response<ResponseBody<CompressionBody<Body>>>| {
                        response.map(Body::new)
                    },
                )
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
                .map_request(|request: Request<Limited<Body>>| request.map(Body::new))
                .layer(CompressionLayer::new()),
        )
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

use axum::response::IntoResponse;

/// Serve until SIGTERM or Ctrl-C; in-flight requests finish first.
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let addr = state.config.bind_addr;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, base_url = state.config.base_url(), "serving");
    tokio::spawn(idempotency::cleanup_loop(state.db.clone()));
    tokio::spawn(checkin::departures::run(state.clone()));
    tokio::spawn(stats::rollup::run(state.db.clone()));
    tokio::spawn(retention::run(state.clone()));
    tokio::spawn(rekey::run(state.clone()));
    if let Some(metrics_addr) = state.config.metrics_addr {
        match metrics::install() {
            Some(handle) => {
                let listener = tokio::net::TcpListener::bind(metrics_addr).await?;
                tracing::info!(%metrics_addr, "metrics on /metrics");
                // Histograms keep each sample until they are drained: without
                // this, memory would grow at every request between scrapes.
                let upkeep = handle.clone();
                tokio::spawn(async move {
                    let mut every = tokio::time::interval(metrics::UPKEEP);
                    loop {
                        every.tick().await;
                        upkeep.run_upkeep();
                    }
                });
                let router = metrics::router(state.clone(), handle);
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, router).await {
                        tracing::error!(error = %e, "metrics listener stopped");
                    }
                });
            }
            None => tracing::warn!("metrics: no recorder, METRICS_ADDR ignored"),
        }
    }
    // Once told to stop, stop taking connections and let the requests in
    // flight finish; a request (or a live stream) still open after the
    // grace period is cut, so the process always exits in time.
    let finished = server::run(
        listener,
        app(state),
        server::Limits::default(),
        shutdown_signal(),
        SHUTDOWN_GRACE,
    )
    .await;
    if !finished {
        tracing::warn!("stopped with requests still open after {SHUTDOWN_GRACE:?}");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
