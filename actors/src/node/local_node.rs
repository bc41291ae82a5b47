//! The cluster's port to this node over the hub: other nodes' broadcasts are delivered to the
//! hub's local sockets (and their presence events teach the user directory about users of Node
//! nodes, `crate::presence::learn_from_remote`); their questions are answered by the hub.

use crate::cluster::{LocalNode, SocketRooms};
use crate::event::OutboundEvent;
use crate::hub::{ChatHub, LocalRooms, LocalSocketDetails, LocalSockets, RemoteBroadcast};
use crate::presence::learn_from_remote;
use crate::store::SessionStore;
use actix::Addr;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::sync::Arc;

pub struct HubNode {
    pub hub: Addr<ChatHub>,
    pub sessions: Addr<SessionStore>,
}

impl LocalNode for HubNode {
    fn deliver(&self, rooms: Vec<String>, except: Vec<String>, event: Arc<OutboundEvent>) {
        learn_from_remote(&self.sessions, &event.data);
        self.hub.do_send(RemoteBroadcast {
            rooms,
            except,
            event,
        });
    }

    fn sockets(&self, rooms: Vec<String>) -> BoxFuture<'static, Option<Vec<String>>> {
        self.hub
            .send(LocalSockets { rooms })
            .map(Result::ok)
            .boxed()
    }

    fn rooms(&self) -> BoxFuture<'static, Option<Vec<String>>> {
        self.hub.send(LocalRooms).map(Result::ok).boxed()
    }

    fn socket_details(
        &self,
        rooms: Vec<String>,
        except: Vec<String>,
    ) -> BoxFuture<'static, Option<SocketRooms>> {
        self.hub
            .send(LocalSocketDetails { rooms, except })
            .map(Result::ok)
            .boxed()
    }
}
