//! Answers to other nodes' requests, as `socket.io-redis` 6.1.1 gives them:
//!
//! - type 0 (sockets): `{"requestId","sockets":[ids of the local sockets in any of rooms]}`,
//!   every socket when `rooms` is empty; answered even when empty, because the asker counts
//!   answers;
//! - type 1 (all rooms): `{"requestId","rooms":[every room with a local member]}`, socket-id
//!   rooms included;
//! - type 5 (fetch sockets): `{"requestId","sockets":[{id,handshake,rooms,data}]}`.
//!
//! Other types (remote join/leave/disconnect, server-side emits of adapter v8) are ignored:
//! the chat never asks for them, and ignoring is what an older Node node does with a type it
//! does not know.

use super::LocalNode;
use chat_protocol::adapter::{Request, Response, SocketDetails};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use serde_json::json;

/// The answer to `request` from this node, or `None` when the request is not one we answer.
/// The future answers `None` when the node is shutting down.
pub fn answer(
    request: Request,
    local: &dyn LocalNode,
) -> Option<BoxFuture<'static, Option<Response>>> {
    Some(match request {
        Request::Sockets {
            request_id, rooms, ..
        } => {
            let sockets = local.sockets(rooms);
            async move {
                Some(Response::Sockets {
                    request_id,
                    sockets: sockets.await?,
                })
            }
            .boxed()
        }
        Request::AllRooms { request_id, .. } => {
            let rooms = local.rooms();
            async move {
                Some(Response::Rooms {
                    request_id,
                    rooms: rooms.await?,
                })
            }
            .boxed()
        }
        Request::FetchSockets {
            request_id,
            rooms,
            except,
            ..
        } => {
            let sockets = local.socket_details(rooms, except);
            let described = local.describer();
            async move {
                let sockets = sockets.await?;
                Some(Response::FetchedSockets {
                    request_id,
                    sockets: sockets
                        .into_iter()
                        .map(|(id, rooms)| {
                            // The hub keeps no handshake; the admin namespace's directory
                            // does (and `data._admin`); otherwise the empty objects Node code
                            // reads (`handshake.auth.x`) without throwing, and Node's `data`.
                            let (handshake, data) = described(&id).unwrap_or_else(|| {
                                (json!({ "headers": {}, "query": {}, "auth": {} }), json!({}))
                            });
                            SocketDetails {
                                id,
                                rooms,
                                handshake,
                                data,
                            }
                        })
                        .collect(),
                })
            }
            .boxed()
        }
        Request::Other { .. } => return None,
    })
}

/// Request id and sender of a request, to recognise our own (6.1.1 sends no uid: its requests
/// are recognised by id only, as Node does).
pub fn origin(request: &Request) -> (Option<&str>, Option<&str>) {
    match request {
        Request::Sockets {
            uid, request_id, ..
        }
        | Request::AllRooms { uid, request_id }
        | Request::FetchSockets {
            uid, request_id, ..
        } => (Some(uid.as_str()), Some(request_id.as_str())),
        Request::Other {
            uid, request_id, ..
        } => (uid.as_deref(), request_id.as_deref()),
    }
}
