//! Starts a node: the store and hub actors, the HTTP server, and the SIGTERM drain.

use crate::config::{Conformance, Settings, SubscriptionMode};
use crate::http::{self, AppState};
use actix::Actor;
use actix::Addr;
use actix_web::{middleware, web, App, HttpServer};
use chat_actors::bridge::{start_bridge, BridgeConfig};
use chat_actors::chat::ChatServices;
use chat_actors::connection::{CloseSession, Mode, ServerContext};
use chat_actors::engine::SessionRegistry;
use chat_actors::hub::{watch_redis, ChatHub, PendingChecks, ShareRecovery};
use chat_actors::recovery::SharedRecovery;
use chat_actors::store::{
    MemoryMessages, MemorySessions, MessageBackend, MessageStore, RedisConnection, RedisMessages,
    RedisSessions, SessionBackend, SessionStore,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How much response data an HTTP/1 connection buffers before writing it to the socket (see
/// where the server is built for why it is small).
const H1_WRITE_BUFFER_BYTES: usize = 4 * 1024;

/// Runs the node until SIGTERM/SIGINT, then drains.
pub async fn run(settings: Settings) -> std::io::Result<()> {
    let redis = match (&settings.redis_url, settings.conformance) {
        (Some(url), None) => Some(
            RedisConnection::new(url, settings.redis_timeout)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        ),
        (None, None) if !settings.redis_cluster_urls.is_empty() => Some(
            RedisConnection::new_cluster(&settings.redis_cluster_urls, settings.redis_timeout)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        ),
        _ => None,
    };
    let redis_probe = redis
        .clone()
        .map(|conn| Arc::new(Probe(conn)) as Arc<dyn http::RedisProbe>);
    let registry = SessionRegistry::default();
    let draining = Arc::new(AtomicBool::new(false));
    // The hub, the stores and the bridge are started by the first HTTP worker, on its thread:
    // the connections served by that worker then reach them without crossing threads, which
    // is most of the CPU a message costs (see BENCHMARKS.md). Other workers share them.
    // The price: they live and die with that worker's thread, so nothing on the request path
    // may panic (client input is validated and the decoders are fuzzed).
    let context: Arc<OnceLock<Arc<ServerContext>>> = Arc::default();
    let make_context = {
        let (settings, redis, registry) = (settings.clone(), redis.clone(), registry.clone());
        move || {
            let mode = match settings.conformance {
                Some(Conformance::Engineio) => Mode::EngineEcho,
                Some(Conformance::Socketio) => Mode::SocketIoConformance,
                None => Mode::Chat(start_chat(&settings, redis.clone())),
            };
            Arc::new(ServerContext {
                config: settings.engine.clone(),
                registry: registry.clone(),
                mode,
            })
        }
    };
    let app_state = {
        let (context, node_id, origins, draining) = (
            context.clone(),
            settings.node_id.clone(),
            settings.cors.clone(),
            draining.clone(),
        );
        move || {
            web::Data::new(AppState {
                server: context.get_or_init(&make_context).clone(),
                node_id: node_id.clone(),
                redis: redis_probe.clone(),
                draining: draining.clone(),
                origins: origins.clone(),
            })
        }
    };
    let cors = settings.cors.clone();
    let static_dir = settings.static_dir.clone();
    let engine_path = settings.path.clone();
    let mut http_server = HttpServer::new(move || {
        // Called on each worker's thread (once per listening socket).
        crate::allocator::collect_on_this_thread();
        let static_dir = static_dir.clone();
        let engine_path = engine_path.clone();
        App::new()
            .app_data(app_state())
            .wrap(http::cors(&cors))
            .wrap(http::security_headers())
            .wrap(middleware::Compress::default())
            .configure(move |cfg| http::routes(cfg, &engine_path, static_dir))
    })
    // Chat frames are small and latency-bound: without TCP_NODELAY, Nagle's algorithm holds
    // them back waiting for the peer's delayed ACK (measured: p99 37 ms -> 0.4 ms).
    .tcp_nodelay(true)
    // Each connection keeps its write buffer at the largest size it ever reached (up to
    // 128 KiB, actix-http's retention limit). With the default 32 KiB flush threshold a burst of
    // presence frames (a connect storm) grows an idle user's buffer to 64 KiB for good; with
    // 4 KiB it stays in the initial 8 KiB (measured in BENCHMARKS.md, idle memory).
    .h1_write_buffer_size(H1_WRITE_BUFFER_BYTES)
    .disable_signals()
    .shutdown_timeout(settings.drain_timeout.as_secs().max(1));
    if let Some(workers) = settings.workers {
        http_server = http_server.workers(workers);
    }
    let running = http_server
        .bind((settings.host.as_str(), settings.port))?
        .run();
    log::info!(
        "chat-server node {} listening on http://{}:{} ({})",
        settings.node_id,
        settings.host,
        settings.port,
        match settings.conformance {
            Some(Conformance::Engineio) => "engine.io conformance",
            Some(Conformance::Socketio) => "socket.io conformance",
            None if settings.redis_url.is_some() => "chat, redis",
            None if !settings.redis_cluster_urls.is_empty() => "chat, redis cluster",
            None => "chat, in-memory",
        }
    );
    let handle = running.handle();
    let drain_timeout = settings.drain_timeout;
    actix_web::rt::spawn(async move {
        wait_for_signal().await;
        log::info!("shutting down: closing {} sessions", registry.len());
        draining.store(true, Ordering::SeqCst);
        let hub = match context.get().map(|server| &server.mode) {
            Some(Mode::Chat(services)) => Some(services.hub.clone()),
            _ => None,
        };
        drain(&registry, hub, drain_timeout).await;
        handle.stop(true).await;
    });
    running.await
}

/// The chat's actors: stores over Redis when a URL is configured, in memory otherwise.
fn start_chat(settings: &Settings, redis: Option<RedisConnection>) -> ChatServices {
    let (session_backend, message_backend): (Box<dyn SessionBackend>, Box<dyn MessageBackend>) =
        match redis.clone() {
            Some(conn) => (
                Box::new(RedisSessions::new(
                    conn.clone(),
                    settings.session_ttl.as_secs(),
                )),
                Box::new(RedisMessages::new(
                    conn,
                    settings.message_ttl.as_secs(),
                    settings.history_limit,
                )),
            ),
            None => (
                Box::new(MemorySessions::default()),
                Box::new(MemoryMessages::new(settings.history_limit)),
            ),
        };
    let sessions = SessionStore::new(session_backend).start();
    let messages = MessageStore::new(message_backend).start();
    let hub = ChatHub::new(sessions.clone())
        .with_message_store(messages.clone())
        .with_recovery(settings.recovery)
        .start();
    // With Redis, parked sockets and broadcasts to everyone are shared, so that a client can
    // recover on any node.
    let shared_recovery = redis
        .clone()
        .filter(|_| settings.recovery.enabled())
        .map(|conn| SharedRecovery::new(conn, settings.recovery.window));
    if let Some(shared) = &shared_recovery {
        hub.do_send(ShareRecovery(shared.clone()));
    }
    if let Some(conn) = redis {
        if !conn.is_cluster() {
            // Recovery from a Redis restarted empty reads `chat:users`, a single Redis's key.
            watch_redis(conn.clone(), hub.clone(), Duration::from_secs(2));
        }
        let url = settings.redis_url.as_deref().unwrap_or_default();
        // With Redis, the node is part of a cluster: broadcasts and presence questions go to
        // the other nodes, and dead nodes' users get announced.
        let config = BridgeConfig {
            redis_timeout: settings.redis_timeout,
            subscription_mode: match settings.subscription_mode {
                SubscriptionMode::Pattern => chat_actors::bridge::SubscriptionMode::Pattern,
                SubscriptionMode::Rooms => chat_actors::bridge::SubscriptionMode::Rooms,
            },
            cluster_urls: settings.redis_cluster_urls.clone(),
            ..BridgeConfig::new(url, &settings.node_id, &settings.channel_prefix)
        };
        if let Err(e) = start_bridge(config, hub.clone(), sessions.clone(), conn) {
            // Unreachable in practice: the same URL already made the RedisConnection.
            log::error!("cross-node bridge not started: {e}");
        }
    }
    ChatServices {
        hub,
        sessions,
        messages,
        limits: settings.chat_limits,
        known_users: Default::default(),
        recovery: settings.recovery,
        shared_recovery,
    }
}

/// `/health`'s view of Redis.
struct Probe(RedisConnection);

impl http::RedisProbe for Probe {
    fn ping(&self) -> futures_util::future::BoxFuture<'static, bool> {
        let conn = self.0.clone();
        Box::pin(async move { conn.ping().await.is_ok() })
    }

    fn shards(
        &self,
    ) -> futures_util::future::BoxFuture<'static, Option<Vec<chat_actors::store::ShardStatus>>>
    {
        let conn = self.0.clone();
        Box::pin(async move { conn.shards().await })
    }

    fn is_cluster(&self) -> bool {
        self.0.is_cluster()
    }
}

/// Asks every session to close cleanly (clients reconnect, to another node behind the load
/// balancer) and waits until they are gone or the timeout passes.
async fn drain(registry: &SessionRegistry, hub: Option<Addr<ChatHub>>, timeout: Duration) {
    let started = Instant::now();
    for session in registry.all() {
        session.do_send(CloseSession {
            reason: "server shutting down",
        });
    }
    let deadline = started + timeout;
    while !registry.is_empty() && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    // Users whose last tab was here are announced once the other nodes have confirmed they
    // hold no tab of theirs: wait for those questions (bounded by the same deadline).
    if let Some(hub) = hub {
        while Instant::now() < deadline && hub.send(PendingChecks).await.unwrap_or(0) > 0 {
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Give writer tasks and store actors a moment to flush what they were handed (close
    // frames, `connected: false` saves).
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    log::info!("drained in {} ms", started.elapsed().as_millis());
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            log::error!("cannot install signal handlers; use SIGKILL to stop");
            std::future::pending::<()>().await;
        }
    }
}
