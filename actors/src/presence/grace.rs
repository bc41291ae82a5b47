//! The presence grace: a user whose last local socket dropped for a reason that can be
//! recovered (transport closed or errored, ping timeout, the server shutting down) is not
//! announced gone at once. For the grace (`--presence-grace-ms`, default 3 s) it stays listed
//! as this node's user, and only once the grace is over does the hub ask the cluster whether
//! it has a socket anywhere (the usual last-tab question, `last_tab.rs`).
//!
//! A user back within the grace gets neither `user disconnected` nor a second
//! `user connected`:
//! - **on this node**: its join ends the grace here ([`PresenceGrace::end`]) and the join's
//!   answer says not to announce it;
//! - **on another node**: while the grace runs, a marker (`chat:grace:<userID>`, expiring with
//!   the grace) says that the user is still announced online. The node the user comes back to
//!   takes the marker (`GETDEL`) and announces nothing; when this node's grace ends and the
//!   marker is gone, someone else owns the user's presence now and this node forgets the user
//!   without asking or announcing anything.
//!
//! A draining node's users all leave with "server shutting down": each enters the grace, the
//! node exits with them still in its user list, and the survivors' reaper announces, once, the
//! ones who did not come back anywhere. An explicit disconnect from the client has no grace.

use super::last_tab::Leave;
use std::collections::HashMap;
use std::time::Duration;

/// The users of this node in their grace.
pub struct PresenceGrace {
    grace: Duration,
    /// userID -> (generation, the last socket's leave). The generation tells a timer that
    /// fires for an earlier grace of the same user (back and gone again since) to do nothing.
    waiting: HashMap<String, (u64, Leave)>,
    generation: u64,
    /// The node drained and handed its users to the cluster: no grace ends here any more.
    handed_over: bool,
}

impl PresenceGrace {
    /// A grace of `grace` (zero: every departure is decided at once).
    pub fn new(grace: Duration) -> PresenceGrace {
        PresenceGrace {
            grace,
            waiting: HashMap::new(),
            generation: 0,
            handed_over: false,
        }
    }

    pub fn duration(&self) -> Duration {
        self.grace
    }

    /// Whether a departure of `leave`'s kind waits for the grace.
    pub fn applies_to(&self, leave: &Leave) -> bool {
        leave.recoverable && !self.grace.is_zero()
    }

    /// The user's last socket left: its grace starts; returns the generation its timer names.
    pub fn begin(&mut self, leave: Leave) -> u64 {
        self.generation += 1;
        self.waiting
            .insert(leave.user_id.clone(), (self.generation, leave));
        self.generation
    }

    /// The user is back on this node: returns whether it was in its grace (which ends).
    pub fn end(&mut self, user_id: &str) -> bool {
        self.waiting.remove(user_id).is_some()
    }

    /// The node drained (`retire.rs`): the users in their grace are the cluster's to decide
    /// now (this node, which lives on for a moment, must not announce them too).
    pub fn hand_over(&mut self) {
        self.handed_over = true;
    }

    /// The grace of `generation` is over: the departure to decide now, if the user is still
    /// away (not back since, nor gone and back and gone again) and still this node's to decide.
    pub fn expire(&mut self, user_id: &str, generation: u64) -> Option<Leave> {
        if self.handed_over {
            return None;
        }
        match self.waiting.get(user_id) {
            Some((current, _)) if *current == generation => {
                self.waiting.remove(user_id).map(|(_, leave)| leave)
            }
            _ => None,
        }
    }

    /// Whether `user_id` is in its grace here.
    pub fn holds(&self, user_id: &str) -> bool {
        self.waiting.contains_key(user_id)
    }

    /// How many users are in their grace here.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Session;

    fn leave(user: &str, recoverable: bool) -> Leave {
        Leave {
            socket_id: format!("s-{user}"),
            user_id: user.into(),
            session_id: format!("session-{user}"),
            session: Session {
                user_id: user.into(),
                username: user.into(),
                connected: true,
            },
            recoverable,
        }
    }

    #[test]
    fn a_timer_of_an_earlier_grace_decides_nothing() {
        let mut grace = PresenceGrace::new(Duration::from_secs(3));
        assert!(grace.applies_to(&leave("a", true)));
        assert!(!grace.applies_to(&leave("a", false)), "explicit: at once");
        let first = grace.begin(leave("a", true));
        assert!(grace.holds("a"));
        assert!(grace.end("a"), "back within the grace");
        assert!(!grace.end("a"));
        let second = grace.begin(leave("a", true));
        assert!(
            grace.expire("a", first).is_none(),
            "the first timer is stale"
        );
        assert_eq!(
            grace.expire("a", second).map(|l| l.user_id),
            Some("a".into())
        );
        assert!(grace.is_empty());
    }

    #[test]
    fn a_zero_grace_applies_to_nothing() {
        let grace = PresenceGrace::new(Duration::ZERO);
        assert!(!grace.applies_to(&leave("a", true)));
    }
}
