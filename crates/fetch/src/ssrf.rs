//! The SSRF guard: feed, transcript and audio URLs are user input, so podsift refuses to
//! talk to anything but public unicast addresses unless `allow_private_networks` is set.
//!
//! Three layers, all applied by [`crate::HttpFetcher`]:
//! 1. [`check_url`] on the requested URL and on every redirect target: scheme, host name
//!    deny-list, and IP literals in any notation (the `url` crate normalises the WHATWG IPv4
//!    forms `2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1` to `127.0.0.1`, and IPv6 literals
//!    in brackets, before we look at them).
//! 2. [`GuardedResolver`], the client's DNS resolver: it drops every resolved address that
//!    [`check_ip`] refuses (and fails when none is left), so the address we connect to is the
//!    one we checked — a DNS rebinding between check and connect cannot slip through.
//! 3. The client uses no proxy (a proxy would resolve the target itself).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use podsift_core::FetchError;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::{AllowList, redact};

/// Why `ip` must not be contacted, or `Ok(())` for a public unicast address.
pub fn check_ip(ip: IpAddr) -> Result<(), &'static str> {
    match ip {
        IpAddr::V4(v4) => check_v4(v4),
        IpAddr::V6(v6) => check_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn check_v4(ip: Ipv4Addr) -> Result<(), &'static str> {
    // (network, prefix, reason), per the IANA IPv4 special-purpose registry.
    const DENY: &[([u8; 4], u32, &str)] = &[
        ([0, 0, 0, 0], 8, "unspecified address (0.0.0.0/8)"),
        ([10, 0, 0, 0], 8, "private address (10.0.0.0/8)"),
        ([100, 64, 0, 0], 10, "shared/CGNAT address (100.64.0.0/10)"),
        ([127, 0, 0, 0], 8, "loopback address"),
        (
            [169, 254, 0, 0],
            16,
            "link-local address (169.254.0.0/16, cloud metadata)",
        ),
        ([172, 16, 0, 0], 12, "private address (172.16.0.0/12)"),
        (
            [192, 0, 0, 0],
            24,
            "IETF protocol assignment (192.0.0.0/24)",
        ),
        ([192, 0, 2, 0], 24, "documentation address (192.0.2.0/24)"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast (192.88.99.0/24)"),
        ([192, 168, 0, 0], 16, "private address (192.168.0.0/16)"),
        ([198, 18, 0, 0], 15, "benchmarking address (198.18.0.0/15)"),
        (
            [198, 51, 100, 0],
            24,
            "documentation address (198.51.100.0/24)",
        ),
        (
            [203, 0, 113, 0],
            24,
            "documentation address (203.0.113.0/24)",
        ),
        ([224, 0, 0, 0], 4, "multicast address"),
        ([255, 255, 255, 255], 32, "broadcast address"),
        ([240, 0, 0, 0], 4, "reserved address (240.0.0.0/4)"),
    ];
    for (net, prefix, reason) in DENY {
        if in_v4(ip, *net, *prefix) {
            return Err(reason);
        }
    }
    Ok(())
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    (u128::from(ip) & mask) == (u128::from(Ipv6Addr::from(net)) & mask)
}

/// The IPv4 address in the low 32 bits.
fn low_v4(ip: Ipv6Addr) -> Ipv4Addr {
    // Truncation to the low 32 bits is the point.
    Ipv4Addr::from((u128::from(ip) & 0xffff_ffff) as u32)
}

fn check_v6(ip: Ipv6Addr) -> Result<(), &'static str> {
    if ip.is_unspecified() {
        return Err("unspecified address (::)");
    }
    if ip.is_loopback() {
        return Err("loopback address");
    }
    // IPv4-mapped ::ffff:a.b.c.d: a v6 socket connects to the v4 address, so judge that.
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96) {
        return check_v4(low_v4(ip))
            .map_err(|_| "IPv4-mapped IPv6 address of a forbidden IPv4 address");
    }
    // IPv4-compatible ::a.b.c.d (deprecated since 2006, never legitimate today).
    if in_v6(ip, [0; 8], 96) {
        return Err("IPv4-compatible IPv6 address (deprecated)");
    }
    // NAT64 well-known prefix 64:ff9b::/96 embeds the IPv4 destination.
    if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return check_v4(low_v4(ip))
            .map_err(|_| "NAT64 address embedding a forbidden IPv4 address");
    }
    if in_v6(ip, [0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48) {
        return Err("local-use NAT64 address (64:ff9b:1::/48)");
    }
    if in_v6(ip, [0xfc00, 0, 0, 0, 0, 0, 0, 0], 7) {
        return Err("unique local address (fc00::/7)");
    }
    if in_v6(ip, [0xfe80, 0, 0, 0, 0, 0, 0, 0], 10) {
        return Err("link-local address (fe80::/10)");
    }
    if in_v6(ip, [0xfec0, 0, 0, 0, 0, 0, 0, 0], 10) {
        return Err("site-local address (fec0::/10, deprecated)");
    }
    if in_v6(ip, [0xff00, 0, 0, 0, 0, 0, 0, 0], 8) {
        return Err("multicast address");
    }
    // Everything else outside global unicast 2000::/3 is reserved or special-purpose
    // (100::/64 discard-only among them).
    if !in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        return Err("not a global unicast IPv6 address");
    }
    // 6to4 2002::/16 embeds an IPv4 address in bits 16..48.
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        let s = ip.segments();
        let v4 = Ipv4Addr::new(
            (s[1] >> 8) as u8,
            (s[1] & 0xff) as u8,
            (s[2] >> 8) as u8,
            (s[2] & 0xff) as u8,
        );
        return check_v4(v4).map_err(|_| "6to4 address embedding a forbidden IPv4 address");
    }
    if in_v6(ip, [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32) {
        return Err("documentation address (2001:db8::/32)");
    }
    if in_v6(ip, [0x3fff, 0, 0, 0, 0, 0, 0, 0], 20) {
        return Err("documentation address (3fff::/20)");
    }
    // 2001::/23: IETF protocol assignments, incl. Teredo 2001::/32 (which hides an IPv4
    // address) and benchmarking 2001:2::/48. No podcast host lives there.
    if in_v6(ip, [0x2001, 0, 0, 0, 0, 0, 0, 0], 23) {
        return Err("IETF special-purpose address (2001::/23, incl. Teredo)");
    }
    Ok(())
}

