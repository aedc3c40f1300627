//! The digest's ranking, for both engines: today's candidates, what the user was sent in
//! the last `history_days` (from the stored digests), their interests and feedback, through
//! [`podsift_ranking::rank`]; with an embedding model (`embeddings`) or without one
//! (`simple`: the words decide). Picks keep their reasons (the editor's, "said on 2 shows",
//! "Update: …").

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

/// The ranking of [`crate::Digester`]: an embedder (MiniLM in the binary, a tiny
/// deterministic one in tests; none for the `simple` engine) and `[ranking]`.
#[derive(Clone)]
pub struct Ranker {
    pub embedder: Option<Arc<dyn Embedder>>,
    pub cfg: RankingConfig,
}

impl std::fmt::Debug for Ranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker")
            .field(
                "model",
                &self.embedder.as_ref().map(|e| e.model_id().to_string()),
            )
            .finish_non_exhaustive()
    }
}

impl Ranker {
    pub fn new(embedder: Arc<dyn Embedder>, cfg: RankingConfig) -> Self {
        Self {
            embedder: Some(embedder),
            cfg,
        }
    }

    /// The `simple` engine: the same ranking without an embedding model.
    pub fn words_only(cfg: RankingConfig) -> Self {
        Self {
            embedder: None,
            cfg,
        }
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

    /// Picks for the digest, best first, with the ranking's reasons, and why it is short.
    pub(crate) async fn pick(
        &self,
        store: &dyn Store,
        user: UserId,
        date: NaiveDate,
        candidates: &[CandidateInsight],
        size: usize,
        now: DateTime<Utc>,
    ) -> Result<Picked, PipelineError> {
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
            let embedder = embedder.as_deref();
            let mut cands: Vec<Candidate> = owned
                .iter()
                .map(|c| Candidate::from_insight(c, None))
                .collect();
            let mut history = history;
            if let Some(e) = embedder {
                podsift_ranking::embed_candidates(e, &mut cands)?;
                podsift_ranking::embed_history(e, &mut history)?;
            }
            let mut profile = Profile {
                interests: podsift_ranking::embed_interests(embedder, &interests)?,
                ..Profile::default()
            };
            for w in show_weights {
                profile.show_weights.insert(w.podcast, w.weight as f32);
            }
            apply_feedback(embedder, &mut profile, &feedback)?;
            let ranking = podsift_ranking::rank(&cands, &profile, &history, &config, now);
            tracing::info!(
                considered = ranking.considered,
                picks = ranking.picks.len(),
                clusters = ranking.clusters.len(),
                suppressed = ranking.suppressed.len(),
                failed_register = ranking.failed_register,
                model = embedder.map_or("none (words only)", |e| e.model_id()),
                "ranked"
            );
            let short = ranking.short.clone();
            let picks = ranking
                .picks
                .into_iter()
                .filter_map(|p| {
                    owned.get(p.index).map(|c| {
                        // An episode read for a topic says so first ("found for your topic
                        // 'home batteries': 0.71 match; trending #12 in Technology").
                        let mut reasons: Vec<String> = c.found_for.iter().cloned().collect();
                        reasons.extend(p.reasons);
                        podsift_digest::Pick {
                            candidate: c.clone(),
                            score: p.score,
                            reasons,
                        }
                    })
                })
                .collect::<Vec<_>>();
            Ok::<_, podsift_ranking::RankError>(Picked { picks, short })
        })
        .await
        .map_err(|e| PipelineError::Rank(format!("ranking task: {e}")))?
        .map_err(|e| PipelineError::Rank(e.to_string()))
    }
}

/// What the ranking chose, and why the digest is short when it is.
#[derive(Debug, Clone, Default)]
pub struct Picked {
    pub picks: Vec<podsift_digest::Pick>,
    /// "3 of 5: …; the digest is shorter rather than padded."
    pub short: Option<String>,
}

/// Folds stored votes (oldest first) into the profile, each through the ranking crate's
/// bounded [`Profile::record_feedback`] (without an embedder only the shows' weights and
/// likes move).
pub fn apply_feedback(
    embedder: Option<&dyn Embedder>,
    profile: &mut Profile,
    feedback: &[podsift_core::Feedback],
) -> Result<(), podsift_ranking::RankError> {
    if feedback.is_empty() {
        return Ok(());
    }
    let texts: Vec<String> = feedback.iter().map(|f| f.text.clone()).collect();
    let vectors = match embedder {
        Some(e) => e.embed(&texts)?,
        None => vec![Vec::new(); texts.len()],
    };
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
