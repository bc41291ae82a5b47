//! The one connection to Redis that all store operations share: multiplexed, created without
//! touching the network, healing itself, and never letting a caller wait longer than a bound.
//!
//! Why these choices:
//! - A node must start and serve local chat while Redis is unreachable, so constructing a
//!   [`RedisConnection`] only parses the URL; the TCP connection is opened by the first command.
//! - [`ConnectionManager`] replaces a broken connection by itself. It is configured not to retry
//!   in a backoff loop: while Redis is down each command makes one connection attempt and fails
//!   at once (a refused connection costs microseconds) instead of queueing behind a backoff, and
//!   the first command after Redis returns reconnects.
//! - Every command is bounded by a timeout so that a Redis that accepts connections but does not
//!   answer (paused, overloaded, network black hole) turns into [`StoreError::Timeout`], never
//!   into a chat message waiting forever for its acknowledgement.
//! - The manager is built inside the first command, not in [`RedisConnection::new`], because it
//!   spawns tasks and therefore needs the async runtime; this keeps the constructor usable from
//!   plain configuration code.
//! - On a Redis Cluster (`--redis-cluster-urls`) the same handle wraps the redis crate's async
//!   cluster connection instead, which discovers the topology from the seed nodes, follows
//!   `MOVED`/`ASK` and reconnects by itself. Callers see one API; the few things that differ on a
//!   cluster (no cross-slot transaction, `SPUBLISH` instead of `PUBLISH`) are asked of
//!   [`RedisConnection::is_cluster`]. If the first connection fails (no seed answers), the next
//!   command tries again, as with a single Redis.
//! - An `ASK` redirection (a slot being migrated: the key is already on the importing master)
//!   is followed by the crate with an `ASKING` and then the command, two separate writes on the
//!   importing master's multiplexed connection: a command of another caller sent in between
//!   takes the one-shot `ASKING` flag, the importing master then answers `MOVED` back to the
//!   migrating one, which answers `ASK` again, until the crate's retries are spent and the
//!   caller gets the `ASK` (under traffic, a few percent of the writes to a migrating slot were
//!   refused that way). A transaction (`MULTI` … `EXEC`, a session save) whose commands were
//!   answered `ASK` or `MOVED` is not redirected at all: its `EXEC` fails with `EXECABORT`.
//!   So when a request still ends in `ASK` or `MOVED`, or in a transaction aborted by one, it
//!   is sent again to the master named, as one pipeline: `ASKING` (after an `ASK`) + the
//!   request (`MULTI` … `EXEC` for a transaction, during which Redis keeps the flag): one
//!   write, which nothing can split. A redirected request did not run, so resending it cannot
//!   run it twice.

