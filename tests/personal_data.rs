//! Personal data at rest: the retention purge deletes it and leaves every
//! figure as it was; a database dump carries no plain document number,
//! address or phone.

mod common;

use chrono::Duration;
use common::spawn;
use luutru::auth::Role;
use luutru::stats::dashboard::figures;
use luutru::stats::repo::Source;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The test database's server (its URL without a database) and name.
async fn where_is(pool: &sqlx::PgPool) -> (String, String) {
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let url = std::env::var("DATABASE_URL").unwrap();
    (url[..url.rfind('/').unwrap()].to_owned(), database)
}

fn guest(name: &str, number: &str) -> Value {
    json!({"full_name": name, "date_of_birth": "1979-03-03", "sex": "M", "nationality": "VNM",
           "document_type": "cccd", "document_number": number,
           "address": "88 Đường Hạ Long, Phường 2", "phone": "0912345678"})
}

#[sqlx::test]
async fn the_retention_purge_deletes_personal_data_and_keeps_the_figures(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let today = luutru::localtime::today(tz);
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    sqlx::query("UPDATE places SET created_at = now() - interval '6 years'")
        .execute(&app.pool)
        .await
        .unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    // Two stays from the paper register, four years ago; one last month.
    let old = today - Duration::days(4 * 365);
    let recent = today - Duration::days(30);
    for (name, number, arrived) in [
        ("Trần Văn Cũ", "079079000111", old),
        ("Lê Thị Xưa", "079079000222", old + Duration::days(2)),
        ("Phạm Văn Mới", "079079000333", recent),
    ] {
        let body = json!({"guests": [guest(name, number)],
                          "arrived_at": format!("{arrived}T14:00:00+07:00"),
                          "departed_at": format!("{}T11:00:00+07:00", arrived + Duration::days(3)), "purpose": "tourism"});
        let (status, answer) = app
            .post_json(&format!("/api/v1/places/{id}/stays"), Some(&staff), &body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let range = (today - Duration::days(5 * 365), today);
    let before = figures(Source::Rollups, &app.pool, range, today, tz)
        .await
        .unwrap();
    assert_eq!(before.summary.arrivals, 3);
    assert_eq!(before.summary.guest_nights, 9);

    let cutoff = today - Duration::days(app.state.config.retention_days);
    let purged = luutru::retention::purge(&app.pool, cutoff, today)
        .await
        .unwrap();
    assert_eq!(purged, 2, "the two guests who left four years ago");

    let names: Vec<String> = sqlx::query_scalar("SELECT full_name FROM guest_identities")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(names, ["Phạm Văn Mới"]);
    let guests: i64 = sqlx::query_scalar("SELECT count(*) FROM guests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(guests, 3, "the facts statistics count stay");
    for source in [Source::Rollups, Source::Raw] {
        let after = figures(source, &app.pool, range, today, tz).await.unwrap();
        assert_eq!(after, before, "{source:?}: figures after the purge");
    }
    let audited: i64 = sqlx::query_scalar(
        "SELECT (detail->>'guests')::bigint FROM audit_log WHERE action = 'retention.purge'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);
    // The register still lists the old stays, without a name.
    let (status, register) = app
        .get_json(
            &format!(
                "/api/v1/places/{id}/stays?status=all&from={}&to={}",
                old - Duration::days(1),
                today
            ),
            Some(&staff),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{register}");
    let text = register.to_string();
    assert!(text.contains("Phạm Văn Mới"), "{text}");
    assert!(!text.contains("Trần Văn Cũ"), "{text}");
    let stays = register
        .as_array()
        .or_else(|| register["stays"].as_array())
        .map_or(0, Vec::len);
    assert_eq!(stays, 3, "{text}");
    // Purging again finds nothing.
    assert_eq!(
        luutru::retention::purge(&app.pool, cutoff, today)
            .await
            .unwrap(),
        0
    );
}

#[sqlx::test]
async fn a_month_past_retention_is_dropped_whole_and_the_figures_stay(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let today = luutru::localtime::today(tz);
    let retention = Duration::days(app.state.config.retention_days);
    luutru::retention::prepare_partitions(&app.pool)
        .await
        .unwrap();
    let month = format!("guest_identities_{}", chrono::Utc::now().format("%Y_%m"));
    let exists = |name: String| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert!(
        exists(month.clone()).await,
        "this month's partition is made"
    );

    // Four guests recorded this month; three leave today, one in 200 days.
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let mut stays = Vec::new();
    for (name, number) in [
        ("Ngô Văn Một", "079079100001"),
        ("Ngô Văn Hai", "079079100002"),
        ("Ngô Văn Ba", "079079100003"),
        ("Ngô Thị Dài", "079079100004"),
    ] {
        let stay = app.check_in(&place, json!([guest(name, number)]), 2).await;
        stays.push(stay["stay_id"].as_str().unwrap().to_owned());
    }
    for (stay, days) in stays.iter().zip([0, 0, 0, 200]) {
        for table in ["stays", "guests"] {
            let key = if table == "stays" { "id" } else { "stay_id" };
            sqlx::query(&format!(
                "UPDATE {table} SET departed_at = now(), departure_date = current_date + $2
                 WHERE {key} = $1::uuid"
            ))
            .bind(stay)
            .bind(days)
            .execute(&app.pool)
            .await
            .unwrap();
        }
    }
    let identities = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM guest_identities")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let range = (today - Duration::days(1), today + Duration::days(400));
    let before = figures(Source::Rollups, &app.pool, range, today, tz)
        .await
        .unwrap();
    assert_eq!(before.summary.arrivals, 4);

    // Sixty days past retention: the three short stays go row by row; the
    // month stays, as the long stay in it is not past retention yet.
    let later = today + retention + Duration::days(60);
    let purged = luutru::retention::purge(&app.pool, later - retention, later)
        .await
        .unwrap();
    assert_eq!(purged, 3);
    assert_eq!(identities().await, 1);
    assert!(exists(month.clone()).await);

    // Past the long stay too: the month is detached and dropped whole.
    let later = today + retention + Duration::days(300);
    let purged = luutru::retention::purge(&app.pool, later - retention, later)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(identities().await, 0);
    assert!(!exists(month.clone()).await, "the month's table is gone");
    let audited: i64 = sqlx::query_scalar(
        "SELECT (detail->>'guests')::bigint FROM audit_log
         WHERE action = 'retention.purge' AND detail->>'partition' = $1",
    )
    .bind(&month)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    for source in [Source::Rollups, Source::Raw] {
        let after = figures(source, &app.pool, range, today, tz).await.unwrap();
        assert_eq!(
            after, before,
            "{source:?}: figures after the month is dropped"
        );
    }

    // Check-ins go on: the default partition takes what no month holds.
    app.check_in(&place, json!([guest("Ngô Văn Mới", "079079100005")]), 2)
        .await;
    assert_eq!(identities().await, 1);
}

/// Make `n` months of personal data from 26 months back onward (`n` at most
/// 24, and so all of them past every guest's retention).
async fn make_past_months(pool: &sqlx::PgPool, n: i32) {
    sqlx::query("SELECT ensure_identity_partitions((now() - interval '26 months')::date, $1)")
        .bind(n)
        .execute(pool)
        .await
        .unwrap();
}

/// How many months of personal data there are (partitions of
/// `guest_identities`, the default one included).
async fn months_of_personal_data(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'guest_identities'::regclass",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn months_are_dropped_while_guests_check_in_and_no_check_in_fails(pool: sqlx::PgPool) {
    // Sixteen phones behind one address: no rate limit.
    let app = common::spawn_configured(pool, |c| c.rate_limits = "off".parse().unwrap()).await;
    let app = std::sync::Arc::new(app);
    // Two years of months behind this one, all past their guests.
    make_past_months(&app.pool, 24).await;
    let months = || months_of_personal_data(&app.pool);
    let before = months().await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let departure =
        (luutru::localtime::today(chrono_tz::Asia::Ho_Chi_Minh) + Duration::days(2)).to_string();

    // Sixteen phones checking guests in, one after another, while two
    // instances' purges drop the months.
    let purging = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut phones = Vec::new();
    for phone in 0..16 {
        let (app, purging) = (app.clone(), purging.clone());
        let (code, departure) = (place["code"].clone(), departure.clone());
        phones.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            let mut n = 0;
            while purging.load(std::sync::atomic::Ordering::Relaxed) || n < 4 {
                n += 1;
                let number = format!("0790{phone:02}{n:06}");
                let body = json!({"code": code, "guests": [guest("Ngô Văn Đến", &number)],
                                  "expected_departure": departure, "purpose": "tourism", "consent": true});
                answers.push(app.post_json("/api/v1/checkins", None, &body).await);
            }
            answers
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let today = luutru::localtime::today(chrono_tz::Asia::Ho_Chi_Minh);
    let cutoff = today - Duration::days(app.state.config.retention_days);
    // Two instances run the job at the same moment.
    let (purged, other) = tokio::join!(
        luutru::retention::purge(&app.pool, cutoff, today),
        luutru::retention::purge(&app.pool, cutoff, today)
    );
    purging.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut sent = 0;
    for phone in phones {
        for (status, body) in phone.await.unwrap() {
            assert_eq!(status, StatusCode::CREATED, "{body}");
            sent += 1;
        }
    }
    assert_eq!(purged.unwrap(), 0, "no guest was in the dropped months");
    assert_eq!(other.unwrap(), 0, "the other instance's run");
    assert_eq!(before - months().await, 24, "every past month is dropped");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM guest_identities")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, sent);
}

#[sqlx::test]
async fn a_month_waits_its_turn_behind_a_long_reader_while_check_ins_go_on(pool: sqlx::PgPool) {
    let app = std::sync::Arc::new(spawn(pool).await);
    make_past_months(&app.pool, 2).await;
    let months = || months_of_personal_data(&app.pool);
    let before = months().await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;

    // A long report reads the guests, in a transaction left open: no month
    // can be dropped until it ends.
    let mut report = app.pool.begin().await.unwrap();
    sqlx::query("SELECT count(*) FROM guests")
        .execute(&mut *report)
        .await
        .unwrap();
    let today = luutru::localtime::today(chrono_tz::Asia::Ho_Chi_Minh);
    let cutoff = today - Duration::days(app.state.config.retention_days);
    let purge = {
        let app = app.clone();
        tokio::spawn(async move { luutru::retention::purge(&app.pool, cutoff, today).await })
    };
    // Long enough for the purge to have asked for its locks and given up
    // at least once.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;

    // Meanwhile a guest checks in: the purge's request for the tables,
    // were it left waiting, would hold every check-in behind it until the
    // report ends, and the report ends only after this check-in.
    let check_in = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        app.check_in(&place, json!([guest("Ngô Văn Chờ", "079079100888")]), 2),
    )
    .await;
    assert!(
        check_in.is_ok(),
        "a check-in waited behind the purge's locks"
    );
    assert!(
        !purge.is_finished(),
        "the purge waits for the report to end"
    );

    report.commit().await.unwrap();
    let purged = purge.await.unwrap();
    assert_eq!(purged.unwrap(), 0, "no guest was in the dropped months");
    assert_eq!(before - months().await, 2, "both past months are dropped");
}

#[sqlx::test]
async fn a_guest_in_house_since_months_ago_keeps_their_document_from_a_second_check_in(
    pool: sqlx::PgPool,
) {
    let app = spawn(pool).await;
    // Three years of months, as a deployment that has run for its
    // retention period has them.
    sqlx::query("SELECT ensure_identity_partitions((now() - interval '3 years')::date, 37)")
        .execute(&app.pool)
        .await
        .unwrap();
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let stay = app
        .check_in(&place, json!([guest("Ngô Văn Lâu", "079079100777")]), 2)
        .await;
    let stay = stay["stay_id"].as_str().unwrap();

    // The guest recorded 120 days ago instead, and there since: an id of
    // that day, and so personal data in that month's partition.
    let recorded = chrono::Utc::now() - Duration::days(120);
    let old_id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        recorded.timestamp() as u64,
        0,
    ));
    let mut tx = app.pool.begin().await.unwrap();
    for sql in [
        format!("CREATE TEMP TABLE old_guest ON COMMIT DROP AS SELECT * FROM guests WHERE stay_id = '{stay}'"),
        "CREATE TEMP TABLE old_identity ON COMMIT DROP AS
         SELECT i.* FROM guest_identities i JOIN old_guest g ON g.id = i.guest_id"
            .to_owned(),
        format!("DELETE FROM guests WHERE stay_id = '{stay}'"),
        format!(
            "UPDATE old_guest SET id = '{old_id}', arrived_at = arrived_at - interval '120 days',
                                  arrival_date = arrival_date - 120"
        ),
        format!("UPDATE old_identity SET guest_id = '{old_id}'"),
        format!(
            "UPDATE stays SET arrived_at = arrived_at - interval '120 days', arrival_date = arrival_date - 120
             WHERE id = '{stay}'"
        ),
        "INSERT INTO guests SELECT * FROM old_guest".to_owned(),
        "INSERT INTO guest_identities SELECT * FROM old_identity".to_owned(),
    ] {
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    let partition: String = sqlx::query_scalar(
        "SELECT tableoid::regclass::text FROM guest_identities WHERE guest_id = $1",
    )
    .bind(old_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        partition,
        format!("guest_identities_{}", recorded.format("%Y_%m"))
    );

    // The same document again, by the visitor's page and at the desk.
    let departure =
        (luutru::localtime::today(chrono_tz::Asia::Ho_Chi_Minh) + Duration::days(2)).to_string();
    let again = json!({"code": place["code"], "guests": [guest("Ngô Văn Lâu", "079079100777")],
                       "expected_departure": departure, "purpose": "tourism", "consent": true});
    let (status, body) = app.post_json("/api/v1/checkins", None, &again).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["codes"]["guests[0].document_number"][0], "already_in_house",
        "{body}"
    );
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let desk = json!({"guests": [guest("Ngô Văn Lâu", "079079100777")],
                      "expected_departure": departure, "purpose": "tourism"});
    let (status, body) = app
        .post_json(&format!("/api/v1/places/{id}/stays"), Some(&staff), &desk)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["codes"]["guests[0].document_number"][0], "already_in_house",
        "{body}"
    );
}

#[sqlx::test]
async fn a_database_dump_has_no_plain_document_number_address_or_phone(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    app.check_in(&place, json!([guest("Đỗ Văn Dump", "079088000444")]), 2)
        .await;
    let (server, database) = where_is(&app.pool).await;
    let server = server.as_str();
    let dump = std::process::Command::new("pg_dump")
        .arg("--data-only")
        .arg(format!("{server}/{database}"))
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let text = String::from_utf8_lossy(&dump.stdout);
    // The dump is real: the guest's name is there (names are not encrypted).
    assert!(text.contains("Đỗ Văn Dump"));
    for secret in ["079088000444", "Hạ Long", "0912345678"] {
        assert!(!text.contains(secret), "the dump shows {secret}");
    }
}

#[sqlx::test]
async fn a_visitor_sees_what_is_stored_about_them_with_their_link(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let stay = app
        .check_in(&place, json!([guest("Võ Thị Minh", "079088000555")]), 2)
        .await;
    let link = stay["receipt_url"].as_str().unwrap().to_owned();
    let receipt = |lang: &'static str| {
        let url = format!("{link}&lang={lang}");
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let page = receipt("en").await;
    assert!(page.contains("What we keep about you"), "{page}");
    assert!(page.contains("Võ Thị Minh"));
    assert!(
        page.contains("3 March 1979"),
        "dates as English writes them"
    );
    assert!(page.contains("88 Đường Hạ Long"));
    assert!(
        page.contains("•••••••••555"),
        "the document number, last digits only"
    );
    assert!(!page.contains("079088000555"));
    assert!(page.contains("•••••••678"), "the phone, last digits only");
    assert!(!page.contains("0912345678"));
    let korean = receipt("ko").await;
    assert!(korean.contains("저장된 내 정보"));
    assert!(
        korean.contains("1979. 3. 3."),
        "dates as Korean writes them"
    );

    // After the retention purge the link still opens, and says so.
    let cutoff = chrono::Utc::now().date_naive() + Duration::days(400);
    sqlx::query("UPDATE stays SET departed_at = now(), departure_date = current_date")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE guests SET departed_at = now(), departure_date = current_date")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        luutru::retention::purge(&app.pool, cutoff, chrono::Utc::now().date_naive())
            .await
            .unwrap(),
        1
    );
    let page = receipt("en").await;
    assert!(
        page.contains("Your personal details have been deleted"),
        "{page}"
    );
    assert!(!page.contains("Võ Thị Minh"));
}

/// Run a PostgreSQL client program; panic with its message if it fails.
fn run(program: &str, args: &[&str]) {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A guest's sealed number, its index, address and phone, as stored.
type Sealed = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

const NAMES: [&str; 5] = ["An", "Bình", "Chi", "Dũng", "Em"];

#[sqlx::test]
async fn a_backup_restores_every_stay_and_it_still_decrypts(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    for (i, name) in NAMES.iter().enumerate() {
        app.check_in(
            &place,
            json!([guest(&format!("Lê Văn {name}"), &format!("07908800{i:04}"))]),
            2,
        )
        .await;
    }
    let (server, database) = where_is(&app.pool).await;
    let server = server.as_str();
    let restored = format!("luutru_restored_{}", uuid::Uuid::new_v4().simple());
    let file = std::env::temp_dir().join(format!("{database}.dump"));
    let file = file.to_str().unwrap();

    // The documented round trip: a custom-format dump, restored into a new
    // database.
    run(
        "pg_dump",
        &[
            "--format=custom",
            "--file",
            file,
            &format!("{server}/{database}"),
        ],
    );
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{restored}\""))
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{restored}\""))
        .execute(&app.pool)
        .await
        .unwrap();
    run(
        "pg_restore",
        &[
            "--exit-on-error",
            "--dbname",
            &format!("{server}/{restored}"),
            file,
        ],
    );
    std::fs::remove_file(file).unwrap();

    let copy = sqlx::PgPool::connect(&format!("{server}/{restored}"))
        .await
        .unwrap();
    let read = |pool: sqlx::PgPool| async move {
        let rows: Vec<(uuid::Uuid, String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT g.stay_id, i.full_name, i.document_number, i.address
             FROM guests g JOIN guest_identities i ON i.guest_id = g.id ORDER BY g.id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        rows
    };
    let (before, after) = (read(app.pool.clone()).await, read(copy.clone()).await);
    assert_eq!(after.len(), 5);
    assert_eq!(before, after, "every stay and guest is back, byte for byte");
    for (i, (_, name, number, address)) in after.iter().enumerate() {
        assert_eq!(name, &format!("Lê Văn {}", NAMES[i]));
        assert_eq!(
            app.state.cipher.decrypt(number).unwrap(),
            format!("07908800{i:04}")
        );
        assert_eq!(
            app.state.cipher.decrypt(address).unwrap(),
            "88 Đường Hạ Long, Phường 2"
        );
    }
    // The figures come out the same from the copy.
    let today = luutru::localtime::today(chrono_tz::Asia::Ho_Chi_Minh);
    let summary = |pool: sqlx::PgPool| async move {
        luutru::stats::repo::summary(
            &pool,
            today,
            today,
            today,
            None,
            chrono_tz::Asia::Ho_Chi_Minh,
        )
        .await
        .unwrap()
    };
    assert_eq!(
        serde_json::to_value(summary(app.pool.clone()).await).unwrap(),
        serde_json::to_value(summary(copy.clone()).await).unwrap()
    );
    copy.close().await;
    sqlx::query(&format!("DROP DATABASE \"{restored}\" WITH (FORCE)"))
        .execute(&app.pool)
        .await
        .unwrap();
}

