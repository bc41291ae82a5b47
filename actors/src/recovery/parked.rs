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

/// Parked sockets by pid.
pub struct ParkedSessions {
    by_pid: HashMap<String, (Instant, ParkedSession)>,
    window: Duration,
}

impl ParkedSessions {
    pub fn new(window: Duration) -> ParkedSessions {
        ParkedSessions {
            by_pid: HashMap::new(),
            window,
        }
    }

    pub fn park(&mut self, pid: String, session: ParkedSession) {
        self.by_pid.insert(pid, (Instant::now(), session));
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
        if parked_at.elapsed() > self.window {
            self.by_pid.remove(pid);
            return Err(Unrecoverable::Expired);
        }
        if session_id.is_some_and(|id| id != session.session_id) {
            return Err(Unrecoverable::ForeignSession);
        }
        self.by_pid
            .remove(pid)
            .map(|(_, session)| session)
            .ok_or(Unrecoverable::UnknownPid)
    }

    /// Forgets the sockets parked longer than the window; returns how many.
    pub fn expire(&mut self) -> usize {
        let before = self.by_pid.len();
        let window = self.window;
        self.by_pid.retain(|_, (at, _)| at.elapsed() <= window);
        before - self.by_pid.len()
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
        assert_eq!(parked.take("pid1", Some("sess-a")), Ok(alice()));
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
        assert_eq!(parked.take("pid1", None), Err(Unrecoverable::Expired));
        assert_eq!(parked.expire(), 1);
        assert!(parked.is_empty());
    }
}
