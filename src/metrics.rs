//! Prometheus metrics, served on a listener of its own (`METRICS_ADDR`), so
//! they are never public by accident: requests by route and status with
//! their latency, check-ins by kind and source, the size of the batches
//! they were written in and how long each took to write, the database
//! pool, Redis errors and fallbacks, and the background jobs' runs.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// Latency buckets, in seconds: from a cached scan to a slow export.
const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const BATCH: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// How often the histograms' samples are folded into their buckets.
pub const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the process's recorder (once; later calls get the same handle).
/// `None` when another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Suffix("_batch_size".into()), BATCH)
                })
                .map(PrometheusBuilder::build_recorder);
            match recorder {
                Ok(recorder) => {
                    let handle = recorder.handle();
                    match metrics::set_global_recorder(recorder) {
                        Ok(()) => Some(handle),
                        Err(e) => {
                            tracing::warn!(error = %e, "metrics: a recorder was already installed");
                            None
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: bad bucket configuration");
                    None
                }
            }
        })
        .clone()
}

/// The metrics listener's routes: `GET /metrics`.
pub fn router(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move |State(state): State<AppState>| {
                let handle = handle.clone();
                async move {
                    // The pool's gauges are read when scraped.
                    let size = f64::from(state.db.size());
                    let idle = state.db.num_idle() as f64;
                    metrics::gauge!("luutru_db_pool_connections", "state" => "idle").set(idle);
                    metrics::gauge!("luutru_db_pool_connections", "state" => "in_use")
                        .set(size - idle);
                    metrics::gauge!("luutru_db_pool_max_connections")
                        .set(f64::from(state.config.database_pool_size));
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4",
                        )],
                        handle.render(),
                    )
                        .into_response()
                }
            }),
        )
        .with_state(state)
}

/// Count each request by its matched route (never the raw URL: codes and
/// tokens stay out), method and status, and time it.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("luutru_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("luutru_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A check-in stored: `kind` stay or visit, `source` self_qr or desk.
pub fn checked_in(kind: &'static str, source: &'static str) {
    metrics::counter!("luutru_checkins_total", "kind" => kind, "source" => source).increment(1);
}

/// A batch of check-ins written together, and how long its writer took
/// over it, from taking its connection to the commit (or the error). The
/// sum of those times over a while, against the while, is how busy the
/// writer was: near one, check-ins of that kind wait for it, and only a
/// faster database (or fewer rows a check-in) carries more.
pub fn batch_written(what: &'static str, size: usize, took: Duration) {
    metrics::histogram!("luutru_checkin_batch_size", "kind" => what).record(size as f64);
    metrics::histogram!("luutru_checkin_batch_write_seconds", "kind" => what)
        .record(took.as_secs_f64());
}

/// Redis could not answer and the service went on without it.
pub fn redis_fallback(reason: &'static str) {
    metrics::counter!("luutru_redis_fallbacks_total", "reason" => reason).increment(1);
}

/// One run of a background job: `outcome` ok or failed.
pub fn job_ran(job: &'static str, ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    metrics::counter!("luutru_job_runs_total", "job" => job, "outcome" => outcome).increment(1);
}
