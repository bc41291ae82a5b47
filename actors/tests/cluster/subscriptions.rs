//! Subscriptions across a Redis restart: the bridge subscribes again by itself, and user rooms
//! are subscribed while they have a local socket, the ones gained while Redis was down
//! included.

use crate::node::*;
use crate::support::redis_server::RedisServer;
use chat_actors::cluster::NodesHolding;
use chat_actors::hub::Broadcast;
use redis::aio::MultiplexedConnection;
use serde_json::json;

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
