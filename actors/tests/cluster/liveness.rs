//! Node liveness: a node lists its users and heartbeats (and lists them again when Redis forgot
//! them); the users of a dead node are announced by a survivor unless they have a tab
//! elsewhere, whether the node is found dead in the registry or by its silence.

use crate::node::*;
use crate::support::redis_server::RedisServer;
use actix::prelude::*;
use chat_actors::transport::Frame;
use redis::aio::MultiplexedConnection;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

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
    // Announcements go through the hub before the keys are deleted: a broadcast sent now
    // comes after any of them, so it is the next event only if erin was not announced.
    b.hub.do_send(chat_actors::hub::Broadcast {
        rooms: Vec::new(),
        except: Vec::new(),
        event: event("sync", Vec::new()),
    });
    assert_eq!(observer.next_event().await, json!(["sync"]));
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
            let node = spawn_node(&url, "node-a");
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
