//! The SSRF guard on addresses and URL notations.

use std::net::IpAddr;

use podsift_core::FetchError;
use podsift_fetch::ssrf::{check_host_name, check_ip, check_url};
use url::Url;

const FORBIDDEN_IPS: &[&str] = &[
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.0.1",
    "192.168.255.255",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "::8.8.8.8",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::1",
    "2002:7f00:1::1",
    "2002:a00:1::",
    "2002:c0a8:101::1",
    "2001:db8::1",
    "2001::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001:2::1",
    "3fff::1",
    "fc00::1",
    "fd12:3456:789a::1",
    "fe80::1",
    "febf::1",
    "fec0::1",
    "ff02::1",
    "ff05::1:3",
    "100::1",
    "1::1",
    "::2",
];

const ALLOWED_IPS: &[&str] = &[
    "1.1.1.1",
    "8.8.8.8",
    "93.184.216.34",
    "100.63.255.255",
    "100.128.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "192.167.255.255",
    "192.169.0.1",
    "198.17.255.255",
    "198.20.0.1",
    "223.255.255.254",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "2001:4860:4860::8888",
];

#[test]
fn forbidden_addresses_are_refused() {
    for s in FORBIDDEN_IPS {
        let ip: IpAddr = s.parse().unwrap();
        assert!(check_ip(ip).is_err(), "{s} should be refused");
    }
}

#[test]
fn public_addresses_are_allowed() {
    for s in ALLOWED_IPS {
        let ip: IpAddr = s.parse().unwrap();
        assert_eq!(check_ip(ip), Ok(()), "{s} should be allowed");
    }
}

#[test]
fn reasons_name_the_range() {
    assert_eq!(
        check_ip("127.0.0.1".parse().unwrap()),
        Err("loopback address")
    );
    assert!(
        check_ip("169.254.169.254".parse().unwrap())
            .unwrap_err()
            .contains("metadata")
    );
    assert!(
        check_ip("::ffff:127.0.0.1".parse().unwrap())
            .unwrap_err()
            .contains("IPv4-mapped")
    );
    assert!(
        check_ip("2002:7f00:1::1".parse().unwrap())
            .unwrap_err()
            .contains("6to4")
    );
    assert!(
        check_ip("64:ff9b::7f00:1".parse().unwrap())
            .unwrap_err()
            .contains("NAT64")
    );
}

/// URL notations that all mean an internal address.
const FORBIDDEN_URLS: &[&str] = &[
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/feed.xml",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.1/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://127.1/",
    "http://127.0.1/",
    "http://0/",
    "http://0.0.0.0/",
    "http://127.0.0.1./",
    "http://%31%32%37.0.0.1/",
    "http://\u{ff11}\u{ff12}\u{ff17}.0.0.1/",
    "http://evil.example.com@127.0.0.1/",
    "http://user:pass@10.0.0.1/",
    "https://169.254.169.254/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://[::1]/",
    "http://[::1]:3000/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[::]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/",
    "http://printer.local/",
    "http://router.home.arpa/",
    "http://intranet/",
    "http://192.168.1.1/admin",
    "http://172.16.5.4/",
    "http://100.100.100.200/",
    "http://[::ffff:192.168.1.1]/",
];

#[test]
fn every_notation_of_an_internal_address_is_refused() {
    for s in FORBIDDEN_URLS {
        let url = Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let err = check_url(&url, false).expect_err(s);
        assert!(matches!(err, FetchError::Blocked { .. }), "{s}: {err:?}");
        assert!(!err.is_retryable());
        // allow_private switches the guard off.
        assert!(check_url(&url, true).is_ok(), "{s} with allow_private");
    }
}

#[test]
fn url_crate_normalises_ipv4_notations() {
    for s in [
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://%31%32%37.0.0.1/",
    ] {
        let url = Url::parse(s).unwrap();
        assert_eq!(url.host_str(), Some("127.0.0.1"), "{s}");
    }
}

#[test]
fn public_urls_are_allowed() {
    for s in [
        "https://feeds.example.com/podcast.xml",
        "http://example.org:8080/feed?x=1",
        "https://8.8.8.8/",
        "http://[2606:4700:4700::1111]/",
        "https://user:secret@private-feeds.example.net/rss",
        "https://Example.COM./feed",
        "https://xn--bcher-kva.example/feed",
    ] {
        let url = Url::parse(s).unwrap();
        assert_eq!(check_url(&url, false), Ok(()), "{s}");
    }
}

#[test]
fn only_http_and_https_even_with_private_allowed() {
    for s in [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "ws://example.com/",
        "data:text/plain,hi",
    ] {
        let url = Url::parse(s).unwrap();
        for allow in [false, true] {
            let err = check_url(&url, allow).expect_err(s);
            assert!(matches!(err, FetchError::InvalidUrl { .. }), "{s}: {err:?}");
        }
    }
}

#[test]
fn host_name_rules() {
    for bad in [
        "localhost",
        "LocalHost.",
        "a.b.localhost",
        "metadata.google.internal",
        "db.internal",
        "nas.local",
        "box.lan",
        "x.home.arpa",
        "single",
        "",
    ] {
        assert!(check_host_name(bad).is_err(), "{bad:?}");
    }
    for good in [
        "example.com",
        "feeds.megaphone.fm",
        "anchor.fm.",
        "localhost.example.com",
        "internal.example.com",
    ] {
        assert_eq!(check_host_name(good), Ok(()), "{good}");
    }
}
