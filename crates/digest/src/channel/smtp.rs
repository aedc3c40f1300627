//! Email delivery over SMTP with lettre (tokio, rustls with the ring provider).

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use podsift_core::config::{EmailConfig, SmtpTls};
use podsift_core::{Channel, DeliveryError, Digest, RenderedDigest};

/// Longest idempotency-key part of a Message-ID (the whole header stays well under 998).
const MAX_ID_CHARS: usize = 200;

/// The `List-Unsubscribe` header (RFC 2369): a list of `<URI>`s.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// How the connection is secured (`EmailConfig.tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    StartTls,
    Implicit,
    Plain,
}

/// Sends the digest as a `multipart/alternative` email (plain text + HTML).
///
/// * `tls`: `starttls` (default port 587, TLS required), `tls` (implicit TLS, port 465) or
///   `none` (plain text, default port 25; meant for a relay on loopback — with credentials it
///   is refused for any other host, so a password never crosses a network in clear).
///   Certificates are checked against the system's trust store.
/// * AUTH (PLAIN/LOGIN) when `username` is set, with the password given to [`SmtpChannel::new`]
///   (read by the caller from the environment variable named by `password_env`, see
///   [`SmtpChannel::password_from_env`]); the password is never logged and `Debug` shows
///   only whether one is set.
/// * `Message-ID: <KEY@podsift>` from the idempotency key (characters other than
///   `A-Z a-z 0-9 . _ -` become `-`), so a retried send is recognisably the same message;
///   `Date` is the send time.
/// * `List-Unsubscribe: <mailto:FROM?subject=unsubscribe>`, plus `<URL>` first when
///   [`SmtpChannel::with_unsubscribe_url`] set one (e.g. `DigestConfig.base_url` + a path).
/// * `timeout_secs` bounds each SMTP command and the connection; a whole send may take at
///   most three times that.
///
/// Errors: connection refused or reset, timeouts and 4xx replies are
/// [`DeliveryError::Temporary`]; 5xx replies (bad recipient, authentication refused), invalid
/// addresses, TLS failures and misconfiguration are [`DeliveryError::Permanent`].
pub struct SmtpChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Mailbox,
    host: String,
    port: u16,
    mode: Mode,
    username: Option<String>,
    has_password: bool,
    unsubscribe_url: Option<String>,
    /// Deadline of one whole send (connection, dialogue, data).
    deadline: Duration,
}

impl fmt::Debug for SmtpChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpChannel")
            .field("from", &self.from.to_string())
            .field("to", &self.to.to_string())
            .field("host", &self.host)
            .field("port", &self.port)
            .field("mode", &self.mode)
            .field("username", &self.username)
            .field(
                "password",
                &if self.has_password {
                    "<redacted>"
                } else {
                    "<none>"
                },
            )
            .field("unsubscribe_url", &self.unsubscribe_url)
            .finish()
    }
}

fn permanent(msg: impl Into<String>) -> DeliveryError {
    DeliveryError::Permanent(msg.into())
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl SmtpChannel {
    /// Reads the SMTP password from the environment variable `config.password_env`
    /// (`None` when unset or empty).
    pub fn password_from_env(config: &EmailConfig) -> Option<String> {
        std::env::var(&config.password_env)
            .ok()
            .filter(|p| !p.is_empty())
    }

    /// Builds the channel from the email configuration. Fails with
    /// [`DeliveryError::Permanent`] when `to` or `smtp_host` is missing, an address does not
    /// parse, `tls` is unknown, a username has no password (or the reverse), or credentials
    /// would be sent in clear to a non-loopback host.
    pub fn new(config: &EmailConfig, password: Option<String>) -> Result<Self, DeliveryError> {
        let to_raw = config
            .to
            .as_deref()
            .ok_or_else(|| permanent("email.to is not set"))?;
        let to: Mailbox = to_raw
            .parse()
            .map_err(|e| permanent(format!("invalid email.to address: {e}")))?;
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| permanent(format!("invalid email.from address: {e}")))?;
        let host = config
            .smtp_host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| permanent("email.smtp_host is not set"))?
            .to_string();
        let mode = match config.tls {
            SmtpTls::Starttls => Mode::StartTls,
            SmtpTls::Tls => Mode::Implicit,
            SmtpTls::None => Mode::Plain,
        };
        let port = config.smtp_port.unwrap_or(match mode {
            Mode::StartTls => 587,
            Mode::Implicit => 465,
            Mode::Plain => 25,
        });
        let username = config.username.clone().filter(|u| !u.is_empty());
        let credentials = match (&username, password) {
            (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(permanent(format!(
                    "email.username is set but no password (set the {} environment variable)",
                    config.password_env
                )));
            }
            (None, Some(_)) => {
                return Err(permanent("an SMTP password is given but no email.username"));
            }
        };
        if mode == Mode::Plain && credentials.is_some() && !is_loopback(&host) {
            return Err(permanent(format!(
                "refusing to send SMTP credentials unencrypted to {host}: use tls = \"starttls\" or \"tls\""
            )));
        }
        if mode == Mode::Plain && !is_loopback(&host) {
            tracing::warn!(host = %host, "SMTP without TLS to a non-loopback host");
        }
        let tls = match mode {
            Mode::Plain => Tls::None,
            Mode::StartTls | Mode::Implicit => {
                let params = TlsParameters::new(host.clone())
                    .map_err(|e| permanent(format!("TLS setup for {host}: {e}")))?;
                if mode == Mode::StartTls {
                    Tls::Required(params)
                } else {
                    Tls::Wrapper(params)
                }
            }
        };
        let timeout = Duration::from_secs(config.timeout_secs.clamp(1, 600));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(timeout));
        let has_password = credentials.is_some();
        if let Some(c) = credentials {
            builder = builder.credentials(c);
        }
        Ok(Self {
            transport: builder.build(),
            from,
            to,
            host,
            port,
            mode,
            username,
            has_password,
            unsubscribe_url: None,
            deadline: timeout * 3,
        })
    }

    /// Adds an unsubscribe URL (only `http`/`https`) to the `List-Unsubscribe` header, before
    /// the `mailto:` entry.
    pub fn with_unsubscribe_url(mut self, url: Option<&str>) -> Self {
        self.unsubscribe_url = url.and_then(crate::text::safe_url);
        self
    }

    /// The `Message-ID` for an idempotency key: `<KEY@podsift>`, sanitised.
    pub fn message_id(idempotency_key: &str) -> String {
        let mut id: String = idempotency_key
            .chars()
            .take(MAX_ID_CHARS)
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let trimmed = id.trim_matches('.');
        if trimmed.is_empty() {
            id = "digest".to_string();
        } else if trimmed.len() != id.len() {
            id = trimmed.to_string();
        }
        format!("<{id}@podsift>")
    }

    fn list_unsubscribe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(u) = &self.unsubscribe_url {
            parts.push(format!("<{u}>"));
        }
        parts.push(format!("<mailto:{}?subject=unsubscribe>", self.from.email));
        parts.join(", ")
    }

    /// The message as it is sent (exposed for tests and previews).
    pub fn build_message(
        &self,
        rendered: &RenderedDigest,
        idempotency_key: &str,
    ) -> Result<Message, DeliveryError> {
        Message::builder()
            .from(self.from.clone())
            .to(self.to.clone())
            .subject(rendered.subject.clone())
            .message_id(Some(Self::message_id(idempotency_key)))
            .date(SystemTime::now())
            .header(ListUnsubscribe(self.list_unsubscribe()))
            .multipart(MultiPart::alternative_plain_html(
                rendered.text.clone(),
                rendered.html.clone(),
            ))
            .map_err(|e| permanent(format!("cannot build the email: {e}")))
    }
}

