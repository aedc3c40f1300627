//! The daily topic scan. For one topic: ask the directories (the topic's search terms, then
//! trending and recent feeds in its categories and language), drop the shows the reader
//! already gets, read the best-matching shows' feeds, score each recent episode's title and
//! description against the topic, and admit the best into the pipeline under the daily
//! budget (episodes, audio hours, dollars). A syndicated copy of an episode being read (same
//! enclosure, GUID, or title and duration) is not read again: the reader gets the copy
//! already read. The report says what was admitted and why, and what was left out and why.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use podsift_core::config::DiscoveryConfig;
use podsift_core::discovery::{Admission, CopyKey, FeedFilter, FoundShow, Topic};
use podsift_core::{Clock, EpisodeId, ParsedEpisode, Store, StoreError};
use podsift_poller::{Poller, ResolvedFeed};
use podsift_ranking::Embedder;

use crate::copies::{copy_key, same_episode};
use crate::matching::{Matcher, episode_text, search_terms};
pub use crate::report::{Admitted, Budget, LeftOut, ScanReport};
use crate::{Directory, feed_key};

/// Shows asked of each directory per search term, and per trending or recent list.
const PER_LIST: usize = 10;
const PER_FEED_LIST: usize = 25;
/// Feeds read at once.
const FEED_CONCURRENCY: usize = 4;
/// An episode without a duration counts as this long against the audio budget.
const UNKNOWN_DURATION_SECS: u64 = 3600;
/// Prompt tokens a minute of speech takes (about 150 words a minute, 1.3 tokens a word).
const TOKENS_PER_MINUTE: f64 = 200.0;
/// Left-out episodes listed by name in a report (the count covers the rest).
const LEFT_OUT_LISTED: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no show directory could be reached: {0}")]
    Unreachable(String),
    #[error("matching: {0}")]
    Matching(String),
}

impl ScanError {
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Store(e) => e.is_retryable(),
            Self::Unreachable(_) => true,
            Self::Matching(_) => false,
        }
    }
}

/// The scan's parts: the store, the poller (feeds are read and jobs queued through it), the
/// directories, the embedding model (None: words only) and the budget's settings.
pub struct TopicScanner {
    pub store: Arc<dyn Store>,
    pub poller: Arc<Poller>,
    pub directory: Directory,
    pub embedder: Option<Arc<dyn Embedder>>,
    pub cfg: DiscoveryConfig,
    /// Dollars a million prompt tokens of the configured model (None: no price known).
    pub usd_per_mtok: Option<f64>,
    pub clock: Arc<dyn Clock>,
}

/// A show found, with what the lists said about it.
struct Candidate {
    show: FoundShow,
    /// "trending #12 in Technology".
    note: Option<String>,
}

/// A recent episode of a show read.
struct Ep {
    show: String,
    feed: usize,
    ep: ParsedEpisode,
    score: f64,
}

impl TopicScanner {
    /// Topics whose last scan is older than 20 hours (or never ran), scanned one after the
    /// other. A topic that fails is reported and the others go on.
    pub async fn scan_due(
        &self,
    ) -> Result<Vec<Result<ScanReport, (Topic, ScanError)>>, StoreError> {
        let now = self.clock.now();
        let topics = self
            .store
            .list_topics(podsift_core::discovery::TopicOwner::Everyone)
            .await?;
        let mut out = Vec::new();
        for t in topics {
            if t.last_scan_at
                .is_some_and(|at| now - at < Duration::hours(20))
            {
                continue;
            }
            let r = self.scan(&t).await;
            out.push(r.map_err(|e| (t, e)));
        }
        Ok(out)
    }

