//! The server's settings, resolved once at start-up from flags, environment, config file and
//! built-in defaults (in that order of precedence), then validated.

mod cli;
mod file;

pub use self::cli::{Cli, Conformance, SubscriptionMode};
use self::file::FileConfig;

use chat_actors::admin::{AdminAuth, AdminConfig};
use chat_actors::chat::ChatLimits;
use chat_actors::recovery::RecoveryConfig;
use chat_actors::transport::EngineConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// Why the settings are unusable; the binary prints it and exits with status 2.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid value for {name}: {reason}")]
    Invalid {
        name: &'static str,
        reason: &'static str,
    },
}

/// Allowed cross-origin callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Same origin only: no CORS headers at all.
    SameOrigin,
    Any,
    List(Vec<String>),
}

/// Every setting of a node.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub redis_url: Option<String>,
    /// Seed nodes of a Redis Cluster; empty = no cluster. Exclusive with `redis_url`.
    pub redis_cluster_urls: Vec<String>,
    pub node_id: String,
    pub channel_prefix: String,
    pub subscription_mode: SubscriptionMode,
    pub engine: EngineConfig,
    pub cors: CorsOrigins,
    pub static_dir: PathBuf,
    /// Path of the Engine.IO endpoint, without its trailing slash (`/socket.io`): the endpoint
    /// answers at it and at it plus `/`.
    pub path: String,
    pub session_ttl: Duration,
    pub message_ttl: Duration,
    pub history_limit: usize,
    pub redis_timeout: Duration,
    pub drain_timeout: Duration,
    pub chat_limits: ChatLimits,
    /// How long a user whose socket dropped (for a reason that can be recovered) may take to
    /// come back before it is announced gone.
    pub presence_grace: Duration,
    pub recovery: RecoveryConfig,
    pub workers: Option<usize>,
    pub conformance: Option<Conformance>,
    /// The Admin UI's namespace; `None`: off.
    pub admin: Option<AdminConfig>,
}

/// `socket.io`, `/socket.io` and `/socket.io/` all mean `/socket.io` (as Node's engine.io
/// reads its `path` option); `/` alone becomes empty, which `validate` refuses (the chat
/// page lives there).
fn normalize_path(path: &str) -> String {
    format!("/{}", path.trim().trim_matches('/'))
        .trim_end_matches('/')
        .to_owned()
}

const DEFAULT_CONFIG_FILE: &str = "config/default.toml";

