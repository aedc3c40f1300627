//! Webhook, Slack and Discord channels against a real loopback HTTP server (axum) that
//! records every request's headers and body and answers as each test scripts it.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{KeyInit, Mac};
use podsift_core::{Channel, DeliveryError, Digest};
use podsift_digest::{
    DiscordChannel, HttpChannelOptions, SlackChannel, WebhookChannel, WebhookError, render,
};
use serde_json::Value;

/// How the receiver answers.
#[derive(Clone)]
enum Reply {
    Status(u16, Vec<(&'static str, String)>, String),
    /// Sleep this long before answering 200.
    Hang(Duration),
}

#[derive(Clone)]
struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    reply: Arc<Mutex<Reply>>,
    addr: SocketAddr,
}

impl Receiver {
    async fn start(reply: Reply) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let r = Receiver {
            seen: Arc::default(),
            reply: Arc::new(Mutex::new(reply)),
            addr,
        };
        let app = Router::new().fallback(handle).with_state(r.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        r
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> Vec<(HeaderMap, Bytes)> {
        self.seen.lock().unwrap().clone()
    }

    fn json(&self, i: usize) -> Value {
        serde_json::from_slice(&self.requests()[i].1).unwrap()
    }
}

async fn handle(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    r.seen.lock().unwrap().push((headers, body));
    let reply = r.reply.lock().unwrap().clone();
    match reply {
        Reply::Status(code, hdrs, body) => {
            let mut resp = (StatusCode::from_u16(code).unwrap(), body).into_response();
            for (k, v) in hdrs {
                resp.headers_mut().insert(k, v.parse().unwrap());
            }
            resp
        }
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, "late").into_response()
        }
    }
}

fn ok() -> Reply {
    Reply::Status(200, vec![], "ok".into())
}

fn opts() -> HttpChannelOptions {
    HttpChannelOptions {
        timeout: Duration::from_secs(5),
        allow_http_loopback: true,
        // The receivers are on loopback: the SSRF guard is off, as with
        // `--allow-private-networks`.
        allow_private: true,
        ..HttpChannelOptions::default()
    }
}

const SECRET: &str = "whsec-test-0123456789";

