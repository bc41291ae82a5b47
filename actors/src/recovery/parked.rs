//! Sockets that disconnected for a reason that may be recovered, kept by pid for the window.
//! A parked socket holds ids and rooms only; what it misses stays in the shared
//! [`BroadcastLog`](super::BroadcastLog).

use super::Unrecoverable;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What a recovered socket gets back (kept in Redis too, as JSON, for the other nodes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParkedSession {
    pub socket_id: String,
    pub session_id: String,
    pub user_id: String,
    pub username: String,
    /// Every room the socket was in (its own socket-id room included).
    pub rooms: Vec<String>,
}

/// Parked sockets by pid, and how many each user has (its room stays subscribed meanwhile,
/// so that what it misses from other nodes reaches the log).
pub struct ParkedSessions {
    by_pid: HashMap<String, (Instant, ParkedSession)>,
    per_user: HashMap<String, usize>,
    window: Duration,
}

impl ParkedSessions {
    pub fn new(window: Duration) -> ParkedSessions {
        ParkedSessions {
            by_pid: HashMap::new(),
            per_user: HashMap::new(),
            window,
        }
    }

    pub fn park(&mut self, pid: String, session: ParkedSession) {
        let user_id = session.user_id.clone();
        if let Some((_, replaced)) = self.by_pid.insert(pid, (Instant::now(), session)) {
            self.unpark(&replaced.user_id);
        }
        *self.per_user.entry(user_id).or_default() += 1;
    }

    /// Whether `user_id` has a parked socket.
    pub fn holds(&self, user_id: &str) -> bool {
        self.per_user.contains_key(user_id)
    }

    /// One parked socket of `user_id` fewer; returns whether it was its last.
    fn unpark(&mut self, user_id: &str) -> bool {
        match self.per_user.get_mut(user_id) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                self.per_user.remove(user_id);
                true
            }
            None => false,
        }
    }

    /// Takes the parked socket of `pid` if it is there, within the window, and (when the
    /// client also presented a sessionID) of that session. A pid presented with another
    /// user's sessionID stays parked for its owner.
    pub fn take(
        &mut self,
        pid: &str,
        session_id: Option<&str>,
    ) -> Result<ParkedSession, Unrecoverable> {
        let (parked_at, session) = self.by_pid.get(pid).ok_or(Unrecoverable::UnknownPid)?;
        // Left for [`ParkedSessions::expire`], which tells the hub its user is released.
        if parked_at.elapsed() > self.window {
            return Err(Unrecoverable::Expired);
        }
        if session_id.is_some_and(|id| id != session.session_id) {
            return Err(Unrecoverable::ForeignSession);
        }
        let (_, session) = self.by_pid.remove(pid).ok_or(Unrecoverable::UnknownPid)?;
        self.unpark(&session.user_id);
        Ok(session)
    }

    /// Forgets the sockets parked longer than the window; returns the users left with none.
    pub fn expire(&mut self) -> Vec<String> {
        let window = self.window;
        let gone: Vec<String> = self
            .by_pid
            .iter()
            .filter(|(_, (at, _))| at.elapsed() > window)
            .map(|(pid, _)| pid.clone())
            .collect();
        let mut released = Vec::new();
        for pid in gone {
            if let Some((_, session)) = self.by_pid.remove(&pid) {
                if self.unpark(&session.user_id) {
                    released.push(session.user_id);
                }
            }
        }
        released
    }

    pub fn len(&self) -> usize {
        self.by_pid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_pid.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> ParkedSession {
        ParkedSession {
            socket_id: "sock".into(),
            session_id: "sess-a".into(),
            user_id: "a".into(),
            username: "alice".into(),
            rooms: vec!["sock".into(), "a".into()],
        }
    }

    #[test]
    fn gives_a_parked_socket_back_once_to_its_owner() {
        let mut parked = ParkedSessions::new(Duration::from_secs(60));
        parked.park("pid1".into(), alice());
        assert_eq!(parked.take("nope", None), Err(Unrecoverable::UnknownPid));
        assert_eq!(
            parked.take("pid1", Some("sess-b")),
            Err(Unrecoverable::ForeignSession)
        );
        assert!(parked.holds("a"));
        assert_eq!(parked.take("pid1", Some("sess-a")), Ok(alice()));
        assert!(!parked.holds("a"));
        assert_eq!(
            parked.take("pid1", Some("sess-a")),
            Err(Unrecoverable::UnknownPid)
        );
    }

    #[test]
    fn forgets_after_the_window() {
        let mut parked = ParkedSessions::new(Duration::ZERO);
        parked.park("pid1".into(), alice());
        parked.park("pid2".into(), alice());
        std::thread::sleep(Duration::from_millis(2));
        assert!(parked.holds("a"));
        assert_eq!(parked.take("pid1", None), Err(Unrecoverable::Expired));
        assert!(
            parked.holds("a"),
            "released by expire, not by a refused take"
        );
        assert_eq!(parked.expire(), vec!["a".to_string()]);
        assert!(parked.is_empty());
        assert!(!parked.holds("a"));
    }
}
