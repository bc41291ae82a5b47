//! The cross-node bridge against a real `redis-server` (one per test, on a free port): two
//! hubs with their bridges in one process exchange broadcasts in Node's wire format, answer
//! each other's requests, survive garbage on the channels and a Redis restart, and announce
//! the users of a node that died.
//!
//! A "tab" here is a tiny actor standing in for a connection: it receives exactly what the
//! hub would hand a real socket (the Engine.IO frames of the event).

mod support;

use actix::prelude::*;
use chat_actors::bridge::{
    start_bridge, BridgeConfig, BridgeStatus, LivenessConfig, NodesHolding, RedisBridge,
};
use chat_actors::engine::Frame;
use chat_actors::hub::{Broadcast, ChatHub, Deliver, Join, Leave, OutboundEvent, PeerSockets};
use chat_actors::metrics::METRICS;
use chat_actors::store::{RedisConnection, RedisSessions, Session, SessionStore};
use chat_protocol::adapter::decode_broadcast;
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};
use support::redis_server::RedisServer;
use tokio::sync::mpsc;

const PREFIX: &str = "socket.io";
/// Long enough for any cross-node hop on a loaded CI machine.
const HOP: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------------------------------
// A node: session store over Redis, hub, bridge.

struct TestNode {
    id: String,
    hub: Addr<ChatHub>,
    bridge: Addr<RedisBridge>,
}

fn config(server: &RedisServer, node_id: &str) -> BridgeConfig {
    BridgeConfig {
        request_timeout: Duration::from_millis(500),
        redis_timeout: Duration::from_millis(500),
        liveness: LivenessConfig {
            heartbeat_every: Duration::from_millis(200),
            heartbeat_ttl: Duration::from_millis(1000),
            check_every: Duration::from_millis(200),
            users_ttl: Duration::from_secs(60),
            reaper_lock_ttl: Duration::from_secs(5),
        },
        ..BridgeConfig::new(&server.url(), node_id, PREFIX)
    }
}

/// Starts a node on the current actix system and waits until its bridge is subscribed.
async fn start_node(server: &RedisServer, node_id: &str) -> TestNode {
    let conn = RedisConnection::new(&server.url(), Duration::from_millis(500)).expect("url");
    let sessions = SessionStore::new(Box::new(RedisSessions::new(conn.clone(), 3600))).start();
    let hub = ChatHub::new(sessions.clone()).start();
    let bridge =
        start_bridge(config(server, node_id), hub.clone(), sessions, conn).expect("bridge starts");
    let node = TestNode {
        id: node_id.to_owned(),
        hub,
        bridge,
    };
    wait_subscribed(&node, 1).await;
    node
}

