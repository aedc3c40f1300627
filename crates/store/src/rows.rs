//! Row → domain conversions and column lists shared by the SQLite and PostgreSQL stores.
//!
//! Both schemas use the same column names and representations (BIGINT ms timestamps, JSON as
//! text, DOUBLE PRECISION seconds), so only reading a typed value out of a row differs per
//! driver; [`Columns`] is that difference.

use podsift_core::insight::{CandidateInsight, Delivery, Digest};
use podsift_core::jobs::{Job, JobKind, JobState};
use podsift_core::model::*;
use podsift_core::store::StoreError;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::convert::*;
use crate::error::map_sqlx_error;

/// Typed column access on a result row of either driver.
pub(crate) trait Columns {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn real(&self, col: &str) -> Result<f64, StoreError>;
    fn opt_real(&self, col: &str) -> Result<Option<f64>, StoreError>;
    fn boolean(&self, col: &str) -> Result<bool, StoreError>;
}

macro_rules! impl_columns {
    ($($row:ty),*) => {$(
        impl Columns for $row {
            fn text(&self, col: &str) -> Result<String, StoreError> {
                self.try_get(col).map_err(map_sqlx_error)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                self.try_get(col).map_err(map_sqlx_error)
            }
            fn int(&self, col: &str) -> Result<i64, StoreError> {
                self.try_get(col).map_err(map_sqlx_error)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
                self.try_get(col).map_err(map_sqlx_error)
            }
            fn real(&self, col: &str) -> Result<f64, StoreError> {
                self.try_get(col).map_err(map_sqlx_error)
            }
            fn opt_real(&self, col: &str) -> Result<Option<f64>, StoreError> {
                self.try_get(col).map_err(map_sqlx_error)
            }
            fn boolean(&self, col: &str) -> Result<bool, StoreError> {
                self.try_get(col).map_err(map_sqlx_error)
            }
        }
    )*};
}

impl_columns!(SqliteRow, PgRow);

/// `SELECT` of a feed row with its episode count; append a `WHERE`/`ORDER BY`.
macro_rules! feed_select {
    () => {
        "SELECT f.id, f.url, f.title, f.link, f.description, f.image, f.language, f.author, \
         f.status, f.etag, f.last_modified, f.last_checked_at, f.next_check_at, f.error_count, \
         f.last_error, f.created_at, \
         (SELECT COUNT(*) FROM episodes e WHERE e.feed_id = f.id) AS episode_count \
         FROM feeds f "
    };
}
pub(crate) use feed_select;

/// `SELECT` of an episode with its transcript's source and size; append `WHERE`/`ORDER BY`.
macro_rules! episode_select {
    () => {
        "SELECT e.id, e.feed_id, e.identity, e.state, e.data, e.first_seen_at, e.updated_at, \
         t.source AS transcript_source, t.segment_count AS segment_count \
         FROM episodes e LEFT JOIN transcripts t ON t.episode_id = e.id "
    };
}
pub(crate) use episode_select;

/// Newest first; episodes without a date last (explicit `NULLS LAST`: PostgreSQL's default
/// for `DESC` is the opposite of SQLite's).
macro_rules! episode_order {
    () => {
        " ORDER BY e.published_at DESC NULLS LAST, e.id DESC"
    };
}
pub(crate) use episode_order;

pub(crate) const JOB_COLUMNS: &str = "id, kind, dedupe_key, payload, state, attempts, \
     max_attempts, run_after, lease_owner, lease_expires_at, last_error, created_at, updated_at";

/// A stored insight with its episode and show; `found_for` is the reason a topic admitted
/// the episode for the reader bound as `$2` (NULL when the reader follows the show).
pub(crate) const CANDIDATE_SELECT: &str = "SELECT i.id, i.episode_id, e.feed_id, \
     COALESCE(f.title, f.url) AS podcast, COALESCE(e.title, '') AS episode, \
     e.data AS episode_data, e.audio_url, e.published_at, i.data, i.created_at, \
     (SELECT a.reason FROM topic_admissions a JOIN topics t ON t.id = a.topic_id \
      WHERE a.episode_id = e.id AND (t.user_id = $2 OR t.user_id IS NULL) \
      ORDER BY a.score DESC LIMIT 1) AS found_for \
     FROM insights i JOIN episodes e ON e.id = i.episode_id JOIN feeds f ON f.id = e.feed_id";