use crate::store::StoreError;
use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::cluster::{ClusterClient, ClusterClientBuilder};
use ::redis::cluster_async::ClusterConnection;
use ::redis::cluster_routing::SingleNodeRoutingInfo;
use ::redis::{Client, Cmd, FromRedisValue, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// A cheap-to-clone handle on the shared Redis connection.
#[derive(Clone, Debug)]
pub struct RedisConnection {
    inner: Arc<Shared>,
}

struct Shared {
    target: Target,
    manager: OnceCell<Connected>,
    timeout: Duration,
    round_trips: Arc<AtomicU64>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("cluster", &matches!(self.target, Target::Cluster(_)))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Where the commands go.
enum Target {
    Single(Client),
    Cluster(Box<ClusterClient>),
}

/// The live connection, built by the first command.
#[derive(Clone)]
enum Connected {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// Whether a request may be sent a second time when the connection broke under it. The
/// second attempt goes over the freshly re-established connection, so a Redis restart costs no
/// failed operation; it stays within the same timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Running the request twice has the effect of running it once (reads, `HSET` + `EXPIRE`):
    /// resend once after any error that made the connection be replaced.
    Safe,
    /// Running it twice would duplicate data (`RPUSH`): resend only when the first attempt
    /// certainly never reached Redis (the connection was refused).
    OnlyIfUnsent,
}

impl Replay {
    fn allows_resend_after(self, error: &RedisError) -> bool {
        match self {
            Replay::Safe => error.is_unrecoverable_error(),
            Replay::OnlyIfUnsent => error.is_connection_refusal(),
        }
    }
}

/// What can be sent: a single command or a pipeline (possibly a `MULTI` transaction).
#[derive(Clone, Copy)]
enum Request<'a> {
    Command(&'a Cmd),
    Pipeline(&'a Pipeline),
}

impl RedisConnection {
    /// Default bound on one operation, connection attempt included.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// A handle on the Redis at `url` (`redis://host:port/db`). Does not connect: fails only
    /// when the URL cannot be parsed. `timeout` bounds every operation.
    pub fn new(url: &str, timeout: Duration) -> Result<RedisConnection, StoreError> {
        let client = Client::open(url)
            .map_err(|e| StoreError::Redis(format!("invalid redis url {url:?}: {e}")))?;
        Ok(Self::with_target(Target::Single(client), timeout))
    }

    /// A handle on the Redis Cluster whose seed nodes are `urls`. Does not connect: fails only
    /// when a URL cannot be parsed or the list is empty.
    pub fn new_cluster(urls: &[String], timeout: Duration) -> Result<RedisConnection, StoreError> {
        let client = cluster_client(urls, timeout, None)?;
        Ok(Self::with_target(
            Target::Cluster(Box::new(client)),
            timeout,
        ))
    }

    fn with_target(target: Target, timeout: Duration) -> RedisConnection {
        RedisConnection {
            inner: Arc::new(Shared {
                target,
                manager: OnceCell::new(),
                timeout,
                round_trips: Arc::new(AtomicU64::new(0)),
            }),
        }
    }

    /// Whether this is a Redis Cluster: no transaction may span two hash slots, and pub/sub is
    /// sharded (`SPUBLISH`, `SSUBSCRIBE`, `PUBSUB SHARDNUMSUB`).
    pub fn is_cluster(&self) -> bool {
        matches!(self.inner.target, Target::Cluster(_))
    }

    /// `PUBLISH`, or `SPUBLISH` on a cluster.
    pub fn publish_command(&self) -> &'static str {
        if self.is_cluster() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }

    /// Publishes every message of `batch` (`parts` gives its channel and payload) in order: one pipeline of `PUBLISH`es on one
    /// Redis; on a cluster, where a pipeline may only touch one slot, each `SPUBLISH` alone to
    /// its channel's shard, all at once (the cluster connection keeps their order per shard,
    /// hence per channel, which is the order that matters: one conversation is one channel).
    /// A publication sent twice would deliver twice: only what surely never left is resent.
    pub async fn publish_all<T>(
        &self,
        batch: &[T],
        parts: impl Fn(&T) -> (&str, &[u8]),
    ) -> Result<(), StoreError> {
        if self.is_cluster() {
            let sends = batch.iter().map(|message| {
                let (channel, payload) = parts(message);
                let mut spublish = ::redis::cmd("SPUBLISH");
                spublish.arg(channel).arg(payload);
                async move { self.query::<()>(&spublish, Replay::OnlyIfUnsent).await }
            });
            return futures_util::future::try_join_all(sends).await.map(|_| ());
        }
        let mut pipeline = ::redis::pipe();
        for message in batch {
            let (channel, payload) = parts(message);
            pipeline.cmd("PUBLISH").arg(channel).arg(payload).ignore();
        }
        self.query_pipeline::<()>(&pipeline, Replay::OnlyIfUnsent)
            .await
    }

    /// The `PUBSUB` subcommand counting a channel's subscribers: `NUMSUB`, or `SHARDNUMSUB` on a
    /// cluster (summed over every node by the cluster connection).
    pub fn numsub_subcommand(&self) -> &'static str {
        if self.is_cluster() {
            "SHARDNUMSUB"
        } else {
            "NUMSUB"
        }
    }

    /// The bound on every operation.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// How many requests (a transaction counts once) were sent to Redis so far, resends included.
    pub fn round_trips(&self) -> u64 {
        self.inner.round_trips.load(Ordering::Relaxed)
    }

    /// The counter behind [`RedisConnection::round_trips`], for a metrics registry to read.
    pub fn round_trip_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.inner.round_trips)
    }

    /// One `PING`: whether Redis answers right now (for `/health`). Also (re)connects.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let reply: String = self.query(&::redis::cmd("PING"), Replay::Safe).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Redis(format!(
                "unexpected PING reply {reply:?}"
            )))
        }
    }

    /// The cluster connection (connecting if needed), for per-shard diagnostics
    /// (`shards.rs`); `None` on a single Redis or when no seed node answers.
    pub(super) async fn cluster_connection(&self) -> Option<ClusterConnection> {
        let connect = tokio::time::timeout(self.inner.timeout, self.manager());
        match connect.await {
            Ok(Ok(Connected::Cluster(conn))) => Some(conn.clone()),
            _ => None,
        }
    }

    /// Sends one command and converts its reply.
    pub async fn query<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        replay: Replay,
    ) -> Result<T, StoreError> {
        self.run(Request::Command(cmd), replay).await
    }

    /// Sends a pipeline (a transaction when built with `.atomic()`) and converts its replies.
    pub async fn query_pipeline<T: FromRedisValue>(
        &self,
        pipeline: &Pipeline,
        replay: Replay,
    ) -> Result<T, StoreError> {
        self.run(Request::Pipeline(pipeline), replay).await
    }

    async fn run<T: FromRedisValue>(
        &self,
        request: Request<'_>,
        replay: Replay,
    ) -> Result<T, StoreError> {
        let attempts = async {
            let mut manager = self.manager().await?.clone();
            match self.send(&mut manager, request).await {
                Err(error) if replay.allows_resend_after(&error) => {
                    log::debug!("redis connection replaced ({error}); resending once");
                    self.send(&mut manager, request).await
                }
                result => result,
            }
        };
        let attempts = async {
            let mut result = attempts.await;
            for _ in 0..ASK_FOLLOWS {
                let (Err(error), Connected::Cluster(conn)) = (&result, self.manager().await?)
                else {
                    break;
                };
                let Some((target, asking)) = ask_target(error) else {
                    break;
                };
                let mut asking = Asking {
                    conn: conn.clone(),
                    target,
                    asking,
                };
                result = self.send_to(&mut asking, request).await;
            }
            result
        };
        let result = match tokio::time::timeout(self.inner.timeout, attempts).await {
            Ok(result) => result.map_err(store_error),
            Err(_elapsed) => Err(StoreError::Timeout),
        };
        let kind = match &result {
            Ok(_) => None,
            // Expected once per script and Redis: `run_script` then sends the body.
            Err(StoreError::NoScript) => None,
            Err(StoreError::Timeout) => Some("timeout"),
            Err(_) => Some("error"),
        };
        if let Some(kind) = kind {
            crate::metrics::METRICS
                .redis_errors
                .with_label_values(&[kind])
                .inc();
        }
        result
    }

    async fn send<T: FromRedisValue>(
        &self,
        connected: &mut Connected,
        request: Request<'_>,
    ) -> RedisResult<T> {
        match connected {
            Connected::Single(c) => self.send_to(c, request).await,
            Connected::Cluster(c) => self.send_to(c, request).await,
        }
    }

    async fn send_to<T: FromRedisValue>(
        &self,
        conn: &mut impl ConnectionLike,
        request: Request<'_>,
    ) -> RedisResult<T> {
        self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
        crate::metrics::METRICS.redis_round_trips.inc();
        match request {
            Request::Command(cmd) => cmd.query_async(conn).await,
            Request::Pipeline(pipeline) => pipeline.query_async(conn).await,
        }
    }

    /// The connection, built on first use (see the module documentation for why).
    async fn manager(&self) -> RedisResult<&Connected> {
        self.inner
            .manager
            .get_or_try_init(|| async {
                match &self.inner.target {
                    Target::Single(client) => {
                        let config = ConnectionManagerConfig::new()
                            .set_number_of_retries(0)
                            .set_connection_timeout(Some(self.inner.timeout))
                            .set_response_timeout(Some(self.inner.timeout));
                        ConnectionManager::new_lazy_with_config(client.clone(), config)
                            .map(Connected::Single)
                    }
                    Target::Cluster(client) => {
                        client.get_async_connection().await.map(Connected::Cluster)
                    }
                }
            })
            .await
    }
}

