//! Insights, extraction reports, the LLM answer cache, digests and the delivery outbox, one
//! body for both databases.
//!
//! What differs: PostgreSQL locks the episode row (`FOR NO KEY UPDATE`) while an episode's
//! insights are written and the fenced job row (`FOR UPDATE`, [`check_fence!`]); SQLite's
//! write transaction (`BEGIN IMMEDIATE`) holds the database's only write lock, which
//! serialises those writers already. Digests and the delivery outbox are in [`digests`].

mod digests;

use chrono::{DateTime, Utc};
use podsift_core::insight::{CandidateInsight, ExtractionReport, InsightDraft, LlmResponse};
use podsift_core::model::*;
use podsift_core::store::StoreError;

use crate::convert::*;
use crate::db::{Backend, Db, db_run};
use crate::error::map_sqlx_error;
use crate::identity::check_fence;
use crate::rows::{
    CANDIDATE_SELECT, Columns, READS_EPISODE, candidate_from_row, extraction_from_row,
    user_from_row,
};
use crate::transcripts::lock_episode;

/// Most insights stored for one episode.
pub const MAX_INSIGHTS_PER_EPISODE: usize = 1_000;

const NEEDING_INSIGHTS_SQL: &str = "SELECT e.id FROM episodes e \
     JOIN transcripts t ON t.episode_id = e.id \
     WHERE e.state = 'candidate' AND t.segment_count > 0 \
     AND NOT EXISTS (SELECT 1 FROM extractions x WHERE x.episode_id = e.id) \
     AND NOT EXISTS (SELECT 1 FROM jobs j \
                     WHERE j.dedupe_key = 'extract_insights:' || CAST(e.id AS TEXT)) \
     ORDER BY e.id LIMIT $1";

const SAVE_EXTRACTION_SQL: &str = "INSERT INTO extractions (episode_id, model, report, \
     prompt_tokens, completion_tokens, cost_usd, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (episode_id) DO UPDATE SET model = excluded.model, \
     report = excluded.report, prompt_tokens = excluded.prompt_tokens, \
     completion_tokens = excluded.completion_tokens, cost_usd = excluded.cost_usd, \
     created_at = excluded.created_at";

const INSERT_INSIGHT_SQL: &str = "INSERT INTO insights (episode_id, text, quote, start_seconds, \
     end_seconds, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";

const UPDATE_INSIGHT_SQL: &str = "UPDATE insights SET text = $1, quote = $2, start_seconds = $3, \
     end_seconds = $4, data = $5, retired_at = NULL WHERE id = $6 RETURNING id";

const CACHE_GET_SQL: &str = "SELECT response FROM llm_cache WHERE key = $1";
const CACHE_PUT_SQL: &str = "INSERT INTO llm_cache (key, response, created_at) VALUES ($1, $2, $3) \
     ON CONFLICT (key) DO UPDATE SET response = excluded.response";

fn check_times(insights: &[InsightDraft]) -> Result<(), StoreError> {
    for i in insights {
        if !i.start_seconds.is_finite() || !i.end_seconds.is_finite() {
            return Err(StoreError::Permanent(
                "insight time is not a finite number".into(),
            ));
        }
    }
    Ok(())
}