/// Why a host *name* must not be contacted (whatever it resolves to).
pub fn check_host_name(host: &str) -> Result<(), &'static str> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Err("empty host name");
    }
    if host == "localhost" || host.ends_with(".localhost") || host == "localhost.localdomain" {
        return Err("localhost name");
    }
    if host == "metadata.google.internal" || host == "metadata" || host == "instance-data" {
        return Err("cloud metadata host name");
    }
    const INTERNAL_SUFFIXES: &[&str] = &[
        ".internal",
        ".local",
        ".localdomain",
        ".home.arpa",
        ".lan",
        ".intranet",
        ".corp",
        ".home",
    ];
    if INTERNAL_SUFFIXES.iter().any(|s| host.ends_with(s)) {
        return Err("internal-only host name");
    }
    if !host.contains('.') {
        // `http://intranet/` resolves through the local search domains.
        return Err("single-label host name");
    }
    Ok(())
}

fn blocked(url: &Url, reason: &str) -> FetchError {
    FetchError::Blocked {
        url: redact(url),
        reason: reason.to_owned(),
    }
}

/// Checks a URL before any connection: only `http`/`https` with a host (always, even with
/// `allow_private`), and — unless `allow_private` — no forbidden IP literal or host name.
/// Resolved addresses are checked later by [`GuardedResolver`].
pub fn check_url(url: &Url, allow_private: bool) -> Result<(), FetchError> {
    check_url_allowing(url, allow_private, &AllowList::default())
}

/// [`check_url`] with the administrator's allow-list: a listed host name, address or network
/// passes the guard; everything else private stays refused.
pub fn check_url_allowing(
    url: &Url,
    allow_private: bool,
    allow: &AllowList,
) -> Result<(), FetchError> {
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(FetchError::InvalidUrl {
                url: redact(url),
                reason: format!("scheme {other:?} is not allowed (only http and https)"),
            });
        }
    }
    let Some(host) = url.host() else {
        return Err(FetchError::InvalidUrl {
            url: redact(url),
            reason: "no host".to_owned(),
        });
    };
    if allow_private || allow.allows_host(&host.to_string()) {
        return Ok(());
    }
    match host {
        Host::Ipv4(v4) => check_v4(v4).map_err(|r| blocked(url, r)),
        Host::Ipv6(v6) => check_v6(v6).map_err(|r| blocked(url, r)),
        Host::Domain(name) => {
            // Defence in depth: the url crate turns every IPv4 notation into Host::Ipv4 for
            // special schemes, but should a numeric-looking name get here, judge it as an IP.
            if let Ok(ip) = name.trim_end_matches('.').parse::<IpAddr>() {
                return check_ip(ip).map_err(|r| blocked(url, r));
            }
            check_host_name(name).map_err(|r| blocked(url, r))
        }
    }
}

