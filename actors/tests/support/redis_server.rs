//! A real, throw-away `redis-server` per test, so the Redis backends are tested against Redis
//! itself and not a mock. It listens on a free local port (never 6379, which belongs to the
//! machine), persists nothing, and is killed when the handle drops.
//!
//! A missing `redis-server` binary is a test failure with an explicit message, not a skip: a
//! CI without Redis must not report the Redis backends as tested.

// Each test crate including `support` uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a freshly spawned server gets to answer `PING`.
const STARTUP_DEADLINE: Duration = Duration::from_secs(10);

/// A running (or deliberately stopped) `redis-server` child process.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers `PING`.
    pub fn start() -> RedisServer {
        let mut server = RedisServer {
            port: free_port(),
            child: None,
        };
        server.spawn();
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/`, valid whether the server is running or not.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL: no goodbye to clients, like a crash) and waits for it to exit.
    /// The port stays reserved in the sense that [`RedisServer::resume`] reuses it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Ignoring the result: the child may already have exited, which is the goal anyway.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a fresh (empty) server on the same port after [`RedisServer::kill`].
    pub fn resume(&mut self) {
        assert!(
            self.child.is_none(),
            "resume() called while the server is running"
        );
        self.spawn();
    }

    /// Kills the server and starts a fresh one on the same port: clients see a dropped
    /// connection, then the same address answering again.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "`redis-server` is not installed or not on PATH: the Redis store tests need a real \
                 Redis (e.g. `apt-get install redis-server`). They fail rather than skip so that \
                 CI cannot pass without exercising Redis."
            ),
            Err(e) => panic!("could not spawn redis-server on port {port}: {e}"),
        };
        self.child = Some(child);
        self.wait_until_ready();
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if answers_ping(self.port) {
                return;
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "redis-server on port {} exited during startup: {status}",
                        self.port
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within {STARTUP_DEADLINE:?}",
                self.port
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port nothing listens on right now (the OS picks it; the listener is closed at once).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener
        .local_addr()
        .expect("local address of the ephemeral listener")
        .port()
}

/// Whether a server on `port` answers an inline `PING` with `+PONG`.
fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}
