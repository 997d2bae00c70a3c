//! A place's people: the office appoints a manager, the manager adds staff,
//! resets a password and removes someone; each is signed out at once, one
//! person works at two places, and the manager reads who did what.

mod common;

use common::spawn;
use luutru::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn login(app: &common::TestApp, email: &str, password: &str) -> Option<String> {
    let (status, body) = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await;
    (status == StatusCode::OK).then(|| body["token"].as_str().unwrap().to_owned())
}

async fn me(app: &common::TestApp, token: &str) -> (StatusCode, Value) {
    app.get_json("/api/v1/auth/me", Some(token)).await
}

#[sqlx::test]
async fn a_manager_runs_their_staff_and_every_change_takes_effect_at_once(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let hotel = app.hotel(&office).await;
    let id = hotel["id"].as_i64().unwrap();
    let people = format!("/api/v1/places/{id}/people");

    // The office appoints the manager: its page offers that role first.
    let page = app.get_text(&format!("/hotel/{id}/team"), &office).await;
    assert!(
        page.contains("<option value=\"manager\" selected>"),
        "a place with no manager: {page}"
    );
    // It leads back to the office's page, not to a register it may not read.
    assert!(page.contains("<a href=\"/office\">") && !page.contains("href=\"/hotel?place="));
    let (status, manager) = app
        .post_json(
            &people,
            Some(&office),
            &json!({"email": "quanly@khachsan.vn", "role": "manager", "password": "mat-khau-quan-ly"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{manager}");
    let boss = login(&app, "quanly@khachsan.vn", "mat-khau-quan-ly")
        .await
        .unwrap();

    // The manager adds staff, but appoints no manager; staff add nobody.
    let (status, staff) = app
        .post_json(
            &people,
            Some(&boss),
            &json!({"email": "letan@khachsan.vn", "role": "staff", "password": "mat-khau-le-tan"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{staff}");
    let staff_id = staff["user_id"].as_i64().unwrap();
    let (status, _) = app
        .post_json(
            &people,
            Some(&boss),
            &json!({"email": "pho@khachsan.vn", "role": "manager", "password": "mat-khau-pho-qly"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let desk = login(&app, "letan@khachsan.vn", "mat-khau-le-tan")
        .await
        .unwrap();
    let (status, _) = app
        .post_json(
            &people,
            Some(&desk),
            &json!({"email": "ban@khachsan.vn", "role": "staff", "password": "mat-khau-cua-ban"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post_json(
            &people,
            Some(&boss),
            &json!({"email": "ngan@khachsan.vn", "role": "staff", "password": "ngan"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a short password");
    assert_eq!(me(&app, &desk).await.0, StatusCode::OK);

    // A new password: the old session ends now, not when a cache expires.
    let response = app
        .client
        .post(app.url(&format!("{people}/{staff_id}/password")))
        .bearer_auth(&boss)
        .json(&json!({"password": "mat-khau-moi-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &desk).await.0, StatusCode::UNAUTHORIZED);
    assert!(login(&app, "letan@khachsan.vn", "mat-khau-le-tan")
        .await
        .is_none());
    let desk = login(&app, "letan@khachsan.vn", "mat-khau-moi-2026")
        .await
        .unwrap();

    // One person, two places: the office adds the same manager to a second hotel,
    // and the manager's live session sees both at once.
    let second = app
        .create_place(
            &office,
            json!({"kind": "accommodation", "name": "Nhà nghỉ Thứ Hai", "address": "6 Trần Phú", "ward": "Vũng Tàu", "accommodation_type": "guesthouse"}),
        )
        .await;
    let second_id = second["id"].as_i64().unwrap();
    let (status, _) = app
        .post_json(
            &format!("/api/v1/places/{second_id}/people"),
            Some(&office),
            &json!({"email": "QuanLy@khachsan.vn", "role": "manager"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, who) = me(&app, &boss).await;
    assert_eq!(who["place_ids"], json!([id, second_id]));

    // Someone the office placed at another hotel is out of this manager's reach:
    // not added, not given a password, not removed.
    let third = app
        .create_place(
            &office,
            json!({"kind": "accommodation", "name": "Khách sạn Khác", "address": "7 Trần Phú", "ward": "Vũng Tàu", "accommodation_type": "hotel"}),
        )
        .await;
    let third_id = third["id"].as_i64().unwrap();
    let (status, other) = app
        .post_json(
            &format!("/api/v1/places/{third_id}/people"),
            Some(&office),
            &json!({"email": "khac@khachsan.vn", "role": "staff", "password": "mat-khau-nguoi-khac"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .post_json(
            &people,
            Some(&boss),
            &json!({"email": "khac@khachsan.vn", "role": "staff"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "no taking over another hotel's staff"
    );
    // Even once the office has put them here too.
    let (status, _) = app
        .post_json(
            &people,
            Some(&office),
            &json!({"email": "khac@khachsan.vn", "role": "staff"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let other_id = other["user_id"].as_i64().unwrap();
    let response = app
        .client
        .post(app.url(&format!("{people}/{other_id}/password")))
        .bearer_auth(&boss)
        .json(&json!({"password": "chiem-quyen-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .client
        .delete(app.url(&format!("{people}/{other_id}")))
        .bearer_auth(&boss)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .client
        .delete(app.url(&format!("{people}/{other_id}")))
        .bearer_auth(&office)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "the office may");

    // Removed: signed out, and with no place left, no way back in.
    let response = app
        .client
        .delete(app.url(&format!("{people}/{staff_id}")))
        .bearer_auth(&boss)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &desk).await.0, StatusCode::UNAUTHORIZED);
    assert!(login(&app, "letan@khachsan.vn", "mat-khau-moi-2026")
        .await
        .is_none());
    let (_, list) = app.get_json(&people, Some(&boss)).await;
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["quanly@khachsan.vn"]);

    // Who did what: for the manager, not for the office.
    let (status, activity) = app
        .get_json(&format!("/api/v1/places/{id}/activity"), Some(&boss))
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = activity
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "team.remove",
            "team.remove",
            "team.add",
            "team.reset_password",
            "team.add",
            "team.add",
            "place.create"
        ],
        "{activity}"
    );
    assert_eq!(activity[0]["actor"], "quanly@khachsan.vn");
    assert_eq!(activity[0]["target"], "letan@khachsan.vn");
    let (status, _) = app
        .get_json(&format!("/api/v1/places/{id}/activity"), Some(&office))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The same on the page.
    let page = app.get_response(&format!("/hotel/{id}/team"), &boss).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("quanly@khachsan.vn"));
    let page = app.get_text(&format!("/hotel/{id}/team"), &office).await;
    assert!(
        page.contains("<option value=\"manager\">"),
        "once it has one, staff comes first"
    );
    // Each action in words, with whom it was on; no codes, no JSON.
    let activity = html.split("id=\"activity\"").nth(1).unwrap();
    assert!(
        activity.contains(">Xóa người · letan@khachsan.vn</td>"),
        "{activity}"
    );
    assert!(
        !activity.contains("team.remove") && !activity.contains('{'),
        "{activity}"
    );
    let listed = html
        .split("id=\"people\"")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    assert!(!listed.contains("letan@khachsan.vn"), "no longer listed");

    // A first password too short is refused on the page, in its words and
    // naming the field.
    let add = |password: &'static str| {
        app.client
            .post(app.url(&format!("/hotel/{id}/team")))
            .bearer_auth(&boss)
            .form(&[
                ("email", "moi@khachsan.vn"),
                ("role", "staff"),
                ("password", password),
            ])
            .send()
    };
    let response = add("ngan").await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Mật khẩu: cần ít nhất 10 ký tự."), "{html}");
    // The address typed is kept for the retry.
    assert!(html.contains(
        "name=\"email\" type=\"email\" required autocomplete=\"off\" value=\"moi@khachsan.vn\""
    ));

    // Added with a password long enough: the page says so.
    let response = add("mat-khau-du-dai").await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, format!("/hotel/{id}/team?done=added#done"));
    let html = app.get_text(back.trim_end_matches("#done"), &boss).await;
    assert!(html.contains("Đã thêm vào cơ sở này."), "{html}");
}

#[sqlx::test]
async fn the_activity_names_the_guest_and_the_room(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let id = app.hotel(&office).await["id"].as_i64().unwrap();
    let manager = app.sign_in_as(Role::Manager, &[id]).await;
    let tomorrow = common::local_day(1);
    let (status, stay) = app
        .post_json(
            &format!("/api/v1/places/{id}/stays"),
            Some(&manager),
            &json!({"guests": [common::vietnamese_guest()],
                    "expected_departure": tomorrow.to_string(), "purpose": "tourism"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stay}");
    let stay_id = stay["stay_id"].as_str().unwrap();
    // Entered without a room, the guest is given 204, moves to 305, then
    // leaves.
    for room in ["204", "305"] {
        let response = app
            .client
            .post(app.url(&format!("/hotel/{id}/stays/{stay_id}/room")))
            .bearer_auth(&manager)
            .form(&[("room", room), ("view", "in_house")])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection() || response.status().is_success());
    }
    let (status, _) = app
        .post_json(
            &format!("/api/v1/stays/{stay_id}/checkout"),
            Some(&manager),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // An inspector looks at the guest's full document number.
    let inspector = app.sign_in_as(Role::Inspector, &[]).await;
    let guest = stay["guests"][0]["id"].as_str().unwrap();
    let response = app
        .client
        .post(app.url(&format!("/hotel/{id}/guests/{guest}/reveal")))
        .bearer_auth(&inspector)
        .form(&[("view", "all")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let (status, activity) = app
        .get_json(&format!("/api/v1/places/{id}/activity"), Some(&manager))
        .await;
    assert_eq!(status, StatusCode::OK);
    let lines = activity.as_array().unwrap();
    // What an inspector looked at is not told to the place.
    let revealed = lines
        .iter()
        .find(|a| a["action"] == "guest.reveal")
        .unwrap();
    assert!(
        revealed["guest"].is_null() && revealed["room"].is_null(),
        "{revealed}"
    );
    // Nor are names read by an admin, who reads the register elsewhere
    // with a trace.
    let admin = app.sign_in_as(Role::Admin, &[]).await;
    let (status, read) = app
        .get_json(&format!("/api/v1/places/{id}/activity"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        read.as_array()
            .unwrap()
            .iter()
            .all(|a| a["guest"].is_null()),
        "{read}"
    );
    // Each line with the room the stay had then, newest first.
    let on_the_stay: Vec<(&str, &Value)> = lines
        .iter()
        .filter(|a| a["target"] == stay_id)
        .map(|a| (a["action"].as_str().unwrap(), &a["room"]))
        .collect();
    assert_eq!(
        on_the_stay,
        [
            ("stay.check_out", &json!("305")),
            ("stay.correct", &json!("305")),
            ("stay.correct", &json!("204")),
            ("stay.desk_entry", &Value::Null),
        ],
        "{activity}"
    );
    for action in ["stay.check_out", "stay.desk_entry"] {
        let line = lines.iter().find(|a| a["action"] == action).unwrap();
        assert_eq!(line["guest"], "Nguyễn Văn An", "{line}");
    }
    let created = lines
        .iter()
        .find(|a| a["action"] == "place.create")
        .unwrap();
    assert!(
        created["guest"].is_null() && created["room"].is_null(),
        "{created}"
    );

    // On the page, in the reader's words.
    let html = app.get_text(&format!("/hotel/{id}/team"), &manager).await;
    let activity = html.split("id=\"activity\"").nth(1).unwrap();
    assert!(
        activity.contains("Trả phòng · Nguyễn Văn An · Phòng 305"),
        "{activity}"
    );
}
