//! The cluster: nodes sharing one Redis (or one Redis Cluster) exchange broadcasts and
//! questions about their sockets in the pub/sub formats of Node's adapters, so that Node.js
//! socket.io nodes can serve in the same cluster (SPEC §4).
//!
//! # How a broadcast travels
//! The hub delivers a broadcast to its local sockets and hands it to the [`RedisBridge`] (by
//! way of the hub's cluster port, built in `node/`), which encodes it in the cluster's
//! [`WireFormat`] and queues it on the one [`Publisher`](publisher) of the node (one ordered,
//! batching queue, so that a user's two messages never swap). Every other node's subscriber
//! receives it on a connection of its own and hands it to its bridge, which decodes it and
//! delivers it to its local sockets through its [`LocalNode`] port.
//!
//! # Subscriptions ([`SubscriptionMode`], `room_subscriptions.rs`)
//! By default (`rooms`) a node subscribes the namespace channel `<p>#/#` and, for every user
//! room with a local socket, `<p>#/#<room>#`; the hub then publishes a private message as
//! one-room broadcasts (recipient's room, sender's room), so only the nodes with a recipient
//! receive it. `pattern` keeps socket.io-redis 6's `PSUBSCRIBE <p>#/#*`. On a Redis Cluster the
//! nodes speak the sharded adapter's format over sharded pub/sub, always per room. The
//! subscriber (`subscriber/`) re-subscribes everything after every reconnect.
//!
//! # Questions to the other nodes (`requests.rs`, `answers.rs`)
//! "Which sockets are in these rooms?" ([`AskPeers`]): the number of answers due is the
//! request channel's subscriber count minus ourselves (at least our live peers); a missing
//! answer after the timeout is "unknown", never "nobody". We answer other nodes' requests of
//! types 0, 1 and 5 (and `FETCH_SOCKETS` on a cluster) as Node's adapter does.
//!
//! Presence (`crate::presence`) uses all of this, and listens to its own heartbeat channel on
//! the subscriber's connection.
//!
//! | file | what |
//! |---|---|
//! | `bridge.rs` | [`RedisBridge`]: publishing, receiving, asking and answering |
//! | `local_node.rs` | [`LocalNode`]: the cluster's port to this node |
//! | `wire/` | [`WireFormat`]: the classic and the sharded formats |
//! | `subscriber/` | the subscribed connection and its reconnect loop, both kinds |
//! | `publisher.rs` | the one ordered, batching publishing queue |
//! | `room_subscriptions.rs` | which room channels to subscribe; the hub's [`RoomWatch`] |
//! | `requests.rs`, `answers.rs` | our requests and their answers; answering others |
//! | `channels.rs` | channel names |
//! | `messages.rs`, `error.rs` | the bridge's messages and errors |

mod answers;
mod bridge;
mod channels;
mod error;
mod local_node;
mod messages;
mod publisher;
mod requests;
mod room_subscriptions;
mod subscriber;
pub mod wire;

pub use self::bridge::RedisBridge;
pub use self::channels::Channels;
pub use self::error::BridgeError;
pub use self::local_node::{Describer, LocalNode, SocketRooms};
pub use self::messages::{
    AskPeers, BridgeStatus, CatchUp, Inbound, NodesHolding, PeerQuery, PeerReport, Publish,
    StatusReport, SubscriptionChanged,
};
pub use self::room_subscriptions::{RoomWatch, SubscriptionMode};

use self::room_subscriptions::RoomSubscriptions;
use self::subscriber::{keep_subscribed, ClassicConnector, Forward, ShardedConnector, Subscriber};
use self::wire::{Classic, Sharded, WireFormat};
use crate::store::RedisConnection;
use actix::{Actor, Addr, Recipient};
use std::time::Duration;

/// How a node takes part in the cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The Redis the cluster shares; the subscriber opens its own connection to it.
    pub redis_url: String,
    /// Seed nodes of a Redis Cluster. When not empty, `redis_url` is unused and the nodes talk
    /// in the sharded adapter's format over sharded pub/sub.
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
}

