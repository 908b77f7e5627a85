//! In-memory rate limits: a token bucket per instance for ingest, and exact
//! sliding windows per client address for registrations and pairing claims.
//!
//! Client addresses live only here, in memory, for as long as the window
//! needs them; they are never stored or logged.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before idle ones are pruned.
const PRUNE_AT: usize = 4096;

/// A token bucket per key: `rate` per second, up to `burst` at once.
#[derive(Debug)]
pub struct TokenBuckets<K> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq + Copy> TokenBuckets<K> {
    /// Buckets refilling at `rate` per second, holding at most `burst`.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says how long until one is there.
    pub fn take(&self, key: K, now: Instant) -> Result<(), Duration> {
        let Ok(mut map) = self.buckets.lock() else {
            return Ok(()); // A poisoned limiter must not take the API down.
        };
        if map.len() >= PRUNE_AT {
            let full_after = Duration::from_secs_f64(self.burst / self.rate);
            map.retain(|_, (_, at)| now.duration_since(*at) < full_after);
        }
        let (tokens, at) = map.entry(key).or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * self.rate;
        *tokens = (*tokens + refill).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.rate))
        }
    }
}

/// At most `limit` events per key in any `window`.
#[derive(Debug)]
pub struct SlidingWindow<K> {
    limit: usize,
    window: Duration,
    hits: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Hash + Eq + Copy> SlidingWindow<K> {
    /// A window of `window` allowing `limit` events.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1) as usize,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Records an event for `key` if allowed, or says how long until it is.
    pub fn hit(&self, key: K, now: Instant) -> Result<(), Duration> {
        let Ok(mut map) = self.hits.lock() else {
            return Ok(());
        };
        let window = self.window;
        let expired = |t: &Instant| now.saturating_duration_since(*t) >= window;
        if map.len() >= PRUNE_AT {
            map.retain(|_, q| q.back().is_some_and(|t| !expired(t)));
        }
        let q = map.entry(key).or_default();
        while q.front().is_some_and(expired) {
            q.pop_front();
        }
        if q.len() >= self.limit {
            let oldest = q.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now.saturating_duration_since(oldest)));
        }
        q.push_back(now);
        Ok(())
    }
}

/// Whole seconds to wait, rounded up, at least 1.
pub fn retry_secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let b = TokenBuckets::new(5.0, 20);
        let t = Instant::now();
        for _ in 0..20 {
            b.take(1, t).unwrap();
        }
        let wait = b.take(1, t).unwrap_err();
        assert!(wait <= Duration::from_millis(200) && wait > Duration::ZERO);
        // Another key is unaffected.
        b.take(2, t).unwrap();
        // After 200 ms, exactly one more.
        let t2 = t + Duration::from_millis(200);
        b.take(1, t2).unwrap();
        assert!(b.take(1, t2).is_err());
        assert_eq!(retry_secs(Duration::from_millis(200)), 1);
    }

    #[test]
    fn window_is_exact() {
        let w = SlidingWindow::new(2, Duration::from_secs(3600));
        let t = Instant::now();
        w.hit(1, t).unwrap();
        w.hit(1, t + Duration::from_secs(10)).unwrap();
        let wait = w.hit(1, t + Duration::from_secs(20)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(3580));
        w.hit(1, t + Duration::from_secs(3600)).unwrap();
        assert!(w.hit(1, t + Duration::from_secs(3601)).is_err());
        w.hit(2, t).unwrap();
    }
}
