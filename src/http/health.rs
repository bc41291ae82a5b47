//! `GET /health`: whether this node can serve, and whether its Redis is reachable. A node
//! whose Redis is down still serves local users, so it answers 200 with `"degraded"`; a
//! draining node answers 503 `"draining"` so that load balancers take it out. On a Redis
//! Cluster it lists every shard (master, slots, whether it answers); Redis is `"up"` only
//! when every shard is.

use super::AppState;
use actix_web::{web, HttpResponse};
use chat_actors::store::ShardStatus;
use futures_util::future::BoxFuture;
use serde::Serialize;

/// Something that can tell whether Redis answers right now.
pub trait RedisProbe: Send + Sync {
    fn ping(&self) -> BoxFuture<'static, bool>;

    /// Each shard of a Redis Cluster; `None` on a single Redis.
    fn shards(&self) -> BoxFuture<'static, Option<Vec<ShardStatus>>> {
        Box::pin(async { None })
    }

    /// Whether this is a Redis Cluster (then `/health` reports [`RedisProbe::shards`]).
    fn is_cluster(&self) -> bool {
        false
    }
}

#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    node: &'a str,
    redis: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shards: Option<Vec<ShardStatus>>,
    connections: usize,
}

pub async fn handle(state: web::Data<AppState>) -> HttpResponse {
    let draining = state.draining.load(std::sync::atomic::Ordering::SeqCst);
    let mut shards = None;
    let redis = match &state.redis {
        None => "disabled",
        Some(probe) if probe.is_cluster() => {
            let report = probe.shards().await.unwrap_or_default();
            let up = !report.is_empty() && report.iter().all(|shard| shard.up);
            shards = Some(report);
            if up {
                "up"
            } else {
                "down"
            }
        }
        Some(probe) if probe.ping().await => "up",
        Some(_) => "down",
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
        connections: state.server.registry.len(),
    })
}
