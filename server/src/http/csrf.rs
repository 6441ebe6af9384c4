//! Cross-site request forgery defence for cookie-authenticated requests. The session cookie is
//! SameSite=Strict; on top of that, state-changing requests that a browser marks as coming from
//! another site (Fetch Metadata `Sec-Fetch-Site`, or an `Origin` not matching `Host`) are refused.
//! This takes the place of a custom anti-CSRF header, which Leptos' server-function client cannot
//! add; scripts with bearer tokens send neither header and are not affected.
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

fn is_cross_site(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => origin.split_once("://").map(|(_, h)| h) != Some(host),
        _ => false,
    }
}

pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && is_cross_site(&request) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({ "error": "forbidden", "message": "cross-site request refused" })),
        )
            .into_response();
    }
    next.run(request).await
}
