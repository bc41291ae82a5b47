//! Room subscriptions: which `<p>#/#<room>#` channels this node must be subscribed to.
//!
//! Why: with `PSUBSCRIBE <p>#/#*` Redis hands every private message to every node, and every
//! node decodes it only to find no recipient, so each node added makes every message dearer.
//! In [`SubscriptionMode::Rooms`] (the default) a node `SUBSCRIBE`s the namespace channel
//! `<p>#/#` and, for every user room with a local socket, `<p>#/#<room>#`; private messages
//! are published to the rooms of their recipient and sender, so only nodes holding one of
//! them receive it. This is the `dynamic` mode of `@socket.io/redis-adapter` 8.3's sharded
//! adapter, on classic pub/sub. Node nodes, which `PSUBSCRIBE`, still see every message.
//!
//! The hub reports a room's first local socket ([`RoomWatch::gained`]) and its last one
//! leaving ([`RoomWatch::lost`]); the subscriber task owns a [`RoomSubscriptions`] and turns
//! those changes into `SUBSCRIBE` / `UNSUBSCRIBE` commands, one command per batch of changes,
//! and after every reconnect subscribes everything at once (one `SUBSCRIBE` with every
//! channel as argument, not one round trip per room).
//!
//! Invariants:
//! - `active` is what the current pub/sub connection is subscribed to, `wanted` what it should
//!   be; every channel whose state may differ is in `dirty`, so a sync costs the changes, not
//!   the number of rooms.
//! - An `UNSUBSCRIBE` is never sent without arguments (that would drop every subscription,
//!   the request and response channels included).
//! - Every `gained` is answered (its receiver completes) once the subscription is in place,
//!   or at once while Redis is unreachable (the reconnect subscribes it), so a joining socket
//!   waits at most one round trip and never forever.

use super::Channels;
use std::collections::HashSet;
use tokio::sync::{mpsc, oneshot};

/// How a node subscribes to other nodes' broadcasts (`--subscription-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionMode {
    /// `PSUBSCRIBE <p>#/#*`, as socket.io-redis 6: every node receives every broadcast.
    Pattern,
    /// `SUBSCRIBE <p>#/#` plus one `<p>#/#<room>#` per user room with a local socket.
    #[default]
    Rooms,
}

/// A change of the local rooms, from the hub to the subscriber.
#[derive(Debug)]
pub(super) enum RoomChange {
    /// The room got its first local socket; `done` completes once it is subscribed.
    Gained {
        room: String,
        done: oneshot::Sender<()>,
    },
    /// The room's last local socket left.
    Lost(String),
}

/// The hub's handle on the room subscriptions; cheap to clone.
#[derive(Debug, Clone)]
pub struct RoomWatch {
    changes: mpsc::UnboundedSender<RoomChange>,
}

impl RoomWatch {
    pub(super) fn new() -> (RoomWatch, mpsc::UnboundedReceiver<RoomChange>) {
        let (changes, receiver) = mpsc::unbounded_channel();
        (RoomWatch { changes }, receiver)
    }

    /// `room` got its first local socket. The returned receiver completes (with `Ok` or a
    /// closed error, both meaning "go on") once broadcasts to that room reach this node.
    pub fn gained(&self, room: &str) -> oneshot::Receiver<()> {
        let (done, waiter) = oneshot::channel();
        // A closed subscriber drops `done`, which completes the waiter too.
        let _ = self.changes.send(RoomChange::Gained {
            room: room.to_owned(),
            done,
        });
        waiter
    }

    /// `room` lost its last local socket.
    pub fn lost(&self, room: &str) {
        let _ = self.changes.send(RoomChange::Lost(room.to_owned()));
    }
}

/// Subscription commands to send to bring the connection to the wanted state.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct SyncPlan {
    pub subscribe: Vec<String>,
    pub unsubscribe: Vec<String>,
}

impl SyncPlan {
    pub fn is_empty(&self) -> bool {
        self.subscribe.is_empty() && self.unsubscribe.is_empty()
    }
}

/// The bookkeeping of the room channels (see the module doc for the invariants).
#[derive(Debug)]
pub(super) struct RoomSubscriptions {
    channels: Channels,
    wanted: HashSet<String>,
    active: HashSet<String>,
    dirty: HashSet<String>,
    waiting: Vec<oneshot::Sender<()>>,
}

impl RoomSubscriptions {
    pub fn new(channels: Channels) -> RoomSubscriptions {
        RoomSubscriptions {
            channels,
            wanted: HashSet::new(),
            active: HashSet::new(),
            dirty: HashSet::new(),
            waiting: Vec::new(),
        }
    }

