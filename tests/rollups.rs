//! The rollups the statistics read must give exactly the figures of the plain
//! queries over the raw tables, after every kind of write: check-ins at the
//! desk and by code, check-outs and their undo, corrections, cancellations,
//! moves between places, deletions, site visits; both before and after the
//! pending rows are folded.

mod common;

use chrono::{Datelike, Duration, NaiveDate};
use common::spawn;
use luutru::auth::Role;
use luutru::stats::dashboard::figures;
use luutru::stats::repo::{summary_from, Source};
use luutru::stats::rollup;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

const NAMES: [&str; 5] = ["An", "Bình", "Chi", "Dũng", "Hà"];
const NATIONALITIES: [&str; 6] = ["VNM", "VNM", "KOR", "USA", "GBD", "D"];

async fn same_figures(pool: &PgPool, places: &[i64], today: NaiveDate, moment: &str) {
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let ranges = [
        (today - Duration::days(70), today),
        (today - Duration::days(30), today - Duration::days(5)),
        (today - Duration::days(400), today),
        (today - Duration::days(3), today + Duration::days(10)),
        (today, today),
    ];
    for (from, to) in ranges {
        let raw = figures(Source::Raw, pool, (from, to), today, tz)
            .await
            .unwrap();
        let kept = figures(Source::Rollups, pool, (from, to), today, tz)
            .await
            .unwrap();
        assert_eq!(raw, kept, "{moment}: the city's figures for {from}..{to}");
        for &place in places {
            let raw = summary_from(Source::Raw, pool, from, to, today, Some(place), tz)
                .await
                .unwrap();
            let kept = summary_from(Source::Rollups, pool, from, to, today, Some(place), tz)
                .await
                .unwrap();
            assert_eq!(raw, kept, "{moment}: place {place} for {from}..{to}");
        }
    }
    // The check must be able to fail: a city with guests has figures.
    let whole = figures(
        Source::Rollups,
        pool,
        (today - Duration::days(400), today),
        today,
        tz,
    )
    .await
    .unwrap();
    assert!(whole.summary.arrivals > 0 && whole.summary.guest_nights > 0);
}

/// Compare before the fold (everything pending) and after it.
async fn check(pool: &PgPool, places: &[i64], today: NaiveDate, moment: &str) {
    same_figures(pool, places, today, &format!("{moment}, pending")).await;
    rollup::fold(pool).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM stats_pending")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "the fold moves everything pending");
    same_figures(pool, places, today, &format!("{moment}, folded")).await;
}

/// A homestay of three rooms and six beds, open in the given months.
async fn seasonal_homestay(
    app: &common::TestApp,
    office: &str,
    months: &[u32],
) -> serde_json::Value {
    app.create_place(
        office,
        json!({"kind": "accommodation", "name": "Nhà nghỉ Biển", "address": "3 Phan Chu Trinh",
               "ward": "Vũng Tàu", "accommodation_type": "homestay", "rooms": 3, "beds": 6,
               "status": "seasonal", "season_months": months}),
    )
    .await
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::query(sql).execute(pool).await.unwrap();
}

