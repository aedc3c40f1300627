//! Sponsor reads and ads: found by their phrases, then left out.
//!
//! A segment is an ad hit when it contains a sponsor phrase ("brought to you by", "promo
//! code", "% off", "visit example.com/podcast", ...). A read spans several segments, so the
//! segments between two hits less than [`MAX_READ_GAP_SECS`] apart are ads too, and so is the
//! segment after a hit that stops mid-sentence ("check them out at pythonbytes.fm" / "slash
//! datadog. More on that later."). Reads are not extended further by time: a short sponsor
//! mention is often followed at once by real content. Windows mostly made of ad
//! segments are skipped; insights whose quote sits in an ad segment, or that the model labels
//! `is_ad`, are dropped.

use podsift_core::Segment;

/// Two hits at most this far apart (seconds) enclose one sponsor read.
pub const MAX_READ_GAP_SECS: f64 = 120.0;
/// Share of a window's words in ad segments from which the window is skipped.
pub const AD_WINDOW_SHARE: f64 = 0.5;

const PHRASES: &[&str] = &[
    "sponsored by",
    "brought to you by",
    "promo code",
    "coupon code",
    "discount code",
    "use code",
    "use the code",
    "% off",
    "percent off",
    "support for this show comes from",
    "support for this podcast comes from",
    "support for the show comes from",
    "support for today's show comes from",
    "thanks to our sponsor",
    "thank you to our sponsor",
    "today's sponsor",
    "this episode's sponsor",
    "our sponsor this week",
    "free trial",
    "/podcast",
];

const URL_LEADS: &[&str] = &["visit", "go to", "head to", "over to", "check out"];

/// Whether `text` contains a sponsor phrase.
pub fn is_ad_text(text: &str) -> bool {
    let lower = text.to_lowercase();
    let lower = lower.replace('\u{2019}', "'");
    if PHRASES.iter().any(|p| lower.contains(p)) {
        return true;
    }
    // "visit example.com/pythonbytes", "go to example.fm": a lead-in followed by a domain.
    URL_LEADS.iter().any(|lead| {
        lower.match_indices(lead).any(|(i, _)| {
            let rest = lower[i + lead.len()..].trim_start();
            let word = rest.split_whitespace().next().unwrap_or("");
            looks_like_domain(word)
        })
    })
}

fn ends_sentence(text: &str) -> bool {
    text.trim_end()
        .trim_end_matches(['"', '\'', ')', '\u{201d}'])
        .ends_with(['.', '?', '!'])
}

fn looks_like_domain(word: &str) -> bool {
    let word = word.trim_end_matches(['.', ',', '!', '?', ';']);
    let host = word.split('/').next().unwrap_or("");
    match host.rsplit_once('.') {
        Some((name, tld)) => {
            !name.is_empty()
                && (2..=6).contains(&tld.len())
                && tld.chars().all(|c| c.is_ascii_alphabetic())
        }
        None => false,
    }
}

/// Per segment: is it part of an ad or sponsor read?
pub fn ad_segments(segments: &[Segment]) -> Vec<bool> {
    let hits: Vec<bool> = segments.iter().map(|s| is_ad_text(&s.text)).collect();
    let mut ad = hits.clone();
    let hit_idx: Vec<usize> = (0..segments.len()).filter(|&i| hits[i]).collect();
    for pair in hit_idx.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if segments[b].start - segments[a].end <= MAX_READ_GAP_SECS {
            ad[a..=b].iter_mut().for_each(|x| *x = true);
        }
    }
    for &h in &hit_idx {
        if h + 1 < segments.len() && !ends_sentence(&segments[h].text) {
            ad[h + 1] = true;
        }
    }
    ad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases() {
        assert!(is_ad_text("This episode is Brought to you by Linode."));
        assert!(is_ad_text("use code PYTHON for 20% off"));
        assert!(is_ad_text("Visit pythonbytes.fm/rollbar to get started"));
        assert!(is_ad_text("Support for this show comes from Acme."));
        assert!(!is_ad_text("Python 3.6 came out with f-strings."));
        assert!(!is_ad_text("Visit the docs for details."));
        assert!(!is_ad_text("I went to 3.6 yesterday"));
    }

    #[test]
    fn reads_span_segments() {
        let s = |a: f64, t: &str| Segment {
            start: a,
            end: a + 10.0,
            speaker: None,
            text: t.into(),
        };
        let segs = vec![
            s(0.0, "Talk about pandas."),
            s(100.0, "This episode is brought to you by Acme."),
            s(110.0, "Acme makes widgets."),
            s(150.0, "Widgets are great for teams."),
            s(160.0, "Visit acme.com/python today."),
            s(300.0, "Back to pandas and its new release."),
        ];
        assert_eq!(
            ad_segments(&segs),
            vec![false, true, true, true, true, false]
        );
    }
}