/// Maps lettre's SMTP error onto the retryable/permanent split.
fn map_smtp(e: &lettre::transport::smtp::Error) -> DeliveryError {
    let msg = e.to_string();
    if e.is_permanent() || e.is_client() || e.is_tls() {
        // 5xx (bad recipient, auth refused, message refused), missing STARTTLS or AUTH
        // support, certificate problems: the configuration must change first.
        DeliveryError::Permanent(msg)
    } else {
        // 4xx, timeouts, refused/reset connections, garbled replies.
        DeliveryError::Temporary(msg)
    }
}

#[async_trait]
impl Channel for SmtpChannel {
    fn name(&self) -> String {
        format!("email:{}", self.to.email)
    }

    async fn deliver(
        &self,
        _digest: &Digest,
        rendered: &RenderedDigest,
        idempotency_key: &str,
    ) -> Result<String, DeliveryError> {
        let message = self.build_message(rendered, idempotency_key)?;
        let id = Self::message_id(idempotency_key);
        // lettre's timeout covers single commands but not every wait (a server that accepts
        // the connection and never greets hangs it), so the whole send has a deadline too.
        let sent = match tokio::time::timeout(self.deadline, self.transport.send(message)).await {
            Ok(r) => r.map_err(|e| map_smtp(&e)),
            Err(_) => Err(DeliveryError::Temporary(format!(
                "SMTP send to {}:{} did not finish within {}s",
                self.host,
                self.port,
                self.deadline.as_secs()
            ))),
        };
        match sent {
            Ok(_) => {
                tracing::info!(to = %self.to.email, message_id = %id, "digest emailed");
                Ok(id)
            }
            Err(err) => {
                tracing::warn!(to = %self.to.email, host = %self.host, error = %err, "email delivery failed");
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EmailConfig {
        EmailConfig {
            to: Some("Reader <reader@example.com>".into()),
            smtp_host: Some("smtp.example.com".into()),
            ..EmailConfig::default()
        }
    }

    #[test]
    fn message_ids() {
        assert_eq!(
            SmtpChannel::message_id("digest-7:email"),
            "<digest-7-email@podsift>"
        );
        assert_eq!(SmtpChannel::message_id("<a b>\r\n"), "<-a-b---@podsift>");
        assert_eq!(SmtpChannel::message_id(""), "<digest@podsift>");
        assert!(SmtpChannel::message_id(&"x".repeat(5000)).len() < 220);
    }

    #[test]
    fn config_errors_are_permanent() {
        let mut c = config();
        c.to = None;
        assert!(matches!(
            SmtpChannel::new(&c, None),
            Err(DeliveryError::Permanent(_))
        ));
        let mut c = config();
        c.to = Some("not an address".into());
        assert!(matches!(
            SmtpChannel::new(&c, None),
            Err(DeliveryError::Permanent(_))
        ));
        let mut c = config();
        c.username = Some("me".into());
        assert!(matches!(
            SmtpChannel::new(&c, None),
            Err(DeliveryError::Permanent(_))
        ));
        let mut c = config();
        c.username = Some("me".into());
        c.tls = SmtpTls::None;
        assert!(matches!(
            SmtpChannel::new(&c, Some("pw".into())),
            Err(DeliveryError::Permanent(_))
        ));
        c.smtp_host = Some("127.0.0.1".into());
        assert!(SmtpChannel::new(&c, Some("pw".into())).is_ok());
    }

    #[test]
    fn debug_redacts_password() {
        let mut c = config();
        c.username = Some("me".into());
        let ch = SmtpChannel::new(&c, Some("hunter2-secret".into())).unwrap();
        let dbg = format!("{ch:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
        assert_eq!(ch.name(), "email:reader@example.com");
    }
}
