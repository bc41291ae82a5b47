//! The cluster's port to this node: other nodes' broadcasts are delivered from the bridge's
//! thread straight into the local recipients' outboxes (the hub's routing table, no hop to the
//! hub), and their presence events teach the user directory about users of Node nodes
//! (`crate::presence::learn_from_remote`); their questions about local sockets are answered
//! from the same table.

use crate::admin::{AdminOrder, Directory, RemoteRequest};
use crate::cluster::{Describer, LocalNode, SocketRooms};
use crate::event::OutboundEvent;
use crate::hub::{local_socket_details, Delivery};
use crate::presence::learn_from_remote;
use crate::store::SessionStore;
use actix::{Addr, Recipient};
use futures_util::future::{ready, BoxFuture};
use futures_util::FutureExt;
use std::sync::Arc;

pub struct HubNode {
    pub delivery: Arc<Delivery>,
    pub sessions: Addr<SessionStore>,
    /// With an admin namespace: the sockets' details and the hub applying remote commands.
    pub admin: Option<(Arc<Directory>, Recipient<RemoteRequest>)>,
}

impl LocalNode for HubNode {
    fn deliver(&self, rooms: Vec<String>, except: Vec<String>, event: Arc<OutboundEvent>) {
        self.delivery.deliver(&rooms, &except, &event);
        if let Some((directory, _)) = &self.admin {
            let extra = directory.extra_targets(&rooms, &except);
            if !extra.is_empty() {
                let data = Arc::new(event.data().clone());
                for order in extra {
                    order.do_send(AdminOrder::Emit {
                        nsp: "/".to_owned(),
                        data: data.clone(),
                    });
                }
            }
        }
        learn_from_remote(&self.sessions, event.data());
    }

    fn sockets(&self, rooms: Vec<String>) -> BoxFuture<'static, Option<Vec<String>>> {
        let sockets = self
            .delivery
            .routes()
            .select(&rooms, &[])
            .into_iter()
            .map(|(id, _)| id.to_owned())
            .collect();
        ready(Some(sockets)).boxed()
    }

    fn rooms(&self) -> BoxFuture<'static, Option<Vec<String>>> {
        ready(Some(self.delivery.routes().all_rooms())).boxed()
    }

    fn socket_details(
        &self,
        rooms: Vec<String>,
        except: Vec<String>,
    ) -> BoxFuture<'static, Option<SocketRooms>> {
        let details = local_socket_details(&self.delivery.routes(), &rooms, &except);
        ready(Some(details)).boxed()
    }

    fn describer(&self) -> Describer {
        match &self.admin {
            Some((directory, _)) => {
                let directory = directory.clone();
                Box::new(move |id| directory.describe(id))
            }
            None => Box::new(|_| None),
        }
    }

    fn remote_command(&self, request: &[u8]) {
        if let Some((_, hub)) = &self.admin {
            hub.do_send(RemoteRequest {
                payload: request.to_vec(),
            });
        }
    }
}
