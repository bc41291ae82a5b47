//! The subscriber: a pub/sub connection of its own (a subscribed connection can run nothing
//! else), kept subscribed for the life of the node, on classic pub/sub (`classic.rs`) or on a
//! Redis Cluster's sharded pub/sub (`sharded.rs`). Both run the one loop of this file.
//!
//! Why a loop of our own rather than the client's automatic resubscription: we must know when
//! the subscriptions are really in place (requests are pointless before, see
//! [`SubscriptionChanged`]), and a Redis that vanished without closing the TCP connection
//! (black hole, paused VM) must be noticed too, which a read-only stream never does. So the
//! loop connects, subscribes, then forwards messages while PINGing every few seconds; any
//! failure (end of stream, PING error or timeout, a subscription the server dropped) drops the
//! connection and starts over after an exponential backoff with jitter (100 ms doubling to
//! 2 s), re-subscribing every time.
//!
//! Messages go to the bridge, except those of channels someone else listens to (our
//! heartbeats, which go to presence's membership straight away).

mod classic;
mod sharded;

pub use self::classic::ClassicConnector;
pub use self::sharded::ShardedConnector;

use super::room_subscriptions::{RoomChange, RoomSubscriptions, SyncPlan};
use super::{CatchUp, Inbound, SubscriptionChanged};
use crate::recovery::now_millis;
use actix::Recipient;
use rand::Rng;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// A pub/sub connection with no traffic is checked this often.
const PING_EVERY: Duration = Duration::from_secs(3);
/// How often [`LiveSubscription::still_valid`] is asked.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Room changes turned into one `SUBSCRIBE` / `UNSUBSCRIBE` at most (a connect storm's joins
/// batch up while the previous command is in flight).
const MAX_CHANGES: usize = 4096;

/// What a live subscribed connection yields next.
pub(super) enum Next {
    /// A message on `channel`.
    Message { channel: String, payload: Vec<u8> },
    /// The server dropped our subscription of `channel` (its slot moved to another shard).
    Dropped(String),
    /// The connection may have lost subscriptions: start over.
    Lost(&'static str),
    /// Nothing to act on (a reply of another kind).
    Nothing,
}

/// A way of being subscribed; [`keep_subscribed`] runs the reconnect loop and [`pump`] the
/// traffic around it.
pub(super) trait Connector {
    type Live: LiveSubscription;
    /// Connects and subscribes `channels` (the fixed ones, then every wanted room).
    fn connect(
        &mut self,
        channels: Vec<String>,
    ) -> impl Future<Output = Result<Self::Live, String>>;
}

/// A connection with its subscriptions in place.
pub(super) trait LiveSubscription {
    fn next(&mut self) -> impl Future<Output = Next>;
    /// Sends the commands of `plan` (never an unsubscribe without arguments, which would
    /// drop every subscription).
    fn apply(&mut self, plan: &SyncPlan) -> impl Future<Output = redis::RedisResult<()>>;
    /// The keep-alive check.
    fn ping(&mut self) -> impl Future<Output = redis::RedisResult<()>>;
    /// Whether the subscriptions can still be where they were made (checked every
    /// [`CHECK_EVERY`], traffic or not); false starts over.
    fn still_valid(&mut self) -> impl Future<Output = redis::RedisResult<bool>> {
        async { Ok(true) }
    }
}

/// Where received messages go.
pub struct Forward {
    /// The bridge: every message but those of `listeners`.
    pub bridge: Recipient<Inbound>,
    /// Channels someone else handles, with who.
    pub listeners: Vec<(String, Recipient<Inbound>)>,
    /// Told every time the subscriptions come up or go down.
    pub watchers: Vec<Recipient<SubscriptionChanged>>,
    /// Told, when the subscriptions are back after a loss, which rooms may have missed
    /// messages since when (`None`: nobody catches up).
    pub catch_up: Option<Recipient<CatchUp>>,
}

impl Forward {
    fn send(&self, channel: String, payload: Vec<u8>) {
        let to = self
            .listeners
            .iter()
            .find(|(listened, _)| *listened == channel)
            .map_or(&self.bridge, |(_, recipient)| recipient);
        to.do_send(Inbound { channel, payload });
    }

    fn changed(&self, up: bool) {
        for watcher in &self.watchers {
            watcher.do_send(SubscriptionChanged(up));
        }
    }

