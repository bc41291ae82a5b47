//! What each simulated user counted, and the run-wide figures made from it.
//!
//! Every user keeps its own raw samples (no locks on the hot path); they are merged into one
//! HDR histogram at the end. Raw samples cost 8 bytes per message, far less than one
//! histogram per user would for thousands of users.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts of things that went wrong, by kind (`"connect: timeout"`, `"ack: unknown recipient"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ErrorTally(BTreeMap<String, u64>);

impl ErrorTally {
    pub fn add(&mut self, kind: impl Into<String>) {
        self.add_many(kind, 1);
    }

    pub fn add_many(&mut self, kind: impl Into<String>, count: u64) {
        if count > 0 {
            *self.0.entry(kind.into()).or_default() += count;
        }
    }

    pub fn merge(&mut self, other: ErrorTally) {
        for (kind, count) in other.0 {
            self.add_many(kind, count);
        }
    }
}

/// What one simulated user saw during the measured phase (warm-up traffic is left out).
#[derive(Debug, Clone, Default)]
pub struct ClientReport {
    /// Measured messages received that were addressed to this user.
    pub delivered: u64,
    /// Messages received that were addressed to somebody else.
    pub wrong_target: u64,
    /// Send-to-receive time of each delivered measured message, in microseconds.
    pub latencies_us: Vec<u64>,
    /// Measured messages whose ack said `ok`.
    pub acked: u64,
    /// Send-to-ack time of each `ok` ack, in microseconds.
    pub ack_latencies_us: Vec<u64>,
    pub errors: ErrorTally,
}

impl ClientReport {
    /// Adds `other` into `self` (used to fold every user's report into one).
    pub fn merge(&mut self, other: ClientReport) {
        self.delivered += other.delivered;
        self.wrong_target += other.wrong_target;
        self.latencies_us.extend(other.latencies_us);
        self.acked += other.acked;
        self.ack_latencies_us.extend(other.ack_latencies_us);
        self.errors.merge(other.errors);
    }
}

/// The longest duration the histograms resolve: one hour, in microseconds.
const LONGEST_US: u64 = 3_600_000_000;

/// Percentiles of a set of durations, in milliseconds rounded to 0.01 ms (the probe's format).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl LatencySummary {
    /// `None` when there is no sample. Samples are microseconds; the histogram keeps three
    /// significant digits (0.1 % error), finer than anything a benchmark run resolves, up to
    /// [`LONGEST_US`] (longer samples count as that).
    pub fn from_micros(samples: &[u64]) -> Option<LatencySummary> {
        let mut histogram = Histogram::<u64>::new_with_bounds(1, LONGEST_US, 3).ok()?;
        for &sample in samples {
            histogram.saturating_record(sample);
        }
        if histogram.is_empty() {
            return None;
        }
        let ms = |micros: u64| round_to(micros as f64 / 1000.0, 2);
        Some(LatencySummary {
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
        })
    }
}

/// `value` rounded to `decimals` decimal places (for readable JSON).
pub fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        // 1 ms … 100 ms in 1 ms steps.
        let samples: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        let summary = LatencySummary::from_micros(&samples).expect("samples");
        assert!((summary.p50_ms - 50.0).abs() < 0.1, "{summary:?}");
        assert!((summary.p99_ms - 99.0).abs() < 0.1, "{summary:?}");
        assert!((summary.max_ms - 100.0).abs() < 0.1, "{summary:?}");
    }

    #[test]
    fn a_tail_of_two_per_mille_shows_in_p999_not_in_p99() {
        let mut samples = vec![2_000; 9_980];
        samples.extend([900_000; 20]);
        let summary = LatencySummary::from_micros(&samples).expect("samples");
        assert!((summary.p99_ms - 2.0).abs() < 0.01, "{summary:?}");
        assert!((summary.p999_ms - 900.0).abs() < 1.0, "{summary:?}");
    }

    #[test]
    fn no_samples_no_percentiles() {
        assert_eq!(LatencySummary::from_micros(&[]), None);
    }

    #[test]
    fn one_outlier_shows_in_max_not_in_p99() {
        let mut samples = vec![2_000; 999];
        samples.push(900_000);
        let summary = LatencySummary::from_micros(&samples).expect("samples");
        assert!((summary.p99_ms - 2.0).abs() < 0.01, "{summary:?}");
        assert!((summary.max_ms - 900.0).abs() < 1.0, "{summary:?}");
    }

    #[test]
    fn reports_and_errors_merge() {
        let mut total = ClientReport::default();
        let mut one = ClientReport {
            delivered: 2,
            latencies_us: vec![10, 20],
            acked: 1,
            ..Default::default()
        };
        one.errors.add("ack: unknown recipient");
        let mut two = ClientReport {
            delivered: 1,
            latencies_us: vec![30],
            wrong_target: 1,
            ..Default::default()
        };
        two.errors.add("ack: unknown recipient");
        two.errors.add("disconnected");
        two.errors.add_many("ignored", 0);
        total.merge(one);
        total.merge(two);
        assert_eq!(
            (total.delivered, total.wrong_target, total.acked),
            (3, 1, 1)
        );
        assert_eq!(total.latencies_us, vec![10, 20, 30]);
        assert_eq!(
            serde_json::to_string(&total.errors).ok().as_deref(),
            Some(r#"{"ack: unknown recipient":2,"disconnected":1}"#)
        );
    }

    #[test]
    fn rounding() {
        assert_eq!(round_to(1.23456, 2), 1.23);
        assert_eq!(round_to(86.5, 0), 87.0);
    }
}
