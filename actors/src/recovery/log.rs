//! The node-wide log of broadcasts delivered to local sockets, kept for the recovery window so
//! that a socket that comes back gets what it missed (Node keeps the same log in its
//! `SessionAwareAdapter`).
//!
//! An entry keeps the frames exactly as they were delivered, offset stamped: the very frames
//! the live delivery sent (shared, not copied), plus the rooms that selected its recipients.
//! A logged broadcast therefore costs its frame and a few dozen bytes: 64 in the queue (the
//! frame itself inline when it is one, as almost every broadcast is), and one allocation for
//! its room names. Its position follows from its place in the queue, and whether it is a
//! presence event is read from its frame when a replay needs it.
//!
//! A replay carries the net presence change, not every step: of the `user connected` /
//! `user disconnected` events about one user only the last is replayed, and none when the
//! user went and came back (first missed `user disconnected`, last `user connected`), which
//! changes nothing the client believed. A rolling restart, where everybody goes and comes
//! back while a socket is away, then replays it no presence at all.

use super::offsets::{stamp_offset_with, Offset, OffsetEpoch};
use super::watermark::{now_millis, push_event_watermark, Watermark};
use super::Unrecoverable;
use crate::event::OutboundEvent;
use crate::metrics::METRICS;
use crate::transport::Frame;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most entries kept whatever the window: at 800 broadcasts per second the 120 s default is
/// covered; past that, older offsets stop being recoverable (those clients get a normal
/// connection) rather than memory growing with the traffic.
pub const LOG_CAPACITY: usize = 100_000;

/// One logged broadcast, with the selection it was delivered with. Kept small: a node holds
/// up to [`LOG_CAPACITY`] of them.
#[derive(Debug)]
struct LoggedEvent {
    /// When it was logged, in ms since the log was created (wrapping: only differences of
    /// less than a window are ever taken, and a window is far below 49 days).
    at_ms: u32,
    /// How many of the selection's names are rooms (the rest are except-rooms).
    rooms: u32,
    selection: Selection,
    /// The frames as delivered, offset stamped.
    frames: LoggedFrames,
}

/// The frames of a logged broadcast: the one frame (sharing its bytes with the live delivery),
/// or, for a broadcast with binary attachments, all of them.
#[derive(Debug)]
enum LoggedFrames {
    One(Frame),
    Many(Arc<[Frame]>),
}

impl LoggedFrames {
    fn of(frames: &Arc<[Frame]>) -> LoggedFrames {
        match &**frames {
            [frame] => LoggedFrames::One(frame.clone()),
            _ => LoggedFrames::Many(frames.clone()),
        }
    }

    fn as_slice(&self) -> &[Frame] {
        match self {
            LoggedFrames::One(frame) => std::slice::from_ref(frame),
            LoggedFrames::Many(frames) => frames,
        }
    }

    /// The frames to send again (a replay is rare: the shared slice is built then).
    fn to_arc(&self) -> Arc<[Frame]> {
        match self {
            LoggedFrames::One(frame) => Arc::from([frame.clone()]),
            LoggedFrames::Many(frames) => frames.clone(),
        }
    }
}

/// The two presence events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Connected,
    Disconnected,
}

impl Presence {
    /// The presence event a logged frame is (`42["user connected",{...}]` or
    /// `42["user disconnected","<userID>"]`, main namespace), and the user it is about. Only
    /// frames that start like one are parsed: private messages are never looked into.
    fn of(frames: &[Frame]) -> Option<(Presence, String)> {
        let Some(Frame::Text(text)) = frames.first() else {
            return None;
        };
        let json = text.strip_prefix("42")?;
        let presence = if json.starts_with(r#"["user connected","#) {
            Presence::Connected
        } else if json.starts_with(r#"["user disconnected","#) {
            Presence::Disconnected
        } else {
            return None;
        };
        let data: serde_json::Value = serde_json::from_str(json).ok()?;
        let user = match data.get(1)? {
            serde_json::Value::String(user_id) => user_id.as_str(),
            user => user.get("userID")?.as_str()?,
        };
        Some((presence, user.to_owned()))
    }
}

impl LoggedEvent {
    fn frame_bytes(&self) -> usize {
        self.frames.as_slice().iter().map(Frame::len).sum()
    }

