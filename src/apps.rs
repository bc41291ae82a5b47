//! The three things the binary can serve on its connections (the chat, or one of the
//! conformance servers of `--conformance`), and how each starts.

use crate::config::{Settings, SubscriptionMode};
use chat_actors::chat::{ChatServices, ChatSocket};
use chat_actors::cluster::{self, ClusterConfig};
use chat_actors::conformance::{EngineEcho, SocketIoConformance};
use chat_actors::connection::SocketApp;
use chat_actors::hub::ChatHub;
use chat_actors::node::{self, NodeConfig};
use chat_actors::presence::Membership;
use chat_actors::store::RedisConnection;
use std::sync::Arc;

/// What the HTTP layer and the drain reach besides the connections: the chat's hub (a drain
/// waits for its presence questions) and, in a cluster, its membership (`/health` lists the
/// peers). Empty for the conformance servers.
#[derive(Default)]
pub struct NodeHandles {
    pub hub: Option<actix::Addr<ChatHub>>,
    pub membership: Option<actix::Addr<Membership>>,
}

/// A [`SocketApp`] the binary can start.
pub trait Served: SocketApp {
    /// What every connection will share, started on the calling (first worker's) thread.
    fn start(settings: &Settings, redis: Option<RedisConnection>) -> (Self::Shared, NodeHandles);
}

impl Served for EngineEcho {
    fn start(_: &Settings, _: Option<RedisConnection>) -> ((), NodeHandles) {
        ((), NodeHandles::default())
    }
}

impl Served for SocketIoConformance {
    fn start(_: &Settings, _: Option<RedisConnection>) -> ((), NodeHandles) {
        ((), NodeHandles::default())
    }
}

impl Served for ChatSocket {
    fn start(
        settings: &Settings,
        redis: Option<RedisConnection>,
    ) -> (Arc<ChatServices>, NodeHandles) {
        let started = node::start(node_config(settings), redis);
        let handles = NodeHandles {
            hub: Some(started.services.hub.clone()),
            membership: started.membership,
        };
        (started.services, handles)
    }
}

/// The node's part of the settings.
fn node_config(settings: &Settings) -> NodeConfig {
    let clustered = settings.redis_url.is_some() || !settings.redis_cluster_urls.is_empty();
    let cluster = clustered.then(|| ClusterConfig {
        redis_timeout: settings.redis_timeout,
        subscription_mode: match settings.subscription_mode {
            SubscriptionMode::Pattern => cluster::SubscriptionMode::Pattern,
            SubscriptionMode::Rooms => cluster::SubscriptionMode::Rooms,
        },
        cluster_urls: settings.redis_cluster_urls.clone(),
        ..ClusterConfig::new(
            settings.redis_url.as_deref().unwrap_or_default(),
            &settings.node_id,
            &settings.channel_prefix,
        )
    });
    NodeConfig {
        session_ttl: settings.session_ttl,
        message_ttl: settings.message_ttl,
        history_limit: settings.history_limit,
        limits: settings.chat_limits,
        recovery: settings.recovery,
        presence_grace: settings.presence_grace,
        cluster,
        liveness: Default::default(),
        admin: settings.admin.clone(),
    }
}
