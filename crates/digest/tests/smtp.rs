//! SMTP delivery against a real server (aiosmtpd, from PyPI), error mapping, timeouts.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use podsift_core::config::EmailConfig;
use podsift_core::{Channel, DeliveryError};
use podsift_digest::{SmtpChannel, render};
use serde_json::Value;

const HELPER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_server.py");

fn aiosmtpd_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        podsift_testkit::skip(
            module_path!(),
            "python3 with aiosmtpd not available (python3 -m pip install aiosmtpd==1.4.6)",
        );
    }
    ok
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed on drop.
struct Server {
    child: Child,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(mut cmd: Command, port: u16, dir: tempfile::TempDir, maildir: PathBuf) -> Server {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            port,
            maildir,
            _dir: dir,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("SMTP server exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "SMTP server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `python3 -m aiosmtpd … -c aiosmtpd.handlers.Mailbox MAILDIR`, the stock server.
    fn stock() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let port = free_port();
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir);
        Server::start(cmd, port, dir, maildir)
    }

    /// The helper server: AUTH when `creds` is given, 451/550 for temp…/perm… recipients.
    fn helper(creds: Option<&str>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let port = free_port();
        let mut cmd = Command::new("python3");
        cmd.arg(HELPER)
            .arg("serve")
            .arg(port.to_string())
            .arg(&maildir);
        if let Some(c) = creds {
            cmd.arg(c);
        }
        Server::start(cmd, port, dir, maildir)
    }

    fn messages(&self) -> Vec<Value> {
        dump(&self.maildir)
    }
}

fn dump(maildir: &Path) -> Vec<Value> {
    let out = Command::new("python3")
        .arg(HELPER)
        .arg("dump")
        .arg(maildir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

fn config(port: u16, to: &str) -> EmailConfig {
    EmailConfig {
        to: Some(to.to_string()),
        from: "podsift <digest@podsift.example>".into(),
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(port),
        tls: podsift_core::config::SmtpTls::None,
        timeout_secs: 10,
        ..EmailConfig::default()
    }
}

/// A header's values, unfolded (folding whitespace collapsed to one space).
fn header(msg: &Value, name: &str) -> Vec<String> {
    msg["headers"][name]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn delivers_multipart_digest_to_aiosmtpd() {
    if !aiosmtpd_available() {
        return;
    }
    let server = Server::stock();
    let digest = common::fixed_digest();
    let rendered = render(&digest).unwrap();
    let channel = SmtpChannel::new(&config(server.port, "Reader <reader@example.com>"), None)
        .unwrap()
        .with_unsubscribe_url(Some("https://podsift.example/unsubscribe?u=me"));
    assert_eq!(channel.name(), "email:reader@example.com");
    let receipt = channel
        .deliver(&digest, &rendered, "digest-2026-11-26:email:reader")
        .await
        .unwrap();
    assert_eq!(receipt, "<digest-2026-11-26-email-reader@podsift>");

    let msgs = server.messages();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    let m = &msgs[0];
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(
        header(m, "subject"),
        vec!["podsift — 5 insights for Thu 26 Nov"]
    );
    assert_eq!(header(m, "message-id"), vec![receipt.clone()]);
    assert_eq!(
        header(m, "list-unsubscribe"),
        vec![
            "<https://podsift.example/unsubscribe?u=me>, <mailto:digest@podsift.example?subject=unsubscribe>"
        ]
    );
    assert_eq!(header(m, "date").len(), 1);
    assert!(header(m, "to")[0].contains("reader@example.com"));
    assert!(header(m, "from")[0].contains("digest@podsift.example"));
    let parts = m["parts"].as_array().unwrap();
    let types: Vec<&str> = parts.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["text/plain", "text/html"]);
    let text = parts[0]["body"].as_str().unwrap();
    let html = parts[1]["body"].as_str().unwrap();
    assert_eq!(
        text.replace("\r\n", "\n").trim_end(),
        rendered.text.trim_end()
    );
    assert_eq!(
        html.replace("\r\n", "\n").trim_end(),
        rendered.html.trim_end()
    );
    for item in &digest.insights {
        assert!(html.contains(item.link.as_deref().unwrap()));
    }

    // A retry with the same key is recognisably the same message.
    channel
        .deliver(&digest, &rendered, "digest-2026-11-26:email:reader")
        .await
        .unwrap();
    let msgs = server.messages();
    assert_eq!(msgs.len(), 2);
    assert!(
        msgs.iter()
            .all(|m| header(m, "message-id") == vec![receipt.clone()])
    );
}

#[tokio::test]
async fn auth_success_and_failures() {
    if !aiosmtpd_available() {
        return;
    }
    let server = Server::helper(Some("podsift:s3cret-pw"));
    let digest = common::fixed_digest();
    let rendered = render(&digest).unwrap();
    let mut cfg = config(server.port, "reader@example.com");
    cfg.username = Some("podsift".into());

    let good = SmtpChannel::new(&cfg, Some("s3cret-pw".into())).unwrap();
    assert!(!format!("{good:?}").contains("s3cret"));
    good.deliver(&digest, &rendered, "k1").await.unwrap();
    assert_eq!(server.messages().len(), 1);

    let bad = SmtpChannel::new(&cfg, Some("wrong".into())).unwrap();
    let err = bad.deliver(&digest, &rendered, "k2").await.unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
    assert!(
        !err.to_string().contains("wrong"),
        "password leaked into {err}"
    );

    // No credentials at all: the server requires AUTH (530) → permanent.
    let anon = SmtpChannel::new(&config(server.port, "reader@example.com"), None).unwrap();
    let err = anon.deliver(&digest, &rendered, "k3").await.unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn reply_codes_map_to_retryable_or_permanent() {
    if !aiosmtpd_available() {
        return;
    }
    let server = Server::helper(None);
    let digest = common::fixed_digest();
    let rendered = render(&digest).unwrap();
    let temp = SmtpChannel::new(&config(server.port, "temp@example.com"), None).unwrap();
    let err = temp.deliver(&digest, &rendered, "k").await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Temporary(_)) && err.is_retryable(),
        "{err:?}"
    );
    let perm = SmtpChannel::new(&config(server.port, "perm@example.com"), None).unwrap();
    let err = perm.deliver(&digest, &rendered, "k").await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Permanent(_)) && !err.is_retryable(),
        "{err:?}"
    );
    assert_eq!(server.messages().len(), 0);
}