/// Whether the reader bound as `$2` reads episode `e`: they follow its show, the show is in
/// the instance's catalogue, or one of their topics (or the catalogue's) admitted it.
macro_rules! reads_episode {
    () => {
        "(EXISTS (SELECT 1 FROM subscriptions sub \
         WHERE sub.user_id = $2 AND sub.feed_id = e.feed_id) \
         OR EXISTS (SELECT 1 FROM catalogue_feeds cat WHERE cat.feed_id = e.feed_id) \
         OR EXISTS (SELECT 1 FROM topic_admissions adm JOIN topics tp ON tp.id = adm.topic_id \
         WHERE adm.episode_id = e.id AND (tp.user_id = $2 OR tp.user_id IS NULL)))"
    };
}
pub(crate) use reads_episode;
pub(crate) const READS_EPISODE: &str = reads_episode!();

pub(crate) const DELIVERY_COLUMNS: &str = "id, digest_id, user_id, channel, state, attempts, \
     next_attempt_at, receipt, last_error, sent_at";

pub(crate) fn feed_from_row(row: &impl Columns) -> Result<Feed, StoreError> {
    let status = row.text("status")?;
    Ok(Feed {
        id: row.int("id")?,
        url: row.text("url")?,
        title: row.opt_text("title")?,
        link: row.opt_text("link")?,
        description: row.opt_text("description")?,
        image: row.opt_text("image")?,
        language: row.opt_text("language")?,
        author: row.opt_text("author")?,
        status: FeedStatus::parse(&status)
            .ok_or_else(|| StoreError::Permanent(format!("unknown feed status {status:?}")))?,
        etag: row.opt_text("etag")?,
        last_modified: row.opt_text("last_modified")?,
        last_checked_at: opt_from_ms(row.opt_int("last_checked_at")?)?,
        next_check_at: from_ms(row.int("next_check_at")?)?,
        error_count: count(row.int("error_count")?, "error_count")?,
        last_error: row.opt_text("last_error")?,
        created_at: from_ms(row.int("created_at")?)?,
        episode_count: count(row.int("episode_count")?, "episode_count")?,
    })
}

pub(crate) fn episode_from_row(row: &impl Columns) -> Result<Episode, StoreError> {
    let state = row.text("state")?;
    let transcript_source = row
        .opt_text("transcript_source")?
        .map(|s| from_json::<TranscriptSource>(&s, "transcript source").map(|s| s.label()))
        .transpose()?;
    let segments = row.opt_int("segment_count")?;
    Ok(Episode {
        id: row.int("id")?,
        feed_id: row.int("feed_id")?,
        identity: row.text("identity")?,
        state: EpisodeState::parse(&state)
            .ok_or_else(|| StoreError::Permanent(format!("unknown episode state {state:?}")))?,
        data: from_json(&row.text("data")?, "episode data")?,
        first_seen_at: from_ms(row.int("first_seen_at")?)?,
        updated_at: from_ms(row.int("updated_at")?)?,
        transcript_source,
        segment_count: count(segments.unwrap_or(0), "segment_count")?,
    })
}

pub(crate) fn job_from_row(row: &impl Columns) -> Result<Job, StoreError> {
    let kind = row.text("kind")?;
    let state = row.text("state")?;
    Ok(Job {
        id: row.int("id")?,
        kind: JobKind::parse(&kind)
            .ok_or_else(|| StoreError::Permanent(format!("unknown job kind {kind:?}")))?,
        dedupe_key: row.text("dedupe_key")?,
        payload: from_json(&row.text("payload")?, "job payload")?,
        state: parse_job_state(&state)?,
        attempts: count(row.int("attempts")?, "attempts")?,
        max_attempts: count(row.int("max_attempts")?, "max_attempts")?,
        run_after: from_ms(row.int("run_after")?)?,
        lease_owner: row.opt_text("lease_owner")?,
        lease_expires_at: opt_from_ms(row.opt_int("lease_expires_at")?)?,
        last_error: row.opt_text("last_error")?,
        created_at: from_ms(row.int("created_at")?)?,
        updated_at: from_ms(row.int("updated_at")?)?,
    })
}

