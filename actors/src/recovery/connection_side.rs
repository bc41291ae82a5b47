//! A chat connection's part of connection state recovery: the pid it hands out, the socket's
//! state it keeps in Redis while connected, and, when a CONNECT carries `{pid, offset}`,
//! getting the parked socket back from the hub (or from Redis, `across_nodes.rs`). A recovered
//! socket gets its id, pid and missed events back and none of the connection sequence
//! (`session`, `users`): the client has them and the replay covers the gap. The chat calls
//! these from its handshake and its socket's end (`chat/`).

use super::across_nodes::restore_from_redis;
use super::services::RecoveryServices;
use super::{Park, ParkedSession, RecoveryConfig, Restore, Restored, Unrecoverable};
use crate::ids::random_hex;
use crate::metrics::METRICS;
use crate::transport::Outbox;
use chat_protocol::socketio::{Packet as SioPacket, PacketKind};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The CONNECT reply: `{"sid"}`, plus `"pid"` when recovery is on.
pub fn connect_reply(socket_id: &str, pid: Option<&str>) -> SioPacket {
    let data = match pid {
        Some(pid) => json!({ "sid": socket_id, "pid": pid }),
        None => json!({ "sid": socket_id }),
    };
    SioPacket {
        kind: PacketKind::Connect,
        nsp: "/".to_owned(),
        id: None,
        data: Some(data),
        attachments: 0,
    }
}

/// What the client's handshake auth says about recovery (raw JSON: types are checked here).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecoveryAuth<'a> {
    pub pid: Option<&'a Value>,
    pub offset: Option<&'a Value>,
    pub session_id: Option<&'a Value>,
}

/// The parked socket named by the handshake's `pid`, restored by the hub, with that pid; or
/// `None` for a normal connection (no pid, recovery off, or a refusal, counted in metrics).
pub async fn try_restore(
    services: &RecoveryServices,
    auth: RecoveryAuth<'_>,
    outbox: &Arc<Outbox>,
) -> Option<(Restored, String)> {
    if !services.config.enabled() {
        return None;
    }
    let (pid, offset) = match (auth.pid, auth.offset) {
        (None, _) => return None,
        (Some(Value::String(pid)), Some(Value::String(offset))) => (pid, offset),
        _ => {
            METRICS.error("recovery_malformed_auth");
            return None;
        }
    };
    let session_id = match auth.session_id {
        Some(Value::String(id)) => Some(id.clone()),
        _ => None,
    };
    // With Redis, the shared state decides whether the pid is still good (it may have been
    // used on another node since it was parked here); without an answer from Redis, this
    // node's memory alone does.
    let shared = services.shared.as_ref();
    let taken = match shared {
        Some(shared) => Some(shared.take(pid, session_id.as_deref()).await),
        None => None,
    };
    let restored = match taken {
        Some(Err(refused)) if refused != Unrecoverable::StoreUnavailable => Err(refused),
        _ => {
            let restore = Restore {
                pid: pid.clone(),
                offset: offset.clone(),
                session_id: session_id.clone(),
                outbox: outbox.clone(),
            };
            let local = services
                .restore
                .send(restore)
                .await
                .unwrap_or(Err(Unrecoverable::UnknownPid));
            match (local, shared, taken) {
                // Parked on another node: rebuild its state from Redis.
                (Err(Unrecoverable::UnknownPid), Some(shared), Some(Ok(session))) => {
                    let restored =
                        restore_from_redis(services, shared, session, offset, outbox.clone()).await;
                    if restored.is_ok() {
                        METRICS
                            .handshakes
                            .with_label_values(&["recovered_from_redis"])
                            .inc();
                    }
                    restored
                }
                (local, _, _) => local,
            }
        }
    };
    match restored {
        Ok(restored) => Some((restored, pid.clone())),
        Err(refused) => {
            METRICS.error(&refused.kind());
            None
        }
    }
}

/// One socket's recovery state: its pid (a secret like the sessionID: never logged) and when
/// its state in Redis was last written.
#[derive(Debug)]
pub struct SocketRecovery {
    pid: Option<String>,
    state_extended: Instant,
}

impl Default for SocketRecovery {
    fn default() -> Self {
        SocketRecovery {
            pid: None,
            state_extended: Instant::now(),
        }
    }
}

impl SocketRecovery {
    /// The pid of the connected socket, if recovery gave it one.
    pub fn pid(&self) -> Option<&str> {
        self.pid.as_deref()
    }

    /// A new socket: a fresh pid when recovery is on.
    pub fn issue_pid(&mut self, config: &RecoveryConfig) {
        if config.enabled() {
            self.pid = Some(random_hex(16));
        }
    }

    /// A recovered socket keeps the pid it came back with.
    pub fn recovered(&mut self, pid: String) {
        self.pid = Some(pid);
    }

    /// A socket with a pid just connected or was recovered: its state goes to Redis now, so
    /// that it is there if this node dies (no-op without Redis).
    pub fn remember(
        &mut self,
        services: &RecoveryServices,
        state: ParkedSession,
        ping_interval: Duration,
    ) {
        let (Some(shared), Some(pid)) = (services.shared.clone(), self.pid.clone()) else {
            return;
        };
        self.state_extended = Instant::now();
        let ttl = shared.live_ttl(ping_interval);
        actix::spawn(async move {
            if let Err(e) = shared.remember(&pid, &state, ttl).await {
                METRICS.error("recovery_state_write");
                log::warn!(
                    "could not keep recovery state of a socket of {}: {e}",
                    state.user_id
                );
            }
        });
    }

    /// On a pong: extends the socket's state in Redis when half a window has passed.
    pub fn extend(&mut self, services: &RecoveryServices, ping_interval: Duration) {
        let (Some(shared), Some(pid)) = (services.shared.clone(), self.pid.clone()) else {
            return;
        };
        if self.state_extended.elapsed() < shared.extend_every() {
            return;
        }
        self.state_extended = Instant::now();
        let ttl = shared.live_ttl(ping_interval);
        actix::spawn(async move {
            if shared.extend(&pid, ttl).await.is_err() {
                METRICS.error("recovery_state_write");
            }
        });
    }

    /// The socket left: when the reason may be recovered, the hub parks it under its pid and
    /// its state in Redis lasts one window from now; otherwise that state goes with it. Call
    /// before telling the hub the socket left (the hub still knows its rooms then).
    pub fn leave(&mut self, services: &RecoveryServices, state: ParkedSession, recoverable: bool) {
        let Some(pid) = self.pid.take() else {
            return;
        };
        if let Some(shared) = services.shared.clone() {
            let pid = pid.clone();
            actix::spawn(async move {
                let done = if recoverable {
                    shared.parked(&pid).await
                } else {
                    shared.forget(&pid).await
                };
                if done.is_err() {
                    METRICS.error("recovery_state_write");
                }
            });
        }
        if recoverable {
            services.park.do_send(Park {
                pid,
                socket_id: state.socket_id,
                session_id: state.session_id,
                user_id: state.user_id,
                username: state.username,
            });
        }
    }
}
