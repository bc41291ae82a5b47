//! The benchmark floor: the least a server can do and still carry the chat's private messages
//! the way `chat-loadgen` exercises them, so that BENCHMARKS.md can say how far `chat-server`
//! is from what this machine allows.
//!
//! It speaks the same framing as the real server (Engine.IO v4 over WebSocket, Socket.IO v5,
//! decoded with the same `chat-protocol` codecs) but does nothing else: no actors, no
//! long-polling, no stores, no presence, no validation beyond what routing needs, no
//! heartbeat timeout, no backpressure bound. Each WebSocket is one tokio task reading and one
//! writing; a `private message` is routed by userID through one shared map straight into the
//! recipient's write queue. Not a server to run for users: a yardstick.
//!
//! Usage: `chat-floor-relay [PORT]` (default 3000; `FLOOR_WORKERS` sets the runtime's threads,
//! default one per core, like `chat-server --workers`). SIGTERM stops it.

use chat_protocol::engineio::{Handshake, Packet as EioPacket};
use chat_protocol::socketio::{Packet as SioPacket, PacketKind};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The real server's default `pingInterval`: the floor sends the same heartbeat traffic.
const PING_INTERVAL: Duration = Duration::from_secs(25);

/// tungstenite zero-fills its read buffer before every read; its 128 KiB default would make
/// memset the floor's largest cost (the load generator measured this of itself).
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// userID → the write queue of that user's one socket.
type Directory = Arc<RwLock<HashMap<String, mpsc::UnboundedSender<Message>>>>;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = std::env::var("FLOOR_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
    {
        runtime.worker_threads(workers);
    }
    runtime.enable_all().build()?.block_on(async {
        // SIGTERM ends the process normally, so that tools wrapping it (callgrind) write
        // their results.
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            served = serve(port) => served,
            _ = terminate.recv() => Ok(()),
        }
    })
}

async fn serve(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    eprintln!("chat-floor-relay listening on port {port}");
    let directory = Directory::default();
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(connection(stream, directory.clone()));
    }
}

/// One WebSocket from handshake to close. Errors end the connection quietly: the load
/// generator reports what it missed.
async fn connection(stream: TcpStream, directory: Directory) {
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let Ok(socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (mut sink, mut source) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    // The writer: everything queued by the time it wakes leaves in one flush.
    let writer = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            if sink.feed(first).await.is_err() {
                return;
            }
            while let Ok(next) = rx.try_recv() {
                if sink.feed(next).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let open = Handshake {
        sid: format!("floor{id:016x}"),
        upgrades: Vec::new(),
        ping_interval: PING_INTERVAL.as_millis() as u64,
        ping_timeout: 20_000,
        max_payload: 1_000_000,
    };
    let _ = tx.send(Message::text(open.to_packet_text()));
    let heartbeat = {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PING_INTERVAL);
            every.tick().await;
            loop {
                every.tick().await;
                if tx.send(Message::text("2")).is_err() {
                    return;
                }
            }
        })
    };
    let mut user_id: Option<String> = None;
    while let Some(Ok(message)) = source.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        match EioPacket::decode_text(text.as_str()) {
            Ok(EioPacket::Message(sio)) => {
                let Ok(packet) = SioPacket::decode(&sio) else {
                    break;
                };
                match (packet.kind, &user_id) {
                    (PacketKind::Connect, None) => {
                        let uid = format!("{id:016x}");
                        directory
                            .write()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(uid.clone(), tx.clone());
                        greet(&tx, id, &uid);
                        user_id = Some(uid);
                    }
                    (PacketKind::Event, Some(from)) => relay(&packet, from, &directory, &tx),
                    _ => {}
                }
            }
            Ok(EioPacket::Close) | Err(_) => break,
            Ok(_) => {} // pongs
        }
    }
    if let Some(uid) = user_id {
        directory
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&uid);
    }
    heartbeat.abort();
    drop(tx);
    let _ = writer.await;
}

/// The CONNECT reply and the two events the chat sends a new user before anything else.
fn greet(tx: &mpsc::UnboundedSender<Message>, id: u64, user_id: &str) {
    let _ = tx.send(Message::text(format!(r#"40{{"sid":"s{id:019x}"}}"#)));
    let _ = tx.send(Message::text(format!(
        r#"42["session",{{"sessionID":"{id:032x}","userID":"{user_id}"}}]"#
    )));
    let _ = tx.send(Message::text(r#"42["users",[]]"#));
}

#[derive(Deserialize)]
struct PrivateMessageIn {
    content: String,
    to: String,
}

#[derive(Serialize)]
struct PrivateMessageOut<'a> {
    content: &'a str,
    from: &'a str,
    to: &'a str,
}

/// Routes a `private message` to its recipient; acknowledges it if asked. Anything else is
/// dropped.
fn relay(
    packet: &SioPacket,
    from: &str,
    directory: &Directory,
    tx: &mpsc::UnboundedSender<Message>,
) {
    let Some(serde_json::Value::Array(args)) = &packet.data else {
        return;
    };
    if args.first().and_then(|v| v.as_str()) != Some("private message") {
        return;
    }
    let Some(Ok(body)) = args
        .get(1)
        .map(|v| PrivateMessageIn::deserialize(v).map_err(|_| ()))
    else {
        return;
    };
    let out = PrivateMessageOut {
        content: &body.content,
        from,
        to: &body.to,
    };
    let Ok(json) = serde_json::to_string(&("private message", out)) else {
        return;
    };
    if let Some(recipient) = directory
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&body.to)
    {
        let _ = recipient.send(Message::text(format!("42{json}")));
    }
    if let Some(ack) = packet.id {
        let _ = tx.send(Message::text(format!(r#"43{ack}[{{"ok":true}}]"#)));
    }
}
