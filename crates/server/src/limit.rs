//! A token bucket per caller (token, or client address without one):
//! `rate` requests a second sustained, bursts of twice that.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Whom a bucket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    Token(i64),
    Address(std::net::IpAddr),
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Limiter {
    rate: f64,
    buckets: Mutex<HashMap<Caller, Bucket>>,
}

/// Above this many callers, idle full buckets are forgotten.
const MAX_BUCKETS: usize = 100_000;

impl Limiter {
    pub fn new(rate: u32) -> Limiter {
        Limiter { rate: f64::from(rate.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `caller`'s bucket; `Err(seconds)` to wait when empty.
    pub fn check(&self, caller: Caller) -> Result<(), u64> {
        let now = Instant::now();
        let burst = 2.0 * self.rate;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > MAX_BUCKETS {
            let rate = self.rate;
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(caller).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limiter = Limiter::new(5);
        let me = Caller::Token(1);
        for _ in 0..10 {
            assert!(limiter.check(me.clone()).is_ok());
        }
        assert_eq!(limiter.check(me), Err(1));
        assert!(limiter.check(Caller::Token(2)).is_ok(), "buckets are per caller");
    }
}
