//! Our requests to the other nodes and the counting of their answers, as Node's adapter does:
//! the number of answers due is `PUBSUB NUMSUB <p>-request#/#` minus ourselves; every response
//! carrying the request's id counts as one answer (even one without sockets); once all are in
//! the request completes, otherwise the caller's timeout decides and the partial report says
//! how many were missing ("unknown", never "nobody").

use super::{PeerQuery, PeerReport};
use chat_protocol::adapter::{Request, Response};
use std::collections::HashMap;
use tokio::sync::oneshot;

/// Requests waiting for answers, by requestId.
#[derive(Default)]
pub struct PendingRequests {
    waiting: HashMap<String, Waiting>,
}

struct Waiting {
    report: PeerReport,
    /// Keep each fetched socket whole ([`PeerQuery::SocketDetails`]).
    details: bool,
    done: oneshot::Sender<PeerReport>,
}

impl PendingRequests {
    /// Registers a request due `expected` answers (> 0), `known_peers` of them from our
    /// heartbeating peers; the receiver gets the report once all arrived.
    pub fn register(
        &mut self,
        request_id: &str,
        expected: usize,
        known_peers: usize,
    ) -> oneshot::Receiver<PeerReport> {
        let (done, receiver) = oneshot::channel();
        self.waiting.insert(
            request_id.to_owned(),
            Waiting {
                report: PeerReport {
                    expected,
                    known_peers,
                    ..PeerReport::default()
                },
                done,
                details: false,
            },
        );
        receiver
    }

    /// Keeps the whole sockets of the answers to `request_id`.
    pub fn keep_details(&mut self, request_id: &str) {
        if let Some(waiting) = self.waiting.get_mut(request_id) {
            waiting.details = true;
        }
    }

    pub fn contains(&self, request_id: &str) -> bool {
        self.waiting.contains_key(request_id)
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Counts `response` if it answers one of our requests; returns whether it did.
    pub fn answer(&mut self, response: Response) -> bool {
        let Some(request_id) = response.request_id().map(str::to_owned) else {
            return false;
        };
        let Some(waiting) = self.waiting.get_mut(&request_id) else {
            return false;
        };
        let report = &mut waiting.report;
        report.answered += 1;
        match response {
            Response::Sockets { sockets, .. } => {
                for id in sockets {
                    report.sockets.entry(id).or_default();
                }
            }
            Response::FetchedSockets { sockets, .. } => {
                for socket in sockets {
                    if waiting.details {
                        report.details.push(serde_json::json!({
                            "id": socket.id,
                            "handshake": socket.handshake,
                            "rooms": socket.rooms,
                            "data": socket.data,
                        }));
                    }
                    report.sockets.insert(socket.id, socket.rooms);
                }
            }
            Response::Rooms { .. } | Response::Other { .. } => {}
        }
        if report.is_complete() {
            if let Some(waiting) = self.waiting.remove(&request_id) {
                // The asker may have given up already; then nobody needs the report.
                let _ = waiting.done.send(waiting.report);
            }
        }
        true
    }

    /// Removes a request that timed out; returns what had arrived so far.
    pub fn give_up(&mut self, request_id: &str) -> Option<PeerReport> {
        self.waiting.remove(request_id).map(|w| w.report)
    }
}

/// The request for `query`, with our uid (as `@socket.io/redis-adapter` 8 sends it; 6.1.1
/// nodes ignore the field).
pub fn build_request(uid: &str, request_id: &str, query: &PeerQuery) -> Request {
    match query {
        PeerQuery::SocketIds { rooms } => Request::Sockets {
            uid: uid.to_owned(),
            request_id: request_id.to_owned(),
            rooms: rooms.clone(),
        },
        PeerQuery::SocketRooms { rooms } | PeerQuery::SocketDetails { rooms } => {
            Request::FetchSockets {
                uid: uid.to_owned(),
                request_id: request_id.to_owned(),
                rooms: rooms.clone(),
                except: Vec::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_protocol::adapter::SocketDetails;
    use serde_json::Value;

    fn sockets(id: &str, ids: &[&str]) -> Response {
        Response::Sockets {
            request_id: id.into(),
            sockets: ids.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn completes_after_the_expected_number_of_answers() {
        let mut pending = PendingRequests::default();
        let mut done = pending.register("r1", 2, 1);
        assert!(pending.answer(sockets("r1", &["a", "b"])));
        assert!(
            done.try_recv().is_err(),
            "one answer of two is not complete"
        );
        assert!(!pending.answer(sockets("other", &["x"])));
        assert!(pending.answer(Response::Other {
            request_id: Some("r1".into())
        }));
        let report = done.try_recv().expect("complete after two answers");
        assert_eq!(report.answered, 2);
        assert!(report.is_complete());
        assert_eq!(report.sockets.len(), 2);
        assert_eq!(pending.len(), 0);
        assert!(
            !pending.answer(sockets("r1", &["late"])),
            "late answers are ignored"
        );
    }

    #[test]
    fn a_timed_out_request_reports_what_arrived() {
        let mut pending = PendingRequests::default();
        let _done = pending.register("r2", 3, 2);
        pending.answer(Response::FetchedSockets {
            request_id: "r2".into(),
            sockets: vec![SocketDetails {
                id: "s1".into(),
                rooms: vec!["s1".into(), "alice".into()],
                handshake: Value::Null,
                data: Value::Null,
            }],
        });
        let report = pending.give_up("r2").expect("still pending");
        assert_eq!(report.missing(), 2);
        assert_eq!(report.sockets["s1"], vec!["s1", "alice"]);
        assert!(pending.give_up("r2").is_none());
    }
}
