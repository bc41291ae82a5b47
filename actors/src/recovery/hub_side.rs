//! The hub's part of connection state recovery, as state the `ChatHub` owns: the sockets
//! parked after a recoverable drop, the users it announced gone, and the Redis side that keeps
//! broadcasts to everyone for recoveries on other nodes. The log of broadcasts itself is the
//! node's delivery's (`hub/delivery.rs`), where every thread that delivers logs; the hub's
//! handlers (`hub/recovery.rs`) only pass messages here.

use super::{Offset, ParkedSession, ParkedSessions, RecoveryConfig, SharedRecovery, Unrecoverable};
use crate::event::OutboundEvent;
use crate::metrics::METRICS;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Recovery state of a hub (present only when recovery is on).
pub struct HubRecovery {
    config: RecoveryConfig,
    parked: ParkedSessions,
    /// Users announced `user disconnected` by this node, and when: a user recovered after
    /// that is announced `user connected` again.
    announced_gone: HashMap<String, Instant>,
    /// The Redis side (with Redis): broadcasts to everyone are kept there for recoveries on
    /// other nodes.
    shared: Option<SharedRecovery>,
}

/// How often parked sockets, announcements and log entries past the window are forgotten
/// (and the rooms of users left with nothing parked unsubscribed).
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

impl HubRecovery {
    pub fn new(config: RecoveryConfig, shared: Option<SharedRecovery>) -> HubRecovery {
        HubRecovery {
            config,
            parked: ParkedSessions::new(config.window),
            announced_gone: HashMap::new(),
            shared,
        }
    }

    pub fn config(&self) -> &RecoveryConfig {
        &self.config
    }

    /// Keeps a broadcast to everyone in Redis, for sockets that will recover on another
    /// node (not waited for: a recovery reads it seconds later at the earliest). `origin` is
    /// its position in this node's log.
    pub fn share_broadcast(
        &self,
        rooms: &[String],
        except: &[String],
        event: &OutboundEvent,
        origin: &Offset,
    ) {
        let Some(shared) = self.shared.clone().filter(|_| rooms.is_empty()) else {
            return;
        };
        let except = except.to_vec();
        let data = match event.json() {
            Some(json) => json.to_owned(),
            None => event.data().to_string(),
        };
        let origin = origin.clone();
        actix::spawn(async move {
            if let Err(e) = shared.log_broadcast(&except, &data, origin.as_str()).await {
                METRICS.error("recovery_stream_write");
                log::warn!("could not keep a broadcast for recovery: {e}");
            }
        });
    }

    pub fn announced_gone(&mut self, user_id: &str) {
        self.announced_gone
            .insert(user_id.to_owned(), Instant::now());
    }

    /// A user has a socket again: forgets its announcement; returns whether there was one.
    pub fn back(&mut self, user_id: &str) -> bool {
        self.announced_gone.remove(user_id).is_some()
    }

    /// Whether `user_id` has a socket parked here (its room then stays subscribed).
    pub fn holds_parked(&self, user_id: &str) -> bool {
        self.parked.holds(user_id)
    }

    /// Forgets what is past the window; returns the users left with no parked socket.
    pub fn sweep(&mut self) -> Vec<String> {
        let window = self.config.window;
        self.announced_gone.retain(|_, at| at.elapsed() <= window);
        self.parked.expire()
    }

    /// Keeps a dropped socket (its ids and rooms) for the window under `pid`.
    pub fn park(&mut self, pid: String, session: ParkedSession) {
        self.parked.park(pid, session);
    }

    /// Takes the socket parked under `pid`, once (see [`ParkedSessions::take`]).
    pub fn take_parked(
        &mut self,
        pid: &str,
        session_id: Option<&str>,
    ) -> Result<ParkedSession, Unrecoverable> {
        self.parked.take(pid, session_id)
    }
}
