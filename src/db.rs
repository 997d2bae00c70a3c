//! PostgreSQL: the pool, the migrations and the region data every city loads.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::Config;

pub async fn connect(config: &Config) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = config.database_url.parse()?;
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
