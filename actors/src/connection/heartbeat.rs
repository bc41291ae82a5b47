//! Engine.IO v4 heartbeat: the server pings every `pingInterval` and closes the session when
//! the pong does not come back within `pingTimeout`. A long-polling client that vanished is
//! detected the same way, because its pings are never fetched.

use super::app::SocketApp;
use super::Connection;
use crate::metrics::METRICS;
use crate::transport::Frame;
use actix::prelude::*;

impl<A: SocketApp> Connection<A> {
    pub(super) fn schedule_ping(&mut self, ctx: &mut Context<Self>) {
        let interval = self.server.config.ping_interval;
        ctx.run_later(interval, |act, ctx| {
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

    /// A pong answers the outstanding ping; a pong nobody asked for is ignored.
    pub(super) fn on_pong(&mut self, ctx: &mut Context<Self>) {
        if let Some(deadline) = self.pong_deadline.take() {
            ctx.cancel_future(deadline);
            self.schedule_ping(ctx);
            A::on_pong(self);
        }
    }
}
