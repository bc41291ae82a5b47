//! Live Engine.IO sessions by sid, so that a polling request or an upgrading WebSocket that
//! lands on any HTTP worker finds the connection actor that owns the session; and the sids a
//! long-polling client closed itself a moment ago, so that its GET sent together with the close
//! gets what it would have got had it arrived first (a noop), not "Session ID unknown".

use super::app::SocketApp;
use super::Connection;
use actix::Addr;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long a client's own close answers its GET still in flight.
const CLOSED_BY_CLIENT_FOR: Duration = Duration::from_secs(2);

/// A shared map sid -> connection actor. Sessions insert themselves on start and remove
/// themselves when they stop, so an entry never outlives its actor.
pub struct SessionRegistry<A: SocketApp> {
    inner: Arc<RwLock<HashMap<String, Addr<Connection<A>>>>>,
    closed_by_client: Arc<Mutex<ClosedByClient>>,
}

/// Sids closed by their polling client with no GET waiting, oldest first, each for
/// [`CLOSED_BY_CLIENT_FOR`] (or until a GET takes it).
#[derive(Default)]
struct ClosedByClient {
    sids: HashMap<String, Instant>,
    order: VecDeque<(Instant, String)>,
}

impl ClosedByClient {
    fn forget_old(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) < CLOSED_BY_CLIENT_FOR {
                break;
            }
            if let Some((at, sid)) = self.order.pop_front() {
                if self.sids.get(&sid) == Some(&at) {
                    self.sids.remove(&sid);
                }
            }
        }
    }
}

// Not derived: that would require `A: Clone` / `A: Default`.
impl<A: SocketApp> Clone for SessionRegistry<A> {
    fn clone(&self) -> Self {
        SessionRegistry {
            inner: self.inner.clone(),
            closed_by_client: self.closed_by_client.clone(),
        }
    }
}

impl<A: SocketApp> Default for SessionRegistry<A> {
    fn default() -> Self {
        SessionRegistry {
            inner: Arc::default(),
            closed_by_client: Arc::default(),
        }
    }
}

impl<A: SocketApp> SessionRegistry<A> {
    pub fn insert(&self, sid: &str, addr: Addr<Connection<A>>) {
        self.write().insert(sid.to_owned(), addr);
    }

    pub fn remove(&self, sid: &str) {
        self.write().remove(sid);
    }

    pub fn get(&self, sid: &str) -> Option<Addr<Connection<A>>> {
        self.read().get(sid).cloned()
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every live session, e.g. to close them all when draining.
    pub fn all(&self) -> Vec<Addr<Connection<A>>> {
        self.read().values().cloned().collect()
    }

    /// The polling client of `sid` closed the session itself while no GET of it waited.
    pub fn closed_by_client(&self, sid: &str) {
        let now = Instant::now();
        let mut closed = self.closed_lock();
        closed.forget_old(now);
        closed.sids.insert(sid.to_owned(), now);
        closed.order.push_back((now, sid.to_owned()));
    }

    /// Whether the polling client of `sid` closed it a moment ago (answered once).
    pub fn take_closed_by_client(&self, sid: &str) -> bool {
        let mut closed = self.closed_lock();
        if closed.sids.is_empty() {
            return false;
        }
        closed.forget_old(Instant::now());
        closed.sids.remove(sid).is_some()
    }

    fn closed_lock(&self) -> std::sync::MutexGuard<'_, ClosedByClient> {
        self.closed_by_client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    // A poisoned lock means a panic happened while holding it; the map itself is still
    // consistent (single inserts/removes), so keep serving rather than cascade the panic.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Addr<Connection<A>>>> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Addr<Connection<A>>>> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }
}
