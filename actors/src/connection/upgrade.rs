//! The polling -> WebSocket upgrade: the client opens a WebSocket with the session's sid,
//! probes it (`2probe` / `3probe`), and switches with `5`. Meanwhile the pending poll is ended
//! with a noop so the client can pause polling. An upgrade that does not finish within
//! `upgradeTimeout` is abandoned and its WebSocket closed; the session stays on polling.

use super::messages::AttachWebSocket;
use super::transport::{Transport, WsCommand, WsLink};
use super::Connection;
use crate::engine::Frame;
use crate::metrics::METRICS;
use actix::prelude::*;
use chat_protocol::engineio::Packet as EioPacket;
use std::time::Duration;

/// How long a GET that arrives while a WebSocket is probing is held before it is ended with a
/// noop (Node checks every 100 ms). Meanwhile the client's `5` may complete the upgrade, and
/// the GET then gets HTTP 400 as on any upgraded session: the `5` and the GET travel on two
/// connections, and the GET may reach the actor first although the client sent it after.
const LATE_POLL_GRACE: Duration = Duration::from_millis(100);

/// A WebSocket being probed.
pub(super) struct Upgrade {
    pub link: WsLink,
    pub probed: bool,
    /// The waiting GET arrived after this WebSocket did (see [`LATE_POLL_GRACE`]); a GET that
    /// was already waiting is the client's regular poll, ended with a noop at the probe.
    late_poll: bool,
    timer: SpawnHandle,
}

impl Handler<AttachWebSocket> for Connection {
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
        self.upgrade = Some(Upgrade {
            link: msg.0,
            probed: false,
            late_poll: false,
            timer,
        });
        true
    }
}

impl Connection {
    /// A packet on the probing WebSocket.
    pub(super) fn on_upgrade_packet(&mut self, packet: EioPacket, ctx: &mut Context<Self>) {
        let Some(upgrade) = self.upgrade.as_mut() else {
            return;
        };
        match packet {
            EioPacket::Ping(data) if data == "probe" => {
                let _ = upgrade
                    .link
                    .send(WsCommand::Send(Frame::Text("3probe".into())));
                upgrade.probed = true;
                if !upgrade.late_poll {
                    if let Transport::Polling(polling) = &mut self.transport {
                        polling.answer_waiting_with("6");
                    }
                }
            }
            EioPacket::Upgrade if upgrade.probed => self.complete_upgrade(ctx),
            _ => self.abandon_upgrade(ctx),
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