impl ClusterConfig {
    /// Default timings: answers within 1 s, Redis operations within 2 s.
    pub fn new(redis_url: &str, node_id: &str, channel_prefix: &str) -> ClusterConfig {
        ClusterConfig {
            redis_url: redis_url.to_owned(),
            cluster_urls: Vec::new(),
            node_id: node_id.to_owned(),
            channel_prefix: channel_prefix.to_owned(),
            subscription_mode: SubscriptionMode::default(),
            request_timeout: Duration::from_secs(1),
            redis_timeout: RedisConnection::DEFAULT_TIMEOUT,
        }
    }

    /// Whether the nodes share a Redis Cluster.
    pub fn is_sharded(&self) -> bool {
        !self.cluster_urls.is_empty()
    }

    /// The subscription mode in effect: sharded pub/sub is always per room (the sharded
    /// adapter's `dynamic`).
    pub fn mode(&self) -> SubscriptionMode {
        if self.is_sharded() {
            SubscriptionMode::Rooms
        } else {
            self.subscription_mode
        }
    }
}

/// Someone besides the bridge listening on the cluster's pub/sub connection: `channel`'s
/// messages go to `inbound`; `changes` hears every subscription change.
pub struct Listener {
    pub channel: String,
    pub inbound: Recipient<Inbound>,
    pub changes: Recipient<SubscriptionChanged>,
}

/// A running bridge, and the handle the hub reports its room changes to (`None` in pattern
/// mode, where nothing is subscribed per room).
pub struct Cluster {
    pub bridge: Addr<RedisBridge>,
    pub rooms: Option<RoomWatch>,
}

/// Starts the bridge of this node and its subscriber. Never touches the network itself: a
/// Redis that is down at start is reconnected to in the background. Fails only on an
/// unparsable Redis URL.
pub fn start(
    config: &ClusterConfig,
    local: Box<dyn LocalNode>,
    conn: RedisConnection,
    listeners: Vec<Listener>,
) -> Result<Cluster, BridgeError> {
    let channels = Channels::new(&config.channel_prefix);
    let mode = config.mode();
    let client = match config.is_sharded() {
        true => None,
        false => Some(
            redis::Client::open(config.redis_url.as_str())
                .map_err(|e| BridgeError::InvalidUrl(e.to_string()))?,
        ),
    };
    let wire: Box<dyn WireFormat> = if config.is_sharded() {
        Box::new(Sharded::new(&config.node_id, channels.clone()))
    } else {
        Box::new(Classic::new(&config.node_id, channels.clone(), mode))
    };
    let mut fixed = wire.fixed_channels();
    fixed.extend(listeners.iter().map(|l| l.channel.clone()));
    let bridge = RedisBridge::new(
        &config.node_id,
        wire,
        local,
        conn,
        (channels.clone(), mode),
        config.request_timeout,
    )
    .start();
    let (room_watch, room_changes) = RoomWatch::new();
    let mut watchers = vec![bridge.clone().recipient()];
    watchers.extend(listeners.iter().map(|l| l.changes.clone()));
    let forward = Forward {
        bridge: bridge.clone().recipient(),
        listeners: listeners
            .into_iter()
            .map(|l| (l.channel, l.inbound))
            .collect(),
        watchers,
        // On a cluster a slot move drops room channels now and then: the histories tell what
        // the local sockets missed (`Delivery::tracking_recent`).
        catch_up: config.is_sharded().then(|| bridge.clone().recipient()),
    };
    let rooms = RoomSubscriptions::new(channels.clone());
    if let Some(client) = client {
        let pattern = (mode == SubscriptionMode::Pattern).then(|| channels.pattern.clone());
        actix::spawn(keep_subscribed(Subscriber {
            connector: ClassicConnector { client, pattern },
            fixed,
            rooms,
            changes: Some(room_changes),
            forward,
            timeout: config.redis_timeout,
        }));
    } else {
        let connector = ShardedConnector {
            urls: config.cluster_urls.clone(),
            timeout: config.redis_timeout,
            home: channels.broadcast.clone(),
        };
        actix::spawn(keep_subscribed(Subscriber {
            connector,
            fixed,
            rooms,
            changes: Some(room_changes),
            forward,
            timeout: config.redis_timeout,
        }));
    }
    // In pattern mode the watch is dropped here: the subscriber then ignores rooms.
    let rooms = (mode == SubscriptionMode::Rooms).then_some(room_watch);
    Ok(Cluster { bridge, rooms })
}
