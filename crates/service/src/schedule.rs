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
use podsift_core::{Clock, Store, UserProfile};
use podsift_pipeline::{DeliveryResult, DigestOutcome, DigestRecipe, Reader};
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

/// Makes scheduled digests and delivers the outbox, with the pipeline's one recipe.
pub struct DigestScheduler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    recipe: DigestRecipe,
    settings: ServiceSettings,
    metrics: Arc<Metrics>,
}

impl DigestScheduler {
    pub fn new(
        recipe: DigestRecipe,
        clock: Arc<dyn Clock>,
        settings: ServiceSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store: recipe.store.clone(),
            clock,
            recipe,
            settings,
            metrics,
        }
    }

    /// The user's digest for `date` (their size, channels, ranking, feedback links):
    /// the scheduled digest, and the web UI's "make my digest now".
    pub async fn make_digest(
        &self,
        user: &UserProfile,
        date: chrono::NaiveDate,
    ) -> Result<DigestOutcome, podsift_pipeline::PipelineError> {
        self.recipe.make(&Reader::User(user.clone()), date).await
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
                Decision::Run { for_date } => match self
                    .make_digest(user, for_date)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    DigestOutcome::Created { id, .. } => {
                        created += 1;
                        self.metrics.digest_made();
                        tracing::info!(user = %user.email, %for_date, digest = id, "digest made");
                    }
                    DigestOutcome::Existing { id, .. } => {
                        tracing::info!(user = %user.email, %for_date, digest = id, "digest existed already (resumed after a restart)");
                    }
                    DigestOutcome::NothingNew { why } => {
                        tracing::info!(user = %user.email, %for_date, why, "no digest");
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
        let readers: Vec<Reader> = users.into_iter().map(Reader::User).collect();
        let (mut sent, mut failed) = (0, 0);
        let result = self
            .recipe
            .deliver(&readers, |d| {
                if d.result == DeliveryResult::Sent {
                    sent += 1;
                } else {
                    failed += 1;
                    tracing::warn!(channel = %d.channel, result = d.result.as_str(), "delivery failed: {}", d.detail);
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
