//! The police notification: the deadline board, the day's declaration as
//! XLSX (read back with a real spreadsheet reader) and CSV in the columns of
//! the layout, a batch marked as sent, and a layout an office changes.

mod common;

use calamine::{Reader, Xlsx};
use common::{korean_guest, spawn, vietnamese_guest};
use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

fn in_days(days: i64) -> String {
    (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

fn sheet(book: &mut Xlsx<std::io::Cursor<Vec<u8>>>, name: &str) -> Vec<Vec<String>> {
    book.worksheet_range(name)
        .unwrap()
        .rows()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[sqlx::test]
async fn the_days_declaration_splits_vietnamese_and_foreign_guests_and_is_marked_sent(
    pool: sqlx::PgPool,
) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let (status, _) = app
        .post_json(
            "/api/v1/checkins",
            None,
            &json!({"code": place["code"], "guests": [vietnamese_guest(), korean_guest()],
                    "expected_departure": in_days(2), "purpose": "tourism", "consent": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // The board lists both, due.
    let page = app.get_text(&format!("/hotel?place={id}"), &staff).await;
    let board = page.split("id=\"police\"").nth(1).unwrap();
    assert!(board.contains("Nguyễn Văn An") && board.contains("KIM MINJUN"));
    // Two due and none overdue: no red badge counting nobody.
    let board = board.split("</section>").next().unwrap();
    assert!(board.contains("class=\"badge due\">"), "{board}");
    assert!(!board.contains("class=\"badge overdue\">"), "{board}");
    // The place's own month, for its people: two arrivals so far.
    let figures = page.split("id=\"figures\"").nth(1).unwrap();
    let arrivals_row = figures.split("</tr>").nth(1).unwrap();
    assert!(arrivals_row.contains("<td>2</td>"), "{arrivals_row}");

    // The workbook: one sheet each, the layout's headings, every number in full.
    let response = app
        .get_response(&format!("/api/v1/places/{id}/police.xlsx"), &staff)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // The file the desk downloads is numbered, to be marked sent as it was.
    let batch: i64 = response.headers()["x-police-batch"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["Khach Viet Nam", "Khach nuoc ngoai"]);
    let vietnamese = sheet(&mut book, "Khach Viet Nam");
    assert_eq!(vietnamese.len(), 2, "{vietnamese:?}");
    assert_eq!(vietnamese[0][1], "Họ và tên");
    let row = &vietnamese[1];
    assert_eq!(row[0], "1");
    assert_eq!(row[1], "Nguyễn Văn An");
    assert_eq!(row[2], "15/08/1990");
    assert_eq!(row[3], "Nam");
    assert!(row.contains(&"077090001234".to_owned()), "{row:?}");
    assert!(row.contains(&"12 Thùy Vân, Phường 2".to_owned()), "{row:?}");
    assert!(row.contains(&"Du lịch".to_owned()), "{row:?}");
    let foreign = sheet(&mut book, "Khach nuoc ngoai");
    assert_eq!(foreign.len(), 2, "{foreign:?}");
    assert_eq!(foreign[1][1], "KIM MINJUN");
    assert!(foreign[1].contains(&"KOR".to_owned()));
    assert!(foreign[1].contains(&"M12345678".to_owned()));
    assert!(
        foreign[1].contains(&"01/01/2031".to_owned()),
        "passport expiry"
    );

    // The same as CSV, one sheet at a time, with a BOM for Excel.
    let csv = app
        .get_text(
            &format!("/api/v1/places/{id}/police.csv?sheet=foreign"),
            &staff,
        )
        .await;
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains("KIM MINJUN") && !csv.contains("Nguyễn Văn An"));

    // Exports are audited; the office sees no personal data.
    let exports: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'police.export'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(exports, 2);
    let (status, _) = app
        .get_json(&format!("/api/v1/places/{id}/police.csv"), Some(&office))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A guest who arrives after the download is not in that file.
    let (status, _) = app
        .post_json(
            "/api/v1/checkins",
            None,
            &json!({"code": place["code"], "guests": [{"full_name": "Lê Văn Muộn", "date_of_birth": "1991-01-01", "sex": "M",
                    "nationality": "VNM", "document_type": "cccd", "document_number": "077091000999"}],
                    "expected_departure": in_days(1), "purpose": "tourism", "consent": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Both files downloaded are offered to be marked sent.
    let page = app.get_text(&format!("/hotel?place={id}"), &staff).await;
    let board = page.split("id=\"police\"").nth(1).unwrap();
    let board = board.split("</section>").next().unwrap();
    assert_eq!(board.matches("class=\"row batch\"").count(), 2, "{board}");

    // Sent: the file's two guests are recorded with the portal's reference.
    let (status, _) = app
        .post_json(
            &format!("/api/v1/places/{id}/police/sent"),
            Some(&staff),
            &json!({"batch": batch, "reference": ""}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reference is needed"
    );
    let (status, body) = app
        .post_json(
            &format!("/api/v1/places/{id}/police/sent"),
            Some(&staff),
            &json!({"batch": batch, "reference": "VNEID-2026-000123"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["marked"], 2);
    let (status, refusal) = app
        .post_json(
            &format!("/api/v1/places/{id}/police/sent"),
            Some(&staff),
            &json!({"batch": batch, "reference": "VNEID-2026-000124"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "a file is sent once");
    assert_eq!(refusal["code"], "already_sent", "{refusal}");
    assert!(refusal["message"]
        .as_str()
        .unwrap()
        .contains("VNEID-2026-000123"));
    let refs: Vec<Option<String>> =
        sqlx::query_scalar("SELECT notification_ref FROM guests ORDER BY arrived_at, position")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        refs,
        vec![
            Some("VNEID-2026-000123".to_owned()),
            Some("VNEID-2026-000123".to_owned()),
            None
        ],
        "the guest who came after the download is still to declare"
    );
    let (_, register) = app
        .get_json(&format!("/api/v1/places/{id}/stays"), Some(&staff))
        .await;
    assert_eq!(
        register[1]["guests"][0]["notification_status"],
        "sent_on_time"
    );
    let page = app
        .get_text(&format!("/hotel?place={id}&lang=en"), &staff)
        .await;
    let board = page.split("id=\"police\"").nth(1).unwrap();
    // The month's figures follow the later arrival, not a stale copy.
    let figures = page.split("id=\"figures\"").nth(1).unwrap();
    assert!(
        figures
            .split("</tr>")
            .nth(1)
            .unwrap()
            .contains("<td>3</td>"),
        "{figures}"
    );
    let board = board.split("</section>").next().unwrap();
    assert!(!board.contains("KIM MINJUN") && board.contains("Lê Văn Muộn"));
    // The CSV of the foreign guest, declared with the workbook, is no longer
    // offered: nobody in it is left to declare.
    assert!(!board.contains("class=\"row batch\""), "{board}");
    // Only what is not yet sent, on request: nothing now.
    let csv = app
        .get_text(
            &format!("/api/v1/places/{id}/police.csv?sheet=foreign&unsent=true"),
            &staff,
        )
        .await;
    assert_eq!(csv.lines().count(), 1, "headings only: {csv}");

    // The register itself as a workbook, for a range of days.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let response = app
        .get_response(
            &format!(
                "/api/v1/places/{id}/stays.xlsx?status=all&from={today}&to={}",
                in_days(1)
            ),
            &staff,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let rows = sheet(&mut book, "So luu tru");
    assert_eq!(rows.len(), 4, "headings and three guests: {rows:?}");
    assert_eq!(rows[0][6], "full_name");
    assert!(rows
        .iter()
        .any(|r| r[6] == "KIM MINJUN" && r[11] == "M12345678"));
    let response = app
        .get_response(
            &format!(
                "/api/v1/places/{id}/stays.xlsx?status=all&to={}",
                in_days(-1)
            ),
            &staff,
        )
        .await;
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        sheet(&mut book, "So luu tru").len(),
        1,
        "nobody had arrived by yesterday"
    );
}

#[test]
fn an_office_changes_the_columns_without_a_release() {
    use luutru::register::police::Layout;
    let dir = std::env::temp_dir().join(format!("luutru-layout-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("columns.csv");
    std::fs::write(
        &path,
        "sheet,heading,field\nvietnamese,Tên khách,full_name\nvietnamese,Số giấy tờ,document_number\nforeign,Name,full_name\n",
    )
    .unwrap();
    let layout = Layout::load(Some(&path)).unwrap();
    assert_eq!(layout.vietnamese.len(), 2);
    assert_eq!(layout.vietnamese[1].heading, "Số giấy tờ");
    std::fs::write(
        &path,
        "sheet,heading,field\nvietnamese,Tên,ful_name\nforeign,Name,full_name\n",
    )
    .unwrap();
    let error = Layout::load(Some(&path)).unwrap_err().to_string();
    assert!(
        error.contains("line 2") && error.contains("ful_name"),
        "{error}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(Layout::load(None).is_ok(), "the bundled layout loads");
}

#[sqlx::test]
async fn both_sheets_read_alike_and_a_child_names_the_adult_she_travels_with(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let child = |name: &str, nationality: &str| {
        json!({"full_name": name, "date_of_birth": "2018-05-05", "sex": "F",
               "nationality": nationality, "with_guest": 0})
    };
    for (adult, child) in [
        (korean_guest(), child("KIM JIWOO", "KOR")),
        (vietnamese_guest(), child("Nguyễn Thị Bé", "VNM")),
    ] {
        let (status, body) = app
            .post_json(
                "/api/v1/checkins",
                None,
                &json!({"code": place["code"], "guests": [adult, child],
                        "expected_departure": in_days(2), "purpose": "tourism", "consent": true}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let bytes = app
        .get_response(&format!("/api/v1/places/{id}/police.xlsx"), &staff)
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    for (name, adult, child) in [
        ("Khach nuoc ngoai", "KIM MINJUN", "KIM JIWOO"),
        ("Khach Viet Nam", "Nguyễn Văn An", "Nguyễn Thị Bé"),
    ] {
        let rows = sheet(&mut book, name);
        assert_eq!(rows.len(), 3, "{rows:?}");
        let column = |heading: &str| {
            rows[0]
                .iter()
                .position(|h| h.starts_with(heading))
                .unwrap_or_else(|| panic!("no column {heading} in {:?}", rows[0]))
        };
        let (sex, with) = (column("Giới tính"), column("Đi cùng"));
        let purpose = if name == "Khach Viet Nam" {
            column("Lý do")
        } else {
            column("Mục đích")
        };
        assert_eq!((rows[1][1].as_str(), rows[2][1].as_str()), (adult, child));
        // In Vietnamese on both sheets, with the English after it on the
        // foreign guests' sheet.
        let (male, female, tourism) = if name == "Khach Viet Nam" {
            ("Nam", "Nữ", "Du lịch")
        } else {
            ("Nam (M)", "Nữ (F)", "Du lịch (Tourism)")
        };
        assert_eq!(rows[1][sex], male, "{name}");
        assert_eq!(rows[2][sex], female, "{name}");
        assert_eq!(rows[2][purpose], tourism, "{name}");
        assert_eq!(rows[1][with], "", "{name}: an adult travels with no one");
        assert_eq!(rows[2][with], adult, "{name}: the child's adult");
    }
}
