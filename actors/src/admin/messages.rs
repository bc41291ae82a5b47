//! What connections tell the admin hub, and what it tells them.

use super::commands::Command;
use crate::transport::Frame;
use actix::prelude::*;
use serde_json::Value;
use std::sync::Arc;

/// To an admin UI's connection: frames of one event on the admin namespace.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AdminPush {
    pub frames: Arc<[Frame]>,
}

/// To any socket's connection: what a dashboard command does to that socket.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub enum AdminOrder {
    /// Leave the namespace (`close`: end the whole session).
    Disconnect { socket_id: String, close: bool },
    /// Emit `data` (`[event, ...args]`) on namespace `nsp`.
    Emit { nsp: String, data: Arc<Value> },
}

/// An admin UI connected: it is sent `config` and `all_sockets`, then every event.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AdminJoined {
    pub socket_id: String,
    pub push: Recipient<AdminPush>,
}

/// An admin UI left.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AdminLeft {
    pub socket_id: String,
}

/// A socket (already in the directory) connected; it then joins `rooms` too.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SocketConnected {
    pub socket_id: String,
    pub rooms: Vec<String>,
}

/// Sockets of one session changed transport (the upgrade to WebSocket).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TransportChanged {
    /// Socket id and namespace of each.
    pub sockets: Vec<(String, String)>,
    pub transport: &'static str,
}

/// A socket left (its directory entry is gone already).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SocketDisconnected {
    pub nsp: String,
    pub socket_id: String,
    pub reason: String,
    pub rooms: Vec<String>,
}

/// A chat socket sent an event (only when the operator shows events).
#[derive(Message)]
#[rtype(result = "()")]
pub struct EventReceived {
    pub nsp: String,
    pub socket_id: String,
    pub data: Vec<Value>,
}

/// A command of a dashboard connected here, applied to the whole cluster.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RunCommand(pub Command);

/// Another node's request to apply a command here (adapter request types 2, 3, 4), as
/// received.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoteRequest {
    pub payload: Vec<u8>,
}