pub(crate) fn parse_job_state(state: &str) -> Result<JobState, StoreError> {
    JobState::parse(state)
        .ok_or_else(|| StoreError::Permanent(format!("unknown job state {state:?}")))
}

pub(crate) fn user_from_row(row: &impl Columns) -> Result<User, StoreError> {
    Ok(User {
        id: row.int("id")?,
        name: row.text("name")?,
        email: row.opt_text("email")?,
        created_at: from_ms(row.int("created_at")?)?,
    })
}

/// A transcript row (`source, language, skipped, created_at`) with its segments.
pub(crate) fn transcript_from_rows(
    episode: EpisodeId,
    row: &impl Columns,
    segments: &[impl Columns],
) -> Result<Transcript, StoreError> {
    let segments = segments
        .iter()
        .map(|r| {
            Ok(Segment {
                start: r.real("start_seconds")?,
                end: r.real("end_seconds")?,
                speaker: r.opt_text("speaker")?,
                text: r.text("text")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Transcript {
        episode_id: episode,
        source: from_json(&row.text("source")?, "transcript source")?,
        language: row.opt_text("language")?,
        segments,
        skipped: count(row.int("skipped")?, "skipped")?,
        created_at: from_ms(row.int("created_at")?)?,
    })
}

pub(crate) fn chapter_from_row(r: &impl Columns) -> Result<Chapter, StoreError> {
    Ok(Chapter {
        start_seconds: r.real("start_seconds")?,
        end_seconds: r.opt_real("end_seconds")?,
        title: r.opt_text("title")?,
        url: r.opt_text("url")?,
        img: r.opt_text("img")?,
        toc: r.boolean("toc")?,
    })
}

pub(crate) fn candidate_from_row(row: &impl Columns) -> Result<CandidateInsight, StoreError> {
    let episode: ParsedEpisode = from_json(&row.text("episode_data")?, "episode")?;
    Ok(CandidateInsight {
        id: row.int("id")?,
        episode_id: row.int("episode_id")?,
        feed_id: row.int("feed_id")?,
        podcast: row.text("podcast")?,
        episode: row.text("episode")?,
        episode_link: episode.link,
        audio_url: row.opt_text("audio_url")?,
        published: opt_from_ms(row.opt_int("published_at")?)?,
        draft: from_json(&row.text("data")?, "insight")?,
        created_at: from_ms(row.int("created_at")?)?,
        found_for: row.opt_text("found_for")?,
    })
}

pub(crate) fn delivery_from_row(row: &impl Columns) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: row.int("id")?,
        digest_id: row.int("digest_id")?,
        user_id: row.int("user_id")?,
        channel: row.text("channel")?,
        state: row.text("state")?,
        attempts: count(row.int("attempts")?, "attempts")?,
        next_attempt_at: from_ms(row.int("next_attempt_at")?)?,
        receipt: row.opt_text("receipt")?,
        last_error: row.opt_text("last_error")?,
        sent_at: opt_from_ms(row.opt_int("sent_at")?)?,
    })
}

pub(crate) fn digest_from_row(row: &impl Columns) -> Result<(i64, Digest), StoreError> {
    Ok((row.int("id")?, from_json(&row.text("body")?, "digest")?))
}

/// The model and report of an `extractions` row.
pub(crate) fn extraction_from_row(
    row: &impl Columns,
) -> Result<(String, podsift_core::insight::ExtractionReport), StoreError> {
    Ok((
        row.text("model")?,
        from_json(&row.text("report")?, "extraction report")?,
    ))
}

/// Per job kind: claimable now, and running under a live lease (`$1`: now in ms). The
/// claimable test is the claim's own (`Db::claim` in `jobs.rs`), crash allowance included.
pub(crate) const JOB_BACKLOG_SQL: &str = "SELECT kind, \
     CAST(SUM(CASE WHEN (state = 'queued' AND run_after <= $1) \
       OR (state = 'running' AND lease_expires_at <= $1 AND attempts < max_attempts + 4) \
       THEN 1 ELSE 0 END) AS BIGINT) AS runnable, \
     CAST(SUM(CASE WHEN state = 'running' AND lease_expires_at > $1 THEN 1 ELSE 0 END) AS BIGINT) AS leased \
     FROM jobs WHERE state IN ('queued', 'running') GROUP BY kind";

