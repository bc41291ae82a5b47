//! The node-wide log of broadcasts delivered to local sockets, kept for the recovery window so
//! that a socket that comes back gets what it missed (Node keeps the same log in its
//! `SessionAwareAdapter`).
//!
//! An entry keeps the frames exactly as they were delivered, offset stamped: the very frames
//! the live delivery sent (shared, not copied), plus the rooms that selected its recipients.
//! A logged broadcast therefore costs its frame and a few dozen bytes.
//!
//! A replay carries the net presence change, not every step: of the `user connected` /
//! `user disconnected` events about one user only the last is replayed, and none when the
//! user went and came back (first missed `user disconnected`, last `user connected`), which
//! changes nothing the client believed. A rolling restart, where everybody goes and comes
//! back while a socket is away, then replays it no presence at all.

use super::offsets::{stamp_offset, Offset, OffsetEpoch};
use super::watermark::{now_millis, Watermark};
use super::Unrecoverable;
use crate::event::OutboundEvent;
use crate::transport::Frame;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most entries kept whatever the window: at 800 broadcasts per second the 120 s default is
/// covered; past that, older offsets stop being recoverable (those clients get a normal
/// connection) rather than memory growing with the traffic.
pub const LOG_CAPACITY: usize = 100_000;

/// One logged broadcast, with the selection it was delivered with.
#[derive(Debug)]
pub struct LoggedEvent {
    seq: u64,
    at: Instant,
    selection: Selection,
    /// The frames as delivered, offset stamped.
    pub frames: Arc<[Frame]>,
    /// For a presence event: which one, and the user it is about.
    presence: Option<(Presence, Arc<str>)>,
}

/// The two presence events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Connected,
    Disconnected,
}

impl Presence {
    /// The presence event `event` is, and the user it is about. Private messages (which carry
    /// their id) are not looked into: their JSON data is never built for this.
    fn of(event: &OutboundEvent) -> Option<(Presence, Arc<str>)> {
        if event.message_id.is_some() {
            return None;
        }
        let data = event.data();
        let presence = match data.get(0)?.as_str()? {
            "user connected" => Presence::Connected,
            "user disconnected" => Presence::Disconnected,
            _ => return None,
        };
        let user = match data.get(1)? {
            serde_json::Value::String(user_id) => user_id.as_str(),
            user => user.get("userID")?.as_str()?,
        };
        Some((presence, Arc::from(user)))
    }
}

impl LoggedEvent {
    /// Whether a socket in `socket_rooms` was selected (Node's `shouldIncludePacket`).
    fn selects(&self, socket_rooms: &[String]) -> bool {
        let rooms = self.selection.rooms();
        let included = rooms.clone().next().is_none()
            || socket_rooms
                .iter()
                .any(|r| rooms.clone().any(|room| room == r));
        let excluded = socket_rooms
            .iter()
            .any(|r| self.selection.except().any(|room| room == r));
        included && !excluded
    }
}

/// The rooms and except-rooms of a broadcast, in two allocations however many there are:
/// every name in one text, and where each ends (a log entry per broadcast, so it is kept
/// small).
#[derive(Debug)]
struct Selection {
    names: Box<str>,
    /// The end of each name in `names`: the rooms', then the except-rooms'.
    ends: Box<[u32]>,
    rooms: usize,
}

impl Selection {
    fn new(rooms: &[String], except: &[String]) -> Selection {
        let mut names = String::with_capacity(rooms.iter().chain(except).map(String::len).sum());
        let mut ends = Vec::with_capacity(rooms.len() + except.len());
        for name in rooms.iter().chain(except) {
            names.push_str(name);
            ends.push(u32::try_from(names.len()).unwrap_or(u32::MAX));
        }
        Selection {
            names: names.into_boxed_str(),
            ends: ends.into_boxed_slice(),
            rooms: rooms.len(),
        }
    }

    /// The names whose ends are `ends`.
    fn names<'a>(&'a self, ends: &'a [u32], from: u32) -> impl Iterator<Item = &'a str> + Clone {
        let mut start = from as usize;
        ends.iter().map(move |&end| {
            let end = (end as usize).min(self.names.len());
            let name = self.names.get(start..end).unwrap_or("");
            start = end;
            name
        })
    }

    fn rooms(&self) -> impl Iterator<Item = &str> + Clone {
        self.names(&self.ends[..self.rooms], 0)
    }

    fn except(&self) -> impl Iterator<Item = &str> + Clone {
        let from = self.rooms.checked_sub(1).map_or(0, |last| self.ends[last]);
        self.names(&self.ends[self.rooms..], from)
    }
}

/// Broadcasts in the order they were delivered, each at a position one above the previous.
pub struct BroadcastLog {
    epoch: OffsetEpoch,
    entries: VecDeque<LoggedEvent>,
    /// Position the next entry gets; `next_seq - 1` is the newest offset handed out.
    next_seq: u64,
    window: Duration,
    capacity: usize,
}