/// Validates a redirect target (`Location` already resolved against the current URL): the
/// same rules as [`check_url`]. Exposed so the per-hop check can be tested on its own.
pub fn check_redirect_target(target: &Url, allow_private: bool) -> Result<(), FetchError> {
    check_url(target, allow_private)
}

/// A resolver refused a host: every address it resolved to is forbidden.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to forbidden addresses ({reason})")]
pub(crate) struct ResolveBlocked {
    pub(crate) host: String,
    pub(crate) reason: &'static str,
}

/// Why [`GuardedResolver::check_host`] refused a host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostRefused {
    /// It is, or resolves only to, addresses the guard forbids.
    #[error("{0}")]
    Forbidden(String),
    /// It did not resolve (DNS down, no such name).
    #[error("{0}")]
    Unresolved(String),
}

/// A DNS lookup failed.
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup failed for {host}: {reason}")]
pub(crate) struct ResolveFailed {
    pub(crate) host: String,
    pub(crate) reason: String,
}

/// The client's DNS resolver: tokio's `lookup_host` (the system resolver) or a fixed table
/// of overrides, then — when guarding — every address that [`check_ip`] refuses is dropped;
/// no address left is an error.
#[derive(Debug, Clone, Default)]
pub struct GuardedResolver {
    overrides: Arc<HashMap<String, Vec<IpAddr>>>,
    guard: bool,
    allow: Arc<AllowList>,
}

impl GuardedResolver {
    /// A resolver that refuses forbidden addresses when `guard` is true.
    pub fn new(guard: bool) -> Self {
        Self {
            overrides: Arc::default(),
            guard,
            allow: Arc::default(),
        }
    }

    /// Lets the allow-list's hosts and networks through the guard.
    pub fn with_allow(mut self, allow: AllowList) -> Self {
        self.allow = Arc::new(allow);
        self
    }

    /// Whether `host` may be connected to: resolves it and applies the guard, as a request
    /// would.
    pub async fn check_host(&self, host: &str) -> Result<(), HostRefused> {
        match self.resolve_checked(host).await {
            Ok(_) => Ok(()),
            Err(e) if e.downcast_ref::<ResolveBlocked>().is_some() => {
                Err(HostRefused::Forbidden(e.to_string()))
            }
            Err(e) => Err(HostRefused::Unresolved(e.to_string())),
        }
    }

    /// Resolve the given (lower-case) names to fixed addresses instead of asking DNS, like
    /// `curl --resolve`. The guard still applies to them.
    pub fn with_overrides(mut self, overrides: HashMap<String, Vec<IpAddr>>) -> Self {
        self.overrides = Arc::new(
            overrides
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
        );
        self
    }

