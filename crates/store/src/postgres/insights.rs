//! Insights, extraction reports, the LLM answer cache, digests and the delivery outbox
//! (PostgreSQL).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use podsift_core::insight::{
    CandidateInsight, Delivery, DeliveryOutcome, Digest, ExtractionReport, InsightDraft, LlmCache,
    LlmResponse,
};
use podsift_core::model::*;
use podsift_core::store::StoreError;

use super::PgStore;
use super::transcripts::lock_episode;
use crate::convert::*;
use crate::error::map_sqlx_error;
use crate::insights::MAX_INSIGHTS_PER_EPISODE;
use crate::rows::{
    CANDIDATE_SELECT, DELIVERY_COLUMNS, candidate_from_row, delivery_from_row, digest_from_row,
    extraction_from_row, user_from_row,
};

impl PgStore {
    pub(crate) async fn get_user_impl(&self, user: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, name, email, created_at FROM users WHERE id = $1")
            .bind(user)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn episodes_needing_insights_impl(
        &self,
        limit_n: usize,
    ) -> Result<Vec<EpisodeId>, StoreError> {
        sqlx::query_scalar(
            "SELECT e.id FROM episodes e JOIN transcripts t ON t.episode_id = e.id \
             WHERE e.state = 'candidate' AND t.segment_count > 0 \
             AND NOT EXISTS (SELECT 1 FROM extractions x WHERE x.episode_id = e.id) \
             AND NOT EXISTS (SELECT 1 FROM jobs j \
                             WHERE j.dedupe_key = 'extract_insights:' || e.id::text) \
             ORDER BY e.id LIMIT $1",
        )
        .bind(limit(limit_n))
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)
    }

