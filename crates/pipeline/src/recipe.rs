//! The one digest recipe: whose digest, how many insights, through which channels, ranked
//! how, with which feedback links. `podsift run`, the service's schedule and the web UI's
//! "make my digest now" all make digests here.

use std::sync::Arc;

use chrono::NaiveDate;
use podsift_core::config::{DigestConfig, EmailConfig};
use podsift_core::{Channel, ChannelSpec, Store, UserId, UserProfile};
use podsift_digest::{
    DiscordChannel, HttpChannelOptions, SlackChannel, SmtpChannel, WebhookChannel,
};

use crate::{
    DeliveryPolicy, DeliveryReport, DigestOutcome, Digester, PipelineError, Ranker, SharedClock,
};

/// The SMTP server of `[email]`: each reader's digest is emailed to their address through it.
#[derive(Clone)]
pub struct SmtpServer {
    pub config: EmailConfig,
    /// From `[email] password_env`; never logged.
    pub password: Option<String>,
    /// `List-Unsubscribe` target (the web UI's settings page).
    pub unsubscribe_url: Option<String>,
}

impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.config.smtp_host)
            .field("port", &self.config.smtp_port)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl SmtpServer {
    /// `[email]` when it names a server (`smtp_host`), with its password from the environment.
    pub fn from_config(email: &EmailConfig, unsubscribe_url: Option<String>) -> Option<Self> {
        email.smtp_host.as_ref()?;
        Some(Self {
            config: email.clone(),
            password: SmtpChannel::password_from_env(email),
            unsubscribe_url,
        })
    }

    /// An email channel to `to` through this server.
    pub fn channel_to(&self, to: &str) -> Result<SmtpChannel, podsift_core::DeliveryError> {
        let config = EmailConfig {
            to: Some(to.to_string()),
            ..self.config.clone()
        };
        Ok(SmtpChannel::new(&config, self.password.clone())?
            .with_unsubscribe_url(self.unsubscribe_url.as_deref()))
    }
}

/// Whose digest: the laptop's local user (`[digest]` size, `[email] to`, the driver's local
/// channels) or a user of a shared instance (their size, address and stored channels).
#[derive(Debug, Clone)]
pub enum Reader {
    Local { id: UserId },
    User(UserProfile),
}

impl Reader {
    pub fn id(&self) -> UserId {
        match self {
            Self::Local { id } => *id,
            Self::User(u) => u.id,
        }
    }
}

/// Everything a digest is made with.
#[derive(Clone)]
pub struct DigestRecipe {
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub digest: DigestConfig,
    /// The embeddings ranking (`None`: the simple selection).
    pub ranker: Option<Ranker>,
    /// Signs the 👍/👎 links (they need `digest.base_url` too).
    pub feedback_secret: Option<Vec<u8>>,
    pub delivery: DeliveryPolicy,
    pub smtp: Option<SmtpServer>,
    /// `[email] to`: the local reader's address.
    pub local_address: Option<String>,
    /// Channels only the local reader has (the CLI's digest files).
    pub local_channels: Vec<Arc<dyn Channel>>,
    /// The webhook, Slack and Discord channels' limits and SSRF guard ([`channel_options`]).
    pub channel_options: HttpChannelOptions,
    /// The daily editor across episodes (`None`: off).
    pub daily: Option<crate::DailyEditor>,
}

impl DigestRecipe {
    fn digester(&self, cfg: DigestConfig, channels: Vec<Arc<dyn Channel>>) -> Digester {
        let mut d = Digester::new(self.store.clone(), self.clock.clone(), cfg, channels)
            .with_delivery_policy(self.delivery);
        if let Some(r) = &self.ranker {
            d = d.with_ranker(r.clone());
        }
        if let Some(secret) = &self.feedback_secret {
            d = d.with_feedback_secret(secret.clone());
        }
        if let Some(daily) = &self.daily {
            d = d.with_daily_editor(daily.clone());
        }
        d
    }

