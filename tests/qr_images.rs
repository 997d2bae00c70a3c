//! QR images decode, with real decoders, to exactly the check-in URL at every
//! size a poster or screen uses, also after scaling down and blurring.
//!
//! Full-size images are read with rqrr; the halved and blurred copies with
//! zbarimg (ZBar), whose finder copes with 3 to 4 pixels a module as phone
//! cameras do, where rqrr's occasionally misses the grid.

mod common;

use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

/// Decode with ZBar's command-line reader (scripts/test.sh installs zbar-tools).
fn zbar(img: &image::GrayImage) -> Option<String> {
    let path =
        std::env::temp_dir().join(format!("luutru-qr-{}.png", uuid::Uuid::new_v4().simple()));
    img.save(&path).unwrap();
    let out = std::process::Command::new("zbarimg")
        .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(&path)
        .output()
        .expect("zbarimg is installed (zbar-tools)");
    let _ = std::fs::remove_file(&path);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}

/// Draw an SVG the way a browser does (headless Chromium), as greyscale.
fn render_svg(svg: &str) -> image::GrayImage {
    let dir = std::env::temp_dir().join(format!("luutru-svg-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("code.svg");
    std::fs::write(&file, svg).unwrap();
    let shot = dir.join("code.png");
    let status = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg("--window-size=500,500")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", file.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("chromium is installed (scripts/test.sh installs it)");
    assert!(status.success());
    let picture = image::open(&shot).unwrap().to_luma8();
    let _ = std::fs::remove_dir_all(&dir);
    picture
}

fn decode(img: image::GrayImage) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    grids.first()?.decode().ok().map(|(_, content)| content)
}

#[sqlx::test]
async fn codes_decode_at_every_size_and_after_scaling_and_blur(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let mut places = Vec::new();
    for name in ["Khách sạn Hoàng Hôn Đồi Dương", "서울 게스트하우스"] {
        places.push(
            app.create_place(
                &office,
                json!({"kind": "accommodation", "name": name, "address": "2 Hạ Long", "ward": "Tam Thắng", "accommodation_type": "homestay"}),
            )
            .await,
        );
    }
    let sizes: Vec<u32> = (0..24).map(|i| 100 + i * 1900 / 23).collect();
    assert_eq!((sizes[0], sizes[23]), (100, 2000));
    for place in &places {
        let id = place["id"].as_i64().unwrap();
        let expected = format!(
            "{}/C/{}",
            app.base.to_uppercase(),
            place["code"].as_str().unwrap()
        );
        let version = luutru::qr::render::version(&expected).unwrap();
        assert!(
            version <= 4,
            "a sparse code (version {version}) for {expected}"
        );
        for &size in &sizes {
            let response = app
                .get_response(&format!("/api/v1/places/{id}/qr.png?size={size}"), &office)
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            let png = response.bytes().await.unwrap();
            let img = image::load_from_memory(&png).unwrap().to_luma8();
            assert_eq!(img.dimensions(), (size, size), "exactly the size asked for");
            assert_eq!(
                decode(img.clone()).as_deref(),
                Some(expected.as_str()),
                "{size} px"
            );
            if size >= 300 {
                let half = image::imageops::resize(
                    &img,
                    size / 2,
                    size / 2,
                    image::imageops::FilterType::Triangle,
                );
                let blurred = image::imageops::blur(&half, 0.8);
                assert_eq!(
                    zbar(&blurred).as_deref(),
                    Some(expected.as_str()),
                    "{size} px halved and blurred"
                );
            }
        }
        let svg = app
            .get_response(&format!("/api/v1/places/{id}/qr.svg"), &office)
            .await;
        assert_eq!(svg.headers()["content-type"], "image/svg+xml");
        let picture = render_svg(&svg.text().await.unwrap());
        assert_eq!(
            zbar(&picture).as_deref(),
            Some(expected.as_str()),
            "the SVG, drawn by a browser"
        );
    }
}

#[sqlx::test]
async fn images_are_cached_revalidated_and_forgotten_on_rotation(pool: sqlx::PgPool) {
    let app = common::spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let url = app.url(&format!("/api/v1/places/{id}/qr.png?size=300"));
    let first = app
        .client
        .get(&url)
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    let etag = first.headers()["etag"].clone();
    assert!(first.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-cache"));
    let body = first.bytes().await.unwrap();

    let key = luutru::qr::routes::image_cache_key(&app.base, id);
    let cached = app.state.cache.get_field(&key, "300").await.unwrap();
    assert!(
        cached.ends_with(&body[..]),
        "the rendered bytes are kept in Redis"
    );
    // Served from there the second time, the same bytes and tag.
    let second = app
        .client
        .get(&url)
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(second.headers()["etag"], etag);
    assert_eq!(second.bytes().await.unwrap(), body);
    // People of another place may not read it, cached or not.
    let elsewhere = app
        .create_place(
            &office,
            json!({"kind": "accommodation", "name": "Nhà nghỉ Khác", "address": "4 Trần Phú", "ward": "Vũng Tàu"}),
        )
        .await;
    let other = app
        .sign_in_as(Role::Manager, &[elsewhere["id"].as_i64().unwrap()])
        .await;
    let refused = app
        .client
        .get(&url)
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let anonymous = app.client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let again = app
        .client
        .get(&url)
        .bearer_auth(&office)
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let (status, _) = app
        .post_json(
            &format!("/api/v1/places/{id}/qr/rotate"),
            Some(&office),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.state.cache.get_field(&key, "300").await,
        None,
        "the old code's image is gone"
    );
    let after = app
        .client
        .get(&url)
        .bearer_auth(&office)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::OK, "a new code is a new image");
}
