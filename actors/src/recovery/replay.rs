//! What a socket recovered from another node missed, rebuilt from what Redis keeps: its user's
//! history list (every private message it was sent, by id and time) and the stream of
//! broadcasts to everyone (presence). The node it left kept the exact log, but that log died
//! with it or stayed behind; this is the next best, exact for private messages whenever the
//! client's watermark names one, and within the stream margin otherwise (see
//! [`super::watermark`]).

use super::stream_entry::StreamedBroadcast;
use super::{sender_tag, split_local, ParkedSession, Unrecoverable, Watermark};
use crate::store::StoredMessage;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// One event to replay: `[event, ...args]` and the watermark its offset carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayedEvent {
    pub data: Value,
    pub watermark: Watermark,
}

/// The events `me` missed after `mark`, oldest first: the history entries after the one the
/// watermark names (or, without one, the entries newer than its time), except those sent by
/// `me`'s own socket, which it never receives; and the streamed broadcasts (read from the
/// margin before the watermark) that selected `me` and are not about its own user. More than
/// `max`: [`Unrecoverable::Overflow`]. `position` is the epoch and position of the client's
/// offset in the log of the node it last heard from (see [`PresenceReplay`]).
pub fn missed_across_nodes(
    me: &ParkedSession,
    mark: &Watermark,
    position: Option<(&str, u64)>,
    history: &[StoredMessage],
    broadcasts: &[Arc<StreamedBroadcast>],
    max: usize,
) -> Result<Vec<ReplayedEvent>, Unrecoverable> {
    if broadcasts.len() > max {
        return Err(Unrecoverable::Overflow);
    }
    let mut timed: Vec<(u64, ReplayedEvent)> = Vec::new();
    let mut last_ms = mark.ms;
    for message in &history[first_missed(mark, history)..] {
        // Entries of Node nodes have no time: they sit where the list puts them.
        last_ms = message.ts.unwrap_or(last_ms);
        let own = message
            .id
            .as_deref()
            .is_some_and(|id| sender_tag::sent_by(id, &me.socket_id));
        if own {
            continue;
        }
        let message_json = serde_json::to_value(message).unwrap_or(Value::Null);
        let data = Value::Array(vec!["private message".into(), message_json]);
        let watermark = Watermark::of_event(&data, last_ms);
        timed.push((last_ms, ReplayedEvent { data, watermark }));
    }
    let presence = PresenceReplay::new(broadcasts, position, &me.user_id);
    for (at, broadcast) in broadcasts.iter().enumerate() {
        let excluded = broadcast.except.iter().any(|room| me.rooms.contains(room));
        if excluded || !presence.replays(at) {
            continue;
        }
        timed.push((
            broadcast.ms,
            ReplayedEvent {
                data: broadcast.data.clone(),
                watermark: Watermark::at(broadcast.ms),
            },
        ));
    }
    if timed.len() > max {
        return Err(Unrecoverable::Overflow);
    }
    // Stable: history entries keep their list order among equal times.
    timed.sort_by_key(|(ms, _)| *ms);
    Ok(timed.into_iter().map(|(_, event)| event).collect())
}

/// Which streamed broadcasts a client must be replayed. A presence event sets a state, so only
/// the last one about each user matters; and a broadcast published by the very node whose log
/// the client's offset names is known exactly to have been received or not (same log, same
/// positions), which is what makes a drain cheap: the drained node's `user disconnected`
/// announcements of users that recovered meanwhile (announced `user connected` since) change
/// nothing the client believed, and both are left out. Broadcasts of other nodes are known by
/// time only and replayed (their last one per user), which is harmless when already seen.
struct PresenceReplay {
    keep: Vec<bool>,
}

