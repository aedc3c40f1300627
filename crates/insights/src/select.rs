//! Choosing the windows worth the model's time, within the episode's token budget.
//!
//! A cheap pre-score per window, per 100 words: numbers, capitalised names (not at a
//! sentence start), claim words ("because", "means", "will", "percent", "billion",
//! "announced", ...), minus filler ("um", "uh", "you know", ...), plus a strong bonus for the
//! user's interest keywords. The best windows are taken until the budget is spent, then
//! processed in time order.

const CLAIM_WORDS: &[&str] = &[
    "because",
    "means",
    "will",
    "percent",
    "billion",
    "million",
    "thousand",
    "announced",
    "released",
    "launched",
    "found",
    "study",
    "data",
    "research",
    "grew",
    "growth",
    "increase",
    "decrease",
    "cost",
    "price",
    "revenue",
    "faster",
    "slower",
    "therefore",
    "result",
    "shows",
    "version",
    "new",
    "deprecated",
    "security",
    "benchmark",
    "times",
    "percentage",
    "measured",
];

const FILLER: &[&str] = &[
    "um", "uh", "uhm", "hmm", "like", "yeah", "okay", "ok", "right", "laughs", "laughter", "mm",
    "anyway", "whatever",
];

const FILLER_PHRASES: &[&str] = &["you know", "i mean", "kind of", "sort of"];

/// The pre-score of a window's raw transcript text (higher: more worth reading).
pub fn prescore(text: &str, interests: &[String]) -> f64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return 0.0;
    }
    let mut score = 0.0;
    let mut sentence_start = true;
    for w in &words {
        let bare: String = w
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if w.chars().any(|c| c.is_ascii_digit()) {
            score += 2.0;
        } else if !sentence_start
            && w.chars().next().is_some_and(char::is_uppercase)
            && bare != "i"
            && !bare.starts_with("i'")
        {
            score += 1.0;
        }
        if CLAIM_WORDS.contains(&bare.as_str()) {
            score += 1.5;
        }
        if FILLER.contains(&bare.as_str()) {
            score -= 1.0;
        }
        sentence_start = w.ends_with(['.', '?', '!']);
    }
    let lower = text.to_lowercase();
    for p in FILLER_PHRASES {
        score -= lower.matches(p).count() as f64;
    }
    for interest in interests.iter().take(100) {
        let k = interest.trim().to_lowercase();
        if k.len() >= 2 {
            score += 8.0 * lower.matches(k.as_str()).take(10).count() as f64;
        }
    }
    score * 100.0 / words.len() as f64
}

/// One window as the selection sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The window's index.
    pub index: usize,
    /// Prompt tokens the window would cost (window plus prompt overhead).
    pub cost: u64,
    /// Its pre-score.
    pub score: f64,
}

/// Takes the best-scored candidates while they fit in `budget` tokens (a window that does not
/// fit is passed over and smaller ones still tried). Returns `(chosen, over budget)`, both in
/// time (index) order.
pub fn select(candidates: &[Candidate], budget: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    order.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    let mut left = budget;
    let mut chosen = Vec::new();
    let mut skipped = Vec::new();
    for c in order {
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
    fn substance_beats_banter() {
        let banter = "yeah um you know it was like, right, kind of fun, yeah okay so um anyway";
        let claim = "Python 3.13 removes the GIL, because Meta funded the work; the team \
                     measured a 30 percent speedup and announced the release for October.";
        assert!(prescore(claim, &[]) > prescore(banter, &[]) + 10.0);
        let a = "we talked about the garden and the weather over the holidays";
        let interests = vec!["garden".to_owned()];
        assert!(prescore(a, &interests) > prescore(a, &[]));
        assert_eq!(prescore("", &interests), 0.0);
    }

    #[test]
    fn budget() {
        let c = |index, cost, score| Candidate { index, cost, score };
        let cands = [
            c(0, 100, 1.0),
            c(1, 100, 9.0),
            c(2, 100, 5.0),
            c(3, 50, 0.5),
        ];
        let (chosen, skipped) = select(&cands, 250);
        assert_eq!(chosen, vec![1, 2, 3]);
        assert_eq!(skipped, vec![0]);
        let (chosen, skipped) = select(&cands, 0);
        assert!(chosen.is_empty());
        assert_eq!(skipped.len(), 4);
    }
}
