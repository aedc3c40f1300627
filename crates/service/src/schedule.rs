//! The per-user digest schedule and the delivery of the outbox.
//!
//! Each user row holds `next_digest_at`. A tick asks [`podsift_schedule::due`] about it; when
//! the slot is due it makes the digest of the slot's local date (idempotent per user and
//! date) and only then advances `next_digest_at` from the *stored* slot, with a
//! compare-and-set. A crash between the two makes the same date's digest again, which finds
//! the existing one: a restart neither skips nor repeats a day, and two services never both
//! advance one slot.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use podsift_core::config::{DigestConfig, EmailConfig};
use podsift_core::{Channel, ChannelSpec, Clock, Store, UserProfile};
use podsift_digest::{
    DiscordChannel, HttpChannelOptions, SlackChannel, SmtpChannel, WebhookChannel,
};
use podsift_pipeline::{DigestOutcome, Digester};
use podsift_schedule::{Decision, due, next_run, parse_local_time, parse_tz};
use tokio::sync::watch;

use crate::stages::sleep_or_stop;
use crate::{Metrics, ServiceSettings};

/// The first delivery slot after `now` for a user's zone and time of day.
pub fn first_slot(
    now: DateTime<Utc>,
    time_zone: &str,
    delivery_time: &str,
) -> Result<DateTime<Utc>, podsift_schedule::ScheduleError> {
    Ok(next_run(
        now,
        parse_tz(time_zone)?,
        parse_local_time(delivery_time)?,
    ))
}

/// The service's SMTP server (`[email]` without `to`): every user's digest is emailed to
/// their own address through it.
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

/// The delivery channels of a user: their email address through the service's SMTP server
/// (when one is configured), then their stored channel list. An invalid one is logged and
/// left out (the others still work).
pub fn channels_for(
    user: &UserProfile,
    allow_http_loopback: bool,
    smtp: Option<&SmtpServer>,
) -> Vec<Arc<dyn Channel>> {
    let opts = HttpChannelOptions {
        allow_http_loopback,
        ..HttpChannelOptions::default()
    };
    let mut out: Vec<Arc<dyn Channel>> = Vec::new();
    if let Some(server) = smtp {
        match server.channel_to(&user.email) {
            Ok(c) => out.push(Arc::new(c)),
            Err(e) => tracing::warn!(user = %user.email, "cannot email this user: {e}"),
        }
    }
    for spec in &user.channels {
        let built: Result<Arc<dyn Channel>, _> = match spec {
            ChannelSpec::Webhook { url, secret } => {
                WebhookChannel::new(url, secret.as_bytes(), opts.clone())
                    .map(|c| Arc::new(c) as Arc<dyn Channel>)
            }
            ChannelSpec::Slack { url } => {
                SlackChannel::new(url, opts.clone()).map(|c| Arc::new(c) as Arc<dyn Channel>)
            }
            ChannelSpec::Discord { url } => {
                DiscordChannel::new(url, opts.clone()).map(|c| Arc::new(c) as Arc<dyn Channel>)
            }
            other => {
                tracing::warn!(user = %user.email, "channel kind not supported here: {other:?}");
                continue;
            }
        };
        match built {
            Ok(c) => out.push(c),
            Err(e) => tracing::warn!(user = %user.email, "invalid channel: {e}"),
        }
    }
    out
}

/// Makes scheduled digests and delivers the outbox.
pub struct DigestScheduler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    settings: ServiceSettings,
    metrics: Arc<Metrics>,
}

