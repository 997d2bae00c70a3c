//! PostgreSQL: the pool, the migrations and the region data every city loads.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::Config;

pub async fn connect(config: &Config) -> anyhow::Result<PgPool> {
    connect_to(config, &config.database_url).await
}

/// The pool the statistics read: the replica of `DATABASE_READ_URL`, or
/// the primary's own pool.
pub async fn read_pool(config: &Config, primary: &PgPool) -> anyhow::Result<PgPool> {
    match &config.database_read_url {
        Some(url) => connect_to(config, url).await,
        None => Ok(primary.clone()),
    }
}

async fn connect_to(config: &Config, url: &str) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url.parse()?;
    let pool = PgPoolOptions::new()
        .max_connections(config.database_pool_size)
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(options.application_name("luutru"))
        .await?;
    Ok(pool)
}

/// Create the database named in the URL when it does not exist yet.
pub async fn create_database(config: &Config) -> anyhow::Result<()> {
    use sqlx::migrate::MigrateDatabase;
    if !sqlx::Postgres::database_exists(&config.database_url).await? {
        sqlx::Postgres::create_database(&config.database_url).await?;
    }
    Ok(())
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Run the migrations, then load the wards and provinces (idempotent).
pub async fn prepare(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await?;
    crate::regions::load_defaults(pool).await?;
    Ok(())
}