/// Adds up the rows of [`JOB_BACKLOG_SQL`] for `kinds`.
pub(crate) fn job_backlog_from_rows<R: Columns>(
    rows: &[R],
    kinds: &[JobKind],
) -> Result<podsift_core::jobs::JobBacklog, StoreError> {
    let mut out = podsift_core::jobs::JobBacklog::default();
    for row in rows {
        let kind = row.text("kind")?;
        if !kinds.iter().any(|k| k.as_str() == kind) {
            continue;
        }
        out.runnable += u64::try_from(row.int("runnable")?).unwrap_or(0);
        out.leased += u64::try_from(row.int("leased")?).unwrap_or(0);
    }
    Ok(out)
}

/// What extraction spent since `$1` (milliseconds): prompt tokens and dollars, both backends.
pub(crate) const LLM_SPEND_SQL: &str = "SELECT CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) AS tokens, \
     CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) AS usd \
     FROM extractions WHERE created_at >= $1";

/// An episode's jobs, by their dedupe keys (`kind:episode`, [`episode_job_keys`]); one
/// statement for both databases.
pub(crate) const EPISODE_JOBS: &str = "SELECT id, kind, dedupe_key, payload, state, attempts, \
     max_attempts, run_after, lease_owner, lease_expires_at, last_error, created_at, updated_at \
     FROM jobs WHERE dedupe_key IN ($1, $2, $3, $4) ORDER BY id DESC";

/// Queued or running work on the episodes of a user's shows (jobs keyed `kind:episode`).
pub(crate) const QUEUED_EPISODE_JOBS: &str = "SELECT COUNT(*) FROM jobs j \
     JOIN episodes e ON j.dedupe_key IN ('fetch_transcript:' || e.id, 'transcribe:' || e.id, \
     'extract_insights:' || e.id) \
     JOIN subscriptions s ON s.feed_id = e.feed_id \
     WHERE s.user_id = $1 AND j.state IN ('queued', 'running')";

/// A feed's subscribers; one statement for both databases.
pub(crate) const FEED_SUBSCRIBERS: &str =
    "SELECT user_id FROM subscriptions WHERE feed_id = $1 ORDER BY user_id";

/// A user's speech-to-text seconds on a day.
pub(crate) const AUDIO_USED: &str =
    "SELECT audio_secs FROM audio_usage WHERE user_id = $1 AND day = $2";

/// Adds to a user's speech-to-text seconds on a day (SQLite 3.24+ and PostgreSQL alike).
pub(crate) const AUDIO_ADD: &str = "INSERT INTO audio_usage (user_id, day, audio_secs) \
     VALUES ($1, $2, $3) ON CONFLICT (user_id, day) \
     DO UPDATE SET audio_secs = audio_usage.audio_secs + excluded.audio_secs";

/// One job by id; one statement for both databases.
pub(crate) const GET_JOB: &str = "SELECT id, kind, dedupe_key, payload, state, attempts, \
     max_attempts, run_after, lease_owner, lease_expires_at, last_error, created_at, updated_at \
     FROM jobs WHERE id = $1";

/// A user's feeds being added (`subscribe` jobs by their key prefix, `$1` a LIKE pattern):
/// unfinished, or finished since `$2`; newest first, at most `$3`.
pub(crate) const FEED_ADDS: &str = "SELECT id, kind, dedupe_key, payload, state, attempts, \
     max_attempts, run_after, lease_owner, lease_expires_at, last_error, created_at, updated_at \
     FROM jobs WHERE kind = 'subscribe' AND dedupe_key LIKE $1 \
     AND (state IN ('queued', 'running') OR updated_at >= $2) ORDER BY id DESC LIMIT $3";

/// The dedupe keys of an episode's jobs, one per kind (`NewJob::for_episode`).
pub(crate) fn episode_job_keys(episode: i64) -> [String; 4] {
    use podsift_core::JobKind;
    let key = |k: JobKind| format!("{}:{episode}", k.as_str());
    [
        key(JobKind::FetchTranscript),
        key(JobKind::FetchChapters),
        key(JobKind::ExtractInsights),
        key(JobKind::Transcribe),
    ]
}
