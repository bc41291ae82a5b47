//! The server side of the Socket.IO Admin UI (`@socket.io/admin-ui` 0.5.1): operators watch
//! the cluster live from the official dashboard, on an admin namespace (`/admin` by default),
//! off unless configured.
//!
//! # Auth (`auth.rs`)
//! The UI logs in with `{username, password}` in the handshake's `auth`; the password is
//! checked against the configured bcrypt hash (off the connection's thread), and a good login
//! is sent a `session` id the UI reconnects with. Anything else — a wrong password, a chat
//! user's `{username}`, a session already connected to the chat on `/` — gets CONNECT_ERROR
//! `invalid credentials` (or `not an admin session`). No authentication only when the
//! operator chose it explicitly. A dashboard socket is never in the chat's rooms, and chat
//! sockets never hear the admin namespace: admin traffic never reaches chat users.
//!
//! # Events (`hub.rs`, `stats.rs`, `directory.rs`)
//! A dashboard gets `config` (the supported features: the four commands and their
//! multi-socket forms unless read-only, aggregated events, and "all events", which is what
//! makes the UI show its sockets, rooms and clients pages), then `all_sockets`: the local sockets from the
//! [`Directory`] plus every other node's, asked with the bridge's fetch-sockets request.
//! Then it hears `server_stats` of every node every 2 s, `socket_connected`,
//! `socket_updated` (the upgrade to WebSocket), `socket_disconnected`, `room_joined` and
//! `room_left`, and `event_received` (a chat socket's incoming events, contents included)
//! only with `show_events`.
//!
//! # Commands (`commands.rs`, `socket.rs`)
//! `emit`, `join`, `leave` and `_disconnect`, by socket id or by room filter (a socket id is
//! a room), are parsed strictly, refused in read-only mode (acked `{error}` when the client
//! asks for an ack; the UI does not), applied to the local sockets by way of an
//! [`AdminOrder`] to each one's connection, and sent on to the other nodes.
//!
//! # Cluster (`cluster.rs`)
//! Node's admin UI reaches the whole cluster through its adapter; so do we, in its formats:
//! dashboard events are broadcasts on `<p>#/admin#`, commands go out as the adapter's
//! broadcast (emit) and requests 2, 3, 4 (join, leave, disconnect) and come in through the
//! bridge, and our answers to fetch-sockets carry `data._admin` (session id, transport), so
//! that a dashboard on a Node node shows our sockets as well as we show its. On a Redis
//! Cluster (sharded pub/sub) the dashboard events and commands stay on their node.
//!
//! Rooms joined from the dashboard are kept here (the [`Directory`]), not in the chat's
//! routing (which routes private messages by user id): `emit` to such a room reaches its
//! members on every node (broadcasts from other nodes to it are delivered from the
//! directory), and the chat's own traffic never targets one.
//!
//! | file | what |
//! |---|---|
//! | `config.rs` | [`AdminConfig`], [`AdminAuth`] |
//! | `auth.rs` | credentials, bcrypt, admin session ids |
//! | `directory.rs` | [`Directory`]: the local sockets as the dashboard sees them |
//! | `hub.rs` | [`AdminHub`]: fan-out, `config` / `all_sockets`, stats timer, commands |
//! | `socket.rs` | [`AdminApp`]: the connection's side |
//! | `commands.rs` | parsing the UI's commands |
//! | `stats.rs` | `server_stats` |
//! | `cluster.rs` | the admin channels and the adapter's requests 2, 3, 4 |
//! | `messages.rs` | the actors' messages |
//! | `time.rs` | ISO timestamps, as a JavaScript `Date` in JSON |

mod auth;
mod cluster;
mod commands;
mod config;
mod directory;
mod hub;
mod messages;
mod socket;
mod stats;
mod time;

pub use self::auth::AdminSessions;
pub use self::cluster::{admin_channel, AdminCluster};
pub use self::config::{AdminAuth, AdminConfig};
pub use self::directory::Directory;
pub use self::hub::AdminHub;
pub use self::messages::{AdminOrder, RemoteRequest};
pub use self::socket::{is_admin_namespace, AdminApp};

use actix::Addr;
use std::sync::Arc;

/// What every connection of a node with an admin namespace shares.
pub struct AdminServices {
    pub config: AdminConfig,
    pub hub: Addr<AdminHub>,
    pub directory: Arc<Directory>,
    pub sessions: AdminSessions,
}
