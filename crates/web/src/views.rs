//! What the pages and the API show and do, loaded through the signed-in user: a feed,
//! episode, digest or insight the user does not follow (or was not sent) is
//! [`WebError::NotFound`], whatever its id.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use podsift_core::{
    ChannelSpec, Episode, EpisodeId, Feed, FeedId, SearchHit, UserProfile, UserSettings,
};
use podsift_feeds::opml::{self, OpmlOutline};
use serde::{Deserialize, Serialize};

use crate::error::WebError;
use crate::{App, MadeDigest};

/// Most OPML outlines imported at once.
/// Most digests in the archive.
const ARCHIVE_LIMIT: usize = 366;
/// Episodes listed on a feed's page.
const FEED_EPISODES: usize = 100;
/// Search hits shown.
const SEARCH_LIMIT: usize = 50;
/// Largest digest a user may ask for.
pub(crate) const MAX_DIGEST_SIZE: u32 = 20;

pub(crate) fn tz_of(user: &UserProfile) -> Tz {
    podsift_schedule::parse_tz(&user.time_zone).unwrap_or(Tz::UTC)
}

/// Today in the user's time zone.
pub(crate) fn today(app: &App, user: &UserProfile) -> NaiveDate {
    podsift_schedule::local_date(app.web.clock.now(), tz_of(user))
}

/// `1:02:03` or `2:03`.
pub(crate) fn clock_label(seconds: f64) -> String {
    let s = if seconds.is_finite() && seconds > 0.0 {
        seconds as u64
    } else {
        0
    };
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Whole seconds for `#t=` (what the player seeks to).
pub(crate) fn t_param(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        seconds.floor() as u64
    } else {
        0
    }
}