    fn catch_up(&self, rooms: Vec<String>, since_ms: u64) {
        if let Some(catch_up) = &self.catch_up {
            if !rooms.is_empty() {
                catch_up.do_send(CatchUp { rooms, since_ms });
            }
        }
    }
}

/// The subscriber's state across connections.
pub(super) struct Subscriber<C> {
    pub connector: C,
    /// Subscribed on every connection, before the rooms.
    pub fixed: Vec<String>,
    pub rooms: RoomSubscriptions,
    /// `None` once every [`super::RoomWatch`] is gone (pattern mode never has one).
    pub changes: Option<mpsc::UnboundedReceiver<RoomChange>>,
    pub forward: Forward,
    /// Bound on connecting + subscribing and on each keep-alive PING.
    pub timeout: Duration,
}

/// Subscribes, pumps, and after any loss starts over after an exponential backoff with
/// jitter, telling the watchers every change; ends with the bridge.
pub(super) async fn keep_subscribed<C: Connector>(mut subscriber: Subscriber<C>) {
    let mut backoff = FIRST_BACKOFF;
    let mut failing = false;
    // Since when (ms since the epoch) messages may have been missed, once subscriptions were
    // lost.
    let mut lost_since: Option<u64> = None;
    while subscriber.forward.bridge.connected() {
        match connect(&mut subscriber).await {
            Ok(live) => {
                if failing {
                    log::info!("bridge: subscribed to redis again");
                }
                failing = false;
                backoff = FIRST_BACKOFF;
                subscriber.forward.changed(true);
                if let Some(since_ms) = lost_since.take() {
                    subscriber
                        .forward
                        .catch_up(subscriber.rooms.wanted_rooms(), since_ms);
                }
                let mut alive_at = now_millis();
                let reason = pump(&mut subscriber, live, &mut alive_at).await;
                lost_since = Some(alive_at);
                subscriber.forward.changed(false);
                log::warn!("bridge: redis subscription lost ({reason}); resubscribing");
            }
            Err(e) if !failing => {
                log::warn!("bridge: cannot subscribe to redis ({e}); retrying");
                failing = true;
            }
            Err(e) => log::debug!("bridge: still cannot subscribe to redis ({e})"),
        }
        subscriber.rooms.disconnected();
        wait_offline(
            &mut subscriber.rooms,
            &mut subscriber.changes,
            jittered(backoff),
        )
        .await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// A new connection with the fixed channels and every wanted room subscribed, within the
/// timeout.
async fn connect<C: Connector>(subscriber: &mut Subscriber<C>) -> Result<C::Live, String> {
    let rooms = subscriber.rooms.resubscribe_all();
    let channels: Vec<String> = subscriber
        .fixed
        .iter()
        .chain(&rooms.subscribe)
        .cloned()
        .collect();
    let started = std::time::Instant::now();
    let attempt = subscriber.connector.connect(channels);
    let live = match tokio::time::timeout(subscriber.timeout, attempt).await {
        Ok(Ok(live)) => live,
        Ok(Err(e)) => return Err(e),
        Err(_) => return Err("timed out".to_owned()),
    };
    let count = rooms.subscribe.len();
    if count > 0 {
        log::info!(
            "bridge: subscribed to {count} room channels in {} ms",
            started.elapsed().as_millis()
        );
    }
    subscriber.rooms.synced(rooms);
    Ok(live)
}

/// Forwards messages and applies room changes until the subscription may be lost; returns
/// why it stopped. `alive_at` is kept at the last time the subscriptions were known to be in
/// place (a message, a `PING` answered, the server's notice that it dropped a channel).
async fn pump<C: Connector>(
    subscriber: &mut Subscriber<C>,
    mut live: C::Live,
    alive_at: &mut u64,
) -> &'static str {
    let timeout = subscriber.timeout;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut check = tokio::time::interval(CHECK_EVERY);
    check.tick().await;
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            next = live.next() => match next {
                Next::Message { channel, payload } => {
                    ping.reset();
                    *alive_at = now_millis();
                    if !subscriber.forward.bridge.connected() {
                        return "bridge stopped";
                    }
                    subscriber.forward.send(channel, payload);
                }
                Next::Dropped(channel) => {
                    // Ours when we no longer want it; the server's (slot moved) otherwise.
                    let wanted =
                        subscriber.fixed.contains(&channel) || subscriber.rooms.wants(&channel);
                    if wanted {
                        *alive_at = now_millis();
                        return "a slot moved to another shard";
                    }
                }
                Next::Lost(reason) => return reason,
                Next::Nothing => {}
            },
            received = next_changes(&mut subscriber.changes, &mut batch) => {
                if received == 0 {
                    continue;
                }
                for change in batch.drain(..) {
                    subscriber.rooms.apply(change);
                }
                let plan = subscriber.rooms.plan();
                if !plan.is_empty() {
                    match tokio::time::timeout(timeout, live.apply(&plan)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => return "room subscription failed",
                        Err(_) => return "room subscription timed out",
                    }
                }
                subscriber.rooms.synced(plan);
            }
            _ = check.tick() => {
                match tokio::time::timeout(timeout, live.still_valid()).await {
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) => return "the cluster's slot layout changed",
                    Ok(Err(_)) => return "layout check failed",
                    Err(_) => return "layout check timed out",
                }
            }
            _ = ping.tick() => {
                let sent_at = now_millis();
                match tokio::time::timeout(timeout, live.ping()).await {
                    Ok(Ok(())) => *alive_at = sent_at,
                    Ok(Err(_)) => return "ping failed",
                    Err(_) => return "ping timed out",
                }
            }
        }
    }
}

/// Sleeps `pause` before the next connection attempt, recording room changes meanwhile
/// (the next connection subscribes them; their joiners need not wait for it).
async fn wait_offline(
    rooms: &mut RoomSubscriptions,
    changes: &mut Option<mpsc::UnboundedReceiver<RoomChange>>,
    pause: Duration,
) {
    let sleep = actix::clock::sleep(pause);
    tokio::pin!(sleep);
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            _ = &mut sleep => return,
            received = next_changes(changes, &mut batch) => {
                if received == 0 {
                    continue;
                }
                for change in batch.drain(..) {
                    rooms.apply(change);
                }
                rooms.disconnected();
            }
        }
    }
}

/// The next room changes (up to [`MAX_CHANGES`]) into `batch`; pends forever once every
/// sender is gone, so that a `select!` does not spin on a closed channel.
async fn next_changes(
    changes: &mut Option<mpsc::UnboundedReceiver<RoomChange>>,
    batch: &mut Vec<RoomChange>,
) -> usize {
    let Some(receiver) = changes else {
        return std::future::pending().await;
    };
    let received = receiver.recv_many(batch, MAX_CHANGES).await;
    if received == 0 {
        *changes = None;
    }
    received
}

/// `base` ± 25 %, so that many nodes do not reconnect in lockstep.
fn jittered(base: Duration) -> Duration {
    let factor = rand::rng().random_range(0.75..1.25);
    base.mul_f64(factor)
}
