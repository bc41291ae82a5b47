//! Delivering a broadcast to this node's sockets from whichever thread has it: the connection
//! that received a private message, the cluster's subscriber that received another node's
//! broadcast, the hub announcing presence. Nothing hops to another thread on the way: the
//! frames go from here into each recipient's outbox, which writes them to its socket at once
//! when it is idle.
//!
//! What it reads is written by the hub alone, its one writer of membership: the routing table
//! (which local socket is in which room, with its outbox), and, with recovery on, the node's
//! broadcast log, each behind a short lock.
//!
//! **Recovery's invariants** (a socket restored from the log misses nothing and gets nothing
//! twice, whatever the other threads deliver meanwhile):
//! - *Each outbox gets events in log order.* A client's offset is that of the last event it
//!   received, and a recovery replays what comes after it; if two threads delivering at once
//!   queued positions 11 and 10 in that order, a client dropped between them would never get
//!   10 (or, dropped after 10, get 11 twice). So a delivery takes its position and queues the
//!   event into every recipient's outbox under the one log lock; writing the frames and waking
//!   tasks come after it, outside (`Outbox::queue_routed`, then `finish_routed`).
//! - *A restore is exact.* It reads the missed events and joins the socket to its rooms under
//!   that same lock and the routing table's write lock (a delivery reads the table before it
//!   takes the log's lock, so it sees the socket joined exactly when it is logged after the
//!   restore's read). The socket's outbox holds what is routed to it until its replay is
//!   queued, then drops the held events at or before the replay's last position. An event
//!   logged before the restore's read was replayed (and its live copy, if it found the socket
//!   joined, dropped) or was routed before the join; an event logged after it finds the socket
//!   joined and is kept.

use super::recent::RecentDeliveries;
use super::rooms::Rooms;
use crate::event::OutboundEvent;
use crate::metrics::METRICS;
use crate::recovery::{BroadcastLog, Offset, RecoveryConfig, Unrecoverable, LOG_CAPACITY};
use crate::transport::{Flush, Frame, Outbox, RoutedNext};
use smallvec::SmallVec;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

/// The local sockets by room, each with its outbox.
pub type Routes = Rooms<Arc<Outbox>>;

/// What a restored socket is replayed: the frames it missed, and the log position they end at.
pub struct Replay {
    pub missed: Vec<Arc<[Frame]>>,
    pub ends_at: u64,
}

/// The routing table and the broadcast log of one node (shared: `Arc<Delivery>`).
pub struct Delivery {
    routes: RwLock<Routes>,
    /// With recovery on.
    log: Option<Mutex<BroadcastLog>>,
    /// On a Redis Cluster: the private messages delivered lately, by room (`recent.rs`).
    recent: Option<Mutex<RecentDeliveries>>,
}

impl Delivery {
    /// An empty table; with `recovery` on, a log kept for its window.
    pub fn new(recovery: RecoveryConfig) -> Arc<Delivery> {
        Self::build(recovery, false)
    }

    /// The same, also remembering which private messages it delivered to which room, so that
    /// [`Delivery::deliver`] delivers none twice to a room and a catch-up can tell what the
    /// local sockets missed (on a Redis Cluster, `crate::node`).
    pub fn tracking_recent(recovery: RecoveryConfig) -> Arc<Delivery> {
        Self::build(recovery, true)
    }

    fn build(recovery: RecoveryConfig, track: bool) -> Arc<Delivery> {
        Arc::new(Delivery {
            routes: RwLock::new(Rooms::default()),
            log: recovery
                .enabled()
                .then(|| Mutex::new(BroadcastLog::new(recovery.window, LOG_CAPACITY))),
            recent: track.then(|| Mutex::new(RecentDeliveries::default())),
        })
    }

