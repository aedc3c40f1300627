//! The sign-in limiter and the client's address.
//!
//! No lock-out: failed sign-ins in a row make the next attempt wait, and the wait doubles
//! with each further failure (up to a cap). An attempt before the wait is over is refused
//! with 429 and `Retry-After`, and does not count. The waits are kept per account *and*
//! client address, so someone guessing Ann's password from elsewhere never makes Ann wait;
//! and per address (any account), so one address cannot try many accounts quickly. A
//! success clears both.
//!
//! The client's address is the peer's, unless the peer is a trusted reverse proxy
//! (`[web] trusted_proxies`): then it is the right-most address in `X-Forwarded-For` that is
//! not a trusted proxy (the entries left of it are the client's own claims).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use podsift_core::config::IpNet;

use crate::AppState;

/// Sign-in delays.
#[derive(Debug, Clone)]
pub struct LoginLimits {
    /// Failed attempts in a row on one account from one address before each further attempt
    /// from there waits.
    pub free_failures: u32,
    /// Failed attempts in a row from one address (any account) before it waits.
    pub free_failures_per_ip: u32,
    /// The first wait; each further failure doubles it.
    pub base_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            free_failures: 3,
            free_failures_per_ip: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
        }
    }
}

impl LoginLimits {
    /// From `[web]`.
    pub fn from_config(c: &podsift_core::config::WebConfig) -> Self {
        Self {
            free_failures: c.login_free_failures,
            free_failures_per_ip: c.login_free_failures_per_address,
            base_delay: Duration::from_millis(c.login_delay_ms.max(1)),
            max_delay: Duration::from_secs(c.login_max_delay_secs),
        }
    }

    /// The wait after `failures` in a row, when `free` are allowed without one.
    fn delay(&self, failures: u32, free: u32) -> Option<Duration> {
        let over = failures.checked_sub(free)?;
        let factor = 2u32.checked_pow(over).unwrap_or(u32::MAX);
        Some(
            self.base_delay
                .checked_mul(factor)
                .unwrap_or(self.max_delay)
                .min(self.max_delay),
        )
    }
}

/// The keys of one sign-in attempt.
pub(crate) struct Keys {
    account: String,
    ip: String,
}

impl Keys {
    pub fn new(ip: &str, email: &str) -> Self {
        Self {
            account: format!("{}\n{ip}", email.trim().to_lowercase()),
            ip: ip.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Failures in a row, in memory (one process; restarting clears them).
pub(crate) struct RateLimiter {
    limits: LoginLimits,
    accounts: Mutex<HashMap<String, Failures>>,
    ips: Mutex<HashMap<String, Failures>>,
}

/// Entries kept before quiet ones are swept.
const MAX_ENTRIES: usize = 10_000;

fn wait_left(
    map: &Mutex<HashMap<String, Failures>>,
    key: &str,
    delay: impl Fn(u32) -> Option<Duration>,
) -> Option<Duration> {
    let map = map.lock().unwrap_or_else(|e| e.into_inner());
    let f = map.get(key)?;
    delay(f.count)?
        .checked_sub(f.last.elapsed())
        .filter(|d| !d.is_zero())
}

impl RateLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            accounts: Mutex::new(HashMap::new()),
            ips: Mutex::new(HashMap::new()),
        }
    }

    /// How long this attempt must still wait, if it must.
    pub fn wait(&self, keys: &Keys) -> Option<Duration> {
        let l = &self.limits;
        let account = wait_left(&self.accounts, &keys.account, |n| {
            l.delay(n, l.free_failures)
        });
        let ip = wait_left(&self.ips, &keys.ip, |n| l.delay(n, l.free_failures_per_ip));
        account.max(ip)
    }

    pub fn failed(&self, keys: &Keys) {
        let now = Instant::now();
        // A quiet key is forgotten after twice the longest wait.
        let forget = self.limits.max_delay.saturating_mul(2);
        for (map, key) in [(&self.accounts, &keys.account), (&self.ips, &keys.ip)] {
            let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() >= MAX_ENTRIES {
                map.retain(|_, f| f.last.elapsed() < forget);
            }
            let f = map.entry(key.clone()).or_insert(Failures {
                count: 0,
                last: now,
            });
            if f.last.elapsed() >= forget {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
    }

    pub fn succeeded(&self, keys: &Keys) {
        for (map, key) in [(&self.accounts, &keys.account), (&self.ips, &keys.ip)] {
            map.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
        }
    }
}

/// The client's address (for the sign-in limiter); "unknown" without connect info.
pub(crate) struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(Self(client_ip(
            peer,
            &forwarded.join(","),
            &app.web.config.trusted_proxies,
        )))
    }
}

/// The peer, or behind trusted proxies the right-most forwarded address that is not one.
/// An entry that is not an address ends the walk at the proxy that appended it.
pub(crate) fn client_ip(peer: Option<IpAddr>, forwarded: &str, trusted: &[IpNet]) -> String {
    let Some(peer) = peer else {
        return "unknown".into();
    };
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer;
    if is_trusted(peer) {
        for entry in forwarded
            .rsplit(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let Ok(ip) = entry.parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !is_trusted(ip) {
                break;
            }
        }
    }
    client.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1"]);
        let proxy = Some("10.1.2.3".parse().unwrap());
        let remote = Some("203.0.113.9".parse().unwrap());
        // The right-most untrusted entry; what the client wrote further left is ignored.
        assert_eq!(
            client_ip(proxy, "6.6.6.6, 198.51.100.7, 10.9.9.9", &trusted),
            "198.51.100.7"
        );
        assert_eq!(client_ip(proxy, "", &trusted), "10.1.2.3");
        assert_eq!(client_ip(proxy, "garbage", &trusted), "10.1.2.3");
        assert_eq!(client_ip(remote, "198.51.100.7", &trusted), "203.0.113.9");
        assert_eq!(client_ip(proxy, "198.51.100.7", &[]), "10.1.2.3");
        assert_eq!(client_ip(None, "198.51.100.7", &trusted), "unknown");
    }

    #[test]
    fn waits_grow_and_never_lock() {
        let l = RateLimiter::new(LoginLimits {
            free_failures: 2,
            free_failures_per_ip: 100,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(35),
        });
        let ann_here = Keys::new("1.1.1.1", "ann@example.org");
        let ann_there = Keys::new("2.2.2.2", "Ann@example.org");
        l.failed(&ann_here);
        assert!(l.wait(&ann_here).is_none(), "free failures");
        l.failed(&ann_here);
        let w = l.wait(&ann_here).unwrap();
        assert!(
            w > Duration::from_secs(9) && w <= Duration::from_secs(10),
            "{w:?}"
        );
        assert!(
            l.wait(&ann_there).is_none(),
            "another address is not slowed"
        );
        l.failed(&ann_here);
        assert!(
            l.wait(&ann_here).unwrap() > Duration::from_secs(19),
            "doubled"
        );
        for _ in 0..10 {
            l.failed(&ann_here);
        }
        assert!(
            l.wait(&ann_here).unwrap() <= Duration::from_secs(35),
            "capped"
        );
        l.succeeded(&ann_here);
        assert!(l.wait(&ann_here).is_none());
    }

    #[test]
    fn delays_double_from_the_base() {
        let l = LoginLimits {
            free_failures: 3,
            free_failures_per_ip: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        };
        assert_eq!(l.delay(2, 3), None);
        assert_eq!(l.delay(3, 3), Some(Duration::from_secs(1)));
        assert_eq!(l.delay(5, 3), Some(Duration::from_secs(4)));
        assert_eq!(l.delay(40, 3), Some(Duration::from_secs(60)));
    }
}
