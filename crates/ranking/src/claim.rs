//! "Same claim" is more than "same topic": two insights about one company and one deal can
//! say different things. Topical cosine only opens the question; the claims' figures, named
//! entities and content words answer it.
//!
//! ```text
//! different   both state figures and share at most half of the fewer ("raised $40 million"
//!             / "will hire 200"); a figure is a number that starts a word ("$12", "9.8 %"),
//!             not the digits of a name ("A9", "H100") and not a year
//! different   both name two or more entities and share none, or each one's subject (its
//!             first named entity) is named nowhere in the other
//! same        cosine ≥ 0.8
//! same        cosine in [duplicate_threshold, 0.8) and cosine + 2 × content-word overlap
//!             (Jaccard of stemmed content words) ≥ 1.06
//! same        no embeddings: content-word overlap ≥ 0.25
//! different   otherwise
//! ```
//!
//! Chosen on `eval/pairs.jsonl` and `eval/hard_negatives.jsonl` (121 labelled pairs, 40 of
//! them true duplicates; the hard negatives share topic, companies and sometimes a figure):
//! precision 1.00 and recall 0.80 with MiniLM, against 0.67 / 0.85 for cosine ≥ 0.65 alone
//! (17 false merges, all but one of them hard negatives); words alone 0.97 / 0.70. See the
//! `eval` test and BENCHMARKS.md.

use std::collections::BTreeSet;

use podsift_register::{faithful, text};

/// Cosine from which two texts make the same claim (unless their figures or names differ).
pub const PARAPHRASE: f32 = 0.8;
/// In the band below [`PARAPHRASE`]: cosine + [`WORDS_WEIGHT`] × content-word overlap must
/// reach this.
pub const BAND_SCORE: f64 = 1.06;
/// Weight of the content-word overlap in the band.
pub const WORDS_WEIGHT: f64 = 2.0;
/// Content-word overlap that decides alone, without embeddings.
pub const WORDS_ALONE: f64 = 0.25;
/// Entities each side must name for "no shared entity" to mean different subjects.
pub const ENTITY_VETO: usize = 2;

/// What a claim asserts, for comparing it with another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimKey {
    /// Its figures, normalised (digits and spelt-out numbers).
    pub numbers: BTreeSet<String>,
    /// Its named entities, lowercased.
    pub entities: BTreeSet<String>,
    /// Its content words, stemmed.
    pub stems: BTreeSet<String>,
    /// Its subject: its first named entity that does not open a sentence, lowercased.
    pub subject: Option<String>,
    /// Every capitalised word of it, sentence openings included, lowercased.
    pub capitalised: BTreeSet<String>,
}

impl ClaimKey {
    /// The key of `text`.
    pub fn of(text: &str) -> Self {
        let mut numbers: BTreeSet<String> = figures(text).collect();
        numbers.extend(
            faithful::spelled_numbers(text)
                .into_iter()
                .filter(|n| !is_year(n)),
        );
        Self {
            numbers,
            entities: podsift_register::entities(text, &|_| false)
                .into_iter()
                .collect(),
            stems: text::content_stems(text).into_iter().collect(),
            subject: subject(text),
            capitalised: capitalised(text).collect(),
        }
    }
}

/// Capitalised words (letters or digits after a capital), lowercased, possessive dropped.
fn capitalised(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split_whitespace().filter_map(|raw| {
        let w = text::bare(raw);
        let w = w
            .strip_suffix("'s")
            .or_else(|| w.strip_suffix("\u{2019}s"))
            .unwrap_or(w);
        w.chars()
            .next()
            .is_some_and(char::is_uppercase)
            .then(|| w.to_lowercase())
    })
}

/// The first named entity that does not open a sentence: what the claim is about ("…
/// its Powerwall battery …"); a sentence's first word may be an ordinary word.
fn subject(text: &str) -> Option<String> {
    podsift_register::entities(text, &|_| false)
        .into_iter()
        .next()
}

