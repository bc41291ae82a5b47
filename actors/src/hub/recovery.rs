//! Connection state recovery's messages to the hub (see [`crate::recovery`] for the design):
//! each handler hands the work to the hub's [`HubRecovery`](crate::recovery::HubRecovery)
//! and the routing table ([`super::Delivery`], which reads the replay and rejoins the socket
//! under one lock), on the hub's one thread.

use super::ChatHub;
use crate::metrics::METRICS;
use crate::recovery::{Park, ParkedSession, Rejoin, Restore, Restored, Unrecoverable, SWEEP_EVERY};
use actix::prelude::*;

impl ChatHub {
    /// The rooms of a parked socket, its own first (what the routing table joins it to).
    fn own_room_first(session: &ParkedSession) -> Vec<String> {
        let mut rooms = Vec::with_capacity(session.rooms.len());
        rooms.push(session.socket_id.clone());
        rooms.extend(
            session
                .rooms
                .iter()
                .filter(|r| **r != session.socket_id)
                .cloned(),
        );
        rooms
    }

    /// A recovered socket is back in its rooms: its user is live, its room subscribed.
    fn rejoined(&mut self, session: &ParkedSession) -> ResponseFuture<()> {
        self.note_live(&session.user_id, &session.session_id, &session.username);
        if self.local_sockets_in(&session.user_id) == 1 {
            self.cluster.room_gained(&session.user_id)
        } else {
            Box::pin(async {})
        }
    }

    /// Starts the periodic sweep of what recovery keeps (when it is on): parked sockets,
    /// announcements and log entries past the window are forgotten, and the rooms of users
    /// left with nothing parked and no socket unsubscribed.
    pub(super) fn start_recovery_sweep(&self, ctx: &mut Context<Self>) {
        if self.recovery.is_none() {
            return;
        }
        ctx.run_interval(SWEEP_EVERY, |hub, _| {
            hub.delivery.trim_log();
            let Some(recovery) = hub.recovery.as_mut() else {
                return;
            };
            for user_id in recovery.sweep() {
                if hub.local_sockets_in(&user_id) == 0 {
                    hub.cluster.room_lost(&user_id);
                }
            }
        });
    }
}

impl Handler<Park> for ChatHub {
    type Result = ();
    fn handle(&mut self, msg: Park, _: &mut Context<Self>) {
        let rooms = self.delivery.routes().rooms_of(&msg.socket_id);
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
        // A genuine pid with an unusable offset is used up all the same, as in Node.
        let session = recovery.take_parked(&msg.pid, msg.session_id.as_deref())?;
        let max = recovery.config().max_events;
        let rooms = Self::own_room_first(&session);
        let replay = self
            .delivery
            .rejoin_with_replay(&rooms, msg.outbox, &msg.offset, max)?;
        let announce = self
            .recovery
            .as_mut()
            .is_some_and(|recovery| recovery.back(&session.user_id));
        // The user room is still subscribed (kept while parked), so this is not waited for.
        drop(self.rejoined(&session));
        METRICS.handshakes.with_label_values(&["recovered"]).inc();
        Ok(Restored {
            session,
            missed: replay.missed,
            replayed: Some(replay.ends_at),
            announce,
        })
    }
}

impl Handler<Rejoin> for ChatHub {
    type Result = ResponseFuture<String>;
    fn handle(&mut self, msg: Rejoin, _: &mut Context<Self>) -> Self::Result {
        let session = msg.session;
        let rooms = Self::own_room_first(&session);
        let (socket, others) = rooms.split_first().unwrap_or((&session.socket_id, &[]));
        let others: Vec<&str> = others.iter().map(String::as_str).collect();
        let user = (
            session.user_id.as_str(),
            session.session_id.as_str(),
            session.username.as_str(),
        );
        let (subscribed, head) = self.join_socket(socket, &others, user, msg.outbox);
        if let Some(recovery) = self.recovery.as_mut() {
            recovery.back(&session.user_id);
        }
        let head = head.unwrap_or_default();
        Box::pin(async move {
            subscribed.await;
            head
        })
    }
}
