//! What a reader wants to know about a show before following it, read off its own feed: how
//! often it publishes, and whether its recent episodes carry publisher transcripts (then no
//! speech-to-text is needed to read it).

use chrono::{DateTime, Utc};
use podsift_core::ParsedFeed;
use serde::Serialize;

/// Recent episodes looked at.
const RECENT: usize = 10;

/// A show's publishing habits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShowProfile {
    /// Median days between its recent episodes (None: fewer than two dated episodes).
    pub days_between_episodes: Option<f64>,
    /// "daily", "weekly", "every 12 days".
    pub cadence: String,
    pub newest_episode_at: Option<DateTime<Utc>>,
    /// Recent episodes looked at, and how many of them link a publisher transcript.
    pub recent_episodes: usize,
    pub recent_with_transcripts: usize,
    pub episodes_in_feed: usize,
}

impl ShowProfile {
    /// "publisher transcripts on 8 of the last 10 episodes" or "no publisher transcripts".
    pub fn transcripts_line(&self) -> String {
        match (self.recent_with_transcripts, self.recent_episodes) {
            (_, 0) => "no episodes yet".into(),
            (0, _) => "no publisher transcripts (speech-to-text reads it)".into(),
            (t, n) if t == n => format!("publisher transcripts on all of the last {n} episodes"),
            (t, n) => format!("publisher transcripts on {t} of the last {n} episodes"),
        }
    }
}

/// Shows read through the poller (SSRF guard, size cap, timeout), `concurrency` at a time,
/// in their order: each with its profile, or why its feed could not be read (`podsift
/// discover` and the Discover page).
pub async fn describe(
    poller: &podsift_poller::Poller,
    shows: Vec<podsift_core::discovery::FoundShow>,
    concurrency: usize,
) -> Vec<(
    podsift_core::discovery::FoundShow,
    Result<ShowProfile, String>,
)> {
    use futures::StreamExt;
    futures::stream::iter(shows)
        .map(|show| async move {
            let read = poller.resolve(&show.feed_url).await;
            let profile = read.map(|f| profile(&f.parsed)).map_err(|e| e.to_string());
            (show, profile)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// The profile of a parsed feed.
pub fn profile(feed: &ParsedFeed) -> ShowProfile {
    let mut dated: Vec<&podsift_core::ParsedEpisode> = feed
        .episodes
        .iter()
        .filter(|e| e.published.is_some())
        .collect();
    dated.sort_by_key(|e| std::cmp::Reverse(e.published));
    let recent: Vec<&podsift_core::ParsedEpisode> = if dated.is_empty() {
        feed.episodes.iter().take(RECENT).collect()
    } else {
        dated.iter().take(RECENT).copied().collect()
    };
    let mut gaps: Vec<f64> = recent
        .windows(2)
        .filter_map(|w| Some((w[0].published? - w[1].published?).num_seconds() as f64 / 86_400.0))
        .collect();
    gaps.sort_by(f64::total_cmp);
    let median = (!gaps.is_empty()).then(|| gaps[gaps.len() / 2]);
    ShowProfile {
        days_between_episodes: median.map(|d| (d * 10.0).round() / 10.0),
        cadence: cadence(median),
        newest_episode_at: dated.first().and_then(|e| e.published),
        recent_episodes: recent.len(),
        recent_with_transcripts: recent.iter().filter(|e| !e.transcripts.is_empty()).count(),
        episodes_in_feed: feed.episodes.len(),
    }
}

fn cadence(days: Option<f64>) -> String {
    match days {
        None => "irregular".into(),
        Some(d) if d < 1.5 => "daily".into(),
        Some(d) if d < 4.5 => format!("every {} days", d.round()),
        Some(d) if d < 10.0 => "weekly".into(),
        Some(d) if d < 20.0 => "every two weeks".into(),
        Some(d) if d < 45.0 => "monthly".into(),
        Some(d) => format!("every {} days", d.round()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use podsift_core::{ParsedEpisode, TranscriptRef};

    fn ep(day: u32, transcript: bool) -> ParsedEpisode {
        ParsedEpisode {
            title: Some(format!("day {day}")),
            published: Some(Utc.with_ymd_and_hms(2026, 11, day, 6, 0, 0).unwrap()),
            transcripts: if transcript {
                vec![TranscriptRef {
                    url: format!("https://example.org/{day}.vtt"),
                    mime_type: Some("text/vtt".into()),
                    language: None,
                    rel: None,
                }]
            } else {
                Vec::new()
            },
            ..ParsedEpisode::default()
        }
    }

    #[test]
    fn weekly_show_with_some_transcripts() {
        let feed = ParsedFeed {
            episodes: vec![
                ep(29, true),
                ep(1, false),
                ep(22, true),
                ep(15, false),
                ep(8, true),
            ],
            ..ParsedFeed::default()
        };
        let p = profile(&feed);
        assert_eq!(p.days_between_episodes, Some(7.0));
        assert_eq!(p.cadence, "weekly");
        assert_eq!(p.recent_with_transcripts, 3);
        assert_eq!(
            p.transcripts_line(),
            "publisher transcripts on 3 of the last 5 episodes"
        );
        assert_eq!(p.newest_episode_at.map(|d| d.day0()), Some(28));
        let empty = profile(&ParsedFeed::default());
        assert_eq!(empty.cadence, "irregular");
        assert_eq!(empty.transcripts_line(), "no episodes yet");
    }

    use chrono::Datelike;
}
