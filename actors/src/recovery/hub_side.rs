//! The hub's part of connection state recovery, as state the `ChatHub` owns: the log of every
//! broadcast it delivers (each stamped with its offset), the sockets parked after a
//! recoverable drop, and the users it announced gone. It lives with the hub because the hub is
//! where broadcasts are delivered: logging, parking and rejoining happen on its one thread, so
//! a restored socket misses nothing between its replay and its first live delivery. The hub's
//! handlers (`hub/recovery.rs`) only pass messages here.

use super::messages::Restored;
use super::{
    stamp_offset, BroadcastLog, Offset, ParkedSession, ParkedSessions, RecoveryConfig,
    SharedRecovery, Unrecoverable, LOG_CAPACITY,
};
use crate::event::OutboundEvent;
use crate::metrics::METRICS;
use crate::transport::Frame;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Recovery state of a hub (present only when recovery is on).
pub struct HubRecovery {
    config: RecoveryConfig,
    log: BroadcastLog,
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
            log: BroadcastLog::new(config.window, LOG_CAPACITY),
            parked: ParkedSessions::new(config.window),
            announced_gone: HashMap::new(),
            shared,
        }
    }

    /// Keeps a broadcast to everyone in Redis, for sockets that will recover on another
    /// node (not waited for: a recovery reads it seconds later at the earliest).
    pub fn share_broadcast(&self, rooms: &[String], except: &[String], event: &OutboundEvent) {
        let Some(shared) = self.shared.clone().filter(|_| rooms.is_empty()) else {
            return;
        };
        let except = except.to_vec();
        let data = event.data.clone();
        // Logged just before (deliver_locally): its position in this node's log.
        let origin = self.log.newest();
        actix::spawn(async move {
            if let Err(e) = shared.log_broadcast(&except, &data, origin.as_str()).await {
                METRICS.error("recovery_stream_write");
                log::warn!("could not keep a broadcast for recovery: {e}");
            }
        });
    }

    /// Ids of the private messages logged after `after` that selected `rooms`.
    pub fn message_ids_after(&self, after: &str, rooms: &[String]) -> HashSet<String> {
        self.log
            .missed_after(after, rooms, usize::MAX)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(_, event)| Some(event.data.get(1)?.get("id")?.as_str()?.to_owned()))
            .collect()
    }

    /// Logs a broadcast and returns the frames every local recipient gets (offset appended).
    pub fn stamp(
        &mut self,
        rooms: &[String],
        except: &[String],
        event: &Arc<OutboundEvent>,
    ) -> Arc<[Frame]> {
        let offset = self.log.push(rooms, except, event);
        stamp_offset(&event.frames, offset.as_str())
    }

    pub fn head(&self) -> Offset {
        self.log.head()
    }

    pub fn announced_gone(&mut self, user_id: &str) {
        self.announced_gone
            .insert(user_id.to_owned(), Instant::now());
    }

    /// A socket of `user_id` joined: forgets its announcement; returns the offset of
    /// everything logged so far, where a recovery of that socket starts.
    pub fn joined_at_head(&mut self, user_id: &str) -> String {
        self.back(user_id);
        self.head().as_str().to_owned()
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
        self.log.trim(Instant::now());
        self.parked.expire()
    }

    /// Keeps a dropped socket (its ids and `rooms`) for the window under `pid`.
    pub fn park(&mut self, pid: String, session: ParkedSession) {
        self.parked.park(pid, session);
    }

    /// Takes the socket parked under `pid` back with what it missed after `offset`. The
    /// caller rejoins it to its rooms before anything else is delivered.
    pub fn restore(
        &mut self,
        pid: &str,
        offset: &str,
        session_id: Option<&str>,
    ) -> Result<Restored, Unrecoverable> {
        let session = self.parked.take(pid, session_id)?;
        // A genuine pid with an unusable offset is used up all the same, as in Node.
        let missed = self
            .log
            .missed_after(offset, &session.rooms, self.config.max_events)?
            .into_iter()
            .map(|(offset, event)| stamp_offset(&event.frames, offset.as_str()))
            .collect();
        let announce = self.back(&session.user_id);
        Ok(Restored {
            session,
            missed,
            announce,
        })
    }
}