impl DigestScheduler {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: ServiceSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            clock,
            settings,
            metrics,
        }
    }

    fn digester(&self, cfg: DigestConfig, channels: Vec<Arc<dyn Channel>>) -> Digester {
        let mut d = Digester::new(self.store.clone(), self.clock.clone(), cfg, channels)
            .with_delivery_policy(self.settings.delivery);
        if let Some(r) = &self.settings.ranker {
            d = d.with_ranker(r.clone());
        }
        if let Some(secret) = &self.settings.feedback_secret {
            d = d.with_feedback_secret(secret.clone());
        }
        d
    }

    /// The user's digest for `date` (their size, channels, ranking, feedback links):
    /// the scheduled digest, and the web UI's "make my digest now".
    pub async fn make_digest(
        &self,
        user: &UserProfile,
        date: chrono::NaiveDate,
    ) -> Result<DigestOutcome, String> {
        let cfg = DigestConfig {
            size: user.digest_size.max(1) as usize,
            ..self.settings.digest.clone()
        };
        self.digester(cfg, self.channels_for(user))
            .make_digest(user.id, date)
            .await
            .map_err(|e| e.to_string())
    }

    fn channels_for(&self, user: &UserProfile) -> Vec<Arc<dyn Channel>> {
        channels_for(
            user,
            self.settings.allow_http_loopback,
            self.settings.smtp.as_ref(),
        )
    }

    /// One pass over every user: make the digests that are due. Errors of one user are
    /// logged and the others go on. Returns the digests created.
    pub async fn make_due_digests(&self) -> usize {
        let users = match self.store.list_users().await {
            Ok(u) => u,
            Err(e) => {
                tracing::error!("listing users: {e}");
                return 0;
            }
        };
        let mut created = 0;
        for user in users {
            match self.user_tick(&user).await {
                Ok(n) => created += n,
                Err(e) => tracing::error!(user = %user.email, "digest schedule: {e}"),
            }
        }
        created
    }

    async fn user_tick(&self, user: &UserProfile) -> Result<usize, String> {
        let tz: Tz = parse_tz(&user.time_zone).map_err(|e| e.to_string())?;
        let at = parse_local_time(&user.delivery_time).map_err(|e| e.to_string())?;
        let now = self.clock.now();
        let Some(mut stored) = user.next_digest_at else {
            // Not scheduled yet (or its zone/time changed): the first slot after now.
            let first = next_run(now, tz, at);
            self.store
                .advance_next_digest(user.id, None, Some(first))
                .await
                .map_err(|e| e.to_string())?;
            return Ok(0);
        };
        let mut created = 0;
        // Several slots may be missed after a long downtime: one loop step per slot.
        for _ in 0..400 {
            let next = next_run(stored, tz, at);
            match due(now, stored, self.settings.catch_up, tz) {
                Decision::Wait => break,
                Decision::SkipMissed { for_date } => {
                    tracing::warn!(user = %user.email, %for_date, "digest slot missed by more than the catch-up window: skipped");
                }
                Decision::Run { for_date } => match self.make_digest(user, for_date).await? {
                    DigestOutcome::Created { id, .. } => {
                        created += 1;
                        self.metrics.digest_made();
                        tracing::info!(user = %user.email, %for_date, digest = id, "digest made");
                    }
                    DigestOutcome::Existing { id, .. } => {
                        tracing::info!(user = %user.email, %for_date, digest = id, "digest existed already (resumed after a restart)");
                    }
                    DigestOutcome::NothingNew => {
                        tracing::info!(user = %user.email, %for_date, "nothing new: no digest");
                    }
                },
            }
            let moved = self
                .store
                .advance_next_digest(user.id, Some(stored), Some(next))
                .await
                .map_err(|e| e.to_string())?;
            if !moved {
                // Another service advanced it (or the user was changed): its turn.
                break;
            }
            stored = next;
        }
        Ok(created)
    }

    /// Deliver every due outbox row, with the channels of every user (a row's channel name
    /// identifies its URL). Returns (sent, failed).
    pub async fn deliver(&self) -> (usize, usize) {
        let users = match self.store.list_users().await {
            Ok(u) => u,
            Err(e) => {
                tracing::error!("listing users: {e}");
                return (0, 0);
            }
        };
        let mut channels: Vec<Arc<dyn Channel>> = Vec::new();
        for u in &users {
            for c in self.channels_for(u) {
                if !channels.iter().any(|have| have.name() == c.name()) {
                    channels.push(c);
                }
            }
        }
        if channels.is_empty() {
            return (0, 0);
        }
        let digester = self.digester(self.settings.digest.clone(), channels);
        let (mut sent, mut failed) = (0, 0);
        let result = digester
            .deliver_pending(|d| {
                if d.result == "sent" {
                    sent += 1;
                } else {
                    failed += 1;
                    tracing::warn!(channel = %d.channel, result = d.result, "delivery failed: {}", d.detail);
                }
            })
            .await;
        if let Err(e) = result {
            tracing::error!("delivering the outbox: {e}");
        }
        self.metrics.delivered(sent, failed);
        (sent, failed)
    }
}

pub(crate) async fn schedule_loop(
    scheduler: Arc<DigestScheduler>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        scheduler.make_due_digests().await;
        scheduler.deliver().await;
        if sleep_or_stop(every, &mut stop).await {
            break;
        }
    }
}
