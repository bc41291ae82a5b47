//! Command-line flags. Every setting is optional here: a flag wins over its environment
//! variable (clap reads both), which wins over the config file, which wins over the built-in
//! default shown in `--help`.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;

/// Which conformance server to run instead of the chat (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Conformance {
    /// Engine.IO only: every message is echoed back.
    Engineio,
    /// Socket.IO: namespaces `/` and `/custom` with the echo events.
    Socketio,
}

/// How a node subscribes to the other nodes' broadcasts (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionMode {
    /// PSUBSCRIBE <p>#/#*, as socket.io-redis 6: every node receives every broadcast
    Pattern,
    /// SUBSCRIBE <p>#/# and one <p>#/#<room># per local user room: a private message reaches only the nodes with a recipient
    Rooms,
}

/// chat-server: a horizontally scalable private-messaging server speaking Socket.IO.
#[derive(Debug, Parser)]
#[command(name = "chat-server", version)]
pub struct Cli {
    /// Config file (TOML) [default: config/default.toml when present]
    #[arg(long, env = "CHAT_CONFIG")]
    pub config: Option<PathBuf>,

    /// Listen port [default: 3000]
    #[arg(long, env = "PORT")]
    pub port: Option<u16>,

    /// Listen address [default: 0.0.0.0]
    #[arg(long, env = "CHAT_HOST")]
    pub host: Option<String>,

    /// Path of the Engine.IO endpoint, as Node's `path` option [default: /socket.io/; the
    /// engine.io conformance server: /engine.io/]
    #[arg(long, env = "CHAT_PATH")]
    pub path: Option<String>,

    /// Redis URL; absent = in-memory stores, single node [default: none]
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Seed nodes of a Redis Cluster, comma-separated (`redis://h1:7000,redis://h2:7001`):
    /// stores on the cluster, sharded pub/sub between nodes; exclusive with --redis-url [default: none]
    #[arg(long, env = "REDIS_CLUSTER_URLS")]
    pub redis_cluster_urls: Option<String>,

    /// This node's id in the cluster (a short string) [default: random 6 characters]
    #[arg(long, env = "CHAT_NODE_ID")]
    pub node_id: Option<String>,

    /// Prefix of the Redis pub/sub channels shared with other nodes [default: socket.io]
    #[arg(long, env = "CHAT_CHANNEL_PREFIX")]
    pub channel_prefix: Option<String>,

    /// Which broadcasts this node subscribes to: its users' rooms, or every broadcast [default: rooms]
    #[arg(long, env = "CHAT_SUBSCRIPTION_MODE", value_enum)]
    pub subscription_mode: Option<SubscriptionMode>,

    /// Engine.IO pingInterval, ms [default: 25000]
    #[arg(long, env = "CHAT_PING_INTERVAL_MS")]
    pub ping_interval_ms: Option<u64>,

    /// Engine.IO pingTimeout, ms [default: 20000]
    #[arg(long, env = "CHAT_PING_TIMEOUT_MS")]
    pub ping_timeout_ms: Option<u64>,

    /// Largest accepted packet, WebSocket frame or polling body, bytes [default: 1000000]
    #[arg(long, env = "CHAT_MAX_PAYLOAD")]
    pub max_payload: Option<usize>,

    /// Socket.IO connectTimeout: close sessions that join no namespace by then, ms [default: 45000]
    #[arg(long, env = "CHAT_CONNECT_TIMEOUT_MS")]
    pub connect_timeout_ms: Option<u64>,

    /// Abandon a polling -> WebSocket upgrade not completed by then, ms [default: 10000]
    #[arg(long, env = "CHAT_UPGRADE_TIMEOUT_MS")]
    pub upgrade_timeout_ms: Option<u64>,

    /// Bytes queued per client before it is closed as a slow consumer [default: 4194304]
    #[arg(long, env = "CHAT_OUTBOUND_BUFFER_BYTES")]
    pub outbound_buffer_bytes: Option<usize>,

    /// Allowed CORS origins: "*" or a comma-separated list; empty = same origin only [default: empty]
    #[arg(long, env = "CHAT_CORS_ORIGINS")]
    pub cors_origins: Option<String>,

    /// Directory served at / (the chat page) [default: static]
    #[arg(long, env = "CHAT_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Session TTL in Redis, seconds [default: 86400]
    #[arg(long, env = "CHAT_SESSION_TTL_SECS")]
    pub session_ttl_secs: Option<u64>,

