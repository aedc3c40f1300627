//! Per-host politeness: at most `concurrency` requests in flight to one host, and request
//! starts to one host at least `interval` apart.
//!
//! Hand-rolled (a map of semaphores plus a next-start time) because `governor` only rate
//! limits — it has no notion of in-flight concurrency — so we would need this map anyway.
//! Memory stays bounded for any number of hosts: an entry that nobody holds or waits on and
//! whose interval has elapsed carries no state, and such entries are swept whenever the map
//! has doubled since the last sweep (amortised O(1) per request).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Entries kept before the first sweep.
const MIN_SWEEP_LEN: usize = 1024;

struct HostState {
    slots: Arc<Semaphore>,
    next_start: Mutex<Instant>,
}

struct Map {
    hosts: HashMap<String, Arc<HostState>>,
    sweep_at: usize,
}

/// The per-host limiter; see the module docs.
pub(crate) struct HostLimiter {
    concurrency: usize,
    interval: Duration,
    map: Mutex<Map>,
}

/// Held while a request to a host is in flight; frees the slot on drop.
pub(crate) struct HostPermit {
    _permit: OwnedSemaphorePermit,
    _state: Arc<HostState>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl HostLimiter {
    pub(crate) fn new(concurrency: usize, interval: Duration) -> Self {
        Self {
            concurrency: concurrency.max(1),
            interval,
            map: Mutex::new(Map {
                hosts: HashMap::new(),
                sweep_at: MIN_SWEEP_LEN,
            }),
        }
    }

    /// Waits for a slot for `host` and for the host's interval, then returns the permit.
    pub(crate) async fn acquire(&self, host: &str) -> HostPermit {
        let state = {
            let mut map = lock(&self.map);
            if map.hosts.len() >= map.sweep_at {
                let now = Instant::now();
                map.hosts
                    .retain(|_, s| Arc::strong_count(s) > 1 || *lock(&s.next_start) > now);
                map.sweep_at = (map.hosts.len() * 2).max(MIN_SWEEP_LEN);
            }
            map.hosts
                .entry(host.to_owned())
                .or_insert_with(|| {
                    Arc::new(HostState {
                        slots: Arc::new(Semaphore::new(self.concurrency)),
                        next_start: Mutex::new(Instant::now()),
                    })
                })
                .clone()
        };
        // The semaphore is never closed, so this cannot fail; a closed one would only mean
        // "no limit", which we refuse to silently grant by looping on a fresh semaphore.
        let permit = loop {
            if let Ok(p) = state.slots.clone().acquire_owned().await {
                break p;
            }
        };
        if !self.interval.is_zero() {
            let start = {
                let mut next = lock(&state.next_start);
                let start = (*next).max(Instant::now());
                *next = start + self.interval;
                start
            };
            tokio::time::sleep_until(start).await;
        }
        HostPermit {
            _permit: permit,
            _state: state,
        }
    }

    /// Hosts currently tracked (for tests of the memory bound).
    #[cfg(test)]
    pub(crate) fn tracked_hosts(&self) -> usize {
        lock(&self.map).hosts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn map_stays_bounded_over_many_hosts() {
        let limiter = HostLimiter::new(2, Duration::ZERO);
        for i in 0..20_000 {
            let _p = limiter.acquire(&format!("host{i}.example")).await;
        }
        assert!(
            limiter.tracked_hosts() <= 2 * MIN_SWEEP_LEN,
            "tracked {}",
            limiter.tracked_hosts()
        );
    }

    #[tokio::test]
    async fn held_permits_are_not_swept() {
        let limiter = HostLimiter::new(1, Duration::ZERO);
        let held = limiter.acquire("busy.example").await;
        for i in 0..5_000 {
            let _p = limiter.acquire(&format!("host{i}.example")).await;
        }
        // busy.example still has its single slot taken: a second acquire must wait.
        let second =
            tokio::time::timeout(Duration::from_millis(50), limiter.acquire("busy.example")).await;
        assert!(second.is_err(), "slot of a held host was lost in a sweep");
        drop(held);
        let third =
            tokio::time::timeout(Duration::from_secs(5), limiter.acquire("busy.example")).await;
        assert!(third.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn interval_spaces_request_starts() {
        let limiter = HostLimiter::new(4, Duration::from_millis(100));
        let t0 = Instant::now();
        for _ in 0..3 {
            let _p = limiter.acquire("a.example").await;
        }
        // Starts at 0, 100, 200 ms (virtual time).
        assert!(t0.elapsed() >= Duration::from_millis(200));
        // Another host is not delayed by a.example.
        let t1 = Instant::now();
        let _p = limiter.acquire("b.example").await;
        assert!(t1.elapsed() < Duration::from_millis(100));
    }
}