#[sqlx::test]
async fn a_rotated_data_key_still_reads_and_everything_is_sealed_again(pool: sqlx::PgPool) {
    use luutru::config::Secret;
    use luutru::crypto::DataCipher;

    // Guests checked in under the first key.
    let first = [11u8; 32];
    let second = [12u8; 32];
    let before = common::spawn_configured(pool.clone(), |c| {
        c.data_encryption_key = Some(Secret(first));
    })
    .await;
    let office = before.sign_in_as(Role::Office, &[]).await;
    let place = before.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    for (i, name) in NAMES.iter().enumerate().take(3) {
        before
            .check_in(
                &place,
                json!([guest(
                    &format!("Phan Văn {name}"),
                    &format!("07908801{i:04}")
                )]),
                2,
            )
            .await;
    }

    // The key is rotated: the new one seals, the old one still reads.
    let after = common::spawn_configured(pool.clone(), |c| {
        c.data_encryption_key = Some(Secret(second));
        c.data_encryption_keys_retired = vec![Secret(first)];
    })
    .await;
    let manager = after.sign_in_as(Role::Manager, &[id]).await;
    let find = |app: &common::TestApp, number: &'static str| {
        let url = format!("/api/v1/places/{id}/stays?status=all&q={number}");
        let token = manager.clone();
        let client = app.client.clone();
        let url = app.url(&url);
        async move {
            let body: Value = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body.as_array()
                .or_else(|| body["stays"].as_array())
                .map_or(0, Vec::len)
        }
    };
    assert_eq!(
        find(&after, "079088010001").await,
        1,
        "found under the old key's index"
    );
    // A stay written now is sealed under the new key, next to the old rows.
    after
        .check_in(&place, json!([guest("Phan Văn Mới", "079088019999")]), 2)
        .await;

    let old = DataCipher::new(&first);
    let rotated = DataCipher::with_retired(&second, &[first]);
    let key_ids = |pool: sqlx::PgPool| async move {
        let ids: Vec<i32> = sqlx::query_scalar(
            "SELECT get_byte(document_number, 0) FROM guest_identities ORDER BY guest_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        ids
    };
    let ids = key_ids(pool.clone()).await;
    assert_eq!(
        ids.iter()
            .filter(|&&k| k == i32::from(old.key_id()))
            .count(),
        3
    );
    assert_eq!(
        ids.iter()
            .filter(|&&k| k == i32::from(rotated.key_id()))
            .count(),
        1
    );

    // The background pass seals the old rows again, in batches of two.
    let pass = luutru::rekey::pass(&pool, &rotated, 2).await.unwrap();
    assert_eq!((pass.resealed, pass.unreadable), (3, 0));
    assert!(key_ids(pool.clone())
        .await
        .iter()
        .all(|&k| k == i32::from(rotated.key_id())));
    assert_eq!(
        luutru::rekey::pass(&pool, &rotated, 2)
            .await
            .unwrap()
            .resealed,
        0
    );

    // The old key can go: the new one alone reads every row and its index.
    let alone = DataCipher::new(&second);
    let rows: Vec<Sealed> = sqlx::query_as(
        "SELECT document_number, document_index, address, phone FROM guest_identities",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 4);
    for (number, index, address, phone) in &rows {
        let number = alone.decrypt(number).unwrap();
        assert!(number.starts_with("0790880"), "{number}");
        assert_eq!(index, &alone.blind_index(&number));
        assert_eq!(
            alone.decrypt(address).unwrap(),
            "88 Đường Hạ Long, Phường 2"
        );
        assert_eq!(alone.decrypt(phone).unwrap(), "0912345678");
    }
    let last = common::spawn_configured(pool.clone(), |c| {
        c.data_encryption_key = Some(Secret(second));
    })
    .await;
    assert_eq!(
        find(&last, "079088010002").await,
        1,
        "found under the new key's index"
    );
}

