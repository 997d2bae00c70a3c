//! Check-ins arriving together are written together (one statement per
//! batch): every acknowledged count-in is stored exactly once, a retried key
//! gets its first answer, a phone tapping twice is counted once, and the live
//! figures follow.

mod common;

use std::collections::{HashMap, HashSet};

use common::TestApp;
use futures_util::future::join_all;
use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn count_in(app: &TestApp, body: Value, key: Option<String>) -> (StatusCode, Value) {
    let mut request = app.client.post(app.url("/api/v1/checkins")).json(&body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[sqlx::test]
async fn count_ins_sent_at_once_are_each_stored_exactly_once(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app.site(&office, "Tượng Chúa Kitô").await;
    let code = site["code"].clone();
    let party = |n: i64| json!({"code": code, "party_size": n, "origin_country": "VNM"});

    // 120 parties, each with a key of its own; 20 keys each sent three
    // times at once (a phone retrying over a bad network); one phone tapping
    // 15 times at once.
    let mut sends = Vec::new();
    for i in 0..120 {
        sends.push(("own", party(1 + i % 4), Some(format!("own-{i}"))));
    }
    for i in 0..20 {
        for _ in 0..3 {
            sends.push(("retried", party(2), Some(format!("retried-{i}"))));
        }
    }
    for _ in 0..15 {
        let mut body = party(5);
        body["device_id"] = json!("phone-tapping-twice");
        sends.push(("tapping", body, None));
    }
    let answers = join_all(sends.iter().map(|(kind, body, key)| {
        let app = &app;
        async move {
            (
                *kind,
                key.clone(),
                count_in(app, body.clone(), key.clone()).await,
            )
        }
    }))
    .await;

    let mut own_ids = HashSet::new();
    let mut retried: HashMap<String, HashSet<String>> = HashMap::new();
    let mut tapping = (0, 0, HashSet::new());
    for (kind, key, (status, body)) in &answers {
        let id = body["visit_id"].as_str().unwrap_or_default().to_owned();
        match *kind {
            "own" => {
                assert_eq!(*status, StatusCode::CREATED, "{body}");
                assert!(own_ids.insert(id), "two parties got one visit");
            }
            "retried" => {
                assert_eq!(*status, StatusCode::CREATED, "{body}");
                retried.entry(key.clone().unwrap()).or_default().insert(id);
            }
            _ => {
                match *status {
                    StatusCode::CREATED => tapping.0 += 1,
                    StatusCode::OK => {
                        assert_eq!(body["counted"], json!(false), "{body}");
                        tapping.1 += 1;
                    }
                    other => panic!("a tap answered {other}: {body}"),
                }
                tapping.2.insert(id);
            }
        }
    }
    assert_eq!(own_ids.len(), 120);
    assert_eq!(retried.len(), 20);
    assert!(
        retried.values().all(|ids| ids.len() == 1),
        "every retry of a key gets the first visit: {retried:?}"
    );
    assert_eq!(
        (tapping.0, tapping.1, tapping.2.len()),
        (1, 14, 1),
        "the phone counted once"
    );

    // What was acknowledged is what is stored, once each.
    let (rows, people): (i64, i64) =
        sqlx::query_as("SELECT count(*), sum(party_size)::bigint FROM visits")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let own_people: i64 = (0..120).map(|i| 1 + i % 4).sum();
    assert_eq!(rows, 120 + 20 + 1);
    assert_eq!(people, own_people + 20 * 2 + 5);
    let answered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM idempotency_keys WHERE response IS NOT NULL AND status = 201",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(answered, 140, "each key keeps its answer");
    let ids: Vec<String> = sqlx::query_scalar("SELECT id::text FROM visits")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let stored: HashSet<String> = ids.into_iter().collect();
    assert!(own_ids.is_subset(&stored));
    assert!(retried.values().flatten().all(|id| stored.contains(id)));

    // The live figures follow the commits.
    let live = luutru::stats::live::get(&app.state, None).await.unwrap();
    assert_eq!(live.attraction_visitors_today, people);
}

#[sqlx::test]
async fn a_phone_tapping_at_once_without_keys_is_counted_once(pool: sqlx::PgPool) {
    // Without idempotency keys a batch of visits is one statement of its
    // own: a phone's taps within it, and against what is already stored,
    // still get its first count-in.
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app.site(&office, "Bạch Dinh").await;
    let code = site["code"].clone();
    let mut sends = Vec::new();
    for _ in 0..30 {
        sends.push(json!({"code": code, "party_size": 1, "origin_country": "VNM"}));
    }
    let tap =
        json!({"code": code, "party_size": 3, "origin_country": "KOR", "device_id": "one-phone"});
    for _ in 0..15 {
        sends.push(tap.clone());
    }
    let answers = join_all(sends.iter().map(|body| count_in(&app, body.clone(), None))).await;

    let (mut parties, mut taps) = (HashSet::new(), Vec::new());
    for (body, (status, answer)) in sends.iter().zip(&answers) {
        let id = answer["visit_id"].as_str().unwrap().to_owned();
        if body.get("device_id").is_some() {
            taps.push((
                *status,
                answer["counted"].clone(),
                id,
                answer["party_size"].clone(),
            ));
        } else {
            assert_eq!(*status, StatusCode::CREATED, "{answer}");
            assert!(parties.insert(id), "two parties got one visit");
        }
    }
    assert_eq!(parties.len(), 30);
    let counted: Vec<_> = taps.iter().filter(|t| t.0 == StatusCode::CREATED).collect();
    assert_eq!(counted.len(), 1, "the phone counted once: {taps:?}");
    let first = counted[0].2.clone();
    for (status, was_counted, id, party) in &taps {
        if *status == StatusCode::OK {
            assert_eq!((was_counted, id, party), (&json!(false), &first, &json!(3)));
        } else {
            assert_eq!(*was_counted, json!(true));
        }
    }
    // A tap after those batches is answered from what is stored.
    let (status, again) = count_in(&app, tap, None).await;
    assert_eq!(
        (status, &again["visit_id"]),
        (StatusCode::OK, &json!(first))
    );

    let (rows, people): (i64, i64) =
        sqlx::query_as("SELECT count(*), sum(party_size)::bigint FROM visits")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((rows, people), (31, 30 + 3));
    let live = luutru::stats::live::get(&app.state, None).await.unwrap();
    assert_eq!(live.attraction_visitors_today, 33);
}

#[sqlx::test]
async fn a_repeat_count_in_keeps_no_key_and_its_retry_gets_the_same_answer(pool: sqlx::PgPool) {
    // Keys are taken in the batch's one statement, each stored with the
    // answer of its request once counted; a count-in that stores nothing (a
    // phone counted a moment before) leaves its key free.
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app.site(&office, "Mũi Nghinh Phong").await;
    let tap = json!({"code": site["code"], "party_size": 2, "origin_country": "VNM",
                     "device_id": "a-phone"});

    let (status, first) = count_in(&app, tap.clone(), Some("scan-1".into())).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = count_in(&app, tap.clone(), Some("scan-2".into())).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    // The earlier count-in as stored, to the microsecond the first answer
    // gave.
    assert_eq!(
        (&again["counted"], &again["visit_id"], &again["visited_at"]),
        (&json!(false), &first["visit_id"], &first["visited_at"])
    );

    let keys: Vec<(String, i16)> =
        sqlx::query_as("SELECT key, status FROM idempotency_keys ORDER BY key")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(keys, vec![("scan-1".to_owned(), 201)]);

    // Retries: the first key replays its answer; the second is answered as
    // the first time.
    assert_eq!(
        count_in(&app, tap.clone(), Some("scan-1".into())).await,
        (StatusCode::CREATED, first)
    );
    assert_eq!(
        count_in(&app, tap, Some("scan-2".into())).await,
        (StatusCode::OK, again)
    );
    let visits: i64 = sqlx::query_scalar("SELECT count(*) FROM visits")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(visits, 1);
}

#[sqlx::test]
async fn a_retry_sent_with_a_new_scan_of_its_phone_gets_its_first_answer(pool: sqlx::PgPool) {
    // A retried count-in and a new scan of the same phone, sent at once (and
    // so, mostly, in one batch, in either order): the retry replays its
    // first answer, and the new scan is answered with that count-in.
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app.site(&office, "Hải đăng Vũng Tàu").await;
    for phone in 0..10 {
        let tap = json!({"code": site["code"], "party_size": 2, "origin_country": "VNM",
                         "device_id": format!("phone-{phone}")});
        let first_key = format!("first-{phone}");
        let (status, first) = count_in(&app, tap.clone(), Some(first_key.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        let (scan, retry) = tokio::join!(
            count_in(&app, tap.clone(), Some(format!("scan-{phone}"))),
            count_in(&app, tap.clone(), Some(first_key)),
        );
        assert_eq!(retry, (StatusCode::CREATED, first.clone()));
        assert_eq!(scan.0, StatusCode::OK, "{}", scan.1);
        assert_eq!(
            (&scan.1["counted"], &scan.1["visit_id"]),
            (&json!(false), &first["visit_id"])
        );
    }
    let visits: i64 = sqlx::query_scalar("SELECT count(*) FROM visits")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(visits, 10);
}

fn stay(code: &Value, passport: &str) -> Value {
    json!({
        "code": code,
        "guests": [{"full_name": "Kim Min Jun", "date_of_birth": "1990-01-01", "sex": "M",
                    "nationality": "KOR", "document_type": "passport", "document_number": passport},
                   {"full_name": "Kim Ji Woo", "date_of_birth": "2018-05-05", "sex": "F",
                    "nationality": "KOR", "with_guest": 0}],
        "expected_departure": (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(2)).format("%Y-%m-%d").to_string(),
        "purpose": "tourism", "consent": true,
    })
}

#[sqlx::test]
async fn stays_sent_at_once_are_each_stored_exactly_once(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    let code = hotel["code"].clone();

    // 60 families, each with a key of its own; 10 keys each sent three times
    // at once; one passport sent five times at once under five keys (a
    // double entry: one stays, four are refused).
    let mut sends = Vec::new();
    for i in 0..60 {
        sends.push(("own", stay(&code, &format!("M{i:07}")), format!("own-{i}")));
    }
    for i in 0..10 {
        for _ in 0..3 {
            sends.push((
                "retried",
                stay(&code, &format!("R{i:07}")),
                format!("retried-{i}"),
            ));
        }
    }
    for i in 0..5 {
        sends.push(("twice", stay(&code, "D0000001"), format!("twice-{i}")));
    }
    let answers = join_all(sends.iter().map(|(kind, body, key)| {
        let app = &app;
        async move {
            (
                *kind,
                key.clone(),
                count_in(app, body.clone(), Some(key.clone())).await,
            )
        }
    }))
    .await;

    let mut own = HashSet::new();
    let mut retried: HashMap<String, HashSet<String>> = HashMap::new();
    let (mut kept, mut refused) = (0, Vec::new());
    for (kind, key, (status, body)) in &answers {
        let id = body["stay_id"].as_str().unwrap_or_default().to_owned();
        match (*kind, *status) {
            ("own", StatusCode::CREATED) => {
                assert_eq!(body["guests"].as_array().unwrap().len(), 2, "{body}");
                assert!(own.insert(id));
            }
            ("retried", StatusCode::CREATED) => {
                retried.entry(key.clone()).or_default().insert(id);
            }
            ("twice", StatusCode::CREATED) => kept += 1,
            ("twice", StatusCode::UNPROCESSABLE_ENTITY) => {
                assert_eq!(
                    body["codes"]["guests[0].document_number"],
                    json!(["already_in_house"]),
                    "{body}"
                );
                refused.push(key.clone());
            }
            (kind, status) => panic!("{kind} answered {status}: {body}"),
        }
    }
    assert_eq!(own.len(), 60);
    assert_eq!(retried.len(), 10);
    assert!(retried.values().all(|ids| ids.len() == 1), "{retried:?}");
    assert_eq!((kept, refused.len()), (1, 4), "one passport in house once");

    // A refused check-in gave its key back: corrected, the same key is a
    // new check-in.
    let (status, body) = count_in(&app, stay(&code, "D0000002"), Some(refused[0].clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (stays, guests, identities, with_parent): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM stays), (SELECT count(*) FROM guests),
                (SELECT count(*) FROM guest_identities),
                (SELECT count(*) FROM guests WHERE companion_of IS NOT NULL)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let acknowledged = 60 + 10 + 1 + 1;
    assert_eq!(stays, acknowledged);
    assert_eq!(
        (guests, identities, with_parent),
        (2 * acknowledged, 2 * acknowledged, acknowledged)
    );
    // Every stored document reads back under the key.
    let sealed: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT document_number FROM guest_identities WHERE document_number IS NOT NULL",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(sealed.len() as i64, acknowledged);
    for number in &sealed {
        assert!(app.state.cipher.decrypt(number).is_ok());
    }
    let live = luutru::stats::live::get(&app.state, None).await.unwrap();
    assert_eq!(
        (live.guests_in_house, live.arrivals_today),
        (2 * acknowledged, 2 * acknowledged)
    );
}

#[sqlx::test]
async fn stays_sent_at_once_without_keys_are_each_stored_once(pool: sqlx::PgPool) {
    // Without idempotency keys a batch of stays is one statement of its own
    // (the document check and the inserts), unless two of its stays bring
    // the same document.
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    let code = hotel["code"].clone();
    let (status, body) = count_in(&app, stay(&code, "H0000001"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // 40 families; the family already in house sent again; one passport
    // sent four times at once.
    let mut sends = Vec::new();
    for i in 0..40 {
        sends.push(("own", stay(&code, &format!("N{i:07}"))));
    }
    sends.push(("in house", stay(&code, "H0000001")));
    for _ in 0..4 {
        sends.push(("four times", stay(&code, "Q0000001")));
    }
    let answers = join_all(
        sends
            .iter()
            .map(|(_, body)| count_in(&app, body.clone(), None)),
    )
    .await;
    let mut counts: HashMap<(&str, StatusCode), usize> = HashMap::new();
    for ((kind, _), (status, body)) in sends.iter().zip(&answers) {
        if *status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_eq!(
                body["codes"]["guests[0].document_number"],
                json!(["already_in_house"]),
                "{body}"
            );
        } else {
            assert_eq!(*status, StatusCode::CREATED, "{kind}: {body}");
            assert_eq!(body["guests"].as_array().unwrap().len(), 2, "{body}");
        }
        *counts.entry((*kind, *status)).or_default() += 1;
    }
    let expected: HashMap<(&str, StatusCode), usize> = [
        (("own", StatusCode::CREATED), 40),
        (("in house", StatusCode::UNPROCESSABLE_ENTITY), 1),
        (("four times", StatusCode::CREATED), 1),
        (("four times", StatusCode::UNPROCESSABLE_ENTITY), 3),
    ]
    .into();
    assert_eq!(counts, expected);

    let (stays, guests, identities): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM stays), (SELECT count(*) FROM guests),
                (SELECT count(*) FROM guest_identities)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let acknowledged = 1 + 40 + 1;
    assert_eq!(
        (stays, guests, identities),
        (acknowledged, 2 * acknowledged, 2 * acknowledged)
    );
    let live = luutru::stats::live::get(&app.state, None).await.unwrap();
    assert_eq!(live.guests_in_house, 2 * acknowledged);
}

#[sqlx::test]
async fn one_key_sent_with_two_bodies_at_once_stores_one_and_refuses_the_other(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app.site(&office, "Bạch Dinh").await;
    for round in 0..10 {
        let key = format!("shared-{round}");
        let bodies =
            [2, 7].map(|n| json!({"code": site["code"], "party_size": n, "origin_country": "VNM"}));
        let answers = join_all(
            bodies
                .iter()
                .map(|body| count_in(&app, body.clone(), Some(key.clone()))),
        )
        .await;
        let created: Vec<&Value> = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .map(|(_, b)| b)
            .collect();
        let conflicts = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::CONFLICT)
            .count();
        assert_eq!((created.len(), conflicts), (1, 1), "{answers:?}");
        // The answer kept under the key is the stored party's own.
        let stored: i32 = sqlx::query_scalar("SELECT party_size FROM visits WHERE id = $1::uuid")
            .bind(created[0]["visit_id"].as_str().unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(
            i64::from(stored),
            created[0]["party_size"].as_i64().unwrap()
        );
    }
}

#[sqlx::test]
async fn in_one_batch_a_refused_stay_keeps_none_of_its_documents(pool: sqlx::PgPool) {
    // Three stays written as one batch, in this order: the first brings
    // passport A; the second A and B, and is refused for A; the third B,
    // which the refused second stay did not keep, and so is stored.
    use luutru::checkin::batch::{Batch, Written};
    use luutru::checkin::model::{Document, DocumentType, Guest, Purpose};
    use luutru::checkin::repo::Sealed;
    use luutru::checkin::stay_batch::{Stay, Stays};

    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    let guest = |number: &str| Guest {
        full_name: format!("Guest {number}"),
        date_of_birth: chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
        sex: "F",
        nationality: "KOR".into(),
        residence_country: "KOR".into(),
        document: Some(Document {
            kind: DocumentType::Passport,
            number: number.into(),
        }),
        address: None,
        phone: None,
        document_expiry: None,
        visa_number: None,
        entry_date: None,
        companion: None,
        capture: "manual",
    };
    let cipher = &app.state.cipher;
    let stay = |guests: Vec<Guest>| Stay {
        place_id: hotel["id"].as_i64().unwrap(),
        place_name: "Khách sạn Thử Nghiệm".into(),
        expected_departure: chrono::Utc::now().date_naive() + chrono::Duration::days(2),
        purpose: Purpose::Tourism,
        presence: "printed_code",
        token: "a-check-out-token".into(),
        token_hash: luutru::auth::repo::token_hash("a-check-out-token"),
        sealed: guests.iter().map(|g| Sealed::of(cipher, g)).collect(),
        guests,
        key: None,
    };
    let batch = Stays {
        cipher: app.state.cipher.clone(),
        tz: app.state.tz(),
        base_url: "http://127.0.0.1".into(),
        consent_version: app.state.config.consent_version.clone(),
    };
    let stays = [
        stay(vec![guest("A1000001")]),
        stay(vec![guest("A1000001"), guest("B1000002")]),
        stay(vec![guest("B1000002")]),
    ];
    let mut conn = app.pool.acquire().await.unwrap();
    let committed = batch.write(&mut conn, &stays).await.unwrap();
    let outcomes: Vec<String> = committed
        .outcomes
        .iter()
        .map(|o| match o {
            Ok(Written::Answer(status, _)) => status.as_u16().to_string(),
            Ok(Written::Alone) => "alone".into(),
            Err(luutru::error::Error::Validation(errors)) => format!("{errors:?}"),
            Err(e) => format!("{e}"),
        })
        .collect();
    assert_eq!(outcomes[0], "201");
    assert!(
        outcomes[1].contains("guests[0].document_number")
            && outcomes[1].contains("already_in_house"),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[2], "201", "{outcomes:?}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM guests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 2);
}

/// Connections of the pool in use.
fn in_use(app: &TestApp) -> u32 {
    app.state.db.size() - app.state.db.num_idle() as u32
}

#[sqlx::test]
async fn a_writer_keeps_its_connection_between_batches_and_gives_it_back_when_idle(
    pool: sqlx::PgPool,
) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app.site(&office, "Bạch Dinh").await;
    let party = json!({"code": site["code"], "party_size": 2, "origin_country": "VNM"});

    // Right after its commit the writer still holds the connection it
    // wrote on, ready for the next batch.
    let (status, _) = count_in(&app, party.clone(), None).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        in_use(&app) >= 1,
        "the writer gave its connection back at once"
    );

    // A second later, with nothing to write, it is back in the pool.
    let mut given_back = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if in_use(&app) == 0 {
            given_back = true;
            break;
        }
    }
    assert!(given_back, "the idle writer kept its connection");

    // And the next count-in takes one again.
    let (status, _) = count_in(&app, party, None).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[sqlx::test]
async fn a_writer_whose_connection_died_while_it_waited_writes_on_a_fresh_one(pool: sqlx::PgPool) {
    let app = common::spawn(pool.clone()).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let site = app.site(&office, "Hải Đăng Vũng Tàu").await;
    let party = json!({"code": site["code"], "party_size": 3, "origin_country": "VNM"});
    let (status, _) = count_in(&app, party.clone(), None).await;
    assert_eq!(status, StatusCode::CREATED);

    // Every other backend of the database is cut, as a restart of
    // PostgreSQL would, the one the writer holds among them.
    let cut: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                               WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(cut >= 1);

    // A moment later, within the writer's idle second, the next count-in
    // is stored all the same.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, body) = count_in(&app, party, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM visits")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 2);
}

#[sqlx::test]
async fn a_stay_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored(
    pool: sqlx::PgPool,
) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    let (id, code) = (hotel["id"].as_i64().unwrap(), hotel["code"].clone());
    // A guest the database refuses, past every check the service makes
    // before it: a fault of its own, such as a constraint the checks miss.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.full_name = 'POISON PILL' THEN RAISE EXCEPTION 'refused for the test'; END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER refuse_poison BEFORE INSERT ON guest_identities
             FOR EACH ROW EXECUTE FUNCTION refuse_poison();",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut poisoned = stay(&code, "P0000000");
    poisoned["guests"][0]["full_name"] = json!("POISON PILL");

    // The first stay's batch waits for the hotel's row, held here, so that
    // the next twenty gather behind it into one batch, the refused one
    // among them.
    let mut hold = app.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM places WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *hold)
        .await
        .unwrap();
    let first = count_in(&app, stay(&code, "A0000000"), None);
    let rest = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut bodies: Vec<Value> = (0..20).map(|i| stay(&code, &format!("B{i:07}"))).collect();
        bodies.insert(10, poisoned.clone());
        join_all(bodies.into_iter().map(|body| count_in(&app, body, None))).await
    };
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(900)).await;
        hold.rollback().await.unwrap();
    };
    let ((status, body), rest, ()) = tokio::join!(first, rest, release);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (i, (status, body)) in rest.iter().enumerate() {
        let expected = if i == 10 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::CREATED
        };
        assert_eq!(*status, expected, "{i}: {body}");
    }

    // Stored: every stay answered 201, and nothing of the refused one.
    let (stays, poison): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM stays),
                (SELECT count(*) FROM guest_identities WHERE full_name = 'POISON PILL')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((stays, poison), (21, 0));
    // The writer goes on.
    let (status, body) = count_in(&app, stay(&code, "C0000000"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Test jobs written in batches into a table of their own; the job 13 makes
/// the writing panic once its statement has committed.
struct Unlucky;

impl luutru::checkin::batch::Batch for Unlucky {
    type Job = i32;
    const WHAT: &'static str = "test jobs";

    async fn write(
        &self,
        conn: &mut sqlx::PgConnection,
        jobs: &[i32],
    ) -> luutru::error::Result<luutru::checkin::batch::Committed> {
        sqlx::query("INSERT INTO written SELECT unnest($1::int[])")
            .bind(jobs)
            .execute(&mut *conn)
            .await?;
        assert!(!jobs.contains(&13), "job 13 breaks the answers");
        Ok(luutru::checkin::batch::Committed {
            outcomes: jobs
                .iter()
                .map(|n| {
                    Ok(luutru::checkin::batch::Written::Answer(
                        StatusCode::CREATED,
                        json!({ "n": n }),
                    ))
                })
                .collect(),
            places: Vec::new(),
        })
    }
}

#[sqlx::test]
async fn a_batch_whose_writing_panicked_is_not_written_again_and_the_writer_goes_on(
    pool: sqlx::PgPool,
) {
    use luutru::checkin::batch::{Queue, Writers, Written};

    let app = common::spawn(pool).await;
    sqlx::query("CREATE TABLE written (n integer)")
        .execute(&app.pool)
        .await
        .unwrap();
    let queue = Queue::start(
        Unlucky,
        Writers {
            db: app.state.db.clone(),
            cache: app.state.cache.clone(),
            tz: app.state.tz(),
        },
    );

    // The first job waits for the table, held here, so that the next
    // twenty gather behind it into one batch, the unlucky one among them.
    let mut hold = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE written IN EXCLUSIVE MODE")
        .execute(&mut *hold)
        .await
        .unwrap();
    let first = queue.write(0);
    let rest = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        join_all((1..=20).map(|n| queue.write(n))).await
    };
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(900)).await;
        hold.rollback().await.unwrap();
    };
    let (first, rest, ()) = tokio::join!(first, rest, release);
    assert!(matches!(first, Ok(Written::Answer(StatusCode::CREATED, _))));
    // The batch had committed when its writing panicked: no job of it is
    // acknowledged, and none is written again.
    for (n, written) in (1..=20).zip(&rest) {
        match written {
            Err(e) => assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR, "job {n}"),
            Ok(_) => panic!("job {n} was acknowledged"),
        }
    }
    let written: Vec<i32> = sqlx::query_scalar("SELECT n FROM written ORDER BY n")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        written,
        (0..=20).collect::<Vec<i32>>(),
        "each job stored once"
    );
    // The writer takes the next job.
    assert!(matches!(
        queue.write(21).await,
        Ok(Written::Answer(StatusCode::CREATED, _))
    ));
}
