//! `[web]`: the HTTP server of `podsift serve` (web UI, JSON API, vote links, `/metrics`):
//! which reverse proxies are believed, sign-in delays, timeouts and limits, and who may read
//! `/metrics`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ConfigError;

/// An address range: `10.0.0.0/8`, `fd00::/8`, or one address (`127.0.0.1`, a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in the range (an IPv4-mapped IPv6 address counts as its IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an IP address or CIDR range (10.0.0.0/8, ::1)");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for IpNet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

config_enum! {
    /// `[web] metrics`: who may read `/metrics`.
    MetricsAccess {
        /// Anyone who reaches the port.
        Public = "public",
        /// Only clients on the same host (a loopback peer); others get 403.
        Loopback = "loopback",
        /// `Authorization: Bearer TOKEN`, the token in the variable `metrics_token_env`;
        /// without it 401.
        Token = "token",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Reverse proxies whose `X-Forwarded-For` is believed: addresses or CIDR ranges. The
    /// client is the right-most address in the header that is not one of them; a request
    /// from any other peer is that peer, whatever its header says.
    pub trusted_proxies: Vec<IpNet>,
    /// Sign-in: failed attempts in a row on one account from one address before each
    /// further attempt from there must wait.
    pub login_free_failures: u32,
    /// Failed attempts in a row from one address (any account) before it must wait.
    pub login_free_failures_per_address: u32,
    /// The first wait, in milliseconds; each further failure doubles it.
    pub login_delay_ms: u64,
    /// The longest wait.
    pub login_max_delay_secs: u64,
    /// A client must send a request's headers within this long (slow senders are cut off).
    pub header_timeout_secs: u64,
    /// A request's body must arrive within this long.
    pub body_timeout_secs: u64,
    /// A whole request, waiting for its turn and the answer included, must finish within
    /// this long (408 otherwise).
    pub request_timeout_secs: u64,
    /// Largest request body (an OPML import, a form) in bytes; larger is 413.
    pub max_body_bytes: u64,
    /// Requests handled at once; more wait (and time out) rather than pile up.
    pub max_concurrent_requests: usize,
    pub metrics: MetricsAccess,
    /// The environment variable that holds `/metrics`' bearer token (`metrics = "token"`).
    pub metrics_token_env: String,
    /// Feeds one user may have waiting to be added at once (the add form and OPML imports
    /// fetch in the background); more are refused until those are done.
    pub max_pending_feed_adds: usize,
    /// How long the add form waits for a feed to be fetched and checked before it answers
    /// "being added" (the feed then appears when it is ready).
    pub add_feed_wait_secs: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            // A reverse proxy on the same host.
            trusted_proxies: vec![
                IpNet {
                    addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                    prefix: 32,
                },
                IpNet {
                    addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
                    prefix: 128,
                },
            ],
            login_free_failures: 3,
            login_free_failures_per_address: 10,
            login_delay_ms: 1000,
            login_max_delay_secs: 15 * 60,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            request_timeout_secs: 300,
            max_body_bytes: 10 * 1024 * 1024,
            max_concurrent_requests: 256,
            metrics: MetricsAccess::Loopback,
            metrics_token_env: "PODSIFT_METRICS_TOKEN".into(),
            max_pending_feed_adds: 500,
            add_feed_wait_secs: 5,
        }
    }
}

impl WebConfig {
    /// Values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &'static str, problem: &str| {
            Err(ConfigError {
                key,
                problem: problem.to_owned(),
            })
        };
        if self.login_delay_ms == 0 {
            return err("web.login_delay_ms", "must be at least 1");
        }
        if self.login_max_delay_secs.saturating_mul(1000) < self.login_delay_ms {
            return err(
                "web.login_max_delay_secs",
                "must be at least login_delay_ms",
            );
        }
        for (key, v) in [
            ("web.header_timeout_secs", self.header_timeout_secs),
            ("web.body_timeout_secs", self.body_timeout_secs),
            ("web.request_timeout_secs", self.request_timeout_secs),
            ("web.max_body_bytes", self.max_body_bytes),
        ] {
            if v == 0 {
                return err(key, "must be at least 1");
            }
        }
        if self.max_concurrent_requests == 0 {
            return err("web.max_concurrent_requests", "must be at least 1");
        }
        if self.metrics == MetricsAccess::Token && self.metrics_token_env.trim().is_empty() {
            return err(
                "web.metrics_token_env",
                "metrics = \"token\" needs the variable that holds the token",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_match() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.1.2")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped");
        let one: IpNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")) && !all.contains(ip("::2")));
        for bad in ["10.0.0.0/33", "localhost", "10.0.0/8", "::1/129", ""] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
        assert_eq!(net.to_string(), "10.0.0.0/8");
    }

    #[test]
    fn the_section_is_typed_and_checked() {
        let c: WebConfig = toml_like(r#"{"trusted_proxies": ["10.0.0.0/8", "::1"]}"#).unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        assert!(toml_like(r#"{"trusted_proxies": ["10.0.0.0/40"]}"#).is_err());
        assert!(toml_like(r#"{"metrics": "everyone"}"#).is_err());
        assert!(toml_like(r#"{"trusted_proxie": []}"#).is_err());
        assert!(WebConfig::default().validate().is_ok());
        let zero = WebConfig {
            header_timeout_secs: 0,
            ..WebConfig::default()
        };
        assert_eq!(
            zero.validate().map_err(|e| e.key),
            Err("web.header_timeout_secs")
        );
    }

    fn toml_like(json: &str) -> Result<WebConfig, serde_json::Error> {
        serde_json::from_str(json)
    }
}
