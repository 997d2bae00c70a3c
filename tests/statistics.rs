//! The summary on a small dataset computed by hand: arrivals on the local
//! date, nights only inside the range, stays crossing the range's edges,
//! arrivals just before and after local midnight, a same-day guest and a
//! guest still in house.

mod common;

use common::spawn;
use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn guest(name: &str, nationality: &str) -> Value {
    let (kind, number) = if nationality == "VNM" {
        ("cccd", "079090000001")
    } else {
        ("passport", "P1234567")
    };
    json!({"full_name": name, "date_of_birth": "1980-01-01", "sex": "F", "nationality": nationality,
           "document_type": kind, "document_number": number})
}

#[sqlx::test]
async fn the_summary_matches_a_hand_computed_dataset(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await; // 5 rooms, 10 beds
    let id = place["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    // Registered long before the dataset begins, so its beds count every day.
    sqlx::query("UPDATE places SET created_at = '2025-01-01T00:00:00+07:00'")
        .execute(&app.pool)
        .await
        .unwrap();

    // (name, nationality, arrived, departed) in local time (+07:00).
    let stays = [
        // nights 8, 9, 10: only the 10th is in range; arrival before the range.
        (
            "A",
            "VNM",
            "2026-03-08T14:00:00+07:00",
            Some("2026-03-11T11:00:00+07:00"),
        ),
        // 00:30 local on the 10th is still the 9th in UTC: counted on the 10th. Nights 10-13: 10, 11, 12 in range.
        (
            "B",
            "VNM",
            "2026-03-10T00:30:00+07:00",
            Some("2026-03-14T10:00:00+07:00"),
        ),
        // 23:50 local on the 12th: an arrival on the 12th, one night in range.
        (
            "C",
            "KOR",
            "2026-03-12T23:50:00+07:00",
            Some("2026-03-13T10:00:00+07:00"),
        ),
        // 23:59 local on the 9th: arrival and night before the range.
        (
            "D",
            "VNM",
            "2026-03-09T23:59:00+07:00",
            Some("2026-03-10T09:00:00+07:00"),
        ),
        // Zero nights: an arrival and a same-day guest.
        (
            "E",
            "VNM",
            "2026-03-11T10:00:00+07:00",
            Some("2026-03-11T18:00:00+07:00"),
        ),
        // Crosses the end of the range: one night (the 12th) inside.
        (
            "F",
            "VNM",
            "2026-03-12T12:00:00+07:00",
            Some("2026-03-20T11:00:00+07:00"),
        ),
        // Still in house: nights from the 11th until today; the 11th and 12th are in range.
        ("G", "VNM", "2026-03-11T15:00:00+07:00", None),
        // After the range.
        (
            "H",
            "VNM",
            "2026-03-13T00:10:00+07:00",
            Some("2026-03-15T10:00:00+07:00"),
        ),
        // Long before it: the records begin here, so the period before the
        // range (7-9 March) is on record in full.
        (
            "Z",
            "VNM",
            "2026-01-15T10:00:00+07:00",
            Some("2026-01-16T10:00:00+07:00"),
        ),
    ];
    for (name, nationality, arrived, departed) in stays {
        let mut body = json!({"guests": [guest(name, nationality)], "arrived_at": arrived, "purpose": "tourism"});
        match departed {
            Some(d) => body["departed_at"] = json!(d),
            None => body["expected_departure"] = json!("2026-12-31"),
        }
        let (status, answer) = app
            .post_json(&format!("/api/v1/places/{id}/stays"), Some(&staff), &body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {answer}");
    }

    let (status, s) = app
        .get_json(
            "/api/v1/stats/summary?from=2026-03-10&to=2026-03-12",
            Some(&office),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    // Arrivals: B (10th), E and G (11th), C and F (12th).
    assert_eq!(s["arrivals"], 5);
    assert_eq!(s["domestic_arrivals"], 4);
    assert_eq!(s["international_arrivals"], 1);
    assert_eq!(s["same_day_guests"], 1);
    // Nights: A 1, B 3, C 1, E 0, F 1, G 2.
    assert_eq!(s["guest_nights"], 8);
    assert_eq!(s["average_length_of_stay"], 1.6);
    // 8 nights over 10 beds × 3 days; each stay one room: 8 over 5 rooms × 3 days.
    assert_eq!(s["bed_occupancy_rate"], 26.7);
    assert_eq!(s["room_occupancy_rate"], 53.3);
    let days: Vec<(i64, i64)> = s["by_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["arrivals"].as_i64().unwrap(),
                d["guest_nights"].as_i64().unwrap(),
            )
        })
        .collect();
    // 10th: B arrives; A and B sleep. 11th: E, G arrive; B, G sleep. 12th: C, F arrive; B, C, F, G sleep.
    assert_eq!(days, [(1, 2), (2, 2), (2, 4)]);
    assert_eq!(s["by_day"][0]["date"], "2026-03-10");
    // The office sees no names: nationalities with fewer than 5 arrivals
    // (VNM 4, KOR 1) fold into "other"; the ward's 5 stay as they are.
    assert_eq!(
        s["by_nationality"],
        json!([{"key": "other", "arrivals": 5, "guest_nights": 8}])
    );
    assert_eq!(s["by_ward"][0]["key"], "Tam Thắng");
    assert_eq!(s["by_ward"][0]["arrivals"], 5);
    assert_eq!(s["by_accommodation_type"][0]["key"], "hotel");
    // The office's page shows the same tables under their headings, a
    // country by its name and the folded ones as other countries.
    let page = app
        .get_text("/office?from=2026-03-10&to=2026-03-12", &office)
        .await;
    let table = |title: &str| -> String {
        let after = page
            .split(&format!("<h2>{title}</h2>"))
            .nth(1)
            .unwrap_or_else(|| panic!("no table {title} in {page}"));
        after.split("</table>").next().unwrap().to_owned()
    };
    // Its cards write the figures as the page's language does.
    for card in ["<b>1,60</b>", "<b>26,7 %</b>", "<b>53,3 %</b>"] {
        assert!(page.contains(card), "{card} in {page}");
    }
    let nationalities = table("Theo quốc tịch");
    assert!(
        nationalities
            .contains("<th scope=\"col\">Quốc tịch</th><th scope=\"col\">lượt khách lưu trú</th>"),
        "{nationalities}"
    );
    assert!(
        nationalities.contains("<td>Nước khác</td><td>5</td><td>8</td>"),
        "{nationalities}"
    );
    // The monthly report for a month the office picks, the last full one
    // first, as PDF or XLSX.
    let last_month = {
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Ho_Chi_Minh)
            .date_naive();
        (today - chrono::Duration::days(chrono::Datelike::day(&today) as i64))
            .format("%Y-%m")
            .to_string()
    };
    let picker = page.split("id=\"monthly\"").nth(1).unwrap();
    let picker = picker.split("</form>").next().unwrap();
    assert!(
        picker.contains(&format!(
            "name=\"month\" type=\"month\" value=\"{last_month}\""
        )),
        "{picker}"
    );
    assert!(picker.contains("formaction=\"/api/v1/stats/monthly.xlsx\""));
    let wards = table("Theo phường, xã");
    assert!(
        wards.contains("<th scope=\"col\">Phường, xã</th>"),
        "{wards}"
    );
    assert!(
        wards.contains("<td>Tam Thắng</td><td>5</td><td>8</td>"),
        "{wards}"
    );
    // An inspector, who reads registers anyway, sees every cell.
    let inspector = app.sign_in_as(Role::Inspector, &[]).await;
    let (_, s) = app
        .get_json(
            "/api/v1/stats/summary?from=2026-03-10&to=2026-03-12",
            Some(&inspector),
        )
        .await;
    // The hotel has three stars: every arrival of the range is in that class.
    assert_eq!(
        s["by_class"],
        json!([{"key": "3", "arrivals": 5, "guest_nights": 8}])
    );
    let korea = s["by_nationality"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["key"] == "KOR")
        .unwrap();
    assert_eq!(
        (korea["arrivals"].as_i64(), korea["guest_nights"].as_i64()),
        (Some(1), Some(1))
    );

    // Against the period before (7-9 March) and the same dates of 2025 (nothing).
    let (status, c) = app
        .get_json(
            "/api/v1/stats/compare?from=2026-03-10&to=2026-03-12",
            Some(&office),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(c["current"]["arrivals"], 5);
    assert_eq!(c["previous"]["from"], "2026-03-07");
    assert_eq!(c["previous"]["to"], "2026-03-09");
    assert_eq!(c["last_year"]["from"], "2025-03-10");
    assert_eq!(c["last_year"]["arrivals"], 0);
    assert_eq!(c["change_vs_last_year"]["arrivals"], Value::Null);
    assert_eq!(c["records_since"], "2026-01-15");
    // A (8th) and D (9th) arrived in the period before: 5 ÷ 2 − 1 = +150 %.
    assert_eq!(c["previous"]["arrivals"], 2);
    assert_eq!(c["change_vs_previous"]["arrivals"], 150.0);

    // The monthly report for March agrees with the summary of March, and
    // splits overnight from same-day guests.
    let (_, march) = app
        .get_json(
            "/api/v1/stats/summary?from=2026-03-01&to=2026-03-31",
            Some(&office),
        )
        .await;
    let response = app
        .get_response("/api/v1/stats/monthly.xlsx?month=2026-03", &office)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> = calamine::Reader::new(std::io::Cursor::new(bytes)).unwrap();
    let rows: Vec<Vec<String>> = calamine::Reader::worksheet_range(&mut book, "Bao cao 03-2026")
        .unwrap()
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let row = |label: &str| {
        rows.iter()
            .find(|r| r[0].starts_with(label))
            .unwrap()
            .clone()
    };
    assert_eq!(row("Lượt khách lưu trú")[2], march["arrivals"].to_string());
    assert_eq!(
        row("– khách trong ngày")[2],
        march["same_day_guests"].to_string()
    );
    let overnight =
        march["arrivals"].as_i64().unwrap() - march["same_day_guests"].as_i64().unwrap();
    assert_eq!(row("– khách qua đêm")[2], overnight.to_string());
    assert_eq!(row("Ngày khách")[2], march["guest_nights"].to_string());
    assert_eq!(
        row("Lượt khách lưu trú")[3],
        "–",
        "no March 2025 to compare with"
    );

    // The same report as a PDF, read back as text.
    let response = app
        .get_response("/api/v1/stats/monthly.pdf?month=2026-03", &office)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.unwrap();
    let file = std::env::temp_dir().join(format!(
        "luutru-report-{}.pdf",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&file, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    // No two words run into each other, in this month's report and in
    // one whose headings are at their longest (November against December).
    words_apart(&file);
    let december = app
        .get_response("/api/v1/stats/monthly.pdf?month=2025-12", &office)
        .await;
    assert_eq!(december.status(), StatusCode::OK);
    let december = december.bytes().await.unwrap();
    let other = file.with_extension("12.pdf");
    std::fs::write(&other, &december).unwrap();
    words_apart(&other);
    let _ = std::fs::remove_file(&other);
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Báo cáo tình hình khách du lịch lưu trú tháng 3/2026"),
        "{text}"
    );
    let arrivals = march["arrivals"].to_string();
    let arrivals_line = text
        .lines()
        .find(|l| l.contains("Lượt khách lưu trú"))
        .unwrap();
    assert!(
        arrivals_line.split_whitespace().any(|w| w == arrivals),
        "{arrivals_line}"
    );

    // Each chart's numbers as CSV, a file to save: the days computed above.
    let response = app
        .get_response(
            "/api/v1/stats/chart.csv?chart=by_day&from=2026-03-10&to=2026-03-12",
            &office,
        )
        .await;
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"luutru-by_day-2026-03-10-2026-03-12.csv\""
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "date,arrivals,guest_nights,same_day_guests,attraction_visitors"
    );
    assert!(
        lines[1].starts_with("2026-03-10,1,2,") && lines[3].starts_with("2026-03-12,2,4,"),
        "{csv}"
    );
    let (status, _) = app
        .get_json("/api/v1/stats/chart.csv?chart=pie", Some(&office))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A single day at the edge: the 9th has D's arrival and A's and D's nights.
    let (_, s) = app
        .get_json(
            "/api/v1/stats/summary?from=2026-03-09&to=2026-03-09",
            Some(&office),
        )
        .await;
    assert_eq!(
        (s["arrivals"].as_i64(), s["guest_nights"].as_i64()),
        (Some(1), Some(2))
    );

    // A range with no capacity gives null rates, not zero.
    let (_, s) = app
        .get_json(
            &format!("/api/v1/stats/summary?from=2026-03-10&to=2026-03-12&place_id={id}"),
            Some(&staff),
        )
        .await;
    assert_eq!(
        s["guest_nights"], 8,
        "the place's own figures are the city's here"
    );
    let (_, empty) = app
        .get_json(
            "/api/v1/stats/summary?from=2026-03-10&to=2026-03-12",
            Some(&office),
        )
        .await;
    assert_eq!(empty["attraction_visitors"], 0);
}

/// Move the stays and guests that arrived on `day` back by `days`, as if
/// recorded then.
async fn move_back(pool: &sqlx::PgPool, day: &str, days: i32) {
    for table in ["stays", "guests"] {
        sqlx::query(&format!(
            "UPDATE {table} SET arrived_at = arrived_at - make_interval(days => $2),
                                arrival_date = arrival_date - $2,
                                departed_at = departed_at - make_interval(days => $2),
                                departure_date = departure_date - $2
             WHERE arrival_date = $1::date"
        ))
        .bind(day)
        .bind(days)
        .execute(pool)
        .await
        .unwrap();
    }
}

/// A monthly report's PDF, as text.
async fn report_pdf_text(app: &common::TestApp, office: &str, month: &str) -> String {
    let pdf = app
        .get_response(&format!("/api/v1/stats/monthly.pdf?month={month}"), office)
        .await
        .bytes()
        .await
        .unwrap();
    let file = std::env::temp_dir().join(format!(
        "luutru-report-{}.pdf",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&file, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let _ = std::fs::remove_file(&file);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The rows of a monthly report's sheet, as text.
async fn report_rows(app: &common::TestApp, office: &str, month: &str) -> Vec<Vec<String>> {
    let response = app
        .get_response(&format!("/api/v1/stats/monthly.xlsx?month={month}"), office)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> = calamine::Reader::new(std::io::Cursor::new(bytes)).unwrap();
    let (year, month) = month.split_once('-').unwrap();
    calamine::Reader::worksheet_range(&mut book, &format!("Bao cao {month}-{year}"))
        .unwrap()
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[sqlx::test]
async fn a_year_earlier_period_before_the_records_begin_gives_no_change(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let id = app.hotel(&office).await["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    // Registered before any of it, so its rooms count every day.
    sqlx::query("UPDATE places SET created_at = '2025-01-01T00:00:00+07:00'")
        .execute(&app.pool)
        .await
        .unwrap();
    // The records begin on 21 March 2025, with one guest; March 2026 has one
    // too. Set against the eleven days of March 2025 on record, "0.0 %"
    // would say nothing changed.
    for (name, arrived, departed) in [
        (
            "A",
            "2026-03-05T14:00:00+07:00",
            "2026-03-06T11:00:00+07:00",
        ),
        (
            "B",
            "2026-03-06T14:00:00+07:00",
            "2026-03-07T11:00:00+07:00",
        ),
    ] {
        let body = json!({"guests": [guest(name, "VNM")], "arrived_at": arrived,
                          "departed_at": departed, "purpose": "tourism"});
        let (status, answer) = app
            .post_json(&format!("/api/v1/places/{id}/stays"), Some(&staff), &body)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {answer}");
    }
    // One of them a year back, as the records of a city's first weeks
    // would be.
    move_back(&app.pool, "2026-03-06", 350).await;

    let rows = report_rows(&app, &office, "2026-03").await;
    let arrivals = rows
        .iter()
        .find(|r| r[0].starts_with("Lượt khách lưu trú"))
        .unwrap();
    // March 2026: 1; year to date 1, against 1 a year earlier: no change given.
    assert_eq!(arrivals[2], "1", "{rows:?}");
    assert_eq!(arrivals[6], "1", "{rows:?}");
    assert_eq!((arrivals[3].as_str(), arrivals[5].as_str()), ("–", "–"));
    // Nor an occupancy of a year to date the records hold eleven days of.
    let rooms = rows
        .iter()
        .find(|r| r[0].starts_with("Công suất buồng"))
        .unwrap();
    assert_eq!(rooms[6], "–", "{rows:?}");
    let note = rows
        .iter()
        .map(|r| r[0].as_str())
        .find(|c| c.starts_with("Số liệu được ghi nhận từ ngày 21/03/2025"));
    assert!(note.is_some(), "{rows:?}");

    // The printed report says it too, under the table.
    let text = report_pdf_text(&app, &office, "2026-03").await;
    assert!(
        text.contains("Số liệu được ghi nhận từ ngày 21/03/2025")
            && text.contains("records begin on 21/03/2025"),
        "{text}"
    );

    // So do the comparison and the office page: March 2026 against March
    // 2025, of which the records hold only the last eleven days.
    let (status, c) = app
        .get_json(
            "/api/v1/stats/compare?from=2026-03-01&to=2026-03-31",
            Some(&office),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(
        (&c["current"]["arrivals"], &c["last_year"]["arrivals"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(c["change_vs_last_year"]["arrivals"], Value::Null, "{c}");
    assert_eq!(c["records_since"], "2025-03-21");
    let page = app
        .get_text("/office?from=2026-03-01&to=2026-03-31", &office)
        .await;
    assert!(
        page.contains(
            "<p class=\"hint\" id=\"records-since\">Số liệu được ghi nhận từ ngày 21/03/2025"
        ),
        "{page}"
    );
    // From April 2025 on, the year-earlier period is on record in full.
    let page = app
        .get_text("/office?from=2026-04-01&to=2026-04-30", &office)
        .await;
    assert!(!page.contains("records-since"), "{page}");

    // A month whose year-earlier month is on record (April 2025) has no
    // word on it; the year to date, from January 2025, still has.
    let rows = report_rows(&app, &office, "2026-04").await;
    let note = rows
        .iter()
        .map(|r| r[0].as_str())
        .find(|c| c.starts_with("Số liệu được ghi nhận từ"));
    assert!(
        note.is_some_and(
            |n| n.contains("so cùng kỳ (lũy kế)") && n.contains("the year to date has no change")
        ),
        "{note:?}"
    );
    let text = report_pdf_text(&app, &office, "2026-04").await;
    assert!(text.contains("so cùng kỳ (lũy kế)"), "{text}");

    // Once the records begin before January 2025, the report of March 2026
    // compares both periods in full, with no word on it.
    move_back(&app.pool, "2025-03-21", 100).await;
    let rows = report_rows(&app, &office, "2026-03").await;
    assert!(
        !rows
            .iter()
            .any(|r| r[0].starts_with("Số liệu được ghi nhận từ")),
        "{rows:?}"
    );
}

#[sqlx::test]
async fn capacity_counts_from_the_day_a_place_was_registered(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await; // 10 beds
    let id = place["id"].as_i64().unwrap();
    sqlx::query("UPDATE places SET created_at = '2026-03-11T09:00:00+07:00'")
        .execute(&app.pool)
        .await
        .unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    // Carried over from the paper register: arrived before the place was registered.
    let body = json!({"guests": [guest("P", "VNM")], "arrived_at": "2026-03-09T14:00:00+07:00",
                      "departed_at": "2026-03-12T10:00:00+07:00", "purpose": "tourism"});
    let (status, _) = app
        .post_json(&format!("/api/v1/places/{id}/stays"), Some(&staff), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, s) = app
        .get_json(
            "/api/v1/stats/summary?from=2026-03-10&to=2026-03-12",
            Some(&office),
        )
        .await;
    assert_eq!(s["guest_nights"], 2, "the 10th and 11th are guest-nights");
    // Capacity from the 11th only: 10 beds × 2 days; the night of the 11th is inside.
    assert_eq!(s["bed_occupancy_rate"], 5.0);
    let (_, before) = app
        .get_json(
            "/api/v1/stats/summary?from=2026-03-01&to=2026-03-10",
            Some(&office),
        )
        .await;
    assert_eq!(
        before["bed_occupancy_rate"],
        Value::Null,
        "no capacity before registration"
    );
}

#[sqlx::test]
async fn occupancy_is_null_without_known_capacity(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    app.create_place(
        &office,
        json!({"kind": "accommodation", "name": "Nhà nghỉ Mới", "address": "Ấp 1, Long Sơn", "ward": "Long Sơn"}),
    )
    .await;
    let (_, s) = app
        .get_json(
            "/api/v1/stats/summary?from=2026-03-10&to=2026-03-12",
            Some(&office),
        )
        .await;
    assert_eq!(s["bed_occupancy_rate"], Value::Null);
    assert_eq!(s["average_length_of_stay"], Value::Null);
    assert_eq!(s["arrivals"], 0);
}

#[sqlx::test]
async fn the_office_sees_quiet_establishments_and_late_notifications(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let busy = app.hotel(&office).await;
    let quiet = app
        .create_place(
            &office,
            json!({"kind": "accommodation", "name": "Nhà nghỉ Im Lặng", "address": "5 Trần Phú", "ward": "Vũng Tàu", "accommodation_type": "guesthouse"}),
        )
        .await;
    // Both registered a month ago; only one has guests.
    sqlx::query("UPDATE places SET created_at = now() - interval '30 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, _) = app
        .post_json(
            "/api/v1/checkins",
            None,
            &json!({"code": busy["code"], "guests": [guest("H", "KOR")],
                    "expected_departure": (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(1)).format("%Y-%m-%d").to_string(),
                    "purpose": "tourism", "consent": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Its deadline has passed with nothing sent.
    sqlx::query("UPDATE guests SET notify_deadline = now() - interval '1 hour'")
        .execute(&app.pool)
        .await
        .unwrap();

    let (status, c) = app
        .get_json("/api/v1/stats/compliance?days=7", Some(&office))
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let quiet_ids: Vec<i64> = c["quiet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["place_id"].as_i64().unwrap())
        .collect();
    assert_eq!(quiet_ids, [quiet["id"].as_i64().unwrap()]);
    assert!(c["quiet"][0]["last_arrival"].is_null());
    assert_eq!(c["notifications"][0]["place_id"], busy["id"]);
    assert_eq!(c["notifications"][0]["overdue"], 1);
    assert_eq!(c["notifications"][0]["sent_late"], 0);
    let text = c.to_string();
    assert!(
        !text.contains("P1234567") && !text.contains("\"H\""),
        "counts only"
    );

    let (status, _) = app
        .get_json("/api/v1/stats/compliance?days=0", Some(&office))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let staff = app
        .sign_in_as(Role::Staff, &[busy["id"].as_i64().unwrap()])
        .await;
    let (status, _) = app.get_json("/api/v1/stats/compliance", Some(&staff)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let page = app.get_text("/office", &office).await;
    assert!(page
        .split("id=\"compliance\"")
        .nth(1)
        .unwrap()
        .contains("Nhà nghỉ Im Lặng"));
}

/// On every line of the PDF's page, words are a space apart at least (the
/// report's headings once touched their neighbours).
fn words_apart(file: &std::path::Path) {
    let boxes = std::process::Command::new("pdftotext")
        .arg("-bbox")
        .arg(file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let boxes = String::from_utf8_lossy(&boxes.stdout);
    let attr = |word: &str, name: &str| -> f64 {
        let after = word.split(&format!("{name}=\"")).nth(1).unwrap();
        after.split('"').next().unwrap().parse().unwrap()
    };
    let mut lines: std::collections::BTreeMap<i64, Vec<(f64, f64, String)>> = Default::default();
    for word in boxes.split("<word ").skip(1) {
        let text = word.split('>').nth(1).unwrap().split('<').next().unwrap();
        lines
            .entry((attr(word, "yMin") * 10.0).round() as i64)
            .or_default()
            .push((attr(word, "xMin"), attr(word, "xMax"), text.to_owned()));
    }
    assert!(lines.len() > 10, "{boxes}");
    for words in lines.values_mut() {
        words.sort_by(|a, b| a.0.total_cmp(&b.0));
        for pair in words.windows(2) {
            assert!(
                pair[1].0 - pair[0].1 >= 1.5,
                "{} and {} touch in the PDF",
                pair[0].2,
                pair[1].2
            );
        }
    }
}
