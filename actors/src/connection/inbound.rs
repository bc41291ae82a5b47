//! Inbound Engine.IO traffic: polling requests, WebSocket frames, and the packets they carry.

use super::app::SocketApp;
use super::messages::{Poll, Post, RequestRefused};
use super::Connection;
use crate::metrics::METRICS;
use crate::transport::{PollReply, Transport, WsCommand, WsIn, WsLink};
use actix::prelude::*;
use actix_ws::{AggregatedMessage, ProtocolError};
use chat_protocol::engineio::Packet as EioPacket;
use chat_protocol::payload::decode_payload;
use tokio::sync::oneshot;

impl<A: SocketApp> Handler<Poll> for Connection<A> {
    type Result = Result<oneshot::Receiver<PollReply>, RequestRefused>;

    fn handle(&mut self, _: Poll, ctx: &mut Context<Self>) -> Self::Result {
        if self.closing {
            return Err(RequestRefused::Closed);
        }
        let upgrading = self.upgrade.is_some();
        let Transport::Polling(polling) = &mut self.transport else {
            return Err(RequestRefused::WrongTransport);
        };
        if polling.is_waiting() {
            // Node closes a session whose client polls twice at once: the client is confused
            // or someone else holds the sid.
            METRICS.error("duplicate_poll");
            self.close("duplicate poll", false, ctx);
            return Err(RequestRefused::DuplicatePoll);
        }
        let rx = polling.poll();
        if upgrading {
            self.hold_late_poll(ctx);
        }
        Ok(rx)
    }
}

impl<A: SocketApp> Handler<Post> for Connection<A> {
    type Result = Result<(), RequestRefused>;

    fn handle(&mut self, msg: Post, ctx: &mut Context<Self>) -> Self::Result {
        if self.closing {
            return Err(RequestRefused::Closed);
        }
        if !matches!(self.transport, Transport::Polling(_)) {
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

impl<A: SocketApp> Handler<WsIn> for Connection<A> {
    type Result = ();

    fn handle(&mut self, msg: WsIn, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        let is_probe = self
            .upgrade
            .as_ref()
            .is_some_and(|u| u.link.id == msg.ws_id);
        let is_current = matches!(&self.transport, Transport::WebSocket(l) if l.id == msg.ws_id);
        if !is_probe && !is_current {
            return;
        }
        let Some(item) = msg.item else {
            return self.on_ws_ended(msg.ws_id, ctx);
        };
        let packet = match item {
            Ok(AggregatedMessage::Text(text)) => {
                METRICS.bytes_received.inc_by(text.len() as u64);
                match EioPacket::decode_text(&text) {
                    Ok(packet) => packet,
                    Err(_) if is_probe => return self.abandon_upgrade(ctx),
                    Err(e) => return self.malformed(e.kind(), ctx),
                }
            }
            Ok(AggregatedMessage::Binary(bytes)) => {
                METRICS.bytes_received.inc_by(bytes.len() as u64);
                EioPacket::decode_binary(&bytes)
            }
            Ok(AggregatedMessage::Ping(payload)) => {
                if let Some(link) = self.ws_link(msg.ws_id) {
                    let _ = link.send(WsCommand::Pong(payload));
                }
                return;
            }
            Ok(AggregatedMessage::Pong(_)) => return,
            Ok(AggregatedMessage::Close(_)) => return self.on_ws_ended(msg.ws_id, ctx),
            Err(error) => {
                let kind = match error {
                    ProtocolError::Overflow => "payload_too_large",
                    _ => "websocket_protocol",
                };
                METRICS.error(kind);
                log::debug!("session {}: websocket error: {error}", self.sid);
                if is_probe {
                    self.abandon_upgrade(ctx);
                } else {
                    self.close("transport error", false, ctx);
                }
                return;
            }
        };
        if is_probe {
            self.on_upgrade_packet(packet, ctx);
        } else {
            self.on_engine_packet(packet, ctx);
        }
    }
}

impl<A: SocketApp> Connection<A> {
    fn ws_link(&self, ws_id: u64) -> Option<&WsLink> {
        match (&self.transport, &self.upgrade) {
            (Transport::WebSocket(l), _) if l.id == ws_id => Some(l),
            (_, Some(u)) if u.link.id == ws_id => Some(&u.link),
            _ => None,
        }
    }

    fn on_ws_ended(&mut self, ws_id: u64, ctx: &mut Context<Self>) {
        if self.upgrade.as_ref().is_some_and(|u| u.link.id == ws_id) {
            self.abandon_upgrade(ctx);
        } else if matches!(&self.transport, Transport::WebSocket(l) if l.id == ws_id) {
            self.close("transport close", false, ctx);
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
                if let Transport::Polling(polling) = &mut self.transport {
                    polling.answer_waiting_with("6");
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
