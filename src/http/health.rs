//! `GET /health`: whether this node can serve, and whether its Redis is reachable. A node
//! whose Redis is down still serves local users, so it answers 200 with `"degraded"`; a
//! draining node answers 503 `"draining"` so that load balancers take it out.

use super::AppState;
use actix_web::{web, HttpResponse};
use futures_util::future::BoxFuture;
use serde::Serialize;

/// Something that can tell whether Redis answers right now.
pub trait RedisProbe: Send + Sync {
    fn ping(&self) -> BoxFuture<'static, bool>;
}

#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    node: &'a str,
    redis: &'static str,
    connections: usize,
}

pub async fn handle(state: web::Data<AppState>) -> HttpResponse {
    let draining = state.draining.load(std::sync::atomic::Ordering::SeqCst);
    let redis = match &state.redis {
        None => "disabled",
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
        connections: state.server.registry.len(),
    })
}
