//! The HTTP errors of the Engine.IO endpoint, with the codes and messages of Node's engine.io
//! so that clients and operators see the same thing from either server.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use chat_actors::metrics::METRICS;
use serde::Serialize;
use std::fmt;

/// An Engine.IO request refused before it reached a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineError {
    UnknownTransport,
    UnknownSid,
    BadHandshakeMethod,
    BadRequest,
    UnsupportedProtocolVersion,
    PayloadTooLarge,
    /// A WebSocket from a browser page of a foreign origin.
    Forbidden,
    /// The node is draining (SIGTERM): new sessions go to another node.
    Draining,
}

impl EngineError {
    /// Node's numeric code and message.
    fn code_message(self) -> (u8, &'static str) {
        match self {
            EngineError::UnknownTransport => (0, "Transport unknown"),
            EngineError::UnknownSid => (1, "Session ID unknown"),
            EngineError::BadHandshakeMethod => (2, "Bad handshake method"),
            EngineError::BadRequest => (3, "Bad request"),
            EngineError::UnsupportedProtocolVersion => (5, "Unsupported protocol version"),
            EngineError::PayloadTooLarge => (3, "Payload too large"),
            EngineError::Draining => (3, "Server draining"),
            EngineError::Forbidden => (4, "Forbidden"),
        }
    }

    fn metric_kind(self) -> &'static str {
        match self {
            EngineError::UnknownTransport => "http_unknown_transport",
            EngineError::UnknownSid => "http_unknown_sid",
            EngineError::BadHandshakeMethod => "http_bad_method",
            EngineError::BadRequest => "http_bad_request",
            EngineError::UnsupportedProtocolVersion => "http_unsupported_protocol",
            EngineError::PayloadTooLarge => "http_payload_too_large",
            EngineError::Draining => "http_draining",
            EngineError::Forbidden => "http_forbidden_origin",
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code_message().1)
    }
}

#[derive(Serialize)]
struct Body {
    code: u8,
    message: &'static str,
}

impl ResponseError for EngineError {
    fn status_code(&self) -> StatusCode {
        match self {
            EngineError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            EngineError::Draining => StatusCode::SERVICE_UNAVAILABLE,
            EngineError::Forbidden => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("application/json")
            .body(self.counted_body())
    }
}

impl EngineError {
    /// The JSON body Node sends, `{"code","message"}`; counts the error in metrics.
    pub fn counted_body(self) -> String {
        METRICS.error(self.metric_kind());
        let (code, message) = self.code_message();
        // Two fields of plain types: serialising cannot fail.
        serde_json::to_string(&Body { code, message }).unwrap_or_default()
    }
}
