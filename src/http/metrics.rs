//! `GET /metrics`: Prometheus text exposition.

use actix_web::HttpResponse;
use chat_actors::metrics::METRICS;

pub async fn handle() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(METRICS.render())
}
