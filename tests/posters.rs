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
                json!({"kind": "accommodation", "name": name, "ward": "Tam Thắng", "accommodation_type": "homestay"}),
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
    let (status, _) = app
        .get_json("/api/v1/places/1/poster.pdf?paper=letter", Some(&office))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
