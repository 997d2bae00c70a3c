//! The demo city: real wards and tourist sites of Vũng Tàu, thirty
//! accommodations of several kinds, an account for each role, and months of
//! synthetic stays and visits with a realistic mix of nationalities and
//! weekend peaks. Loading it twice changes nothing.

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::auth::Role;
use crate::checkin::model::search_key;
use crate::checkin::repo::notify_deadline;
use crate::localtime;
use crate::places::model::PlaceInput;
use crate::AppState;

/// name, ward, type, class, rooms, beds
type Accommodation = (
    &'static str,
    &'static str,
    &'static str,
    Option<i16>,
    i32,
    i32,
);

const ACCOMMODATIONS: [Accommodation; 30] = [
    ("Khách sạn Sóng Biển", "Vũng Tàu", "hotel", Some(3), 40, 80),
    (
        "Khách sạn Bãi Sau Xanh",
        "Tam Thắng",
        "hotel",
        Some(4),
        120,
        230,
    ),
    (
        "Resort Hoa Sứ Long Cung",
        "Tam Thắng",
        "resort",
        Some(5),
        180,
        400,
    ),
    ("Khách sạn Hải Âu", "Vũng Tàu", "hotel", Some(2), 28, 56),
    (
        "Homestay Ngõ Hẻm Thùy Vân",
        "Tam Thắng",
        "homestay",
        None,
        6,
        14,
    ),
    ("Nhà nghỉ Minh Tâm", "Vũng Tàu", "guesthouse", None, 12, 20),
    ("Khách sạn Cảng Cá", "Vũng Tàu", "hotel", Some(2), 30, 60),
    ("Căn hộ Biển Đông", "Tam Thắng", "apartment", None, 24, 70),
    ("Hostel Đồi Con Heo", "Vũng Tàu", "hostel", None, 10, 48),
    ("Khách sạn Núi Lớn", "Vũng Tàu", "hotel", Some(3), 45, 90),
    (
        "Resort Mũi Nghinh Phong",
        "Vũng Tàu",
        "resort",
        Some(4),
        90,
        200,
    ),
    ("Nhà nghỉ Hồ Mây", "Vũng Tàu", "guesthouse", None, 15, 26),
    ("Khách sạn Rạch Dừa", "Rạch Dừa", "hotel", Some(2), 32, 60),
    ("Homestay Vườn Dừa", "Rạch Dừa", "homestay", None, 5, 12),
    ("Khách sạn Thắng Nhất", "Rạch Dừa", "hotel", Some(3), 50, 96),
    ("Nhà nghỉ Bến Đá", "Rạch Dừa", "guesthouse", None, 14, 24),
    (
        "Khách sạn Phước Thắng",
        "Phước Thắng",
        "hotel",
        Some(2),
        36,
        70,
    ),
    ("Căn hộ Sông Dinh", "Phước Thắng", "apartment", None, 18, 50),
    ("Homestay Làng Chài", "Long Sơn", "homestay", None, 4, 10),
    ("Nhà nghỉ Long Sơn", "Long Sơn", "guesthouse", None, 10, 18),
    (
        "Khách sạn Hoàng Hôn",
        "Tam Thắng",
        "hotel",
        Some(3),
        60,
        120,
    ),
    ("Khách sạn Gió Biển", "Tam Thắng", "hotel", Some(3), 55, 110),
    ("Resort Cát Trắng", "Tam Thắng", "resort", Some(4), 110, 240),
    ("Hostel Thùy Vân", "Tam Thắng", "hostel", None, 8, 40),
    ("Khách sạn Ngọc Biển", "Vũng Tàu", "hotel", Some(1), 20, 36),
    ("Căn hộ Bãi Trước", "Vũng Tàu", "apartment", None, 30, 80),
    ("Nhà nghỉ Hoa Biển", "Tam Thắng", "guesthouse", None, 11, 20),
    (
        "Khách sạn Thủy Tiên",
        "Tam Thắng",
        "hotel",
        Some(5),
        200,
        420,
    ),
    ("Homestay Gác Gỗ", "Vũng Tàu", "homestay", None, 6, 15),
    ("Khách sạn Tàu Ngầm", "Vũng Tàu", "other", None, 16, 30),
];