fn is_year(n: &str) -> bool {
    n.len() == 4 && n.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y))
}

/// The figures a claim states: numbers of words that start with a digit or a currency sign
/// (`$12`, `9.8`, `64%`, `2nm`), not the digits of a name (`A9`, `H100`, `Cirrus-2`), and
/// not years (a shared year says little about the claim).
fn figures(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| c.is_whitespace() || c == '(' || c == '/')
        .map(|w| w.trim_start_matches(['"', '\'', '\u{201c}', '\u{2018}']))
        .filter(|w| {
            let w = w.trim_start_matches(['$', '€', '£', '~', '+', '-']);
            w.chars().next().is_some_and(|c| c.is_ascii_digit())
        })
        .flat_map(|w| faithful::numbers(w).into_iter().take(1))
        .filter(|n| !is_year(n))
}

/// Share of the smaller set found in the other.
fn containment(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let small = a.len().min(b.len()).max(1);
    a.intersection(b).count() as f64 / small as f64
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// Both state figures and share at most half of the fewer: different claims (or a changed
/// figure: an update). A coincidence of one figure in two ("$12 billion" and "12 % of
/// exports") does not make a claim the same.
pub fn figures_conflict(a: &ClaimKey, b: &ClaimKey) -> bool {
    !a.numbers.is_empty() && !b.numbers.is_empty() && containment(&a.numbers, &b.numbers) <= 0.5
}

/// How far the two claims' words agree (content-word Jaccard), for reports.
pub fn word_overlap(a: &ClaimKey, b: &ClaimKey) -> f64 {
    jaccard(&a.stems, &b.stems)
}

/// Different subjects: both name two or more entities and share none, or each claim's
/// subject ("Tesla cut …", "Siemens cut …") is named nowhere in the other.
pub fn subjects_differ(a: &ClaimKey, b: &ClaimKey) -> bool {
    let disjoint = a.entities.len() >= ENTITY_VETO
        && b.entities.len() >= ENTITY_VETO
        && a.entities.is_disjoint(&b.entities);
    let own_subjects = match (&a.subject, &b.subject) {
        (Some(sa), Some(sb)) => {
            sa != sb && !b.capitalised.contains(sa) && !a.capitalised.contains(sb)
        }
        _ => false,
    };
    disjoint || own_subjects
}

/// Whether `a` and `b` make the same claim. `cosine` is their embeddings' similarity when
/// there are embeddings; `threshold` the cosine below which they never are.
pub fn same_claim(a: &ClaimKey, b: &ClaimKey, cosine: Option<f32>, threshold: f32) -> bool {
    if figures_conflict(a, b) || subjects_differ(a, b) {
        return false;
    }
    let words = jaccard(&a.stems, &b.stems);
    match cosine {
        Some(c) if c >= PARAPHRASE => true,
        Some(c) if c >= threshold => f64::from(c) + WORDS_WEIGHT * words >= BAND_SCORE,
        Some(_) => false,
        None => words >= WORDS_ALONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_deal_two_claims() {
        let raise = ClaimKey::of("Acme raised 40 million dollars in a Series B led by Sequoia.");
        let hire = ClaimKey::of("Acme's CEO says it will hire 200 engineers this year.");
        let raise2 = ClaimKey::of("Sequoia led Acme's forty million dollar Series B round.");
        assert!(figures_conflict(&raise, &hire));
        assert!(!same_claim(&raise, &hire, Some(0.8), 0.6));
        assert!(same_claim(&raise, &raise2, Some(0.8), 0.6));
        assert!(!same_claim(&raise, &raise2, Some(0.5), 0.6));
        assert!(same_claim(&raise, &raise2, None, 0.6));
        let other = ClaimKey::of("Globex and Initech signed a deal with Hooli and Wonka.");
        let same_words = ClaimKey::of("Acme and Sequoia signed a deal with Northwind and Stark.");
        assert!(subjects_differ(&other, &same_words));
        assert!(!same_claim(&other, &same_words, Some(0.95), 0.6));
    }
}