#[tokio::test]
async fn dead_server_is_temporary() {
    let port = free_port(); // bound and released: nothing listens there now
    let digest = common::fixed_digest();
    let rendered = render(&digest).unwrap();
    let ch = SmtpChannel::new(&config(port, "reader@example.com"), None).unwrap();
    let err = ch.deliver(&digest, &rendered, "k").await.unwrap_err();
    assert!(matches!(err, DeliveryError::Temporary(_)), "{err:?}");
}

#[tokio::test]
async fn silent_server_times_out_as_temporary() {
    // Accepts the connection and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let digest = common::fixed_digest();
    let rendered = render(&digest).unwrap();
    let mut cfg = config(port, "reader@example.com");
    cfg.timeout_secs = 1;
    let ch = SmtpChannel::new(&cfg, None).unwrap();
    let t = Instant::now();
    let err = ch.deliver(&digest, &rendered, "k").await.unwrap_err();
    assert!(matches!(err, DeliveryError::Temporary(_)), "{err:?}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    hold.abort();
}

#[tokio::test]
async fn starttls_required_but_not_offered_is_permanent() {
    if !aiosmtpd_available() {
        return;
    }
    // The stock server offers no STARTTLS: a `starttls` channel must refuse to send in clear.
    let server = Server::stock();
    let mut cfg = config(server.port, "reader@example.com");
    cfg.tls = podsift_core::config::SmtpTls::Starttls;
    let ch = SmtpChannel::new(&cfg, None).unwrap();
    let digest = common::fixed_digest();
    let err = ch
        .deliver(&digest, &render(&digest).unwrap(), "k")
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
    assert_eq!(server.messages().len(), 0);
}
