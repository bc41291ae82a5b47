//! A draining node hands its users to the cluster. Its sockets were closed with "server
//! shutting down", so each of its users is in its presence grace (`grace.rs`), still on the
//! node's list in Redis, with its marker saying it is still announced online. The node then
//! stops heartbeating and lets its `alive` key expire when the grace is over: the survivors'
//! reaper (`reaper.rs`) finds it dead about a second later and announces, once, each of its
//! users that has no socket anywhere by then. Users that came back on another node within the
//! grace (that node took their markers) are announced neither gone nor connected again.

use super::liveness::NodeLiveness;
use crate::hub::ChatHub;
use actix::prelude::*;
use std::time::Duration;

/// Sent to the hub once a drain closed every session: the node's users go to the cluster.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

impl Handler<Retire> for ChatHub {
    type Result = ();
    fn handle(&mut self, _: Retire, _: &mut Context<Self>) {
        self.grace.hand_over();
        self.cluster.retire(self.grace.duration());
    }
}

/// The node stops heartbeating; its `alive` key expires after `alive_for` (at once when zero:
/// the survivors then decide as soon as they look).
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopHeartbeat {
    pub alive_for: Duration,
}

impl Handler<StopHeartbeat> for NodeLiveness {
    type Result = ResponseActFuture<Self, ()>;
    fn handle(&mut self, msg: StopHeartbeat, _: &mut Context<Self>) -> Self::Result {
        self.retired = true;
        let last = self.last_words(msg.alive_for);
        let conn = self.conn.clone();
        Box::pin(
            async move {
                if let Err(e) = conn
                    .query_pipeline::<redis::Value>(&last, crate::store::Replay::Safe)
                    .await
                {
                    log::warn!("liveness: cannot shorten the alive key at the drain's end: {e}");
                }
            }
            .into_actor(self),
        )
    }
}