impl BroadcastLog {
    pub fn new(window: Duration, capacity: usize) -> BroadcastLog {
        BroadcastLog {
            epoch: OffsetEpoch::random(),
            entries: VecDeque::new(),
            // Position 0 is the offset of a socket that has seen no broadcast yet.
            next_seq: 1,
            window,
            capacity: capacity.max(1),
        }
    }

    /// Logs a broadcast; returns its position and its frames with its offset (watermark
    /// included) stamped, as every recipient gets them.
    pub fn push(
        &mut self,
        rooms: &[String],
        except: &[String],
        event: &OutboundEvent,
    ) -> (u64, Arc<[Frame]>) {
        let now = Instant::now();
        self.trim(now);
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let watermark = Watermark::of(event, now_millis());
        let offset = self.epoch.offset(seq).with_watermark(&watermark);
        let frames = stamp_offset(&event.frames, offset.as_str());
        self.entries.push_back(LoggedEvent {
            seq,
            at: now,
            selection: Selection::new(rooms, except),
            frames: frames.clone(),
            presence: Presence::of(event),
        });
        (seq, frames)
    }

    /// The local offset (no watermark) of position `seq`.
    pub fn offset_at(&self, seq: u64) -> Offset {
        self.epoch.offset(seq)
    }

    /// The position of the newest entry (0 before the first).
    pub fn head_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The offset of "everything logged so far": what a socket that joins now is handed with
    /// its first direct event (`users`), so that a recovery from there replays only what came
    /// after.
    pub fn head(&self) -> Offset {
        self.epoch
            .offset(self.next_seq - 1)
            .with_watermark(&Watermark::at(now_millis()))
    }

    /// The local offset (no watermark) of the newest entry: the position another node's
    /// replay compares a client's offset with, for broadcasts this node published.
    pub fn newest(&self) -> Offset {
        self.epoch.offset(self.next_seq - 1)
    }

