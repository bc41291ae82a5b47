//! CPU time and resident memory of the server processes, read from /proc exactly as the
//! probe reads them (utime + stime at 100 ticks per second, `VmRSS`), so that both tools
//! report the same quantity. An unreadable pid counts as 0, as in the probe.

use std::fs;

/// Clock ticks per second of `/proc/<pid>/stat` times. Linux reports `USER_HZ`, which is 100
/// on every mainstream architecture; the probe assumes the same.
const TICKS_PER_SECOND: f64 = 100.0;

/// The processes whose cost is measured (server nodes, and Redis for cluster runs).
#[derive(Debug, Clone)]
pub struct Processes {
    pids: Vec<u32>,
}

impl Processes {
    pub fn new(pids: Vec<u32>) -> Processes {
        Processes { pids }
    }

    pub fn is_empty(&self) -> bool {
        self.pids.is_empty()
    }

    /// Pids whose /proc entry cannot be read now (a typo, or a server that exited).
    pub fn unreadable(&self) -> Vec<u32> {
        self.pids
            .iter()
            .copied()
            .filter(|pid| cpu_seconds(&pid.to_string()).is_none())
            .collect()
    }

    /// User + system CPU seconds, summed over the processes.
    pub fn cpu_seconds(&self) -> f64 {
        self.pids
            .iter()
            .map(|pid| cpu_seconds(&pid.to_string()).unwrap_or(0.0))
            .sum()
    }

    /// CPU seconds of every thread of the processes: (`<pid>/<tid> <name>`, seconds). What
    /// one thread does is serial: the busiest one bounds a node's rate whatever its cores.
    pub fn thread_cpu_seconds(&self) -> Vec<(String, f64)> {
        let mut threads = Vec::new();
        for pid in &self.pids {
            let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let tid = task.file_name().to_string_lossy().into_owned();
                let Ok(stat) = fs::read_to_string(task.path().join("stat")) else {
                    continue;
                };
                let name = stat
                    .split_once(" (")
                    .and_then(|(_, rest)| rest.rsplit_once(") "))
                    .map_or("", |(name, _)| name);
                if let Some(cpu) = parse_stat_cpu_seconds(&stat) {
                    threads.push((format!("{pid}/{tid} {name}"), cpu));
                }
            }
        }
        threads
    }

    /// Resident memory in KiB, summed over the processes.
    pub fn rss_kib(&self) -> u64 {
        self.pids
            .iter()
            .map(|pid| rss_kib(&pid.to_string()).unwrap_or(0))
            .sum()
    }
}

/// CPU seconds of `/proc/<pid>/stat` (`pid` may be `self`).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    parse_stat_cpu_seconds(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Resident KiB of `/proc/<pid>/status`.
pub fn rss_kib(pid: &str) -> Option<u64> {
    parse_status_rss_kib(&fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// utime + stime (fields 14 and 15 of `stat`) in seconds. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted from the last `") "`, as the probe does.
fn parse_stat_cpu_seconds(stat: &str) -> Option<f64> {
    let (_, after_name) = stat.rsplit_once(") ")?;
    let mut fields = after_name.split(' ').skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// The `VmRSS:` line of `status`, in KiB.
fn parse_status_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let stat =
            "4242 (chat server) (x)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(parse_stat_cpu_seconds(stat), Some(3.25));
        assert_eq!(parse_stat_cpu_seconds("garbage"), None);
    }

    #[test]
    fn rss_is_read_from_status() {
        let status = "Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t   81234 kB\nThreads:\t7\n";
        assert_eq!(parse_status_rss_kib(status), Some(81_234));
        assert_eq!(parse_status_rss_kib("Name:\tx\n"), None);
    }

    #[test]
    fn our_own_process_is_readable() {
        assert!(cpu_seconds("self").is_some());
        assert!(rss_kib("self").is_some_and(|kib| kib > 0));
        let own = Processes::new(vec![std::process::id()]);
        assert!(own.unreadable().is_empty());
        assert!(own.rss_kib() > 0);
    }
}
