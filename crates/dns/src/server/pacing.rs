//! When a UDP thread should pause before its next read. Queries that are
//! read a few at a time each cost the kernel a wake-up and a short send;
//! a short pause after a thin batch lets them gather into a full one,
//! which under heavy load halves the kernel's work a query. But a client
//! that keeps only a few queries outstanding gains nothing from waiting
//! (no more will come until it has its answers) and would only see its
//! answers later. So a thread pauses only while pausing pays: after a
//! thin batch, if the last pause was followed by a full one; and, to find
//! out whether it would, once every [`PROBE_EVERY`] thin batches.

use std::time::Duration;

/// A read that finds fewer queries than this waiting is thin.
pub(super) const FULL: usize = 32;
/// How long a thread waits after a thin batch, when it does.
pub(super) const PAUSE: Duration = Duration::from_micros(100);
/// Thin batches between two tries of a pause when pausing has not paid.
const PROBE_EVERY: u32 = 16;

/// One thread's pacing state.
#[derive(Debug, Default)]
pub(super) struct Pacing {
    /// The last pause was followed by a full batch: keep pausing.
    pays: bool,
    paused_last: bool,
    thin_since_try: u32,
}

impl Pacing {
    /// Called with the number of queries each read found, once they are
    /// answered; true: pause for [`PAUSE`] before the next read. A lone
    /// query never leads to a pause (no other query came with it), and
    /// the pause comes after the answers are sent, so none waits for it.
    pub(super) fn pause_after(&mut self, received: usize) -> bool {
        if self.paused_last {
            self.pays = received >= FULL;
        }
        let thin = (2..FULL).contains(&received);
        let pause = thin && (self.pays || self.thin_since_try >= PROBE_EVERY);
        if pause {
            self.thin_since_try = 0;
        } else if thin {
            self.thin_since_try += 1;
        }
        self.paused_last = pause;
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of `reads` (each a read's count) were followed by a pause.
    fn pauses(pacing: &mut Pacing, reads: impl IntoIterator<Item = usize>) -> usize {
        reads.into_iter().filter(|r| pacing.pause_after(*r)).count()
    }

    #[test]
    fn lone_queries_and_full_batches_never_pause() {
        let mut p = Pacing::default();
        assert_eq!(pauses(&mut p, std::iter::repeat_n(1, 10_000)), 0);
        assert_eq!(pauses(&mut p, std::iter::repeat_n(FULL, 10_000)), 0);
        assert_eq!(pauses(&mut p, std::iter::repeat_n(0, 10)), 0);
    }

    #[test]
    fn a_client_with_few_queries_outstanding_is_paused_for_only_to_try_it() {
        // Sixteen outstanding: a pause never gathers more than sixteen.
        let mut p = Pacing::default();
        let reads = 100 * (PROBE_EVERY as usize + 1);
        assert_eq!(pauses(&mut p, std::iter::repeat_n(16, reads)), 100, "one try in every {PROBE_EVERY} + 1");
    }

    #[test]
    fn pausing_goes_on_while_a_pause_gathers_a_full_batch_and_stops_when_not() {
        let mut p = Pacing::default();
        // Heavy load read without pausing: thin batches, until a try.
        assert_eq!(pauses(&mut p, std::iter::repeat_n(20, PROBE_EVERY as usize)), 0);
        assert!(p.pause_after(20), "the try");
        // The try gathered a full batch; from then on every thin batch pauses.
        assert!(!p.pause_after(150));
        assert_eq!(pauses(&mut p, [20, 150, 25, 140, 3, 120]), 3);
        // A pause that gathers a thin batch ends it.
        assert!(p.pause_after(20));
        assert!(!p.pause_after(12), "this pause gathered only twelve");
        // The thin batch after the failed pause counts towards the next try.
        assert_eq!(pauses(&mut p, std::iter::repeat_n(20, PROBE_EVERY as usize - 1)), 0, "until the next try");
        assert!(p.pause_after(20), "the next try");
    }
}
