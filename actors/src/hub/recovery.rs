//! The hub's part of connection state recovery: it logs and stamps every broadcast it
//! delivers, parks sockets that dropped, and gives them back with what they missed. Done here
//! because the hub is where broadcasts are delivered: parking, logging and rejoining happen on
//! its one thread, so a restored socket misses nothing between its replay and its first live
//! delivery.

use super::{ChatHub, Deliver, OutboundEvent};
use crate::engine::Frame;
use crate::metrics::METRICS;
use crate::recovery::{
    stamp_offset, BroadcastLog, Offset, ParkedSession, ParkedSessions, RecoveryConfig,
    SharedRecovery, Unrecoverable, LOG_CAPACITY,
};
use actix::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Recovery state of a hub (present only when recovery is on).
pub(super) struct HubRecovery {
    config: RecoveryConfig,
    log: BroadcastLog,
    parked: ParkedSessions,
    /// Users announced `user disconnected` by this node, and when: a user recovered after
    /// that is announced `user connected` again.
    announced_gone: HashMap<String, Instant>,
    /// The Redis side (with Redis): broadcasts to everyone are kept there for recoveries on
    /// other nodes.
    pub shared: Option<SharedRecovery>,
}

/// How often parked sockets, announcements and log entries past the window are forgotten
/// (and the rooms of users left with nothing parked unsubscribed).
const SWEEP_EVERY: Duration = Duration::from_secs(10);

impl HubRecovery {
    pub fn new(config: RecoveryConfig) -> HubRecovery {
        HubRecovery {
            config,
            log: BroadcastLog::new(config.window, LOG_CAPACITY),
            parked: ParkedSessions::new(config.window),
            announced_gone: HashMap::new(),
            shared: None,
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
    fn sweep(&mut self) -> Vec<String> {
        let window = self.config.window;
        self.announced_gone.retain(|_, at| at.elapsed() <= window);
        self.log.trim(Instant::now());
        self.parked.expire()
    }
}

impl ChatHub {
    /// Puts a recovered socket back in its rooms; resolves once its user room is subscribed.
    pub(super) fn rejoin(
        &mut self,
        session: &ParkedSession,
        recipient: Recipient<Deliver>,
    ) -> ResponseFuture<()> {
        let others: Vec<&str> = session
            .rooms
            .iter()
            .map(String::as_str)
            .filter(|r| *r != session.socket_id)
            .collect();
        let user = (
            session.user_id.as_str(),
            session.session_id.as_str(),
            session.username.as_str(),
        );
        self.join_socket(&session.socket_id, &others, user, recipient)
    }

    /// Starts the periodic sweep of what recovery keeps (when it is on).
    pub(super) fn start_recovery_sweep(&self, ctx: &mut Context<Self>) {
        if self.recovery.is_none() {
            return;
        }
        ctx.run_interval(SWEEP_EVERY, |hub, _| {
            let Some(recovery) = hub.recovery.as_mut() else {
                return;
            };
            for user_id in recovery.sweep() {
                if hub.rooms.room_size(&user_id) == 0 {
                    hub.room_lost(&user_id);
                }
            }
        });
    }
}

/// From a connection about to leave for a reason that may be recovered: keep its socket for
/// the window under `pid`. Sent before the [`Leave`](super::Leave), while the hub still knows
/// the socket's rooms.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Park {
    pub pid: String,
    pub socket_id: String,
    pub session_id: String,
    pub user_id: String,
    pub username: String,
}

/// From a connection whose CONNECT carried `{pid, offset}`: the parked socket, rejoined to
/// its rooms with `recipient`, and the frames it missed (offsets stamped), or why not.
#[derive(Message)]
#[rtype(result = "Result<Restored, Unrecoverable>")]
pub struct Restore {
    pub pid: String,
    pub offset: String,
    /// The sessionID the client presented alongside, if any: it must be the parked one's.
    pub session_id: Option<String>,
    pub recipient: Recipient<Deliver>,
}

/// A recovered socket.
pub struct Restored {
    pub session: ParkedSession,
    /// The missed events, oldest first, each as sent live (offset appended).
    pub missed: Vec<Arc<[Frame]>>,
    /// The user had been announced gone: the others must be told it is back.
    pub announce: bool,
}

impl Handler<Park> for ChatHub {
    type Result = ();
    fn handle(&mut self, msg: Park, _: &mut Context<Self>) {
        let rooms = self.rooms.rooms_of(&msg.socket_id);
        let Some(recovery) = self.recovery.as_mut() else {
            return;
        };
        if rooms.is_empty() {
            return;
        }
        recovery.parked.park(
            msg.pid,
            ParkedSession {
                socket_id: msg.socket_id,
                session_id: msg.session_id,
                user_id: msg.user_id,
                username: msg.username,
                rooms,
            },
        );
    }
}

impl Handler<Restore> for ChatHub {
    type Result = Result<Restored, Unrecoverable>;
    fn handle(&mut self, msg: Restore, _: &mut Context<Self>) -> Self::Result {
        let recovery = self.recovery.as_mut().ok_or(Unrecoverable::UnknownPid)?;
        let max = recovery.config.max_events;
        let session = recovery.parked.take(&msg.pid, msg.session_id.as_deref())?;
        // A genuine pid with an unusable offset is used up all the same, as in Node.
        let missed = recovery
            .log
            .missed_after(&msg.offset, &session.rooms, max)?
            .into_iter()
            .map(|(offset, event)| stamp_offset(&event.frames, offset.as_str()))
            .collect();
        let announce = recovery.back(&session.user_id);
        // The user room is still subscribed (kept while parked), so this is not waited for.
        drop(self.rejoin(&session, msg.recipient));
        METRICS.handshakes.with_label_values(&["recovered"]).inc();
        Ok(Restored {
            session,
            missed,
            announce,
        })
    }
}
