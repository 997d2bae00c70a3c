//! Printable posters: rendered to an image as a printer would (pdftoppm),
//! the code still decodes to the check-in URL, and the text carries the
//! place's name with its diacritics and "scan to check in" in five languages.

mod common;

use std::process::Command;

use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("luutru-{}-{name}", uuid::Uuid::new_v4().simple()))
}

/// Rasterise the PDF's first page and read its QR code with ZBar.
fn decode_pdf(pdf: &[u8]) -> String {
    let file = tmp("poster.pdf");
    std::fs::write(&file, pdf).unwrap();
    let prefix = tmp("page");
    let status = Command::new("pdftoppm")
        .args(["-r", "100", "-png", "-singlefile"])
        .arg(&file)
        .arg(&prefix)
        .status()
        .expect("pdftoppm is installed (poppler-utils)");
    assert!(status.success());
    let png = prefix.with_extension("png");
    let out = Command::new("zbarimg")
        .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(&png)
        .output()
        .expect("zbarimg is installed (zbar-tools)");
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(&png);
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

fn pdf_text(pdf: &[u8]) -> String {
    let file = tmp("poster.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[sqlx::test]
async fn posters_decode_after_printing_and_name_the_place(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    for name in ["Khách sạn Hoàng Hôn Đồi Dương", "서울 게스트하우스"] {
        let place = app
            .create_place(
                &office,
                json!({"kind": "accommodation", "name": name, "address": "2 Hạ Long", "ward": "Tam Thắng", "accommodation_type": "homestay"}),
            )
            .await;
        let id = place["id"].as_i64().unwrap();
        let expected = luutru::places::repo::qr_payload(&app.base, place["code"].as_str().unwrap());
        for paper in ["a4", "a6"] {
            let response = app
                .client
                .get(app.url(&format!("/api/v1/places/{id}/poster.pdf?paper={paper}")))
                .bearer_auth(&office)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{paper}");
            assert_eq!(response.headers()["content-type"], "application/pdf");
            // Saved under the place's own name, not one every poster shares.
            let disposition = response.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .to_owned();
            let stem = if name.starts_with("Khách") {
                "-khach-san-hoang-hon-doi-duong"
            } else {
                "-poster"
            };
            assert_eq!(
                disposition,
                format!("inline; filename=\"{id:05}{stem}-{paper}.pdf\"")
            );
            let pdf = response.bytes().await.unwrap();
            assert_eq!(decode_pdf(&pdf), expected, "{name} on {paper}");
            let text = pdf_text(&pdf);
            let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(flat.contains(name), "{name} in {flat}");
            for line in [
                "Quét mã để khai báo lưu trú",
                "Scan to check in",
                "스캔하여 체크인하세요",
                "扫码登记入住",
            ] {
                assert!(flat.contains(line), "{line} in {flat}");
            }
            assert!(
                flat.contains(place["checkin_url"].as_str().unwrap()),
                "the typed fallback"
            );
        }
    }
    // A tourist site's poster asks a party to count itself in, not to
    // declare a stay.
    let site = app
        .create_place(
            &office,
            json!({"kind": "attraction", "name": "Tượng Chúa Kitô Vua", "ward": "Tam Thắng"}),
        )
        .await;
    let response = app
        .get_response(
            &format!("/api/v1/places/{}/poster.pdf", site["id"]),
            &office,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pdf = response.bytes().await.unwrap();
    let flat: String = pdf_text(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for line in [
        "Quét mã để ghi nhận lượt tham quan",
        "Scan to count your visit",
    ] {
        assert!(flat.contains(line), "{line} in {flat}");
    }
    for line in ["khai báo lưu trú", "Scan to check in"] {
        assert!(!flat.contains(line), "{line} in {flat}");
    }

    let (status, _) = app
        .get_json("/api/v1/places/1/poster.pdf?paper=letter", Some(&office))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

fn pages(pdf: &[u8]) -> usize {
    let file = tmp("batch.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdfinfo")
        .arg(&file)
        .output()
        .expect("pdfinfo (poppler-utils)");
    let _ = std::fs::remove_file(&file);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

#[sqlx::test]
async fn a_ward_prints_as_one_pdf_or_a_zip_from_the_office_and_the_command_line(
    pool: sqlx::PgPool,
) {
    let app = common::spawn(pool.clone()).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    for (name, ward) in [
        ("Nhà nghỉ Một", "Tam Thắng"),
        ("Nhà nghỉ Hai", "Phường 9"),
        ("Nhà nghỉ Ba", "Long Sơn"),
    ] {
        app.create_place(
            &office,
            json!({"kind": "accommodation", "name": name, "address": "3 Hạ Long", "ward": ward}),
        )
        .await;
    }
    let response = app
        .client
        .get(app.url("/api/v1/posters.pdf?ward=Tam%20Th%E1%BA%AFng&paper=a6"))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let pdf = response.bytes().await.unwrap();
    assert_eq!(
        pages(&pdf),
        2,
        "the two places of Tam Thắng (one registered under a former ward name)"
    );
    let text = pdf_text(&pdf);
    assert!(
        text.contains("Nhà nghỉ Một")
            && text.contains("Nhà nghỉ Hai")
            && !text.contains("Nhà nghỉ Ba")
    );
    let whole = app
        .client
        .get(app.url("/api/v1/posters.pdf"))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(pages(&whole.bytes().await.unwrap()), 3);
    // Or one PDF per place, in a ZIP named by place: each opens and scans.
    let response = app
        .client
        .get(app.url("/api/v1/posters.zip?paper=a6"))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names.iter().any(|n| n.ends_with("-nha-nghi-mot.pdf")),
        "{names:?}"
    );
    for name in &names {
        let mut pdf = Vec::new();
        std::io::Read::read_to_end(&mut archive.by_name(name).unwrap(), &mut pdf).unwrap();
        assert_eq!(pages(&pdf), 1, "{name}");
        assert!(decode_pdf(&pdf).contains("/C/"), "{name} scans");
    }
    let (status, _) = app
        .get_json("/api/v1/posters.pdf?ward=Atlantis", Some(&office))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let staff = app.sign_in_as(Role::Inspector, &[]).await;
    let (status, _) = app.get_json("/api/v1/posters.pdf", Some(&staff)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A ward with nothing to print, asked for from the office's page: the
    // reason on a page in the reader's language, not the API's JSON; and a
    // report of a month still to come, the same.
    for (path, said) in [
        (
            "/api/v1/posters.pdf?ward=Ph%C6%B0%E1%BB%9Bc%20Th%E1%BA%AFng",
            "Chưa có cơ sở nào ở đây có mã để in.",
        ),
        (
            "/api/v1/stats/monthly.pdf?month=2999-01",
            "Tháng này chưa bắt đầu.",
        ),
    ] {
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(&office)
            .header("sec-fetch-dest", "document")
            .header("accept-language", "vi")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}"
        );
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = response.text().await.unwrap();
        assert!(page.contains(said), "{page}");
        let (status, body) = app.get_json(path, Some(&office)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }

    // The same from the command line.
    let base = std::env::var("DATABASE_URL").unwrap();
    let db = pool.connect_options().get_database().unwrap().to_owned();
    let url = format!("{}/{db}", base.rsplit_once('/').unwrap().0);
    let out = tmp("city.pdf");
    let run = Command::new(env!("CARGO_BIN_EXE_luutru"))
        .args(["posters", "--ward", "Long Sơn", "--paper", "a4", "--out"])
        .arg(&out)
        .env("DATABASE_URL", url)
        .env("REDIS_URL", common::redis_url())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let pdf = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    assert_eq!(pages(&pdf), 1);
    assert!(pdf_text(&pdf).contains("Nhà nghỉ Ba"));
}
