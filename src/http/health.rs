//! `GET /health`: whether this node can serve, and whether its Redis is reachable. A node
//! whose Redis is down still serves local users, so it answers 200 with `"degraded"`; a
//! draining node answers 503 `"draining"` so that load balancers take it out. On a Redis
//! Cluster it lists every shard (master, slots, whether it answers); Redis is `"up"` only
//! when every shard is. With Redis, `peers` lists the node ids of the other nodes of ours
//! whose heartbeats this node hears, and `peer_users` how many users the last user list this
//! node read of each of them held (what its presence decisions go by; tests wait on it).
//! On the chat, `presence_checks_pending` counts the departures whose "has this user a tab
//! on another node?" question is still unanswered (0 = every departure decided).

use super::AppState;
use actix_web::{web, HttpResponse};
use chat_actors::connection::SocketApp;
use chat_actors::presence::{LivePeerIds, LivePeerUserCounts, PendingChecks};
use chat_actors::store::ShardStatus;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    node: &'a str,
    redis: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shards: Option<Vec<ShardStatus>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer_users: Option<BTreeMap<String, usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_checks_pending: Option<usize>,
    connections: usize,
}

pub async fn handle<A: SocketApp>(state: web::Data<AppState<A>>) -> HttpResponse {
    let draining = state.draining.load(std::sync::atomic::Ordering::SeqCst);
    let mut shards = None;
    let redis = match &state.redis {
        None => "disabled",
        Some(conn) if conn.is_cluster() => {
            let report = conn.shards().await.unwrap_or_default();
            let up = !report.is_empty() && report.iter().all(|shard| shard.up);
            shards = Some(report);
            if up {
                "up"
            } else {
                "down"
            }
        }
        Some(conn) if conn.ping().await.is_ok() => "up",
        Some(_) => "down",
    };
    let (peers, peer_users) = match &state.handles.membership {
        Some(membership) => (
            membership.send(LivePeerIds).await.ok(),
            membership
                .send(LivePeerUserCounts)
                .await
                .ok()
                .map(|counts| counts.into_iter().collect()),
        ),
        None => (None, None),
    };
    let presence_checks_pending = match &state.handles.hub {
        Some(hub) => hub.send(PendingChecks).await.ok(),
        None => None,
    };
    let status = if draining {
        "draining"
    } else if redis == "down" {
        "degraded"
    } else {
        "ok"
    };
    let mut response = if draining {
        HttpResponse::ServiceUnavailable()
    } else {
        HttpResponse::Ok()
    };
    response.json(Health {
        status,
        node: &state.node_id,
        redis,
        shards,
        peers,
        peer_users,
        presence_checks_pending,
        connections: state.server.registry.len(),
    })
}
