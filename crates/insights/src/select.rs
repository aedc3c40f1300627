//! Choosing windows when the user set a cap (`[llm] episode_token_budget` or a daily one).
//! Without a cap every non-ad window is read and this module is not used.
//!
//! Under a cap the windows are spread over the whole episode: first the most relevant window
//! of each chapter (or, without chapters, of each tenth of the episode's time), then the rest
//! by relevance, while they fit. Relevance is how many of the words of the episode's title and
//! description, and of the reader's interests (weighted three times), a window contains,
//! per square root of its distinct words: what the episode says it is about, never a count of
//! digits or capitalised words.

use std::collections::HashSet;

/// Words too common to say what a window is about.
const STOP: &[&str] = &[
    "about", "after", "again", "also", "been", "before", "being", "between", "both", "could",
    "does", "doing", "down", "each", "from", "further", "have", "having", "here", "into", "just",
    "more", "most", "much", "only", "other", "over", "same", "should", "some", "such", "than",
    "that", "their", "them", "then", "there", "these", "they", "this", "those", "through", "under",
    "until", "very", "what", "when", "where", "which", "while", "will", "with", "would", "your",
    "episode", "podcast", "show", "today", "talk", "talks", "week",
];

/// What the episode is about: words of its title and description, and the reader's interests.
#[derive(Debug, Clone, Default)]
pub struct Query {
    about: HashSet<String>,
    interests: HashSet<String>,
}

impl Query {
    /// The query of an episode.
    pub fn new(title: &str, description: &str, interests: &[String]) -> Self {
        let about = content_words(&format!("{title} {description}"));
        let interests = interests
            .iter()
            .flat_map(|i| content_words(i))
            .collect::<HashSet<_>>();
        Self { about, interests }
    }

    /// The relevance of a window's raw text.
    pub fn relevance(&self, text: &str) -> f64 {
        let words = content_words(text);
        if words.is_empty() {
            return 0.0;
        }
        let about = words.intersection(&self.about).count() as f64;
        let interests = words.intersection(&self.interests).count() as f64;
        (about + 3.0 * interests) / (words.len() as f64).sqrt()
    }
}

fn content_words(text: &str) -> HashSet<String> {
    crate::text::words(text)
        .into_iter()
        .filter(|w| w.chars().count() >= 4 && !STOP.contains(&w.as_str()))
        .collect()
}

/// One window as the selection sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The window's index.
    pub index: usize,
    /// Prompt tokens the window would cost (window plus prompt overhead).
    pub cost: u64,
    /// Its part of the episode: a chapter, or a tenth of the time.
    pub bucket: usize,
    /// Its relevance ([`Query::relevance`]).
    pub relevance: f64,
}

/// The part of the episode a window starting at `start` belongs to: its chapter when there
/// are two or more (`chapter_starts` sorted), else its tenth of `duration`.
pub fn bucket(start: f64, duration: f64, chapter_starts: &[f64]) -> usize {
    if chapter_starts.len() >= 2 {
        return chapter_starts
            .partition_point(|&c| c <= start + 1e-6)
            .saturating_sub(1);
    }
    if duration <= 0.0 || !start.is_finite() {
        return 0;
    }
    ((start / duration * 10.0).floor().max(0.0) as usize).min(9)
}

/// Chooses windows within `budget` tokens: the most relevant of each bucket first, then the
/// rest by relevance (a window that does not fit is passed over and smaller ones still
/// tried). Returns `(chosen, over budget)`, both in time (index) order.
pub fn select(candidates: &[Candidate], budget: u64) -> (Vec<usize>, Vec<usize>) {
    let by_relevance = |a: &&Candidate, b: &&Candidate| {
        b.relevance
            .total_cmp(&a.relevance)
            .then(a.index.cmp(&b.index))
    };
    let mut firsts: Vec<&Candidate> = Vec::new();
    let mut rest: Vec<&Candidate> = Vec::new();
    let mut ordered: Vec<&Candidate> = candidates.iter().collect();
    ordered.sort_by(by_relevance);
    let mut seen = HashSet::new();
    for c in ordered {
        if seen.insert(c.bucket) {
            firsts.push(c);
        } else {
            rest.push(c);
        }
    }
    let mut left = budget;
    let mut chosen = Vec::new();
    let mut skipped = Vec::new();
    for c in firsts.into_iter().chain(rest) {
        if c.cost <= left {
            left -= c.cost;
            chosen.push(c.index);
        } else {
            skipped.push(c.index);
        }
    }
    chosen.sort_unstable();
    skipped.sort_unstable();
    (chosen, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relevance_follows_the_episode_not_digits() {
        let q = Query::new(
            "Postgres replication",
            "How logical replication works",
            &["sqlite".to_owned()],
        );
        let on_topic = "logical replication sends changes from the primary postgres server";
        let digits = "42 1999 3.5 NASA IBM 77 percent million billion announced";
        assert!(q.relevance(on_topic) > q.relevance(digits));
        assert_eq!(q.relevance(digits), 0.0);
        assert!(q.relevance("we moved from sqlite") > q.relevance("we moved from mysql"));
        assert_eq!(q.relevance(""), 0.0);
    }

    #[test]
    fn buckets() {
        assert_eq!(bucket(0.0, 1000.0, &[]), 0);
        assert_eq!(bucket(999.0, 1000.0, &[]), 9);
        assert_eq!(bucket(5000.0, 1000.0, &[]), 9);
        assert_eq!(bucket(150.0, 1000.0, &[0.0, 100.0, 400.0]), 1);
        assert_eq!(bucket(50.0, 0.0, &[]), 0);
    }

    #[test]
    fn spreads_before_it_concentrates() {
        let c = |index, bucket, relevance| Candidate {
            index,
            cost: 100,
            bucket,
            relevance,
        };
        // Bucket 0 holds the three most relevant windows; one from each bucket comes first.
        let cands = [
            c(0, 0, 9.0),
            c(1, 0, 8.0),
            c(2, 0, 7.0),
            c(3, 1, 0.5),
            c(4, 2, 0.1),
        ];
        let (chosen, skipped) = select(&cands, 400);
        assert_eq!(chosen, vec![0, 1, 3, 4]);
        assert_eq!(skipped, vec![2]);
        let (chosen, skipped) = select(&cands, 0);
        assert!(chosen.is_empty());
        assert_eq!(skipped.len(), 5);
    }
}