    /// With [`Delivery::tracking_recent`]: the rooms of `rooms` that private message `id` was
    /// not delivered to yet, recorded as delivered now. `None` when nothing is tracked.
    fn first_deliveries(&self, rooms: &[impl AsRef<str>], id: &Arc<str>) -> Option<Vec<String>> {
        let mut recent = self
            .recent
            .as_ref()?
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        Some(
            rooms
                .iter()
                .map(AsRef::as_ref)
                .filter(|room| recent.first_time(room, id, now))
                .map(str::to_owned)
                .collect(),
        )
    }

    /// The routing table, to read.
    pub fn routes(&self) -> RwLockReadGuard<'_, Routes> {
        // A panic while it was held cannot leave the maps half-updated in a way that matters
        // more than refusing every delivery would: use it as is.
        self.routes.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The routing table, to change: the hub's alone.
    pub(super) fn routes_mut(&self) -> RwLockWriteGuard<'_, Routes> {
        self.routes.write().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_log(&self) -> Option<MutexGuard<'_, BroadcastLog>> {
        self.log
            .as_ref()
            .map(|log| log.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Delivers `event` to the local sockets in any of `rooms` (all when empty) except those in
    /// any room of `except`. With recovery on it is logged first, whether or not any local
    /// socket receives it now (a socket parked here may be selected by it), and its frames carry
    /// its offset; the position of its log entry is returned ([`Delivery::offset_at`] names it).
    pub fn deliver(
        &self,
        rooms: &[impl AsRef<str>],
        except: &[impl AsRef<str>],
        event: &OutboundEvent,
    ) -> Option<u64> {
        self.deliver_new(rooms, except, event).flatten()
    }

    /// The local offset of log position `seq` (`None` with recovery off).
    pub fn offset_at(&self, seq: u64) -> Option<Offset> {
        self.lock_log().map(|log| log.offset_at(seq))
    }

    /// [`Delivery::deliver`], saying whether anything was delivered: `None` when the event is
    /// a private message already delivered to every one of `rooms` (with
    /// [`Delivery::tracking_recent`]: caught up before it came live, or the other way round).
    pub fn deliver_new(
        &self,
        rooms: &[impl AsRef<str>],
        except: &[impl AsRef<str>],
        event: &OutboundEvent,
    ) -> Option<Option<u64>> {
        let fresh = match &event.message_id {
            Some(id) if !rooms.is_empty() => self.first_deliveries(rooms, id),
            _ => None,
        };
        match fresh {
            Some(fresh) if fresh.is_empty() => None,
            Some(fresh) => Some(self.deliver_to(&fresh, except, event)),
            None => Some(self.deliver_to(rooms, except, event)),
        }
    }

    /// Delivers `event` to `rooms` except `except` (see [`Delivery::deliver`]).
    fn deliver_to(
        &self,
        rooms: &[impl AsRef<str>],
        except: &[impl AsRef<str>],
        event: &OutboundEvent,
    ) -> Option<u64> {
        // The locks and their order are the module doc's invariants: the recipients read under
        // the routing table's lock, then the log position taken and the event queued into every
        // recipient's outbox under the log's; writes and wake-ups after the log's is released.
        let routes = self.routes();
        let mut recipients: SmallVec<[(&Arc<Outbox>, RoutedNext); 4]> = SmallVec::new();
        routes.visit(rooms, except, |outbox| {
            recipients.push((outbox, RoutedNext::Nothing));
        });
        // A broadcast to everyone is written by each recipient's own task (see `Flush`).
        let flush = if rooms.is_empty() {
            Flush::ByOwner
        } else {
            Flush::Now
        };
        let message_id = event.message_id.as_ref();
        let mut log = self.lock_log();
        let (frames, seq) = match log.as_mut() {
            Some(log) => {
                let (seq, frames) = log.push(rooms, except, event);
                (frames, Some(seq))
            }
            None => (event.frames.clone(), None),
        };
        let mut delivered = 0;
        recipients.retain(|(outbox, next)| {
            // A recipient that cannot take it ends its outbox; its session closes itself.
            match outbox.queue_routed(&frames, seq, message_id, flush) {
                Ok(queued) => {
                    *next = queued;
                    delivered += 1;
                    true
                }
                Err(_) => false,
            }
        });
        drop(log);
        for (outbox, next) in recipients {
            outbox.finish_routed(next);
        }
        drop(routes);
        let bytes: usize = frames.iter().map(Frame::len).sum();
        METRICS.deliveries.inc_by(delivered);
        METRICS.bytes_sent.inc_by(delivered * bytes as u64);
        seq
    }

    /// Joins a socket to its own room and `others` with `outbox`; with recovery on, returns the
    /// offset of everything logged so far (what its `users` carries: a recovery of it starts
    /// there). Returns whether it is the first local socket of `user_room`.
    pub(super) fn join(
        &self,
        socket_id: &str,
        others: &[&str],
        outbox: Arc<Outbox>,
        user_room: &str,
    ) -> (bool, Option<Offset>) {
        let first = {
            let mut routes = self.routes_mut();
            routes.join(socket_id, others, outbox);
            routes.room_size(user_room) == 1
        };
        (first, self.lock_log().map(|log| log.head()))
    }

    /// Rejoins a recovered socket to `rooms` (its own first) with `outbox`, reading what it
    /// missed after `offset` under the log lock (see the module doc): the missed frames and
    /// the log position they end at. Nothing is joined when the offset cannot be used.
    pub(super) fn rejoin_with_replay(
        &self,
        rooms: &[String],
        outbox: Arc<Outbox>,
        offset: &str,
        max: usize,
    ) -> Result<Replay, Unrecoverable> {
        // The same order of locks as a delivery's: the routing table, then the log.
        let mut routes = self.routes_mut();
        let log = self.lock_log().ok_or(Unrecoverable::UnknownPid)?;
        let missed = log.missed_after(offset, rooms, max)?;
        if let Some((socket_id, others)) = rooms.split_first() {
            let others: Vec<&str> = others.iter().map(String::as_str).collect();
            routes.join(socket_id, &others, outbox);
        }
        Ok(Replay {
            missed,
            ends_at: log.head_seq(),
        })
    }

    /// Forgets log entries past the window.
    pub(super) fn trim_log(&self) {
        if let Some(mut log) = self.lock_log() {
            log.trim(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    /// Nobody left out (as `except`).
    const NOBODY: &[&str] = &[];

    /// Two threads deliver to one socket at once, as two workers' senders do: its outbox must
    /// get their events in the order of their log positions (the first invariant of the module
    /// doc), or a client dropped between two of them recovers with one missed or doubled.
    #[test]
    fn concurrent_deliveries_reach_an_outbox_in_log_order() {
        const EACH: usize = 20_000;
        let delivery = Delivery::new(RecoveryConfig {
            window: Duration::from_secs(120),
            max_events: 1000,
        });
        let outbox = Outbox::new(usize::MAX / 2);
        delivery.join("s1", &["alice"], outbox.clone(), "alice");
        let rooms = vec!["alice".to_owned()];
        let positions: Vec<HashMap<String, u64>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..2)
                .map(|t| {
                    let (delivery, rooms) = (&delivery, &rooms);
                    scope.spawn(move || {
                        (0..EACH)
                            .map(|i| {
                                let tag = format!("{t}:{i}");
                                let event = OutboundEvent::new("n", vec![tag.clone().into()]);
                                let seq = delivery.deliver(rooms, NOBODY, &event).expect("logged");
                                (tag, seq)
                            })
                            .collect()
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().expect("no panic"))
                .collect()
        });
        let queued = outbox.take_queued();
        assert_eq!(queued.len(), 2 * EACH);
        let mut last = None;
        for frame in &queued {
            let Frame::Text(text) = frame else {
                panic!("text frames only");
            };
            let tag = text.split('"').nth(3).expect("the event's argument");
            let t: usize = tag[..1].parse().expect("thread");
            let seq = positions[t][tag];
            assert!(
                last < Some(seq),
                "{tag} (position {seq}) queued after position {last:?}"
            );
            last = Some(seq);
        }
    }
}
