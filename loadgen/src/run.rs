//! The phases of a run, in the probe's order: connect everyone, let the server settle (0.5 s)
//! and read its memory, optionally warm up, send at the fixed rate for the measured seconds,
//! drain, read the server's CPU time, stop the users and fold their reports together.

use crate::cli::Args;
use crate::client::{simulate_user, Outgoing, RunSettings, UserSpec};
use crate::packets::Stamp;
use crate::proc_stats::{self, Processes};
use crate::schedule::{pick_pair, Pacer};
use crate::stats::{ClientReport, ErrorTally};
use crate::summary::{Measurements, ServerCost, Summary};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// The probe waits this long after connecting before it reads the servers' memory.
const SETTLE_AFTER_CONNECT: Duration = Duration::from_millis(500);
/// The scheduler's tick: at 1 ms, even 20 000 msgs/s go out in batches of 20.
const TICK: Duration = Duration::from_millis(1);

/// A connected user, as the scheduler sees it.
struct Route {
    commands: mpsc::UnboundedSender<Outgoing>,
    user_id: Arc<str>,
}

pub async fn run(args: &Args, endpoints: &[String]) -> Summary {
    let processes = Processes::new(args.pids.clone());
    let mut errors = ErrorTally::default();
    for pid in processes.unreadable() {
        errors.add(format!("pid {pid}: /proc unreadable at the start"));
    }
    let rss_before_kib = processes.rss_kib();

    let settings = Arc::new(RunSettings {
        base: Instant::now(),
        ask_acks: !args.no_ack,
        connect_timeout: args.connect_timeout(),
        connect_slots: Semaphore::new(args.connect_concurrency),
    });
    let (stop_sender, stop) = watch::channel(false);
    let (ready_sender, mut ready) = mpsc::unbounded_channel();
    let mut command_senders = Vec::with_capacity(args.users);
    let mut tasks: Vec<JoinHandle<ClientReport>> = Vec::with_capacity(args.users);

    let connect_start = Instant::now();
    for index in 0..args.users {
        let (commands_sender, commands) = mpsc::unbounded_channel();
        command_senders.push(commands_sender);
        let spec = UserSpec {
            index,
            endpoint: endpoints[index % endpoints.len()].clone(),
            source: (!args.source_addrs.is_empty())
                .then(|| args.source_addrs[index % args.source_addrs.len()]),
            username: format!("{}{index}", args.username_prefix),
        };
        let user = simulate_user(
            spec,
            settings.clone(),
            ready_sender.clone(),
            commands,
            stop.clone(),
        );
        tasks.push(tokio::spawn(user));
    }
    drop(ready_sender);

    let mut routes = Vec::with_capacity(args.users);
    let mut connect_us = Vec::with_capacity(args.users);
    for _ in 0..args.users {
        let Some((index, outcome)) = ready.recv().await else {
            break;
        };
        match outcome {
            Ok(connected) => {
                connect_us
                    .push(u64::try_from(connected.connect_time.as_micros()).unwrap_or(u64::MAX));
                routes.push(Route {
                    commands: command_senders[index].clone(),
                    user_id: connected.user_id.into(),
                });
            }
            Err(error) => errors.add(format!("connect: {error}")),
        }
    }
    let connect_wall = connect_start.elapsed();
    drop(command_senders);

    tokio::time::sleep(SETTLE_AFTER_CONNECT).await;
    let rss_connected_kib = processes.rss_kib();

    let mut scheduler = Scheduler {
        routes,
        rng: StdRng::seed_from_u64(args.seed),
        next_seq: 0,
        settings,
    };
    if args.warmup_seconds > 0.0 {
        scheduler
            .send_for(
                Duration::from_secs_f64(args.warmup_seconds),
                args.rate,
                false,
                &mut errors,
            )
            .await;
    }

    phase_marker("sending");
    let cpu_before = processes.cpu_seconds();
    let threads_before = processes.thread_cpu_seconds();
    let own_cpu_before = proc_stats::cpu_seconds("self").unwrap_or(0.0);
    let send_start = Instant::now();
    let sent = scheduler
        .send_for(
            Duration::from_secs_f64(args.seconds),
            args.rate,
            true,
            &mut errors,
        )
        .await;
    let send_wall = send_start.elapsed();
    phase_marker("sent");
    tokio::time::sleep(Duration::from_secs_f64(args.drain_seconds)).await;
    let server_cpu = processes.cpu_seconds() - cpu_before;
    let threads_cpu = thread_deltas(&threads_before, processes.thread_cpu_seconds());
    let own_cpu = proc_stats::cpu_seconds("self").unwrap_or(0.0) - own_cpu_before;
    let rss_end_kib = processes.rss_kib();
    for pid in processes.unreadable() {
        // Its CPU time now reads as 0, so the CPU figures of this run are meaningless.
        errors.add(format!("pid {pid}: /proc unreadable at the end"));
    }

    // Every user holds a receiver; a send error would only mean they all ended already.
    let _ = stop_sender.send(true);
    let mut total = ClientReport::default();
    for task in tasks {
        match task.await {
            Ok(report) => total.merge(report),
            Err(error) => errors.add(format!("user task: {error}")),
        }
    }
    errors.merge(std::mem::take(&mut total.errors));

    Summary::new(Measurements {
        urls: endpoints.len(),
        users: args.users,
        rate: args.rate,
        seconds: args.seconds,
        warmup_seconds: args.warmup_seconds,
        connect_wall_ms: u64::try_from(connect_wall.as_millis()).unwrap_or(u64::MAX),
        connect_us,
        sent,
        send_wall_s: send_wall.as_secs_f64(),
        delivered: total.delivered,
        wrong_target: total.wrong_target,
        latencies_us: total.latencies_us,
        acked: (!args.no_ack).then_some(total.acked),
        ack_latencies_us: total.ack_latencies_us,
        server: (!processes.is_empty()).then_some(ServerCost {
            cpu_s: server_cpu,
            rss_before_kib,
            rss_connected_kib,
            rss_end_kib,
            threads_cpu_s: threads_cpu,
        }),
        loadgen_cpu_s: own_cpu,
        errors,
    })
}

