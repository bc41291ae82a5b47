//! The admin namespace across the cluster, in the formats of Node's adapter, so that our
//! nodes and Node nodes running `@socket.io/admin-ui` watch one cluster:
//!
//! - every dashboard event of a node (`server_stats`, `socket_connected`, …) is a broadcast on
//!   the admin namespace's channel `<p>#<admin nsp>#`, which every node delivers to its own
//!   dashboards (as `adminNamespace.emit` does through Node's adapter);
//! - a command is applied here, then sent on: `emit` as a broadcast on `<p>#<nsp>#`, `join`,
//!   `leave` and `_disconnect` as the adapter's requests 2, 3 and 4 on `<p>-request#<nsp>#`
//!   (what `io.in(room).socketsJoin/socketsLeave/disconnectSockets` publish);
//! - `all_sockets` asks every node for its sockets with the existing fetch-sockets request
//!   (type 5, through the bridge), whose answers carry `data._admin` (session id, transport).

use super::commands::{Action, Command};
use crate::store::{RedisConnection, Replay};
use chat_protocol::adapter::{
    decode_broadcast, encode_broadcast, request_channel, Broadcast, BroadcastOpts, BroadcastPacket,
};
use serde_json::{json, Value};

/// This node's side of the admin channels.
pub struct AdminCluster {
    pub conn: RedisConnection,
    /// Our uid in broadcasts and requests (the node id, as the bridge's).
    pub uid: String,
    pub prefix: String,
    /// The admin namespace.
    pub namespace: String,
}

/// The channel of the admin namespace's broadcasts.
pub fn admin_channel(prefix: &str, namespace: &str) -> String {
    format!("{prefix}#{namespace}#")
}

impl AdminCluster {
    /// The adapter's broadcast of EVENT `data` on `nsp` from this node.
    fn event_broadcast(&self, nsp: &str, data: &Value, opts: BroadcastOpts) -> Vec<u8> {
        encode_broadcast(&Broadcast {
            uid: self.uid.clone(),
            packet: BroadcastPacket {
                kind: 2,
                data: data.clone(),
                attachments: Vec::new(),
                nsp: nsp.to_owned(),
            },
            opts,
        })
    }

    /// Publishes `data` (`[event, ...args]`) to every other node's dashboards.
    pub fn publish_event(&self, data: &Value) {
        let payload = self.event_broadcast(&self.namespace, data, BroadcastOpts::default());
        self.publish(admin_channel(&self.prefix, &self.namespace), payload);
    }

    /// Sends `command` (already applied here) to the other nodes.
    pub fn publish_command(&self, command: &Command) {
        let rooms = command.rooms();
        let (channel, payload) = match &command.action {
            Action::Emit(data) => {
                let opts = BroadcastOpts {
                    rooms,
                    ..BroadcastOpts::default()
                };
                let payload = self.event_broadcast(&command.nsp, data, opts);
                // On the namespace's own channel even for one room: our nodes in room
                // subscription mode subscribe user rooms only, Node nodes every channel.
                (format!("{}#{}#", self.prefix, command.nsp), payload)
            }
            action => {
                let opts = json!({ "rooms": rooms, "except": [] });
                let request = match action {
                    Action::Join(room) => {
                        json!({ "uid": self.uid, "type": 2, "opts": opts, "rooms": [room] })
                    }
                    Action::Leave(room) => {
                        json!({ "uid": self.uid, "type": 3, "opts": opts, "rooms": [room] })
                    }
                    Action::Disconnect { close } => {
                        json!({ "uid": self.uid, "type": 4, "opts": opts, "close": close })
                    }
                    Action::Emit(_) => return,
                };
                (
                    request_channel(&self.prefix, &command.nsp),
                    request.to_string().into_bytes(),
                )
            }
        };
        self.publish(channel, payload);
    }

    /// The dashboard event of another node in a broadcast on the admin channel; `None` for
    /// our own, another namespace's, or an undecodable one.
    pub fn received_event(&self, payload: &[u8]) -> Option<Value> {
        let broadcast = decode_broadcast(payload).ok()?;
        (broadcast.uid != self.uid && broadcast.packet.nsp == self.namespace)
            .then_some(broadcast.packet.data)
    }

    fn publish(&self, channel: String, payload: Vec<u8>) {
        let conn = self.conn.clone();
        actix::spawn(async move {
            let mut cmd = redis::cmd(conn.publish_command());
            cmd.arg(&channel).arg(payload);
            if let Err(e) = conn.query::<()>(&cmd, Replay::OnlyIfUnsent).await {
                log::debug!("admin: cannot publish on {channel}: {e}");
            }
        });
    }
}

/// What another node asks this one to do to its sockets of a namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteCommand {
    pub action: Action,
    /// Sockets in any of these rooms (all when empty)…
    pub rooms: Vec<String>,
    /// …and in none of these.
    pub except: Vec<String>,
}

/// Another node's request 2, 3 or 4 (`None` for other types or a malformed one).
/// socket.io-redis 6's form (`sid`, `room`) is read as well.
pub fn remote_command(payload: &[u8]) -> Option<RemoteCommand> {
    let request: Value = serde_json::from_slice(payload).ok()?;
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (rooms, except) = match request.get("opts") {
        Some(opts) => (strings(opts.get("rooms")), strings(opts.get("except"))),
        None => {
            let sid = request.get("sid").and_then(Value::as_str)?;
            (vec![sid.to_owned()], Vec::new())
        }
    };
    let target = strings(request.get("rooms"))
        .into_iter()
        .next()
        .or_else(|| {
            request
                .get("room")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let action = match request.get("type").and_then(Value::as_u64)? {
        2 => Action::Join(target?),
        3 => Action::Leave(target?),
        4 => Action::Disconnect {
            close: request
                .get("close")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        _ => return None,
    };
    Some(RemoteCommand {
        action,
        rooms,
        except,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_adapters_remote_requests() {
        let join = br#"{"uid":"n","type":2,"opts":{"rooms":["s1"],"except":["x"]},"rooms":["r"]}"#;
        assert_eq!(
            remote_command(join),
            Some(RemoteCommand {
                action: Action::Join("r".into()),
                rooms: vec!["s1".into()],
                except: vec!["x".into()],
            })
        );
        let disconnect = br#"{"uid":"n","type":4,"opts":{"rooms":[],"except":[]},"close":true}"#;
        assert_eq!(
            remote_command(disconnect).map(|c| c.action),
            Some(Action::Disconnect { close: true })
        );
        let v6 = br#"{"requestId":"j","type":3,"sid":"s","room":"r"}"#;
        assert_eq!(
            remote_command(v6),
            Some(RemoteCommand {
                action: Action::Leave("r".into()),
                rooms: vec!["s".into()],
                except: vec![],
            })
        );
        assert_eq!(remote_command(br#"{"type":5,"opts":{}}"#), None);
        assert_eq!(remote_command(br#"{"type":2,"opts":{}}"#), None);
        assert_eq!(remote_command(b"not json"), None);
    }
}
