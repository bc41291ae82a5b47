//! Message ids that name the socket they were sent from, without revealing it.
//!
//! A private message is never delivered back to the socket that sent it. A node replaying a
//! history to a socket recovered from another node must skip that socket's own messages too,
//! but a history entry does not say which socket sent it. So the id does: it starts with a
//! short tag of the sending socket's id (a fixed-seed hash, the same on every node running
//! this build), then random digits. The tag cannot be turned back into the socket id; two
//! sockets of one user sharing a tag (one chance in 2^32) would only cost a replay one message.

use rand::RngCore;
use std::hash::BuildHasher;

/// Hex digits of the tag at the start of an id.
const TAG_LEN: usize = 8;

/// The tag's 4 bytes: the low 32 bits of a fixed-seed hash, big-endian (hex: its `{:08x}`).
fn tag_bytes(socket_id: &str) -> [u8; 4] {
    let hash = foldhash::fast::FixedState::with_seed(0x6368_6174).hash_one(socket_id);
    (hash as u32).to_be_bytes()
}

fn tag(socket_id: &str) -> String {
    hex::encode(tag_bytes(socket_id))
}

/// A fresh id for a message sent from `socket_id`: 8 hex digits of tag, 12 random (one
/// allocation, no formatter: every private message gets one).
pub fn message_id(socket_id: &str) -> String {
    let mut raw = [0u8; 10];
    raw[..4].copy_from_slice(&tag_bytes(socket_id));
    rand::rng().fill_bytes(&mut raw[4..]);
    let mut digits = [0u8; 20];
    // Ten bytes always fit twenty hex digits.
    let _ = hex::encode_to_slice(raw, &mut digits);
    // Hex digits are ASCII, so the array is UTF-8; copied whole, not a `char` at a time
    // (which was ~500 instructions of every private message, callgrind).
    std::str::from_utf8(&digits).unwrap_or_default().to_owned()
}

/// Whether `message_id` was made by [`message_id`] for `socket_id`.
pub fn sent_by(message_id: &str, socket_id: &str) -> bool {
    message_id.len() > TAG_LEN && message_id.starts_with(&tag(socket_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_names_its_socket_only() {
        let id = message_id("sock-a");
        assert_eq!(id.len(), 20);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(sent_by(&id, "sock-a"));
        assert!(!sent_by(&id, "sock-b"));
        assert_ne!(message_id("sock-a"), id);
        assert!(!sent_by("0123", "sock-a"));
    }
}