fn hmac_hex(secret: &[u8], msg: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

/// A digest whose every feed-derived field is hostile.
fn hostile_digest(n: usize) -> Digest {
    let mut d = common::fixed_digest();
    let base = d.insights[0].clone();
    d.insights = (0..n)
        .map(|i| {
            let mut it = base.clone();
            it.rank = i + 1;
            it.podcast = "<!channel> @everyone <script>alert(1)</script>".into();
            it.episode = "*bold* _it_ ~s~ `code` [x](https://evil.example) <@123> <!here> @here & <https://evil.example|click>".into();
            it.text = format!("{i} <!everyone> @everyone ||spoiler|| # heading > quote &amp; <b>tag</b>");
            it.quote = "<@&987> :smile: <#C123> ```block```".into();
            it.reasons = vec!["<!subteam^S1>".into()];
            it.link = Some("javascript:alert(1)".into());
            it
        })
        .collect();
    d
}

// --------------------------------------------------------------------------- webhook

#[tokio::test]
async fn webhook_posts_signed_versioned_payload() {
    let rx = Receiver::start(ok()).await;
    let ch = WebhookChannel::new(&rx.url("/hook/TOKEN123"), SECRET, opts()).unwrap();
    let digest = common::fixed_digest();
    let rendered = render(&digest).unwrap();
    let before = chrono::Utc::now().timestamp();
    let receipt = ch
        .deliver(&digest, &rendered, "digest-7:webhook")
        .await
        .unwrap();
    assert_eq!(receipt, "HTTP 200, Idempotency-Key digest-7:webhook");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let (h, body) = &reqs[0];
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["idempotency-key"], "digest-7:webhook");
    // The timestamp is now, and the signature is HMAC-SHA256(secret, ts "." body).
    let ts: i64 = h["x-podsift-timestamp"].to_str().unwrap().parse().unwrap();
    assert!((before - 1..=chrono::Utc::now().timestamp() + 1).contains(&ts));
    let mut signed = format!("{ts}.").into_bytes();
    signed.extend_from_slice(body);
    assert_eq!(
        h["x-podsift-signature"].to_str().unwrap(),
        format!("sha256={}", hmac_hex(SECRET.as_bytes(), &signed))
    );
    // A wrong secret does not verify (the check above is not vacuous).
    assert_ne!(
        h["x-podsift-signature"].to_str().unwrap(),
        format!("sha256={}", hmac_hex(b"other", &signed))
    );
    // The envelope and the documented digest JSON inside it.
    let v: Value = serde_json::from_slice(body).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, ["date", "digest", "type", "user", "version"]);
    assert_eq!(v["type"], "podsift.digest");
    assert_eq!(v["version"], 1);
    assert_eq!(v["user"], "me");
    assert_eq!(v["date"], "2026-11-26");
    let documented: Value = serde_json::from_str(&rendered.json).unwrap();
    assert_eq!(v["digest"], documented);
    let back: Digest = serde_json::from_value(v["digest"].clone()).unwrap();
    assert_eq!(back, digest);
    // The receiver-side check accepts it, and rejects tampering, another secret and replays.
    let sig = h["x-podsift-signature"].to_str().unwrap();
    let ts_s = h["x-podsift-timestamp"].to_str().unwrap();
    let now = chrono::Utc::now();
    let five_min = Duration::from_secs(300);
    assert!(WebhookChannel::verify(
        SECRET.as_bytes(),
        ts_s,
        body,
        sig,
        now,
        five_min
    ));
    let mut tampered = body.to_vec();
    tampered[10] ^= 1;
    assert!(!WebhookChannel::verify(
        SECRET.as_bytes(),
        ts_s,
        &tampered,
        sig,
        now,
        five_min
    ));
    assert!(!WebhookChannel::verify(
        b"other", ts_s, body, sig, now, five_min
    ));
    let later = now + chrono::TimeDelta::minutes(10);
    assert!(!WebhookChannel::verify(
        SECRET.as_bytes(),
        ts_s,
        body,
        sig,
        later,
        five_min
    ));
    assert!(!WebhookChannel::verify(
        SECRET.as_bytes(),
        "x",
        body,
        sig,
        now,
        five_min
    ));
    assert!(!WebhookChannel::verify(
        SECRET.as_bytes(),
        ts_s,
        body,
        "sha256=zz",
        now,
        five_min
    ));
    // The channel's name identifies the URL without revealing its path.
    assert!(ch.name().starts_with("webhook:"));
    assert!(!ch.name().contains("TOKEN123"));
}

#[tokio::test]
async fn webhook_retry_keeps_idempotency_key_and_body() {
    let rx = Receiver::start(Reply::Status(503, vec![], "busy".into())).await;
    let ch = WebhookChannel::new(&rx.url("/h"), SECRET, opts()).unwrap();
    let digest = common::fixed_digest();
    let rendered = render(&digest).unwrap();
    let first = ch.deliver(&digest, &rendered, "d1:webhook").await;
    assert!(
        matches!(first, Err(DeliveryError::Temporary(_))),
        "{first:?}"
    );
    *rx.reply.lock().unwrap() = ok();
    ch.deliver(&digest, &rendered, "d1:webhook").await.unwrap();
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].0["idempotency-key"], reqs[1].0["idempotency-key"]);
    assert_eq!(reqs[0].1, reqs[1].1);
    // Keys that are not printable ASCII (or too long) are sent hashed, deterministically.
    let k = WebhookChannel::idempotency_header("digest 7\r\nX-Evil: 1");
    assert!(k.starts_with("sha256-") && k.len() == 7 + 64, "{k}");
    assert_eq!(
        k,
        WebhookChannel::idempotency_header("digest 7\r\nX-Evil: 1")
    );
    assert_eq!(
        WebhookChannel::idempotency_header(&"a".repeat(300)).len(),
        71
    );
}

