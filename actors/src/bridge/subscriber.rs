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

use super::{Channels, Inbound, SubscriptionChanged};
use actix::Recipient;
use futures_util::StreamExt;
use rand::Rng;
use std::time::Duration;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// A pub/sub connection with no traffic is checked this often.
const PING_EVERY: Duration = Duration::from_secs(3);

pub struct SubscriberConfig {
    pub client: redis::Client,
    pub channels: Channels,
    /// Our heartbeat channel (`heartbeat.rs`).
    pub heartbeat: String,
    /// Bound on connecting + subscribing and on each keep-alive PING.
    pub timeout: Duration,
}

/// Spawns the subscriber loop on the current arbiter. It ends when the bridge is gone.
pub fn spawn(
    config: SubscriberConfig,
    inbound: Recipient<Inbound>,
    state: Recipient<SubscriptionChanged>,
) {
    actix::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        let mut failing = false;
        while inbound.connected() {
            match subscribe(&config).await {
                Ok(pubsub) => {
                    if failing {
                        log::info!("bridge: subscribed to redis again");
                    }
                    failing = false;
                    backoff = FIRST_BACKOFF;
                    state.do_send(SubscriptionChanged(true));
                    let reason = pump(pubsub, &inbound, config.timeout).await;
                    state.do_send(SubscriptionChanged(false));
                    log::warn!("bridge: redis subscription lost ({reason}); reconnecting");
                }
                Err(e) => {
                    if !failing {
                        log::warn!("bridge: cannot subscribe to redis ({e}); retrying");
                        failing = true;
                    }
                }
            }
            actix::clock::sleep(jittered(backoff)).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
}

/// Connects and subscribes to the broadcast pattern and the request/response channels.
async fn subscribe(config: &SubscriberConfig) -> Result<redis::aio::PubSub, String> {
    let attempt = async {
        let mut pubsub = config.client.get_async_pubsub().await?;
        pubsub.psubscribe(&config.channels.pattern).await?;
        pubsub
            .subscribe(&[
                &config.channels.request,
                &config.channels.response,
                &config.heartbeat,
            ])
            .await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(config.timeout, attempt).await {
        Ok(Ok(pubsub)) => Ok(pubsub),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

/// Forwards messages until the connection fails; returns why it stopped.
async fn pump(
    pubsub: redis::aio::PubSub,
    inbound: &Recipient<Inbound>,
    timeout: Duration,
) -> &'static str {
    let (mut sink, mut stream) = pubsub.split();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else { return "connection closed" };
                ping.reset();
                if !inbound.connected() {
                    return "bridge stopped";
                }
                inbound.do_send(Inbound {
                    channel: message.get_channel_name().to_owned(),
                    payload: message.get_payload_bytes().to_vec(),
                });
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

/// `base` ± 25 %, so that many nodes do not reconnect in lockstep.
fn jittered(base: Duration) -> Duration {
    let factor = rand::rng().random_range(0.75..1.25);
    base.mul_f64(factor)
}
