//! The heartbeat every node of ours publishes on a pub/sub channel of our own, so that every
//! node knows its live peers from what it hears, not from Redis keys (which vanish when Redis
//! restarts empty, together with any trace of a node killed right after).
//!
//! Channel `chat:heartbeat:<p>`: it matches none of `<p>#/#*`, `<p>-request#`, `<p>-response#`
//! (Node nodes crash on foreign payloads there), whatever the prefix, because it starts with
//! `chat:` and contains none of `#/#`, `-request#`, `-response#` after it. Payload: JSON
//! `{"instance","uid","version","users"}`, published inside the same `MULTI` that writes the
//! node's `alive` key and user list, so that a peer hearing version `v` finds at least version
//! `v` of the list in `chat:node:<instance>:users`.
//!
//! A heartbeat written for a change of the list also carries the change itself
//! (`"changes":{"since","set","removed"}`, up to [`MAX_CHANGES`] users): a peer holding version
//! `since` applies it at once, so it knows every user of the node the moment the node has it,
//! not only after its next read of the list (which it does at most every refresh period).
//! Without that, a user who joined just before Redis restarted empty, on a node killed just
//! after, was known to nobody and never announced gone.

use super::keys::{LiveUserEntry, LIVENESS_TAG};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Most users whose change a heartbeat carries; a larger change (a connect storm's flush) is
/// read from the list instead.
pub const MAX_CHANGES: usize = 500;

/// The heartbeat channel of the cluster using channel prefix `prefix`; on a Redis Cluster it
/// carries the hash tag of the liveness keys, so that the heartbeat's `SPUBLISH` fits in their
/// `MULTI` (see `keys.rs`).
pub fn heartbeat_channel(prefix: &str, sharded: bool) -> String {
    if sharded {
        format!("chat:heartbeat:{prefix}{LIVENESS_TAG}")
    } else {
        format!("chat:heartbeat:{prefix}")
    }
}

/// One heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// `<node-id>.<random>`, new at every start.
    pub instance: String,
    /// The `uid` of the node's broadcasts and requests.
    pub uid: String,
    /// Bumped whenever the node's user list changes: a peer re-reads the list only then.
    pub version: u64,
    /// How many users the list holds.
    pub users: usize,
    /// What changed since the previous version, when this heartbeat was written for a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<ListChanges>,
}

/// A change of a node's user list: from version `since` to the heartbeat's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListChanges {
    pub since: u64,
    /// Users added (or whose entry changed).
    pub set: HashMap<String, LiveUserEntry>,
    /// Users removed.
    pub removed: Vec<String>,
}

impl Heartbeat {
    pub fn encode(&self) -> String {
        // Strings, numbers and maps of strings: cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(payload: &[u8]) -> Result<Heartbeat, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_matches_none_of_nodes_channels() {
        for (prefix, sharded) in [
            ("socket.io", false),
            ("socket.io", true),
            ("chat", false),
            ("chat:heartbeat:x", false),
            ("a*", true),
        ] {
            let channel = heartbeat_channel(prefix, sharded);
            assert!(!channel.starts_with(&format!("{prefix}#/#")), "{channel}");
            assert!(
                !channel.starts_with(&format!("{prefix}-request#")),
                "{channel}"
            );
            assert!(
                !channel.starts_with(&format!("{prefix}-response#")),
                "{channel}"
            );
        }
    }

    #[test]
    fn round_trips_and_rejects_garbage() {
        let beat = Heartbeat {
            instance: "n1.ab12".into(),
            uid: "n1".into(),
            version: 7,
            users: 3,
            changes: None,
        };
        assert_eq!(Heartbeat::decode(beat.encode().as_bytes()).unwrap(), beat);
        assert!(
            !beat.encode().contains("changes"),
            "as older nodes write it"
        );
        let changed = Heartbeat {
            changes: Some(ListChanges {
                since: 6,
                set: HashMap::from([(
                    "u1".to_owned(),
                    LiveUserEntry {
                        session_id: "s1".into(),
                        username: "alice".into(),
                    },
                )]),
                removed: vec!["u2".into()],
            }),
            ..beat
        };
        assert_eq!(
            Heartbeat::decode(changed.encode().as_bytes()).unwrap(),
            changed
        );
        assert!(Heartbeat::decode(b"\x93garbage").is_err());
        assert!(Heartbeat::decode(br#"{"instance":"x"}"#).is_err());
    }
}
