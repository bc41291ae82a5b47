//! One node of the chat, assembled: its stores, its hub, and, with Redis, its part in the
//! cluster (bridge, presence's membership, liveness and reaper). This is the only place that
//! knows both the hub and the cluster: each talks to the other through a port of its own
//! ([`ClusterPort`](crate::hub::ClusterPort), [`LocalNode`](crate::cluster::LocalNode)), and
//! the two adapters here (`hub_port.rs`, `local_node.rs`) join them. Both sides are built
//! together, before the hub starts, so neither waits for the other to be set later.

mod hub_port;
mod local_node;

use self::hub_port::BridgePort;
use self::local_node::HubNode;
use crate::admin::{admin_channel, AdminCluster, AdminConfig, AdminHub, AdminServices, Directory};
use crate::chat::{ChatLimits, ChatServices};
use crate::cluster::{self, ClusterConfig, Listener, RedisBridge};
use crate::hub::{ChatHub, ClusterPort, Delivery, SingleNode};
use crate::presence::{
    heartbeat_channel, keys, learn_at_start, watch_redis, DeadNodeReaper, LivenessConfig,
    Membership, NodeLiveness,
};
use crate::recovery::{RecoveryConfig, RecoveryServices, SharedRecovery};
use crate::store::{
    MemoryMessages, MemorySessions, MessageBackend, MessageStore, RedisConnection, RedisMessages,
    RedisSessions, SessionBackend, SessionStore,
};
use actix::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// How often a node checks whether Redis lost its data (restarted empty, flushed).
const REDIS_CHECK_EVERY: Duration = Duration::from_secs(2);

/// What a node is made of.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub session_ttl: Duration,
    pub message_ttl: Duration,
    /// Messages kept per user, oldest dropped first.
    pub history_limit: usize,
    pub limits: ChatLimits,
    pub recovery: RecoveryConfig,
    /// How long a user whose socket dropped for a reason that can be recovered may take to
    /// come back before it is announced gone (zero: at once).
    pub presence_grace: Duration,
    /// With Redis: how the node takes part in the cluster.
    pub cluster: Option<ClusterConfig>,
    pub liveness: LivenessConfig,
    /// The admin namespace for the Socket.IO Admin UI; `None`: off.
    pub admin: Option<AdminConfig>,
}

/// The admin hub of a node, before it starts (its address is known, so that the cluster
/// can be joined with it).
struct AdminStart {
    context: Context<AdminHub>,
    directory: Arc<Directory>,
    config: AdminConfig,
    cluster: Option<AdminCluster>,
}

/// A running node.
pub struct Node {
    /// What every chat connection of the node shares.
    pub services: Arc<ChatServices>,
    /// With Redis: the bridge to the other nodes.
    pub bridge: Option<Addr<RedisBridge>>,
    /// With Redis: what this node knows of its peers.
    pub membership: Option<Addr<Membership>>,
}

/// Starts a node on the current actix system: stores over `redis` when given (else in
/// memory), the hub, and with `config.cluster` its part in the cluster. A cluster that cannot
/// start (an unparsable URL, which the connection would have refused already) is logged and
/// the node runs alone.
pub fn start(config: NodeConfig, redis: Option<RedisConnection>) -> Node {
    let (session_backend, history): (Box<dyn SessionBackend>, Arc<dyn MessageBackend>) =
        match redis.clone() {
            Some(conn) => (
                Box::new(RedisSessions::new(
                    conn.clone(),
                    config.session_ttl.as_secs(),
                )),
                Arc::new(RedisMessages::new(
                    conn,
                    config.message_ttl.as_secs(),
                    config.history_limit,
                )),
            ),
            None => (
                Box::new(MemorySessions::default()),
                Arc::new(MemoryMessages::new(config.history_limit)),
            ),
        };
    let sessions = SessionStore::new(session_backend).start();
    let messages = MessageStore::new(history.clone()).start();
    let on_cluster = redis.as_ref().is_some_and(RedisConnection::is_cluster);
    let delivery = if on_cluster {
        Delivery::tracking_recent(config.recovery)
    } else {
        Delivery::new(config.recovery)
    };
    // With Redis, parked sockets and broadcasts to everyone are shared, so that a client can
    // recover on any node.
    let shared = redis
        .clone()
        .filter(|_| config.recovery.enabled())
        .map(|conn| SharedRecovery::new(conn, config.recovery.window));
    let hub_context: Context<ChatHub> = Context::new();
    let hub = hub_context.address();
    let mut admin = config.admin.clone().map(|config| AdminStart {
        context: Context::new(),
        directory: Arc::default(),
        config,
        cluster: None,
    });
    let port: Arc<dyn ClusterPort> = match (redis, &config.cluster) {
        (Some(conn), Some(cluster)) => {
            let joined = join_cluster(
                cluster,
                config.liveness,
                conn,
                (&hub, &sessions, &delivery),
                admin.as_mut(),
            );
            match joined {
                Ok((port, bridge, membership)) => {
                    return finish(
                        hub_context,
                        Parts {
                            config,
                            sessions,
                            messages,
                            history,
                            delivery,
                            shared,
                            admin,
                        },
                        Arc::new(port),
                        (Some(bridge), Some(membership)),
                    );
                }
                Err(e) => {
                    log::error!("cross-node bridge not started: {e}");
                    Arc::new(SingleNode)
                }
            }
        }
        _ => Arc::new(SingleNode),
    };
    finish(
        hub_context,
        Parts {
            config,
            sessions,
            messages,
            history,
            delivery,
            shared,
            admin,
        },
        port,
        (None, None),
    )
}

