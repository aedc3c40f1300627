//! The administrator's allow-list past the SSRF guard (`[http] allow_hosts`): host names
//! (`nas.local`) and addresses or networks (`192.168.1.20`, `192.168.1.0/24`, `fd00::/8`).
//! Every other private, loopback or link-local destination stays refused.
//!
//! Written here rather than with `ipnet`: matching a prefix is three lines, and the entries
//! need podsift's own error messages at config load. It lives in the core so the config's
//! check at load and the fetcher's guard parse the entries with the same code.

use std::net::IpAddr;

/// Parsed `allow_hosts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: Vec<String>,
    nets: Vec<(IpAddr, u8)>,
}

impl AllowList {
    /// Parses the entries; the first bad one is an error naming it.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut out = Self::default();
        for raw in entries {
            let e = raw.trim();
            if let Some((ip, bits)) = e.split_once('/') {
                let ip: IpAddr = ip
                    .parse()
                    .map_err(|_| format!("{e:?}: not an address/prefix"))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let bits: u8 = bits
                    .parse()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("{e:?}: the prefix length is 0 to {max}"))?;
                out.nets.push((ip, bits));
            } else if let Ok(ip) = e.trim_matches(['[', ']']).parse::<IpAddr>() {
                out.nets.push((ip, if ip.is_ipv4() { 32 } else { 128 }));
            } else {
                let name = e.trim_end_matches('.').to_ascii_lowercase();
                let ok = !name.is_empty()
                    && name.len() <= 253
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
                if !ok {
                    return Err(format!("{e:?}: not a host name, address or network"));
                }
                out.hosts.push(name);
            }
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.nets.is_empty()
    }

    /// Whether `host` (a name, or an address literal) is allowed by name or network.
    pub fn allows_host(&self, host: &str) -> bool {
        let h = host.trim_end_matches('.').trim_matches(['[', ']']);
        if let Ok(ip) = h.parse::<IpAddr>() {
            return self.allows_ip(ip);
        }
        self.hosts.iter().any(|n| n.eq_ignore_ascii_case(h))
    }

    /// Whether `ip` lies in an allowed network.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.nets.iter().any(|(net, bits)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*bits)).unwrap_or(0);
                u32::from(*n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*bits)).unwrap_or(0);
                u128::from(*n) & mask == u128::from(a) & mask
            }
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(e: &[&str]) -> AllowList {
        AllowList::parse(&e.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn names_addresses_and_networks() {
        let l = list(&["NAS.local.", "192.168.1.0/24", "10.0.0.7", "fd00::/8"]);
        assert!(l.allows_host("nas.local"));
        assert!(!l.allows_host("other.local"));
        assert!(l.allows_ip("192.168.1.200".parse().unwrap()));
        assert!(!l.allows_ip("192.168.2.1".parse().unwrap()));
        assert!(l.allows_host("10.0.0.7"));
        assert!(!l.allows_host("10.0.0.8"));
        assert!(l.allows_ip("fd12::1".parse().unwrap()));
        assert!(
            l.allows_ip("::ffff:192.168.1.3".parse().unwrap()),
            "mapped v4"
        );
        assert!(!l.allows_ip("127.0.0.1".parse().unwrap()));
        assert!(list(&["0.0.0.0/0"]).allows_ip("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in ["10.0.0.0/33", "nas local", "", "fe80::/129", "x/8"] {
            let err = AllowList::parse(&[bad.to_string()]).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }
}
