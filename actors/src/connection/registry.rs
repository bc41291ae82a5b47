//! Live Engine.IO sessions by sid, so that a polling request or an upgrading WebSocket that
//! lands on any HTTP worker finds the connection actor that owns the session.

use super::app::SocketApp;
use super::Connection;
use actix::Addr;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A shared map sid -> connection actor. Sessions insert themselves on start and remove
/// themselves when they stop, so an entry never outlives its actor.
pub struct SessionRegistry<A: SocketApp> {
    inner: Arc<RwLock<HashMap<String, Addr<Connection<A>>>>>,
}

// Not derived: that would require `A: Clone` / `A: Default`.
impl<A: SocketApp> Clone for SessionRegistry<A> {
    fn clone(&self) -> Self {
        SessionRegistry {
            inner: self.inner.clone(),
        }
    }
}

impl<A: SocketApp> Default for SessionRegistry<A> {
    fn default() -> Self {
        SessionRegistry {
            inner: Arc::default(),
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

    // A poisoned lock means a panic happened while holding it; the map itself is still
    // consistent (single inserts/removes), so keep serving rather than cascade the panic.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Addr<Connection<A>>>> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Addr<Connection<A>>>> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }
}
