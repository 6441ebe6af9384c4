//! The console's files built by trunk: precompressed brotli and gzip variants when present, a
//! year of caching for hashed names, `no-cache` for index.html, and index.html for client-side
//! routes such as `/devices/box-01`.
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use std::path::PathBuf;
use tower_http::services::{ServeDir, ServeFile};

pub struct StaticFiles {
    dir: PathBuf,
}

impl StaticFiles {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// True when the built console is there (`index.html`).
    pub fn present(&self) -> bool {
        self.dir.join("index.html").is_file()
    }

    pub fn router(self) -> Router {
        if !self.present() {
            let message = format!(
                "<!doctype html><title>boxpilot</title><h1>The console is not built</h1>\
                 <p>No <code>index.html</code> in <code>{}</code>. Build it with <code>scripts/build-console.sh</code> \
                 (trunk) or point <code>--static-dir</code> at the built files. The API is running.</p>",
                self.dir.display()
            );
            return Router::new().fallback(move || {
                let message = message.clone();
                async move { (StatusCode::SERVICE_UNAVAILABLE, Html(message)) }
            });
        }
        let index = ServeFile::new(self.dir.join("index.html"));
        let files = ServeDir::new(&self.dir)
            .precompressed_br()
            .precompressed_gzip()
            .fallback(index);
        Router::new()
            .fallback_service(files)
            .layer(axum::middleware::from_fn(cache_headers))
    }
}

/// trunk names built files `name-<16 hex digits>.ext`: such a name never changes content.
fn is_hashed(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or("");
    file.split(['-', '.', '_'])
        .any(|part| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn cache_headers(request: Request, next: Next) -> Response {
    let hashed = is_hashed(request.uri().path());
    let mut response = next.run(request).await.into_response();
    if response.status().is_success() {
        let value = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn recognises_trunk_hashes() {
        assert!(super::is_hashed(
            "/boxpilot-console-1a2b3c4d5e6f7a8b_bg.wasm"
        ));
        assert!(super::is_hashed("/main-0123456789abcdef.css"));
        assert!(!super::is_hashed("/index.html"));
        assert!(!super::is_hashed("/devices/box-01"));
    }
}