    pub async fn scan(&self, topic: &Topic) -> Result<ScanReport, ScanError> {
        let now = self.clock.now();
        // Embedding is CPU-bound: off the async threads. The topic is embedded once, here,
        // for the categories, the shows and the episodes.
        let (embedder, text) = (self.embedder.clone(), topic.text.clone());
        let (matcher, categories) = tokio::task::spawn_blocking(move || {
            let m = Matcher::new(embedder, &text)?;
            let cats = m.categories()?;
            Ok::<_, String>((Arc::new(m), cats))
        })
        .await
        .map_err(|e| ScanError::Matching(e.to_string()))?
        .map_err(ScanError::Matching)?;
        let method = matcher.method();
        let terms = search_terms(&topic.text);
        let mut problems = Vec::new();

        let shows = self
            .find_shows(topic, &terms, &categories, now, &mut problems)
            .await?;
        let shows_found = shows.len();
        let chosen = self.choose_shows(&matcher, shows).await?;
        let (feeds, feed_problems) = self.read_feeds(&chosen).await;
        problems.extend(feed_problems);

        let budget = self.budget_used(topic, now).await?;
        let mut report = ScanReport {
            topic_id: topic.id,
            topic: topic.text.clone(),
            catalogue: topic.user.is_none(),
            scanned_at: now,
            method,
            terms,
            categories,
            directories: self.directory.names(),
            shows_found,
            feeds_read: feeds.len(),
            admitted: Vec::new(),
            left_out: Vec::new(),
            left_out_total: 0,
            budget,
            jobs_queued: 0,
            problems,
        };
        let eps = self.score_episodes(&matcher, &feeds, now).await?;
        self.admit(topic, &chosen, &feeds, eps, now, &mut report)
            .await?;
        let json = serde_json::to_value(&report).unwrap_or_default();
        self.store.finish_topic_scan(topic.id, &json, now).await?;
        Ok(report)
    }

    /// Every directory's shows for the topic, without those the reader already gets.
    async fn find_shows(
        &self,
        topic: &Topic,
        terms: &[String],
        categories: &[String],
        now: DateTime<Utc>,
        problems: &mut Vec<String>,
    ) -> Result<Vec<Candidate>, ScanError> {
        let mut gets: HashSet<String> = self
            .store
            .list_catalogue()
            .await?
            .iter()
            .map(|c| feed_key(&c.url))
            .collect();
        if let Some(user) = topic.user {
            gets.extend(
                self.store
                    .list_feeds(Some(user))
                    .await?
                    .iter()
                    .map(|f| feed_key(&f.url)),
            );
        }
        let mut found: Vec<Candidate> = Vec::new();
        let mut errors = Vec::new();
        let mut add = |shows: Vec<FoundShow>, trending: bool| {
            for show in shows {
                let key = feed_key(&show.feed_url);
                if gets.contains(&key) || found.iter().any(|c| feed_key(&c.show.feed_url) == key) {
                    continue;
                }
                let note = show.trending_rank.filter(|_| trending).map(|rank| {
                    let cat = show
                        .categories
                        .iter()
                        .find(|c| categories.contains(c))
                        .or(categories.first())
                        .cloned()
                        .unwrap_or_else(|| "all categories".into());
                    format!("trending #{rank} in {cat}")
                });
                found.push(Candidate { show, note });
            }
        };
        for term in terms {
            let f = self.directory.search(term, PER_LIST).await;
            errors.extend(f.errors);
            add(f.shows, false);
        }
        let filter = FeedFilter {
            categories: categories.to_vec(),
            language: Some(self.cfg.language.clone()).filter(|l| !l.is_empty()),
            since: Some(now - Duration::days(self.cfg.lookback_days)),
            max: PER_FEED_LIST,
        };
        let trending = self.directory.trending(&filter).await;
        errors.extend(trending.errors);
        add(trending.shows, true);
        let recent = self.directory.recent_feeds(&filter).await;
        errors.extend(recent.errors);
        add(recent.shows, false);
        let mut messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        messages.dedup();
        if found.is_empty() && !messages.is_empty() {
            return Err(ScanError::Unreachable(messages.join("; ")));
        }
        problems.extend(messages);
        Ok(found)
    }

