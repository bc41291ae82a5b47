//! "Does this user still have a tab elsewhere?" when not every subscriber answers: an
//! operator's silent `SUBSCRIBE` costs one timeout, a heartbeating peer that does not answer is
//! asked again and then judged by its user list.

use crate::node::*;
use crate::support::redis_server::RedisServer;
use serde_json::json;
use std::time::{Duration, Instant};

#[actix::test]
async fn a_silent_subscriber_that_does_not_heartbeat_costs_one_timeout_not_the_answer() {
    // An operator's `redis-cli SUBSCRIBE socket.io-request#/#` raises NUMSUB but never
    // answers: it must not make every presence question "unknown" for good.
    let server = RedisServer::start();
    let (a, b) = two_nodes(&server).await;
    let _c = open_tab(&b, "sock-c1", "carol").await;
    // A hears B's heartbeats (every 200 ms) and lists it as a live peer.
    wait_hears(&a, &["node-b"]).await;
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
    // A peer that heartbeats but does not answer (slow, or its pub/sub connection cut): asked
    // again, then its user list in Redis decides.
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
    wait_hears(&a, &["ghost", "node-b"]).await;
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