    /// Drops the entries older than the window.
    pub fn trim(&mut self, now: Instant) {
        while let Some(front) = self.entries.front() {
            if now.duration_since(front.at) <= self.window {
                break;
            }
            self.entries.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The frames (offsets stamped) of the events after `offset` that a socket in
    /// `socket_rooms` was sent, oldest first; at most `max`.
    pub fn missed_after(
        &self,
        offset: &str,
        socket_rooms: &[String],
        max: usize,
    ) -> Result<Vec<Arc<[Frame]>>, Unrecoverable> {
        let after = self
            .epoch
            .parse(offset)
            .filter(|seq| *seq < self.next_seq)
            .ok_or(Unrecoverable::MalformedOffset)?;
        let oldest = self.entries.front().map_or(self.next_seq, |e| e.seq);
        // Entries after `after` must all still be here: the one right after it at least.
        if after + 1 < oldest {
            return Err(Unrecoverable::OffsetTooOld);
        }
        let start = (after + 1 - oldest) as usize;
        let selected: Vec<&LoggedEvent> = self
            .entries
            .range(start.min(self.entries.len())..)
            .filter(|entry| entry.selects(socket_rooms))
            .collect();
        let net = net_presence(&selected);
        let mut missed = Vec::new();
        for (entry, keep) in selected.iter().zip(net) {
            if !keep {
                continue;
            }
            if missed.len() == max {
                return Err(Unrecoverable::Overflow);
            }
            missed.push(entry.frames.clone());
        }
        Ok(missed)
    }
}

/// Which of `events` to replay: all but the presence events that the net change per user
/// leaves out (see the module doc).
fn net_presence(events: &[&LoggedEvent]) -> Vec<bool> {
    let mut keep = vec![true; events.len()];
    let mut about: HashMap<&str, (usize, usize)> = HashMap::new();
    for (at, event) in events.iter().enumerate() {
        if let Some((_, user)) = &event.presence {
            keep[at] = false;
            about
                .entry(user)
                .and_modify(|(_, last)| *last = at)
                .or_insert((at, at));
        }
    }
    let kind = |at: usize| events[at].presence.as_ref().map(|(kind, _)| *kind);
    for (first, last) in about.into_values() {
        let went_and_came_back =
            kind(first) == Some(Presence::Disconnected) && kind(last) == Some(Presence::Connected);
        if !went_and_came_back {
            keep[last] = true;
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rooms(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    /// The event names of missed frames (`42["name",...`).
    fn names(missed: &[Arc<[Frame]>]) -> Vec<String> {
        missed
            .iter()
            .map(|frames| match &frames[0] {
                Frame::Text(text) => {
                    let json = text.strip_prefix("42").unwrap_or_default();
                    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
                    value[0].as_str().unwrap_or_default().to_owned()
                }
                Frame::Binary(_) => String::new(),
            })
            .collect()
    }

    #[test]
    fn replays_what_the_socket_was_selected_for_after_its_offset() {
        let mut log = BroadcastLog::new(Duration::from_secs(60), 100);
        let me = rooms(&["sock1", "alice"]);
        let start = log.head();
        log.push(&[], &rooms(&["sock1"]), &OutboundEvent::new("own", vec![]));
        let (first, first_frames) =
            log.push(&rooms(&["alice"]), &[], &OutboundEvent::new("a1", vec![]));
        log.push(&rooms(&["bob"]), &[], &OutboundEvent::new("bob", vec![]));
        log.push(&[], &[], &OutboundEvent::new("all", vec![]));
        log.push(
            &rooms(&["alice"]),
            &rooms(&["alice"]),
            &OutboundEvent::new("x", vec![]),
        );
        let all = log.missed_after(start.as_str(), &me, 10).unwrap();
        assert_eq!(names(&all), ["a1", "all"]);
        assert!(
            Arc::ptr_eq(&all[0], &first_frames),
            "the replay sends the very frames delivered live"
        );
        let first = log.offset_at(first);
        let after_first = log.missed_after(first.as_str(), &me, 10).unwrap();
        assert_eq!(names(&after_first), ["all"]);
        assert!(log
            .missed_after(log.head().as_str(), &me, 10)
            .unwrap()
            .is_empty());
        assert_eq!(
            log.missed_after(start.as_str(), &me, 1).unwrap_err(),
            Unrecoverable::Overflow
        );
    }

    #[test]
    fn replays_the_net_presence_change_per_user() {
        let mut log = BroadcastLog::new(Duration::from_secs(60), 100);
        let me = rooms(&["sock1", "me"]);
        let start = log.head();
        let connected = |user: &str| {
            OutboundEvent::new(
                "user connected",
                vec![
                    serde_json::json!({"userID": user, "username": user, "connected": true, "messages": []}),
                ],
            )
        };
        let gone = |user: &str| OutboundEvent::new("user disconnected", vec![user.into()]);
        // bob: gone and back (nothing to replay); carol: back and gone (her last);
        // dave: gone (once); a private message in between stays.
        log.push(&[], &[], &gone("bob"));
        log.push(&[], &[], &connected("carol"));
        log.push(&[], &[], &gone("dave"));
        log.push(&[], &[], &OutboundEvent::new("other", vec![]));
        log.push(&[], &[], &connected("bob"));
        log.push(&[], &[], &gone("carol"));
        log.push(&[], &[], &gone("bob"));
        log.push(&[], &[], &connected("bob"));
        let missed = log.missed_after(start.as_str(), &me, 10).unwrap();
        assert_eq!(
            names(&missed),
            ["user disconnected", "other", "user disconnected"]
        );
        let subjects: Vec<String> = missed
            .iter()
            .filter_map(|frames| match &frames[0] {
                Frame::Text(text) => Some(text.to_string()),
                Frame::Binary(_) => None,
            })
            .collect();
        assert!(subjects[0].contains("\"dave\""), "{subjects:?}");
        assert!(subjects[2].contains("\"carol\""), "{subjects:?}");
        assert_eq!(
            log.missed_after(start.as_str(), &me, 2).unwrap_err(),
            Unrecoverable::Overflow,
            "the bound counts what is replayed"
        );
    }

    #[test]
    fn refuses_foreign_future_and_evicted_offsets() {
        let mut log = BroadcastLog::new(Duration::from_secs(60), 3);
        let me = rooms(&["s"]);
        let start = log.head();
        for _ in 0..5 {
            log.push(&[], &[], &OutboundEvent::new("e", vec![]));
        }
        assert_eq!(log.len(), 3);
        assert_eq!(
            log.missed_after(start.as_str(), &me, 10).unwrap_err(),
            Unrecoverable::OffsetTooOld
        );
        let future = log.epoch.offset(99);
        let future = future.with_watermark(&Watermark::at(1));
        assert_eq!(
            log.missed_after(future.as_str(), &me, 10).unwrap_err(),
            Unrecoverable::MalformedOffset
        );
        let foreign = OffsetEpoch::random().offset(1);
        assert_eq!(
            log.missed_after(foreign.as_str(), &me, 10).unwrap_err(),
            Unrecoverable::MalformedOffset
        );
        // The oldest retained entry's predecessor is still a valid starting point.
        let kept = log.epoch.offset(2);
        assert_eq!(log.missed_after(kept.as_str(), &me, 10).unwrap().len(), 3);
    }

    #[test]
    fn forgets_entries_older_than_the_window() {
        let mut log = BroadcastLog::new(Duration::ZERO, 100);
        log.push(&[], &[], &OutboundEvent::new("e", vec![]));
        std::thread::sleep(Duration::from_millis(2));
        log.trim(Instant::now());
        assert!(log.is_empty());
    }
}
