//! The cross-node bridge: nodes sharing one Redis exchange broadcasts and presence questions
//! in the pub/sub format of Node's `socket.io-redis` adapter v6, so that Node.js socket.io
//! nodes can serve in the same cluster (SPEC §4), and watch each other's liveness.
//!
//! # Channels (Node's, `<p>` = channel prefix, default `socket.io`)
//!
//! | channel                       | direction | content                                                         |
//! |-------------------------------|-----------|-----------------------------------------------------------------|
//! | `<p>#/#`, `<p>#/#<room>#`     | both      | msgpack `[uid, {type: 2, data, nsp: "/"}, {rooms, except, flags}]` |
//! | `<p>-request#/#`              | both      | JSON requests (we send types 0 and 5, answer 0, 1 and 5)        |
//! | `<p>-response#/#`             | both      | JSON answers, matched by `requestId`                            |
//!
//! A node subscribes, on a connection of its own (pub/sub connections cannot run other
//! commands), to the request and response channels and, depending on
//! [`SubscriptionMode`]: by default (`rooms`) to `<p>#/#` plus `<p>#/#<room>#` for every user
//! room with a local socket (`room_subscriptions.rs`), or (`pattern`) to `PSUBSCRIBE <p>#/#*`.
//! It re-subscribes after every reconnect and publishes over the shared [`RedisConnection`].
//! In rooms mode the hub publishes a private message as one-room broadcasts (recipient's room,
//! sender's room), so only the nodes with a recipient receive it.
//!
//! On a Redis Cluster the nodes speak the sharded adapter's format over sharded pub/sub
//! instead (`sharded.rs`, `sharded_subscriber.rs`); liveness and presence are the same, their
//! keys and heartbeat channel pinned to one hash slot.
//!
//! # Keys of our own (node liveness)
//!
//! None of these matches `<p>#/#*`, `<p>-request#` or `<p>-response#`: Node nodes would choke.
//! `<instance>` is the node id plus a random suffix chosen at every start, so a restarted node
//! never mistakes its previous life's keys for its own (survivors reap those).
//!
//! | key                              | type   | content                                              | TTL                        |
//! |----------------------------------|--------|------------------------------------------------------|----------------------------|
//! | `chat:nodes`                     | set    | the `<instance>` of every node that ever heartbeated and was not reaped yet | none |
//! | `chat:node:<instance>:alive`     | string | the node id (the `uid` of its broadcasts)            | heartbeat TTL (6 s)        |
//! | `chat:node:<instance>:users`     | hash   | userID → JSON `{"sessionID","username"}` of every user with a socket on that node | 1 day, refreshed by heartbeats |
//! | `chat:node:<instance>:reaper`    | string | instance id of the survivor reaping that node (`SET NX` lock) | 15 s                |
//!
//! Every node refreshes its `alive` key every 2 s. Every second each node reads `chat:nodes`
//! (one `SMEMBERS`, no `SCAN`) and checks the `alive` keys; a node whose key expired is dead:
//! one survivor takes its lock, asks every node (one type 5 request per batch of users) which
//! of the dead node's users still have a socket somewhere, saves the others' sessions with
//! `connected: false`, broadcasts `user disconnected` for them, then deletes the dead node's
//! keys. A killed node's users are thus announced within about 6 + 1 + 1 s.
//!
//! # Pieces
//!
//! - [`RedisBridge`] (`redis_bridge.rs`): the actor the hub talks to; publishes its broadcasts,
//!   answers its presence questions, dispatches what the subscriber receives.
//! - `publisher.rs`: one ordered, batching PUBLISH queue.
//! - `subscriber.rs`: the pub/sub connection and its reconnect loop.
//! - `room_subscriptions.rs`: which room channels to subscribe; the hub's [`RoomWatch`].
//! - `requests.rs`: our outgoing requests and the counting of their answers.
//! - `answers.rs`: answering other nodes' requests as Node's adapter does.
//! - `liveness.rs` / `reaper.rs`: this node's heartbeat and user list; reaping dead nodes.

mod answers;
mod channels;
mod error;
pub mod heartbeat;
pub mod keys;
mod liveness;
mod membership;
mod messages;
mod node_users;
mod peers;
mod presence;
mod publisher;
mod reaper;
mod redis_bridge;
mod requests;
mod room_subscriptions;
mod sharded;
mod sharded_subscriber;
mod subscriber;

pub use self::channels::Channels;
pub use self::error::BridgeError;
pub use self::liveness::NodeLiveness;
pub use self::messages::{
    AskPeers, BridgeStatus, Inbound, NodesHolding, PeerQuery, PeerReport, StatusReport,
    SubscriptionChanged,
};
pub use self::reaper::DeadNodeReaper;
pub use self::redis_bridge::RedisBridge;
pub use self::room_subscriptions::{RoomWatch, SubscriptionMode};

use crate::hub::{ChatHub, SetPeers, WatchRooms};
use crate::store::{RedisConnection, SessionStore};
use actix::{Actor, Addr};
use std::time::Duration;

/// How a node takes part in the cluster.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// The Redis the cluster shares; the subscriber opens its own connection to it.
    pub redis_url: String,
    /// Seed nodes of a Redis Cluster. When not empty, `redis_url` is unused and the nodes talk
    /// in the sharded adapter's format over sharded pub/sub (`sharded.rs`).
    pub cluster_urls: Vec<String>,
    /// This node's `uid` in broadcasts and requests (a short string).
    pub node_id: String,
    /// `<p>` of the channel names.
    pub channel_prefix: String,
    /// Pattern subscription (every broadcast reaches every node) or room subscriptions (a
    /// broadcast to one room reaches only the nodes holding a socket of it).
    pub subscription_mode: SubscriptionMode,
    /// How long to wait for the other nodes' answers to a request; a missing answer after it
    /// means "unknown".
    pub request_timeout: Duration,
    /// Bound on connecting and subscribing, and on a keep-alive PING of the pub/sub connection.
    pub redis_timeout: Duration,
    pub liveness: LivenessConfig,
}

