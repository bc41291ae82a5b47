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

use super::keys::LIVENESS_TAG;
use serde::{Deserialize, Serialize};

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
}

impl Heartbeat {
    pub fn encode(&self) -> String {
        // Two strings and two numbers: cannot fail.
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
        };
        assert_eq!(Heartbeat::decode(beat.encode().as_bytes()).unwrap(), beat);
        assert!(Heartbeat::decode(b"\x93garbage").is_err());
        assert!(Heartbeat::decode(br#"{"instance":"x"}"#).is_err());
    }
}