    /// Records a change from the hub.
    pub fn apply(&mut self, change: RoomChange) {
        match change {
            RoomChange::Gained { room, done } => {
                let channel = self.channels.broadcast_to(&[room]);
                self.wanted.insert(channel.clone());
                self.dirty.insert(channel);
                self.waiting.push(done);
            }
            RoomChange::Lost(room) => {
                let channel = self.channels.broadcast_to(&[room]);
                self.wanted.remove(&channel);
                self.dirty.insert(channel);
            }
        }
    }

    /// What to send so that the connection matches the wanted rooms. Call
    /// [`RoomSubscriptions::synced`] once it was sent and confirmed.
    pub fn plan(&mut self) -> SyncPlan {
        let mut plan = SyncPlan::default();
        for channel in self.dirty.drain() {
            match (
                self.wanted.contains(&channel),
                self.active.contains(&channel),
            ) {
                (true, false) => plan.subscribe.push(channel),
                (false, true) => plan.unsubscribe.push(channel),
                _ => {}
            }
        }
        plan
    }

    /// `plan` is in effect on the connection: records it and lets the joiners go on.
    pub fn synced(&mut self, plan: SyncPlan) {
        for channel in plan.unsubscribe {
            self.active.remove(&channel);
        }
        self.active.extend(plan.subscribe);
        self.release();
    }

    /// The connection is gone: nothing is active any more, and nobody should wait for a
    /// subscription that only the next connection can make.
    pub fn disconnected(&mut self) {
        self.active.clear();
        self.dirty.clear();
        self.release();
    }

    /// Every wanted channel, for the first `SUBSCRIBE` of a new connection; the caller then
    /// calls [`RoomSubscriptions::synced`] with it as `subscribe`.
    pub fn resubscribe_all(&mut self) -> SyncPlan {
        self.active.clear();
        self.dirty.clear();
        SyncPlan {
            subscribe: self.wanted.iter().cloned().collect(),
            unsubscribe: Vec::new(),
        }
    }

    /// The rooms whose channels are wanted.
    pub fn wanted_rooms(&self) -> Vec<String> {
        self.wanted
            .iter()
            .filter_map(|channel| self.channels.room_of(channel))
            .map(str::to_owned)
            .collect()
    }

    /// Whether `channel` is a room channel this node wants subscribed.
    pub fn wants(&self, channel: &str) -> bool {
        self.wanted.contains(channel)
    }

    /// Number of room channels wanted.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.wanted.len()
    }

    fn release(&mut self) {
        for done in self.waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gained(subs: &mut RoomSubscriptions, room: &str) -> oneshot::Receiver<()> {
        let (done, waiter) = oneshot::channel();
        subs.apply(RoomChange::Gained {
            room: room.to_owned(),
            done,
        });
        waiter
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn plans_only_the_changes() {
        let mut subs = RoomSubscriptions::new(Channels::new("socket.io"));
        let mut alice = gained(&mut subs, "alice");
        gained(&mut subs, "bob");
        let plan = subs.plan();
        assert_eq!(
            sorted(plan.subscribe.clone()),
            ["socket.io#/#alice#", "socket.io#/#bob#"]
        );
        assert!(plan.unsubscribe.is_empty());
        assert!(alice.try_recv().is_err(), "released before the SUBSCRIBE");
        subs.synced(plan);
        assert_eq!(alice.try_recv(), Ok(()));
        assert!(subs.plan().is_empty(), "nothing changed since");

        subs.apply(RoomChange::Lost("bob".into()));
        let plan = subs.plan();
        assert_eq!(plan.unsubscribe, ["socket.io#/#bob#"]);
        subs.synced(plan);

        // Lost then gained again before any sync: no command at all.
        subs.apply(RoomChange::Lost("alice".into()));
        gained(&mut subs, "alice");
        assert!(subs.plan().is_empty());
        // Gained then lost before any sync: nothing either.
        gained(&mut subs, "carol");
        subs.apply(RoomChange::Lost("carol".into()));
        assert!(subs.plan().is_empty());
        assert_eq!(subs.len(), 1);
    }

    #[test]
    fn reconnect_resubscribes_everything_and_never_blocks_joiners() {
        let mut subs = RoomSubscriptions::new(Channels::new("p"));
        gained(&mut subs, "a");
        let plan = subs.plan();
        subs.synced(plan);
        subs.disconnected();
        let mut waiter = gained(&mut subs, "b");
        subs.disconnected();
        assert_eq!(waiter.try_recv(), Ok(()), "no connection: released at once");
        let all = subs.resubscribe_all();
        assert_eq!(sorted(all.subscribe.clone()), ["p#/#a#", "p#/#b#"]);
        subs.synced(all);
        assert!(subs.plan().is_empty());
        subs.apply(RoomChange::Lost("a".into()));
        assert_eq!(subs.plan().unsubscribe, ["p#/#a#"]);
    }
}