impl PresenceReplay {
    /// `me` is the recovering socket's user: events about it are never replayed to it.
    fn new(
        broadcasts: &[Arc<StreamedBroadcast>],
        position: Option<(&str, u64)>,
        me: &str,
    ) -> PresenceReplay {
        let received = |b: &StreamedBroadcast| -> Option<bool> {
            let (epoch, seq) = split_local(b.origin.as_deref()?)?;
            let (seen_epoch, seen_seq) = position?;
            (epoch == seen_epoch).then_some(seq <= seen_seq)
        };
        let mut keep = vec![false; broadcasts.len()];
        let mut about: HashMap<&str, Vec<usize>> = HashMap::new();
        for (at, broadcast) in broadcasts.iter().enumerate() {
            if received(broadcast) == Some(true) {
                continue;
            }
            match subject(&broadcast.data) {
                Some(user_id) if user_id == me => {}
                Some(user_id) => about.entry(user_id).or_default().push(at),
                None => keep[at] = true,
            }
        }
        let event = |at: usize| broadcasts[at].data.get(0).and_then(Value::as_str);
        for events in about.values() {
            let (first, last) = (events[0], events[events.len() - 1]);
            let went_and_came_back = received(&broadcasts[first]) == Some(false)
                && event(first) == Some("user disconnected")
                && event(last) == Some("user connected");
            if !went_and_came_back {
                keep[last] = true;
            }
        }
        PresenceReplay { keep }
    }

    fn replays(&self, at: usize) -> bool {
        self.keep[at]
    }
}

/// Index of the first history entry the client did not receive.
fn first_missed(mark: &Watermark, history: &[StoredMessage]) -> usize {
    if let Some(id) = &mark.message_id {
        if let Some(at) = history.iter().position(|m| m.id.as_ref() == Some(id)) {
            return at + 1;
        }
    }
    history
        .iter()
        .rposition(|m| m.ts.is_some_and(|ts| ts <= mark.ms))
        .map_or(0, |at| at + 1)
}

