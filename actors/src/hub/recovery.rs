//! Connection state recovery's messages to the hub (see [`crate::recovery`] for the design):
//! each handler hands the work to the hub's [`HubRecovery`](crate::recovery::HubRecovery)
//! and rejoins a restored socket to its rooms, on the hub's one thread.

use super::ChatHub;
use crate::metrics::METRICS;
use crate::recovery::{
    DeliveredSince, Park, ParkedSession, Rejoin, Restore, Restored, Unrecoverable, SWEEP_EVERY,
};
use crate::transport::Deliver;
use actix::prelude::*;

impl ChatHub {
    /// Puts a recovered socket back in its rooms; resolves once its user room is subscribed.
    fn rejoin(
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

    /// Starts the periodic sweep of what recovery keeps (when it is on): parked sockets,
    /// announcements and log entries past the window are forgotten, and the rooms of users
    /// left with nothing parked and no socket unsubscribed.
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
                    hub.cluster.room_lost(&user_id);
                }
            }
        });
    }
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
        recovery.park(
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
        let restored = recovery.restore(&msg.pid, &msg.offset, msg.session_id.as_deref())?;
        // The user room is still subscribed (kept while parked), so this is not waited for.
        drop(self.rejoin(&restored.session, msg.recipient));
        METRICS.handshakes.with_label_values(&["recovered"]).inc();
        Ok(restored)
    }
}

impl Handler<Rejoin> for ChatHub {
    type Result = ResponseFuture<String>;
    fn handle(&mut self, msg: Rejoin, _: &mut Context<Self>) -> Self::Result {
        let session = msg.session;
        let subscribed = self.rejoin(&session, msg.recipient);
        let head = self
            .recovery
            .as_mut()
            .map(|recovery| recovery.joined_at_head(&session.user_id))
            .unwrap_or_default();
        Box::pin(async move {
            subscribed.await;
            head
        })
    }
}

impl Handler<DeliveredSince> for ChatHub {
    type Result = MessageResult<DeliveredSince>;
    fn handle(&mut self, msg: DeliveredSince, _: &mut Context<Self>) -> Self::Result {
        let ids = self
            .recovery
            .as_ref()
            .map(|recovery| recovery.message_ids_after(&msg.after, &msg.rooms))
            .unwrap_or_default();
        MessageResult(ids)
    }
}
