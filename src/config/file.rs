//! The TOML config file: the same settings as the flags, all optional, unknown keys refused
//! (a typo in a config file should stop the node, not be silently ignored).

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub port: Option<u16>,
    pub host: Option<String>,
    pub path: Option<String>,
    pub redis_url: Option<String>,
    pub redis_cluster_urls: Option<String>,
    pub node_id: Option<String>,
    pub channel_prefix: Option<String>,
    pub subscription_mode: Option<super::SubscriptionMode>,
    pub ping_interval_ms: Option<u64>,
    pub ping_timeout_ms: Option<u64>,
    pub max_payload: Option<usize>,
    pub connect_timeout_ms: Option<u64>,
    pub upgrade_timeout_ms: Option<u64>,
    pub outbound_buffer_bytes: Option<usize>,
    pub cors_origins: Option<String>,
    pub static_dir: Option<PathBuf>,
    pub session_ttl_secs: Option<u64>,
    pub message_ttl_secs: Option<u64>,
    pub history_limit: Option<usize>,
    pub redis_timeout_ms: Option<u64>,
    pub drain_timeout_secs: Option<u64>,
    pub message_rate: Option<f64>,
    pub message_burst: Option<f64>,
    pub presence_grace_ms: Option<u64>,
    pub recovery_window_secs: Option<u64>,
    pub recovery_max_events: Option<usize>,
    pub workers: Option<usize>,
    pub admin: Option<bool>,
    pub admin_namespace: Option<String>,
    pub admin_username: Option<String>,
    pub admin_password_hash: Option<String>,
    pub admin_no_auth: Option<bool>,
    pub admin_read_only: Option<bool>,
    pub admin_server_id: Option<String>,
    pub admin_show_events: Option<bool>,
}