/// Waits until the node's bridge has subscribed at least `times` times and is subscribed now.
async fn wait_subscribed(node: &TestNode, times: u64) {
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

fn event(name: &str, args: Vec<Value>) -> std::sync::Arc<OutboundEvent> {
    OutboundEvent::new(name, args)
}

// ---------------------------------------------------------------------------------------
// Tabs: stand-ins for connections, recording what the hub delivers.

struct TabActor(mpsc::UnboundedSender<Frame>);

impl Actor for TabActor {
    type Context = Context<Self>;
}

impl Handler<Deliver> for TabActor {
    type Result = ();
    fn handle(&mut self, msg: Deliver, _: &mut Context<Self>) {
        for frame in msg.0.iter() {
            let _ = self.0.send(frame.clone());
        }
    }
}

struct Tab {
    socket_id: String,
    user_id: String,
    frames: mpsc::UnboundedReceiver<Frame>,
    _actor: Addr<TabActor>,
}

fn session_id_of(user_id: &str) -> String {
    format!("sess-{user_id}")
}

async fn open_tab(node: &TestNode, socket_id: &str, user_id: &str) -> Tab {
    let (tx, frames) = mpsc::unbounded_channel();
    let actor = TabActor(tx).start();
    node.hub
        .send(Join {
            socket_id: socket_id.to_owned(),
            user_id: user_id.to_owned(),
            session_id: session_id_of(user_id),
            username: format!("name-{user_id}"),
            recipient: actor.clone().recipient(),
        })
        .await
        .expect("hub alive");
    Tab {
        socket_id: socket_id.to_owned(),
        user_id: user_id.to_owned(),
        frames,
        _actor: actor,
    }
}

impl Tab {
    async fn next_frame(&mut self, within: Duration) -> Option<Frame> {
        tokio::time::timeout(within, self.frames.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next text frame, which must come within [`HOP`].
    async fn next_text(&mut self) -> String {
        match self.next_frame(HOP).await {
            Some(Frame::Text(text)) => text.to_string(),
            other => panic!(
                "tab {}: expected a text frame, got {other:?}",
                self.socket_id
            ),
        }
    }

    /// The next event as `[name, ...args]`.
    async fn next_event(&mut self) -> Value {
        let text = self.next_text().await;
        let json = text
            .strip_prefix("42")
            .unwrap_or_else(|| panic!("not an EVENT frame: {text}"));
        serde_json::from_str(json).expect("event JSON")
    }

    async fn expect_silence(&mut self, during: Duration) {
        if let Some(frame) = self.next_frame(during).await {
            panic!("tab {}: expected nothing, got {frame:?}", self.socket_id);
        }
    }

    async fn leave(self, node: &TestNode) {
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
            })
            .await
            .expect("hub alive");
    }
}

// ---------------------------------------------------------------------------------------
// Redis seen from the test itself.

async fn raw(server: &RedisServer) -> MultiplexedConnection {
    redis::Client::open(server.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection to the test redis")
}

async fn raw_pubsub(server: &RedisServer) -> redis::aio::PubSub {
    redis::Client::open(server.url())
        .expect("url")
        .get_async_pubsub()
        .await
        .expect("raw pubsub connection")
}

async fn publish(conn: &mut MultiplexedConnection, channel: &str, payload: &[u8]) {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async::<i64>(conn)
        .await
        .expect("PUBLISH");
}

/// Retries `probe` every 20 ms until it yields `Some`, failing after 10 s.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
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

fn error_count(kind: &str) -> u64 {
    METRICS.errors.with_label_values(&[kind]).get()
}

/// Two nodes that know of each other (each counts the other in NUMSUB).
/// `node`'s bridge asked how many sockets the other nodes hold in `room` (`None`: unknown).
async fn sockets_elsewhere(node: &TestNode, room: &str) -> Option<usize> {
    node.bridge
        .send(PeerSockets {
            rooms: vec![room.into()],
        })
        .await
        .expect("bridge alive")
}

async fn two_nodes(server: &RedisServer) -> (TestNode, TestNode) {
    let a = start_node(server, "node-a").await;
    let b = start_node(server, "node-b").await;
    (a, b)
}

// ---------------------------------------------------------------------------------------
// Broadcasts.

#[actix::test]
async fn a_broadcast_reaches_the_sockets_of_the_other_node_only_once() {
    let server = RedisServer::start();
    let (a, b) = two_nodes(&server).await;
    let mut bob = open_tab(&b, "sock-bob", "bob").await;
    let mut alice = open_tab(&a, "sock-alice", "alice").await;
    let message = json!({"content": "hi", "from": "alice", "to": "bob"});
    a.hub.do_send(Broadcast {
        rooms: vec!["bob".into(), "alice".into()],
        except: vec!["sock-alice".into()],
        event: event("private message", vec![message.clone()]),
    });
    assert_eq!(bob.next_event().await, json!(["private message", message]));
    bob.expect_silence(Duration::from_millis(300)).await;
    // The sender's own socket is excluded, locally as well as by the echo of its own broadcast.
    alice.expect_silence(Duration::from_millis(100)).await;

    // And back, to every socket (empty rooms) but the sender's.
    b.hub.do_send(Broadcast {
        rooms: Vec::new(),
        except: vec!["sock-bob".into()],
        event: event("user connected", vec![json!({"userID": "bob"})]),
    });
    assert_eq!(
        alice.next_event().await,
        json!(["user connected", {"userID": "bob"}])
    );
    bob.expect_silence(Duration::from_millis(300)).await;
}

#[actix::test]
async fn binary_attachments_cross_nodes_as_msgpack_bin() {
    let server = RedisServer::start();
    let (a, b) = two_nodes(&server).await;
    let mut bob = open_tab(&b, "sock-bob", "bob").await;
    a.hub.do_send(Broadcast {
        rooms: vec!["bob".into()],
        except: Vec::new(),
        event: OutboundEvent::from_data(
            json!(["file", {"_placeholder": true, "num": 0}]),
            vec![vec![0, 1, 2, 255]],
        ),
    });
    assert_eq!(
        bob.next_text().await,
        r#"451-["file",{"_placeholder":true,"num":0}]"#
    );
    match bob.next_frame(HOP).await {
        Some(Frame::Binary(bytes)) => assert_eq!(&bytes[..], &[0, 1, 2, 255]),
        other => panic!("expected the attachment, got {other:?}"),
    }
}

#[actix::test]
async fn broadcasts_use_nodes_channels_and_msgpack_layout() {
    let server = RedisServer::start();
    let a = start_node(&server, "node-a").await;
    let mut watcher = raw_pubsub(&server).await;
    watcher.psubscribe("socket.io*").await.expect("PSUBSCRIBE");
    let mut messages = watcher.on_message();

    a.hub.do_send(Broadcast {
        rooms: vec!["bob".into()],
        except: vec!["sock-x".into()],
        event: event("private message", vec![json!({"content": "x"})]),
    });
    let message = tokio::time::timeout(HOP, messages.next())
        .await
        .expect("a broadcast on socket.io#/#bob#")
        .expect("stream open");
    assert_eq!(message.get_channel_name(), "socket.io#/#bob#");
    let bytes = message.get_payload_bytes();
    assert_eq!(bytes[0], 0x93, "a 3-element msgpack array");
    let decoded = decode_broadcast(bytes).expect("Node's adapter format");
    assert_eq!(decoded.uid, "node-a");
    assert_eq!(decoded.packet.kind, 2);
    assert_eq!(decoded.packet.nsp, "/");
    assert_eq!(
        decoded.packet.data,
        json!(["private message", {"content": "x"}])
    );
    assert_eq!(decoded.opts.rooms, vec!["bob"]);
    assert_eq!(decoded.opts.except, vec!["sock-x"]);
    assert!(decoded.opts.flags.is_empty());

    // Several rooms (duplicates collapsed, as Node's Set does) go to the namespace channel.
    a.hub.do_send(Broadcast {
        rooms: vec!["bob".into(), "carol".into(), "bob".into()],
        except: Vec::new(),
        event: event("e", Vec::new()),
    });
    let message = tokio::time::timeout(HOP, messages.next())
        .await
        .expect("a broadcast on socket.io#/#")
        .expect("stream open");
    assert_eq!(message.get_channel_name(), "socket.io#/#");
    let decoded = decode_broadcast(message.get_payload_bytes()).expect("decodes");
    assert_eq!(decoded.opts.rooms, vec!["bob", "carol"]);
}

#[actix::test]
async fn garbage_other_namespaces_and_own_messages_are_dropped_without_harm() {
    let server = RedisServer::start();
    let (a, b) = two_nodes(&server).await;
    let mut bob = open_tab(&b, "sock-bob", "bob").await;
    let mut conn = raw(&server).await;
    let before = error_count("bridge_decode");

    let foreign_namespace =
        chat_protocol::adapter::encode_broadcast(&chat_protocol::adapter::Broadcast {
            uid: "node-z".into(),
            packet: chat_protocol::adapter::BroadcastPacket {
                kind: 2,
                data: json!(["private message", "wrong namespace"]),
                attachments: Vec::new(),
                nsp: "/admin".into(),
            },
            opts: Default::default(),
        });
    let own_uid = chat_protocol::adapter::encode_broadcast(&chat_protocol::adapter::Broadcast {
        uid: "node-b".into(),
        packet: chat_protocol::adapter::BroadcastPacket {
            kind: 2,
            data: json!(["private message", "own echo"]),
            attachments: Vec::new(),
            nsp: "/".into(),
        },
        opts: Default::default(),
    });
    let garbage: Vec<(&str, Vec<u8>)> = vec![
        ("socket.io#/#", b"\xc1 not msgpack".to_vec()),
        ("socket.io#/#", b"".to_vec()),
        ("socket.io#/#bob#", vec![0x93, 0xa1, b'x', 0x01, 0x02]),
        ("socket.io#/#", vec![0xdd, 0xff, 0xff, 0xff, 0xff]),
        ("socket.io#/#", foreign_namespace),
        ("socket.io#/#", own_uid),
        ("socket.io-request#/#", b"not json".to_vec()),
        (
            "socket.io-request#/#",
            br#"{"type":"zero","requestId":"r"}"#.to_vec(),
        ),
        ("socket.io-request#/#", br#"{"type":0}"#.to_vec()),
        (
            "socket.io-request#/#",
            br#"{"type":42,"requestId":"r"}"#.to_vec(),
        ),
        (
            "socket.io-request#/#",
            br#"{"type":5,"requestId":"r"}"#.to_vec(),
        ),
        ("socket.io-response#/#", b"[1,2,3]".to_vec()),
        (
            "socket.io-response#/#",
            br#"{"requestId":"nobody-asked","sockets":["x"]}"#.to_vec(),
        ),
    ];
    for (channel, payload) in &garbage {
        publish(&mut conn, channel, payload).await;
    }
    let message = json!({"content": "still fine"});
    a.hub.do_send(Broadcast {
        rooms: vec!["bob".into()],
        except: Vec::new(),
        event: event("private message", vec![message.clone()]),
    });
    assert_eq!(
        bob.next_event().await,
        json!(["private message", message]),
        "nothing of the garbage reached the socket, the valid broadcast did"
    );
    // Both nodes decode each bad message once (4 broadcasts + 4 requests + 1 response, twice),
    // except the one on bob's room channel: only node b, which holds bob, subscribes it.
    let counted = error_count("bridge_decode") - before;
    assert!(counted >= 17, "undecodable messages counted: {counted}");
    // Both bridges still answer.
    assert_eq!(sockets_elsewhere(&a, "bob").await, Some(1));
}

// ---------------------------------------------------------------------------------------
// Requests.

#[actix::test]
async fn a_type_0_request_counts_the_sockets_of_the_other_nodes() {
    let server = RedisServer::start();
    let (a, b) = two_nodes(&server).await;
    let _c1 = open_tab(&b, "sock-c1", "carol").await;
    let _c2 = open_tab(&b, "sock-c2", "carol").await;
    let _a1 = open_tab(&a, "sock-a1", "carol").await;
    let asked = Instant::now();
    let remote = sockets_elsewhere(&a, "carol").await;
    assert_eq!(remote, Some(2), "the other node's tabs, not ours");
    assert!(
        asked.elapsed() < Duration::from_millis(400),
        "all answers in: no waiting for the timeout ({:?})",
        asked.elapsed()
    );
    let nobody = sockets_elsewhere(&a, "nobody").await;
    assert_eq!(nobody, Some(0));
}

#[actix::test]
async fn a_silent_subscriber_that_does_not_heartbeat_costs_one_timeout_not_the_answer() {
    // Issue 15, case 1: an operator's `redis-cli SUBSCRIBE socket.io-request#/#` raises NUMSUB
    // but never answers. It used to make every presence question "unknown" for good.
    let server = RedisServer::start();
    let (a, b) = two_nodes(&server).await;
    let _c = open_tab(&b, "sock-c1", "carol").await;
    // A hears B's heartbeats (every 200 ms) and lists it as a live peer.
    actix::clock::sleep(Duration::from_millis(600)).await;
    let mut silent = raw_pubsub(&server).await;
    silent
        .subscribe("socket.io-request#/#")
        .await
        .expect("SUBSCRIBE");
    let asked = Instant::now();
    let carol = sockets_elsewhere(&a, "carol").await;
    assert_eq!(carol, Some(1), "B's answer counts");
    let nobody = sockets_elsewhere(&a, "nobody").await;
    let elapsed = asked.elapsed();
    assert_eq!(
        nobody,
        Some(0),
        "decided from the answers of the heartbeating peers"
    );
    assert!(
        elapsed >= Duration::from_millis(900),
        "each question waited for the timeout ({elapsed:?})"
    );
    assert!(elapsed < Duration::from_secs(4), "no retries ({elapsed:?})");
}

#[actix::test]
async fn a_heartbeating_peer_that_does_not_answer_is_asked_again_then_judged_by_its_user_list() {
    // Issue 15, case 3: a peer that heartbeats but does not answer (slow, or its pub/sub
    // connection cut): asked again, then its user list in Redis decides.
    let server = RedisServer::start();
    let (a, _b) = two_nodes(&server).await;
    let mut conn = raw(&server).await;
    redis::cmd("HSET")
        .arg("chat:node:ghost.1:users")
        .arg("dora")
        .arg(r#"{"sessionID":"sess-dora","username":"dora"}"#)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let beats = {
        let mut conn = conn.clone();
        actix::spawn(async move {
            for version in 1.. {
                let beat =
                    json!({"instance": "ghost.1", "uid": "ghost", "version": version, "users": 1});
                publish(
                    &mut conn,
                    "chat:heartbeat:socket.io",
                    beat.to_string().as_bytes(),
                )
                .await;
                actix::clock::sleep(Duration::from_millis(150)).await;
            }
        })
    };
    actix::clock::sleep(Duration::from_millis(600)).await;
    let asked = Instant::now();
    let dora = sockets_elsewhere(&a, "dora").await;
    let elapsed = asked.elapsed();
    assert_eq!(dora, Some(1), "the ghost lists dora: it has a tab of hers");
    assert!(
        elapsed >= Duration::from_millis(3 * 500),
        "asked three times before deciding ({elapsed:?})"
    );
    let erin = sockets_elsewhere(&a, "erin").await;
    assert_eq!(erin, Some(0), "nobody lists erin");
    beats.abort();
}

#[actix::test]
async fn requests_from_node_6_are_answered_like_node_does() {
    let server = RedisServer::start();
    let (_a, b) = two_nodes(&server).await;
    let _d = open_tab(&b, "sock-d", "dave").await;
    let mut responses = raw_pubsub(&server).await;
    responses
        .subscribe("socket.io-response#/#")
        .await
        .expect("SUBSCRIBE");
    let mut responses = responses.into_on_message();
    let mut conn = raw(&server).await;

    // socket.io-redis 6.1.1 sends no uid.
    let mut collect = async |request: &str, count: usize| {
        publish(&mut conn, "socket.io-request#/#", request.as_bytes()).await;
        let mut answers = Vec::new();
        for _ in 0..count {
            let message = tokio::time::timeout(HOP, responses.next())
                .await
                .expect("an answer")
                .expect("stream open");
            let answer = String::from_utf8(message.get_payload_bytes().to_vec()).expect("text");
            answers.push(answer);
        }
        answers.sort();
        answers
    };
    let sockets = collect(r#"{"requestId":"r0","type":0,"rooms":["dave"]}"#, 2).await;
    // Byte for byte what Node's JSON.stringify gives.
    assert_eq!(
        sockets,
        vec![
            r#"{"requestId":"r0","sockets":["sock-d"]}"#,
            r#"{"requestId":"r0","sockets":[]}"#,
        ]
    );
    let parse = |texts: Vec<String>| -> Vec<Value> {
        texts
            .iter()
            .map(|t| serde_json::from_str(t).expect("JSON"))
            .collect()
    };
    let rooms = parse(collect(r#"{"requestId":"r1","type":1}"#, 2).await);
    let mut node_b_rooms: Vec<String> = rooms
        .iter()
        .flat_map(|a| a["rooms"].as_array().cloned().unwrap_or_default())
        .map(|r| r.as_str().unwrap_or_default().to_owned())
        .collect();
    node_b_rooms.sort();
    assert_eq!(node_b_rooms, vec!["dave", "sock-d"]);
    assert!(rooms.iter().all(|a| a["requestId"] == "r1"));
    let fetched = parse(
        collect(
            r#"{"requestId":"r5","type":5,"opts":{"rooms":["dave"],"except":[]}}"#,
            2,
        )
        .await,
    );
    let found: Vec<&Value> = fetched
        .iter()
        .flat_map(|a| a["sockets"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], "sock-d");
    let mut socket_rooms = found[0]["rooms"].as_array().cloned().unwrap_or_default();
    socket_rooms.sort_by_key(|r| r.to_string());
    assert_eq!(socket_rooms, vec![json!("dave"), json!("sock-d")]);
    assert!(found[0]["handshake"].is_object());
    // Types we do not implement (here a remote join) are ignored: no answer at all.
    publish(
        &mut conn,
        "socket.io-request#/#",
        br#"{"requestId":"r2","type":2,"sid":"sock-d","room":"x"}"#,
    )
    .await;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), responses.next())
            .await
            .is_err(),
        "no answer to an unimplemented type"
    );
}

// ---------------------------------------------------------------------------------------
// Redis outage.

#[actix::test]
async fn the_bridge_resubscribes_after_redis_restarts() {
    let mut server = RedisServer::start();
    let (a, b) = two_nodes(&server).await;
    let mut bob = open_tab(&b, "sock-bob", "bob").await;

    server.kill();
    // While Redis is down: publishing fails quietly, presence questions are "unknown".
    let failed_before = error_count("bridge_publish");
    a.hub.do_send(Broadcast {
        rooms: vec!["bob".into()],
        except: Vec::new(),
        event: event("lost", Vec::new()),
    });
    let answer = sockets_elsewhere(&a, "bob").await;
    assert_eq!(answer, None);
    eventually("the failed publish counted", || async {
        (error_count("bridge_publish") > failed_before).then_some(())
    })
    .await;

    server.resume();
    wait_subscribed(&a, 2).await;
    wait_subscribed(&b, 2).await;
    let message = json!({"content": "after restart"});
    a.hub.do_send(Broadcast {
        rooms: vec!["bob".into()],
        except: Vec::new(),
        event: event("private message", vec![message.clone()]),
    });
    assert_eq!(bob.next_event().await, json!(["private message", message]));
    assert_eq!(sockets_elsewhere(&a, "bob").await, Some(1));
}

/// The room channels subscribed on the real Redis (`PUBSUB CHANNELS socket.io#/#?*`), sorted.
async fn room_channels(conn: &mut MultiplexedConnection) -> Vec<String> {
    let mut channels: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .arg("socket.io#/#?*")
        .query_async(conn)
        .await
        .expect("PUBSUB CHANNELS");
    channels.sort();
    channels
}

#[actix::test]
async fn user_rooms_are_subscribed_while_they_have_a_local_socket_and_after_a_restart() {
    let mut server = RedisServer::start();
    let a = start_node(&server, "node-a").await;
    let mut conn = raw(&server).await;
    assert!(room_channels(&mut conn).await.is_empty());

    // Join resolves once the subscription is in place: no waiting needed.
    let alice = open_tab(&a, "sock-a1", "alice").await;
    assert_eq!(room_channels(&mut conn).await, ["socket.io#/#alice#"]);
    let alice2 = open_tab(&a, "sock-a2", "alice").await;
    let bob = open_tab(&a, "sock-b1", "bob").await;
    assert_eq!(
        room_channels(&mut conn).await,
        ["socket.io#/#alice#", "socket.io#/#bob#"]
    );
    let holding = |room: &str| a.bridge.send(NodesHolding { room: room.into() });
    assert_eq!(
        holding("alice").await.unwrap(),
        Some(1),
        "one node, two tabs"
    );
    assert_eq!(holding("nobody").await.unwrap(), Some(0));
    alice.leave(&a).await;
    bob.leave(&a).await;
    eventually("bob's room unsubscribed, alice's kept", || {
        let mut conn = conn.clone();
        async move { (room_channels(&mut conn).await == ["socket.io#/#alice#"]).then_some(()) }
    })
    .await;

    // Rooms gained while Redis is down are subscribed by the reconnect, with the others.
    server.kill();
    let _carol = open_tab(&a, "sock-c1", "carol").await;
    server.resume();
    wait_subscribed(&a, 2).await;
    let mut conn = raw(&server).await;
    assert_eq!(
        room_channels(&mut conn).await,
        ["socket.io#/#alice#", "socket.io#/#carol#"]
    );
    drop(alice2);
}

// ---------------------------------------------------------------------------------------
// Node liveness.

/// The instance id of `node_id` in the registry.
async fn instance_of(conn: &MultiplexedConnection, node_id: &str) -> String {
    let prefix = format!("{node_id}.");
    eventually(&format!("{node_id} registered"), || {
        let mut conn = conn.clone();
        let prefix = prefix.clone();
        async move {
            let members: Vec<String> = redis::cmd("SMEMBERS")
                .arg("chat:nodes")
                .query_async(&mut conn)
                .await
                .ok()?;
            members.into_iter().find(|m| m.starts_with(&prefix))
        }
    })
    .await
}

async fn listed_users(conn: &mut MultiplexedConnection, instance: &str) -> HashMap<String, Value> {
    let raw: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("chat:node:{instance}:users"))
        .query_async(conn)
        .await
        .expect("HGETALL");
    raw.into_iter()
        .map(|(k, v)| (k, serde_json::from_str(&v).expect("JSON entry")))
        .collect()
}

#[actix::test]
async fn a_node_lists_its_users_and_heartbeats() {
    let server = RedisServer::start();
    let a = start_node(&server, "node-a").await;
    let mut conn = raw(&server).await;
    let instance = instance_of(&conn, "node-a").await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("chat:node:{instance}:alive"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= 1000,
        "alive key with the heartbeat TTL: {ttl}"
    );

    let tab = open_tab(&a, "sock-e", "erin").await;
    let entry = eventually("erin listed", || {
        let mut conn = conn.clone();
        let instance = instance.clone();
        async move { listed_users(&mut conn, &instance).await.remove("erin") }
    })
    .await;
    assert_eq!(
        entry,
        json!({"sessionID": "sess-erin", "username": "name-erin"})
    );

    tab.leave(&a).await;
    eventually("erin unlisted", || {
        let mut conn = conn.clone();
        let instance = instance.clone();
        async move {
            (!listed_users(&mut conn, &instance)
                .await
                .contains_key("erin"))
            .then_some(())
        }
    })
    .await;

    // Redis forgets everything: the next heartbeat notices and lists the users again.
    let _tab = open_tab(&a, "sock-f", "fred").await;
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    eventually("fred listed again after FLUSHALL", || {
        let mut conn = conn.clone();
        let instance = instance.clone();
        async move { listed_users(&mut conn, &instance).await.remove("fred") }
    })
    .await;
}

#[actix::test]
async fn users_of_a_dead_node_are_announced_unless_they_have_a_tab_elsewhere() {
    let server = RedisServer::start();
    let b = start_node(&server, "node-b").await;
    let mut observer = open_tab(&b, "sock-obs", "olga").await;
    let _erin_here = open_tab(&b, "sock-erin", "erin").await;
    let mut conn = raw(&server).await;
    // A node that died long ago: registered, user list present, no alive key.
    let ghost = "ghost.0001";
    for (user, session) in [("frank", "sess-frank"), ("erin", "sess-erin")] {
        redis::cmd("HSET")
            .arg(format!("session:{session}"))
            .arg("userID")
            .arg(user)
            .arg("username")
            .arg(format!("name-{user}"))
            .arg("connected")
            .arg("true")
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
        redis::cmd("HSET")
            .arg(format!("chat:node:{ghost}:users"))
            .arg(user)
            .arg(json!({"sessionID": session, "username": format!("name-{user}")}).to_string())
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
    }
    redis::cmd("SADD")
        .arg("chat:nodes")
        .arg(ghost)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();

    assert_eq!(
        observer.next_event().await,
        json!(["user disconnected", "frank"])
    );
    observer.expect_silence(Duration::from_millis(500)).await;
    let frank: HashMap<String, String> = redis::cmd("HGETALL")
        .arg("session:sess-frank")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(frank["connected"], "false");
    assert_eq!(frank["userID"], "frank");
    assert_eq!(frank["username"], "name-frank");
    let erin_connected: String = redis::cmd("HGET")
        .arg("session:sess-erin")
        .arg("connected")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(erin_connected, "true", "erin still has a tab: untouched");
    eventually("the ghost's keys deleted", || {
        let mut conn = conn.clone();
        async move {
            let members: Vec<String> = redis::cmd("SMEMBERS")
                .arg("chat:nodes")
                .query_async(&mut conn)
                .await
                .ok()?;
            let users: bool = redis::cmd("EXISTS")
                .arg(format!("chat:node:{ghost}:users"))
                .query_async(&mut conn)
                .await
                .ok()?;
            (!members.iter().any(|m| m == ghost) && !users).then_some(())
        }
    })
    .await;
}

#[actix::test]
async fn a_node_that_stops_heartbeating_gets_its_users_announced_by_a_survivor() {
    let server = RedisServer::start();
    let url = server.url();
    let b = start_node(&server, "node-b").await;
    let mut observer = open_tab(&b, "sock-obs", "olga").await;

    // Node A runs in a system of its own, so that it can die alone (its connections close,
    // its timers stop), as a killed process would.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let node_a = std::thread::spawn(move || {
        let system = System::new();
        system.block_on(async move {
            let server_url = url;
            let conn = RedisConnection::new(&server_url, Duration::from_millis(500)).unwrap();
            let sessions =
                SessionStore::new(Box::new(RedisSessions::new(conn.clone(), 3600))).start();
            let hub = ChatHub::new(sessions.clone()).start();
            let mut cfg = BridgeConfig::new(&server_url, "node-a", PREFIX);
            cfg.liveness = LivenessConfig {
                heartbeat_every: Duration::from_millis(200),
                heartbeat_ttl: Duration::from_millis(1000),
                check_every: Duration::from_millis(200),
                users_ttl: Duration::from_secs(60),
                reaper_lock_ttl: Duration::from_secs(5),
            };
            let bridge = start_bridge(cfg, hub.clone(), sessions, conn).unwrap();
            let node = TestNode {
                id: "node-a".into(),
                hub,
                bridge,
            };
            wait_subscribed(&node, 1).await;
            let tab = open_tab(&node, "sock-g", "gina").await;
            // The hub keeps the socket (and so gina's presence) until the system dies.
            drop(tab);
            ready_tx.send(System::current()).unwrap();
        });
        system.run().expect("node A system");
    });
    let system_a = ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("node A started");
    let mut conn = raw(&server).await;
    let instance = instance_of(&conn, "node-a").await;
    eventually("gina listed by node A", || {
        let mut conn = conn.clone();
        let instance = instance.clone();
        async move { listed_users(&mut conn, &instance).await.remove("gina") }
    })
    .await;

    let killed = Instant::now();
    system_a.stop();
    node_a.join().expect("node A thread");
    assert_eq!(
        observer
            .next_frame(Duration::from_secs(5))
            .await
            .map(|f| match f {
                Frame::Text(t) => t.to_string(),
                Frame::Binary(_) => "binary".into(),
            }),
        Some(r#"42["user disconnected","gina"]"#.to_owned())
    );
    let after = killed.elapsed();
    assert!(
        after < Duration::from_millis(1000 + 200 + 1500),
        "announced within TTL + check period + slack: {after:?}"
    );
    let connected: String = redis::cmd("HGET")
        .arg("session:sess-gina")
        .arg("connected")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(connected, "false");
}