    /// The shows whose own title and description match the topic best.
    async fn choose_shows(
        &self,
        matcher: &Arc<Matcher>,
        shows: Vec<Candidate>,
    ) -> Result<Vec<Candidate>, ScanError> {
        let texts: Vec<String> = shows
            .iter()
            .map(|c| {
                format!(
                    "{}. {} {}",
                    c.show.title,
                    c.show.description.as_deref().unwrap_or_default(),
                    c.show.categories.join(", ")
                )
            })
            .collect();
        let scores = scores(matcher, texts).await?;
        let mut ranked: Vec<(f64, Candidate)> = scores.into_iter().zip(shows).collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(ranked
            .into_iter()
            .take(self.cfg.max_feeds_per_topic.max(1))
            .map(|(_, c)| c)
            .collect())
    }

    /// Each chosen show's feed, read through the poller (SSRF guard, size cap, timeout).
    async fn read_feeds(&self, chosen: &[Candidate]) -> (Vec<(usize, ResolvedFeed)>, Vec<String>) {
        // Boxed before `.buffered`, so that the scan's future is provably `Send` (the
        // service spawns it; rust-lang/rust#104382).
        let reads: futures::stream::BoxStream<'_, _> =
            futures::stream::iter(chosen.iter().enumerate())
                .map(|(i, c)| async move {
                    let r = self.poller.resolve(&c.show.feed_url).await;
                    (i, r.map_err(|e| format!("{}: {e}", c.show.title)))
                })
                .boxed();
        let results: Vec<(usize, Result<ResolvedFeed, String>)> =
            reads.buffered(FEED_CONCURRENCY).collect().await;
        let mut feeds = Vec::new();
        let mut problems = Vec::new();
        for (i, r) in results {
            match r {
                Ok(f) => feeds.push((i, f)),
                Err(e) => {
                    tracing::warn!("topic scan: {e}");
                    problems.push(e);
                }
            }
        }
        (feeds, problems)
    }

