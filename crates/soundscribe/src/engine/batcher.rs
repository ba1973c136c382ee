//! Dynamic batching: run a batch when `max_batch` items wait or when the oldest has waited
//! `max_wait`, whichever comes first (WhisperLive's 8 / 50 ms are the defaults).
//!
//! The clock is injected so the policy is tested with simulated time.

use std::time::{Duration, Instant};

/// A source of monotonic time.
pub trait Clock {
    /// Now.
    fn now(&self) -> Instant;
}

/// The system's monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// What the batcher decided after being offered input.
#[derive(Debug, PartialEq, Eq)]
pub enum Ready<T> {
    /// A batch to run now, oldest first.
    Batch(Vec<T>),
    /// Nothing to run yet; ask again at this deadline (or when new input arrives).
    WaitUntil(Instant),
    /// Nothing is waiting.
    Idle,
}

/// Collects items into batches of at most `max_batch`, holding none longer than `max_wait`.
#[derive(Debug)]
pub struct Batcher<T, C: Clock = SystemClock> {
    max_batch: usize,
    max_wait: Duration,
    clock: C,
    pending: Vec<(Instant, T)>,
}

impl<T, C: Clock> Batcher<T, C> {
    /// A batcher; `max_batch` is at least 1.
    pub fn new(max_batch: usize, max_wait: Duration, clock: C) -> Self {
        Batcher {
            max_batch: max_batch.max(1),
            max_wait,
            clock,
            pending: Vec::new(),
        }
    }

    /// Adds an item, stamped with the current time.
    pub fn push(&mut self, item: T) {
        let now = self.clock.now();
        self.pending.push((now, item));
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// A full batch, or the waiting items once the oldest has waited `max_wait`.
    pub fn poll(&mut self) -> Ready<T> {
        let Some(&(oldest, _)) = self.pending.first() else {
            return Ready::Idle;
        };
        let deadline = oldest + self.max_wait;
        if self.pending.len() >= self.max_batch || self.clock.now() >= deadline {
            let n = self.pending.len().min(self.max_batch);
            Ready::Batch(self.pending.drain(..n).map(|(_, t)| t).collect())
        } else {
            Ready::WaitUntil(deadline)
        }
    }

    /// Everything waiting, in batches of at most `max_batch` (for shutdown).
    pub fn drain(&mut self) -> Vec<Vec<T>> {
        let items: Vec<T> = self.pending.drain(..).map(|(_, t)| t).collect();
        let mut out = Vec::new();
        let mut it = items.into_iter().peekable();
        while it.peek().is_some() {
            out.push(it.by_ref().take(self.max_batch).collect());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;

    /// Simulated time, advanced by hand.
    #[derive(Clone)]
    struct FakeClock(Rc<Cell<Instant>>);

    impl FakeClock {
        fn advance(&self, d: Duration) {
            self.0.set(self.0.get() + d);
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            self.0.get()
        }
    }

    fn setup(max_batch: usize) -> (Batcher<u32, FakeClock>, FakeClock) {
        let clock = FakeClock(Rc::new(Cell::new(Instant::now())));
        (
            Batcher::new(max_batch, Duration::from_millis(50), clock.clone()),
            clock,
        )
    }

    #[test]
    fn full_batch_runs_at_once() {
        let (mut b, _) = setup(3);
        for i in 0..4 {
            b.push(i);
        }
        assert_eq!(b.poll(), Ready::Batch(vec![0, 1, 2]));
        assert!(matches!(b.poll(), Ready::WaitUntil(_)));
    }

    #[test]
    fn partial_batch_waits_for_the_oldest_deadline() {
        let (mut b, clock) = setup(8);
        assert_eq!(b.poll(), Ready::Idle);
        b.push(1);
        let t0 = clock.now();
        clock.advance(Duration::from_millis(30));
        b.push(2);
        assert_eq!(b.poll(), Ready::WaitUntil(t0 + Duration::from_millis(50)));
        clock.advance(Duration::from_millis(19));
        assert!(matches!(b.poll(), Ready::WaitUntil(_)));
        clock.advance(Duration::from_millis(1));
        assert_eq!(b.poll(), Ready::Batch(vec![1, 2]));
        assert_eq!(b.poll(), Ready::Idle);
    }

    #[test]
    fn drain_returns_everything_in_order() {
        let (mut b, _) = setup(2);
        for i in 0..5 {
            b.push(i);
        }
        assert_eq!(b.drain(), vec![vec![0, 1], vec![2, 3], vec![4]]);
        assert!(b.is_empty());
    }
}