    /// Whether a socket in `socket_rooms` was selected (Node's `shouldIncludePacket`).
    fn selects(&self, socket_rooms: &[String]) -> bool {
        let rooms = self.selection.rooms(self.rooms);
        let included = rooms.clone().next().is_none()
            || socket_rooms
                .iter()
                .any(|r| rooms.clone().any(|room| room == r.as_bytes()));
        let excluded = socket_rooms.iter().any(|r| {
            self.selection
                .except(self.rooms)
                .any(|room| room == r.as_bytes())
        });
        included && !excluded
    }
}

/// The rooms and except-rooms of a broadcast, in one allocation however many there are (a
/// log entry per broadcast, so it is kept small): each name as its length followed by its
/// bytes, the rooms' first (how many are rooms, the entry says). A length is one byte, or for
/// a name of 255 bytes or more the byte 255 and four bytes (little endian). Compared as bytes,
/// never decoded.
#[derive(Debug)]
struct Selection {
    encoded: Box<[u8]>,
}

/// The length byte that says four more bytes hold the length (see [`Selection`]).
const LONG_NAME: u8 = u8::MAX;

impl Selection {
    fn new(rooms: &[impl AsRef<str>], except: &[impl AsRef<str>]) -> Selection {
        let names = || {
            let rooms = rooms.iter().map(AsRef::as_ref);
            rooms.chain(except.iter().map(AsRef::as_ref))
        };
        let header = |name: &str| {
            if name.len() < LONG_NAME as usize {
                1
            } else {
                5
            }
        };
        let mut encoded = Vec::with_capacity(names().map(|name| header(name) + name.len()).sum());
        for name in names() {
            match u8::try_from(name.len()) {
                Ok(len) if len < LONG_NAME => encoded.push(len),
                _ => {
                    encoded.push(LONG_NAME);
                    // A name over 4 GiB cannot reach here (the payload limit is far below).
                    let len = u32::try_from(name.len()).unwrap_or(u32::MAX);
                    encoded.extend_from_slice(&len.to_le_bytes());
                }
            }
            encoded.extend_from_slice(name.as_bytes());
        }
        Selection {
            encoded: encoded.into_boxed_slice(),
        }
    }

    /// Every name, the rooms' then the except-rooms'.
    fn names(&self) -> impl Iterator<Item = &[u8]> + Clone {
        let mut rest: &[u8] = &self.encoded;
        std::iter::from_fn(move || {
            let (&short, after) = rest.split_first()?;
            let (len, after) = if short == LONG_NAME {
                let (long, after) = after.split_first_chunk::<4>()?;
                (u32::from_le_bytes(*long) as usize, after)
            } else {
                (short as usize, after)
            };
            let (name, after) = after.split_at(len.min(after.len()));
            rest = after;
            Some(name)
        })
    }

    /// The rooms, the first `rooms` names.
    fn rooms(&self, rooms: u32) -> impl Iterator<Item = &[u8]> + Clone {
        self.names().take(rooms as usize)
    }

    /// The except-rooms, the names after the first `rooms`.
    fn except(&self, rooms: u32) -> impl Iterator<Item = &[u8]> + Clone {
        self.names().skip(rooms as usize)
    }
}

/// How many pushes apart the log's gauges are set (see [`BroadcastLog::push`]).
const COUNT_EVERY: u64 = 256;

