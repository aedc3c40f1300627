//! The daily editor in the digest: before a reader's day is ranked, the day's best candidates
//! (by the importance extraction gave them, newest first among equals) go to
//! [`podsift_insights::connect`], and a connection it writes is stored as an insight of its
//! first cited episode ([`Store::add_insight`]), so the ranking sees it like any other.
//!
//! At most one per reader and day: a candidate with the `connection` topic created on the
//! digest's date (or today) means the editor already ran, and it is not asked again (a rerun
//! of a digest that failed after the connection was stored adds nothing). A failure of the
//! daily editor never blocks the digest: it is logged and the digest goes on without it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use podsift_core::config::LlmConfig;
use podsift_core::{CandidateInsight, EpisodeId, Llm, LlmCache, Segment, Store, UserId};
use podsift_insights::daily::{self, Connection, DayInsight};

/// The daily editor's ports and settings (`[llm]`; on when `daily_editor_on()`).
#[derive(Clone)]
pub struct DailyEditor {
    llm: Arc<dyn Llm>,
    cache: Arc<dyn LlmCache>,
    cfg: LlmConfig,
}

impl std::fmt::Debug for DailyEditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DailyEditor")
            .field("model", &self.llm.model_id())
            .finish()
    }
}

/// Whether a candidate is a daily editor's connection.
pub fn is_connection(c: &CandidateInsight) -> bool {
    c.draft.topics.iter().any(|t| t == daily::TOPIC)
}

impl DailyEditor {
    pub fn new(llm: Arc<dyn Llm>, cache: Arc<dyn LlmCache>, cfg: LlmConfig) -> Self {
        Self { llm, cache, cfg }
    }

    /// The daily editor of `cfg`, when it is on.
    pub fn from_config(
        llm: Arc<dyn Llm>,
        cache: Arc<dyn LlmCache>,
        cfg: &LlmConfig,
    ) -> Option<Self> {
        cfg.daily_editor_on()
            .then(|| Self::new(llm, cache, cfg.clone()))
    }

    /// Runs the editor over `candidates` (the reader's, before ranking) and stores the
    /// connection it writes. Returns whether one was stored (the caller then reads the
    /// candidates again). Never fails: what goes wrong is logged.
    pub(crate) async fn run(
        &self,
        store: &dyn Store,
        user: UserId,
        date: NaiveDate,
        now: DateTime<Utc>,
        candidates: &[CandidateInsight],
    ) -> bool {
        if let Some(done) = candidates.iter().find(|c| {
            is_connection(c) && {
                let day = c.created_at.date_naive();
                day == date || day == now.date_naive()
            }
        }) {
            tracing::debug!(user, %date, insight = done.id, "the day's connection is already written");
            return false;
        }
        match self.connect(store, candidates, now).await {
            Ok(Some(id)) => {
                tracing::info!(user, %date, insight = id, "daily editor: connection stored");
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(user, %date, "daily editor skipped: {e}");
                false
            }
        }
    }

    async fn connect(
        &self,
        store: &dyn Store,
        candidates: &[CandidateInsight],
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, DailyFailure> {
        let best = best(candidates);
        let mut transcripts: HashMap<EpisodeId, Vec<Segment>> = HashMap::new();
        for c in &best {
            if !transcripts.contains_key(&c.episode_id)
                && let Some(t) = store.get_transcript(c.episode_id).await?
            {
                transcripts.insert(c.episode_id, t.segments);
            }
        }
        let day: Vec<DayInsight<'_>> = best
            .iter()
            .filter_map(|c| {
                Some(DayInsight {
                    episode_id: c.episode_id,
                    show: &c.podcast,
                    episode: &c.episode,
                    text: &c.draft.text,
                    quote: &c.draft.quote,
                    segments: transcripts.get(&c.episode_id)?,
                })
            })
            .collect();
        match podsift_insights::connect(self.llm.as_ref(), self.cache.as_ref(), &self.cfg, &day)
            .await?
        {
            Connection::Written(w) => {
                let id = store.add_insight(w.episode_id, &w.draft, now).await?;
                Ok(Some(id))
            }
            Connection::None { reason } => {
                tracing::info!("daily editor: no connection: {reason}");
                Ok(None)
            }
        }
    }
}

/// Why the daily editor did not run to the end (logged, never returned by the digest).
#[derive(Debug, thiserror::Error)]
enum DailyFailure {
    #[error(transparent)]
    Store(#[from] podsift_core::StoreError),
    #[error(transparent)]
    Model(#[from] podsift_insights::DailyError),
}

/// The day's best candidates, no connection among them: by importance, newest first among
/// equals, at most [`daily::MAX_PER_EPISODE`] per episode and [`daily::MAX_ITEMS`] in all.
fn best(candidates: &[CandidateInsight]) -> Vec<&CandidateInsight> {
    let mut sorted: Vec<&CandidateInsight> =
        candidates.iter().filter(|c| !is_connection(c)).collect();
    sorted.sort_by(|a, b| {
        b.draft
            .importance
            .total_cmp(&a.draft.importance)
            .then(b.created_at.cmp(&a.created_at))
            .then(a.id.cmp(&b.id))
    });
    let mut per: HashMap<EpisodeId, usize> = HashMap::new();
    let mut out = Vec::new();
    for c in sorted {
        let n = per.entry(c.episode_id).or_insert(0);
        if *n < daily::MAX_PER_EPISODE && out.len() < daily::MAX_ITEMS {
            *n += 1;
            out.push(c);
        }
    }
    out
}