const ATTRACTIONS: [(&str, &str); 10] = [
    ("Tượng Chúa Kitô Vua", "Vũng Tàu"),
    ("Bạch Dinh", "Vũng Tàu"),
    ("Hải đăng Vũng Tàu", "Vũng Tàu"),
    ("Bãi Sau", "Tam Thắng"),
    ("Bãi Trước", "Vũng Tàu"),
    ("Mũi Nghinh Phong", "Vũng Tàu"),
    ("Bãi Dâu", "Vũng Tàu"),
    ("Niết Bàn Tịnh Xá", "Vũng Tàu"),
    ("Hồ Mây", "Vũng Tàu"),
    ("Bảo tàng Vũ khí cổ Robert Taylor", "Vũng Tàu"),
];

/// (email, password, role, indexes of the accommodations they work at)
pub const DEMO_USERS: [(&str, &str, Role, &[usize]); 5] = [
    ("admin@demo.luutru.vn", "demo-admin-2026", Role::Admin, &[]),
    (
        "office@demo.luutru.vn",
        "demo-office-2026",
        Role::Office,
        &[],
    ),
    (
        "inspector@demo.luutru.vn",
        "demo-inspector-2026",
        Role::Inspector,
        &[],
    ),
    (
        "manager@demo.luutru.vn",
        "demo-manager-2026",
        Role::Manager,
        &[0, 1],
    ),
    ("staff@demo.luutru.vn", "demo-staff-2026", Role::Staff, &[0]),
];

/// Nationalities with their weight (per mille of guests).
const NATIONALITIES: [(&str, u32); 14] = [
    ("VNM", 700),
    ("KOR", 80),
    ("CHN", 60),
    ("RUS", 40),
    ("USA", 20),
    ("AUS", 20),
    ("GBR", 15),
    ("FRA", 10),
    ("DEU", 10),
    ("JPN", 10),
    ("THA", 10),
    ("TWN", 8),
    ("SGP", 9),
    ("IND", 8),
];

const FAMILY: [&str; 12] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
];
const MIDDLE: [&str; 6] = ["Văn", "Thị", "Minh", "Ngọc", "Hữu", "Thanh"];
const GIVEN: [&str; 12] = [
    "An", "Bình", "Châu", "Dũng", "Hà", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phúc", "Trang",
];
const FOREIGN_FAMILY: [&str; 8] = [
    "KIM", "LEE", "PARK", "WANG", "IVANOV", "SMITH", "MARTIN", "MULLER",
];
const FOREIGN_GIVEN: [&str; 8] = [
    "MINJUN", "SEOYEON", "WEI", "OLGA", "JOHN", "EMMA", "LUCAS", "ANNA",
];

fn pick_weighted<'a>(rng: &mut StdRng, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut n = rng.gen_range(0..total);
    for (item, w) in items {
        if n < *w {
            return item;
        }
        n -= w;
    }
    items[0].0
}

/// How busy a day is: weekends and summer are peaks.
fn day_weight(day: NaiveDate) -> f64 {
    let weekday = match day.weekday() {
        Weekday::Fri => 1.6,
        Weekday::Sat => 2.6,
        Weekday::Sun => 1.3,
        _ => 1.0,
    };
    let season = match day.month() {
        4..=8 => 1.4,
        1 | 2 => 1.2,
        _ => 1.0,
    };
    weekday * season
}

