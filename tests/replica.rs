//! With `DATABASE_READ_URL` the statistics are read from a streaming
//! replica, and the register from the primary, so a desk sees its entry at
//! once. Needs a primary and its replica: `scripts/replica.sh` starts both
//! and runs this test (`--ignored`), naming the replica's server in
//! `LUUTRU_TEST_REPLICA_URL`.

mod common;

use std::time::Duration;

use luutru::auth::Role;
use serde_json::json;

async fn arrivals(app: &common::TestApp, token: &str) -> i64 {
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
        .format("%Y-%m-%d");
    let (_, summary) = app
        .get_json(
            &format!("/api/v1/stats/summary?from={today}&to={today}"),
            Some(token),
        )
        .await;
    summary["arrivals"]
        .as_i64()
        .unwrap_or_else(|| panic!("a summary: {summary}"))
}

/// Ask until `want` arrivals are read, for at most ten seconds.
async fn until(app: &common::TestApp, token: &str, want: i64) -> i64 {
    let mut got = 0;
    for _ in 0..100 {
        got = arrivals(app, token).await;
        if got == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    got
}

#[sqlx::test]
#[ignore = "needs a streaming replica: run scripts/replica.sh"]
async fn statistics_read_the_replica_and_the_register_the_primary(pool: sqlx::PgPool) {
    let server = std::env::var("LUUTRU_TEST_REPLICA_URL")
        .expect("LUUTRU_TEST_REPLICA_URL names the replica's server");
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    // The test's database reaches the replica through the WAL like any row.
    let mut replica = None;
    for _ in 0..100 {
        if let Ok(p) = sqlx::PgPool::connect(&format!("{server}/{database}")).await {
            replica = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let replica = replica.expect("the test database reached the replica");
    // And its tables, once the replica has replayed what the primary wrote.
    let lsn: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut replayed = false;
    for _ in 0..100 {
        replayed = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn")
            .bind(&lsn)
            .fetch_one(&replica)
            .await
            .unwrap();
        if replayed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(replayed, "the replica replays the primary");
    let tables = |p: sqlx::PgPool| async move {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                .fetch_one(&p)
                .await
                .unwrap();
        n
    };
    assert_eq!(tables(replica.clone()).await, tables(pool.clone()).await);
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&replica)
        .await
        .unwrap();
    assert!(in_recovery, "{server} is a replica");

    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let app =
        common::spawn_reading(pool, Some(replica.clone()), common::redis_url(), &prefix).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    app.check_in(&hotel, json!([common::vietnamese_guest()]), 2)
        .await;
    assert_eq!(until(&app, &office, 1).await, 1, "the replica caught up");

    // The replica stops replaying: a new stay is in the register at once,
    // and not yet in the statistics, which are read from the replica.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&replica)
        .await
        .unwrap();
    app.check_in(&hotel, json!([common::korean_guest()]), 2)
        .await;
    let manager = app
        .sign_in_as(Role::Manager, &[hotel["id"].as_i64().unwrap()])
        .await;
    let (_, register) = app
        .get_json(
            &format!("/api/v1/places/{}/stays?status=in_house", hotel["id"]),
            Some(&manager),
        )
        .await;
    let rows = register
        .as_array()
        .or_else(|| register["stays"].as_array())
        .map_or(0, Vec::len);
    assert_eq!(rows, 2, "the register reads the primary: {register}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        arrivals(&app, &office).await,
        1,
        "the statistics read the paused replica"
    );

    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&replica)
        .await
        .unwrap();
    assert_eq!(
        until(&app, &office, 2).await,
        2,
        "and follow it once it replays"
    );
    replica.close().await;
}