    /// The reader's channels. One that cannot be built is logged and left out (the others
    /// still work).
    fn usable_channels(&self, reader: &Reader) -> Vec<Arc<dyn Channel>> {
        let mut out: Vec<Arc<dyn Channel>> = Vec::new();
        let (address, specs): (Option<&str>, &[ChannelSpec]) = match reader {
            Reader::Local { .. } => {
                out.extend(self.local_channels.iter().cloned());
                (self.local_address.as_deref(), &[])
            }
            Reader::User(u) => (Some(u.email.as_str()), &u.channels),
        };
        let left_out = |channel: &str, error: &dyn std::fmt::Display| {
            tracing::warn!(user = reader.id(), "channel left out: {channel}: {error}");
        };
        if let (Some(server), Some(to)) = (&self.smtp, address) {
            match server.channel_to(to) {
                Ok(c) => out.push(Arc::new(c)),
                Err(e) => left_out(&format!("email:{to}"), &e),
            }
        }
        for spec in specs {
            match http_channel(spec, &self.channel_options) {
                Ok(c) => out.push(c),
                Err(e) => left_out(spec.kind(), &e),
            }
        }
        out
    }

    /// The reader's digest for `date`, with one outbox row per channel. Idempotent per
    /// reader and date.
    pub async fn make(
        &self,
        reader: &Reader,
        date: NaiveDate,
    ) -> Result<DigestOutcome, PipelineError> {
        let size = match reader {
            Reader::Local { .. } => self.digest.size,
            Reader::User(u) => u.digest_size as usize,
        };
        let cfg = DigestConfig {
            size: size.max(1),
            ..self.digest.clone()
        };
        self.digester(cfg, self.usable_channels(reader))
            .make_digest(reader.id(), date)
            .await
    }

    /// Deliver the due outbox rows of these readers' channels (a row's channel name
    /// identifies its address or URL; rows of other channels wait for their own driver).
    pub async fn deliver(
        &self,
        readers: &[Reader],
        on_delivery: impl FnMut(&DeliveryReport),
    ) -> Result<Vec<DeliveryReport>, PipelineError> {
        let mut channels: Vec<Arc<dyn Channel>> = Vec::new();
        for r in readers {
            for c in self.usable_channels(r) {
                if !channels.iter().any(|have| have.name() == c.name()) {
                    channels.push(c);
                }
            }
        }
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        self.digester(self.digest.clone(), channels)
            .deliver_pending(on_delivery)
            .await
    }
}

/// The HTTP channels' options from the configuration: the SSRF guard on (off only with
/// `allow_private_networks`, the CLI's single-user mode and tests), `[http] allow_hosts`
/// let through, plain `http://` only to loopback and only with the guard off.
pub fn channel_options(config: &podsift_core::Config) -> HttpChannelOptions {
    HttpChannelOptions {
        allow_http_loopback: config.allow_private_networks,
        allow_private: config.allow_private_networks,
        allow_hosts: podsift_fetch::AllowList::parse(&config.http.allow_hosts).unwrap_or_default(),
        ..HttpChannelOptions::default()
    }
}

/// A stored webhook, Slack or Discord channel.
pub fn http_channel(
    spec: &ChannelSpec,
    opts: &HttpChannelOptions,
) -> Result<Arc<dyn Channel>, String> {
    let opts = opts.clone();
    fn shared<C: Channel + 'static, E: std::fmt::Display>(
        built: Result<C, E>,
    ) -> Result<Arc<dyn Channel>, String> {
        built
            .map(|c| Arc::new(c) as Arc<dyn Channel>)
            .map_err(|e| e.to_string())
    }
    match spec {
        ChannelSpec::Webhook { url, secret } => {
            shared(WebhookChannel::new(url, secret.as_bytes(), opts))
        }
        ChannelSpec::Slack { url } => shared(SlackChannel::new(url, opts)),
        ChannelSpec::Discord { url } => shared(DiscordChannel::new(url, opts)),
        other => Err(format!("channel kind not supported here: {other:?}")),
    }
}
