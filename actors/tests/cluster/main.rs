//! The cluster against a real `redis-server` (one per test, on a free port): nodes in one
//! process exchange broadcasts in Node's wire format, answer each other's requests, survive
//! garbage on the channels and a Redis restart, and announce the users of a node that died.
//! One file per subject; `node.rs` builds the nodes and their stand-in tabs.

#[path = "../support/mod.rs"]
mod support;

mod broadcasts;
mod liveness;
mod node;
mod presence_question;
mod requests;
mod subscriptions;