    /// Resolves `host` and, when guarding, filters the addresses.
    pub(crate) async fn resolve_checked(&self, host: &str) -> Result<Vec<SocketAddr>, BoxError> {
        let listed = self.allow.allows_host(host);
        if self.guard
            && !listed
            && let Err(reason) = check_host_name(host)
        {
            return Err(Box::new(ResolveBlocked {
                host: host.to_owned(),
                reason,
            }));
        }
        let resolved: Vec<SocketAddr> = match self.overrides.get(&host.to_ascii_lowercase()) {
            Some(ips) => ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect(),
            None => tokio::net::lookup_host((host, 0))
                .await
                .map_err(|e| ResolveFailed {
                    host: host.to_owned(),
                    reason: e.to_string(),
                })?
                .collect(),
        };
        if !self.guard || listed {
            if resolved.is_empty() {
                return Err(Box::new(ResolveFailed {
                    host: host.to_owned(),
                    reason: "no addresses".to_owned(),
                }));
            }
            return Ok(resolved);
        }
        filter_resolved(host, resolved, &self.allow)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Keeps the allowed addresses; an error when none is left.
pub(crate) fn filter_resolved(
    host: &str,
    resolved: Vec<SocketAddr>,
    allow: &AllowList,
) -> Result<Vec<SocketAddr>, BoxError> {
    let mut refused = None;
    let allowed: Vec<SocketAddr> = resolved
        .into_iter()
        .filter(|addr| match check_ip(addr.ip()) {
            Ok(()) => true,
            Err(_) if allow.allows_ip(addr.ip()) => true,
            Err(reason) => {
                tracing::debug!(host, ip = %addr.ip(), reason, "dropping forbidden resolved address");
                refused = Some(reason);
                false
            }
        })
        .collect();
    if allowed.is_empty() {
        return Err(match refused {
            Some(reason) => Box::new(ResolveBlocked {
                host: host.to_owned(),
                reason,
            }),
            None => Box::new(ResolveFailed {
                host: host.to_owned(),
                reason: "no addresses".to_owned(),
            }),
        });
    }
    Ok(allowed)
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let this = self.clone();
        Box::pin(async move {
            let addrs = this.resolve_checked(&host).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(ips: &[&str]) -> Vec<SocketAddr> {
        ips.iter()
            .map(|s| SocketAddr::new(s.parse().unwrap(), 0))
            .collect()
    }

    #[test]
    fn mixed_answers_keep_only_public_addresses() {
        let kept = filter_resolved(
            "rebind.example.com",
            addrs(&[
                "127.0.0.1",
                "93.184.216.34",
                "10.1.1.1",
                "2606:4700::1111",
                "fe80::1",
            ]),
            &AllowList::default(),
        )
        .unwrap();
        assert_eq!(kept, addrs(&["93.184.216.34", "2606:4700::1111"]));
    }

    #[test]
    fn all_forbidden_is_blocked_and_empty_is_dns_failure() {
        let err = filter_resolved(
            "x.example.com",
            addrs(&["127.0.0.1", "::1"]),
            &AllowList::default(),
        )
        .unwrap_err();
        assert!(err.downcast_ref::<ResolveBlocked>().is_some(), "{err}");
        let err = filter_resolved("x.example.com", Vec::new(), &AllowList::default()).unwrap_err();
        assert!(err.downcast_ref::<ResolveFailed>().is_some(), "{err}");
    }

    #[tokio::test]
    async fn guarded_resolver_refuses_internal_names_before_dns() {
        let r = GuardedResolver::new(true);
        for host in ["localhost", "metadata.google.internal", "nas.local"] {
            let err = r.resolve_checked(host).await.unwrap_err();
            assert!(
                err.downcast_ref::<ResolveBlocked>().is_some(),
                "{host}: {err}"
            );
        }
        // Unguarded, overrides are returned as they are.
        let open = GuardedResolver::new(false).with_overrides(HashMap::from([(
            "Box.Example.com".to_owned(),
            vec!["10.0.0.2".parse().unwrap()],
        )]));
        let got = open.resolve_checked("box.example.com").await.unwrap();
        assert_eq!(got, addrs(&["10.0.0.2"]));
    }

    #[tokio::test]
    async fn the_allow_list_lets_its_hosts_and_networks_through_and_nothing_else() {
        let allow = AllowList::parse(&["nas.local".into(), "192.168.1.0/24".into()]).unwrap();
        let r = GuardedResolver::new(true)
            .with_allow(allow.clone())
            .with_overrides(HashMap::from([
                ("nas.local".to_owned(), vec!["10.9.9.9".parse().unwrap()]),
                (
                    "printer.example".to_owned(),
                    vec!["192.168.1.7".parse().unwrap()],
                ),
                (
                    "db.example".to_owned(),
                    vec!["192.168.2.7".parse().unwrap()],
                ),
            ]));
        assert!(r.check_host("nas.local").await.is_ok(), "a listed name");
        assert!(
            r.check_host("printer.example").await.is_ok(),
            "a listed network"
        );
        assert!(
            r.check_host("db.example").await.is_err(),
            "outside the network"
        );
        assert!(r.check_host("localhost").await.is_err());
        let url = |u: &str| Url::parse(u).unwrap();
        assert!(check_url_allowing(&url("http://nas.local/f"), false, &allow).is_ok());
        assert!(check_url_allowing(&url("http://192.168.1.9/f"), false, &allow).is_ok());
        assert!(check_url_allowing(&url("http://192.168.3.9/f"), false, &allow).is_err());
        assert!(check_url_allowing(&url("http://127.0.0.1/f"), false, &allow).is_err());
    }
}
