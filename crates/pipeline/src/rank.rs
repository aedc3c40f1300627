//! The digest's embeddings engine: today's candidates, what the user was sent in the last
//! `history_days` (from the stored digests, embedded on the fly), their interests and
//! feedback, through [`podsift_ranking::rank`]; picks keep their reasons ("also discussed
//! on …", "Update: …").

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use podsift_core::config::RankingConfig;
use podsift_core::{CandidateInsight, Store, UserId};
use podsift_ranking::{Candidate, Embedder, Profile, RankConfig, SentInsight};

use crate::PipelineError;

/// Stored digests older than this are never read, whatever `history_days` says (one lookup
/// per day).
const MAX_HISTORY_DAYS: i64 = 366;

/// `[ranking]` as the ranking crate's knobs, picking `top_k`.
pub fn rank_config(cfg: &RankingConfig, top_k: usize) -> RankConfig {
    RankConfig {
        top_k,
        max_per_show: cfg.max_per_show,
        max_per_episode: cfg.max_per_episode,
        duplicate_threshold: cfg.duplicate_threshold,
        update_threshold: cfg.update_threshold,
        mmr_lambda: cfg.mmr_lambda,
        history_days: cfg.history_days.max(0),
        ..RankConfig::default()
    }
}

/// The embeddings engine of [`crate::Digester`]: an embedder (MiniLM in the binary, a tiny
/// deterministic one in tests) and `[ranking]`.
#[derive(Clone)]
pub struct Ranker {
    pub embedder: Arc<dyn Embedder>,
    pub cfg: RankingConfig,
}

impl std::fmt::Debug for Ranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker")
            .field("model", &self.embedder.model_id())
            .finish_non_exhaustive()
    }
}

impl Ranker {
    pub fn new(embedder: Arc<dyn Embedder>, cfg: RankingConfig) -> Self {
        Self { embedder, cfg }
    }

    /// What the user was sent before `date`, within `history_days`.
    async fn history(
        &self,
        store: &dyn Store,
        user: UserId,
        date: NaiveDate,
    ) -> Result<Vec<SentInsight>, PipelineError> {
        let mut out = Vec::new();
        for back in 1..=self.cfg.history_days.clamp(0, MAX_HISTORY_DAYS) {
            let Some(day) = date.checked_sub_days(chrono::Days::new(back as u64)) else {
                break;
            };
            if let Some((_, digest)) = store.get_digest(user, day).await? {
                out.extend(digest.insights.iter().map(|i| SentInsight {
                    text: i.text.clone(),
                    podcast: Some(i.podcast.clone()),
                    sent_on: digest.date,
                    embedding: None,
                }));
            }
        }
        Ok(out)
    }

    /// Picks for the digest, best first, with the ranking's reasons.
    pub(crate) async fn pick(
        &self,
        store: &dyn Store,
        user: UserId,
        date: NaiveDate,
        candidates: &[CandidateInsight],
        size: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<podsift_digest::Pick>, PipelineError> {
        let history = self.history(store, user, date).await?;
        let since = now - chrono::Duration::days(self.cfg.history_days.clamp(0, MAX_HISTORY_DAYS));
        let feedback = store.list_feedback(user, since).await?;
        let embedder = self.embedder.clone();
        // A service user's own interests and per-show weights (`podsift users add
        // --interests`, the web UI's settings) come first; the laptop's user has neither and
        // keeps `[ranking] interests`.
        let own = store
            .user_profile(user)
            .await?
            .and_then(|p| p.interests)
            .filter(|i| !i.trim().is_empty());
        let interests = own.unwrap_or_else(|| self.cfg.interests.clone());
        let show_weights = store.show_weights(user).await?;
        let config = rank_config(&self.cfg, size);
        let owned: Vec<CandidateInsight> = candidates.to_vec();
        // Embedding is CPU-bound (tens of sentences per second): off the async threads.
        tokio::task::spawn_blocking(move || {
            let mut cands: Vec<Candidate> = owned
                .iter()
                .map(|c| Candidate::from_insight(c, None))
                .collect();
            let mut history = history;
            podsift_ranking::embed_candidates(embedder.as_ref(), &mut cands)?;
            podsift_ranking::embed_history(embedder.as_ref(), &mut history)?;
            let mut profile = Profile {
                interests: podsift_ranking::embed_interests(embedder.as_ref(), &interests)?,
                ..Profile::default()
            };
            for w in show_weights {
                profile.show_weights.insert(w.podcast, w.weight as f32);
            }
            apply_feedback(embedder.as_ref(), &mut profile, &feedback)?;
            let ranking = podsift_ranking::rank(&cands, &profile, &history, &config, now);
            tracing::info!(
                considered = ranking.considered,
                picks = ranking.picks.len(),
                clusters = ranking.clusters.len(),
                suppressed = ranking.suppressed.len(),
                model = embedder.model_id(),
                "ranked"
            );
            Ok::<_, podsift_ranking::RankError>(
                ranking
                    .picks
                    .into_iter()
                    .filter_map(|p| {
                        owned.get(p.index).map(|c| podsift_digest::Pick {
                            candidate: c.clone(),
                            score: p.score,
                            reasons: p.reasons,
                        })
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await
        .map_err(|e| PipelineError::Rank(format!("ranking task: {e}")))?
        .map_err(|e| PipelineError::Rank(e.to_string()))
    }
}

/// Folds stored votes (oldest first) into the profile, each through the ranking crate's
/// bounded [`Profile::record_feedback`].
pub fn apply_feedback(
    embedder: &dyn Embedder,
    profile: &mut Profile,
    feedback: &[podsift_core::Feedback],
) -> Result<(), podsift_ranking::RankError> {
    if feedback.is_empty() {
        return Ok(());
    }
    let texts: Vec<String> = feedback.iter().map(|f| f.text.clone()).collect();
    let vectors = embedder.embed(&texts)?;
    for (f, v) in feedback.iter().zip(vectors) {
        let vote = if f.vote > 0 {
            podsift_ranking::Vote::Up
        } else {
            podsift_ranking::Vote::Down
        };
        profile.record_feedback(v, &f.podcast, vote);
    }
    Ok(())
}
