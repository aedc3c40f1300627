//! From picks to the digest's stable shape.

use chrono::NaiveDate;
use podsift_core::{Digest, DigestItem, DigestStats};

use crate::pick::Pick;
use crate::text::safe_url;

/// The link to a moment of an episode: `AUDIO_URL#t=SECONDS` (whole seconds, rounded down;
/// an existing fragment is replaced). `None` unless the audio URL is `http`/`https`.
pub fn moment_link(audio_url: &str, start_seconds: f64) -> Option<String> {
    let safe = safe_url(audio_url)?;
    let mut url = url::Url::parse(&safe).ok()?;
    let secs = if start_seconds.is_finite() && start_seconds > 0.0 {
        start_seconds.min(1e9).floor() as u64
    } else {
        0
    };
    url.set_fragment(Some(&format!("t={secs}")));
    Some(url.into())
}

/// Builds the digest for `date` and `user` from `picks` (ranked in order, from 1).
///
/// `episode_url` is `BASE/episodes/EPISODE_ID` when `episode_page_base` (the web UI's base
/// URL, `DigestConfig.base_url`) is given, else the publisher's episode page. URLs that are
/// not `http`/`https` are dropped (`None`) here already, so the JSON never carries them.
pub fn build_digest(
    date: NaiveDate,
    user: &str,
    picks: &[Pick],
    stats: DigestStats,
    episode_page_base: Option<&str>,
) -> Digest {
    let base = episode_page_base
        .and_then(safe_url)
        .map(|b| b.trim_end_matches('/').to_string());
    let insights = picks
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let c = &p.candidate;
            let episode_url = match &base {
                Some(b) => Some(format!("{b}/episodes/{}", c.episode_id)),
                None => c.episode_link.as_deref().and_then(safe_url),
            };
            let audio_url = c.audio_url.as_deref().and_then(safe_url);
            let link = audio_url
                .as_deref()
                .and_then(|a| moment_link(a, c.draft.start_seconds));
            DigestItem {
                rank: i + 1,
                text: c.draft.text.clone(),
                quote: c.draft.quote.clone(),
                podcast: c.podcast.clone(),
                episode: c.episode.clone(),
                episode_url,
                audio_url,
                start_seconds: finite_or_zero(c.draft.start_seconds),
                end_seconds: finite_or_zero(c.draft.end_seconds),
                link,
                score: finite_or_zero(p.score),
                reasons: p.reasons.clone(),
                insight_id: c.id,
            }
        })
        .collect();
    Digest {
        date,
        user: user.to_string(),
        insights,
        stats,
    }
}

/// JSON has no NaN/infinity: serde_json would write `null`, which does not read back as f64.
fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moment_links() {
        assert_eq!(
            moment_link("https://cdn.ex.com/ep.mp3?x=1", 754.9).as_deref(),
            Some("https://cdn.ex.com/ep.mp3?x=1#t=754")
        );
        assert_eq!(
            moment_link("https://cdn.ex.com/ep.mp3#t=5", 12.0).as_deref(),
            Some("https://cdn.ex.com/ep.mp3#t=12")
        );
        assert_eq!(
            moment_link("https://cdn.ex.com/ep.mp3", f64::NAN).as_deref(),
            Some("https://cdn.ex.com/ep.mp3#t=0")
        );
        assert!(moment_link("javascript:alert(1)", 3.0).is_none());
    }
}
