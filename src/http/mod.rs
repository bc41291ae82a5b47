//! HTTP wiring: the Engine.IO endpoint, the chat page, health and metrics.

mod engine_io;
mod errors;
mod health;
mod metrics;
mod origin;
mod security;
pub mod upgrade;

use crate::apps::NodeHandles;
use crate::config::CorsOrigins;
use actix_cors::Cors;
use actix_web::web;
use chat_actors::connection::{ServerContext, SocketApp};
use chat_actors::store::RedisConnection;
use std::path::PathBuf;
use std::sync::Arc;

/// What every HTTP handler can reach.
pub struct AppState<A: SocketApp> {
    pub server: Arc<ServerContext<A>>,
    /// The node's hub and membership (the chat's), for `/health`.
    pub handles: Arc<NodeHandles>,
    pub node_id: String,
    /// The shared Redis connection, if any, for `/health`.
    pub redis: Option<RedisConnection>,
    /// Set on SIGTERM: the node answers /health with 503 so load balancers stop sending.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Who may open WebSockets (and get CORS headers).
    pub origins: CorsOrigins,
}

/// Registers every route on an actix-web service config.
/// `engine_path` is the Engine.IO endpoint without its trailing slash (`/socket.io`).
pub fn routes<A: SocketApp>(cfg: &mut web::ServiceConfig, engine_path: &str, static_dir: PathBuf) {
    cfg.service(
        web::resource([format!("{engine_path}/"), engine_path.to_owned()])
            .route(web::route().to(engine_io::handle::<A>)),
    )
    .service(web::resource("/health").route(web::get().to(health::handle::<A>)))
    .service(web::resource("/metrics").route(web::get().to(metrics::handle)))
    .service(actix_files::Files::new("/", static_dir).index_file("index.html"));
}

/// The CORS policy of the configured origins (same-origin only adds nothing).
pub fn cors(origins: &CorsOrigins) -> Cors {
    let base = Cors::default()
        .allow_any_method()
        .allow_any_header()
        .max_age(3600);
    match origins {
        CorsOrigins::SameOrigin => Cors::default(),
        CorsOrigins::Any => base.allow_any_origin().send_wildcard(),
        CorsOrigins::List(list) => list
            .iter()
            .fold(base.supports_credentials(), |c, o| c.allowed_origin(o)),
    }
}

pub use self::security::security_headers;
