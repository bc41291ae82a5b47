//! "Does this user still have a tab on another node?", asked when a user's last local socket
//! leaves (`last_tab.rs`, through the hub's cluster port). "Unknown" is never final:
//!
//! 1. Ask every node (type 0 request). Done when everyone due answered, or as soon as one
//!    answer names a socket.
//! 2. After the request timeout with answers missing: if fewer answers came than we have
//!    heartbeating peers, one of ours is slow or cut off: ask again (up to [`MAX_ASKS`]
//!    times). If at least that many came, the missing ones are the `NUMSUB` surplus, which
//!    does not heartbeat: Node nodes, or an operator's `redis-cli SUBSCRIBE`.
//! 3. Then decide from what this node knows: the answers, plus the user lists of the live
//!    peers (`chat:node:<instance>:users`, read fresh; our in-memory copy if Redis lost the
//!    key). A peer listing the user has (or had a moment ago) a socket of it and will ask the
//!    same question itself when that socket leaves, so not announcing is safe; a peer not
//!    listing it holds no socket of it. A Node node that did not answer cannot be judged:
//!    it is counted as holding none (logged).
//! 4. Redis unreachable or not subscribed: nobody can be asked; ask again with a backoff
//!    until [`GIVE_UP_AFTER`], then leave it (logged): by then this node has been cut off
//!    longer than the heartbeat TTL, the survivors took it for dead and announced its
//!    departed users themselves (see `reaper.rs`).
//!
//! The usual case (everyone answers) takes one round trip; an operator's subscriber costs
//! one request timeout (1 s); a peer cut off from Redis costs up to the heartbeat TTL, after
//! which it is no longer a live peer.

use super::keys::users_key;
use super::membership::{LivePeers, Membership};
use crate::cluster::{AskPeers, BridgeError, PeerQuery, RedisBridge};
use crate::store::{RedisConnection, Replay};
use actix::prelude::*;
use std::time::{Duration, Instant};

/// Requests sent while our heartbeating peers do not all answer, before deciding anyway.
pub const MAX_ASKS: u32 = 3;
/// After this long without being able to ask anybody, the question is left.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(12);
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// How many sockets the other nodes have in `rooms` (a lower bound once decided from user
/// lists: 1 per listing peer); `None` when it could not be learnt at all.
pub async fn remote_sockets(
    bridge: Addr<RedisBridge>,
    membership: Addr<Membership>,
    conn: RedisConnection,
    rooms: Vec<String>,
) -> Option<usize> {
    let started = Instant::now();
    let mut asks = 0;
    let mut pause = FIRST_PAUSE;
    loop {
        let query = PeerQuery::SocketIds {
            rooms: rooms.clone(),
        };
        let known_peers = membership
            .send(LivePeers {
                user_ids: Vec::new(),
            })
            .await
            .ok()?
            .len();
        let report = bridge.send(AskPeers { query, known_peers }).await.ok()?;
        if let Some(report) = report {
            asks += 1;
            if report.is_complete() || !report.sockets.is_empty() {
                if asks > 1 {
                    log::info!(
                        "presence of {rooms:?}: every node answered at request {asks} ({:?})",
                        started.elapsed()
                    );
                }
                return Some(report.sockets.len());
            }
            if report.known_peers_answered() || asks >= MAX_ASKS {
                match decide_from_user_lists(&membership, &conn, &rooms).await {
                    Ok(held) => {
                        log::info!(
                            "presence of {rooms:?}: {} of {} answers ({} heartbeating peers) after \
                             {asks} requests; {held} live peers list the user; deciding from that \
                             ({:?})",
                            report.answered,
                            report.expected,
                            report.known_peers,
                            started.elapsed()
                        );
                        return Some(held);
                    }
                    Err(e) => log::info!("presence of {rooms:?}: cannot read peers' lists: {e}"),
                }
            } else {
                log::info!(
                    "presence of {rooms:?}: {} answers of {} heartbeating peers; asking again",
                    report.answered,
                    report.known_peers
                );
            }
        } else {
            log::debug!("presence of {rooms:?}: cannot ask the other nodes now; retrying");
        }
        if started.elapsed() >= GIVE_UP_AFTER {
            log::warn!(
                "presence of {rooms:?}: still unknown after {:?}; leaving it to the survivors' \
                 reaper (this node was cut off from redis)",
                started.elapsed()
            );
            return None;
        }
        actix::clock::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// How many live peers list one of `rooms` (user ids) as theirs.
async fn decide_from_user_lists(
    membership: &Addr<Membership>,
    conn: &RedisConnection,
    rooms: &[String],
) -> Result<usize, BridgeError> {
    let peers = membership
        .send(LivePeers {
            user_ids: rooms.to_vec(),
        })
        .await?;
    if peers.is_empty() {
        return Ok(0);
    }
    let mut pipe = redis::pipe();
    for (instance, _) in &peers {
        let key = users_key(instance);
        pipe.cmd("EXISTS").arg(&key);
        pipe.cmd("HMGET").arg(&key).arg(rooms);
    }
    let replies: Vec<redis::Value> = conn.query_pipeline(&pipe, Replay::Safe).await?;
    let mut held = 0;
    for ((_, cached), pair) in peers.iter().zip(replies.chunks(2)) {
        let [exists, fields] = pair else { continue };
        let exists: bool = redis::from_redis_value(exists.clone()).unwrap_or(false);
        let listed = if exists {
            let fields: Vec<Option<String>> =
                redis::from_redis_value(fields.clone()).unwrap_or_default();
            fields.iter().any(Option::is_some)
        } else {
            // Redis lost the list (restarted empty, not rewritten yet): our last copy.
            !cached.is_empty()
        };
        if listed {
            held += 1;
        }
    }
    Ok(held)
}
