//! The private messages this node delivered lately, by room: what lets a catch-up after a lost
//! subscription (a slot of the Redis Cluster moved, a master failed over) deliver from the
//! histories exactly what the local sockets missed, and what keeps a message from being
//! delivered to a room twice (once caught up, once live when its publication arrives late).
//!
//! Kept on a Redis Cluster only (`Delivery::tracking_recent`): one set insert per delivered
//! private message and room, forgotten after [`KEEP`] or past [`CAPACITY`] entries.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a delivery is remembered: longer than any catch-up looks back (the loss of a
/// subscription is noticed within seconds; a catch-up reads the messages since a little
/// before it).
pub const KEEP: Duration = Duration::from_secs(120);
/// Most deliveries remembered (the oldest are forgotten first).
pub const CAPACITY: usize = 200_000;

/// A room and a message id.
type Key = (Arc<str>, Arc<str>);

/// (room, message id) pairs, oldest first.
#[derive(Default)]
pub struct RecentDeliveries {
    seen: HashSet<Key>,
    order: VecDeque<(Instant, Key)>,
}

impl RecentDeliveries {
    /// Records that `id` is delivered to `room` now; false when it already was.
    pub fn first_time(&mut self, room: &str, id: &Arc<str>, now: Instant) -> bool {
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) < KEEP && self.order.len() < CAPACITY {
                break;
            }
            if let Some((_, key)) = self.order.pop_front() {
                self.seen.remove(&key);
            }
        }
        let key = (Arc::<str>::from(room), id.clone());
        if !self.seen.insert(key.clone()) {
            return false;
        }
        self.order.push_back((now, key));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_room_and_forgotten_after_keep() {
        let mut recent = RecentDeliveries::default();
        let id: Arc<str> = Arc::from("00ff");
        let start = Instant::now();
        assert!(recent.first_time("a", &id, start));
        assert!(!recent.first_time("a", &id, start));
        assert!(recent.first_time("b", &id, start));
        assert!(!recent.first_time("a", &id, start + KEEP / 2));
        assert!(recent.first_time("a", &id, start + KEEP * 2), "forgotten");
    }
}
