//! A node of the cluster under test (stores over Redis, hub, bridge, presence), the "tabs"
//! standing in for its connections, and what the tests read of Redis themselves.
//!
//! A "tab" stands in for a connection: its outbox (on long-polling, so that the test reads what
//! it was given) receives exactly what a real socket's would (the Engine.IO frames of the
//! event).

use crate::support::redis_server::RedisServer;
use actix::prelude::*;
use chat_actors::chat::ChatLimits;
use chat_actors::cluster::{BridgeStatus, ClusterConfig, RedisBridge};
use chat_actors::event::OutboundEvent;
use chat_actors::hub::{ChatHub, Join};
use chat_actors::metrics::METRICS;
use chat_actors::node::{self, NodeConfig};
use chat_actors::presence::{remote_sockets, Leave, LivenessConfig, Membership};
use chat_actors::recovery::RecoveryConfig;
use chat_actors::store::{RedisConnection, Session};
use chat_actors::transport::{Frame, Outbox, PollReply};
use redis::aio::MultiplexedConnection;
use serde_json::Value;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const PREFIX: &str = "socket.io";
/// Long enough for any cross-node hop on a loaded CI machine.
pub const HOP: Duration = Duration::from_secs(3);

pub struct TestNode {
    pub id: String,
    pub hub: Addr<ChatHub>,
    pub bridge: Addr<RedisBridge>,
    pub membership: Addr<Membership>,
    pub conn: RedisConnection,
}

/// Fast liveness, so that a dead node is found within about a second.
pub fn fast_liveness() -> LivenessConfig {
    LivenessConfig {
        heartbeat_every: Duration::from_millis(200),
        heartbeat_ttl: Duration::from_millis(1000),
        check_every: Duration::from_millis(200),
        users_ttl: Duration::from_secs(60),
        reaper_lock_ttl: Duration::from_secs(5),
    }
}

/// A node on `url` with the tests' timings and no recovery.
pub fn node_config(url: &str, node_id: &str) -> NodeConfig {
    NodeConfig {
        session_ttl: Duration::from_secs(3600),
        message_ttl: Duration::from_secs(3600),
        history_limit: 100,
        limits: ChatLimits::default(),
        recovery: RecoveryConfig::OFF,
        presence_grace: Duration::ZERO,
        cluster: Some(ClusterConfig {
            request_timeout: Duration::from_millis(500),
            redis_timeout: Duration::from_millis(500),
            ..ClusterConfig::new(url, node_id, PREFIX)
        }),
        liveness: fast_liveness(),
        admin: None,
    }
}

/// Starts a node on the current actix system (not waiting for anything).
pub fn spawn_node(url: &str, node_id: &str) -> TestNode {
    let conn = RedisConnection::new(url, Duration::from_millis(500)).expect("url");
    let started = node::start(node_config(url, node_id), Some(conn.clone()));
    TestNode {
        id: node_id.to_owned(),
        hub: started.services.hub.clone(),
        bridge: started.bridge.expect("a node with Redis has a bridge"),
        membership: started.membership.expect("and a membership"),
        conn,
    }
}

/// Starts a node on the current actix system and waits until its bridge is subscribed.
pub async fn start_node(server: &RedisServer, node_id: &str) -> TestNode {
    let node = spawn_node(&server.url(), node_id);
    wait_subscribed(&node, 1).await;
    node
}

/// Two nodes that know of each other (each counts the other in NUMSUB).
pub async fn two_nodes(server: &RedisServer) -> (TestNode, TestNode) {
    let a = start_node(server, "node-a").await;
    let b = start_node(server, "node-b").await;
    (a, b)
}

/// Waits until the node's bridge has subscribed at least `times` times and is subscribed now.
pub async fn wait_subscribed(node: &TestNode, times: u64) {
    let bridge = node.bridge.clone();
    eventually(&format!("{} subscribed {times}x", node.id), || {
        let bridge = bridge.clone();
        async move {
            let status = bridge.send(BridgeStatus).await.ok()?;
            (status.subscribed && status.subscriptions >= times).then_some(())
        }
    })
    .await;
}

/// Waits until `node` hears the heartbeats of the nodes `peers` (their ids).
pub async fn wait_hears(node: &TestNode, peers: &[&str]) {
    let membership = node.membership.clone();
    let wanted: Vec<String> = peers.iter().map(|p| p.to_string()).collect();
    eventually(&format!("{} hears {peers:?}", node.id), || {
        let membership = membership.clone();
        let wanted = wanted.clone();
        async move {
            let live = membership
                .send(chat_actors::presence::LivePeerIds)
                .await
                .ok()?;
            wanted.iter().all(|p| live.contains(p)).then_some(())
        }
    })
    .await;
}

