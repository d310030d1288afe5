//! Per-connection budgets: a sliding window of the last N actions, and one of bytes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(10);

/// At most `limit` actions per [`WINDOW`]; refusals are counted, and a connection refused
/// more than `limit` times in one window is abusing it (closed with 1008).
pub struct Budget {
    limit: usize,
    window: Duration,
    recent: VecDeque<Instant>,
    refused: VecDeque<Instant>,
}

pub enum Verdict {
    Allowed,
    Refused,
    Abuse,
}

impl Budget {
    pub fn new(limit: u32) -> Self {
        Self::per(limit, WINDOW)
    }

    /// At most `limit` actions per `window`.
    pub fn per(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1) as usize,
            window,
            recent: VecDeque::new(),
            refused: VecDeque::new(),
        }
    }

    pub fn take(&mut self) -> Verdict {
        let now = Instant::now();
        let window = self.window;
        let expired = |q: &mut VecDeque<Instant>| {
            while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
                q.pop_front();
            }
        };
        expired(&mut self.recent);
        expired(&mut self.refused);
        if self.recent.len() < self.limit {
            self.recent.push_back(now);
            return Verdict::Allowed;
        }
        if self.refused.len() >= self.limit {
            return Verdict::Abuse;
        }
        self.refused.push_back(now);
        Verdict::Refused
    }
}

/// At most `limit` bytes per `window`: what a connection may be sent in replays.
pub struct ByteBudget {
    limit: usize,
    window: Duration,
    spent: VecDeque<(Instant, usize)>,
    total: usize,
}

impl ByteBudget {
    pub fn per(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            spent: VecDeque::new(),
            total: 0,
        }
    }

    /// How many bytes may still be spent in this window.
    pub fn available(&mut self) -> usize {
        let now = Instant::now();
        while let Some(&(at, n)) = self.spent.front() {
            if now.duration_since(at) < self.window {
                break;
            }
            self.total -= n;
            self.spent.pop_front();
        }
        self.limit.saturating_sub(self.total)
    }

    pub fn spend(&mut self, bytes: usize) {
        if bytes > 0 {
            self.spent.push_back((Instant::now(), bytes));
            self.total += bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_then_refuses_then_calls_it_abuse() {
        let mut budget = Budget::new(3);
        for _ in 0..3 {
            assert!(matches!(budget.take(), Verdict::Allowed));
        }
        for _ in 0..3 {
            assert!(matches!(budget.take(), Verdict::Refused));
        }
        assert!(matches!(budget.take(), Verdict::Abuse));
    }

    #[test]
    fn bytes_are_spent_and_come_back_after_the_window() {
        let mut budget = ByteBudget::per(100, Duration::from_millis(50));
        assert_eq!(budget.available(), 100);
        budget.spend(70);
        assert_eq!(budget.available(), 30);
        budget.spend(30);
        assert_eq!(budget.available(), 0);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(budget.available(), 100);
    }
}
