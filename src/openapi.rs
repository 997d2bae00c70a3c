//! `/api/openapi.json`, generated from the handlers' annotations, and
//! `/api/docs`, a plain page listing every route from the same document.

use askama::Template;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::i18n::{Lang, Tr};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lưu trú",
        description = "Visitor check-in by QR code, the lodging register (sổ lưu trú) and tourism statistics.\n\n\
            Errors are JSON `{\"message\": \"...\", \"errors\": {\"field\": [\"...\"]}}`, nested fields named like \
            `guests[1].date_of_birth`. Sign in with `/api/v1/auth/login` and send `Authorization: Bearer <token>`.\n\n\
            Statistics follow IRTS 2008: an arrival is a guest checking in, counted on the local date of arrival \
            (Asia/Ho_Chi_Minh); the nights of a guest are the local dates d with arrival ≤ d < departure, counted \
            only inside the range; a guest still in house counts as departing today; a same-day guest has zero \
            nights; domestic means residing in Vietnam (VNM); average length of stay = guest-nights ÷ arrivals; \
            bed occupancy = guest-nights ÷ (beds × open days) × 100 over accommodations whose beds are known."
    ),
    paths(
        crate::auth::routes::login,
        crate::auth::routes::logout,
        crate::auth::routes::me,
        crate::places::routes::create,
        crate::places::routes::list,
        crate::places::routes::read,
        crate::places::routes::update,
        crate::places::routes::rotate,
        crate::places::routes::codes,
        crate::qr::routes::png,
        crate::qr::routes::svg,
        crate::qr::routes::poster,
        crate::qr::routes::batch,
        crate::qr::routes::batch_zip,
        crate::checkin::routes::create_checkin,
        crate::checkin::routes::checkout,
        crate::documents::routes::parse,
        crate::documents::routes::photo,
        crate::register::routes::create,
        crate::register::routes::list,
        crate::register::routes::csv_export,
        crate::register::routes::xlsx_export,
        crate::register::police_routes::xlsx,
        crate::register::police_routes::csv,
        crate::register::police_routes::sent,
        crate::register::corrections_routes::patch,
        crate::register::team_routes::list,
        crate::register::team_routes::add,
        crate::register::team_routes::remove,
        crate::register::team_routes::password,
        crate::register::team_routes::activity,
        crate::stats::routes::summary,
        crate::stats::routes::live_figures,
        crate::stats::routes::compare,
        crate::stats::routes::compliance,
        crate::stats::routes::monthly_xlsx,
        crate::stats::routes::monthly_pdf,
        crate::stats::chart_data::chart_csv,
        crate::stats::stream::live_stream,
        crate::audit::export,
    ),
    modifiers(&ErrorAnswers),
    components(schemas(
        crate::error::Body,
        crate::checkin::model::GuestInput,
        crate::documents::ParsedDocument,
        crate::documents::routes::ParseRequest
    ))
)]
pub struct ApiDoc;

/// Every operation may also answer an error (a malformed path, query or
/// body, a missing sign-in or right, a place that does not exist, too many
/// requests, a database away): each is the same JSON, declared once as
/// every operation's `default` answer.
struct ErrorAnswers;

impl utoipa::Modify for ErrorAnswers {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = ResponseBuilder::new()
            .description(
                "An error: 400 malformed, 401 not signed in, 403 not allowed, 404 not found, \
                 409 conflict, 413 too large, 415 wrong content type, 422 a field to fix, \
                 429 too many requests (Retry-After), 503 unavailable (Retry-After)",
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Error")))
                    .build(),
            )
            .build();
        for item in api.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .entry("default".to_owned())
                    .or_insert_with(|| error.clone().into());
            }
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/openapi.json",
            get(|| async { Json(ApiDoc::openapi()) }),
        )
        .route("/api/docs", get(docs))
}

struct Operation {
    method: String,
    path: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct DocsPage {
    t: Tr,
    description: String,
    operations: Vec<Operation>,
}

async fn docs() -> Response {
    let doc = ApiDoc::openapi();
    let value = serde_json::to_value(&doc).unwrap_or_default();
    let mut operations = Vec::new();
    if let Some(paths) = value["paths"].as_object() {
        for (path, methods) in paths {
            for (method, op) in methods.as_object().into_iter().flatten() {
                let summary = op["summary"]
                    .as_str()
                    .or_else(|| op["description"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                operations.push(Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary,
                });
            }
        }
    }
    crate::web::render(&DocsPage {
        t: Tr(Lang::En),
        description: doc.info.description.unwrap_or_default(),
        operations,
    })
}
