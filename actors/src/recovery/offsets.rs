//! Offsets: what the server appends to every event it sends without an ack, and what the
//! client hands back as `auth.offset` when it reconnects.
//!
//! An offset is `<epoch>-<seq>`: `epoch` a random tag of one hub's log (a node that restarted
//! has another, so the offsets of its previous life are recognised as foreign), `seq` the
//! position of the event in that log, in base 36. Positions grow by one per logged event, so
//! offsets are unique and ordered on a node; the client only ever echoes them back. What follows
//! the first `.` is the watermark other nodes read ([`super::Watermark`]); this part ignores it.

use crate::ids::random_hex;
use crate::transport::Frame;
use bytestring::ByteString;
use std::sync::Arc;

/// The random tag of one log's offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetEpoch(String);

impl OffsetEpoch {
    pub fn random() -> OffsetEpoch {
        OffsetEpoch(random_hex(4))
    }

    /// The offset of position `seq`.
    pub fn offset(&self, seq: u64) -> Offset {
        let mut text = String::with_capacity(self.0.len() + 1 + 13);
        self.push_offset(&mut text, seq);
        Offset(text)
    }

    /// Appends the offset of position `seq` to `out`.
    pub fn push_offset(&self, out: &mut String, seq: u64) {
        out.push_str(&self.0);
        out.push('-');
        push_base36(out, seq);
    }

    /// The position an offset of this epoch names; `None` for anything else (another
    /// epoch, garbage, an absurd length).
    pub fn parse(&self, offset: &str) -> Option<u64> {
        split_local(offset)
            .filter(|(epoch, _)| *epoch == self.0)
            .map(|(_, seq)| seq)
    }
}

/// The epoch and position of any log's offset (watermark ignored), to compare offsets of
/// another node's log; `None` for garbage.
pub fn split_local(offset: &str) -> Option<(&str, u64)> {
    let local = super::watermark::local_part(offset);
    if local.len() > 40 {
        return None;
    }
    let (epoch, seq) = local.split_once('-')?;
    if epoch.is_empty() || seq.is_empty() {
        return None;
    }
    Some((epoch, u64::from_str_radix(seq, 36).ok()?))
}

/// One offset as sent to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offset(String);

impl Offset {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This local offset followed by the watermark other nodes read.
    pub fn with_watermark(self, watermark: &super::Watermark) -> Offset {
        Offset(watermark.append_to(&self.0))
    }
}

/// Appends `n` in base 36 (lowercase); at most 13 digits for a u64.
fn push_base36(out: &mut String, mut n: u64) {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut digits = [0u8; 13];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = DIGITS[(n % 36) as usize];
        n /= 36;
        if n == 0 {
            break;
        }
    }
    // The digits are ASCII, so the slice is UTF-8; pushed whole, not a `char` at a time.
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or("0"));
}

/// The frames of an event with `offset` appended as its last argument, as Node does. The
/// event's packet text ends with the `]` of its data array (`42[...]`, `451-[...]`), so the
/// offset is spliced in before it rather than the packet encoded again; offsets need no JSON
/// escaping. Attachment frames are shared unchanged.
pub fn stamp_offset(frames: &[Frame], offset: &str) -> Arc<[Frame]> {
    stamp_offset_with(frames, offset.len(), |out| out.push_str(offset))
}

/// [`stamp_offset`] with the offset written straight into the stamped frame by `write` (about
/// `offset_len` bytes): the path of every logged event, which builds no offset string apart.
pub fn stamp_offset_with(
    frames: &[Frame],
    offset_len: usize,
    write: impl FnOnce(&mut String),
) -> Arc<[Frame]> {
    let mut write = Some(write);
    // Collected straight into the shared slice (one allocation; a `Vec` made into an `Arc`
    // would be copied into a second one).
    frames
        .iter()
        .map(|frame| match frame {
            Frame::Text(text) if write.is_some() && text.ends_with(']') => {
                let body = &text[..text.len() - 1];
                let separator = if body.ends_with('[') { "" } else { "," };
                let mut spliced = String::with_capacity(text.len() + offset_len + 4);
                spliced.push_str(body);
                spliced.push_str(separator);
                spliced.push('"');
                if let Some(write) = write.take() {
                    write(&mut spliced);
                }
                spliced.push_str("\"]");
                Frame::Text(ByteString::from(spliced))
            }
            other => other.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{event_frames, OutboundEvent};
    use serde_json::json;

    #[test]
    fn offsets_round_trip_and_refuse_foreign_ones() {
        let epoch = OffsetEpoch::random();
        for seq in [0, 1, 35, 36, 1_000_000, u64::MAX] {
            assert_eq!(epoch.parse(epoch.offset(seq).as_str()), Some(seq));
        }
        let other = OffsetEpoch::random();
        assert_ne!(epoch, other);
        assert_eq!(epoch.parse(other.offset(5).as_str()), None);
        for forged in [
            "",
            "-",
            "x",
            "abc",
            "--1",
            &format!("{}-", epoch.0),
            &"9".repeat(200),
        ] {
            assert_eq!(epoch.parse(forged), None, "{forged:?}");
        }
        assert_eq!(
            epoch.parse(&format!("{}-zzzzzzzzzzzzzzzzzzzz", epoch.0)),
            None
        );
    }

    #[test]
    fn any_epoch_splits_into_epoch_and_position() {
        let epoch = OffsetEpoch::random();
        let offset = epoch
            .offset(1000)
            .with_watermark(&super::super::Watermark::at(5));
        assert_eq!(split_local(offset.as_str()), Some((epoch.0.as_str(), 1000)));
        for garbage in ["", "x", "-1", "e-", "e-!", &"9".repeat(60)] {
            assert_eq!(split_local(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn stamping_appends_the_offset_as_last_argument() {
        let epoch = OffsetEpoch::random();
        let offset = epoch.offset(42);
        let event = OutboundEvent::new("private message", vec![json!({"content": "a]"})]);
        let stamped = stamp_offset(&event.frames, offset.as_str());
        let Frame::Text(text) = &stamped[0] else {
            panic!("text frame expected")
        };
        let expected = format!(r#"42["private message",{{"content":"a]"}},"{}"]"#, offset.0);
        assert_eq!(&**text, expected);

        let bare = OutboundEvent::from_data(json!(["ping"]), Vec::new());
        let Frame::Text(text) = &stamp_offset(&bare.frames, offset.as_str())[0] else {
            panic!("text frame expected")
        };
        assert_eq!(&**text, format!(r#"42["ping","{}"]"#, offset.0));

        let binary = event_frames(
            "/",
            &json!(["file", {"_placeholder": true, "num": 0}]),
            None,
            &[vec![1, 2]],
        );
        let stamped = stamp_offset(&binary, offset.as_str());
        assert_eq!(stamped.len(), 2);
        assert_eq!(stamped[1], binary[1]);
        let Frame::Text(text) = &stamped[0] else {
            panic!("text frame expected")
        };
        assert!(text.starts_with("451-[") && text.ends_with(&format!(",\"{}\"]", offset.0)));
    }
}