pub async fn demo(state: &AppState, stays: Option<usize>) -> anyhow::Result<()> {
    // The demo places name the city's wards.
    crate::regions::load_defaults(&state.db).await?;
    // The demo is loaded in order: admin, places, other users, stays, visits.
    let started: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)")
        .bind(DEMO_USERS[0].0)
        .fetch_one(&state.db)
        .await?;
    let finished: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE email = $1) AND EXISTS (SELECT 1 FROM visits)",
    )
    .bind(DEMO_USERS[DEMO_USERS.len() - 1].0)
    .fetch_one(&state.db)
    .await?;
    if finished {
        println!("The demo city is already loaded.");
        print_sign_ins(state);
        return Ok(());
    }
    if started {
        anyhow::bail!(
            "an earlier demo load stopped half way: drop the database (dropdb) and run `luutru migrate` and `luutru seed --demo` again"
        );
    }
    let admin = crate::auth::repo::create_user(
        &state.db,
        DEMO_USERS[0].0,
        DEMO_USERS[0].1,
        Role::Admin,
        &[],
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the admin: {}", e.describe()))?;

    let mut accommodation_ids = Vec::new();
    for (name, ward, kind, class, rooms, beds) in ACCOMMODATIONS {
        let place = crate::places::repo::create(
            state,
            &PlaceInput {
                kind: Some("accommodation".into()),
                name: Some(name.into()),
                address: Some(format!("{name}, phường {ward}")),
                ward: Some(ward.into()),
                accommodation_type: Some(kind.into()),
                class,
                rooms: Some(rooms),
                beds: Some(beds),
                ..Default::default()
            },
            admin,
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating {name}: {}", e.describe()))?;
        accommodation_ids.push((place.id, rooms));
    }
    let mut attraction_ids = Vec::new();
    for (name, ward) in ATTRACTIONS {
        let place = crate::places::repo::create(
            state,
            &PlaceInput {
                kind: Some("attraction".into()),
                name: Some(name.into()),
                address: Some(format!("{name}, Vũng Tàu")),
                ward: Some(ward.into()),
                ..Default::default()
            },
            admin,
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating {name}: {}", e.describe()))?;
        attraction_ids.push(place.id);
    }
    for (email, password, role, places) in &DEMO_USERS[1..] {
        let ids: Vec<i64> = places.iter().map(|i| accommodation_ids[*i].0).collect();
        crate::auth::repo::create_user(&state.db, email, password, *role, &ids)
            .await
            .map_err(|e| anyhow::anyhow!("creating {email}: {}", e.describe()))?;
    }

    // The demo places have been registered for years: their capacity counts
    // for every day of the synthetic history.
    sqlx::query("UPDATE places SET created_at = now() - interval '3 years'")
        .execute(&state.db)
        .await?;
    let (count, days) = match stays {
        Some(n) => (n, 365),
        // Thirteen months: this month and the last have the same months of
        // last year beside them, and the year to date is all there.
        None => (85_000, 400),
    };
    load_stays(state, &accommodation_ids, count, days).await?;
    load_visits(state, &attraction_ids, days).await?;
    crate::stats::rollup::fold(&state.db).await?;
    println!(
        "Demo city loaded: {} accommodations, {} attractions, {count} stays.",
        ACCOMMODATIONS.len(),
        ATTRACTIONS.len()
    );
    print_sign_ins(state);
    Ok(())
}

fn print_sign_ins(state: &AppState) {
    let base = state.config.base_url();
    println!();
    println!("Sign in at {base}/ with:");
    for (email, password, role, _) in DEMO_USERS {
        println!("  {:<10} {email:<28} {password}", role.as_str());
    }
    println!("The office page ({base}/office) links each place's check-in page and QR code.");
}

/// Columns of one batch of stays, guests and identities for UNNEST inserts.
#[derive(Default)]
struct Batch {
    stay_id: Vec<Uuid>,
    stay_place: Vec<i64>,
    room: Vec<String>,
    arrived_at: Vec<chrono::DateTime<Utc>>,
    arrival_date: Vec<NaiveDate>,
    expected: Vec<NaiveDate>,
    departed_at: Vec<Option<chrono::DateTime<Utc>>>,
    departure_date: Vec<Option<NaiveDate>>,
    checkout_by: Vec<Option<String>>,
    source: Vec<String>,
    presence: Vec<String>,
    guest_id: Vec<Uuid>,
    guest_stay: Vec<Uuid>,
    guest_place: Vec<i64>,
    position: Vec<i16>,
    g_arrived_at: Vec<chrono::DateTime<Utc>>,
    g_arrival_date: Vec<NaiveDate>,
    g_departed_at: Vec<Option<chrono::DateTime<Utc>>>,
    g_departure_date: Vec<Option<NaiveDate>>,
    nationality: Vec<String>,
    sex: Vec<String>,
    age_band: Vec<String>,
    doc_type: Vec<String>,
    deadline: Vec<chrono::DateTime<Utc>>,
    notified_at: Vec<Option<chrono::DateTime<Utc>>>,
    full_name: Vec<String>,
    name_search: Vec<String>,
    birth: Vec<NaiveDate>,
    doc_number: Vec<Vec<u8>>,
    doc_index: Vec<Vec<u8>>,
}

async fn load_stays(
    state: &AppState,
    places: &[(i64, i32)],
    count: usize,
    days: i64,
) -> anyhow::Result<()> {
    let tz = state.tz();
    let mut rng = StdRng::seed_from_u64(20260701);
    let today = localtime::today(tz);
    let now = Utc::now();
    let first = today - Duration::days(days);
    let weights: Vec<f64> = (0..=days)
        .map(|i| day_weight(first + Duration::days(i)))
        .collect();
    let total_weight: f64 = weights.iter().sum();
    let bar = ProgressBar::new(count as u64);
    bar.set_style(
        ProgressStyle::with_template("stays {bar:40} {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut made = 0usize;
    while made < count {
        let mut b = Batch::default();
        let size = (count - made).min(2000);
        for _ in 0..size {
            // A day by weight, a time of day mostly in the afternoon.
            let mut x = rng.gen_range(0.0..total_weight);
            let mut day_index = 0;
            for (i, w) in weights.iter().enumerate() {
                if x < *w {
                    day_index = i;
                    break;
                }
                x -= w;
            }
            let day = first + Duration::days(day_index as i64);
            let hour = [
                8, 10, 12, 13, 14, 14, 15, 15, 16, 17, 18, 19, 20, 21, 22, 23,
            ][rng.gen_range(0..16)];
            let arrived = localtime::instant(tz, day, hour, rng.gen_range(0..60));
            if arrived > now {
                continue;
            }
            let nights = [0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 7][rng.gen_range(0..12)];
            let expected = day + Duration::days(nights.max(1));
            let leave = localtime::instant(
                tz,
                day + Duration::days(nights),
                if nights == 0 { 23 } else { 11 },
                30,
            )
            .max(arrived + Duration::minutes(20));
            let departed = (leave <= now).then_some(leave);
            let (place, rooms) = places[rng.gen_range(0..places.len())];
            let stay_id = Uuid::now_v7();
            let nationality = pick_weighted(&mut rng, &NATIONALITIES);
            let party = [1, 2, 2, 2, 3, 4][rng.gen_range(0..6)];
            b.stay_id.push(stay_id);
            b.stay_place.push(place);
            b.room.push(format!(
                "{}",
                100 * rng.gen_range(1..=4) + rng.gen_range(1..=rooms.clamp(1, 30))
            ));
            b.arrived_at.push(arrived);
            b.arrival_date.push(day);
            b.expected.push(expected);
            b.departed_at.push(departed);
            b.departure_date
                .push(departed.map(|d| localtime::date(tz, d)));
            b.checkout_by.push(departed.map(|_| "desk".to_owned()));
            let desk = rng.gen_bool(0.4);
            b.source
                .push(if desk { "desk" } else { "self_qr" }.to_owned());
            b.presence
                .push(if desk { "desk_staff" } else { "printed_code" }.to_owned());
            for position in 0..party {
                let vietnamese = nationality == "VNM";
                let born = NaiveDate::from_ymd_opt(
                    rng.gen_range(1950..2008),
                    rng.gen_range(1..=12),
                    rng.gen_range(1..=28),
                )
                .unwrap_or(day);
                let sex = if rng.gen_bool(0.5) { "M" } else { "F" };
                let name = if vietnamese {
                    format!(
                        "{} {} {}",
                        FAMILY[rng.gen_range(0..FAMILY.len())],
                        MIDDLE[rng.gen_range(0..MIDDLE.len())],
                        GIVEN[rng.gen_range(0..GIVEN.len())]
                    )
                } else {
                    format!(
                        "{} {}",
                        FOREIGN_FAMILY[rng.gen_range(0..FOREIGN_FAMILY.len())],
                        FOREIGN_GIVEN[rng.gen_range(0..FOREIGN_GIVEN.len())]
                    )
                };
                let number = if vietnamese {
                    format!("0{:011}", rng.gen_range(0u64..100_000_000_000))
                } else {
                    format!("M{:07}", rng.gen_range(0u32..10_000_000))
                };
                let deadline = notify_deadline(tz, vietnamese, arrived);
                b.guest_id.push(Uuid::now_v7());
                b.guest_stay.push(stay_id);
                b.guest_place.push(place);
                b.position.push(position);
                b.g_arrived_at.push(arrived);
                b.g_arrival_date.push(day);
                b.g_departed_at.push(departed);
                b.g_departure_date
                    .push(departed.map(|d| localtime::date(tz, d)));
                b.nationality.push(nationality.to_owned());
                b.sex.push(sex.to_owned());
                b.age_band.push(localtime::age_band(born, day).to_owned());
                b.doc_type
                    .push(if vietnamese { "cccd" } else { "passport" }.to_owned());
                b.deadline.push(deadline);
                // Most establishments notify on time; a few are late.
                let latest = if rng.gen_bool(0.9) { 600 } else { 1500 };
                let sent = arrived + Duration::minutes(rng.gen_range(10..latest));
                b.notified_at.push((sent <= now).then_some(sent));
                b.name_search.push(search_key(&name));
                b.full_name.push(name);
                b.birth.push(born);
                b.doc_index.push(state.cipher.blind_index(&number));
                b.doc_number.push(state.cipher.encrypt(&number));
            }
        }
        // A draw later today than now is skipped: count what was made.
        let size = b.stay_id.len();
        made += size;
        insert_batch(state, &b).await?;
        bar.inc(size as u64);
        // Keep what the statistics read pending small as the history grows.
        if made % 100_000 < size {
            crate::stats::rollup::fold(&state.db).await?;
        }
    }
    bar.finish();
    Ok(())
}

async fn insert_batch(state: &AppState, b: &Batch) -> anyhow::Result<()> {
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "INSERT INTO stays (id, place_id, room, arrived_at, arrival_date, expected_departure, departed_at,
                            departure_date, checkout_by, purpose, source, presence, confirmed_at)
         SELECT id, place, room, arr, ad, exp, dep, dd, cb, 'tourism', src, pres, arr
         FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::timestamptz[], $5::date[], $6::date[],
                     $7::timestamptz[], $8::date[], $9::text[], $10::text[], $11::text[])
              AS t(id, place, room, arr, ad, exp, dep, dd, cb, src, pres)",
    )
    .bind(&b.stay_id)
    .bind(&b.stay_place)
    .bind(&b.room)
    .bind(&b.arrived_at)
    .bind(&b.arrival_date)
    .bind(&b.expected)
    .bind(&b.departed_at)
    .bind(&b.departure_date)
    .bind(&b.checkout_by)
    .bind(&b.source)
    .bind(&b.presence)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO guests (id, stay_id, place_id, position, arrived_at, arrival_date, departed_at, departure_date,
                             nationality, residence_country, sex, age_band, document_type, notify_deadline, notified_at)
         SELECT id, stay, place, pos, arr, ad, dep, dd, nat, nat, sex, age, doc, dl, na
         FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::smallint[], $5::timestamptz[], $6::date[],
                     $7::timestamptz[], $8::date[], $9::text[], $10::text[], $11::text[], $12::text[],
                     $13::timestamptz[], $14::timestamptz[])
              AS t(id, stay, place, pos, arr, ad, dep, dd, nat, sex, age, doc, dl, na)",
    )
    .bind(&b.guest_id)
    .bind(&b.guest_stay)
    .bind(&b.guest_place)
    .bind(&b.position)
    .bind(&b.g_arrived_at)
    .bind(&b.g_arrival_date)
    .bind(&b.g_departed_at)
    .bind(&b.g_departure_date)
    .bind(&b.nationality)
    .bind(&b.sex)
    .bind(&b.age_band)
    .bind(&b.doc_type)
    .bind(&b.deadline)
    .bind(&b.notified_at)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO guest_identities (guest_id, full_name, name_search, date_of_birth, document_number, document_index)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::date[], $5::bytea[], $6::bytea[])",
    )
    .bind(&b.guest_id)
    .bind(&b.full_name)
    .bind(&b.name_search)
    .bind(&b.birth)
    .bind(&b.doc_number)
    .bind(&b.doc_index)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn load_visits(state: &AppState, places: &[i64], days: i64) -> anyhow::Result<()> {
    let tz = state.tz();
    let mut rng = StdRng::seed_from_u64(20260702);
    let now = Utc::now();
    let today = localtime::today(tz);
    let (mut id, mut place, mut at, mut date, mut hour, mut size, mut country) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for offset in 0..=days {
        let day = today - Duration::days(days - offset);
        for (rank, p) in places.iter().enumerate() {
            let parties = (40.0 * day_weight(day) / (1.0 + rank as f64 * 0.3)) as usize;
            for _ in 0..parties {
                let h = rng.gen_range(6..19);
                let t = localtime::instant(tz, day, h, rng.gen_range(0..60));
                if t > now {
                    continue;
                }
                id.push(Uuid::now_v7());
                place.push(*p);
                at.push(t);
                date.push(day);
                hour.push(h as i16);
                size.push([1, 2, 2, 3, 4, 5, 8, 20][rng.gen_range(0..8)]);
                country.push(pick_weighted(&mut rng, &NATIONALITIES).to_owned());
            }
        }
    }
    for chunk in (0..id.len()).collect::<Vec<_>>().chunks(5000) {
        let (a, z) = (chunk[0], chunk[chunk.len() - 1] + 1);
        sqlx::query(
            "INSERT INTO visits (id, place_id, visited_at, visit_date, visit_hour, party_size, origin_country)
             SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::timestamptz[], $4::date[], $5::smallint[], $6::int[], $7::text[])",
        )
        .bind(&id[a..z])
        .bind(&place[a..z])
        .bind(&at[a..z])
        .bind(&date[a..z])
        .bind(&hour[a..z])
        .bind(&size[a..z])
        .bind(&country[a..z])
        .execute(&state.db)
        .await?;
    }
    Ok(())
}
