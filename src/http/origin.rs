//! The WebSocket `Origin` check. Browsers do not apply CORS to WebSockets, so without this a
//! page on any site could open a socket to the chat with the visitor's network position
//! (cross-site WebSocket hijacking). The same policy as CORS applies: same origin by default,
//! or the configured list, or anything with `*`. Clients that send no `Origin` (native and
//! Node clients, the load generator) are not browsers and are let through.

use crate::config::CorsOrigins;
use actix_web::http::header::{self, HeaderMap};

/// Whether a WebSocket request with `headers` may proceed under `policy`.
pub fn websocket_origin_allowed(headers: &HeaderMap, policy: &CorsOrigins) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    match policy {
        CorsOrigins::Any => true,
        CorsOrigins::List(list) => list.iter().any(|allowed| allowed == origin),
        CorsOrigins::SameOrigin => {
            let Some(host) = request_host(headers) else {
                return false;
            };
            origin_authority(origin).is_some_and(|authority| authority.eq_ignore_ascii_case(host))
        }
    }
}

/// The host the client asked for: `X-Forwarded-Host` (first value) when a proxy set it,
/// else `Host`.
fn request_host(headers: &HeaderMap) -> Option<&str> {
    let forwarded = headers
        .get(header::HeaderName::from_static("x-forwarded-host"))
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split(',').next())
        .map(str::trim);
    forwarded.or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
}

/// `host[:port]` of an origin such as `https://chat.example:8443`.
fn origin_authority(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    Some(rest.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn allowed(origin: Option<&str>, host: &str, policy: &CorsOrigins) -> bool {
        let mut req = TestRequest::default().insert_header((header::HOST, host));
        if let Some(origin) = origin {
            req = req.insert_header((header::ORIGIN, origin));
        }
        websocket_origin_allowed(req.to_http_request().headers(), policy)
    }

    #[test]
    fn same_origin_by_default() {
        let policy = CorsOrigins::SameOrigin;
        assert!(allowed(None, "chat.example", &policy));
        assert!(allowed(
            Some("https://chat.example"),
            "chat.example",
            &policy
        ));
        assert!(allowed(
            Some("http://localhost:3000"),
            "localhost:3000",
            &policy
        ));
        assert!(!allowed(
            Some("http://localhost:3001"),
            "localhost:3000",
            &policy
        ));
        assert!(!allowed(
            Some("https://evil.example"),
            "chat.example",
            &policy
        ));
        assert!(!allowed(Some("null"), "chat.example", &policy));
    }

    #[test]
    fn configured_list_and_any() {
        let list = CorsOrigins::List(vec!["https://a.example".into()]);
        assert!(allowed(Some("https://a.example"), "chat.example", &list));
        assert!(!allowed(Some("https://b.example"), "chat.example", &list));
        assert!(allowed(
            Some("https://b.example"),
            "chat.example",
            &CorsOrigins::Any
        ));
    }
}
