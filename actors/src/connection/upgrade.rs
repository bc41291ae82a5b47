//! The actor's side of the polling -> WebSocket upgrade (the probe's own state is
//! [`crate::transport::UpgradeProbe`]): a WebSocket opened with the session's sid is attached,
//! its packets move the upgrade on, and an upgrade that does not finish within
//! `upgradeTimeout` is abandoned and its WebSocket closed; the session stays on polling.

use super::app::SocketApp;
use super::messages::AttachWebSocket;
use super::Connection;
use crate::metrics::METRICS;
use crate::transport::{ProbeStep, Transport, UpgradeProbe, WsCommand, LATE_POLL_GRACE};
use actix::prelude::*;
use chat_protocol::engineio::Packet as EioPacket;

impl<A: SocketApp> Handler<AttachWebSocket> for Connection<A> {
    type Result = bool;
    fn handle(&mut self, msg: AttachWebSocket, ctx: &mut Context<Self>) -> bool {
        if self.closing
            || self.upgrade.is_some()
            || !matches!(self.transport, Transport::Polling(_))
        {
            return false;
        }
        let timer = ctx.run_later(self.server.config.upgrade_timeout, |act, _| {
            if let Some(upgrade) = act.upgrade.take() {
                METRICS.error("upgrade_timeout");
                let _ = upgrade.link.send(WsCommand::Close);
            }
        });
        self.upgrade = Some(UpgradeProbe::new(msg.0, timer));
        true
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
                    if let Transport::Polling(polling) = &mut self.transport {
                        polling.answer_waiting_with("6");
                    }
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
            if let Transport::Polling(polling) = &mut act.transport {
                polling.answer_waiting_with("6");
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
        let old = std::mem::replace(&mut self.transport, Transport::WebSocket(upgrade.link));
        METRICS
            .connections_by_transport
            .with_label_values(&[old.name()])
            .dec();
        METRICS
            .connections_by_transport
            .with_label_values(&[self.transport.name()])
            .inc();
        log::debug!("session {} upgraded to websocket", self.sid);
        if let Transport::Polling(mut polling) = old {
            if upgrade.late_poll {
                polling.refuse_waiting();
            } else {
                polling.answer_waiting_with("6");
            }
            // Already counted when they were queued for polling.
            for frame in polling.take_queue() {
                self.enqueue(frame, ctx);
            }
        }
    }

    pub(super) fn abandon_upgrade(&mut self, ctx: &mut Context<Self>) {
        if let Some(upgrade) = self.upgrade.take() {
            ctx.cancel_future(upgrade.timer);
            let _ = upgrade.link.send(WsCommand::Close);
        }
    }
}