/// Broadcasts in the order they were delivered, each at a position one above the previous.
pub struct BroadcastLog {
    epoch: OffsetEpoch,
    entries: VecDeque<LoggedEvent>,
    /// Position the next entry gets; `next_seq - 1` is the newest offset handed out.
    next_seq: u64,
    window: Duration,
    capacity: usize,
    /// What the entries' times count from.
    created: Instant,
    /// Bytes of the frames of `entries` (exported with their count, see [`BroadcastLog::count`]).
    frame_bytes: usize,
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
            created: Instant::now(),
            frame_bytes: 0,
        }
    }

    /// Drops the oldest entry.
    fn pop_front(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            self.frame_bytes -= entry.frame_bytes();
        }
    }

    /// Exports the log's size (the metrics are process-wide: a node has one log).
    fn count(&self) {
        METRICS.recovery_log_entries.set(self.entries.len() as i64);
        METRICS
            .recovery_log_frame_bytes
            .set(i64::try_from(self.frame_bytes).unwrap_or(i64::MAX));
    }

    /// Logs a broadcast; returns its position and its frames with its offset (watermark
    /// included) stamped, as every recipient gets them.
    pub fn push(
        &mut self,
        rooms: &[impl AsRef<str>],
        except: &[impl AsRef<str>],
        event: &OutboundEvent,
    ) -> (u64, Arc<[Frame]>) {
        let now = Instant::now();
        let now_ms = self.ms_since_created(now);
        self.drop_expired(now_ms);
        if self.entries.len() >= self.capacity {
            self.pop_front();
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        // The full offset (`<epoch>-<seq>.<ms>[.<messageID>]`) is written straight into the
        // stamped frame.
        let id_len = event.message_id.as_deref().map_or(0, str::len);
        let frames = stamp_offset_with(&event.frames, 40 + id_len, |out| {
            self.epoch.push_offset(out, seq);
            push_event_watermark(out, event);
        });
        let entry = LoggedEvent {
            at_ms: now_ms,
            rooms: u32::try_from(rooms.len()).unwrap_or(u32::MAX),
            selection: Selection::new(rooms, except),
            frames: LoggedFrames::of(&frames),
        };
        self.frame_bytes += entry.frame_bytes();
        if self.entries.len() == self.entries.capacity() {
            // Doubling, but never past the capacity: the queue turns like a ring through every
            // slot it has, so a doubled one (131 072 for 100 000) would be touched in full.
            let target = (self.entries.len() * 2).max(16).min(self.capacity);
            self.entries
                .reserve_exact(target.saturating_sub(self.entries.len()));
        }
        self.entries.push_back(entry);
        // The gauges are shared by every thread that delivers: set on every push, they were a
        // cache line written from both workers per message. Every [`COUNT_EVERY`] pushes (and
        // at each sweep) keeps them current to within a few hundred entries.
        if seq.is_multiple_of(COUNT_EVERY) {
            self.count();
        }
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
        self.drop_expired(self.ms_since_created(now));
        self.count();
    }

    /// Drops the entries older than the window at `now_ms` (in [`BroadcastLog::ms_since_created`]'s
    /// terms: computed once per push).
    fn drop_expired(&mut self, now_ms: u32) {
        let window_ms = u32::try_from(self.window.as_millis()).unwrap_or(u32::MAX);
        while let Some(front) = self.entries.front() {
            if now_ms.wrapping_sub(front.at_ms) <= window_ms {
                break;
            }
            self.pop_front();
        }
    }

    /// `now` in ms since the log was created, wrapping (see [`LoggedEvent::at_ms`]).
    fn ms_since_created(&self, now: Instant) -> u32 {
        now.saturating_duration_since(self.created).as_millis() as u32
    }

    /// The position of the oldest entry (`next_seq` when empty): positions are consecutive.
    fn oldest_seq(&self) -> u64 {
        self.next_seq - self.entries.len() as u64
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
        let oldest = self.oldest_seq();
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
            missed.push(entry.frames.to_arc());
        }
        Ok(missed)
    }
}

