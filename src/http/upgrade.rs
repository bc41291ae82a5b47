//! WebSockets. actix-http hands every request asking for an `Upgrade` here together with its
//! connection (the framed socket and whatever was read after the request), instead of to the
//! app: after the handshake the session owns its TCP socket, reads it through its worker's
//! shared buffer and writes it straight from its outbox (`chat_actors::transport`), with no
//! HTTP dispatcher, codec buffer or channel left on a message's path.
//!
//! Why this and not a service of our own in front of actix-web: actix-http already parses the
//! request, answers the handshake (`actix_http::ws::handshake`) and gives back the socket with
//! the bytes it read ahead; what is not an upgrade stays on actix-web untouched.
//!
//! A WebSocket request gets the same checks as any Engine.IO request (`engine_io::check`); a
//! refused one gets Node's HTTP error, and an upgrade request outside the Engine.IO path 404.

use super::engine_io::{check, TransportName};
use super::errors::EngineError;
use super::AppState;
use actix_codec::Framed;
use actix_http::body::BodySize;
use actix_http::{h1, HttpMessage, Request, Response};
use actix_web::http::StatusCode;
use actix_web::web;
use bytes::Bytes;
use chat_actors::connection::{AttachWebSocket, Connection, InitialTransport, SocketApp};
use chat_actors::metrics::METRICS;
use chat_protocol::websocket::close_frame;
use futures_util::SinkExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Serves one upgrade request: the handshake, then the socket to its session.
pub async fn handle<A: SocketApp>(
    state: web::Data<AppState<A>>,
    engine_path: std::sync::Arc<str>,
    req: Request,
    mut framed: Framed<TcpStream, h1::Codec>,
) -> std::io::Result<()> {
    let path = req.path();
    if path != &*engine_path && path.strip_suffix('/') != Some(&*engine_path) {
        return respond(&mut framed, StatusCode::NOT_FOUND, Bytes::new()).await;
    }
    let checked = match check(req.method(), req.uri().query(), req.headers(), &state) {
        Ok(checked) if checked.transport == TransportName::WebSocket => checked,
        // Long-polling does not upgrade.
        Ok(_) => return refuse(&mut framed, EngineError::BadRequest).await,
        Err(error) => return refuse(&mut framed, error).await,
    };
    let session = match &checked.sid {
        Some(sid) => match state.server.registry.get(sid) {
            Some(session) => Some(session),
            None => return refuse(&mut framed, EngineError::UnknownSid).await,
        },
        None => None,
    };
    let Ok(mut handshake) = actix_http::ws::handshake(req.head()) else {
        return refuse(&mut framed, EngineError::BadRequest).await;
    };
    framed
        .send(h1::Message::Item((
            handshake.finish().drop_body(),
            BodySize::None,
        )))
        .await?;
    let parts = framed.into_parts();
    let (stream, read) = (parts.io, parts.read_buf.freeze());
    match session {
        None => {
            let peer = stream.peer_addr().ok();
            Connection::open(
                state.server.clone(),
                InitialTransport::WebSocket { stream, read },
                peer,
            );
        }
        Some(session) => {
            let std = stream.into_std()?;
            let refused = match session.send(AttachWebSocket { stream: std, read }).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(std)) => std,
                // The session ended meanwhile: the socket goes with the message.
                Err(_) => return Ok(()),
            };
            // The session already upgraded (or is probing another WebSocket, or closing). As
            // Node does, the handshake completed and the server closes the socket at once: the
            // client sees a clean close, not an HTTP error, and the session's own WebSocket is
            // untouched.
            METRICS.error("websocket_for_upgraded_session");
            let mut stream = TcpStream::from_std(refused)?;
            stream.write_all(&close_frame(1000, "")).await?;
            stream.shutdown().await?;
        }
    }
    Ok(())
}

/// Node's HTTP error for a refused Engine.IO request, then the end of the connection.
async fn refuse(
    framed: &mut Framed<TcpStream, h1::Codec>,
    error: EngineError,
) -> std::io::Result<()> {
    let status = actix_web::ResponseError::status_code(&error);
    respond(framed, status, Bytes::from(error.counted_body())).await
}

async fn respond(
    framed: &mut Framed<TcpStream, h1::Codec>,
    status: StatusCode,
    body: Bytes,
) -> std::io::Result<()> {
    let mut response = Response::with_body(status, ());
    if !body.is_empty() {
        response.headers_mut().insert(
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::HeaderValue::from_static("application/json"),
        );
    }
    let size = BodySize::Sized(body.len() as u64);
    framed.send(h1::Message::Item((response, size))).await?;
    if !body.is_empty() {
        framed.send(h1::Message::Chunk(Some(body))).await?;
    }
    framed.send(h1::Message::Chunk(None)).await?;
    Ok(())
}
