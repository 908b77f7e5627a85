//! Placeholder pages until the website lands (`assets/web/`).

use axum::response::Html;

const PAGE: &str = "<!doctype html><html lang=en><meta charset=utf-8>\
<meta name=viewport content=\"width=device-width, initial-scale=1\">\
<title>Vitals</title><h1>Vitals</h1>\
<p>This Vitals server is running. The website is not built yet; the API is at \
<code>/api/v1</code> (see docs/API.md) and the data policy at \
<a href=\"/api/v1/policy\">/api/v1/policy</a>.</p></html>";

/// `/`, `/dashboard`, `/privacy` for now.
pub async fn placeholder() -> Html<&'static str> {
    Html(PAGE)
}
