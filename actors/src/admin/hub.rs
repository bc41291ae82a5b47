//! [`AdminHub`], one per node with an admin namespace: it fans every dashboard event out to
//! the dashboards connected here and, in a cluster, to the other nodes'; it sends a new
//! dashboard its `config` and `all_sockets` (asking the other nodes for theirs); it emits
//! `server_stats` every 2 s; and it applies commands, this node's dashboards' and the other
//! nodes', to the local sockets.

use super::cluster::{AdminCluster, RemoteCommand};
use super::commands::{Action, Command};
use super::directory::Directory;
use super::messages::*;
use super::stats::{namespace_counts, ServerStats};
use super::time::iso_now;
use super::AdminConfig;
use crate::cluster::{AskPeers, Inbound, PeerQuery, RedisBridge, SubscriptionChanged};
use crate::event::event_frames;
use crate::metrics::METRICS;
use actix::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often `server_stats` goes out (as the admin UI's server side).
pub const STATS_EVERY: Duration = Duration::from_secs(2);

/// The features the UI enables its pages and buttons for. `ALL_EVENTS` is what makes the UI
/// show its sockets, rooms and clients pages (its "development mode"), which our events feed
/// whatever the settings; the chat events' contents (`event_received`) follow only with
/// `show_events`.
fn supported_features(config: &AdminConfig) -> Vec<&'static str> {
    let mut features = if config.read_only {
        Vec::new()
    } else {
        vec![
            "EMIT",
            "JOIN",
            "LEAVE",
            "DISCONNECT",
            "MJOIN",
            "MLEAVE",
            "MDISCONNECT",
        ]
    };
    features.extend(["AGGREGATED_EVENTS", "ALL_EVENTS"]);
    features
}

/// The dashboards of a node and everything they hear.
pub struct AdminHub {
    config: AdminConfig,
    directory: Arc<Directory>,
    /// The dashboards connected here.
    admins: HashMap<String, Recipient<AdminPush>>,
    stats: ServerStats,
    /// With Redis: the bridge (to ask for every node's sockets) and the admin channels.
    bridge: Option<Addr<RedisBridge>>,
    cluster: Option<AdminCluster>,
}

impl AdminHub {
    pub fn new(
        config: AdminConfig,
        directory: Arc<Directory>,
        bridge: Option<Addr<RedisBridge>>,
        cluster: Option<AdminCluster>,
    ) -> AdminHub {
        AdminHub {
            stats: ServerStats::new(&config.server_id),
            config,
            directory,
            admins: HashMap::new(),
            bridge,
            cluster,
        }
    }

    /// Sends `data` to the dashboards here.
    fn push_local(&self, data: &Value) {
        if self.admins.is_empty() {
            return;
        }
        let frames: Arc<[_]> = event_frames(&self.config.namespace, data, None, &[]).into();
        for push in self.admins.values() {
            push.do_send(AdminPush {
                frames: frames.clone(),
            });
        }
    }

    /// Sends `data` to every dashboard of the cluster.
    fn emit(&self, data: Value) {
        self.push_local(&data);
        if let Some(cluster) = &self.cluster {
            cluster.publish_event(&data);
        }
    }

    fn push_to(&self, socket_id: &str, data: Value) {
        if let Some(push) = self.admins.get(socket_id) {
            let frames = event_frames(&self.config.namespace, &data, None, &[]).into();
            push.do_send(AdminPush { frames });
        }
    }

    fn room_event(&self, event: &str, nsp: &str, room: &str, socket_id: &str) {
        self.emit(json!([event, nsp, room, socket_id, iso_now().0]));
    }

    /// Applies `action` to the local sockets of `nsp` in any of `rooms` and none of `except`.
    fn apply_local(&self, nsp: &str, rooms: &[String], except: &[String], action: &Action) {
        let targets = self.directory.select(nsp, rooms, except);
        match action {
            Action::Emit(data) => {
                let data = Arc::new(data.clone());
                for (_, order) in targets {
                    order.do_send(AdminOrder::Emit {
                        nsp: nsp.to_owned(),
                        data: data.clone(),
                    });
                }
            }
            Action::Join(room) | Action::Leave(room) => {
                let join = matches!(action, Action::Join(_));
                for (id, _) in targets {
                    if self.directory.change_room(&id, room, join, true) {
                        let event = if join { "room_joined" } else { "room_left" };
                        self.room_event(event, nsp, room, &id);
                    }
                }
            }
            Action::Disconnect { close } => {
                for (socket_id, order) in targets {
                    order.do_send(AdminOrder::Disconnect {
                        socket_id,
                        close: *close,
                    });
                }
            }
        }
    }
}

impl Actor for AdminHub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(STATS_EVERY, |act, _| {
            let namespaces = namespace_counts(&act.config.namespace, act.directory.counts());
            let stats = act.stats.next(&namespaces);
            act.emit(json!(["server_stats", stats]));
        });
    }
}

impl Handler<AdminJoined> for AdminHub {
    type Result = ();

    fn handle(&mut self, msg: AdminJoined, ctx: &mut Context<Self>) {
        let AdminJoined { socket_id, push } = msg;
        self.admins.insert(socket_id.clone(), push);
        METRICS
            .admin_connections_active
            .set(self.admins.len() as i64);
        self.push_to(
            &socket_id,
            json!(["config", { "supportedFeatures": supported_features(&self.config) }]),
        );
        if let Some(entry) = self.directory_entry(&socket_id) {
            self.emit(json!(["socket_connected", entry, iso_now().0]));
        }
        let local = self.directory.serialize_all();
        let Some(bridge) = self.bridge.clone() else {
            return self.push_to(&socket_id, json!(["all_sockets", local]));
        };
        let ask = bridge.send(AskPeers {
            query: PeerQuery::SocketDetails { rooms: Vec::new() },
            known_peers: 0,
        });
        ctx.spawn(ask.into_actor(self).map(move |report, act, _| {
            let mut sockets = local;
            if let Ok(Some(report)) = report {
                sockets.extend(report.details.iter().map(|s| remote_socket(s, "/")));
            }
            act.push_to(&socket_id, json!(["all_sockets", sockets]));
        }));
    }
}

