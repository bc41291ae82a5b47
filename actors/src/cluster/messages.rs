//! Messages of the [`RedisBridge`](super::RedisBridge) actor and of its subscriber.

use crate::event::OutboundEvent;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// Publishes a broadcast (already delivered to the local sockets) for the other nodes: to
/// the sockets in any of `rooms` (all when empty), except those in any room of `except`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish {
    pub rooms: Vec<String>,
    pub except: Vec<String>,
    pub event: Arc<OutboundEvent>,
}

/// From the subscriber: one message received on `channel` (to the bridge, or to whoever
/// listens to that channel).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Inbound {
    pub channel: String,
    pub payload: Vec<u8>,
}

/// From the subscriber, to the bridge and to every watcher: the subscriptions are in place
/// (`true`, after every (re)connect) or the pub/sub connection was lost (`false`). While
/// unsubscribed no answer can be received, so requests are not even sent.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct SubscriptionChanged(pub bool);

/// From the subscriber, to the bridge: the subscriptions are back after they were lost (a slot
/// moved, a master failed over, Redis was unreachable); what was published meanwhile to the
/// channels of `rooms` reached no socket here. `since_ms` (ms since the epoch): when the
/// subscriber last knew it was subscribed.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct CatchUp {
    pub rooms: Vec<String>,
    pub since_ms: u64,
}

/// What to ask the other nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerQuery {
    /// Type 0: ids of the sockets in any of `rooms`.
    SocketIds { rooms: Vec<String> },
    /// Type 5: ids and rooms of the sockets in any of `rooms`.
    SocketRooms { rooms: Vec<String> },
    /// Type 5 as well, keeping every socket's whole `{id, handshake, rooms, data}` (for the
    /// admin UI's `all_sockets`).
    SocketDetails { rooms: Vec<String> },
}

/// Asks every other node. `None` when nobody could be asked (Redis down, not subscribed).
#[derive(Message, Debug)]
#[rtype(result = "Option<PeerReport>")]
pub struct AskPeers {
    pub query: PeerQuery,
    /// How many of our own peers are live by their heartbeats (presence knows): they are due
    /// to answer even if Redis does not count them yet (it just restarted).
    pub known_peers: usize,
}

/// What the other nodes answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerReport {
    /// How many answers were due (`PUBSUB NUMSUB` of the request channel minus ourselves).
    pub expected: usize,
    /// How many of the expected are our own peers, live by their heartbeats (the rest of
    /// `expected` is the `NUMSUB` surplus: Node nodes, or an operator's `redis-cli`).
    pub known_peers: usize,
    /// How many arrived before the timeout.
    pub answered: usize,
    /// Socket id → its rooms (empty for type 0 answers, which carry ids only).
    pub sockets: HashMap<String, Vec<String>>,
    /// For [`PeerQuery::SocketDetails`]: each socket as answered, `{id, handshake, rooms, data}`.
    pub details: Vec<serde_json::Value>,
}

impl PeerReport {
    /// Every node that was due to answer did.
    pub fn is_complete(&self) -> bool {
        self.answered >= self.expected
    }

    /// At least as many answers as we have heartbeating peers: whatever is missing is, most
    /// likely, the `NUMSUB` surplus (counted, not identified: answers carry no sender).
    pub fn known_peers_answered(&self) -> bool {
        self.answered >= self.known_peers
    }

    /// Answers still missing.
    pub fn missing(&self) -> usize {
        self.expected.saturating_sub(self.answered)
    }
}

/// How many of our nodes hold a socket in `room`: `PUBSUB NUMSUB <p>#/#<room>#`, exact in
/// room-subscription mode (each of our nodes subscribes a user room while it holds a socket of
/// it; Node nodes and operators' `PSUBSCRIBE`s are not counted, an operator's `SUBSCRIBE` of
/// that very channel would be). `None` in pattern mode, where nothing is subscribed per room,
/// or when Redis cannot be asked. Presence does not use it (yet): it answers for our nodes only.
#[derive(Message, Debug)]
#[rtype(result = "Option<usize>")]
pub struct NodesHolding {
    pub room: String,
}

/// The bridge's state, for tests and diagnostics.
#[derive(Message, Debug)]
#[rtype(result = "StatusReport")]
pub struct BridgeStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, MessageResponse)]
pub struct StatusReport {
    pub subscribed: bool,
    /// Successful (re)subscriptions since start.
    pub subscriptions: u64,
    /// Requests of ours still waiting for answers.
    pub pending_requests: usize,
}
