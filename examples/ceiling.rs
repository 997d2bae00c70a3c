//! The HTTP ceiling for benchmarks: an axum handler that does one Redis GET
//! and returns the bytes, on the same runtime and Redis client the service
//! uses. `scripts/bench.sh` loads it beside the real endpoint.
//!
//! `cargo run --release --example ceiling -- BIND_ADDR REDIS_URL`

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use redis::AsyncCommands;

/// The service's allocator, so that the ceiling differs from it only in
/// what the service does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:18081".to_owned());
    let redis_url = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
    let client = redis::Client::open(redis_url)?;
    let mut conn = redis::aio::ConnectionManager::new(client).await?;
    let payload = vec![0u8; 1200];
    conn.set::<_, _, ()>("luutru-bench:ceiling", payload)
        .await?;
    let app = Router::new()
        .route(
            "/ceiling",
            get(
                |State(mut conn): State<redis::aio::ConnectionManager>| async move {
                    let bytes: Vec<u8> = conn.get("luutru-bench:ceiling").await.unwrap_or_default();
                    bytes
                },
            ),
        )
        .with_state(conn);
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
