//! Starts a node: what its connections share (the chat's node, or nothing for a conformance
//! server) on the first HTTP worker, the HTTP server, and the SIGTERM drain.

use crate::apps::{NodeHandles, Served};
use crate::config::{Conformance, Settings};
use crate::http::{self, AppState};
use actix_http::{HttpService, KeepAlive};
use actix_server::Server;
use actix_service::{fn_factory, fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::AppConfig;
use actix_web::{middleware, web, App};
use chat_actors::chat::ChatSocket;
use chat_actors::conformance::{EngineEcho, SocketIoConformance};
use chat_actors::connection::{CloseSession, ServerContext, SessionRegistry};
use chat_actors::hub::ChatHub;
use chat_actors::presence::{PendingChecks, Retire};
use chat_actors::store::RedisConnection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How much response data an HTTP/1 connection buffers before writing it to the socket.
const H1_WRITE_BUFFER_BYTES: usize = 4 * 1024;

/// Runs the node until SIGTERM/SIGINT, then drains.
pub async fn run(settings: Settings) -> std::io::Result<()> {
    match settings.conformance {
        Some(Conformance::Engineio) => serve::<EngineEcho>(settings, None).await,
        Some(Conformance::Socketio) => serve::<SocketIoConformance>(settings, None).await,
        None => {
            let redis = redis_connection(&settings)?;
            serve::<ChatSocket>(settings, redis).await
        }
    }
}

/// The shared Redis connection, when one is configured (it does not connect yet).
fn redis_connection(settings: &Settings) -> std::io::Result<Option<RedisConnection>> {
    let invalid = |e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    match &settings.redis_url {
        Some(url) => RedisConnection::new(url, settings.redis_timeout)
            .map(Some)
            .map_err(invalid),
        None if !settings.redis_cluster_urls.is_empty() => {
            RedisConnection::new_cluster(&settings.redis_cluster_urls, settings.redis_timeout)
                .map(Some)
                .map_err(invalid)
        }
        None => Ok(None),
    }
}

/// What the first worker started: the connections' context and the node's handles.
type Started<A> = (Arc<ServerContext<A>>, Arc<NodeHandles>);

/// Serves app `A` until a signal, then drains.
async fn serve<A: Served>(
    settings: Settings,
    redis: Option<RedisConnection>,
) -> std::io::Result<()> {
    let registry = SessionRegistry::<A>::default();
    let draining = Arc::new(AtomicBool::new(false));
    // What the connections share is started by the first HTTP worker, on its thread: the
    // connections served by that worker then reach the hub and the stores without crossing
    // threads, which is most of the CPU a message costs (see BENCHMARKS.md). Other workers
    // share them. The price: they live and die with that worker's thread, so nothing on the
    // request path may panic (client input is validated and the decoders are fuzzed).
    let started: Arc<OnceLock<Started<A>>> = Arc::default();
    let app_state = {
        let (settings, registry, draining, started) = (
            settings.clone(),
            registry.clone(),
            draining.clone(),
            started.clone(),
        );
        move || {
            let (server, handles) = started
                .get_or_init(|| {
                    let (shared, handles) = A::start(&settings, redis.clone());
                    let server = ServerContext {
                        config: settings.engine.clone(),
                        registry: registry.clone(),
                        shared,
                    };
                    (Arc::new(server), Arc::new(handles))
                })
                .clone();
            web::Data::new(AppState {
                server,
                handles,
                node_id: settings.node_id.clone(),
                redis: redis.clone(),
                draining: draining.clone(),
                origins: settings.cors.clone(),
            })
        }
    };
    let running = http_server(&settings, app_state)?;
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
        let hub = started.get().and_then(|(_, handles)| handles.hub.clone());
        drain(&registry, hub, drain_timeout).await;
        handle.stop(true).await;
    });
    running.await
}

/// The HTTP server, bound and running: actix-web serves the Engine.IO endpoint's plain
/// requests (long-polling), the chat page, health and metrics; upgrade requests (WebSockets)
/// go to `http::upgrade` with their connection, which is why the server is assembled from
/// actix-http's `HttpService` rather than by `actix_web::HttpServer` (which offers no upgrade
/// handler).
fn http_server<A: Served>(
    settings: &Settings,
    app_state: impl Fn() -> web::Data<AppState<A>> + Clone + Send + 'static,
) -> std::io::Result<Server> {
    let cors = settings.cors.clone();
    let static_dir = settings.static_dir.clone();
    let engine_path: Arc<str> = Arc::from(settings.path.as_str());
    let mut server = Server::build()
        .disable_signals()
        .shutdown_timeout(settings.drain_timeout.as_secs().max(1));
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    let address = (settings.host.as_str(), settings.port);
    let server = server.bind("chat-server", address, move || {
        // Called on each worker's thread.
        crate::allocator::collect_on_this_thread();
        let state = app_state();
        let (static_dir, engine_path, cors) =
            (static_dir.clone(), engine_path.clone(), cors.clone());
        let upgrade_state = state.clone();
        let upgrade_path = engine_path.clone();
        let app = App::new()
            .app_data(state)
            .wrap(http::cors(&cors))
            .wrap(http::security_headers())
            .wrap(middleware::Compress::default())
            .configure(move |cfg| http::routes::<A>(cfg, &engine_path, static_dir));
        let app = app
            .into_factory()
            .map_err(|err: actix_web::Error| err.error_response());
        HttpService::build()
            .keep_alive(KeepAlive::Timeout(Duration::from_secs(5)))
            .client_request_timeout(Duration::from_secs(5))
            .client_disconnect_timeout(Duration::from_secs(1))
            // Chat frames are small and latency-bound: without TCP_NODELAY, Nagle's algorithm
            // holds them back waiting for the peer's delayed ACK (measured: p99 37 ms -> 0.4 ms).
            .tcp_nodelay(true)
            // Polling responses are small; a connection keeps its write buffer at the largest
            // size it reached, so a low flush threshold keeps it small.
            .h1_write_buffer_size(H1_WRITE_BUFFER_BYTES)
            .upgrade(fn_factory(move || {
                let (state, path) = (upgrade_state.clone(), upgrade_path.clone());
                async move {
                    Ok::<_, ()>(fn_service(move |(req, framed)| {
                        let served =
                            http::upgrade::handle(state.clone(), path.clone(), req, framed);
                        async move {
                            // The connection is ours: an error here only ends it.
                            served
                                .await
                                .map_err(actix_web::error::ErrorInternalServerError)
                        }
                    }))
                }
            }))
            .finish(map_config(app, |_| AppConfig::default()))
            .tcp()
    })?;
    Ok(server.run())
}

/// Asks every session to close cleanly (clients reconnect, to another node behind the load
/// balancer) and waits until they are gone or the timeout passes.
async fn drain<A: Served>(
    registry: &SessionRegistry<A>,
    hub: Option<actix::Addr<ChatHub>>,
    timeout: Duration,
) {
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
    if let Some(hub) = &hub {
        while Instant::now() < deadline && hub.send(PendingChecks).await.unwrap_or(0) > 0 {
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // The users whose last tab was here wait in their presence grace: the node hands them to
    // the cluster (it stops heartbeating; the survivors announce who did not come back).
    if let Some(hub) = hub {
        let _ = hub.send(Retire).await;
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