#[tokio::test]
async fn webhook_status_handling() {
    let digest = common::fixed_digest();
    // 429 with Retry-After: retryable, delay carried.
    let rx = Receiver::start(Reply::Status(
        429,
        vec![("retry-after", "30".into())],
        "slow down".into(),
    ))
    .await;
    let ch = WebhookChannel::new(&rx.url("/h"), SECRET, opts()).unwrap();
    let e = ch.send(&digest, "k").await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
    // 500 and 503: retryable.
    for code in [500, 502, 503] {
        *rx.reply.lock().unwrap() = Reply::Status(code, vec![], "oops".into());
        let e = ch.send(&digest, "k").await.unwrap_err();
        assert!(
            matches!(e, WebhookError::Server { status, .. } if status == code),
            "{e}"
        );
        assert!(e.is_retryable());
    }
    // 400, 401, 404, 410: permanent; the body snippet is in the error, bounded.
    for code in [400, 401, 404, 410] {
        *rx.reply.lock().unwrap() = Reply::Status(code, vec![], "bad payload ".repeat(100));
        let e = ch.send(&digest, "k").await.unwrap_err();
        assert!(
            matches!(&e, WebhookError::Rejected { status, body, .. } if *status == code && body.chars().count() <= 200),
            "{e}"
        );
        assert!(!e.is_retryable());
        let d: DeliveryError = e.into();
        assert!(matches!(d, DeliveryError::Permanent(_)));
    }
    // A redirect is not followed (the body must not go elsewhere): permanent.
    *rx.reply.lock().unwrap() =
        Reply::Status(307, vec![("location", rx.url("/elsewhere"))], String::new());
    let before = rx.requests().len();
    let e = ch.send(&digest, "k").await.unwrap_err();
    assert!(
        matches!(e, WebhookError::Redirect { status: 307, .. }),
        "{e}"
    );
    assert!(!e.is_retryable());
    assert_eq!(rx.requests().len(), before + 1);
}

#[tokio::test]
async fn webhook_timeout_is_retryable_and_bounded() {
    let rx = Receiver::start(Reply::Hang(Duration::from_secs(10))).await;
    let ch = WebhookChannel::new(
        &rx.url("/h"),
        SECRET,
        HttpChannelOptions {
            timeout: Duration::from_millis(300),
            ..opts()
        },
    )
    .unwrap();
    let t0 = Instant::now();
    let e = ch.send(&common::fixed_digest(), "k").await.unwrap_err();
    assert!(matches!(e, WebhookError::Timeout { .. }), "{e}");
    assert!(e.is_retryable());
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
}