/// What a node is built from, gathered before the hub starts.
struct Parts {
    config: NodeConfig,
    sessions: Addr<SessionStore>,
    messages: Addr<MessageStore>,
    history: Arc<dyn MessageBackend>,
    delivery: Arc<Delivery>,
    shared: Option<SharedRecovery>,
    admin: Option<AdminStart>,
}

/// Starts the hub with its cluster port, and gathers what the connections share.
fn finish(
    hub_context: Context<ChatHub>,
    parts: Parts,
    port: Arc<dyn ClusterPort>,
    (bridge, membership): (Option<Addr<RedisBridge>>, Option<Addr<Membership>>),
) -> Node {
    let Parts {
        config,
        sessions,
        messages,
        history,
        delivery,
        shared,
        admin,
    } = parts;
    let hub = hub_context.address();
    let admin = admin.map(|admin| {
        let services = Arc::new(AdminServices {
            config: admin.config.clone(),
            hub: admin.context.address(),
            directory: admin.directory.clone(),
            sessions: Default::default(),
        });
        admin.context.run(AdminHub::new(
            admin.config,
            admin.directory,
            bridge.clone(),
            admin.cluster,
        ));
        services
    });
    let node = Node {
        services: Arc::new(ChatServices {
            hub: hub.clone(),
            delivery: delivery.clone(),
            cluster: port.clone(),
            sessions: sessions.clone(),
            messages: messages.clone(),
            history,
            limits: config.limits,
            known_users: Default::default(),
            recovery: RecoveryServices {
                config: config.recovery,
                shared: shared.clone(),
                park: hub.clone().recipient(),
                restore: hub.clone().recipient(),
                rejoin: hub.clone().recipient(),
                messages: messages.clone(),
                sessions: sessions.clone(),
            },
            admin,
        }),
        bridge,
        membership,
    };
    hub_context.run(ChatHub::new(
        sessions,
        delivery,
        port,
        (config.recovery, shared),
        config.presence_grace,
    ));
    node
}

/// This node's part in the cluster: the bridge, presence's membership, liveness and reaper,
/// and the port the hub reaches them by.
fn join_cluster(
    config: &ClusterConfig,
    liveness: LivenessConfig,
    conn: RedisConnection,
    (hub, sessions, delivery): (&Addr<ChatHub>, &Addr<SessionStore>, &Arc<Delivery>),
    admin: Option<&mut AdminStart>,
) -> Result<(BridgePort, Addr<RedisBridge>, Addr<Membership>), cluster::BridgeError> {
    let sharded = config.is_sharded();
    let instance = keys::new_instance(&config.node_id, sharded);
    let heartbeat = heartbeat_channel(&config.channel_prefix, sharded);
    let membership = Membership::new(&instance, conn.clone(), hub.clone(), liveness).start();
    let mut local = HubNode {
        delivery: delivery.clone(),
        sessions: sessions.clone(),
        admin: None,
        histories: sharded.then(|| conn.clone()),
    };
    let mut listeners = vec![Listener {
        channel: heartbeat.clone(),
        inbound: membership.clone().recipient(),
        changes: membership.clone().recipient(),
    }];
    if let Some(admin) = admin {
        let hub = admin.context.address();
        local.admin = Some((admin.directory.clone(), hub.clone().recipient()));
        // The admin channels are classic pub/sub: on a Redis Cluster the dashboards watch
        // their own node (and fetch every node's sockets through the bridge).
        if !sharded {
            let namespace = admin.config.namespace.clone();
            listeners.push(Listener {
                channel: admin_channel(&config.channel_prefix, &namespace),
                inbound: hub.clone().recipient(),
                changes: hub.recipient(),
            });
            admin.cluster = Some(AdminCluster {
                conn: conn.clone(),
                uid: config.node_id.clone(),
                prefix: config.channel_prefix.clone(),
                namespace,
            });
        }
    }
    let joined = cluster::start(config, Box::new(local), conn.clone(), listeners)?;
    let node_liveness = NodeLiveness::new(
        instance.clone(),
        config.node_id.clone(),
        conn.clone(),
        liveness,
        heartbeat,
    )
    .start();
    // On a cluster both ask every master (`run_id`s, one SCAN each).
    watch_redis(conn.clone(), hub.clone(), REDIS_CHECK_EVERY);
    learn_at_start(conn.clone());
    // It runs a timer, which keeps it alive for the life of the node.
    DeadNodeReaper::new(
        instance,
        conn.clone(),
        hub.clone(),
        sessions.clone(),
        (joined.bridge.clone(), membership.clone()),
        liveness,
    )
    .start();
    let port = BridgePort {
        bridge: joined.bridge.clone(),
        membership: membership.clone(),
        conn,
        rooms: joined.rooms,
        liveness: node_liveness.clone().recipient(),
        stop_heartbeat: node_liveness.recipient(),
    };
    Ok((port, joined.bridge, membership))
}
