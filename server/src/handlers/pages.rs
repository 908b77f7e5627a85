//! The website: `/`, `/dashboard`, `/privacy` and `/assets/*`, built by npm
//! from `assets/web/` into `assets/web/dist/`. A release build embeds the
//! built files (one binary to deploy); a debug build reads them from disk,
//! so `npm run build` shows at once.
//!
//! `/privacy` is rendered here from `assets/policy.md` — the same text and
//! version the app and `GET /api/v1/policy` show.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../assets/web/dist/"]
// Until `make web` has run there is nothing to embed; the pages say so.
#[allow_missing = true]
struct Web;

fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            "<!doctype html><html lang=en><meta charset=utf-8><title>Vitals</title>\
             <h1>Vitals</h1><p>The website is not built: run <code>make web</code> \
             (npm ci and npm run build in assets/web). The API works: /api/v1.</p></html>",
        ),
    )
        .into_response()
}

fn html(name: &str) -> Response {
    match Web::get(name) {
        Some(f) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            f.data.into_owned(),
        )
            .into_response(),
        None => not_built(),
    }
}

/// `GET /`: what Vitals is, live examples, consent.
pub async fn landing() -> Response {
    html("index.html")
}

/// `GET /dashboard`: the person's own data (the page asks the API, which
/// answers only with the session cookie).
pub async fn dashboard() -> Response {
    html("dashboard.html")
}

/// `GET /privacy`: the full policy.
pub async fn privacy() -> Response {
    let Some(page) = Web::get("privacy.html") else {
        return not_built();
    };
    let template = String::from_utf8_lossy(&page.data);
    let mut body = String::new();
    let parser = pulldown_cmark::Parser::new(vitals_shared::policy::text_markdown());
    pulldown_cmark::html::push_html(&mut body, parser);
    let out = template
        .replace("<!--POLICY-->", &body)
        .replace("<!--VERSION-->", vitals_shared::policy::version());
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        out,
    )
        .into_response()
}

/// `GET /assets/{file}`: scripts and styles.
pub async fn asset(Path(file): Path<String>) -> Response {
    match Web::get(&format!("assets/{file}")) {
        Some(f) => (
            [
                (header::CONTENT_TYPE, f.metadata.mimetype().to_owned()),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
            ],
            f.data.into_owned(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