impl AdminHub {
    fn directory_entry(&self, socket_id: &str) -> Option<Value> {
        self.directory
            .serialize_all()
            .into_iter()
            .find(|s| s["id"] == socket_id)
    }
}

/// A socket of another node (a fetch-sockets answer's `{id, handshake, rooms, data}`) as
/// the admin UI shows it: `data._admin` gives its session id and transport.
fn remote_socket(socket: &Value, nsp: &str) -> Value {
    let mut data = socket.get("data").cloned().unwrap_or_else(|| json!({}));
    let admin = data
        .as_object_mut()
        .and_then(|d| d.remove("_admin"))
        .unwrap_or(Value::Null);
    let handshake = socket.get("handshake").cloned().unwrap_or(Value::Null);
    let headers = handshake
        .get("headers")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let address = headers
        .get("cf-connecting-ip")
        .or_else(|| headers.get("x-forwarded-for"))
        .or_else(|| handshake.get("address"))
        .cloned()
        .unwrap_or(Value::Null);
    json!({
        "id": socket.get("id"),
        "clientId": admin.get("clientId"),
        "transport": admin.get("transport"),
        "nsp": nsp,
        "data": data,
        "handshake": {
            "address": address,
            "headers": headers,
            "query": handshake.get("query"),
            "issued": handshake.get("issued"),
            "secure": handshake.get("secure"),
            "time": handshake.get("time"),
            "url": handshake.get("url"),
            "xdomain": handshake.get("xdomain"),
        },
        "rooms": socket.get("rooms"),
    })
}

impl Handler<AdminLeft> for AdminHub {
    type Result = ();
    fn handle(&mut self, msg: AdminLeft, _: &mut Context<Self>) {
        self.admins.remove(&msg.socket_id);
        METRICS
            .admin_connections_active
            .set(self.admins.len() as i64);
    }
}

impl Handler<SocketConnected> for AdminHub {
    type Result = ();
    fn handle(&mut self, msg: SocketConnected, _: &mut Context<Self>) {
        let Some(entry) = self.directory_entry(&msg.socket_id) else {
            return;
        };
        let nsp = entry["nsp"].as_str().unwrap_or("/").to_owned();
        self.emit(json!(["socket_connected", entry, iso_now().0]));
        for room in msg.rooms {
            if self
                .directory
                .change_room(&msg.socket_id, &room, true, false)
            {
                self.room_event("room_joined", &nsp, &room, &msg.socket_id);
            }
        }
    }
}

impl Handler<TransportChanged> for AdminHub {
    type Result = ();
    fn handle(&mut self, msg: TransportChanged, _: &mut Context<Self>) {
        for (id, nsp) in msg.sockets {
            self.emit(
                json!(["socket_updated", { "id": id, "nsp": nsp, "transport": msg.transport }]),
            );
        }
    }
}

impl Handler<SocketDisconnected> for AdminHub {
    type Result = ();
    fn handle(&mut self, msg: SocketDisconnected, _: &mut Context<Self>) {
        let now = iso_now().0;
        for room in msg.rooms.iter().rev() {
            self.emit(json!(["room_left", msg.nsp, room, msg.socket_id, now]));
        }
        self.emit(json!([
            "socket_disconnected",
            msg.nsp,
            msg.socket_id,
            msg.reason,
            now
        ]));
    }
}

impl Handler<EventReceived> for AdminHub {
    type Result = ();
    fn handle(&mut self, msg: EventReceived, _: &mut Context<Self>) {
        if self.config.show_events {
            self.emit(json!([
                "event_received",
                msg.nsp,
                msg.socket_id,
                msg.data,
                iso_now().0
            ]));
        }
    }
}

impl Handler<RunCommand> for AdminHub {
    type Result = ();
    fn handle(&mut self, RunCommand(command): RunCommand, _: &mut Context<Self>) {
        if self.config.read_only {
            return;
        }
        self.apply_local(&command.nsp, &command.rooms(), &[], &command.action);
        if let Some(cluster) = &self.cluster {
            cluster.publish_command(&command);
        }
    }
}

impl Handler<RemoteRequest> for AdminHub {
    type Result = ();
    fn handle(&mut self, msg: RemoteRequest, _: &mut Context<Self>) {
        let Some(RemoteCommand {
            action,
            rooms,
            except,
        }) = super::cluster::remote_command(&msg.payload)
        else {
            return METRICS.error("admin_remote_request");
        };
        let command = Command {
            nsp: "/".to_owned(),
            filter: None,
            action,
        };
        METRICS
            .admin_commands
            .with_label_values(&[command.name(), "remote"])
            .inc();
        self.apply_local("/", &rooms, &except, &command.action);
    }
}

impl Handler<Inbound> for AdminHub {
    type Result = ();
    /// Another node's dashboard event, for the dashboards here.
    fn handle(&mut self, msg: Inbound, _: &mut Context<Self>) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        if let Some(data) = cluster.received_event(&msg.payload) {
            self.push_local(&data);
        }
    }
}

impl Handler<SubscriptionChanged> for AdminHub {
    type Result = ();
    fn handle(&mut self, _: SubscriptionChanged, _: &mut Context<Self>) {}
}