/// How many times a request still answered `ASK` or `MOVED` is sent to the master named (the
/// slot may finish moving, or move on, in between; a `MOVED` back to the migrating master is
/// answered `ASK` again).
const ASK_FOLLOWS: usize = 3;

/// Where an `ASK` error sends the request (`asking`), or a `MOVED` (the last answer of the
/// crate's retries when the importing master, its `ASKING` lost, sent the request back), also
/// inside an aborted transaction, which the crate does not follow (the `EXEC` answers
/// `EXECABORT` with the queued commands' redirections).
fn ask_target(error: &RedisError) -> Option<(SingleNodeRoutingInfo, bool)> {
    use ::redis::{ErrorKind, ServerErrorKind};
    let (detail, asking) = match error.kind() {
        ErrorKind::Server(ServerErrorKind::Ask) => (error.detail()?.to_owned(), true),
        ErrorKind::Server(ServerErrorKind::Moved) => (error.detail()?.to_owned(), false),
        ErrorKind::Server(ServerErrorKind::ExecAbort) => {
            let errors = error.clone().into_server_errors()?;
            let (_, redirect) = errors.iter().find(|(_, e)| {
                matches!(
                    e.kind(),
                    Some(ServerErrorKind::Ask | ServerErrorKind::Moved)
                )
            })?;
            let asking = redirect.kind() == Some(ServerErrorKind::Ask);
            (redirect.details()?.to_owned(), asking)
        }
        _ => return None,
    };
    // "<slot> <host>:<port>"
    let address = detail.split_ascii_whitespace().nth(1)?;
    let (host, port) = address.rsplit_once(':')?;
    let target = SingleNodeRoutingInfo::ByAddress {
        host: host.to_owned(),
        port: port.parse().ok()?,
    };
    Some((target, asking))
}

