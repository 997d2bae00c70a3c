//! The audit log: who did what to which place, and every read or export of
//! guests' personal data by someone outside the place.

use serde_json::Value;

pub async fn record<'e, E>(
    db: E,
    actor_id: Option<i64>,
    action: &str,
    place_id: Option<i64>,
    target: Option<&str>,
    detail: Value,
) -> crate::error::Result<()>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query!(
        "INSERT INTO audit_log (actor_id, action, place_id, target, detail) VALUES ($1, $2, $3, $4, $5)",
        actor_id,
        action,
        place_id,
        target,
        detail
    )
    .execute(db)
    .await
    .map_err(|e| match crate::error::Error::from(e) {
        // Nothing is recorded about a place that does not exist: the
        // request was about nothing.
        e if e.constraint() == Some("audit_log_place_id_fkey") => {
            crate::error::Error::NotFound("there is no such place")
        }
        e => e,
    })?;
    Ok(())
}

/// `GET /api/v1/audit.csv`: the log as CSV, for admins.
pub fn router() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/api/v1/audit.csv", axum::routing::get(export))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// First local date (YYYY-MM-DD), default 30 days ago.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last local date, included; default today.
    #[param(format = Date)]
    pub to: Option<String>,
}

/// The audit log of a range of local dates as CSV (UTF-8 with a BOM), oldest
/// first: when, who, what, which place, the target and the details. The
/// export is itself written in the log.
#[utoipa::path(get, path = "/api/v1/audit.csv", tag = "audit", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", description = "One row per audited action")))]
pub async fn export(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    user: crate::auth::CurrentUser,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<ExportQuery>,
) -> crate::error::Result<axum::response::Response> {
    use axum::http::header;
    use axum::response::IntoResponse;

    if user.role != crate::auth::Role::Admin {
        return Err(crate::error::Error::Forbidden(
            "only admins export the audit log",
        ));
    }
    let tz = state.tz();
    let today = crate::localtime::today(tz);
    let mut errors = crate::error::FieldErrors::default();
    let mut date = |field: &'static str, raw: Option<&str>, default| match raw
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => Some(default),
        Some(raw) => {
            let parsed = crate::checkin::model::parse_date(raw);
            if parsed.is_none() {
                errors.add(field, "date_format", "write the date as YYYY-MM-DD");
            }
            parsed
        }
    };
    let from = date(
        "from",
        q.from.as_deref(),
        today - chrono::Duration::days(30),
    );
    let to = date("to", q.to.as_deref(), today);
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) if errors.is_empty() && f <= t && (t - f).num_days() > 366 => {
            return Err(crate::error::FieldErrors::single(
                "to",
                "range_too_long",
                "export at most a year at a time",
            ))
        }
        (Some(f), Some(t)) if errors.is_empty() && f <= t => (f, t),
        (Some(_), Some(_)) if errors.is_empty() => {
            return Err(crate::error::FieldErrors::single(
                "to",
                "range_order",
                "the end of the range cannot be before its start",
            ))
        }
        _ => return Err(crate::error::Error::Validation(errors)),
    };
    let rows = sqlx::query!(
        r#"SELECT a.id, a.at, u.email AS "email?", a.action, a.place_id, p.name AS "place?",
                  a.target, a.detail
           FROM audit_log a
           LEFT JOIN users u ON u.id = a.actor_id
           LEFT JOIN places p ON p.id = a.place_id
           WHERE a.at >= $1 AND a.at < $2
           ORDER BY a.id"#,
        crate::localtime::instant(tz, from, 0, 0),
        crate::localtime::instant(tz, to.succ_opt().unwrap_or(to), 0, 0)
    )
    .fetch_all(&state.db)
    .await?;
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record([
            "id", "at", "who", "action", "place_id", "place", "target", "detail",
        ])
        .map_err(anyhow::Error::from)?;
        for r in &rows {
            w.write_record([
                r.id.to_string(),
                r.at.with_timezone(&tz).to_rfc3339(),
                r.email.clone().unwrap_or_default(),
                r.action.clone(),
                r.place_id.map(|p| p.to_string()).unwrap_or_default(),
                r.place.clone().unwrap_or_default(),
                r.target.clone().unwrap_or_default(),
                r.detail.to_string(),
            ])
            .map_err(anyhow::Error::from)?;
        }
        w.flush().map_err(anyhow::Error::from)?;
    }
    record(
        &state.db,
        Some(user.id),
        "audit.export",
        None,
        None,
        serde_json::json!({"from": from, "to": to, "rows": rows.len()}),
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        out,
    )
        .into_response())
}
