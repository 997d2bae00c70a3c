//! Corrections of a guest's declared details: checked by the same rules as a
//! check-in, applied to the encrypted record and its blind index, audited
//! field by field without ever writing a document number into the audit.

mod common;

use common::{korean_guest, spawn};
use luutru::auth::Role;
use luutru::stats::repo::{summary_from, Source};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn patch(app: &common::TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .patch(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[sqlx::test]
async fn a_misspelt_name_and_a_wrong_passport_digit_are_corrected_and_audited(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let manager = app.sign_in_as(Role::Manager, &[id]).await;
    let stay = app.check_in(&place, json!([korean_guest()]), 2).await;
    let guest_id = stay["guests"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/places/{id}/guests/{guest_id}");

    // The guest had been declared to the police under the old details.
    sqlx::query("UPDATE guests SET notified_at = now(), notification_ref = 'VNEID-1'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = patch(
        &app,
        &path,
        &manager,
        json!({"full_name": "KIM MIN-JUN", "document_number": "M99999999"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], json!(["full_name", "document_number"]));
    // The police hold the old details: the guest is to be declared again.
    let (notified, reference): (Option<chrono::DateTime<chrono::Utc>>, Option<String>) =
        sqlx::query_as("SELECT notified_at, notification_ref FROM guests")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(notified.is_none() && reference.is_none());

    // The register and the exact-number search follow the correction.
    let (_, found) = app
        .get_json(
            &format!("/api/v1/places/{id}/stays?q=M99999999"),
            Some(&manager),
        )
        .await;
    assert_eq!(found[0]["guests"][0]["full_name"], "KIM MIN-JUN");
    let (_, old) = app
        .get_json(
            &format!("/api/v1/places/{id}/stays?q=M12345678"),
            Some(&manager),
        )
        .await;
    assert_eq!(old.as_array().unwrap().len(), 0);

    // The audit names who, what and when; a document number only as "changed".
    let (actor, detail): (i64, Value) =
        sqlx::query_as("SELECT actor_id, detail FROM audit_log WHERE action = 'guest.correct'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(actor > 0);
    assert_eq!(
        detail["fields"]["full_name"],
        json!({"from": "KIM MINJUN", "to": "KIM MIN-JUN"})
    );
    assert_eq!(detail["fields"]["document_number"], "changed");
    assert_eq!(detail["fields"]["declare_again"], true);
    let leaks: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE detail::text LIKE '%M99999999%' OR detail::text LIKE '%M12345678%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(leaks, 0);

    // The same rules as at check-in; nothing is half-written.
    let (status, body) = patch(
        &app,
        &path,
        &manager,
        json!({"date_of_birth": "2090-01-01"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["errors"]["date_of_birth"].is_array(), "{body}");
    let (status, body) = patch(&app, &path, &manager, json!({"document_type": "cccd"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // A nationality corrected to Vietnamese moves the police deadline to 23:00.
    let before: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT notify_deadline FROM guests")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (status, body) = patch(&app, &path, &manager, json!({"nationality": "VNM"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT notify_deadline FROM guests")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_ne!(before, after);

    // Only the place's people correct; the form shows the current values.
    let (status, _) = patch(&app, &path, &office, json!({"full_name": "X"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let html = app
        .get_text(&format!("/hotel/{id}/guests/{guest_id}"), &manager)
        .await;
    assert!(html.contains("value=\"KIM MIN-JUN\"") && html.contains("value=\"M99999999\""));
}

#[sqlx::test]
async fn one_guest_leaves_before_the_room_and_the_last_one_closes_it(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let stay = app
        .check_in(
            &place,
            json!([common::vietnamese_guest(), korean_guest()]),
            2,
        )
        .await;
    let leave = |guest: &Value| {
        let url = app.url(&format!(
            "/hotel/{id}/guests/{}/checkout",
            guest["id"].as_str().unwrap()
        ));
        let request = app.client.post(url).bearer_auth(&staff);
        async move { request.send().await.unwrap().status() }
    };
    // The Korean guest leaves first: the room stays in house with one guest.
    assert_eq!(leave(&stay["guests"][1]).await, StatusCode::SEE_OTHER);
    let (_, in_house) = app
        .get_json(&format!("/api/v1/places/{id}/stays"), Some(&staff))
        .await;
    assert_eq!(in_house.as_array().unwrap().len(), 1);
    assert!(in_house[0]["departed_at"].is_null());
    assert!(!in_house[0]["guests"][1]["departed_at"].is_null());
    let (_, live) = app
        .get_json(&format!("/api/v1/stats/live?place_id={id}"), Some(&staff))
        .await;
    assert_eq!(live["guests_in_house"], 1, "{live}");
    // A mistake: the Korean guest is back; then leaves for real. The
    // register says so, and says that a second click changed nothing.
    let undo = || {
        let request = app
            .client
            .post(app.url(&format!(
                "/hotel/{id}/guests/{}/undo-checkout",
                stay["guests"][1]["id"].as_str().unwrap()
            )))
            .bearer_auth(&staff);
        async move { request.send().await.unwrap() }
    };
    let first = undo().await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let said =
        |response: &reqwest::Response| response.headers()["location"].to_str().unwrap().to_owned();
    assert!(said(&first).contains("done=guest_back"), "{}", said(&first));
    let again = undo().await;
    assert!(said(&again).contains("done=unchanged"), "{}", said(&again));
    let (_, live) = app
        .get_json(&format!("/api/v1/stats/live?place_id={id}"), Some(&staff))
        .await;
    assert_eq!(live["guests_in_house"], 2, "{live}");
    assert_eq!(leave(&stay["guests"][1]).await, StatusCode::SEE_OTHER);
    // The last one leaving closes the stay.
    assert_eq!(leave(&stay["guests"][0]).await, StatusCode::SEE_OTHER);
    let (_, in_house) = app
        .get_json(&format!("/api/v1/places/{id}/stays"), Some(&staff))
        .await;
    assert_eq!(in_house.as_array().unwrap().len(), 0);
    let by: String = sqlx::query_scalar("SELECT checkout_by FROM stays")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(by, "desk");
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'guest.check_out'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 3);

    // The check-out is offered to undo until the day after it, and only
    // then: a stay that left three days ago has no button for it.
    let undo_button = "class=\"small secondary undo\"";
    let register = app
        .get_text(&format!("/hotel?place={id}&status=all"), &staff)
        .await;
    assert!(register.contains(undo_button), "{register}");
    for table in ["stays", "guests"] {
        sqlx::query(&format!(
            "UPDATE {table} SET arrived_at = arrived_at - interval '5 days',
                                arrival_date = arrival_date - 5,
                                departed_at = departed_at - interval '3 days',
                                departure_date = departure_date - 3"
        ))
        .execute(&app.pool)
        .await
        .unwrap();
    }
    let register = app
        .get_text(&format!("/hotel?place={id}&status=all"), &staff)
        .await;
    assert!(register.contains("KIM MINJUN"), "{register}");
    assert!(!register.contains(undo_button), "{register}");
    assert!(!register.contains("guest-undo"), "{register}");
    // Asked all the same, it is refused, and the register says why.
    let late = app
        .client
        .post(app.url(&format!(
            "/hotel/{id}/stays/{}/undo-checkout",
            stay["stay_id"].as_str().unwrap()
        )))
        .bearer_auth(&staff)
        .header("accept-language", "en")
        .form(&[("view", "all")])
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::CONFLICT);
    let html = late.text().await.unwrap();
    assert!(html.contains("until the day after"), "{html}");
}

#[sqlx::test]
async fn a_child_on_a_parents_passport_leaves_and_comes_back_with_the_parent(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    // Two parents with passports of their own; the child on the mother's.
    let mut mother = korean_guest();
    mother["full_name"] = json!("PARK SEOYEON");
    mother["sex"] = json!("F");
    let mut father = korean_guest();
    father["full_name"] = json!("KIM MIN JUN");
    father["document_number"] = json!("M00000001");
    let child = json!({"full_name": "KIM JI WOO", "date_of_birth": "2018-05-05", "sex": "F",
                       "nationality": "KOR", "with_guest": 0});
    let stay = app
        .check_in(&place, json!([mother, child, father]), 2)
        .await;
    let guest = |n: usize| stay["guests"][n]["id"].as_str().unwrap().to_owned();
    // The child's form shows no document number, so opening it is not
    // audited as showing one; the mother's is.
    let reveals = |n: usize| {
        let query = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM audit_log WHERE action = 'guest.reveal' AND target = $1",
        )
        .bind(guest(n));
        async { query.fetch_one(&app.pool).await.unwrap() }
    };
    for n in [1, 0] {
        let form = app
            .get_text_in(&format!("/hotel/{id}/guests/{}", guest(n)), &staff, "en")
            .await;
        assert!(
            form.contains(if n == 1 { "KIM JI WOO" } else { "PARK SEOYEON" }),
            "{form}"
        );
    }
    assert_eq!(reveals(1).await, 0);
    assert_eq!(reveals(0).await, 1);
    let post = |action: &str, n: usize| {
        let url = app.url(&format!("/hotel/{id}/guests/{}/{action}", guest(n)));
        let request = app.client.post(url).bearer_auth(&staff);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            let said = response.headers()["location"].to_str().unwrap();
            said.split("done=")
                .nth(1)
                .unwrap()
                .split('#')
                .next()
                .unwrap()
                .to_owned()
        }
    };
    let in_house = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT i.full_name FROM guests g JOIN guest_identities i ON i.guest_id = g.id
             WHERE g.departed_at IS NULL ORDER BY g.position",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    // The mother leaves early: her daughter goes with her, the father stays.
    assert_eq!(post("checkout", 0).await, "guest_left_children");
    assert_eq!(in_house().await, ["KIM MIN JUN"]);
    let (_, live) = app
        .get_json(&format!("/api/v1/stats/live?place_id={id}"), Some(&staff))
        .await;
    assert_eq!(live["guests_in_house"], 1, "{live}");
    let detail: Value = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'guest.check_out' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(detail["children"], 1, "{detail}");
    // The child alone cannot come back while the mother is out.
    let refused = app
        .client
        .post(app.url(&format!("/hotel/{id}/guests/{}/undo-checkout", guest(1))))
        .bearer_auth(&staff)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let html = refused.text().await.unwrap();
    assert!(html.contains("undo their check-out"), "{html}");
    assert_eq!(in_house().await, ["KIM MIN JUN"]);
    // A mistake: undone, both are back.
    assert_eq!(post("undo-checkout", 0).await, "guest_back_children");
    assert_eq!(
        in_house().await,
        ["PARK SEOYEON", "KIM JI WOO", "KIM MIN JUN"]
    );
    // The child leaving alone (with a relative, say) leaves the mother in.
    assert_eq!(post("checkout", 1).await, "guest_left");
    assert_eq!(in_house().await, ["PARK SEOYEON", "KIM MIN JUN"]);
    // Undoing the mother's check-out, never made, changes nothing for the child.
    assert_eq!(post("undo-checkout", 0).await, "unchanged");
    assert_eq!(in_house().await, ["PARK SEOYEON", "KIM MIN JUN"]);
    // The last ones leaving check the room out, and the desk is told so.
    assert_eq!(post("checkout", 2).await, "guest_left");
    assert_eq!(post("checkout", 0).await, "checked_out");
    assert!(in_house().await.is_empty());
}

#[sqlx::test]
async fn a_move_into_a_room_another_stay_has_is_made_and_said(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let first = app.check_in(&place, json!([korean_guest()]), 2).await;
    let second = app
        .check_in(&place, json!([common::vietnamese_guest()]), 2)
        .await;
    let move_to = |stay: &Value, room: &str| {
        let url = app.url(&format!(
            "/hotel/{id}/stays/{}/room",
            stay["stay_id"].as_str().unwrap()
        ));
        let request = app
            .client
            .post(url)
            .bearer_auth(&staff)
            .form(&[("room", room.to_owned()), ("view", "in_house".to_owned())]);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            let said = response.headers()["location"].to_str().unwrap().to_owned();
            said.split("done=").nth(1).unwrap().replace("#done", "")
        }
    };
    assert_eq!(move_to(&first, "204").await, "room");
    assert_eq!(move_to(&second, " 204 ").await, "room_shared");
    let page = app
        .get_text_in(&format!("/hotel?place={id}&done=room_shared"), &staff, "en")
        .await;
    assert!(
        page.contains("<p class=\"notice\" role=\"status\" id=\"done\">Room changed. Another stay in house has this room too"),
        "a word to check, not a plain success: {page}"
    );
    // Once the first has left, the room is the second's alone.
    assert_eq!(move_to(&second, "305").await, "room");
    let (status, _) = app
        .post_json(
            &format!(
                "/api/v1/stays/{}/checkout",
                first["stay_id"].as_str().unwrap()
            ),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(move_to(&second, "204").await, "room");
    assert_eq!(move_to(&second, "204").await, "unchanged");
}

#[sqlx::test]
async fn a_refused_change_from_a_row_says_why_above_the_register(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let stay = app.check_in(&place, json!([korean_guest()]), 2).await;
    let stay_id = stay["stay_id"].as_str().unwrap();
    let response = app
        .client
        .post(app.url(&format!("/hotel/{id}/stays/{stay_id}/extend")))
        .bearer_auth(&staff)
        .header("accept-language", "en")
        .form(&[("expected_departure", "2001-01-01"), ("view", "in_house")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    let alert = html
        .split("class=\"error notice\"")
        .nth(1)
        .expect("an alert");
    assert!(alert.contains("cannot be before"), "{alert}");
    assert!(
        html.contains("id=\"register\"") && html.contains("KIM MINJUN"),
        "the register stays"
    );
    // The page shows the register's address, not the action's.
    assert!(
        alert.contains(&format!(
            "data-register=\"/hotel?place={id}&amp;status=in_house\""
        )),
        "{alert}"
    );
    // A date the desk could not have meant: said there too, in Vietnamese.
    let response = app
        .client
        .post(app.url(&format!("/hotel/{id}/stays/{stay_id}/extend")))
        .bearer_auth(&staff)
        .header("accept-language", "vi")
        .form(&[("expected_departure", "31/02"), ("view", "in_house")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("class=\"error notice\""), "{html}");
    assert!(html.contains("id=\"register\""), "the register stays");

    // The room checked out twice: the second time changed nothing, and says so.
    let check_out = || {
        let request = app
            .client
            .post(app.url(&format!("/hotel/{id}/stays/{stay_id}/checkout")))
            .bearer_auth(&staff);
        async move { request.send().await.unwrap() }
    };
    let said =
        |response: reqwest::Response| response.headers()["location"].to_str().unwrap().to_owned();
    assert!(said(check_out().await).contains("done=checked_out"));
    assert!(said(check_out().await).contains("done=unchanged"));
}

#[sqlx::test]
async fn a_document_number_is_shown_in_full_only_on_request_and_each_time_audited(
    pool: sqlx::PgPool,
) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let stay = app.check_in(&place, json!([korean_guest()]), 2).await;
    let guest = stay["guests"][0]["id"].as_str().unwrap().to_owned();
    let page = |token: String| {
        let request = app
            .client
            .get(app.url(&format!("/hotel?place={id}")))
            .bearer_auth(token);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let html = page(staff.clone()).await;
    assert!(
        !html.contains("M12345678") && html.contains("••••••678"),
        "masked"
    );
    let reveal = |token: &str| {
        app.client
            .post(app.url(&format!("/hotel/{id}/guests/{guest}/reveal")))
            .bearer_auth(token)
            .form(&[("view", "in_house")])
            .send()
    };
    let response = reveal(&staff).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    let html = response.text().await.unwrap();
    assert!(html.contains("<b class=\"revealed\">M12345678</b>"));
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'guest.reveal'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
    // The correction form shows the number too: written in the log as well.
    let response = app
        .client
        .get(app.url(&format!("/hotel/{id}/guests/{guest}")))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    let html = response.text().await.unwrap();
    assert!(html.contains("value=\"M12345678\""));
    assert!(
        html.contains("<option value=\"passport\" selected>Hộ chiếu</option>"),
        "the kind of document in words: {html}"
    );
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'guest.reveal'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 2);
    assert!(!page(staff).await.contains("M12345678"), "masked again");
    assert_eq!(
        reveal(&office).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

#[sqlx::test]
async fn the_same_document_is_not_in_house_twice_at_one_place(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let stay = app.check_in(&place, json!([korean_guest()]), 2).await;
    let again = json!({"code": place["code"], "guests": [korean_guest()],
                       "expected_departure": (chrono::Utc::now().with_timezone(&chrono_tz::Asia::Ho_Chi_Minh) + chrono::Duration::days(2)).format("%Y-%m-%d").to_string(),
                       "purpose": "tourism", "consent": true});
    let (status, body) = app.post_json("/api/v1/checkins", None, &again).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["codes"]["guests[0].document_number"][0], "already_in_house",
        "{body}"
    );
    // Once they have left, the same passport checks in again.
    let token = stay["checkout_token"].as_str().unwrap();
    let (status, _) = app
        .post_json(
            &format!(
                "/api/v1/stays/{}/checkout",
                stay["stay_id"].as_str().unwrap()
            ),
            None,
            &json!({"checkout_token": token}),
        )
        .await;
    assert!(status.is_success());
    let (status, _) = app.post_json("/api/v1/checkins", None, &again).await;
    assert_eq!(status, StatusCode::CREATED);
}

/// A correction changes what it names: a guest's country of residence,
/// declared apart from the nationality, stays as declared (and with it
/// the domestic or international count); one that only followed the
/// nationality follows it still.
#[sqlx::test]
async fn a_correction_keeps_a_residence_declared_apart_from_the_nationality(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let manager = app.sign_in_as(Role::Manager, &[id]).await;
    // A Vietnamese citizen who lives in Korea, and a Korean guest.
    let abroad = json!({"full_name": "Nguyễn Văn An", "date_of_birth": "1980-02-03", "sex": "M",
                        "nationality": "VNM", "residence_country": "KOR",
                        "document_type": "passport", "document_number": "C1234567"});
    let stay = app
        .check_in(&place, json!([abroad, korean_guest()]), 2)
        .await;
    let residence = |guest: String| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT residence_country FROM guests WHERE id = $1::uuid",
            )
            .bind(guest)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let first = stay["guests"][0]["id"].as_str().unwrap().to_owned();
    let second = stay["guests"][1]["id"].as_str().unwrap().to_owned();

    let (status, body) = patch(
        &app,
        &format!("/api/v1/places/{id}/guests/{first}"),
        &manager,
        json!({"full_name": "Nguyễn Văn Ân"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], json!(["full_name"]));
    assert_eq!(residence(first.clone()).await, "KOR");

    let (status, body) = patch(
        &app,
        &format!("/api/v1/places/{id}/guests/{second}"),
        &manager,
        json!({"nationality": "JPN"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(residence(second.clone()).await, "JPN");

    // The residence itself is corrected, and the domestic count with it:
    // the Vietnamese citizen has come home; emptied, it follows the
    // nationality; given as the nationality, it changes nothing more.
    let today = luutru::localtime::today(chrono_tz::Asia::Ho_Chi_Minh);
    let domestic = || async {
        summary_from(
            Source::Rollups,
            &app.pool,
            today,
            today,
            today,
            Some(id),
            chrono_tz::Asia::Ho_Chi_Minh,
        )
        .await
        .unwrap()
        .domestic_arrivals
    };
    assert_eq!(domestic().await, 0);
    let (status, body) = patch(
        &app,
        &format!("/api/v1/places/{id}/guests/{first}"),
        &manager,
        json!({"residence_country": ""}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], json!(["residence_country"]));
    assert_eq!(residence(first.clone()).await, "VNM");
    assert_eq!(domestic().await, 1);
    let (status, body) = patch(
        &app,
        &format!("/api/v1/places/{id}/guests/{first}"),
        &manager,
        json!({"residence_country": "vnm"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], json!([]));
    let (status, body) = patch(
        &app,
        &format!("/api/v1/places/{id}/guests/{second}"),
        &manager,
        json!({"residence_country": "Q1"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["errors"]["residence_country"].is_array(), "{body}");
    let (status, body) = patch(
        &app,
        &format!("/api/v1/places/{id}/guests/{second}"),
        &manager,
        json!({"residence_country": "VNM"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(residence(second.clone()).await, "VNM");
    assert_eq!(domestic().await, 2);
    let detail: Value = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'guest.correct' ORDER BY at DESC, id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        detail["fields"]["residence_country"],
        json!({"from": null, "to": "VNM"})
    );
    // The form shows the residence declared, empty when it follows.
    let html = app
        .get_text(&format!("/hotel/{id}/guests/{second}"), &manager)
        .await;
    assert!(
        html.contains(r#"name="residence_country" value="VNM""#),
        "{html}"
    );
}

/// A stay that did not happen (its guests never came, or it was written
/// by mistake) is marked at the desk until the day after its arrival, and
/// then counts nowhere: not in the register, the figures, the police list
/// or the document check.
#[sqlx::test]
async fn a_stay_marked_a_no_show_or_cancelled_counts_nowhere(pool: sqlx::PgPool) {
    let app = spawn(pool).await;
    let office = app.sign_in_as(Role::Office, &[]).await;
    let place = app.hotel(&office).await;
    let id = place["id"].as_i64().unwrap();
    let staff = app.sign_in_as(Role::Staff, &[id]).await;
    let came = app.check_in(&place, json!([korean_guest()]), 2).await;
    let never = app
        .check_in(&place, json!([common::vietnamese_guest()]), 2)
        .await;
    let mark_in = |stay: &Value, how: &str, lang: &'static str| {
        let url = app.url(&format!(
            "/hotel/{id}/stays/{}/{how}",
            stay["stay_id"].as_str().unwrap()
        ));
        let request = app
            .client
            .post(url)
            .bearer_auth(&staff)
            .header("accept-language", lang)
            .form(&[("view", "in_house")]);
        async move { request.send().await.unwrap() }
    };
    let mark = |stay: &Value, how: &str| mark_in(stay, how, "en");
    let live = || async {
        app.get_json(&format!("/api/v1/stats/live?place_id={id}"), Some(&staff))
            .await
            .1
    };
    assert_eq!(live().await["arrivals_today"], 2);

    // The day's declaration is downloaded with the guest who will not come.
    let export = app
        .get_response(&format!("/api/v1/places/{id}/police.csv"), &staff)
        .await;
    let batch: i64 = export.headers()["x-police-batch"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(export.text().await.unwrap().contains("Nguyễn Văn An"));

    let response = mark(&never, "no-show").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The file sent after all: a guest who never came is not recorded as
    // declared.
    let (status, sent) = app
        .post_json(
            &format!("/api/v1/places/{id}/police/sent"),
            Some(&staff),
            &json!({"batch": batch, "reference": "VNEID-7"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["marked"], 0, "{sent}");
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .contains("done=no_show"));
    let (_, all) = app
        .get_json(
            &format!("/api/v1/places/{id}/stays?status=all"),
            Some(&staff),
        )
        .await;
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all[0]["id"], came["stay_id"]);
    let figures = live().await;
    assert_eq!(figures["arrivals_today"], 1, "{figures}");
    assert_eq!(figures["guests_in_house"], 1, "{figures}");
    // The desk's page: the register and the police board.
    let register = app.get_text(&format!("/hotel?place={id}"), &staff).await;
    assert!(
        register.contains("KIM MINJUN") && !register.contains("Nguyễn Văn An"),
        "{register}"
    );
    // The document is free again: the guest may yet come, and check in.
    app.check_in(&place, json!([common::vietnamese_guest()]), 2)
        .await;

    // A mistake entered by code is cancelled; marked once, it is gone.
    assert_eq!(mark(&came, "cancel").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(mark(&came, "no-show").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(live().await["arrivals_today"], 1);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action IN ('stay.no_show', 'stay.cancel') ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(actions, ["stay.no_show", "stay.cancel"]);
    // The city's figures from the rollups are still those of the raw rows.
    let tz = chrono_tz::Asia::Ho_Chi_Minh;
    let today = luutru::localtime::today(tz);
    let week = today - chrono::Duration::days(7);
    let raw = summary_from(Source::Raw, &app.pool, week, today, today, None, tz)
        .await
        .unwrap();
    let kept = summary_from(Source::Rollups, &app.pool, week, today, today, None, tz)
        .await
        .unwrap();
    assert_eq!(raw, kept);
    assert_eq!(kept.arrivals, 1);

    // Guests whose documents the desk saw came; guests declared to the
    // police are on record there. Neither is taken out.
    let seen = app
        .check_in(
            &place,
            json!([{"full_name": "Phạm Minh", "date_of_birth": "1992-06-07", "sex": "M",
                    "nationality": "VNM", "document_type": "cccd", "document_number": "079092000555"}]),
            2,
        )
        .await;
    let confirm = mark(&seen, "confirm").await;
    assert_eq!(confirm.status(), StatusCode::SEE_OTHER);
    let response = mark(&seen, "no-show").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("seen at the desk"));
    let declared = app
        .check_in(
            &place,
            json!([{"full_name": "Vũ Lan", "date_of_birth": "1993-06-07", "sex": "F",
                                  "nationality": "VNM", "document_type": "cccd",
                                  "document_number": "079193000666"}]),
            2,
        )
        .await;
    sqlx::query("UPDATE guests SET notified_at = now() WHERE stay_id = $1::uuid")
        .bind(declared["stay_id"].as_str().unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    let response = mark(&declared, "cancel").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("declared to the police"));
    // A Vietnamese desk reads the reason in Vietnamese, above the register.
    let response = mark_in(&declared, "cancel", "vi").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("đã được khai báo với công an: hãy sửa thông tin của họ"),
        "{page}"
    );
    assert!(!page.contains("declared to the police"), "{page}");

    // Two days after its arrival, a stay is history: it stays as it is.
    let staff_entry = app
        .post_json(
            &format!("/api/v1/places/{id}/stays"),
            Some(&staff),
            &json!({"guests": [{"full_name": "Lê Thị Hoa", "date_of_birth": "1975-03-04", "sex": "F",
                                "nationality": "VNM", "document_type": "cccd",
                                "document_number": "079175000321"}],
                    "arrived_at": (chrono::Utc::now() - chrono::Duration::days(2)).to_rfc3339(),
                    "expected_departure": (today + chrono::Duration::days(1)).to_string(), "purpose": "tourism"}),
        )
        .await;
    assert_eq!(staff_entry.0, StatusCode::CREATED, "{}", staff_entry.1);
    let response = mark(&staff_entry.1, "no-show").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("the day after its arrival"));
}
