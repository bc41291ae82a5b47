//! Lua scripts sent by their SHA1.
//!
//! Why: `EVAL` sends the whole body with every call and Redis hashes it each time to find its
//! cached copy; `EVALSHA` sends 40 hex digits. Redis keeps every script it has run until it
//! restarts (or `SCRIPT FLUSH`), so the body travels once: when Redis answers `NOSCRIPT` (first
//! use, a restarted or failed-over Redis, another shard of a cluster), the same call is made
//! again with `EVAL`, which also caches it. A script that ran returns its result whichever way
//! it was sent, so the fallback never runs a script twice: `NOSCRIPT` means it did not run.

use super::connection::{RedisConnection, Replay};
use crate::store::StoreError;
use redis::{Cmd, FromRedisValue};

/// A script body and its SHA1.
#[derive(Debug)]
pub struct StoredScript {
    body: &'static str,
    sha1: String,
}

impl StoredScript {
    pub fn new(body: &'static str) -> StoredScript {
        StoredScript {
            body,
            sha1: redis::Script::new(body).get_hash().to_owned(),
        }
    }
}

impl RedisConnection {
    /// Runs `script`; `arguments` appends its `numkeys`, keys and arguments to the command (it
    /// is called again for the `EVAL` fallback).
    pub async fn run_script<T: FromRedisValue>(
        &self,
        script: &StoredScript,
        arguments: impl Fn(&mut Cmd),
        replay: Replay,
    ) -> Result<T, StoreError> {
        let mut by_hash = redis::cmd("EVALSHA");
        by_hash.arg(&script.sha1);
        arguments(&mut by_hash);
        match self.query(&by_hash, replay).await {
            Err(StoreError::NoScript) => {
                let mut whole = redis::cmd("EVAL");
                whole.arg(script.body);
                arguments(&mut whole);
                self.query(&whole, replay).await
            }
            result => result,
        }
    }
}
