//! The Engine.IO endpoint `/socket.io/`: handshakes, long-polling GET/POST and WebSockets
//! (direct or upgrading a polling session). Requests are checked in the order Node's
//! engine.io checks them, so the same bad request gets the same error from both.

use super::errors::EngineError;
use super::origin::websocket_origin_allowed;
use super::AppState;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::BytesMut;
use chat_actors::connection::{
    AttachWebSocket, CloseSession, Connection, InitialTransport, Poll, Post, RequestRefused,
    SocketApp,
};
use chat_actors::metrics::METRICS;
use chat_actors::transport::{spawn_reader, spawn_writer, ws_channel, PollReply};
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
enum TransportName {
    Polling,
    WebSocket,
}

pub async fn handle<A: SocketApp>(
    req: HttpRequest,
    query: Result<web::Query<EngineQuery>, actix_web::Error>,
    body: web::Payload,
    state: web::Data<AppState<A>>,
) -> Result<HttpResponse, EngineError> {
    let query = query.map_err(|_| EngineError::BadRequest)?.into_inner();
    let transport = match query.transport.as_deref() {
        Some("polling") => TransportName::Polling,
        Some("websocket") => TransportName::WebSocket,
        _ => return Err(EngineError::UnknownTransport),
    };
    if transport == TransportName::WebSocket && !websocket_origin_allowed(&req, &state.origins) {
        return Err(EngineError::Forbidden);
    }
    match query.sid {
        Some(sid) => existing_session(req, body, &state, &sid, transport).await,
        None => {
            if req.method() != Method::GET {
                return Err(EngineError::BadHandshakeMethod);
            }
            if query.eio.as_deref() != Some("4") {
                return Err(EngineError::UnsupportedProtocolVersion);
            }
            if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(EngineError::Draining);
            }
            handshake(req, body, &state, transport)
        }
    }
}

fn handshake<A: SocketApp>(
    req: HttpRequest,
    body: web::Payload,
    state: &AppState<A>,
    transport: TransportName,
) -> Result<HttpResponse, EngineError> {
    let server = state.server.clone();
    match transport {
        TransportName::Polling => {
            let (_, _, open) = Connection::open(server, InitialTransport::Polling);
            Ok(text(open))
        }
        TransportName::WebSocket => {
            let (response, session, stream) =
                actix_ws::handle(&req, body).map_err(|_| EngineError::BadRequest)?;
            let (link, rx) = ws_channel(server.config.outbound_buffer_bytes);
            let ws_id = link.id;
            spawn_writer(session, rx);
            let stream = configure(stream, server.config.max_payload);
            let (_, addr, _) = Connection::open(server, InitialTransport::WebSocket(link));
            spawn_reader(stream, addr.recipient(), ws_id);
            Ok(response)
        }
    }
}

async fn existing_session<A: SocketApp>(
    req: HttpRequest,
    body: web::Payload,
    state: &AppState<A>,
    sid: &str,
    transport: TransportName,
) -> Result<HttpResponse, EngineError> {
    let addr = state
        .server
        .registry
        .get(sid)
        .ok_or(EngineError::UnknownSid)?;
    match (transport, req.method().clone()) {
        (TransportName::Polling, Method::GET) => {
            let rx = addr
                .send(Poll)
                .await
                .map_err(|_| EngineError::UnknownSid)?
                .map_err(refused)?;
            // The actor dropping the sender without an answer means the session ended.
            match rx.await.unwrap_or_else(|_| PollReply::Body("1".to_owned())) {
                PollReply::Body(body) => Ok(text(body)),
                PollReply::Upgraded => Err(EngineError::BadRequest),
            }
        }
        (TransportName::Polling, Method::POST) => {
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
        (TransportName::Polling, _) => Err(EngineError::BadRequest),
        (TransportName::WebSocket, _) => {
            let (link, rx) = ws_channel(state.server.config.outbound_buffer_bytes);
            let ws_id = link.id;
            if !addr.send(AttachWebSocket(link)).await.unwrap_or(false) {
                // The session already upgraded (or is probing another WebSocket, or closing).
                // As Node does, the WebSocket handshake completes and the server closes it at
                // once: the client sees a clean close, not an HTTP error, and the session's own
                // WebSocket is untouched.
                METRICS.error("websocket_for_upgraded_session");
                let (response, session, _stream) =
                    actix_ws::handle(&req, body).map_err(|_| EngineError::BadRequest)?;
                actix_web::rt::spawn(async move {
                    let _ = session.close(None).await;
                });
                return Ok(response);
            }
            // If the handshake fails here, dropping `rx` closes the link and the actor
            // abandons the upgrade on its next write or at the upgrade timeout.
            let (response, session, stream) =
                actix_ws::handle(&req, body).map_err(|_| EngineError::BadRequest)?;
            spawn_writer(session, rx);
            spawn_reader(
                configure(stream, state.server.config.max_payload),
                addr.recipient(),
                ws_id,
            );
            Ok(response)
        }
    }
}

fn configure(
    stream: actix_ws::MessageStream,
    max_payload: usize,
) -> actix_ws::AggregatedMessageStream {
    stream
        .max_frame_size(max_payload)
        .aggregate_continuations()
        .max_continuation_size(max_payload)
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
