//! A user's last local tab leaving: the hub asks the other nodes whether the user still has a
//! tab there, and only when nobody has one is the user announced `user disconnected` (to every
//! socket, on every node) and its session saved with `connected: false`. "Unknown" (Redis
//! down, a node did not answer) is not "nobody": the user is not announced, and the survivors'
//! reaper announces the users of nodes that really died. A single node asks nobody.

use crate::event::OutboundEvent;
use crate::hub::{ChatHub, LocalPresence};
use crate::metrics::METRICS;
use crate::store::{Session, SetConnected};
use actix::prelude::*;

/// A socket left (namespace disconnect or closed session). The session is carried so that
/// the hub can save it with `connected: false` when this was the user's last socket.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub socket_id: String,
    pub user_id: String,
    pub session_id: String,
    pub session: Session,
}

/// How many presence questions to other nodes are still unanswered (0 = idle); a draining
/// node waits for them, so that its departing users get announced.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct PendingChecks;

impl Handler<Leave> for ChatHub {
    type Result = ();

    fn handle(&mut self, msg: Leave, ctx: &mut Context<Self>) {
        if !self.leave_socket(&msg.socket_id) {
            return;
        }
        if self.local_sockets_in(&msg.user_id) > 0 {
            return;
        }
        self.live_users.remove(&msg.user_id);
        // A parked socket of the user keeps its room: what it misses from other nodes must
        // reach this node's log to be replayed (released by the recovery sweep).
        if !self
            .recovery
            .as_ref()
            .is_some_and(|r| r.holds_parked(&msg.user_id))
        {
            self.cluster.room_lost(&msg.user_id);
        }
        self.cluster.local_presence(LocalPresence::Offline {
            user_id: msg.user_id.clone(),
        });
        let remote = self.cluster.remote_sockets(vec![msg.user_id.clone()]);
        self.pending_checks += 1;
        ctx.spawn(remote.into_actor(self).map(move |answer, hub, _| {
            hub.pending_checks -= 1;
            // Between the question and the answer the user may have come back on this node.
            if hub.local_sockets_in(&msg.user_id) > 0 {
                return;
            }
            match answer {
                Some(remote) if remote > 0 => {}
                Some(_) => hub.announce_disconnect(msg),
                // "Unknown" is not "nobody": a node that did not answer may still hold a tab.
                // Node liveness tracking announces users of nodes that really died.
                None => log::warn!(
                    "could not learn whether {} has other tabs; not announcing",
                    msg.user_id
                ),
            }
        }));
    }
}

impl Handler<PendingChecks> for ChatHub {
    type Result = usize;
    fn handle(&mut self, _: PendingChecks, _: &mut Context<Self>) -> usize {
        self.pending_checks
    }
}

impl ChatHub {
    /// The user has no socket left anywhere: saved disconnected, announced to everyone.
    fn announce_disconnect(&mut self, msg: Leave) {
        if let Some(recovery) = self.recovery.as_mut() {
            recovery.announced_gone(&msg.user_id);
        }
        self.sessions.do_send(SetConnected {
            session_id: msg.session_id,
            session: msg.session,
            connected: false,
        });
        METRICS
            .presence_announcements
            .with_label_values(&["disconnected"])
            .inc();
        let event = OutboundEvent::new("user disconnected", vec![msg.user_id.into()]);
        self.broadcast(Vec::new(), Vec::new(), event);
    }
}
