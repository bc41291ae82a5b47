//! Where a long outgoing WebSocket message is cut into fragments (RFC 6455 §5.4).
//!
//! actix-http copies every chunk of a response into the connection's write buffer and keeps
//! that buffer at the largest size it ever reached (up to 128 KiB). A `users` list of a few
//! thousand users is tens of KiB, so sent whole it would leave every idle connection holding
//! that much memory for good. Sent as fragments of at most [`FRAGMENT_BYTES`], each written
//! before the next is queued, it passes through the initial 8 KiB buffer.

use std::ops::Range;

/// Messages longer than this go out as several fragments of at most this many bytes. Below
/// the dispatcher's initial 8 KiB buffer minus its 4 KiB flush threshold and a frame header.
pub const FRAGMENT_BYTES: usize = 4000;

/// The byte ranges of the fragments of a `len`-byte message, each at most `max` bytes (one
/// range when the message fits). A range ends only where `is_boundary` allows, so that a text
/// message is cut between characters; `is_boundary(len)` must hold, and for text `max` must
/// be at least 4 (the longest UTF-8 character).
pub fn fragment_ranges(
    len: usize,
    max: usize,
    is_boundary: impl Fn(usize) -> bool,
) -> Vec<Range<usize>> {
    let mut ranges = Vec::with_capacity(len / max.max(1) + 1);
    let mut start = 0;
    while len - start > max {
        let mut end = start + max;
        while end > start + 1 && !is_boundary(end) {
            end -= 1;
        }
        ranges.push(start..end);
        start = end;
    }
    ranges.push(start..len);
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_message_is_one_fragment() {
        assert_eq!(fragment_ranges(10, 10, |_| true), vec![0..10]);
        assert_eq!(fragment_ranges(0, 10, |_| true), vec![0..0]);
    }

    #[test]
    fn a_long_message_is_cut_into_pieces_of_at_most_max() {
        assert_eq!(
            fragment_ranges(25, 10, |_| true),
            vec![0..10, 10..20, 20..25]
        );
        assert_eq!(fragment_ranges(20, 10, |_| true), vec![0..10, 10..20]);
    }

    #[test]
    fn text_is_cut_between_characters() {
        let text = "aé€😀".repeat(50);
        let ranges = fragment_ranges(text.len(), 7, |i| text.is_char_boundary(i));
        let mut joined = String::new();
        for range in ranges {
            assert!(range.len() <= 7 && !range.is_empty());
            joined.push_str(&text[range]);
        }
        assert_eq!(joined, text);
    }
}