/// Which of `events` to replay: all but the presence events that the net change per user
/// leaves out (see the module doc).
fn net_presence(events: &[&LoggedEvent]) -> Vec<bool> {
    let mut keep = vec![true; events.len()];
    let presence: Vec<Option<(Presence, String)>> = events
        .iter()
        .map(|event| Presence::of(event.frames.as_slice()))
        .collect();
    let mut about: HashMap<&str, (usize, usize)> = HashMap::new();
    for (at, found) in presence.iter().enumerate() {
        if let Some((_, user)) = found {
            keep[at] = false;
            about
                .entry(user)
                .and_modify(|(_, last)| *last = at)
                .or_insert((at, at));
        }
    }
    let kind = |at: usize| presence[at].as_ref().map(|(kind, _)| *kind);
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

    /// No rooms: every socket (as `rooms`), nobody left out (as `except`).
    const NOBODY: &[&str] = &[];

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
        log.push(
            NOBODY,
            &rooms(&["sock1"]),
            &OutboundEvent::new("own", vec![]),
        );
        let (first, first_frames) = log.push(
            &rooms(&["alice"]),
            NOBODY,
            &OutboundEvent::new("a1", vec![]),
        );
        log.push(&rooms(&["bob"]), NOBODY, &OutboundEvent::new("bob", vec![]));
        log.push(NOBODY, NOBODY, &OutboundEvent::new("all", vec![]));
        log.push(
            &rooms(&["alice"]),
            &rooms(&["alice"]),
            &OutboundEvent::new("x", vec![]),
        );
        let all = log.missed_after(start.as_str(), &me, 10).unwrap();
        assert_eq!(names(&all), ["a1", "all"]);
        let bytes_of = |frames: &Arc<[Frame]>| match &frames[0] {
            Frame::Text(text) => text.as_ptr(),
            Frame::Binary(bytes) => bytes.as_ptr(),
        };
        assert_eq!(
            bytes_of(&all[0]),
            bytes_of(&first_frames),
            "the replay sends the very bytes delivered live"
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
    fn selections_keep_short_and_long_names() {
        let long = "r".repeat(300);
        let rooms_in = rooms(&["a", &long, ""]);
        let except_in = rooms(&[&"x".repeat(255), "y"]);
        let selection = Selection::new(&rooms_in, &except_in);
        let texts = |names: Vec<&[u8]>| -> Vec<String> {
            names
                .into_iter()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect()
        };
        assert_eq!(texts(selection.rooms(3).collect()), rooms_in);
        assert_eq!(texts(selection.except(3).collect()), except_in);
    }

    #[test]
    fn an_entry_stays_small() {
        // Up to LOG_CAPACITY of them per node: 64 bytes in the queue, the frame inline.
        assert!(std::mem::size_of::<LoggedEvent>() <= 64);
        let mut log = BroadcastLog::new(Duration::from_secs(60), 10);
        log.push(&rooms(&["a"]), NOBODY, &OutboundEvent::new("e", vec![]));
        assert!(matches!(
            log.entries.front().map(|e| &e.frames),
            Some(LoggedFrames::One(_))
        ));
    }

    #[test]
    fn frame_bytes_follow_what_the_log_keeps() {
        let mut log = BroadcastLog::new(Duration::from_secs(60), 2);
        let mut kept = std::collections::VecDeque::new();
        for name in ["a", "bb", "ccc"] {
            let (_, frames) = log.push(NOBODY, NOBODY, &OutboundEvent::new(name, vec![]));
            kept.push_back(frames.iter().map(Frame::len).sum::<usize>());
            if kept.len() > 2 {
                kept.pop_front();
            }
            assert_eq!(log.frame_bytes, kept.iter().sum::<usize>(), "after {name}");
        }
        assert_eq!(log.len(), 2, "the capacity holds");
        let mut big = BroadcastLog::new(Duration::from_secs(60), 100);
        for _ in 0..250 {
            big.push(NOBODY, NOBODY, &OutboundEvent::new("e", vec![]));
        }
        assert_eq!(big.len(), 100);
        assert!(
            big.entries.capacity() < 128,
            "the queue grows to the capacity, not past it"
        );
        log.window = Duration::ZERO;
        log.trim(Instant::now() + Duration::from_millis(1));
        assert!(log.is_empty());
        assert_eq!(log.frame_bytes, 0, "trimmed entries are uncounted");
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
        log.push(NOBODY, NOBODY, &gone("bob"));
        log.push(NOBODY, NOBODY, &connected("carol"));
        log.push(NOBODY, NOBODY, &gone("dave"));
        log.push(NOBODY, NOBODY, &OutboundEvent::new("other", vec![]));
        log.push(NOBODY, NOBODY, &connected("bob"));
        log.push(NOBODY, NOBODY, &gone("carol"));
        log.push(NOBODY, NOBODY, &gone("bob"));
        log.push(NOBODY, NOBODY, &connected("bob"));
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
            log.push(NOBODY, NOBODY, &OutboundEvent::new("e", vec![]));
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
        log.push(NOBODY, NOBODY, &OutboundEvent::new("e", vec![]));
        std::thread::sleep(Duration::from_millis(2));
        log.trim(Instant::now());
        assert!(log.is_empty());
    }
}
