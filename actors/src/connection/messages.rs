//! Messages the HTTP layer sends to a connection actor (what its WebSockets read comes as
//! [`crate::transport::WsIn`], from their readers).

use crate::transport::PollReply;
use actix::prelude::*;
use bytes::Bytes;
use tokio::sync::oneshot;

/// A long-polling GET. Answered with a receiver of the response body, so the actor never
/// blocks on the request.
#[derive(Message)]
#[rtype(result = "Result<oneshot::Receiver<PollReply>, RequestRefused>")]
pub struct Poll;

/// A long-polling POST body (already bounded to `maxPayload` by the HTTP layer).
#[derive(Message)]
#[rtype(result = "Result<(), RequestRefused>")]
pub struct Post(pub Bytes);

/// Why the actor refused an HTTP request on its session (the HTTP layer answers 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestRefused {
    /// A second GET while one is pending: the session is closed, as Node does.
    DuplicatePoll,
    /// Polling request on a session that is no longer polling (it upgraded).
    WrongTransport,
    /// The body was not a valid payload: the session is closed.
    Malformed,
    /// The session is closing.
    Closed,
}

/// A WebSocket opened with this session's sid, its handshake done: the probe of a polling ->
/// WebSocket upgrade. The socket comes as a std stream, so that an actor on another worker
/// thread can register it with its own; `read` is what was read after the request. A refused
/// socket is handed back (the caller closes it).
#[derive(Message)]
#[rtype(result = "Result<(), std::net::TcpStream>")]
pub struct AttachWebSocket {
    pub stream: std::net::TcpStream,
    pub read: Bytes,
}

/// Closes the session cleanly (a close packet, then the transport), e.g. when draining.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseSession {
    pub reason: &'static str,
}