#[sqlx::test]
async fn rollups_give_the_raw_figures_after_every_kind_of_write(pool: PgPool) {
    let app = spawn(pool).await;
    let pool = app.pool.clone();
    let today = luutru::localtime::today(chrono_tz::Asia::Ho_Chi_Minh);
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    let homestay = seasonal_homestay(&app, &office, &[1, 2, 6, 7, 8, 12]).await;
    let site = app
        .create_place(
            &office,
            json!({"kind": "attraction", "name": "Tượng Chúa Kitô", "address": "Núi Nhỏ", "ward": "Vũng Tàu"}),
        )
        .await;
    let places = [
        hotel["id"].as_i64().unwrap(),
        homestay["id"].as_i64().unwrap(),
    ];
    exec(
        &pool,
        "UPDATE places SET created_at = now() - interval '2 years'",
    )
    .await;
    let staff = app.sign_in_as(Role::Staff, &places).await;

    // Desk entries over the last fourteen months, some still in house.
    let mut rng = StdRng::seed_from_u64(7);
    for i in 0..60 {
        let place = places[i % 2];
        let arrived = today - Duration::days(rng.gen_range(0..420));
        let nights = [0, 0, 1, 1, 2, 3, 5, 9][rng.gen_range(0..8)];
        let guests: Vec<_> = (0..rng.gen_range(1..4))
            .map(|g| {
                let nationality = NATIONALITIES[rng.gen_range(0..NATIONALITIES.len())];
                let (kind, number) = if nationality == "VNM" {
                    ("cccd", format!("0790900{i:03}{g:02}"))
                } else {
                    ("passport", format!("P{i:04}{g:03}"))
                };
                json!({"full_name": format!("Khách {} {}", NAMES[i % NAMES.len()], NAMES[g]), "date_of_birth": "1985-05-05", "sex": "F",
                       "nationality": nationality, "document_type": kind, "document_number": number})
            })
            .collect();
        let mut body = json!({"guests": guests,
                              "arrived_at": format!("{arrived}T{:02}:30:00+07:00", rng.gen_range(0..12)), "purpose": "tourism"});
        let departure = arrived + Duration::days(nights);
        let recent = arrived > today - Duration::days(20);
        if departure < today && (!recent || rng.gen_bool(0.6)) {
            body["departed_at"] = json!(format!("{departure}T13:00:00+07:00"));
        } else {
            body["expected_departure"] = json!((today + Duration::days(3)).to_string());
        }
        let (status, answer) = app
            .post_json(
                &format!("/api/v1/places/{place}/stays"),
                Some(&staff),
                &body,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}: {answer}");
    }
    // Visitors by code today, and a history of visits by hour and province.
    for size in [1, 4, 2] {
        let (status, answer) = app
            .post_json(
                "/api/v1/checkins",
                None,
                &json!({"code": site["code"], "party_size": size, "origin_country": "VNM"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    exec(
        &pool,
        &format!(
            "INSERT INTO visits (id, place_id, visited_at, visit_date, visit_hour, party_size, origin_country, origin_province_id)
             SELECT gen_random_uuid(), {}, now() - d * interval '1 day', (now() - d * interval '1 day')::date, (d % 13) + 6,
                    1 + d % 7, 'VNM', (SELECT id FROM provinces ORDER BY id OFFSET d % 5 LIMIT 1)
             FROM generate_series(1, 300) d",
            site["id"]
        ),
    )
    .await;
    check(&pool, &places, today, "after the check-ins").await;

    // Everyone in house at the hotel leaves today; one guest of the homestay
    // leaves alone.
    exec(
        &pool,
        &format!(
            "UPDATE stays SET departed_at = now(), departure_date = '{today}', checkout_by = 'desk'
             WHERE place_id = {} AND departed_at IS NULL",
            places[0]
        ),
    )
    .await;
    exec(
        &pool,
        &format!(
            "UPDATE guests SET departed_at = now(), departure_date = '{today}'
             WHERE place_id = {} AND departed_at IS NULL",
            places[0]
        ),
    )
    .await;
    exec(
        &pool,
        &format!(
            "UPDATE guests SET departed_at = now(), departure_date = '{today}'
             WHERE id = (SELECT id FROM guests WHERE place_id = {} AND departed_at IS NULL ORDER BY id LIMIT 1)",
            places[1]
        ),
    )
    .await;
    check(&pool, &places, today, "after check-outs").await;

    // A check-out undone; nationality and arrival corrected; police marks
    // (a write that moves nothing).
    exec(
        &pool,
        "UPDATE guests SET departed_at = NULL, departure_date = NULL
         WHERE id = (SELECT id FROM guests WHERE departed_at IS NOT NULL ORDER BY arrival_date DESC LIMIT 1)",
    )
    .await;
    exec(
        &pool,
        "UPDATE guests SET nationality = 'FRA', residence_country = 'FRA'
         WHERE id IN (SELECT id FROM guests ORDER BY id LIMIT 5)",
    )
    .await;
    exec(
        &pool,
        "UPDATE guests SET arrival_date = arrival_date - 2, arrived_at = arrived_at - interval '2 days'
         WHERE id IN (SELECT id FROM guests ORDER BY id DESC LIMIT 4)",
    )
    .await;
    exec(&pool, "UPDATE guests SET notified_at = now()").await;
    check(&pool, &places, today, "after corrections").await;

    // Stays cancelled and one restored; a stay moved to the other place with
    // its guests; a guest deleted; visits deleted.
    exec(
        &pool,
        "UPDATE stays SET status = 'cancelled' WHERE id IN (SELECT id FROM stays ORDER BY id LIMIT 6)",
    )
    .await;
    exec(
        &pool,
        "UPDATE stays SET status = 'active' WHERE id = (SELECT id FROM stays WHERE status = 'cancelled' ORDER BY id LIMIT 1)",
    )
    .await;
    let moved = format!(
        "(SELECT id FROM stays WHERE place_id = {} AND status = 'active' ORDER BY id DESC LIMIT 1)",
        places[0]
    );
    exec(
        &pool,
        &format!(
            "UPDATE guests SET place_id = {} WHERE stay_id = {moved}",
            places[1]
        ),
    )
    .await;
    exec(
        &pool,
        &format!(
            "UPDATE stays SET place_id = {} WHERE id = {moved}",
            places[1]
        ),
    )
    .await;
    exec(
        &pool,
        "DELETE FROM guest_identities WHERE guest_id = (SELECT id FROM guests g WHERE position > 0
             AND NOT EXISTS (SELECT 1 FROM guests c WHERE c.companion_of = g.id) ORDER BY id LIMIT 1)",
    )
    .await;
    exec(
        &pool,
        "DELETE FROM guests WHERE id = (SELECT id FROM guests g WHERE position > 0
             AND NOT EXISTS (SELECT 1 FROM guests c WHERE c.companion_of = g.id) ORDER BY id LIMIT 1)",
    )
    .await;
    exec(
        &pool,
        "DELETE FROM visits WHERE id IN (SELECT id FROM visits ORDER BY id LIMIT 40)",
    )
    .await;
    check(&pool, &places, today, "after cancellations and deletions").await;
}

/// A place registered after a range ends, in the range's month, had no day
/// open in it: its beds and rooms add nothing to the occupancy's
/// denominator, for a seasonal place as for an open one. (The rollups once
/// counted a seasonal place's days from its registration to the range's
/// end, a negative number, and raised the city's occupancy.)
#[sqlx::test]
async fn a_place_registered_after_the_range_adds_no_beds_to_it(pool: PgPool) {
    let app = spawn(pool).await;
    let pool = app.pool.clone();
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let today = luutru::localtime::today(tz);
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    let homestay = seasonal_homestay(&app, &office, &(1..=12).collect::<Vec<_>>()).await;
    let hotel_id = hotel["id"].as_i64().unwrap();
    // The first ten days of last month; the homestay registered on its 20th.
    let month = (today - Duration::days(i64::from(today.day())))
        .with_day(1)
        .unwrap();
    let (from, to) = (month, month + Duration::days(9));
    exec(
        &pool,
        &format!("UPDATE places SET created_at = now() - interval '2 years' WHERE id = {hotel_id}"),
    )
    .await;
    exec(
        &pool,
        &format!(
            "UPDATE places SET created_at = '{}T12:00:00+07:00' WHERE id = {}",
            month + Duration::days(19),
            homestay["id"]
        ),
    )
    .await;
    // One guest for two nights at the hotel (ten beds, five rooms).
    let staff = app.sign_in_as(Role::Staff, &[hotel_id]).await;
    let (status, answer) = app
        .post_json(
            &format!("/api/v1/places/{hotel_id}/stays"),
            Some(&staff),
            &json!({"guests": [{"full_name": "Trần Thu", "date_of_birth": "1985-05-05", "sex": "F",
                                "nationality": "VNM", "document_type": "cccd",
                                "document_number": "079090000101"}],
                    "arrived_at": format!("{}T10:00:00+07:00", month + Duration::days(2)),
                    "departed_at": format!("{}T11:00:00+07:00", month + Duration::days(4)), "purpose": "tourism"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    for moment in ["pending", "folded"] {
        if moment == "folded" {
            rollup::fold(&pool).await.unwrap();
        }
        for source in [Source::Raw, Source::Rollups] {
            let s = summary_from(source, &pool, from, to, today, None, tz)
                .await
                .unwrap();
            // 2 guest-nights over 10 beds × 10 days; 2 room-nights over 5 × 10.
            assert_eq!(s.bed_occupancy_rate, Some(2.0), "{source:?}, {moment}");
            assert_eq!(s.room_occupancy_rate, Some(4.0), "{source:?}, {moment}");
        }
    }
}
