//! Requests between nodes: counting the other nodes' sockets, and answering requests of Node's
//! adapter (socket.io-redis 6.1.1, which sends no uid) byte for byte as Node does.

use crate::node::*;
use crate::support::redis_server::RedisServer;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

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
    // Types we do not implement (here a remote join) are ignored: no answer at all. The
    // answers to a later request are the next messages on the channel.
    let mut other = raw(&server).await;
    publish(
        &mut other,
        "socket.io-request#/#",
        br#"{"requestId":"r2","type":2,"sid":"sock-d","room":"x"}"#,
    )
    .await;
    let after = collect(r#"{"requestId":"r3","type":0,"rooms":["dave"]}"#, 2).await;
    assert_eq!(
        after,
        vec![
            r#"{"requestId":"r3","sockets":["sock-d"]}"#,
            r#"{"requestId":"r3","sockets":[]}"#,
        ],
        "no answer to the unimplemented type came before"
    );
}