fn local_time(t: Option<DateTime<Utc>>, tz: Tz) -> Option<String> {
    t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FeedView {
    pub id: FeedId,
    pub title: String,
    pub url: String,
    pub link: Option<String>,
    pub status: &'static str,
    pub last_checked: Option<String>,
    pub next_check: Option<String>,
    pub error_count: u32,
    pub last_error: Option<String>,
    pub episodes: u64,
    pub weight: f64,
}

fn feed_view(f: &Feed, weight: f64, tz: Tz) -> FeedView {
    FeedView {
        id: f.id,
        // Private feeds carry credentials or a token in their URL: never shown.
        title: f
            .title
            .clone()
            .unwrap_or_else(|| podsift_fetch::redact_str(&f.url)),
        url: podsift_fetch::redact_str(&f.url),
        link: f.link.as_deref().and_then(podsift_digest::safe_url),
        status: f.status.as_str(),
        last_checked: local_time(f.last_checked_at, tz),
        next_check: local_time(Some(f.next_check_at), tz),
        error_count: f.error_count,
        last_error: f.last_error.clone(),
        episodes: f.episode_count,
        weight,
    }
}

pub(crate) async fn feeds(app: &App, user: &UserProfile) -> Result<Vec<FeedView>, WebError> {
    let store = &app.web.store;
    let weights: HashMap<FeedId, f64> = store
        .show_weights(user.id)
        .await?
        .into_iter()
        .map(|w| (w.feed_id, w.weight))
        .collect();
    let tz = tz_of(user);
    Ok(store
        .list_feeds(Some(user.id))
        .await?
        .iter()
        .map(|f| feed_view(f, weights.get(&f.id).copied().unwrap_or(1.0), tz))
        .collect())
}

pub(crate) async fn owned_feed(
    app: &App,
    user: &UserProfile,
    id: FeedId,
) -> Result<FeedView, WebError> {
    feeds(app, user)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or(WebError::NotFound)
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EpisodeRow {
    pub id: EpisodeId,
    pub title: String,
    pub published: Option<String>,
    pub duration: Option<String>,
    pub transcript: Option<String>,
    pub segments: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FeedDetail {
    pub feed: FeedView,
    pub episodes: Vec<EpisodeRow>,
}

pub(crate) async fn feed_detail(
    app: &App,
    user: &UserProfile,
    id: FeedId,
) -> Result<FeedDetail, WebError> {
    let feed = owned_feed(app, user, id).await?;
    let tz = tz_of(user);
    let episodes = app
        .web
        .store
        .list_episodes(Some(id), FEED_EPISODES)
        .await?
        .into_iter()
        .map(|e| EpisodeRow {
            id: e.id,
            title: episode_title(&e),
            published: local_time(e.data.published, tz),
            duration: e.data.duration_seconds.map(|s| clock_label(f64::from(s))),
            transcript: e.transcript_source.clone(),
            segments: e.segment_count,
        })
        .collect();
    Ok(FeedDetail { feed, episodes })
}

fn episode_title(e: &Episode) -> String {
    e.data
        .title
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| format!("Episode {}", e.id))
}

/// The episode, when the user follows its feed.
pub(crate) async fn owned_episode(
    app: &App,
    user: &UserProfile,
    id: EpisodeId,
) -> Result<(Episode, FeedView), WebError> {
    let episode = app
        .web
        .store
        .get_episode(id)
        .await?
        .ok_or(WebError::NotFound)?;
    let feed = owned_feed(app, user, episode.feed_id).await?;
    Ok((episode, feed))
}

/// The user's votes, by insight.
pub(crate) async fn votes(app: &App, user: &UserProfile) -> Result<HashMap<i64, i8>, WebError> {
    Ok(app
        .web
        .store
        .list_feedback(user.id, DateTime::<Utc>::UNIX_EPOCH)
        .await?
        .into_iter()
        .map(|f| (f.insight_id, f.vote))
        .collect())
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ItemView {
    pub rank: usize,
    pub insight_id: i64,
    pub text: String,
    pub quote: String,
    pub podcast: String,
    pub episode: String,
    /// The episode page (when the episode is still stored and followed or was sent).
    pub episode_id: Option<EpisodeId>,
    pub start_seconds: f64,
    pub t: u64,
    pub time_label: String,
    pub reasons: Vec<String>,
    /// The user's vote: 1, -1 or none.
    pub vote: Option<i8>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct DigestView {
    pub id: i64,
    pub date: NaiveDate,
    pub items: Vec<ItemView>,
    /// The footer: why it is short (when it is) and how much of its episodes was read.
    pub notes: Vec<String>,
}

/// The user's digest of `date`.
pub(crate) async fn digest(
    app: &App,
    user: &UserProfile,
    date: NaiveDate,
) -> Result<Option<DigestView>, WebError> {
    let Some((id, d)) = app.web.store.get_digest(user.id, date).await? else {
        return Ok(None);
    };
    let votes = votes(app, user).await?;
    let mut items = Vec::with_capacity(d.insights.len());
    for it in d.insights {
        let episode_id = app
            .web
            .store
            .visible_insight(user.id, it.insight_id)
            .await?;
        items.push(ItemView {
            rank: it.rank,
            insight_id: it.insight_id,
            text: it.text,
            quote: it.quote,
            podcast: it.podcast,
            episode: it.episode,
            episode_id,
            start_seconds: it.start_seconds,
            t: t_param(it.start_seconds),
            time_label: clock_label(it.start_seconds),
            reasons: it.reasons,
            vote: votes.get(&it.insight_id).copied(),
        });
    }
    let notes = d
        .stats
        .short
        .iter()
        .cloned()
        .chain(podsift_digest::coverage::digest_line(&d.stats))
        .collect();
    Ok(Some(DigestView {
        id,
        date: d.date,
        items,
        notes,
    }))
}

pub(crate) async fn archive(
    app: &App,
    user: &UserProfile,
) -> Result<Vec<podsift_core::DigestSummary>, WebError> {
    Ok(app.web.store.list_digests(user.id, ARCHIVE_LIMIT).await?)
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct InsightView {
    pub id: i64,
    pub text: String,
    pub quote: String,
    pub speaker: Option<String>,
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub t: u64,
    pub time_label: String,
    pub vote: Option<i8>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct LineView {
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub t: u64,
    pub time_label: String,
    pub speaker: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct EpisodeView {
    pub id: EpisodeId,
    pub title: String,
    pub feed_id: FeedId,
    pub podcast: String,
    pub published: Option<String>,
    pub duration: Option<String>,
    /// Publisher HTML after the allow-list sanitiser.
    pub description_html: Option<String>,
    /// An http(s) audio URL, or none.
    pub audio_url: Option<String>,
    pub link: Option<String>,
    pub transcript_source: Option<String>,
    pub insights: Vec<InsightView>,
    pub lines: Vec<LineView>,
    /// How much of the episode was read (none: not read yet).
    pub coverage: Option<crate::coverage::CoverageView>,
    /// Why there is no transcript or no reading yet, from the episode's jobs.
    pub work: crate::work::WorkStatus,
}

pub(crate) async fn episode(
    app: &App,
    user: &UserProfile,
    id: EpisodeId,
) -> Result<EpisodeView, WebError> {
    let (ep, feed) = owned_episode(app, user, id).await?;
    let store = &app.web.store;
    let votes = votes(app, user).await?;
    let insights = store
        .episode_insights(id)
        .await?
        .into_iter()
        .map(|c| InsightView {
            id: c.id,
            vote: votes.get(&c.id).copied(),
            t: t_param(c.draft.start_seconds),
            time_label: clock_label(c.draft.start_seconds),
            text: c.draft.text,
            quote: c.draft.quote,
            speaker: c.draft.speaker,
            start_seconds: c.draft.start_seconds,
            end_seconds: c.draft.end_seconds,
        })
        .collect();
    let lines: Vec<LineView> = store
        .get_transcript(id)
        .await?
        .map(|t| {
            t.segments
                .into_iter()
                .map(|s| LineView {
                    t: t_param(s.start),
                    time_label: clock_label(s.start),
                    start_seconds: s.start,
                    end_seconds: s.end,
                    speaker: s.speaker,
                    text: s.text,
                })
                .collect()
        })
        .unwrap_or_default();
    let tz = tz_of(user);
    let coverage = crate::coverage::episode_coverage(store.as_ref(), id).await?;
    Ok(EpisodeView {
        id,
        title: episode_title(&ep),
        feed_id: feed.id,
        podcast: feed.title,
        published: local_time(ep.data.published, tz),
        duration: ep.data.duration_seconds.map(|s| clock_label(f64::from(s))),
        description_html: ep
            .data
            .description
            .as_deref()
            .map(podsift_digest::sanitize_html)
            .filter(|h| !h.trim().is_empty()),
        audio_url: ep
            .data
            .enclosure
            .as_ref()
            .and_then(|e| podsift_digest::safe_url(&e.url)),
        link: ep.data.link.as_deref().and_then(podsift_digest::safe_url),
        transcript_source: ep.transcript_source,
        work: crate::work::work_status(
            &store.episode_jobs(id).await?,
            !lines.is_empty(),
            coverage.is_some(),
        ),
        insights,
        lines,
        coverage,
    })
}

/// Record 👍 (+1) or 👎 (−1) on an insight the user may see.
pub(crate) async fn vote(
    app: &App,
    user: &UserProfile,
    insight: i64,
    vote: i8,
) -> Result<EpisodeId, WebError> {
    if vote != 1 && vote != -1 {
        return Err(WebError::BadRequest("a vote is up or down".into()));
    }
    let episode = app
        .web
        .store
        .visible_insight(user.id, insight)
        .await?
        .ok_or(WebError::NotFound)?;
    app.web
        .store
        .record_feedback(user.id, insight, vote, app.web.clock.now())
        .await?;
    Ok(episode)
}

pub(crate) fn parse_vote(v: &str) -> Result<i8, WebError> {
    match v {
        "up" | "1" | "+1" => Ok(1),
        "down" | "-1" => Ok(-1),
        _ => Err(WebError::BadRequest("a vote is up or down".into())),
    }
}

pub(crate) async fn export_opml(app: &App, user: &UserProfile) -> Result<String, WebError> {
    let outlines: Vec<OpmlOutline> = app
        .web
        .store
        .list_feeds(Some(user.id))
        .await?
        .into_iter()
        .map(|f| OpmlOutline {
            title: f.title,
            xml_url: f.url,
            html_url: f.link,
            category: Vec::new(),
        })
        .collect();
    Ok(opml::write_opml("podsift subscriptions", &outlines))
}

pub(crate) async fn unsubscribe(
    app: &App,
    user: &UserProfile,
    feed: FeedId,
) -> Result<(), WebError> {
    if app.web.store.unsubscribe(user.id, feed).await? {
        Ok(())
    } else {
        Err(WebError::NotFound)
    }
}

pub(crate) async fn set_weight(
    app: &App,
    user: &UserProfile,
    feed: FeedId,
    weight: f64,
) -> Result<(), WebError> {
    if !weight.is_finite() {
        return Err(WebError::BadRequest("a weight is a number".into()));
    }
    if app.web.store.set_show_weight(user.id, feed, weight).await? {
        Ok(())
    } else {
        Err(WebError::NotFound)
    }
}

/// Make the user's digest for `date` (default: today in their zone) now.
pub(crate) async fn make_digest(
    app: &App,
    user: &UserProfile,
    date: Option<NaiveDate>,
) -> Result<(NaiveDate, MadeDigest), WebError> {
    let maker = app
        .web
        .digests
        .as_ref()
        .ok_or(WebError::Unavailable("making digests on demand"))?;
    let date = date.unwrap_or_else(|| today(app, user));
    let made = maker
        .make_digest(user, date)
        .await
        .map_err(WebError::Internal)?;
    Ok((date, made))
}

pub(crate) async fn search(
    app: &App,
    user: &UserProfile,
    q: &str,
) -> Result<Vec<SearchResult>, WebError> {
    let hits = app.web.store.search(user.id, q, SEARCH_LIMIT).await?;
    Ok(hits.into_iter().map(SearchResult::from).collect())
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SearchResult {
    #[serde(flatten)]
    pub hit: SearchHit,
    pub t: u64,
    pub time_label: String,
}

impl From<SearchHit> for SearchResult {
    fn from(hit: SearchHit) -> Self {
        Self {
            t: t_param(hit.start_seconds),
            time_label: clock_label(hit.start_seconds),
            hit,
        }
    }
}

/// The settings a user can see and change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SettingsView {
    #[serde(default, skip_deserializing)]
    pub email: String,
    pub interests: String,
    pub time_zone: String,
    pub delivery_time: String,
    pub digest_size: u32,
    /// Where digests are posted (a signed JSON webhook), empty for none.
    #[serde(default)]
    pub webhook_url: String,
    #[serde(default)]
    pub slack_url: String,
    #[serde(default)]
    pub discord_url: String,
    /// The webhook's signing secret (read-only).
    #[serde(default, skip_deserializing)]
    pub webhook_secret: Option<String>,
    #[serde(default, skip_deserializing)]
    pub next_digest: Option<String>,
    #[serde(default, skip_deserializing)]
    pub feed_url: Option<String>,
}

pub(crate) fn settings_view(app: &App, user: &UserProfile) -> SettingsView {
    let mut v = SettingsView {
        email: user.email.clone(),
        interests: user.interests.clone().unwrap_or_default(),
        time_zone: user.time_zone.clone(),
        delivery_time: user.delivery_time.clone(),
        digest_size: user.digest_size,
        webhook_url: String::new(),
        slack_url: String::new(),
        discord_url: String::new(),
        webhook_secret: None,
        next_digest: local_time(user.next_digest_at, tz_of(user)),
        feed_url: None,
    };
    for c in &user.channels {
        match c {
            ChannelSpec::Webhook { url, secret } if v.webhook_url.is_empty() => {
                v.webhook_url = url.clone();
                v.webhook_secret = Some(secret.clone());
            }
            ChannelSpec::Slack { url } if v.slack_url.is_empty() => v.slack_url = url.clone(),
            ChannelSpec::Discord { url } if v.discord_url.is_empty() => v.discord_url = url.clone(),
            _ => {}
        }
    }
    let base = app
        .web
        .config
        .public_url
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/');
    v.feed_url = Some(format!("{base}/feeds/{}.atom", user.feed_token));
    v
}

/// Validate and store new settings; the schedule restarts from the next slot.
pub(crate) async fn update_settings(
    app: &App,
    user: &UserProfile,
    form: &SettingsView,
) -> Result<(), WebError> {
    let bad = |m: String| WebError::BadRequest(m);
    let tz = podsift_schedule::parse_tz(form.time_zone.trim()).map_err(|e| bad(e.to_string()))?;
    let at = podsift_schedule::parse_local_time(form.delivery_time.trim())
        .map_err(|e| bad(e.to_string()))?;
    if form.digest_size == 0 || form.digest_size > MAX_DIGEST_SIZE {
        return Err(bad(format!(
            "the digest size is 1 to {MAX_DIGEST_SIZE} insights"
        )));
    }
    let interests = form.interests.trim();
    if interests.len() > 4000 {
        return Err(bad("interests: at most 4000 characters".into()));
    }
    let opts = &app.web.config.channel_options;
    let mut channels = Vec::new();
    let webhook = form.webhook_url.trim();
    if !webhook.is_empty() {
        // Keep the secret the receiver already verifies with.
        let secret = user
            .channels
            .iter()
            .find_map(|c| match c {
                ChannelSpec::Webhook { secret, .. } => Some(secret.clone()),
                _ => None,
            })
            .unwrap_or_else(crate::auth::random_token);
        podsift_digest::check_channel_url(webhook, opts)
            .await
            .map_err(|e| bad(format!("webhook URL: {e}")))?;
        channels.push(ChannelSpec::Webhook {
            url: webhook.to_string(),
            secret,
        });
    }
    let slack = form.slack_url.trim();
    if !slack.is_empty() {
        podsift_digest::check_channel_url(slack, opts)
            .await
            .map_err(|e| bad(format!("Slack URL: {e}")))?;
        channels.push(ChannelSpec::Slack {
            url: slack.to_string(),
        });
    }
    let discord = form.discord_url.trim();
    if !discord.is_empty() {
        podsift_digest::check_channel_url(discord, opts)
            .await
            .map_err(|e| bad(format!("Discord URL: {e}")))?;
        channels.push(ChannelSpec::Discord {
            url: discord.to_string(),
        });
    }
    let settings = UserSettings {
        time_zone: tz.name().to_string(),
        delivery_time: at.format("%H:%M").to_string(),
        digest_size: form.digest_size,
        interests: (!interests.is_empty()).then(|| interests.to_string()),
        channels,
        next_digest_at: Some(podsift_schedule::next_run(app.web.clock.now(), tz, at)),
    };
    if app
        .web
        .store
        .update_user_settings(user.id, &settings)
        .await?
    {
        Ok(())
    } else {
        Err(WebError::NotFound)
    }
}
