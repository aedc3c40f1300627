//! A real SMTP server for tests: aiosmtpd (PyPI, installed by `scripts/ci-deps`) writing
//! every message it accepts into a maildir. It can be stopped and started again on the same
//! port (an SMTP outage).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) aiosmtpd on 127.0.0.1.
pub struct Smtp {
    child: Option<Child>,
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Smtp {
    /// Starts aiosmtpd on a free port; `None` when aiosmtpd is not installed or does not
    /// come up in 15 s.
    pub fn start() -> Option<Smtp> {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut smtp = Smtp {
            child: None,
            port,
            maildir: tempfile::tempdir().ok()?,
        };
        smtp.resume().then_some(smtp)
    }

    /// [`Smtp::start`], or `None` after [`crate::skip`] (a failure under
    /// `PODSIFT_REQUIRE_ALL=1`) naming `test`.
    pub fn start_or_skip(test: &str) -> Option<Smtp> {
        let smtp = Self::start();
        if smtp.is_none() {
            crate::skip(
                test,
                "aiosmtpd not installed (python3 -m pip install aiosmtpd==1.4.6)",
            );
        }
        smtp
    }

    /// Stops the server (connections are refused until [`Smtp::resume`]).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and maildir; false when it does not come up.
    pub fn resume(&mut self) -> bool {
        self.stop();
        let Ok(child) = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return false;
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        true
    }

    /// The maildir's `new/` folder.
    pub fn inbox(&self) -> PathBuf {
        self.maildir.path().join("mail").join("new")
    }

    /// Every message received so far, raw, sorted.
    pub fn messages(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.inbox())
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

/// A header's value in a raw message (first occurrence, unfolded), case-insensitive name.
pub fn header<'m>(message: &'m str, name: &str) -> Option<&'m str> {
    let head = message.split("\n\n").next().unwrap_or(message);
    head.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}