impl Settings {
    /// Resolves the settings from parsed flags (which already carry the environment).
    pub fn resolve(cli: Cli) -> Result<Settings, ConfigError> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                read_file(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => FileConfig::default(),
        };
        macro_rules! pick {
            ($field:ident, $default:expr) => {
                cli.$field
                    .clone()
                    .or(file.$field.clone())
                    .unwrap_or_else(|| $default)
            };
        }
        let mut engine = EngineConfig {
            ping_interval: Duration::from_millis(pick!(ping_interval_ms, 25_000)),
            ping_timeout: Duration::from_millis(pick!(ping_timeout_ms, 20_000)),
            max_payload: pick!(max_payload, 1_000_000),
            connect_timeout: Duration::from_millis(pick!(connect_timeout_ms, 45_000)),
            upgrade_timeout: Duration::from_millis(pick!(upgrade_timeout_ms, 10_000)),
            outbound_buffer_bytes: pick!(outbound_buffer_bytes, 4 << 20),
        };
        let mut cors = parse_cors(&pick!(cors_origins, String::new()));
        if cli.conformance.is_some() {
            // SPEC §1 fixes these for the conformance servers, whatever else is configured.
            engine.ping_interval = Duration::from_millis(300);
            engine.ping_timeout = Duration::from_millis(200);
            engine.max_payload = 1_000_000;
            engine.connect_timeout = Duration::from_millis(1000);
            cors = CorsOrigins::Any;
        }
        let node_id = pick!(node_id, chat_actors::ids::random_hex(3));
        let admin = match pick!(admin, false) {
            false => None,
            true => Some(admin_config(
                pick!(admin_namespace, "/admin".to_owned()),
                pick!(admin_username, "admin".to_owned()),
                cli.admin_password_hash
                    .clone()
                    .or(file.admin_password_hash.clone())
                    .filter(|h| !h.is_empty()),
                pick!(admin_no_auth, false),
                (
                    pick!(admin_read_only, false),
                    pick!(admin_show_events, false),
                ),
                cli.admin_server_id
                    .clone()
                    .or(file.admin_server_id.clone())
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| node_id.clone()),
            )?),
        };
        let settings = Settings {
            host: pick!(host, "0.0.0.0".to_owned()),
            port: pick!(port, 3000),
            redis_url: cli
                .redis_url
                .clone()
                .or(file.redis_url.clone())
                .filter(|u| !u.is_empty()),
            redis_cluster_urls: split_urls(
                cli.redis_cluster_urls
                    .as_deref()
                    .or(file.redis_cluster_urls.as_deref()),
            ),
            node_id,
            channel_prefix: pick!(channel_prefix, "socket.io".to_owned()),
            subscription_mode: pick!(subscription_mode, SubscriptionMode::Rooms),
            engine,
            cors,
            static_dir: pick!(static_dir, PathBuf::from("static")),
            path: normalize_path(&pick!(
                path,
                match cli.conformance {
                    Some(Conformance::Engineio) => "/engine.io/".to_owned(),
                    _ => "/socket.io/".to_owned(),
                }
            )),
            session_ttl: Duration::from_secs(pick!(session_ttl_secs, 86_400)),
            message_ttl: Duration::from_secs(pick!(message_ttl_secs, 86_400)),
            history_limit: pick!(history_limit, 1000),
            redis_timeout: Duration::from_millis(pick!(redis_timeout_ms, 2000)),
            drain_timeout: Duration::from_secs(pick!(drain_timeout_secs, 10)),
            chat_limits: ChatLimits {
                messages_per_sec: pick!(message_rate, 100.0),
                message_burst: pick!(message_burst, 200.0),
            },
            presence_grace: Duration::from_millis(pick!(presence_grace_ms, 3000)),
            recovery: RecoveryConfig {
                window: Duration::from_secs(pick!(recovery_window_secs, 120)),
                max_events: pick!(recovery_max_events, 5000),
            },
            workers: cli.workers.or(file.workers),
            conformance: cli.conformance,
            admin,
        };
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name, reason| Err(ConfigError::Invalid { name, reason });
        let e = &self.engine;
        if e.ping_interval.is_zero() || e.ping_timeout.is_zero() {
            return invalid("ping-interval-ms/ping-timeout-ms", "must be greater than 0");
        }
        if e.max_payload < 64 {
            return invalid("max-payload", "must be at least 64 bytes");
        }
        if e.connect_timeout.is_zero() || e.upgrade_timeout.is_zero() {
            return invalid(
                "connect-timeout-ms/upgrade-timeout-ms",
                "must be greater than 0",
            );
        }
        if e.outbound_buffer_bytes == 0 {
            return invalid("outbound-buffer-bytes", "must be greater than 0");
        }
        if self.history_limit == 0 {
            return invalid("history-limit", "must be greater than 0");
        }
        if self.session_ttl.is_zero() || self.message_ttl.is_zero() {
            return invalid(
                "session-ttl-secs/message-ttl-secs",
                "must be greater than 0",
            );
        }
        if self.redis_timeout.is_zero() {
            return invalid("redis-timeout-ms", "must be greater than 0");
        }
        let limits = &self.chat_limits;
        let rate_ok = limits.messages_per_sec.is_finite() && limits.messages_per_sec > 0.0;
        let burst_ok = limits.message_burst.is_finite() && limits.message_burst >= 1.0;
        if !(rate_ok && burst_ok) {
            return invalid(
                "message-rate/message-burst",
                "rate must be > 0 and burst >= 1",
            );
        }
        if self.path.is_empty() || self.path.contains(['?', '#', ' ']) {
            return invalid(
                "path",
                "must name a path below / (e.g. /socket.io/), without '?', '#' or spaces",
            );
        }
        if self.recovery.enabled() && self.recovery.max_events == 0 {
            return invalid("recovery-max-events", "must be greater than 0");
        }
        if self.workers == Some(0) {
            return invalid("workers", "must be greater than 0");
        }
        if self.node_id.is_empty() || self.node_id.contains('#') {
            return invalid("node-id", "must be non-empty and must not contain '#'");
        }
        if self.channel_prefix.is_empty() {
            return invalid("channel-prefix", "must not be empty");
        }
        if self.redis_url.is_some() && !self.redis_cluster_urls.is_empty() {
            return invalid(
                "redis-url/redis-cluster-urls",
                "give either --redis-url (one Redis) or --redis-cluster-urls (a Redis Cluster), not both",
            );
        }
        if self
            .redis_cluster_urls
            .iter()
            .any(|url| !(url.starts_with("redis://") || url.starts_with("rediss://")))
        {
            return invalid(
                "redis-cluster-urls",
                "every seed node must start with redis:// or rediss://",
            );
        }
        if !self.redis_cluster_urls.is_empty() && self.node_id.contains(['{', '}']) {
            return invalid(
                "node-id",
                "must not contain '{' or '}' on a Redis Cluster (they would pick the hash slot of our keys)",
            );
        }
        if let Some(url) = &self.redis_url {
            if !(url.starts_with("redis://")
                || url.starts_with("rediss://")
                || url.starts_with("redis+unix://")
                || url.starts_with("unix://"))
            {
                return invalid(
                    "redis-url",
                    "must start with redis://, rediss:// or unix://",
                );
            }
        }
        Ok(())
    }
}

