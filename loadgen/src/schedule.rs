//! When to send and between whom: a fixed aggregate rate, random (sender, recipient) pairs.
//!
//! The pacer counts how many messages are due since the start instead of sleeping 1/rate
//! between sends: a late timer tick (a busy machine) then sends the backlog at once and the
//! offered rate over the run stays what was asked, as the probe's tick-and-carry loop does.

use rand::Rng;
use std::time::Duration;

/// How many messages are due at a given time since the start, at `rate` per second.
#[derive(Debug, Clone)]
pub struct Pacer {
    rate: f64,
    emitted: u64,
}

impl Pacer {
    pub fn new(rate: f64) -> Pacer {
        Pacer { rate, emitted: 0 }
    }

    /// The number of messages to send now, `elapsed` after the start, so that the total sent
    /// is `floor(elapsed × rate)`. Counts them as sent.
    pub fn due(&mut self, elapsed: Duration) -> u64 {
        // f64 holds every count a run can reach (2^53 messages) exactly.
        let target = (elapsed.as_secs_f64() * self.rate).floor() as u64;
        let due = target.saturating_sub(self.emitted);
        self.emitted += due;
        due
    }
}

/// A random ordered pair of two different users among `count` (at least 2): the sender
/// uniformly, then the recipient uniformly among the others.
pub fn pick_pair<R: Rng>(rng: &mut R, count: usize) -> (usize, usize) {
    let sender = rng.random_range(0..count);
    // Draw among count-1 and skip the sender, so the recipient stays uniform over the others.
    let mut recipient = rng.random_range(0..count - 1);
    if recipient >= sender {
        recipient += 1;
    }
    (sender, recipient)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn pacer_keeps_the_aggregate_rate_whatever_the_ticks() {
        let mut pacer = Pacer::new(3000.0);
        assert_eq!(pacer.due(Duration::from_millis(0)), 0);
        assert_eq!(pacer.due(Duration::from_millis(1)), 3);
        assert_eq!(
            pacer.due(Duration::from_millis(1)),
            0,
            "nothing new is due at the same instant"
        );
        // A tick that comes 50 ms late catches up on the backlog.
        assert_eq!(pacer.due(Duration::from_millis(51)), 150);
        assert_eq!(pacer.due(Duration::from_secs(10)), 30_000 - 153);
    }

    #[test]
    fn fractional_rates_accumulate() {
        let mut pacer = Pacer::new(2.5);
        let total: u64 = (1..=40)
            .map(|tenth| pacer.due(Duration::from_millis(tenth * 100)))
            .sum();
        assert_eq!(total, 10);
    }

    #[test]
    fn pairs_are_two_different_users_and_cover_everyone() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut seen_as_recipient = [false; 5];
        for _ in 0..1000 {
            let (sender, recipient) = pick_pair(&mut rng, 5);
            assert_ne!(sender, recipient);
            assert!(sender < 5 && recipient < 5);
            seen_as_recipient[recipient] = true;
        }
        assert!(seen_as_recipient.iter().all(|seen| *seen));
        for _ in 0..20 {
            assert!(matches!(pick_pair(&mut rng, 2), (0, 1) | (1, 0)));
        }
    }
}