    /// Message history TTL in Redis, seconds, refreshed on every message [default: 86400]
    #[arg(long, env = "CHAT_MESSAGE_TTL_SECS")]
    pub message_ttl_secs: Option<u64>,

    /// Messages kept per user, oldest dropped first [default: 1000]
    #[arg(long, env = "CHAT_HISTORY_LIMIT")]
    pub history_limit: Option<usize>,

    /// Timeout of one Redis command, ms [default: 2000]
    #[arg(long, env = "CHAT_REDIS_TIMEOUT_MS")]
    pub redis_timeout_ms: Option<u64>,

    /// On SIGTERM, how long to wait for sessions to close before exiting, seconds [default: 10]
    #[arg(long, env = "CHAT_DRAIN_TIMEOUT_SECS")]
    pub drain_timeout_secs: Option<u64>,

    /// Sustained events per second allowed per socket (excess refused; a client still flooding after a refused burst is disconnected) [default: 100]
    #[arg(long, env = "CHAT_MESSAGE_RATE")]
    pub message_rate: Option<f64>,

    /// Burst of events allowed per socket above the rate [default: 200]
    #[arg(long, env = "CHAT_MESSAGE_BURST")]
    pub message_burst: Option<f64>,

    /// Presence grace: a socket that dropped for a reason that can be recovered announces its user gone only if the user has no socket anywhere after this long, milliseconds; 0 = at once [default: 3000]
    #[arg(long, env = "CHAT_PRESENCE_GRACE_MS")]
    pub presence_grace_ms: Option<u64>,

    /// Connection state recovery: how long a dropped socket can come back with its missed events, seconds; 0 = off [default: 120]
    #[arg(long, env = "CHAT_RECOVERY_WINDOW_SECS")]
    pub recovery_window_secs: Option<u64>,

    /// Connection state recovery: most missed events replayed to one socket; past it the client gets a normal connection [default: 5000]
    #[arg(long, env = "CHAT_RECOVERY_MAX_EVENTS")]
    pub recovery_max_events: Option<usize>,

    /// Serve the Socket.IO Admin UI's server side on the admin namespace (needs --admin-password-hash or --admin-no-auth) [default: false]
    #[arg(long, env = "CHAT_ADMIN", num_args = 0..=1, default_missing_value = "true")]
    pub admin: Option<bool>,

    /// The admin namespace the Admin UI connects to [default: /admin]
    #[arg(long, env = "CHAT_ADMIN_NAMESPACE")]
    pub admin_namespace: Option<String>,

    /// Admin UI login: the username [default: admin]
    #[arg(long, env = "CHAT_ADMIN_USERNAME")]
    pub admin_username: Option<String>,

    /// Admin UI login: bcrypt hash of the password ($2b$...) [default: none]
    #[arg(long, env = "CHAT_ADMIN_PASSWORD_HASH")]
    pub admin_password_hash: Option<String>,

    /// Admin UI without authentication: anyone reaching the node may watch and command it [default: false]
    #[arg(long, env = "CHAT_ADMIN_NO_AUTH", num_args = 0..=1, default_missing_value = "true")]
    pub admin_no_auth: Option<bool>,

    /// Admin UI read-only: every command (emit, join, leave, disconnect) is refused [default: false]
    #[arg(long, env = "CHAT_ADMIN_READ_ONLY", num_args = 0..=1, default_missing_value = "true")]
    pub admin_read_only: Option<bool>,

    /// The server id this node shows in the Admin UI [default: the node id]
    #[arg(long, env = "CHAT_ADMIN_SERVER_ID")]
    pub admin_server_id: Option<String>,

    /// Send chat sockets' incoming events, message contents included, to the Admin UI [default: false]
    #[arg(long, env = "CHAT_ADMIN_SHOW_EVENTS", num_args = 0..=1, default_missing_value = "true")]
    pub admin_show_events: Option<bool>,

    /// HTTP worker threads [default: number of CPUs]
    #[arg(long, env = "CHAT_WORKERS")]
    pub workers: Option<usize>,

    /// Run a protocol conformance server instead of the chat (fixed timers, CORS open)
    #[arg(long, value_enum)]
    pub conformance: Option<Conformance>,
}