    /// The shows' episodes published within the look-back, scored, best first.
    async fn score_episodes(
        &self,
        matcher: &Arc<Matcher>,
        feeds: &[(usize, ResolvedFeed)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Ep>, ScanError> {
        let since = now - Duration::days(self.cfg.lookback_days);
        let mut eps: Vec<Ep> = Vec::new();
        for (fi, (_, feed)) in feeds.iter().enumerate() {
            let show = feed
                .parsed
                .title
                .clone()
                .unwrap_or_else(|| feed.url.clone());
            for ep in &feed.parsed.episodes {
                if ep
                    .published
                    .is_some_and(|p| p >= since && p <= now + Duration::days(1))
                    && (ep.enclosure.is_some() || !ep.transcripts.is_empty())
                {
                    eps.push(Ep {
                        show: show.clone(),
                        feed: fi,
                        ep: ep.clone(),
                        score: 0.0,
                    });
                }
            }
        }
        let texts: Vec<String> = eps
            .iter()
            .map(|e| episode_text(e.ep.title.as_deref(), e.ep.description.as_deref()))
            .collect();
        let scores = scores(matcher, texts).await?;
        for (e, s) in eps.iter_mut().zip(scores) {
            e.score = (s * 100.0).round() / 100.0;
        }
        eps.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(eps)
    }

    async fn budget_used(&self, topic: &Topic, now: DateTime<Utc>) -> Result<Budget, ScanError> {
        // The budget is per UTC day.
        let midnight = now
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map_or(now - Duration::hours(24), |d| d.and_utc());
        let today = self.store.admissions_since(topic.id, midnight).await?;
        // Copies read elsewhere are stored with 0 seconds: they cost nothing new.
        let paid: Vec<&Admission> = today
            .iter()
            .filter(|a| a.audio_seconds != Some(0))
            .collect();
        let secs: u64 = paid
            .iter()
            .map(|a| a.audio_seconds.unwrap_or(UNKNOWN_DURATION_SECS))
            .sum();
        Ok(Budget {
            episodes_used: paid.len(),
            episodes_cap: self.cfg.daily_episodes,
            audio_hours_used: secs as f64 / 3600.0,
            audio_hours_cap: self.cfg.daily_audio_hours,
            dollars_used: self.dollars(secs),
            dollars_cap: self.cfg.daily_dollars,
        })
    }

    /// The estimated cost of reading `secs` of speech with the configured model.
    fn dollars(&self, secs: u64) -> f64 {
        let tokens = secs as f64 / 60.0 * TOKENS_PER_MINUTE;
        self.usd_per_mtok.unwrap_or(0.0) * tokens / 1e6
    }

    /// Walks the scored episodes best first, admitting within the budget.
    async fn admit(
        &self,
        topic: &Topic,
        chosen: &[Candidate],
        feeds: &[(usize, ResolvedFeed)],
        eps: Vec<Ep>,
        now: DateTime<Utc>,
        report: &mut ScanReport,
    ) -> Result<(), ScanError> {
        let recent: HashSet<EpisodeId> = self
            .store
            .admissions_since(topic.id, now - Duration::days(self.cfg.lookback_days + 1))
            .await?
            .iter()
            .map(|a| a.episode)
            .collect();
        let mut b = report.budget.clone();
        let mut taken: Vec<CopyKey> = Vec::new();
        let mut feed_ids: HashMap<usize, i64> = HashMap::new();
        let left = |report: &mut ScanReport, e: &Ep, why: String| {
            report.left_out_total += 1;
            if report.left_out.len() < LEFT_OUT_LISTED {
                report.left_out.push(LeftOut {
                    show: e.show.clone(),
                    title: e.ep.title.clone().unwrap_or_default(),
                    score: e.score,
                    why,
                });
            }
        };
        for e in eps {
            let key = copy_key(&e.ep);
            if e.score < self.cfg.min_match {
                left(
                    report,
                    &e,
                    format!(
                        "below the {:.2} match needed ([discovery] min_match)",
                        self.cfg.min_match
                    ),
                );
                continue;
            }
            if taken.iter().any(|k| same_episode(k, &key)) {
                left(
                    report,
                    &e,
                    "a copy of an episode admitted above (read once)".into(),
                );
                continue;
            }
            let (feed_index, resolved) = &feeds[e.feed];
            let note = chosen[*feed_index].note.as_deref();
            let reason = reason(topic, e.score, note);
            if let Some(copy) = self.store.find_copy(&key, 0).await? {
                if recent.contains(&copy) {
                    continue; // admitted for this topic on an earlier day
                }
                self.store
                    .admit_episode(&Admission {
                        topic: topic.id,
                        episode: copy,
                        score: e.score,
                        reason: reason.clone(),
                        audio_seconds: Some(0),
                        admitted_at: now,
                    })
                    .await?;
                taken.push(key);
                report.admitted.push(Admitted {
                    episode_id: copy,
                    show: e.show.clone(),
                    title: e.ep.title.clone().unwrap_or_default(),
                    score: e.score,
                    reason,
                    audio_seconds: None,
                    read_once_elsewhere: true,
                });
                continue;
            }
            let secs = e.ep.duration_seconds.map(u64::from);
            let cost_secs = secs.unwrap_or(UNKNOWN_DURATION_SECS);
            let hours = cost_secs as f64 / 3600.0;
            let over = if b.episodes_used >= b.episodes_cap {
                Some(format!(
                    "over today's budget of {} episodes ([discovery] daily_episodes)",
                    b.episodes_cap
                ))
            } else if b.audio_hours_cap > 0.0 && b.audio_hours_used + hours > b.audio_hours_cap {
                Some(format!(
                    "over today's {:.1} hours of audio ([discovery] daily_audio_hours)",
                    b.audio_hours_cap
                ))
            } else if b.dollars_cap > 0.0
                && b.dollars_used + self.dollars(cost_secs) > b.dollars_cap
            {
                Some(format!(
                    "over today's ${:.2} ([discovery] daily_dollars)",
                    b.dollars_cap
                ))
            } else {
                None
            };
            if let Some(why) = over {
                left(report, &e, why);
                continue;
            }
            let feed_id = match feed_ids.get(&e.feed) {
                Some(id) => *id,
                None => {
                    let id = self.store.ensure_feed(&resolved.new_feed(now), now).await?;
                    feed_ids.insert(e.feed, id);
                    id
                }
            };
            let Some(episode_id) = self.store_episode(feed_id, &e.ep, now).await? else {
                left(
                    report,
                    &e,
                    "the episode has no stable identity (no GUID, enclosure, link or title)".into(),
                );
                continue;
            };
            self.store
                .admit_episode(&Admission {
                    topic: topic.id,
                    episode: episode_id,
                    score: e.score,
                    reason: reason.clone(),
                    audio_seconds: secs,
                    admitted_at: now,
                })
                .await?;
            report.jobs_queued += self
                .poller
                .queue_episode(episode_id)
                .await
                .map_err(|e| ScanError::Store(StoreError::Unavailable(e.to_string())))?;
            b.episodes_used += 1;
            b.audio_hours_used += hours;
            b.dollars_used += self.dollars(cost_secs);
            taken.push(key);
            report.admitted.push(Admitted {
                episode_id,
                show: e.show.clone(),
                title: e.ep.title.clone().unwrap_or_default(),
                score: e.score,
                reason,
                audio_seconds: secs,
                read_once_elsewhere: false,
            });
        }
        Ok(())
    }

    /// Stores one admitted episode (only it: the show's other episodes are not the reader's)
    /// and returns its id.
    async fn store_episode(
        &self,
        feed: i64,
        ep: &ParsedEpisode,
        now: DateTime<Utc>,
    ) -> Result<Option<EpisodeId>, ScanError> {
        let Some(identity) = podsift_feeds::episode_identity(ep) else {
            return Ok(None);
        };
        let upsert = podsift_core::EpisodeUpsert {
            identity: identity.clone(),
            content_hash: podsift_feeds::content_hash(ep),
            episode: ep.clone(),
        };
        self.store.upsert_episodes(feed, &[upsert], 1, now).await?;
        let stored = self
            .store
            .list_episodes(Some(feed), usize::MAX >> 1)
            .await?;
        Ok(stored
            .into_iter()
            .find(|s| s.identity == identity)
            .map(|s| s.id))
    }
}

/// `texts` scored against the matcher's topic, off the async threads.
async fn scores(matcher: &Arc<Matcher>, texts: Vec<String>) -> Result<Vec<f64>, ScanError> {
    let matcher = matcher.clone();
    tokio::task::spawn_blocking(move || matcher.scores(&texts))
        .await
        .map_err(|e| ScanError::Matching(e.to_string()))?
        .map_err(ScanError::Matching)
}

/// "found for your topic 'home batteries': 0.71 match; trending #12 in Technology".
fn reason(topic: &Topic, score: f64, note: Option<&str>) -> String {
    let whose = if topic.user.is_some() {
        "your topic"
    } else {
        "the topic"
    };
    let mut r = format!("found for {whose} '{}': {score:.2} match", topic.text);
    if let Some(n) = note {
        r.push_str("; ");
        r.push_str(n);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_topic_and_the_list() {
        let t = Topic {
            id: 1,
            user: Some(1),
            text: "home batteries".into(),
            created_at: Utc::now(),
            last_scan_at: None,
            last_report: None,
        };
        assert_eq!(
            reason(&t, 0.71, Some("trending #12 in Technology")),
            "found for your topic 'home batteries': 0.71 match; trending #12 in Technology"
        );
        let cat = Topic { user: None, ..t };
        assert_eq!(
            reason(&cat, 0.5, None),
            "found for the topic 'home batteries': 0.50 match"
        );
    }
}