/// A guest entered at the desk is shown the notice on personal data (the
/// reception screen shows it) and the desk records the agreement, with the
/// notice's version, as a visitor's own check-in records it. A stay carried
/// over from the paper register may come without; a stay whose guests did
/// not agree is not stored.
#[sqlx::test]
async fn the_desk_records_the_guests_agreement_to_the_notice(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let version = app.state.config.consent_version.clone();
    let tomorrow = (chrono::Utc::now() + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let recorded = |stay: &str| {
        let query = sqlx::query_scalar::<_, Option<String>>(
            "SELECT consent_version FROM stays WHERE id = $1::uuid",
        )
        .bind(stay.to_owned());
        let pool = app.pool.clone();
        async move { query.fetch_one(&pool).await.unwrap() }
    };

    let (status, agreed) = app
        .post_json(
            &format!("/api/v1/places/{id}/stays"),
            Some(&staff),
            &json!({"guests": [guest("Ngô Văn Đồng", "079079000444")],
                    "expected_departure": tomorrow, "purpose": "tourism", "consent": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{agreed}");
    assert_eq!(
        recorded(agreed["stay_id"].as_str().unwrap()).await,
        Some(version.clone())
    );
    let (status, refused) = app
        .post_json(
            &format!("/api/v1/places/{id}/stays"),
            Some(&staff),
            &json!({"guests": [guest("Ngô Thị Khước", "079079000555")],
                    "expected_departure": tomorrow, "purpose": "tourism", "consent": false}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["codes"]["consent"][0], "consent_desk", "{refused}");
    let (status, carried) = app
        .post_json(
            &format!("/api/v1/places/{id}/stays"),
            Some(&staff),
            &json!({"guests": [guest("Ngô Văn Giấy", "079079000666")],
                    "arrived_at": chrono::Utc::now().to_rfc3339(), "expected_departure": tomorrow, "purpose": "tourism"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{carried}");
    assert_eq!(recorded(carried["stay_id"].as_str().unwrap()).await, None);

    // The desk's form: a guest arriving now needs the box ticked.
    let form = |consent: bool| {
        let mut fields = vec![
            ("guest_count", "1"),
            ("g0_full_name", "Đỗ Văn Bàn"),
            ("g0_date_of_birth", "1980-02-02"),
            ("g0_sex", "M"),
            ("g0_nationality", "VNM"),
            ("g0_document_type", "cccd"),
            ("g0_document_number", "079080000777"),
            ("expected_departure", tomorrow.as_str()),
            ("purpose", "tourism"),
            ("action", "save"),
        ];
        if consent {
            fields.push(("consent", "yes"));
        }
        app.client
            .post(app.url(&format!("/hotel/{id}/stays")))
            .bearer_auth(&staff)
            .header("accept-language", "vi")
            .form(&fields)
            .send()
    };
    let response = form(false).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Thông báo về dữ liệu cá nhân: Hãy cho khách xem thông báo"),
        "{page}"
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM stays")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 2, "nothing is stored without the agreement");
    let response = form(true).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let versions: Vec<Option<String>> =
        sqlx::query_scalar("SELECT consent_version FROM stays ORDER BY arrived_at DESC LIMIT 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(versions, vec![Some(version)]);

    // The reception screen shows the notice, in Vietnamese and in English.
    let screen = app
        .get_text_in(&format!("/hotel/{id}/screen"), &staff, "vi")
        .await;
    assert!(screen.contains("Document numbers, addresses and phones are encrypted"));
    assert!(screen.contains(
        &luutru::i18n::Tr(luutru::i18n::Lang::Vi)
            .get("consent.notice")
            .to_owned()
    ));
}