/// The admin namespace's settings, checked: a namespace below `/`, and either a bcrypt hash or
/// the explicit choice of no authentication.
fn admin_config(
    namespace: String,
    username: String,
    password_hash: Option<String>,
    no_auth: bool,
    (read_only, show_events): (bool, bool),
    server_id: String,
) -> Result<AdminConfig, ConfigError> {
    let invalid = |name, reason| Err(ConfigError::Invalid { name, reason });
    if !namespace.starts_with('/') || namespace == "/" || namespace.contains(['#', '?', ' ']) {
        return invalid(
            "admin-namespace",
            "must be a namespace other than / (e.g. /admin), without '#', '?' or spaces",
        );
    }
    let auth = match (password_hash, no_auth) {
        (Some(_), true) => {
            return invalid(
                "admin-password-hash/admin-no-auth",
                "give either a password hash or no authentication, not both",
            )
        }
        (None, false) => return invalid(
            "admin-password-hash",
            "the admin namespace needs a bcrypt password hash (or, explicitly, --admin-no-auth)",
        ),
        (None, true) => AdminAuth::None,
        (Some(hash), false) if !AdminConfig::is_bcrypt_hash(&hash) => {
            return invalid("admin-password-hash", "must be a bcrypt hash ($2b$10$...)")
        }
        (Some(password_hash), false) => {
            if username.is_empty() {
                return invalid("admin-username", "must not be empty");
            }
            AdminAuth::Basic {
                username,
                password_hash,
            }
        }
    };
    Ok(AdminConfig {
        namespace,
        auth,
        read_only,
        server_id,
        show_events,
    })
}

/// `a, b,,c` → `["a", "b", "c"]`: a comma-separated list, blanks dropped.
fn split_urls(list: Option<&str>) -> Vec<String> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .collect()
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_owned(),
        source,
    })
}

