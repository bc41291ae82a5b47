//! The Engine.IO endpoint `/socket.io/` over plain HTTP: handshakes and long-polling GET and
//! POST. WebSockets arrive as upgrade requests, which actix-http hands to `upgrade.rs` with
//! their connection. Requests are checked in the order Node's engine.io checks them
//! ([`check`], shared by both), so the same bad request gets the same error from both.

use super::errors::EngineError;
use super::origin::websocket_origin_allowed;
use super::AppState;
use actix_web::http::header::HeaderMap;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::BytesMut;
use chat_actors::connection::{
    CloseSession, Connection, InitialTransport, Poll, Post, RequestRefused, SocketApp,
};
use chat_actors::transport::PollReply;
use futures_util::StreamExt;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct EngineQuery {
    #[serde(rename = "EIO")]
    eio: Option<String>,
    transport: Option<String>,
    sid: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TransportName {
    Polling,
    WebSocket,
}

/// An Engine.IO request that passed the checks every request gets.
pub struct Checked {
    pub transport: TransportName,
    /// The session it names; `None` for a handshake.
    pub sid: Option<String>,
}

/// The checks of every Engine.IO request, in Node's order: the query, the transport, the
/// origin of a WebSocket, then for a handshake (no sid) the method, the protocol version, and
/// whether this node takes new sessions.
pub fn check<A: SocketApp>(
    method: &Method,
    query: Option<&str>,
    headers: &HeaderMap,
    state: &AppState<A>,
) -> Result<Checked, EngineError> {
    let query = web::Query::<EngineQuery>::from_query(query.unwrap_or(""))
        .map_err(|_| EngineError::BadRequest)?
        .into_inner();
    let transport = match query.transport.as_deref() {
        Some("polling") => TransportName::Polling,
        Some("websocket") => TransportName::WebSocket,
        _ => return Err(EngineError::UnknownTransport),
    };
    if transport == TransportName::WebSocket && !websocket_origin_allowed(headers, &state.origins) {
        return Err(EngineError::Forbidden);
    }
    if query.sid.is_none() {
        if method != Method::GET {
            return Err(EngineError::BadHandshakeMethod);
        }
        if query.eio.as_deref() != Some("4") {
            return Err(EngineError::UnsupportedProtocolVersion);
        }
        if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(EngineError::Draining);
        }
    }
    Ok(Checked {
        transport,
        sid: query.sid,
    })
}

pub async fn handle<A: SocketApp>(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState<A>>,
) -> Result<HttpResponse, EngineError> {
    let checked = check(req.method(), req.uri().query(), req.headers(), &state)?;
    // A WebSocket request without `Upgrade` (those with it never reach here).
    if checked.transport == TransportName::WebSocket {
        if let Some(sid) = &checked.sid {
            state
                .server
                .registry
                .get(sid)
                .ok_or(EngineError::UnknownSid)?;
        }
        return Err(EngineError::BadRequest);
    }
    match checked.sid {
        Some(sid) => existing_session(req, body, &state, &sid).await,
        None => {
            let peer = req.peer_addr();
            let (_, _, open) =
                Connection::open(state.server.clone(), InitialTransport::Polling, peer);
            Ok(text(open))
        }
    }
}

async fn existing_session<A: SocketApp>(
    req: HttpRequest,
    body: web::Payload,
    state: &AppState<A>,
    sid: &str,
) -> Result<HttpResponse, EngineError> {
    let registry = &state.server.registry;
    let Some(addr) = registry.get(sid) else {
        // The client's own close overtook this GET: answered as if it had come first.
        if req.method() == Method::GET && registry.take_closed_by_client(sid) {
            return Ok(text("6".to_owned()));
        }
        return Err(EngineError::UnknownSid);
    };
    match req.method().clone() {
        Method::GET => {
            let rx = match addr.send(Poll).await {
                Ok(Ok(rx)) => rx,
                // Closed by the client between the lookup and now (the actor stopping).
                Ok(Err(RequestRefused::Closed)) | Err(_) if registry.take_closed_by_client(sid) => {
                    return Ok(text("6".to_owned()));
                }
                Ok(Err(reason)) => return Err(refused(reason)),
                Err(_) => return Err(EngineError::UnknownSid),
            };
            // The actor dropping the sender without an answer means the session ended.
            match rx.await.unwrap_or_else(|_| PollReply::Body("1".to_owned())) {
                PollReply::Body(body) => Ok(text(body)),
                PollReply::Upgraded => Err(EngineError::BadRequest),
            }
        }
        Method::POST => {
            let max = state.server.config.max_payload;
            let Some(bytes) = read_body(body, max).await? else {
                addr.do_send(CloseSession {
                    reason: "payload too large",
                });
                return Err(EngineError::PayloadTooLarge);
            };
            addr.send(Post(bytes.freeze()))
                .await
                .map_err(|_| EngineError::UnknownSid)?
                .map_err(refused)?;
            Ok(HttpResponse::Ok().content_type("text/html").body("ok"))
        }
        _ => Err(EngineError::BadRequest),
    }
}

/// Reads a POST body; `None` when it exceeds `max` bytes (the rest is not read).
async fn read_body(mut body: web::Payload, max: usize) -> Result<Option<BytesMut>, EngineError> {
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| EngineError::BadRequest)?;
        if bytes.len() + chunk.len() > max {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

fn refused(reason: RequestRefused) -> EngineError {
    match reason {
        RequestRefused::DuplicatePoll
        | RequestRefused::WrongTransport
        | RequestRefused::Malformed => EngineError::BadRequest,
        RequestRefused::Closed => EngineError::UnknownSid,
    }
}

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=UTF-8")
        .body(body)
}
