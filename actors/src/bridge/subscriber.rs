//! The subscriber: a pub/sub connection of its own (a subscribed connection can run nothing
//! else), kept subscribed for the life of the node.
//!
//! Why a loop of our own rather than the client's automatic resubscription: we must know when
//! the subscriptions are really in place (requests are pointless before, see
//! [`SubscriptionChanged`]), and a Redis that vanished without closing the TCP connection
//! (black hole, paused VM) must be noticed too, which a read-only stream never does. So the
//! loop connects, subscribes, then forwards messages while PINGing every few seconds; any
//! failure (end of stream, PING error or timeout) drops the connection and starts over after
//! an exponential backoff with jitter (100 ms doubling to 2 s), re-subscribing every time.

use super::room_subscriptions::{RoomChange, RoomSubscriptions, SubscriptionMode, SyncPlan};
use super::{Channels, Inbound, SubscriptionChanged};
use actix::Recipient;
use futures_util::StreamExt;
use rand::Rng;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub(super) const FIRST_BACKOFF: Duration = Duration::from_millis(100);
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// A pub/sub connection with no traffic is checked this often.
pub(super) const PING_EVERY: Duration = Duration::from_secs(3);
/// Room changes turned into one `SUBSCRIBE` / `UNSUBSCRIBE` at most (a connect storm's joins
/// batch up while the previous command is in flight).
pub(super) const MAX_CHANGES: usize = 4096;

pub struct SubscriberConfig {
    pub client: redis::Client,
    pub channels: Channels,
    pub mode: SubscriptionMode,
    /// Our heartbeat channel (`heartbeat.rs`).
    pub heartbeat: String,
    /// Bound on connecting + subscribing and on each keep-alive PING.
    pub timeout: Duration,
}

/// The subscriber's state across connections.
struct Subscriber {
    config: SubscriberConfig,
    inbound: Recipient<Inbound>,
    rooms: RoomSubscriptions,
    /// `None` once every [`super::RoomWatch`] is gone (pattern mode never has one).
    changes: Option<mpsc::UnboundedReceiver<RoomChange>>,
}

/// Spawns the subscriber loop on the current arbiter. It ends when the bridge is gone.
/// `changes` are the hub's room changes, followed in [`SubscriptionMode::Rooms`].
pub(super) fn spawn(
    config: SubscriberConfig,
    inbound: Recipient<Inbound>,
    state: Recipient<SubscriptionChanged>,
    changes: mpsc::UnboundedReceiver<RoomChange>,
) {
    let subscriber = Subscriber {
        rooms: RoomSubscriptions::new(config.channels.clone()),
        config,
        inbound,
        changes: Some(changes),
    };
    actix::spawn(keep_subscribed(subscriber, state));
}

/// One way of being subscribed (classic pub/sub here, sharded in `sharded_subscriber.rs`);
/// [`keep_subscribed`] runs the reconnect loop around it.
pub(super) trait Subscription {
    /// What a successful subscription yields, for [`Subscription::pump`].
    type Live;
    /// Connects and subscribes everything.
    async fn subscribe(&mut self) -> Result<Self::Live, String>;
    /// Forwards messages until the subscription may be lost; returns why it stopped.
    async fn pump(&mut self, live: Self::Live) -> &'static str;
    /// Whether the bridge still listens (the loop ends when it is gone).
    fn bridge_alive(&self) -> bool;
    /// The room bookkeeping and the hub's room changes, followed while offline.
    fn rooms(
        &mut self,
    ) -> (
        &mut RoomSubscriptions,
        &mut Option<mpsc::UnboundedReceiver<RoomChange>>,
    );
}