/// Timing of node liveness.
#[derive(Debug, Clone, Copy)]
pub struct LivenessConfig {
    /// How often a node refreshes its `alive` key.
    pub heartbeat_every: Duration,
    /// Lifetime of the `alive` key: a node is dead once it missed this long of heartbeats.
    pub heartbeat_ttl: Duration,
    /// How often survivors look for dead nodes.
    pub check_every: Duration,
    /// Lifetime of a node's user list after its last heartbeat (a safety net should nobody
    /// ever reap it).
    pub users_ttl: Duration,
    /// Lifetime of a reaper's lock (one reaping takes far less).
    pub reaper_lock_ttl: Duration,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        LivenessConfig {
            heartbeat_every: Duration::from_secs(2),
            heartbeat_ttl: Duration::from_secs(6),
            check_every: Duration::from_secs(1),
            users_ttl: Duration::from_secs(86_400),
            reaper_lock_ttl: Duration::from_secs(15),
        }
    }
}

impl BridgeConfig {
    /// Default timings: answers within 1 s, heartbeat every 2 s with a 6 s TTL.
    pub fn new(redis_url: &str, node_id: &str, channel_prefix: &str) -> BridgeConfig {
        BridgeConfig {
            redis_url: redis_url.to_owned(),
            cluster_urls: Vec::new(),
            node_id: node_id.to_owned(),
            channel_prefix: channel_prefix.to_owned(),
            subscription_mode: SubscriptionMode::default(),
            request_timeout: Duration::from_secs(1),
            redis_timeout: RedisConnection::DEFAULT_TIMEOUT,
            liveness: LivenessConfig::default(),
        }
    }
}

impl BridgeConfig {
    /// Whether the nodes share a Redis Cluster.
    pub fn is_sharded(&self) -> bool {
        !self.cluster_urls.is_empty()
    }

    /// The heartbeat channel; on a cluster it carries the hash tag of the liveness keys, so
    /// that the heartbeat's `SPUBLISH` fits in their `MULTI` (see `sharded.rs`).
    pub fn heartbeat_channel(&self) -> String {
        let channel = heartbeat::heartbeat_channel(&self.channel_prefix);
        if self.is_sharded() {
            format!("{channel}{}", sharded::LIVENESS_TAG)
        } else {
            channel
        }
    }

    /// A new instance id (`<node-id>.<random>`, tagged on a cluster: see `sharded.rs`).
    fn new_instance(&self) -> String {
        let instance = format!("{}.{}", self.node_id, crate::engine::random_hex(4));
        if self.is_sharded() {
            format!("{instance}{}", sharded::LIVENESS_TAG)
        } else {
            instance
        }
    }
}

/// Starts the bridge of this node (publisher, subscriber, liveness and reaper) and connects
/// the hub to it. Never touches the network itself: a Redis that is down at start is
/// reconnected to in the background. Fails only on an unparsable Redis URL.
pub fn start_bridge(
    config: BridgeConfig,
    hub: Addr<ChatHub>,
    sessions: Addr<SessionStore>,
    conn: RedisConnection,
) -> Result<Addr<RedisBridge>, BridgeError> {
    let instance = config.new_instance();
    let bridge = RedisBridge::new(&config, &instance, hub.clone(), conn.clone()).start();
    let (room_watch, room_changes) = RoomWatch::new();
    let heartbeat = config.heartbeat_channel();
    let channels = Channels::new(&config.channel_prefix);
    if config.is_sharded() {
        sharded_subscriber::spawn(
            sharded_subscriber::ShardedSubscriberConfig {
                urls: config.cluster_urls.clone(),
                fixed: vec![
                    channels.broadcast.clone(),
                    sharded::response_channel(&channels, &config.node_id),
                    heartbeat.clone(),
                ],
                channels,
                timeout: config.redis_timeout,
            },
            bridge.clone().recipient(),
            bridge.clone().recipient(),
            room_changes,
        );
    } else {
        let client = redis::Client::open(config.redis_url.as_str())
            .map_err(|e| BridgeError::InvalidUrl(e.to_string()))?;
        subscriber::spawn(
            subscriber::SubscriberConfig {
                client,
                channels,
                mode: config.subscription_mode,
                heartbeat: heartbeat.clone(),
                timeout: config.redis_timeout,
            },
            bridge.clone().recipient(),
            bridge.clone().recipient(),
            room_changes,
        );
    }
    // Sharded pub/sub is always in rooms mode (the sharded adapter's `dynamic`).
    if config.subscription_mode == SubscriptionMode::Rooms || config.is_sharded() {
        // In pattern mode the watch is dropped here: the subscriber then ignores rooms.
        hub.do_send(WatchRooms(room_watch));
    }
    let liveness = NodeLiveness::new(
        instance.clone(),
        config.node_id.clone(),
        conn.clone(),
        config.liveness,
        heartbeat,
    )
    .start();
    if !config.is_sharded() {
        // One SCAN of `session:*`; a cluster would need one per shard: there, users of Node
        // nodes are learned from their broadcasts only.
        node_users::learn_at_start(conn.clone());
    }
    // Both run timers, which keep them alive for the life of the node.
    DeadNodeReaper::new(
        instance,
        conn,
        hub.clone(),
        sessions,
        bridge.clone(),
        config.liveness,
    )
    .start();
    hub.do_send(SetPeers {
        peers: bridge.clone().recipient(),
        publish: bridge.clone().recipient(),
        presence: liveness.recipient(),
    });
    Ok(bridge)
}
