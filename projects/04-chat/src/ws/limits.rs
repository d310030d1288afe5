//! Per-connection budgets: a sliding window of the last N actions.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(10);

/// At most `limit` actions per [`WINDOW`]; refusals are counted, and a connection refused
/// more than `limit` times in one window is abusing it (closed with 1008).
pub struct Budget {
    limit: usize,
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
        Self {
            limit: limit.max(1) as usize,
            recent: VecDeque::new(),
            refused: VecDeque::new(),
        }
    }

    pub fn take(&mut self) -> Verdict {
        let now = Instant::now();
        let expired = |q: &mut VecDeque<Instant>| {
            while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
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
}