#[tokio::test]
async fn webhook_nothing_listening_is_retryable() {
    // Bind and drop to get a port that is (almost certainly) closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ch = WebhookChannel::new(&format!("http://127.0.0.1:{port}/h"), SECRET, opts()).unwrap();
    let e = ch.send(&common::fixed_digest(), "k").await.unwrap_err();
    assert!(matches!(e, WebhookError::Transport { .. }), "{e}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn response_read_is_capped() {
    let big = "x".repeat(8 * 1024 * 1024);
    let rx = Receiver::start(Reply::Status(200, vec![], big)).await;
    let ch = WebhookChannel::new(
        &rx.url("/h"),
        SECRET,
        HttpChannelOptions {
            max_response_bytes: 1024,
            ..opts()
        },
    )
    .unwrap();
    assert!(ch.send(&common::fixed_digest(), "k").await.is_ok());
}

#[test]
fn config_is_validated_and_secrets_stay_hidden() {
    let secure = |u: &str| WebhookChannel::new(u, SECRET, HttpChannelOptions::default());
    assert!(matches!(
        secure("http://hooks.example.com/x"),
        Err(WebhookError::InvalidUrl(_))
    ));
    // Plain http to loopback only when allowed.
    assert!(matches!(
        secure("http://127.0.0.1:9/x"),
        Err(WebhookError::InvalidUrl(_))
    ));
    assert!(WebhookChannel::new("http://127.0.0.1:9/x", SECRET, opts()).is_ok());
    assert!(matches!(
        WebhookChannel::new("https://hooks.example.com/x", "", opts()),
        Err(WebhookError::Config(_))
    ));
    let ch = secure("https://hooks.example.com/in/PATHTOKEN?sig=QUERYTOKEN").unwrap();
    let dbg = format!("{ch:?}");
    assert!(!dbg.contains(SECRET), "{dbg}");
    assert!(
        !dbg.contains("PATHTOKEN") && !dbg.contains("QUERYTOKEN"),
        "{dbg}"
    );
    assert!(dbg.contains("<redacted>"));
    let slack = SlackChannel::new(
        "https://hooks.slack.com/services/T0/B0/SLACKSECRET",
        HttpChannelOptions::default(),
    )
    .unwrap();
    let discord = DiscordChannel::new(
        "https://discord.com/api/webhooks/1/DISCORDSECRET",
        HttpChannelOptions::default(),
    )
    .unwrap();
    for (dbg, name) in [
        (format!("{slack:?}"), slack.name()),
        (format!("{discord:?}"), discord.name()),
    ] {
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(!name.contains("SECRET"), "{name}");
    }
    assert!(slack.name().starts_with("slack:"));
    assert!(discord.name().starts_with("discord:"));
    // Different URLs, different names; the same URL, the same name.
    let again = SlackChannel::new(
        "https://hooks.slack.com/services/T0/B0/SLACKSECRET",
        HttpChannelOptions::default(),
    )
    .unwrap();
    assert_eq!(again.name(), slack.name());
    let other = SlackChannel::new(
        "https://hooks.slack.com/services/T0/B0/OTHER",
        HttpChannelOptions::default(),
    )
    .unwrap();
    assert_ne!(other.name(), slack.name());
}

#[tokio::test]
async fn errors_never_contain_the_url_token() {
    let rx = Receiver::start(Reply::Status(500, vec![], "x".into())).await;
    let ch = SlackChannel::new(&rx.url("/services/T/B/SUPERSECRET"), opts()).unwrap();
    let d = common::fixed_digest();
    let e = ch.deliver(&d, &render(&d).unwrap(), "k").await.unwrap_err();
    assert!(!e.to_string().contains("SUPERSECRET"), "{e}");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ch =
        SlackChannel::new(&format!("http://127.0.0.1:{port}/T/B/SUPERSECRET"), opts()).unwrap();
    let e = ch.deliver(&d, &render(&d).unwrap(), "k").await.unwrap_err();
    assert!(e.is_retryable());
    assert!(!e.to_string().contains("SUPERSECRET"), "{e}");
}

// --------------------------------------------------------------------------- Slack

/// Every mrkdwn/plain text in a Slack message.
fn slack_texts(v: &Value) -> Vec<String> {
    let mut out = vec![v["text"].as_str().unwrap().to_string()];
    for b in v["blocks"].as_array().unwrap() {
        if let Some(t) = b["text"]["text"].as_str() {
            out.push(t.to_string());
            if b["text"]["type"] == "mrkdwn" {
                assert_eq!(b["text"]["verbatim"], true, "{b}");
            }
        }
        for e in b["elements"].as_array().into_iter().flatten() {
            out.push(e["text"].as_str().unwrap().to_string());
            assert_eq!(e["verbatim"], true, "{e}");
        }
    }
    out
}

/// The `<...>` sequences of a mrkdwn string (Slack's only way to link or mention).
fn angle_spans(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        let tail = &rest[i..];
        let end = tail.find('>').map_or(tail.len(), |e| e + 1);
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

#[tokio::test]
async fn slack_message_shape() {
    let rx = Receiver::start(ok()).await;
    let ch = SlackChannel::new(&rx.url("/services/T/B/X"), opts()).unwrap();
    let digest = common::fixed_digest();
    let rendered = render(&digest).unwrap();
    assert_eq!(
        ch.deliver(&digest, &rendered, "k").await.unwrap(),
        "HTTP 200"
    );
    let v = rx.json(0);
    assert_eq!(v["text"], rendered.subject);
    let blocks = v["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    let sections: Vec<&Value> = blocks.iter().filter(|b| b["type"] == "section").collect();
    assert_eq!(sections.len(), digest.insights.len());
    for (s, it) in sections.iter().zip(&digest.insights) {
        let t = s["text"]["text"].as_str().unwrap();
        assert_eq!(s["text"]["type"], "mrkdwn");
        assert!(t.contains(&format!("*{}. {}", it.rank, it.podcast)), "{t}");
        // The insight text (with `'` kept; nothing in the fixtures needs escaping).
        assert!(t.contains(&it.text.replace('&', "&amp;")), "{t}");
        let link = it.link.as_deref().unwrap();
        assert!(t.contains(&format!("<{link}|▶ Listen at ")), "{t}");
    }
    assert_eq!(v["unfurl_links"], false);
}

#[tokio::test]
async fn slack_escapes_hostile_text() {
    let rx = Receiver::start(ok()).await;
    let ch = SlackChannel::new(&rx.url("/s"), opts()).unwrap();
    let digest = hostile_digest(3);
    ch.deliver(&digest, &render(&digest).unwrap(), "k")
        .await
        .unwrap();
    let v = rx.json(0);
    let texts = slack_texts(&v);
    let all = texts.join("\n");
    assert!(all.contains("&lt;!channel&gt;"), "{all}");
    assert!(all.contains("&lt;script&gt;"), "{all}");
    assert!(all.contains("&amp;amp;"), "{all}");
    for t in &texts {
        // The only `<...>` are podsift's own links to http(s) URLs.
        for span in angle_spans(t) {
            assert!(span.starts_with("<https://"), "{span} in {t}");
            assert!(!span.contains("evil"), "{span}");
        }
        // Feed text cannot open formatting: every `*`/`_`/`~`/`` ` `` from the feed is followed
        // by a zero-width space (podsift's own bold title markers are the exception).
        for (i, c) in t.char_indices() {
            if matches!(c, '_' | '~' | '`') {
                assert_eq!(t[i + 1..].chars().next(), Some('\u{200B}'), "{t}");
            }
        }
    }
    // javascript: links were dropped; no listen link at all.
    assert!(!all.contains("javascript"), "{all}");
}

#[test]
fn slack_respects_block_limits() {
    let mut digest = hostile_digest(60);
    for it in &mut digest.insights {
        it.text = "long words ".repeat(500);
    }
    let rendered = render(&digest).unwrap();
    let v = podsift_digest::channel::slack_message(&digest, &rendered);
    let blocks = v["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 50, "{}", blocks.len());
    for b in blocks {
        if let Some(t) = b["text"]["text"].as_str() {
            let max = if b["type"] == "header" { 150 } else { 3000 };
            assert!(t.chars().count() <= max, "{}", t.chars().count());
        }
    }
    let all = slack_texts(&v).join("\n");
    assert!(all.contains("more in the full digest"), "{all}");
}

// --------------------------------------------------------------------------- Discord

fn embed_chars(e: &Value) -> usize {
    ["title", "description"]
        .iter()
        .map(|k| e[k].as_str().map_or(0, |s| s.chars().count()))
        .sum::<usize>()
        + e["footer"]["text"]
            .as_str()
            .map_or(0, |s| s.chars().count())
}

#[tokio::test]
async fn discord_message_shape_and_limits() {
    let rx = Receiver::start(Reply::Status(204, vec![], String::new())).await;
    let ch = DiscordChannel::new(&rx.url("/api/webhooks/1/T"), opts()).unwrap();
    let digest = common::fixed_digest();
    let rendered = render(&digest).unwrap();
    assert_eq!(
        ch.deliver(&digest, &rendered, "k").await.unwrap(),
        "HTTP 204"
    );
    let v = rx.json(0);
    assert_eq!(v["content"], rendered.subject);
    assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));
    let embeds = v["embeds"].as_array().unwrap();
    assert_eq!(embeds.len(), digest.insights.len());
    for (e, it) in embeds.iter().zip(&digest.insights) {
        let d = e["description"].as_str().unwrap();
        let link = it.link.as_deref().unwrap();
        assert!(d.contains(&format!("](<{link}>)")), "{d}");
        assert_eq!(e["url"], it.episode_url.as_deref().unwrap());
    }

    // 15 huge, hostile items: every limit holds.
    let mut big = hostile_digest(15);
    for it in &mut big.insights {
        it.text = "<@&1> [x](y) ".repeat(400);
        it.quote = "@everyone ".repeat(200);
    }
    let v = podsift_digest::channel::discord_message(&big, &render(&big).unwrap());
    assert!(v["content"].as_str().unwrap().chars().count() <= 2000);
    assert!(v["content"].as_str().unwrap().contains("5 more"));
    let embeds = v["embeds"].as_array().unwrap();
    assert_eq!(embeds.len(), 10);
    let mut total = 0;
    for e in embeds {
        assert!(e["title"].as_str().unwrap().chars().count() <= 256);
        assert!(e["description"].as_str().unwrap().chars().count() <= 4096);
        total += embed_chars(e);
    }
    assert!(total <= 6000, "{total}");
}

#[tokio::test]
async fn discord_escapes_hostile_text() {
    let rx = Receiver::start(Reply::Status(204, vec![], String::new())).await;
    let ch = DiscordChannel::new(&rx.url("/d"), opts()).unwrap();
    let digest = hostile_digest(2);
    ch.deliver(&digest, &render(&digest).unwrap(), "k")
        .await
        .unwrap();
    let v = rx.json(0);
    assert_eq!(v["allowed_mentions"]["parse"], serde_json::json!([]));
    let mut texts = vec![v["content"].as_str().unwrap().to_string()];
    for e in v["embeds"].as_array().unwrap() {
        texts.push(e["title"].as_str().unwrap().to_string());
        texts.push(e["description"].as_str().unwrap().to_string());
        assert!(
            e.get("url")
                .is_none_or(|u| u.as_str().unwrap().starts_with("https://"))
        );
    }
    for t in &texts {
        assert!(!t.contains("@everyone") && !t.contains("@here"), "{t}");
        // Every `<` (mention or link opener) and `[` (masked link) from the feed is escaped;
        // unescaped ones are only podsift's own `[label](<https://...>)` links.
        let chars: Vec<char> = t.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            let escaped = i > 0 && chars[i - 1] == '\\';
            if matches!(c, '<' | '[' | '*' | '_' | '`' | '|' | '~') && !escaped {
                let rest: String = chars[i..].iter().collect();
                assert!(
                    rest.starts_with("<https://")
                        || rest.starts_with("[▶")
                        || rest.starts_with("[Episode page]"),
                    "unescaped {c} at {rest:?} in {t}"
                );
            }
        }
        assert!(!t.contains("javascript"), "{t}");
    }
    assert!(texts.join("").contains("\\<script\\>"));
}

/// Webhook, Slack and Discord URLs get the feeds' SSRF guard: a private, loopback or
/// link-local host (in any IP notation) or an internal name is refused when it is set and
/// when a channel is built to send to it; `[http] allow_hosts` lets an administrator's home
/// server through, and nothing else.
#[tokio::test]
async fn channel_urls_to_private_hosts_are_refused_unless_allowed() {
    let guarded = HttpChannelOptions::default();
    for url in [
        "https://127.0.0.1/hook",
        "https://2130706433/hook",
        "https://0x7f.1/hook",
        "https://10.0.0.5/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://localhost/hook",
        "https://nas.local/hook",
        "https://metadata.google.internal/hook",
    ] {
        let err = podsift_digest::check_channel_url(url, &guarded)
            .await
            .expect_err(url);
        assert!(err.to_string().contains("not allowed"), "{url}: {err}");
        assert!(!err.is_retryable(), "{url}");
        assert!(
            WebhookChannel::new(url, SECRET, guarded.clone()).is_err(),
            "{url}: no channel is built to it either"
        );
        assert!(SlackChannel::new(url, guarded.clone()).is_err(), "{url}");
    }
    // The error names the host, never the secret path.
    let err = podsift_digest::check_channel_url("https://10.0.0.5/services/T0/B0/SECRET", &guarded)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("SECRET"), "{err}");
    // A public address passes.
    assert!(
        podsift_digest::check_channel_url("https://93.184.216.34/hook", &guarded)
            .await
            .is_ok()
    );
    // The allow-list: the listed network and name only.
    let home = HttpChannelOptions {
        allow_hosts: podsift_fetch::AllowList::parse(&[
            "192.168.1.0/24".to_string(),
            "nas.local".to_string(),
        ])
        .unwrap(),
        ..HttpChannelOptions::default()
    };
    for ok in ["https://192.168.1.20/hook", "https://nas.local/hook"] {
        assert!(
            podsift_digest::check_channel_url(ok, &home).await.is_ok(),
            "{ok}"
        );
        assert!(
            WebhookChannel::new(ok, SECRET, home.clone()).is_ok(),
            "{ok}"
        );
    }
    for still in [
        "https://192.168.2.20/hook",
        "https://127.0.0.1/hook",
        "https://nas2.local/h",
    ] {
        assert!(
            podsift_digest::check_channel_url(still, &home)
                .await
                .is_err(),
            "{still}"
        );
    }
}