/// How many sockets the other nodes hold in `room`, as `node`'s presence question finds it
/// (`None`: unknown).
pub async fn sockets_elsewhere(node: &TestNode, room: &str) -> Option<usize> {
    remote_sockets(
        node.bridge.clone(),
        node.membership.clone(),
        node.conn.clone(),
        vec![room.into()],
    )
    .await
}

pub fn event(name: &str, args: Vec<Value>) -> std::sync::Arc<OutboundEvent> {
    OutboundEvent::new(name, args)
}

// ---------------------------------------------------------------------------------------
// Tabs: stand-ins for connections, reading what is routed to their outbox.

pub struct Tab {
    socket_id: String,
    user_id: String,
    outbox: Arc<Outbox>,
    /// Frames of a GET's answer not yet handed out.
    frames: VecDeque<Frame>,
}

pub fn session_id_of(user_id: &str) -> String {
    format!("sess-{user_id}")
}

pub async fn open_tab(node: &TestNode, socket_id: &str, user_id: &str) -> Tab {
    let outbox = Outbox::new(1 << 20);
    node.hub
        .send(Join {
            socket_id: socket_id.to_owned(),
            user_id: user_id.to_owned(),
            session_id: session_id_of(user_id),
            username: format!("name-{user_id}"),
            outbox: outbox.clone(),
        })
        .await
        .expect("hub alive");
    Tab {
        socket_id: socket_id.to_owned(),
        user_id: user_id.to_owned(),
        outbox,
        frames: VecDeque::new(),
    }
}

/// The frames of a long-polling body (text as is, binary as `b<base64>`).
fn frames_of(body: &str) -> impl Iterator<Item = Frame> + '_ {
    use base64::Engine as _;
    body.split('\u{1e}')
        .map(|part| match part.strip_prefix('b') {
            Some(encoded) => Frame::Binary(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .unwrap_or_default()
                    .into(),
            ),
            None => Frame::Text(part.to_owned().into()),
        })
}

impl Tab {
    pub async fn next_frame(&mut self, within: Duration) -> Option<Frame> {
        if let Some(frame) = self.frames.pop_front() {
            return Some(frame);
        }
        let reply = self.outbox.poll().expect("one GET at a time");
        match tokio::time::timeout(within, reply).await {
            Ok(Ok(PollReply::Body(body))) => self.frames.extend(frames_of(&body)),
            _ => return None,
        }
        self.frames.pop_front()
    }

    /// The next text frame, which must come within [`HOP`].
    pub async fn next_text(&mut self) -> String {
        match self.next_frame(HOP).await {
            Some(Frame::Text(text)) => text.to_string(),
            other => panic!(
                "tab {}: expected a text frame, got {other:?}",
                self.socket_id
            ),
        }
    }

    /// The next event as `[name, ...args]`.
    pub async fn next_event(&mut self) -> Value {
        let text = self.next_text().await;
        let json = text
            .strip_prefix("42")
            .unwrap_or_else(|| panic!("not an EVENT frame: {text}"));
        serde_json::from_str(json).expect("event JSON")
    }

    /// Nothing arrived so far (call after a positive sync point: an event that must come
    /// after anything this tab must not get).
    pub fn expect_nothing_yet(&mut self) {
        let mut left: Vec<Frame> = self.frames.drain(..).collect();
        left.extend(self.outbox.take_queued());
        if let Some(frame) = left.first() {
            panic!("tab {}: expected nothing, got {frame:?}", self.socket_id);
        }
    }

    pub async fn leave(self, node: &TestNode) {
        node.hub
            .send(Leave {
                socket_id: self.socket_id.clone(),
                user_id: self.user_id.clone(),
                session_id: session_id_of(&self.user_id),
                session: Session {
                    user_id: self.user_id.clone(),
                    username: format!("name-{}", self.user_id),
                    connected: true,
                },
                recoverable: false,
            })
            .await
            .expect("hub alive");
    }
}

// ---------------------------------------------------------------------------------------
// Redis seen from the test itself.

pub async fn raw(server: &RedisServer) -> MultiplexedConnection {
    redis::Client::open(server.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection to the test redis")
}

pub async fn raw_pubsub(server: &RedisServer) -> redis::aio::PubSub {
    redis::Client::open(server.url())
        .expect("url")
        .get_async_pubsub()
        .await
        .expect("raw pubsub connection")
}

pub async fn publish(conn: &mut MultiplexedConnection, channel: &str, payload: &[u8]) {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async::<i64>(conn)
        .await
        .expect("PUBLISH");
}

/// Retries `probe` every 20 ms until it yields `Some`, failing after 10 s.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        actix::clock::sleep(Duration::from_millis(20)).await;
    }
}

pub fn error_count(kind: &str) -> u64 {
    METRICS.errors.with_label_values(&[kind]).get()
}
