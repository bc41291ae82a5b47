//! The actor's side of the polling -> WebSocket upgrade (the probe's own state is
//! [`crate::transport::UpgradeProbe`]): a WebSocket opened with the session's sid is attached,
//! its packets move the upgrade on, and an upgrade that does not finish within
//! `upgradeTimeout` is abandoned and its WebSocket closed; the session stays on polling. On
//! completion the session's outbox takes the socket over, with whatever polling had not
//! delivered yet.

use super::app::SocketApp;
use super::messages::AttachWebSocket;
use super::{next_ws_id, Connection, CLOSE_NORMAL};
use crate::metrics::METRICS;
use crate::transport::{Outbox, OutboxWatch, ProbeStep, UpgradeProbe, WsReader, LATE_POLL_GRACE};
use actix::prelude::*;
use chat_protocol::engineio::Packet as EioPacket;
use std::sync::Arc;

impl<A: SocketApp> Handler<AttachWebSocket> for Connection<A> {
    type Result = Result<(), std::net::TcpStream>;

    fn handle(&mut self, msg: AttachWebSocket, ctx: &mut Context<Self>) -> Self::Result {
        if self.closing || self.upgrade.is_some() || self.websocket.is_some() {
            return Err(msg.stream);
        }
        // Registered with this worker's reactor: the session's thread owns it from now on.
        let stream = match tokio::net::TcpStream::from_std(msg.stream) {
            Ok(stream) => Arc::new(stream),
            Err(e) => {
                log::debug!(
                    "session {}: cannot take the upgrading socket: {e}",
                    self.sid
                );
                return Ok(());
            }
        };
        let id = next_ws_id();
        let limit = self.server.config.outbound_buffer_bytes;
        let outbox = Outbox::websocket(limit, stream.clone());
        ctx.add_stream(OutboxWatch::new(id, outbox.clone()));
        let max_payload = self.server.config.max_payload;
        ctx.add_stream(WsReader::new(id, stream.clone(), max_payload, &msg.read));
        let timer = ctx.run_later(self.server.config.upgrade_timeout, |act, _| {
            if let Some(upgrade) = act.upgrade.take() {
                METRICS.error("upgrade_timeout");
                upgrade.outbox.close(CLOSE_NORMAL);
            }
        });
        self.upgrade = Some(UpgradeProbe {
            id,
            stream,
            outbox,
            probed: false,
            late_poll: false,
            timer,
        });
        // The client saw the handshake's 101 before this message reached the session, so a
        // GET already waiting may have been sent after the `5` that is still on its way: it
        // is held like a GET arriving now (the regular poll of a client that is slow to probe
        // is then ended by the grace's noop, at most 100 ms later, as Node's check does).
        if self.outbox.is_polled() {
            self.hold_late_poll(ctx);
        }
        Ok(())
    }
}

impl<A: SocketApp> Connection<A> {
    /// A packet on the probing WebSocket.
    pub(super) fn on_upgrade_packet(&mut self, packet: EioPacket, ctx: &mut Context<Self>) {
        let Some(upgrade) = self.upgrade.as_mut() else {
            return;
        };
        match upgrade.on_packet(&packet) {
            ProbeStep::Probed { end_waiting_poll } => {
                if end_waiting_poll {
                    self.outbox.answer_waiting_with("6");
                }
            }
            ProbeStep::Complete => self.complete_upgrade(ctx),
            ProbeStep::Abandon => self.abandon_upgrade(ctx),
        }
    }

    /// A GET arrived while a WebSocket is probing: it is ended with a noop after
    /// [`LATE_POLL_GRACE`], unless the upgrade completes first (then HTTP 400).
    pub(super) fn hold_late_poll(&mut self, ctx: &mut Context<Self>) {
        let Some(upgrade) = self.upgrade.as_mut() else {
            return;
        };
        upgrade.late_poll = true;
        ctx.run_later(LATE_POLL_GRACE, |act, _| {
            if act.websocket.is_none() {
                act.outbox.answer_waiting_with("6");
            }
            if let Some(upgrade) = act.upgrade.as_mut() {
                upgrade.late_poll = false;
            }
        });
    }

    fn complete_upgrade(&mut self, ctx: &mut Context<Self>) {
        let Some(upgrade) = self.upgrade.take() else {
            return;
        };
        ctx.cancel_future(upgrade.timer);
        METRICS
            .connections_by_transport
            .with_label_values(&[self.transport_name()])
            .dec();
        if upgrade.late_poll {
            self.outbox.refuse_waiting();
        } else {
            self.outbox.answer_waiting_with("6");
        }
        upgrade.outbox.retire();
        // What no GET took (already counted when it was queued) goes on the WebSocket now.
        self.outbox.attach(upgrade.stream);
        self.websocket = Some(upgrade.id);
        METRICS
            .connections_by_transport
            .with_label_values(&[self.transport_name()])
            .inc();
        log::debug!("session {} upgraded to websocket", self.sid);
        A::on_upgrade(self);
    }

    pub(super) fn abandon_upgrade(&mut self, ctx: &mut Context<Self>) {
        if let Some(upgrade) = self.upgrade.take() {
            ctx.cancel_future(upgrade.timer);
            upgrade.outbox.close(CLOSE_NORMAL);
        }
    }
}