/// The cluster connection, as seen by one request that was redirected: every request goes to
/// the master named as one pipeline, `ASKING` first after an `ASK` (see the module
/// documentation).
struct Asking {
    conn: ClusterConnection,
    target: SingleNodeRoutingInfo,
    asking: bool,
}

impl Asking {
    /// `ASKING` (when asking), then `commands` (wrapped in `MULTI` … `EXEC` for a transaction).
    fn pipeline<'a>(&self, commands: impl Iterator<Item = &'a Cmd>, transaction: bool) -> Pipeline {
        let mut pipeline = ::redis::pipe();
        if self.asking {
            pipeline.cmd("ASKING");
        }
        if transaction {
            pipeline.cmd("MULTI");
        }
        for cmd in commands {
            pipeline.add_command(cmd.clone());
        }
        if transaction {
            pipeline.cmd("EXEC");
        }
        pipeline
    }
}

impl ConnectionLike for Asking {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let pipeline = self.pipeline(std::iter::once(cmd), false);
        let skip = usize::from(self.asking);
        Box::pin(async move {
            let mut replies = self
                .conn
                .route_pipeline(pipeline, skip, 1, self.target.clone())
                .await?;
            replies
                .pop()
                .ok_or_else(|| RedisError::from((::redis::ErrorKind::Client, "no reply")))
        })
    }

    /// `offset` skips the replies the caller does not want (a transaction's `OK` and
    /// `QUEUED`s); one more skips the `ASKING`'s.
    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let redirected = self.pipeline(pipeline.cmd_iter(), pipeline.is_transaction());
        let skip = offset + usize::from(self.asking);
        Box::pin(async move {
            self.conn
                .route_pipeline(redirected, skip, count, self.target.clone())
                .await
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}

/// A cluster client on the seed nodes `urls`, every node connection bounded by `timeout`.
/// With `push`, the connections speak RESP3 and hand every push message (sharded messages,
/// disconnections) to it: the bridge's subscriber uses one of its own.
pub(crate) fn cluster_client(
    urls: &[String],
    timeout: Duration,
    push: Option<tokio::sync::mpsc::UnboundedSender<::redis::PushInfo>>,
) -> Result<ClusterClient, StoreError> {
    let invalid =
        |e: RedisError| StoreError::Redis(format!("invalid redis cluster urls {urls:?}: {e}"));
    let mut builder = ClusterClientBuilder::new(urls.iter().map(String::as_str))
        .connection_timeout(timeout)
        .response_timeout(timeout)
        // A command fails within our own bound rather than retrying for long: during a
        // failover the caller (an ack, a heartbeat) is better told at once.
        .retries(2);
    if let Some(push) = push {
        builder = builder
            .use_protocol(::redis::ProtocolVersion::RESP3)
            .push_sender(push);
    }
    builder.build().map_err(invalid)
}

fn store_error(error: RedisError) -> StoreError {
    if error.is_timeout() {
        StoreError::Timeout
    } else if error.kind() == ::redis::ErrorKind::Server(::redis::ServerErrorKind::NoScript) {
        StoreError::NoScript
    } else {
        StoreError::Redis(error.to_string())
    }
}
