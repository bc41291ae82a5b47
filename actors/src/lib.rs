//! The actor system of the chat server.
//!
//! # Layout: feature -> owning actor -> files
//!
//! | feature | owning actor | where |
//! |---|---|---|
//! | a session's transport (polling, WebSocket, upgrade, byte bounds) | `Connection` | [`transport`] (frames, queues, socket tasks), [`connection`] (the actor shell) |
//! | the chat: handshake, private messages, validation | `Connection` (its [`SocketApp`](connection::SocketApp)) | [`chat`] |
//! | the protocol conformance servers | `Connection` | [`conformance`] |
//! | the Socket.IO Admin UI: auth, dashboard events, commands, across the cluster | `AdminHub`, `Connection` (its app's [`AdminApp`](admin::AdminApp)) | [`admin`] |
//! | membership and routing on a node | `ChatHub` | [`hub`] |
//! | presence: last tab, the question to other nodes, liveness, peers, reaper, resync | `ChatHub`, `Membership`, `NodeLiveness`, `DeadNodeReaper` | [`presence`] |
//! | connection state recovery: log, parking, replay, across nodes | `ChatHub` (its `HubRecovery`), `Connection` | [`recovery`] |
//! | the cluster: wire formats, subscriptions, requests | `RedisBridge` | [`cluster`] |
//! | sessions and histories, in memory or in Redis | `SessionStore`, `MessageStore` | [`store`] |
//! | one node, assembled (the only place that joins hub and cluster) | – | [`node`] |
//! | what a broadcast carries; ids; metrics | – | [`event`], [`ids`], [`metrics`] |
//!
//! Dependencies run one way, from the top of this list down: the chat uses the connection,
//! the admin namespace, the hub, presence and recovery; the admin namespace uses the
//! connection and the cluster (and [`node`] hands it the bridge's remote requests); presence
//! extends the hub and uses the cluster; the hub and the cluster never name each other (each
//! has a port, [`hub::ClusterPort`] and [`cluster::LocalNode`], which [`node`] implements);
//! recovery and the transport name neither.

pub mod admin;
pub mod chat;
pub mod cluster;
pub mod conformance;
pub mod connection;
pub mod event;
pub mod hub;
pub mod ids;
pub mod metrics;
pub mod node;
pub mod presence;
pub mod recovery;
pub mod store;
pub mod transport;
