//! The service on a Redis Cluster of three primaries, started by
//! `scripts/redis_cluster.sh` (run by `test.sh`), which also runs the tests
//! of coherence between instances, live figures, cached codes and sessions
//! against it. Ignored in a plain `cargo test`: it needs the cluster.

mod common;

use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

/// The cluster's nodes, as the script gives them.
fn nodes() -> Vec<String> {
    let urls = std::env::var("LUUTRU_TEST_REDIS_URL").expect("LUUTRU_TEST_REDIS_URL");
    urls.split(',').map(str::to_owned).collect()
}

/// How many of this test's keys each node holds.
async fn keys_per_node(prefix: &str) -> Vec<usize> {
    let mut counts = Vec::new();
    for node in nodes() {
        let client = redis::Client::open(node.as_str()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut c)
            .await
            .unwrap();
        counts.push(keys.len());
    }
    counts
}

#[sqlx::test]
#[ignore = "needs the Redis Cluster of scripts/redis_cluster.sh"]
async fn the_service_spreads_its_keys_over_the_cluster_and_keeps_them_coherent(pool: sqlx::PgPool) {
    assert!(nodes().len() >= 3, "three primaries");
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let a = common::spawn_sharing(pool.clone(), nodes().join(","), &prefix).await;
    let b = common::spawn_sharing(pool, nodes().join(","), &prefix).await;
    assert!(a.state.cache.is_cluster());
    assert!(a.state.cache.ping().await);

    // Sessions, codes, images and rate limits: keys on several nodes.
    let office = a.sign_in_as(Role::Office, &[]).await;
    let mut places = Vec::new();
    for n in 0..12 {
        let place = a.hotel(&office).await;
        let id = place["id"].as_i64().unwrap();
        let png = a
            .get_response(&format!("/api/v1/places/{id}/qr.png?size=200"), &office)
            .await;
        assert_eq!(png.status(), StatusCode::OK, "place {n}");
        let scan = a
            .client
            .get(a.url(&format!("/c/{}", place["code"].as_str().unwrap())))
            .send()
            .await
            .unwrap();
        assert_eq!(scan.status(), StatusCode::OK);
        places.push(place);
    }
    let spread = keys_per_node(&prefix).await;
    assert!(
        spread.iter().filter(|&&n| n > 0).count() >= 2,
        "keys on more than one node: {spread:?}"
    );

    // A session seen by both instances, ended through one: the other
    // refuses it at once (the cached session is dropped on its node).
    let (status, _) = b.get_json("/api/v1/auth/me", Some(&office)).await;
    assert_eq!(status, StatusCode::OK);
    let out = a
        .client
        .post(a.url("/api/v1/auth/logout"))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let (status, _) = b.get_json("/api/v1/auth/me", Some(&office)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A rotated code: the old one is refused by both instances at once, the
    // new one works on both (the cached entries are dropped key by key, and
    // the change is announced through the cluster).
    let office = b.sign_in_as(Role::Office, &[]).await;
    let id = places[0]["id"].as_i64().unwrap();
    let old = places[0]["code"].as_str().unwrap().to_owned();
    let (status, rotated) = b
        .post_json(
            &format!("/api/v1/places/{id}/qr/rotate"),
            Some(&office),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["code"].as_str().unwrap().to_owned();
    for app in [&a, &b] {
        let old_scan = app
            .client
            .get(app.url(&format!("/c/{old}")))
            .send()
            .await
            .unwrap();
        assert_ne!(old_scan.status(), StatusCode::OK, "old code still works");
        let new_scan = app
            .client
            .get(app.url(&format!("/c/{new}")))
            .send()
            .await
            .unwrap();
        assert_eq!(new_scan.status(), StatusCode::OK);
    }

    // An instance given one node's address finds the cluster by itself.
    let c = common::spawn_sharing(a.pool.clone(), nodes()[0].clone(), &prefix).await;
    let (status, _) = c.get_json("/api/v1/auth/me", Some(&office)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(c.state.cache.is_cluster(), "found to be a cluster");
    let new_scan = c
        .client
        .get(c.url(&format!("/c/{new}")))
        .send()
        .await
        .unwrap();
    assert_eq!(new_scan.status(), StatusCode::OK);

    // Check-ins through both instances count in one live total.
    for (n, place) in places.iter().skip(1).take(6).enumerate() {
        let app = if n % 2 == 0 { &a } else { &b };
        app.check_in(place, json!([common::vietnamese_guest()]), 2)
            .await;
    }
    let (status, live) = a.get_json("/api/v1/stats/live", Some(&office)).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    let (_, live_b) = b.get_json("/api/v1/stats/live", Some(&office)).await;
    assert_eq!(live, live_b, "both instances give the same live figures");
}
