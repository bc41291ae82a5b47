//! Broadcasts between two nodes: delivered once to the right sockets, in Node's channels and
//! msgpack layout, binary included; garbage, other namespaces and our own echoes dropped.

use crate::node::*;
use crate::support::redis_server::RedisServer;
use chat_actors::event::OutboundEvent;
use chat_actors::hub::Broadcast;
use chat_actors::transport::Frame;
use chat_protocol::adapter::decode_broadcast;
use futures_util::StreamExt;
use serde_json::json;

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

    // And back, to every socket (empty rooms) but the sender's.
    b.hub.do_send(Broadcast {
        rooms: Vec::new(),
        except: vec!["sock-bob".into()],
        event: event("user connected", vec![json!({"userID": "bob"})]),
    });
    // The sender's own socket is excluded, locally as well as by the echo of its own
    // broadcast: the first thing alice gets is bob's broadcast, sent after hers.
    assert_eq!(
        alice.next_event().await,
        json!(["user connected", {"userID": "bob"}])
    );
    // A last broadcast to both, through both nodes: each gets it next, so neither got a
    // second copy of anything before it.
    for (node, from) in [(&a, "a"), (&b, "b")] {
        node.hub.do_send(Broadcast {
            rooms: vec!["alice".into(), "bob".into()],
            except: Vec::new(),
            event: event("sync", vec![json!(from)]),
        });
        assert_eq!(alice.next_event().await, json!(["sync", from]));
        assert_eq!(bob.next_event().await, json!(["sync", from]));
    }
    alice.expect_nothing_yet();
    bob.expect_nothing_yet();
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
