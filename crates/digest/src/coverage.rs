//! How much of each episode podsift read, in the words every surface shows: the digest's
//! footer, `podsift run` (with podsift-pipeline's `ReadCoverage`), `podsift episodes`, and
//! the web UI's episode page.
//!
//! A share is shown as a whole percent that never rounds up to 100 % when something was left
//! out, and an episode counts as capped only when a cap was set (`[llm]
//! episode_token_budget`, `daily_token_budget`, `daily_usd_budget`) *and* it was read in
//! part. Cap and editor lines come from the extractor and are cleaned like any other text.

use podsift_core::{DigestStats, ExtractionReport};

use crate::text::{MAX_REASON_CHARS, clean};

/// `share` (0–1) as a whole percent: 100 only when everything was read, at least 1 when
/// anything was, 0 for nothing (or a share that is not a number).
pub fn percent(share: f64) -> u32 {
    if !share.is_finite() || share <= 0.0 {
        return 0;
    }
    if share >= 1.0 {
        return 100;
    }
    // In (0, 1): the product is in (0, 100), so the cast cannot truncate or wrap.
    ((share * 100.0).round() as u32).clamp(1, 99)
}

/// `n` with thousands separators: `52,310`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The episode's words outside sponsor reads.
pub fn content_words(r: &ExtractionReport) -> usize {
    r.words_total.saturating_sub(r.words_ad)
}

/// Whether a cap left part of the episode unread (a cap that everything fitted under is not
/// "capped").
pub fn was_capped(r: &ExtractionReport) -> bool {
    r.cap.is_some() && r.read_share() < 1.0
}

/// The cap that left part of the episode unread, cleaned for display.
pub fn cap_label(r: &ExtractionReport) -> Option<String> {
    if !was_capped(r) {
        return None;
    }
    r.cap
        .as_deref()
        .map(|c| clean(c, MAX_REASON_CHARS))
        .filter(|c| !c.is_empty())
}

/// The editor pass's status line, cleaned for display.
pub fn editor_label(r: &ExtractionReport) -> Option<String> {
    r.editor
        .as_deref()
        .map(|e| clean(e, MAX_REASON_CHARS))
        .filter(|e| !e.is_empty())
}

/// Adds one episode's report to a digest's (or a run's) words read and capped episodes.
/// The episode itself is counted by the caller (`stats.episodes`).
pub fn add_episode(stats: &mut DigestStats, r: &ExtractionReport) {
    let content = content_words(r);
    stats.words_content += content as u64;
    stats.words_read += r.words_read.min(content) as u64;
    if was_capped(r) {
        stats.episodes_capped += 1;
    }
}

fn episodes_phrase(n: usize) -> String {
    match n {
        1 => "1 episode".to_string(),
        n => format!("{n} episodes"),
    }
}

/// The coverage sentence of a digest's footer (and of `podsift run`'s total):
/// `Read 100 % of 4 episodes (52,310 words).`, or with what was left out and why. None when
/// nothing is known about the words (digests made before podsift counted them).
pub fn digest_line(stats: &DigestStats) -> Option<String> {
    if stats.words_content == 0 {
        return None;
    }
    let pct = percent(stats.read_share());
    let episodes = episodes_phrase(stats.episodes.max(1));
    if pct == 100 {
        return Some(format!(
            "Read 100 % of {episodes} ({} words).",
            thousands(stats.words_content)
        ));
    }
    let words = format!(
        "{} of {} words",
        thousands(stats.words_read),
        thousands(stats.words_content)
    );
    Some(match stats.episodes_capped {
        0 => format!(
            "Read {pct} % of {episodes} ({words}); see podsift episodes for what was skipped."
        ),
        n => format!(
            "Read {pct} % of {episodes} ({words}): {} capped by an [llm] budget; see podsift episodes.",
            if n == 1 {
                "1 was".to_string()
            } else {
                format!("{n} were")
            }
        ),
    })
}

/// The `read` cell of `podsift episodes`: `100 %`, `64 % (capped)`, `—` when not extracted.
pub fn read_cell(r: Option<&ExtractionReport>) -> String {
    match r {
        None => "—".to_string(),
        Some(r) if was_capped(r) => format!("{} % (capped)", percent(r.read_share())),
        Some(r) => format!("{} %", percent(r.read_share())),
    }
}

/// The episode page's sentence: `Read 100 % of the episode (9,412 of 9,412 words outside
/// sponsor reads).`
pub fn episode_sentence(r: &ExtractionReport) -> String {
    let pct = percent(r.read_share());
    if r.words_total == 0 {
        return format!("Read {pct} % of the episode.");
    }
    let content = content_words(r);
    format!(
        "Read {pct} % of the episode ({} of {} words outside sponsor reads).",
        thousands(r.words_read.min(content) as u64),
        thousands(content as u64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_never_rounds_up_to_everything() {
        assert_eq!(percent(1.0), 100);
        assert_eq!(percent(0.999), 99);
        assert_eq!(percent(0.64), 64);
        assert_eq!(percent(0.001), 1);
        assert_eq!(percent(0.0), 0);
        assert_eq!(percent(f64::NAN), 0);
        assert_eq!(percent(2.0), 100);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(52_310), "52,310");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