/// Hands messages to random senders at the fixed rate.
struct Scheduler {
    routes: Vec<Route>,
    rng: StdRng,
    next_seq: u64,
    settings: Arc<RunSettings>,
}

impl Scheduler {
    /// Sends at `rate` for `duration`; returns how many messages were handed to users.
    /// Fewer than two connected users: nothing can be sent.
    async fn send_for(
        &mut self,
        duration: Duration,
        rate: f64,
        measured: bool,
        errors: &mut ErrorTally,
    ) -> u64 {
        if self.routes.len() < 2 {
            return 0;
        }
        let mut pacer = Pacer::new(rate);
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let start = Instant::now();
        let mut sent = 0;
        loop {
            ticker.tick().await;
            let elapsed = start.elapsed().min(duration);
            for _ in 0..pacer.due(elapsed) {
                let (sender, recipient) = pick_pair(&mut self.rng, self.routes.len());
                let stamp = Stamp {
                    measured,
                    seq: self.next_seq,
                    sent_us: self.settings.now_us(),
                };
                self.next_seq += 1;
                let to = self.routes[recipient].user_id.clone();
                if self.routes[sender]
                    .commands
                    .send(Outgoing { to, stamp })
                    .is_err()
                {
                    // That user's task ended (its socket closed): the message counts as lost.
                    errors.add("send: user already disconnected");
                }
                sent += 1;
            }
            if elapsed >= duration {
                return sent;
            }
        }
    }
}

/// One stderr line `# phase <name> <unix ms>` at the edges of the measured phase, so that a
/// benchmark script can read other counters (Redis `INFO stats`) over exactly that window.
/// CPU seconds each thread used between two readings (threads born meanwhile count from 0),
/// busiest first.
fn thread_deltas(before: &[(String, f64)], after: Vec<(String, f64)>) -> Vec<(String, f64)> {
    let mut deltas: Vec<(String, f64)> = after
        .into_iter()
        .map(|(name, cpu)| {
            let start = before
                .iter()
                .find(|(known, _)| *known == name)
                .map_or(0.0, |(_, cpu)| *cpu);
            (name, cpu - start)
        })
        .collect();
    deltas.sort_by(|a, b| b.1.total_cmp(&a.1));
    deltas
}

fn phase_marker(name: &str) {
    let unix_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    eprintln!("# phase {name} {unix_ms}");
}