impl Db {
    pub(crate) async fn get_user(&self, user: UserId) -> Result<Option<User>, StoreError> {
        db_run!(self, |pool| {
            let row = sqlx::query("SELECT id, name, email, created_at FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(pool)
                .await
                .map_err(map_sqlx_error)?;
            row.as_ref().map(user_from_row).transpose()
        })
    }

    pub(crate) async fn episodes_needing_insights(
        &self,
        limit_n: usize,
    ) -> Result<Vec<EpisodeId>, StoreError> {
        db_run!(self, |pool| sqlx::query_scalar::<_, EpisodeId>(
            NEEDING_INSIGHTS_SQL
        )
        .bind(limit(limit_n))
        .fetch_all(pool)
        .await
        .map_err(map_sqlx_error))
    }

    pub(crate) async fn save_extraction(
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
        check_times(insights)?;
        let report_json = to_json(report, "extraction report")?;
        let prompt_tokens = to_i64(report.prompt_tokens, "prompt tokens")?;
        let completion_tokens = to_i64(report.completion_tokens, "completion tokens")?;
        let cost = if report.cost_usd.is_finite() {
            report.cost_usd
        } else {
            0.0
        };
        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            check_fence!(pool, tx, fence)?;
            if !lock_episode!(pool, tx, episode)? {
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
            for id in &plan.gone {
                let kept = sqlx::query(crate::identity::RETIRE_REFERENCED)
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
            sqlx::query(SAVE_EXTRACTION_SQL)
                .bind(episode)
                .bind(model)
                .bind(&report_json)
                .bind(prompt_tokens)
                .bind(completion_tokens)
                .bind(cost)
                .bind(ms(now))
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            let mut ids = Vec::with_capacity(insights.len());
            for (i, known) in insights.iter().zip(&plan.ids) {
                let data = to_json(i, "insight")?;
                let id: i64 = match known {
                    Some(id) => sqlx::query_scalar(UPDATE_INSIGHT_SQL)
                        .bind(&i.text)
                        .bind(&i.quote)
                        .bind(i.start_seconds)
                        .bind(i.end_seconds)
                        .bind(data)
                        .bind(id),
                    None => sqlx::query_scalar(INSERT_INSIGHT_SQL)
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
        })
    }

    pub(crate) async fn llm_spend_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<podsift_core::LlmSpend, StoreError> {
        db_run!(self, |pool| {
            let row = sqlx::query(crate::rows::LLM_SPEND_SQL)
                .bind(ms(since))
                .fetch_one(pool)
                .await
                .map_err(map_sqlx_error)?;
            Ok(podsift_core::LlmSpend {
                prompt_tokens: row.int("tokens")?.max(0) as u64,
                cost_usd: row.real("usd")?,
            })
        })
    }

    pub(crate) async fn add_insight(
        &self,
        episode: EpisodeId,
        insight: &InsightDraft,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        check_times(std::slice::from_ref(insight))?;
        let data = to_json(insight, "insight")?;
        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            if !lock_episode!(pool, tx, episode)? {
                return Err(StoreError::NotFound(format!("episode {episode}")));
            }
            let id: i64 = sqlx::query_scalar(INSERT_INSIGHT_SQL)
                .bind(episode)
                .bind(&insight.text)
                .bind(&insight.quote)
                .bind(insight.start_seconds)
                .bind(insight.end_seconds)
                .bind(&data)
                .bind(ms(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            tx.commit().await.map_err(map_sqlx_error)?;
            Ok(id)
        })
    }

    pub(crate) async fn get_extraction(
        &self,
        episode: EpisodeId,
    ) -> Result<Option<(String, ExtractionReport)>, StoreError> {
        db_run!(self, |pool| {
            let row = sqlx::query("SELECT model, report FROM extractions WHERE episode_id = $1")
                .bind(episode)
                .fetch_optional(pool)
                .await
                .map_err(map_sqlx_error)?;
            row.as_ref().map(extraction_from_row).transpose()
        })
    }

    pub(crate) async fn episode_insights(
        &self,
        episode: EpisodeId,
    ) -> Result<Vec<CandidateInsight>, StoreError> {
        let sql = format!(
            "{CANDIDATE_SELECT} WHERE i.episode_id = $1 AND i.retired_at IS NULL \
             ORDER BY i.start_seconds, i.id"
        );
        db_run!(self, |pool| {
            // No reader: `$2` NULL, so only the catalogue's topics give a `found_for`.
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(episode)
                .bind(Option::<UserId>::None)
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter().map(candidate_from_row).collect()
        })
    }

    pub(crate) async fn insight_candidates(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<CandidateInsight>, StoreError> {
        let sql = format!(
            "{CANDIDATE_SELECT} WHERE i.created_at >= $1 AND i.retired_at IS NULL \
             AND {READS_EPISODE} \
             AND NOT EXISTS (SELECT 1 FROM digest_items d \
                             WHERE d.user_id = $2 AND d.insight_id = i.id) \
             ORDER BY i.id"
        );
        db_run!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(ms(since))
                .bind(user)
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter().map(candidate_from_row).collect()
        })
    }

    /// The LLM answer cache lives in the database, so a rerun (or another worker) costs
    /// nothing. Cache failures are logged and treated as misses: a cache must never fail a run.
    pub(crate) async fn llm_cache_get(&self, key: &str) -> Option<LlmResponse> {
        let row: Result<Option<String>, sqlx::Error> = db_run!(self, |pool| {
            sqlx::query_scalar::<_, String>(CACHE_GET_SQL)
                .bind(key)
                .fetch_optional(pool)
                .await
        });
        match row {
            Ok(Some(json)) => serde_json::from_str(&json).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("llm cache read failed: {e}");
                None
            }
        }
    }

    /// Stores an answer; a failure is logged, not returned (see [`Db::llm_cache_get`]).
    pub(crate) async fn llm_cache_put(&self, key: &str, response: &LlmResponse) {
        let Ok(json) = serde_json::to_string(response) else {
            return;
        };
        let res = db_run!(self, |pool| sqlx::query(CACHE_PUT_SQL)
            .bind(key)
            .bind(&json)
            .bind(ms(Utc::now()))
            .execute(pool)
            .await
            .map(|_| ()));
        if let Err(e) = res {
            tracing::warn!("llm cache write failed: {e}");
        }
    }
}
