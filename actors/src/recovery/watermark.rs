//! The cross-node part of an offset: what lets another node, which never saw this node's log,
//! find where a client left off in what Redis keeps (the history lists and the broadcast
//! stream, see [`super::shared`]).
//!
//! A full offset is `<epoch>-<seq>.<ms>[.<messageID>]`: the part before the first `.` names a
//! position in the delivering node's own log ([`super::OffsetEpoch`]), exact but meaningless
//! elsewhere; the watermark after it is the event's time in milliseconds since the epoch and,
//! for a private message, the message's id. A private message's id is exact (its position in
//! both users' histories); a time is exact up to the clock skew between nodes, which is why a
//! replay from a time takes the broadcasts of a margin before it (they are presence events,
//! which are idempotent) but no message before it. Offsets travel unescaped inside JSON
//! strings, so a watermark is digits, hex and dots only.

use crate::event::{is_plain_id, private_message_id, OutboundEvent};
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// Appends the watermark of time `ms` and, for a private message, its `message_id`
/// (`.<ms>[.<messageID>]`) to a local offset being written in `out`.
pub fn push_watermark(out: &mut String, ms: u64, message_id: Option<&str>) {
    out.push('.');
    out.push_str(itoa::Buffer::new().format(ms));
    if let Some(id) = message_id {
        out.push('.');
        out.push_str(id);
    }
}

/// Appends the watermark of `event` delivered now to a local offset being written in `out`: a
/// private message of ours is marked by its id and time, anything else by the time now.
pub fn push_event_watermark(out: &mut String, event: &OutboundEvent) {
    let message_id = event.message_id.as_deref();
    let ms = match message_id {
        Some(_) => event.message_ts.unwrap_or_else(now_millis),
        None => now_millis(),
    };
    push_watermark(out, ms, message_id);
}

/// Where a client left off, as another node can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    /// When the last event the client received happened (its sender's clock for a private
    /// message, the delivering node's otherwise), ms since the epoch.
    pub ms: u64,
    /// The id of that event when it was a private message written by one of our nodes.
    pub message_id: Option<String>,
}

impl Watermark {
    /// The watermark of an event (`data` is `[event, ...args]`) delivered at `now_ms`.
    pub fn of_event(data: &Value, now_ms: u64) -> Watermark {
        let message_id = private_message_id(data).map(str::to_owned);
        let ms = data
            .get(1)
            .filter(|_| message_id.is_some())
            .and_then(|m| m.get("ts"))
            .and_then(Value::as_u64)
            .unwrap_or(now_ms);
        Watermark { ms, message_id }
    }

    /// The watermark of "nothing yet" at `now_ms` (what a fresh socket's `users` carries).
    pub fn at(now_ms: u64) -> Watermark {
        Watermark {
            ms: now_ms,
            message_id: None,
        }
    }

    /// `local` (a log offset) with this watermark appended.
    pub fn append_to(&self, local: &str) -> String {
        let id = self.message_id.as_deref();
        let mut offset = String::with_capacity(local.len() + 15 + id.map_or(0, |id| id.len() + 1));
        offset.push_str(local);
        push_watermark(&mut offset, self.ms, id);
        offset
    }

    /// The watermark of a full offset; `None` when it has none or it is malformed.
    pub fn parse(offset: &str) -> Option<Watermark> {
        if offset.len() > 80 {
            return None;
        }
        let (_, watermark) = offset.split_once('.')?;
        let (ms, message_id) = match watermark.split_once('.') {
            Some((ms, id)) if is_plain_id(id) => (ms, Some(id.to_owned())),
            Some(_) => return None,
            None => (watermark, None),
        };
        if ms.is_empty() || !ms.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Watermark {
            ms: ms.parse().ok()?,
            message_id,
        })
    }
}

/// The local part of a full offset (before the watermark).
pub fn local_part(offset: &str) -> &str {
    offset.split_once('.').map_or(offset, |(local, _)| local)
}

/// Milliseconds since the epoch on this node's clock.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_private_message_is_marked_by_its_id_and_time() {
        let data = json!(["private message", {"content": "hi", "from": "a", "to": "b", "id": "00ff", "ts": 17}]);
        let mark = Watermark::of_event(&data, 99);
        assert_eq!(mark.ms, 17);
        assert_eq!(mark.message_id.as_deref(), Some("00ff"));
        let offset = mark.append_to("ab12-z");
        assert_eq!(offset, "ab12-z.17.00ff");
        assert_eq!(Watermark::parse(&offset), Some(mark));
        assert_eq!(local_part(&offset), "ab12-z");
    }

    #[test]
    fn other_events_and_foreign_messages_are_marked_by_delivery_time() {
        for data in [
            json!(["user disconnected", "u1"]),
            json!(["private message", {"content": "from node", "from": "a", "to": "b"}]),
            json!(["private message", {"id": "not hex!", "ts": 5}]),
        ] {
            let mark = Watermark::of_event(&data, 99);
            assert_eq!(mark, Watermark::at(99), "{data}");
            assert_eq!(Watermark::parse(&mark.append_to("e-1")), Some(mark));
        }
    }

    #[test]
    fn malformed_watermarks_are_refused() {
        for forged in [
            "e-1",
            "e-1.",
            "e-1.x",
            "e-1.12.",
            "e-1.12.zz",
            "e-1.-3",
            "e-1.1.2.3",
            &format!("e-1.{}", "9".repeat(100)),
            "e-1.99999999999999999999999",
        ] {
            assert_eq!(Watermark::parse(forged), None, "{forged:?}");
        }
    }
}
