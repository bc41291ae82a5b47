//! A user's last local tab leaving: the hub asks the other nodes whether the user still has a
//! tab there, and only when nobody has one is the user announced `user disconnected` (to every
//! socket, on every node) and its session saved with `connected: false`. "Unknown" (Redis
//! down, a node did not answer) is not "nobody": the user is not announced, and the survivors'
//! reaper announces the users of nodes that really died. A single node asks nobody.
//!
//! A departure that can be recovered waits for the presence grace first (`grace.rs`).

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
    /// Whether the socket dropped for a reason that can be recovered (its user then gets the
    /// presence grace); false for an explicit disconnect.
    pub recoverable: bool,
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
        if !self.grace.applies_to(&msg) {
            self.last_tab_gone(msg, ctx);
            return;
        }
        let user_id = msg.user_id.clone();
        let generation = self.grace.begin(msg);
        self.cluster.grace_started(&user_id, self.grace.duration());
        ctx.run_later(self.grace.duration(), move |hub, ctx| {
            let Some(leave) = hub.grace.expire(&user_id, generation) else {
                return;
            };
            // The marker gone means another node took the user back: its presence is that
            // node's now, and this one only forgets it.
            let unclaimed = hub.cluster.grace_over(&user_id);
            ctx.spawn(unclaimed.into_actor(hub).map(move |unclaimed, hub, ctx| {
                if hub.local_sockets_in(&leave.user_id) > 0 {
                    return;
                }
                if unclaimed {
                    hub.last_tab_gone(leave, ctx);
                } else {
                    hub.forget_user(&leave.user_id);
                }
            }));
        });
    }
}

impl ChatHub {
    /// The user's last local socket is gone (and its grace, if it had one, is over): the other
    /// nodes are asked whether it has a socket there, and it is announced gone if nobody has.
    fn last_tab_gone(&mut self, msg: Leave, ctx: &mut Context<Self>) {
        self.forget_user(&msg.user_id);
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

    /// The user is no longer this node's: off its list, its room released unless a parked
    /// socket of it still needs what it misses.
    fn forget_user(&mut self, user_id: &str) {
        self.live_users.remove(user_id);
        // A parked socket of the user keeps its room: what it misses from other nodes must
        // reach this node's log to be replayed (released by the recovery sweep).
        if !self
            .recovery
            .as_ref()
            .is_some_and(|r| r.holds_parked(user_id))
        {
            self.cluster.room_lost(user_id);
        }
        self.cluster.local_presence(LocalPresence::Offline {
            user_id: user_id.to_owned(),
        });
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
