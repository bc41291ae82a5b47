//! Inbound Engine.IO traffic: polling requests, WebSocket messages, the events of the
//! session's outboxes, and the packets the client sends.

use super::app::SocketApp;
use super::messages::{Poll, Post, RequestRefused};
use super::Connection;
use crate::metrics::METRICS;
use crate::transport::{Ended, Outbox, OutboxEvent, PollReply, WsIn, WsItem};
use actix::prelude::*;
use chat_protocol::engineio::Packet as EioPacket;
use chat_protocol::payload::decode_payload;
use chat_protocol::websocket::WsError;
use std::sync::Arc;
use tokio::sync::oneshot;

impl<A: SocketApp> Handler<Poll> for Connection<A> {
    type Result = Result<oneshot::Receiver<PollReply>, RequestRefused>;

    fn handle(&mut self, _: Poll, ctx: &mut Context<Self>) -> Self::Result {
        if self.closing || self.heartbeat_overdue(ctx) {
            return Err(RequestRefused::Closed);
        }
        if self.websocket.is_some() {
            return Err(RequestRefused::WrongTransport);
        }
        let Some(rx) = self.outbox.poll() else {
            // Node closes a session whose client polls twice at once: the client is confused
            // or someone else holds the sid.
            METRICS.error("duplicate_poll");
            self.close("duplicate poll", false, ctx);
            return Err(RequestRefused::DuplicatePoll);
        };
        if self.upgrade.is_some() {
            self.hold_late_poll(ctx);
        }
        Ok(rx)
    }
}

impl<A: SocketApp> Handler<Post> for Connection<A> {
    type Result = Result<(), RequestRefused>;

    fn handle(&mut self, msg: Post, ctx: &mut Context<Self>) -> Self::Result {
        if self.closing || self.heartbeat_overdue(ctx) {
            return Err(RequestRefused::Closed);
        }
        if self.websocket.is_some() {
            return Err(RequestRefused::WrongTransport);
        }
        METRICS.bytes_received.inc_by(msg.0.len() as u64);
        let packets = std::str::from_utf8(&msg.0)
            .map_err(|_| "utf8")
            .and_then(|body| decode_payload(body).map_err(|e| e.kind()));
        match packets {
            Ok(packets) => {
                for packet in packets {
                    self.on_engine_packet(packet, ctx);
                }
                Ok(())
            }
            Err(kind) => {
                self.malformed(kind, ctx);
                Err(RequestRefused::Malformed)
            }
        }
    }
}

impl<A: SocketApp> StreamHandler<WsIn> for Connection<A> {
    fn handle(&mut self, msg: WsIn, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        let is_probe = self.upgrade.as_ref().is_some_and(|u| u.id == msg.ws_id);
        let is_current = self.websocket == Some(msg.ws_id);
        if !is_probe && !is_current {
            return;
        }
        METRICS.bytes_received.inc_by(msg.len as u64);
        let packet = match msg.item {
            WsItem::Packet(packet) => packet,
            WsItem::Malformed(_) if is_probe => return self.abandon_upgrade(ctx),
            WsItem::Malformed(kind) => return self.malformed(kind, ctx),
            WsItem::Ping(payload) => {
                let _ = self.outbox_of(msg.ws_id).push_pong(&payload);
                return;
            }
            WsItem::Closed => return self.on_ws_ended(msg.ws_id, ctx),
            WsItem::Violation(error) => return self.on_violation(msg.ws_id, error, ctx),
        };
        if is_probe {
            self.on_upgrade_packet(packet, ctx);
        } else {
            self.on_engine_packet(packet, ctx);
        }
    }

    /// A WebSocket's reader ended; what it meant was its last item.
    fn finished(&mut self, _: &mut Context<Self>) {}
}

impl<A: SocketApp> StreamHandler<(u64, OutboxEvent)> for Connection<A> {
    /// The session's outbox (id 0) or a probe's ended.
    fn handle(&mut self, (id, event): (u64, OutboxEvent), ctx: &mut Context<Self>) {
        if id != 0 {
            if self.upgrade.as_ref().is_some_and(|u| u.id == id) {
                self.abandon_upgrade(ctx);
            }
            return;
        }
        match event {
            OutboxEvent::Ended(Ended::SlowConsumer) => {
                METRICS.error("slow_consumer");
                self.close("slow consumer", false, ctx);
            }
            OutboxEvent::Ended(Ended::TransportGone) => self.close("transport error", false, ctx),
            OutboxEvent::Closed => self.close("transport close", false, ctx),
        }
    }

    fn finished(&mut self, _: &mut Context<Self>) {}
}

impl<A: SocketApp> Connection<A> {
    /// The outbox writing to WebSocket `ws_id`: the probe's own, or the session's.
    fn outbox_of(&self, ws_id: u64) -> &Arc<Outbox> {
        match &self.upgrade {
            Some(upgrade) if upgrade.id == ws_id => &upgrade.outbox,
            _ => &self.outbox,
        }
    }

    fn on_ws_ended(&mut self, ws_id: u64, ctx: &mut Context<Self>) {
        if self.upgrade.as_ref().is_some_and(|u| u.id == ws_id) {
            self.abandon_upgrade(ctx);
        } else if self.websocket == Some(ws_id) {
            self.close("transport close", false, ctx);
        }
    }

    /// The WebSocket broke the protocol (or went over `maxPayload`): closed with the error's
    /// code; a probe's only abandons the upgrade.
    fn on_violation(&mut self, ws_id: u64, error: WsError, ctx: &mut Context<Self>) {
        let kind = match error {
            WsError::TooBig => "payload_too_large",
            _ => "websocket_protocol",
        };
        METRICS.error(kind);
        log::debug!("session {}: websocket error: {error}", self.sid);
        if self.upgrade.as_ref().is_some_and(|u| u.id == ws_id) {
            if let Some(upgrade) = &self.upgrade {
                upgrade.outbox.close(error.close_code());
            }
            self.abandon_upgrade(ctx);
        } else {
            self.close_with("transport error", false, error.close_code(), ctx);
        }
    }

    /// One packet from the client on the session's current transport.
    pub(super) fn on_engine_packet(&mut self, packet: EioPacket, ctx: &mut Context<Self>) {
        match packet {
            EioPacket::Pong(_) => self.on_pong(ctx),
            EioPacket::Message(_) | EioPacket::Binary(_) => A::on_message(self, packet, ctx),
            EioPacket::Close => {
                // As Node does, a GET still waiting is ended with a noop, not a close: the
                // client asked for the close and knows.
                // A GET sent together with the close and not here yet gets the same noop.
                if self.websocket.is_none() && !self.outbox.answer_waiting_with("6") {
                    self.server.registry.closed_by_client(&self.sid);
                }
                self.close("client close", false, ctx)
            }
            // In protocol v4 only the server pings; Node treats a client ping as an error.
            EioPacket::Ping(_) => self.malformed("heartbeat_direction", ctx),
            EioPacket::Open(_) => self.malformed("open_from_client", ctx),
            EioPacket::Upgrade | EioPacket::Noop => {}
        }
    }
}