    pub(crate) async fn save_extraction_impl(
        &self,
        episode: EpisodeId,
        model: &str,
        insights: &[InsightDraft],
        report: &ExtractionReport,
        fence: Option<&podsift_core::jobs::Fence>,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        if insights.len() > MAX_INSIGHTS_PER_EPISODE {
            return Err(StoreError::Permanent(format!(
                "{} insights for one episode (limit {MAX_INSIGHTS_PER_EPISODE})",
                insights.len()
            )));
        }
        for i in insights {
            if !i.start_seconds.is_finite() || !i.end_seconds.is_finite() {
                return Err(StoreError::Permanent(
                    "insight time is not a finite number".into(),
                ));
            }
        }
        let report_json = to_json(report, "extraction report")?;
        let mut tx = self.begin().await?;
        super::transcripts::check_fence(&mut tx, fence).await?;
        if !lock_episode(&mut tx, episode).await? {
            return Err(StoreError::NotFound(format!("episode {episode}")));
        }
        // The redo's insights keep the ids of the ones they restate (feedback and "sent"
        // refer to ids); the rest are deleted, or retired when referred to.
        let existing: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, quote FROM insights WHERE episode_id = $1 ORDER BY id")
                .bind(episode)
                .fetch_all(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
        let plan = crate::identity::plan(&existing, insights);
        let retire = super::numbered(crate::identity::RETIRE_REFERENCED);
        for id in &plan.gone {
            let kept = sqlx::query(sqlx::AssertSqlSafe(retire.clone()))
                .bind(ms(now))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?
                .rows_affected();
            if kept == 0 {
                sqlx::query("DELETE FROM insights WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
            }
        }
        sqlx::query(
            "INSERT INTO extractions (episode_id, model, report, prompt_tokens, \
             completion_tokens, cost_usd, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (episode_id) DO UPDATE SET model = excluded.model, \
             report = excluded.report, prompt_tokens = excluded.prompt_tokens, \
             completion_tokens = excluded.completion_tokens, cost_usd = excluded.cost_usd, \
             created_at = excluded.created_at",
        )
        .bind(episode)
        .bind(model)
        .bind(&report_json)
        .bind(to_i64(report.prompt_tokens, "prompt tokens")?)
        .bind(to_i64(report.completion_tokens, "completion tokens")?)
        .bind(if report.cost_usd.is_finite() {
            report.cost_usd
        } else {
            0.0
        })
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        let mut ids = Vec::with_capacity(insights.len());
        for (i, known) in insights.iter().zip(&plan.ids) {
            let data = to_json(i, "insight")?;
            let id: i64 = match known {
                Some(id) => sqlx::query_scalar(
                    "UPDATE insights SET text = $1, quote = $2, start_seconds = $3, \
                     end_seconds = $4, data = $5, retired_at = NULL WHERE id = $6 RETURNING id",
                )
                .bind(&i.text)
                .bind(&i.quote)
                .bind(i.start_seconds)
                .bind(i.end_seconds)
                .bind(data)
                .bind(id),
                None => sqlx::query_scalar(
                    "INSERT INTO insights (episode_id, text, quote, start_seconds, end_seconds, \
                     data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(episode)
                .bind(&i.text)
                .bind(&i.quote)
                .bind(i.start_seconds)
                .bind(i.end_seconds)
                .bind(data)
                .bind(ms(now)),
            }
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
            ids.push(id);
        }
        tx.commit().await.map_err(map_sqlx_error)?;
        Ok(ids)
    }

    pub(crate) async fn llm_spend_since_impl(
        &self,
        since: DateTime<Utc>,
    ) -> Result<podsift_core::LlmSpend, StoreError> {
        let row = sqlx::query(crate::rows::LLM_SPEND_SQL)
            .bind(ms(since))
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        use sqlx::Row as _;
        let tokens: i64 = row.try_get("tokens").map_err(map_sqlx_error)?;
        Ok(podsift_core::LlmSpend {
            prompt_tokens: tokens.max(0) as u64,
            cost_usd: row.try_get("usd").map_err(map_sqlx_error)?,
        })
    }

    pub(crate) async fn add_insight_impl(
        &self,
        episode: EpisodeId,
        insight: &InsightDraft,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        if !insight.start_seconds.is_finite() || !insight.end_seconds.is_finite() {
            return Err(StoreError::Permanent(
                "insight time is not a finite number".into(),
            ));
        }
        let data = to_json(insight, "insight")?;
        let mut tx = self.begin().await?;
        if !lock_episode(&mut tx, episode).await? {
            return Err(StoreError::NotFound(format!("episode {episode}")));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO insights (episode_id, text, quote, start_seconds, end_seconds, \
             data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(episode)
        .bind(&insight.text)
        .bind(&insight.quote)
        .bind(insight.start_seconds)
        .bind(insight.end_seconds)
        .bind(data)
        .bind(ms(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        tx.commit().await.map_err(map_sqlx_error)?;
        Ok(id)
    }

    pub(crate) async fn get_extraction_impl(
        &self,
        episode: EpisodeId,
    ) -> Result<Option<(String, ExtractionReport)>, StoreError> {
        let row = sqlx::query("SELECT model, report FROM extractions WHERE episode_id = $1")
            .bind(episode)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        row.as_ref().map(extraction_from_row).transpose()
    }

    pub(crate) async fn episode_insights_impl(
        &self,
        episode: EpisodeId,
    ) -> Result<Vec<CandidateInsight>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CANDIDATE_SELECT} WHERE i.episode_id = $1 AND i.retired_at IS NULL ORDER BY i.start_seconds, i.id"
        )))
        .bind(episode)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        rows.iter().map(candidate_from_row).collect()
    }

    pub(crate) async fn insight_candidates_impl(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<CandidateInsight>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CANDIDATE_SELECT} WHERE i.created_at >= $1 AND i.retired_at IS NULL \
             AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = $2 AND s.feed_id = e.feed_id) \
             AND NOT EXISTS (SELECT 1 FROM digest_items d WHERE d.user_id = $2 AND d.insight_id = i.id) \
             ORDER BY i.id"
        )))
        .bind(ms(since))
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        rows.iter().map(candidate_from_row).collect()
    }

    pub(crate) async fn create_digest_impl(
        &self,
        user: UserId,
        digest: &Digest,
        channels: &[String],
        now: DateTime<Utc>,
    ) -> Result<(i64, bool), StoreError> {
        let day = digest.date.to_string();
        let body = to_json(digest, "digest")?;
        let mut tx = self.begin().await?;
        // A concurrent creation of the same (user, day) makes this wait for it and then insert
        // nothing; the digest, its items and its outbox rows commit together or not at all.
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO digests (user_id, day, body, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, day) DO NOTHING RETURNING id",
        )
        .bind(user)
        .bind(&day)
        .bind(&body)
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        let Some(id) = inserted else {
            let existing: i64 =
                sqlx::query_scalar("SELECT id FROM digests WHERE user_id = $1 AND day = $2")
                    .bind(user)
                    .bind(&day)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
            return Ok((existing, false));
        };
        for item in &digest.insights {
            sqlx::query(
                "INSERT INTO digest_items (digest_id, insight_id, user_id, rank) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (digest_id, insight_id) DO NOTHING",
            )
            .bind(id)
            .bind(item.insight_id)
            .bind(user)
            .bind(to_i64(item.rank, "rank")?)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        }
        for channel in channels {
            sqlx::query(
                "INSERT INTO deliveries (digest_id, user_id, channel, state, next_attempt_at) \
                 VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT (digest_id, channel) DO NOTHING",
            )
            .bind(id)
            .bind(user)
            .bind(channel)
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        }
        tx.commit().await.map_err(map_sqlx_error)?;
        Ok((id, true))
    }

    pub(crate) async fn get_digest_impl(
        &self,
        user: UserId,
        date: NaiveDate,
    ) -> Result<Option<(i64, Digest)>, StoreError> {
        let row = sqlx::query("SELECT id, body FROM digests WHERE user_id = $1 AND day = $2")
            .bind(user)
            .bind(date.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        row.as_ref().map(digest_from_row).transpose()
    }

    pub(crate) async fn digest_by_id_impl(&self, id: i64) -> Result<Option<Digest>, StoreError> {
        let row = sqlx::query("SELECT id, body FROM digests WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(row
            .as_ref()
            .map(digest_from_row)
            .transpose()?
            .map(|(_, d)| d))
    }

    pub(crate) async fn latest_digest_impl(
        &self,
        user: UserId,
    ) -> Result<Option<(i64, Digest)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, body FROM digests WHERE user_id = $1 ORDER BY day DESC, id DESC LIMIT 1",
        )
        .bind(user)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        row.as_ref().map(digest_from_row).transpose()
    }

    pub(crate) async fn due_deliveries_impl(
        &self,
        now: DateTime<Utc>,
        stale: Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries \
             WHERE (state = 'pending' AND next_attempt_at <= $1) \
             OR (state = 'sending' AND started_at <= $2) ORDER BY next_attempt_at, id"
        )))
        .bind(ms(now))
        .bind(ms(now).saturating_sub(duration_ms(stale)))
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        rows.iter().map(delivery_from_row).collect()
    }

    pub(crate) async fn start_delivery_impl(
        &self,
        delivery: i64,
        now: DateTime<Utc>,
        stale: Duration,
    ) -> Result<bool, StoreError> {
        // One statement: of two processes starting the same delivery, the second re-checks
        // the row after the first commits and finds it no longer due.
        let res = sqlx::query(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, started_at = $1 \
             WHERE id = $2 AND ((state = 'pending' AND next_attempt_at <= $1) \
             OR (state = 'sending' AND started_at <= $3))",
        )
        .bind(ms(now))
        .bind(delivery)
        .bind(ms(now).saturating_sub(duration_ms(stale)))
        .execute(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        Ok(res.rows_affected() == 1)
    }

    pub(crate) async fn finish_delivery_impl(
        &self,
        delivery: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let q = match outcome {
            DeliveryOutcome::Sent { receipt } => sqlx::query(
                "UPDATE deliveries SET state = 'sent', receipt = $1, sent_at = $2, \
                 last_error = NULL WHERE id = $3",
            )
            .bind(truncate(receipt, MAX_ERROR_TEXT).to_string())
            .bind(ms(now)),
            DeliveryOutcome::Retry { error, retry_at } => sqlx::query(
                "UPDATE deliveries SET state = 'pending', last_error = $1, next_attempt_at = $2 \
                 WHERE id = $3",
            )
            .bind(truncate(error, MAX_ERROR_TEXT).to_string())
            .bind(ms(*retry_at)),
            DeliveryOutcome::Dead { error } => {
                sqlx::query("UPDATE deliveries SET state = 'dead', last_error = $1 WHERE id = $2")
                    .bind(truncate(error, MAX_ERROR_TEXT).to_string())
            }
        };
        let res = q
            .bind(delivery)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        if res.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("delivery {delivery}")));
        }
        Ok(())
    }

    pub(crate) async fn list_deliveries_impl(
        &self,
        digest: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE digest_id = $1 ORDER BY id"
        )))
        .bind(digest)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        rows.iter().map(delivery_from_row).collect()
    }
}

/// The LLM answer cache in the shared database, so another worker's answer costs nothing.
/// Cache failures are logged and treated as misses: a cache must never fail a run.
#[async_trait]
impl LlmCache for PgStore {
    async fn get(&self, key: &str) -> Option<LlmResponse> {
        let row: Result<Option<String>, _> =
            sqlx::query_scalar("SELECT response FROM llm_cache WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await;
        match row {
            Ok(Some(json)) => serde_json::from_str(&json).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("llm cache read failed: {e}");
                None
            }
        }
    }

    async fn put(&self, key: &str, response: &LlmResponse) {
        let Ok(json) = serde_json::to_string(response) else {
            return;
        };
        let res = sqlx::query(
            "INSERT INTO llm_cache (key, response, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET response = excluded.response",
        )
        .bind(key)
        .bind(json)
        .bind(ms(Utc::now()))
        .execute(&self.pool)
        .await;
        if let Err(e) = res {
            tracing::warn!("llm cache write failed: {e}");
        }
    }
}