/// Subscribes, pumps, and after any loss starts over after an exponential backoff with
/// jitter, telling the bridge every change ([`SubscriptionChanged`]); ends with the bridge.
pub(super) async fn keep_subscribed(
    mut subscription: impl Subscription,
    state: Recipient<SubscriptionChanged>,
) {
    let mut backoff = FIRST_BACKOFF;
    let mut failing = false;
    while subscription.bridge_alive() {
        match subscription.subscribe().await {
            Ok(live) => {
                if failing {
                    log::info!("bridge: subscribed to redis again");
                }
                failing = false;
                backoff = FIRST_BACKOFF;
                state.do_send(SubscriptionChanged(true));
                let reason = subscription.pump(live).await;
                state.do_send(SubscriptionChanged(false));
                log::warn!("bridge: redis subscription lost ({reason}); resubscribing");
            }
            Err(e) if !failing => {
                log::warn!("bridge: cannot subscribe to redis ({e}); retrying");
                failing = true;
            }
            Err(e) => log::debug!("bridge: still cannot subscribe to redis ({e})"),
        }
        let (rooms, changes) = subscription.rooms();
        rooms.disconnected();
        wait_offline(rooms, changes, jittered(backoff)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

impl Subscription for Subscriber {
    type Live = redis::aio::PubSub;

    async fn subscribe(&mut self) -> Result<Self::Live, String> {
        Subscriber::subscribe(self).await
    }

    async fn pump(&mut self, live: Self::Live) -> &'static str {
        Subscriber::pump(self, live).await
    }

    fn bridge_alive(&self) -> bool {
        self.inbound.connected()
    }

    fn rooms(
        &mut self,
    ) -> (
        &mut RoomSubscriptions,
        &mut Option<mpsc::UnboundedReceiver<RoomChange>>,
    ) {
        (&mut self.rooms, &mut self.changes)
    }
}

impl Subscriber {
    /// Connects and subscribes to the broadcasts (pattern, or namespace channel and every
    /// wanted room in one command) and the request/response channels.
    async fn subscribe(&mut self) -> Result<redis::aio::PubSub, String> {
        let channels = &self.config.channels;
        let mut fixed = vec![
            channels.request.clone(),
            channels.response.clone(),
            self.config.heartbeat.clone(),
        ];
        let rooms = match self.config.mode {
            SubscriptionMode::Pattern => SyncPlan::default(),
            SubscriptionMode::Rooms => {
                fixed.push(channels.broadcast.clone());
                self.rooms.resubscribe_all()
            }
        };
        let pattern = self.config.mode == SubscriptionMode::Pattern;
        let started = Instant::now();
        let attempt = async {
            let mut pubsub = self.config.client.get_async_pubsub().await?;
            if pattern {
                pubsub.psubscribe(&channels.pattern).await?;
            }
            // One SUBSCRIBE with every channel as argument: one round trip however many rooms.
            let all: Vec<&String> = fixed.iter().chain(&rooms.subscribe).collect();
            pubsub.subscribe(&all).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let result = match tokio::time::timeout(self.config.timeout, attempt).await {
            Ok(Ok(pubsub)) => Ok(pubsub),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".to_owned()),
        };
        if result.is_ok() {
            let count = rooms.subscribe.len();
            if count > 0 {
                log::info!(
                    "bridge: subscribed to {count} room channels in {} ms",
                    started.elapsed().as_millis()
                );
            }
            self.rooms.synced(rooms);
        }
        result
    }

    /// Forwards messages and applies room changes until the connection fails; returns why it
    /// stopped.
    async fn pump(&mut self, pubsub: redis::aio::PubSub) -> &'static str {
        let timeout = self.config.timeout;
        let (mut sink, mut stream) = pubsub.split();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let mut batch = Vec::new();
        loop {
            tokio::select! {
                message = stream.next() => {
                    let Some(message) = message else { return "connection closed" };
                    ping.reset();
                    if !self.inbound.connected() {
                        return "bridge stopped";
                    }
                    self.inbound.do_send(Inbound {
                        channel: message.get_channel_name().to_owned(),
                        payload: message.get_payload_bytes().to_vec(),
                    });
                }
                received = next_changes(&mut self.changes, &mut batch) => {
                    if received == 0 {
                        continue;
                    }
                    for change in batch.drain(..) {
                        self.rooms.apply(change);
                    }
                    let plan = self.rooms.plan();
                    if plan.is_empty() {
                        self.rooms.synced(plan);
                        continue;
                    }
                    if let Err(reason) = apply_plan(&mut sink, &plan, timeout).await {
                        return reason;
                    }
                    self.rooms.synced(plan);
                }
                _ = ping.tick() => {
                    // In subscribed mode PING answers an array, hence the untyped reply.
                    match tokio::time::timeout(timeout, sink.ping::<redis::Value>()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(_)) => return "ping failed",
                        Err(_) => return "ping timed out",
                    }
                }
            }
        }
    }
}

/// Sleeps `pause` before the next connection attempt, recording room changes meanwhile
/// (the next connection subscribes them; their joiners need not wait for it).
pub(super) async fn wait_offline(
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
pub(super) async fn next_changes(
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

/// Sends the commands of `plan`: at most one `SUBSCRIBE` and one `UNSUBSCRIBE`, never an
/// `UNSUBSCRIBE` without arguments (which would drop every subscription).
async fn apply_plan(
    sink: &mut redis::aio::PubSubSink,
    plan: &SyncPlan,
    timeout: Duration,
) -> Result<(), &'static str> {
    let commands = async {
        if !plan.subscribe.is_empty() {
            sink.subscribe(&plan.subscribe).await?;
        }
        if !plan.unsubscribe.is_empty() {
            sink.unsubscribe(&plan.unsubscribe).await?;
        }
        Ok::<_, redis::RedisError>(())
    };
    match tokio::time::timeout(timeout, commands).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err("room subscription failed"),
        Err(_) => Err("room subscription timed out"),
    }
}

/// `base` ± 25 %, so that many nodes do not reconnect in lockstep.
pub(super) fn jittered(base: Duration) -> Duration {
    let factor = rand::rng().random_range(0.75..1.25);
    base.mul_f64(factor)
}
