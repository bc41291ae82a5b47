//! Engine.IO v4 heartbeat: the server pings every `pingInterval` and closes the session when
//! the pong does not come back within `pingTimeout`. A long-polling client that vanished is
//! detected the same way, because its pings are never fetched.
//!
//! The deadline is also kept as an instant, from the ping's scheduled time (not from when a
//! busy thread got round to sending it): a polling request that arrives after it finds the
//! session dead, as it would on Node, even when the timer has not fired yet.

use super::app::SocketApp;
use super::Connection;
use crate::metrics::METRICS;
use crate::transport::Frame;
use actix::prelude::*;
use std::time::Instant;

impl<A: SocketApp> Connection<A> {
    /// Schedules the next ping `pingInterval` after `from` (the session's opening for the
    /// first, a pong for the others).
    pub(super) fn schedule_ping(&mut self, from: Instant, ctx: &mut Context<Self>) {
        let interval = self.server.config.ping_interval;
        self.heartbeat_due = Some(from + interval + self.server.config.ping_timeout);
        ctx.run_later(interval.saturating_sub(from.elapsed()), |act, ctx| {
            // Ahead of queued frames: behind a connect storm's presence traffic the ping could
            // reach the client after `pingTimeout`, and a healthy user would be closed.
            act.send_ahead(Frame::Text("2".into()), ctx);
            let timeout = act.server.config.ping_timeout;
            act.pong_deadline = Some(ctx.run_later(timeout, |act, ctx| {
                METRICS.error("ping_timeout");
                act.close("ping timeout", false, ctx);
            }));
        });
    }

    /// Closes the session if its heartbeat deadline has passed (its timer may not have fired
    /// yet); returns whether it did.
    pub(super) fn heartbeat_overdue(&mut self, ctx: &mut Context<Self>) -> bool {
        let overdue = self.heartbeat_due.is_some_and(|due| Instant::now() >= due);
        if overdue && !self.closing {
            METRICS.error("ping_timeout");
            self.close("ping timeout", false, ctx);
        }
        overdue
    }

    /// A pong answers the outstanding ping; a pong nobody asked for is ignored.
    pub(super) fn on_pong(&mut self, ctx: &mut Context<Self>) {
        if let Some(deadline) = self.pong_deadline.take() {
            ctx.cancel_future(deadline);
            self.schedule_ping(Instant::now(), ctx);
            A::on_pong(self);
        }
    }
}