/// The user a presence event is about (`user connected` carries an object, `user
/// disconnected` the id).
fn subject(data: &Value) -> Option<&str> {
    match data.get(1)? {
        Value::String(user_id) => Some(user_id),
        user => user.get("userID")?.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn me() -> ParkedSession {
        ParkedSession {
            socket_id: "sock-a".into(),
            session_id: "sess".into(),
            user_id: "alice".into(),
            username: "Alice".into(),
            rooms: vec!["sock-a".into(), "alice".into()],
        }
    }

    fn message(content: &str, from: &str, id: Option<String>, ts: Option<u64>) -> StoredMessage {
        StoredMessage {
            content: content.into(),
            from: from.into(),
            to: if from == "alice" { "bob" } else { "alice" }.into(),
            id,
            ts,
        }
    }

    fn contents(events: &[ReplayedEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match &e.data[1] {
                Value::String(s) => format!("{}:{s}", e.data[0].as_str().unwrap_or_default()),
                v => v["content"].as_str().unwrap_or("?").to_owned(),
            })
            .collect()
    }

    #[test]
    fn replays_history_after_the_named_message_without_own_sends() {
        let own = sender_tag::message_id("sock-a");
        let other_tab = sender_tag::message_id("sock-b");
        let history = vec![
            message("seen", "bob", Some("aa01".into()), Some(10)),
            message("mine", "alice", Some(own), Some(11)),
            message("tab", "alice", Some(other_tab), Some(12)),
            message("node", "bob", None, None),
            message("new", "bob", Some("aa02".into()), Some(13)),
        ];
        let mark = Watermark {
            ms: 10,
            message_id: Some("aa01".into()),
        };
        let missed = missed_across_nodes(&me(), &mark, None, &history, &[], 10).unwrap();
        assert_eq!(contents(&missed), ["tab", "node", "new"]);
        // Each replayed message carries its own watermark, so a second drop resumes after it.
        assert_eq!(missed[2].watermark.message_id.as_deref(), Some("aa02"));
        assert_eq!(
            missed_across_nodes(&me(), &mark, None, &history, &[], 2).unwrap_err(),
            Unrecoverable::Overflow
        );
    }

    #[test]
    fn without_a_message_id_the_time_decides_and_presence_is_merged() {
        let history = vec![
            message("old", "bob", Some("aa01".into()), Some(10)),
            message("newer", "bob", Some("aa02".into()), Some(30)),
        ];
        let broadcasts: Vec<Arc<StreamedBroadcast>> = [
            StreamedBroadcast {
                ms: 20,
                data: json!(["user disconnected", "carol"]),
                except: vec![],
                origin: None,
            },
            StreamedBroadcast {
                ms: 21,
                data: json!(["user disconnected", "alice"]),
                except: vec![],
                origin: None,
            },
            StreamedBroadcast {
                ms: 22,
                data: json!(["user connected", {"userID": "alice"}]),
                except: vec!["sock-x".into()],
                origin: None,
            },
            StreamedBroadcast {
                ms: 23,
                data: json!(["user connected", {"userID": "dave"}]),
                except: vec!["alice".into()],
                origin: None,
            },
            StreamedBroadcast {
                ms: 40,
                data: json!(["user connected", {"userID": "carol", "content": "carol back"}]),
                except: vec!["sock-c".into()],
                origin: None,
            },
        ]
        .into_iter()
        .map(Arc::new)
        .collect();
        let mark = Watermark::at(15);
        let missed = missed_across_nodes(&me(), &mark, None, &history, &broadcasts, 10).unwrap();
        // Carol's disconnection is superseded by her return.
        assert_eq!(contents(&missed), ["newer", "carol back"]);
        assert_eq!(
            missed_across_nodes(&me(), &mark, None, &history, &broadcasts, 4).unwrap_err(),
            Unrecoverable::Overflow
        );
    }

    #[test]
    fn only_the_last_presence_event_about_a_user_is_replayed() {
        let churn = |ms, data: Value| {
            Arc::new(StreamedBroadcast {
                ms,
                data,
                except: vec![],
                origin: None,
            })
        };
        let broadcasts = vec![
            churn(1, json!(["user disconnected", "carol"])),
            churn(2, json!(["user disconnected", "dave"])),
            churn(3, json!(["user connected", {"userID": "carol"}])),
            churn(4, json!(["user disconnected", "carol"])),
        ];
        let missed =
            missed_across_nodes(&me(), &Watermark::at(0), None, &[], &broadcasts, 10).unwrap();
        assert_eq!(
            contents(&missed),
            ["user disconnected:dave", "user disconnected:carol"]
        );
    }

    #[test]
    fn a_drained_node_s_announcements_are_known_exactly() {
        // The client last heard from node `aa` at its position 10.
        let from = |ms, data: Value, origin: &str| {
            Arc::new(StreamedBroadcast {
                ms,
                data,
                except: vec![],
                origin: Some(origin.into()),
            })
        };
        let broadcasts = vec![
            // Received before the drain (aa-9 <= aa-a): not replayed.
            from(1, json!(["user connected", {"userID": "seen"}]), "aa-9"),
            // Drained with the client, and back on node bb: nothing changed for the client.
            from(2, json!(["user disconnected", "carol"]), "aa-b"),
            from(3, json!(["user connected", {"userID": "carol"}]), "bb-1"),
            // Drained and not back yet: gone.
            from(4, json!(["user disconnected", "dave"]), "aa-c"),
            // Another node's news, by time only: its last event is replayed.
            from(5, json!(["user disconnected", "erin"]), "cc-4"),
            from(
                6,
                json!(["user connected", {"userID": "erin", "content": "erin back"}]),
                "cc-5",
            ),
        ];
        let missed = missed_across_nodes(
            &me(),
            &Watermark::at(0),
            Some(("aa", 10)),
            &[],
            &broadcasts,
            10,
        )
        .unwrap();
        assert_eq!(contents(&missed), ["user disconnected:dave", "erin back"]);
    }

    #[test]
    fn an_unknown_message_id_falls_back_to_its_time() {
        let history = vec![
            message("old", "bob", Some("aa01".into()), Some(10)),
            message("new", "bob", Some("aa02".into()), Some(30)),
        ];
        let mark = Watermark {
            ms: 20,
            message_id: Some("ffff".into()),
        };
        let missed = missed_across_nodes(&me(), &mark, None, &history, &[], 10).unwrap();
        assert_eq!(contents(&missed), ["new"]);
    }
}