fn parse_cors(value: &str) -> CorsOrigins {
    let value = value.trim();
    if value.is_empty() {
        CorsOrigins::SameOrigin
    } else if value == "*" {
        CorsOrigins::Any
    } else {
        CorsOrigins::List(
            value
                .split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn settings(args: &[&str]) -> Result<Settings, ConfigError> {
        let mut argv = vec!["chat-server", "--config", "/dev/null"];
        argv.extend_from_slice(args);
        Settings::resolve(Cli::try_parse_from(argv).expect("valid flags"))
    }

    #[test]
    fn defaults_and_overrides() {
        let s = settings(&["--port", "4001", "--cors-origins", "http://a, http://b"]).unwrap();
        assert_eq!(s.port, 4001);
        assert_eq!(s.engine.max_payload, 1_000_000);
        assert_eq!(
            s.cors,
            CorsOrigins::List(vec!["http://a".into(), "http://b".into()])
        );
        assert_eq!(s.channel_prefix, "socket.io");
        assert_eq!(s.subscription_mode, SubscriptionMode::Rooms);
        assert_eq!(s.node_id.len(), 6);
    }

    #[test]
    fn path_is_normalized_and_the_engineio_conformance_server_defaults_to_engine_io() {
        assert_eq!(settings(&[]).unwrap().path, "/socket.io");
        assert_eq!(settings(&["--path", "chat/io/"]).unwrap().path, "/chat/io");
        assert_eq!(
            settings(&["--conformance", "engineio"]).unwrap().path,
            "/engine.io"
        );
        assert_eq!(
            settings(&["--conformance", "socketio"]).unwrap().path,
            "/socket.io"
        );
        assert!(settings(&["--path", "/"]).is_err());
        assert!(settings(&["--path", "/a?b"]).is_err());
    }

    #[test]
    fn subscription_mode_from_flag_and_file() {
        let s = settings(&["--subscription-mode", "pattern"]).unwrap();
        assert_eq!(s.subscription_mode, SubscriptionMode::Pattern);
        let file: FileConfig = toml::from_str(r#"subscription_mode = "pattern""#).unwrap();
        assert_eq!(file.subscription_mode, Some(SubscriptionMode::Pattern));
        assert!(toml::from_str::<FileConfig>(r#"subscription_mode = "both""#).is_err());
        assert!(Cli::try_parse_from(["chat-server", "--subscription-mode", "both"]).is_err());
    }

    #[test]
    fn redis_cluster_urls_are_a_list_exclusive_with_redis_url() {
        let s = settings(&["--redis-cluster-urls", "redis://a:7000, redis://b:7001,"]).unwrap();
        assert_eq!(s.redis_cluster_urls, ["redis://a:7000", "redis://b:7001"]);
        assert!(settings(&[]).unwrap().redis_cluster_urls.is_empty());
        let both = settings(&[
            "--redis-url",
            "redis://x",
            "--redis-cluster-urls",
            "redis://a:7000",
        ]);
        match both {
            Err(ConfigError::Invalid { name, .. }) => {
                assert_eq!(name, "redis-url/redis-cluster-urls")
            }
            other => panic!("both accepted: {other:?}"),
        }
        assert!(settings(&["--redis-cluster-urls", "http://a"]).is_err());
        assert!(settings(&["--redis-cluster-urls", "redis://a", "--node-id", "n{1}"]).is_err());
    }

    #[test]
    fn conformance_fixes_timers() {
        let s = settings(&["--conformance", "socketio", "--ping-interval-ms", "9"]).unwrap();
        assert_eq!(s.engine.ping_interval, Duration::from_millis(300));
        assert_eq!(s.engine.connect_timeout, Duration::from_millis(1000));
        assert_eq!(s.cors, CorsOrigins::Any);
    }

    #[test]
    fn refuses_bad_values() {
        assert!(settings(&["--max-payload", "0"]).is_err());
        assert!(settings(&["--history-limit", "0"]).is_err());
        assert!(settings(&["--redis-url", "http://x"]).is_err());
        assert!(settings(&["--recovery-max-events", "0"]).is_err());
    }

    #[test]
    fn presence_grace_three_seconds_by_default_and_zero_when_asked() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.presence_grace, Duration::from_millis(3000));
        let off = settings(&["--presence-grace-ms", "0"]).unwrap();
        assert_eq!(off.presence_grace, Duration::ZERO);
    }

    #[test]
    fn recovery_on_by_default_and_off_with_a_zero_window() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.recovery.window, Duration::from_secs(120));
        assert_eq!(s.recovery.max_events, 5000);
        let off = settings(&["--recovery-window-secs", "0"]).unwrap();
        assert!(!off.recovery.enabled());
    }

    #[test]
    fn admin_is_off_unless_asked_and_needs_a_hash_or_no_auth() {
        assert!(settings(&[]).expect("defaults").admin.is_none());
        let hash = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS";
        let on = settings(&["--admin", "--admin-password-hash", hash]).expect("admin");
        let admin = on.admin.expect("on");
        assert_eq!(admin.namespace, "/admin");
        assert_eq!(admin.server_id, on.node_id);
        assert!(!admin.read_only && !admin.show_events);
        assert!(matches!(admin.auth, AdminAuth::Basic { ref username, .. } if username == "admin"));
        let open = settings(&["--admin", "--admin-no-auth", "--admin-read-only"]).expect("open");
        let admin = open.admin.expect("on");
        assert_eq!(admin.auth, AdminAuth::None);
        assert!(admin.read_only);
        assert!(settings(&["--admin"]).is_err(), "no auth chosen");
        assert!(settings(&["--admin", "--admin-password-hash", "plain"]).is_err());
        assert!(settings(&["--admin", "--admin-no-auth", "--admin-password-hash", hash]).is_err());
        assert!(settings(&["--admin", "--admin-no-auth", "--admin-namespace", "/"]).is_err());
        assert!(
            settings(&["--admin=false", "--admin-password-hash", "plain"])
                .expect("off")
                .admin
                .is_none()
        );
    }
}
