//! podsift's register check: whether an insight is written the way the digest needs it, by
//! deterministic rules, each with a reason a person can act on.
//!
//! | rule | passes when | needs a source |
//! |---|---|---|
//! | shape | 2–3 sentences, 25–90 words | no |
//! | standalone | it does not open with This/That/It/He/She/They…, never says "the host", "the guest", "this episode", "they discuss", "talks about", and has no first or second person outside quotation marks | no |
//! | specific | a number, or two named entities, that occur in its source (in the text alone when there is none) | no |
//! | faithful | every number and multi-word name occurs in its quotes, their passages or the episode's metadata ([`faithful`]) | yes |
//! | not a copy | it is not a near-copy of its quote (12 words in a row, or half its word triples) | yes |
//! | consequential | a sentence after the first says what follows, and no empty phrase ("highlights the importance of", "remains to be seen") | no |
//! | not an ad | no sponsor read, promo code or housekeeping ("subscribe and leave a review") | no |
//!
//! A rule that needs a source is `not checked` (never failed) on an insight without a quote.
//! Standalone, faithful, not a copy and not an ad are *hard* rules: the ranker never picks
//! an insight that fails one. The others are features of its score.
//!
//! One module serves the ranker (`podsift-ranking`), the extraction (`podsift-insights`
//! checks faithfulness with it), the evaluation (`podsift-eval golden`) and `podsift lint`.

pub mod faithful;
mod rules;
pub mod text;

use serde::{Deserialize, Serialize};

pub use rules::{EMPTY_PHRASES, SHAPE_SENTENCES, SHAPE_WORDS, entities, specificity_count};

/// One rule of the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// 2–3 sentences, 25–90 words.
    Shape,
    /// Names its subject; no pointing at the episode; no I/we/you.
    Standalone,
    /// A number or two named entities from its source.
    Specific,
    /// No figure or name that is not in its source.
    Faithful,
    /// Not a near-copy of its quote.
    NotCopy,
    /// Says what follows; no empty implication.
    Consequential,
    /// Not a sponsor read, a promotion or episode housekeeping.
    NotAd,
}

impl Rule {
    /// Every rule, in the order they are reported.
    pub const ALL: [Rule; 7] = [
        Rule::Shape,
        Rule::Standalone,
        Rule::Specific,
        Rule::Faithful,
        Rule::NotCopy,
        Rule::Consequential,
        Rule::NotAd,
    ];

    /// The rule's name as `podsift lint` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Shape => "shape",
            Rule::Standalone => "standalone",
            Rule::Specific => "specific",
            Rule::Faithful => "faithful",
            Rule::NotCopy => "not_copy",
            Rule::Consequential => "consequential",
            Rule::NotAd => "not_ad",
        }
    }

    /// A hard rule: an insight failing it is never picked for a digest.
    pub fn is_hard(self) -> bool {
        matches!(
            self,
            Rule::Standalone | Rule::Faithful | Rule::NotCopy | Rule::NotAd
        )
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The rule holds.
    Pass,
    /// The rule is broken.
    Fail,
    /// The rule needs a source (a quote) that the insight does not carry.
    NotChecked,
}

/// One rule's result, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    /// The rule.
    pub rule: Rule,
    /// Pass, fail or not checked.
    pub outcome: Outcome,
    /// Why, in words.
    pub detail: String,
}

/// Every rule's result for one insight, and the counts the ranker uses as features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// One per rule, in [`Rule::ALL`] order.
    pub results: Vec<RuleResult>,
    /// Numbers it states that its source has (or that it states, without a source).
    pub figures: usize,
    /// Named entities it names that its source has (or that it names, without a source).
    pub names: usize,
    /// Consequence words in the sentences after the first.
    pub consequence_markers: usize,
}

impl Verdict {
    /// The outcome of `rule`.
    pub fn outcome(&self, rule: Rule) -> Outcome {
        self.results
            .iter()
            .find(|r| r.rule == rule)
            .map_or(Outcome::NotChecked, |r| r.outcome)
    }

    /// Whether `rule` did not fail (passed or was not checked).
    pub fn holds(&self, rule: Rule) -> bool {
        self.outcome(rule) != Outcome::Fail
    }

    /// No rule failed.
    pub fn passes(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The rules that failed.
    pub fn failures(&self) -> impl Iterator<Item = &RuleResult> {
        self.results.iter().filter(|r| r.outcome == Outcome::Fail)
    }

    /// The first hard rule that failed: the reason the insight cannot be picked.
    pub fn hard_failure(&self) -> Option<&RuleResult> {
        self.failures().find(|r| r.rule.is_hard())
    }

    /// `pass`, or `fail: rule (why); rule (why)`; rules not checked are named after.
    pub fn summary(&self) -> String {
        let failed: Vec<String> = self
            .failures()
            .map(|r| format!("{} ({})", r.rule, r.detail))
            .collect();
        let unchecked: Vec<&str> = self
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::NotChecked)
            .map(|r| r.rule.as_str())
            .collect();
        let mut out = if failed.is_empty() {
            "pass".to_string()
        } else {
            format!("fail: {}", failed.join("; "))
        };
        if !unchecked.is_empty() {
            out.push_str(&format!(" [not checked: {}]", unchecked.join(", ")));
        }
        out
    }
}

/// An insight and what it rests on.
#[derive(Debug, Clone, Default)]
pub struct Input<'a> {
    /// The insight.
    pub text: &'a str,
    /// Its cited quotes (none: the source rules are not checked).
    pub quotes: Vec<&'a str>,
    /// The passages (windows) the quotes were read in, when known.
    pub passages: Vec<&'a str>,
    /// Names it may take from the episode rather than a quote: show, episode title, speakers.
    pub metadata: Vec<&'a str>,
    /// The extraction already checked its figures and names against its quotes and their
    /// windows (which the ranker no longer has): faithful passes on that word.
    pub faithful_checked: bool,
}

impl<'a> Input<'a> {
    /// An insight with no source.
    pub fn text(text: &'a str) -> Self {
        Self {
            text,
            ..Self::default()
        }
    }
}

/// Runs every rule on `input`.
pub fn check(input: &Input<'_>) -> Verdict {
    let has_source = input.quotes.iter().any(|q| !q.trim().is_empty());
    let source = has_source.then(|| {
        faithful::Source::new(
            input.quotes.iter().chain(&input.passages).copied(),
            input.metadata.iter().copied(),
        )
    });
    let mut results = Vec::with_capacity(Rule::ALL.len());
    let mut push = |rule: Rule, (outcome, detail): (Outcome, String)| {
        results.push(RuleResult {
            rule,
            outcome,
            detail,
        })
    };
    push(Rule::Shape, rules::shape(input.text));
    push(Rule::Standalone, rules::standalone(input.text));
    // Figures and names already checked against the passages count as they are written.
    let specific_source = source.as_ref().filter(|_| !input.faithful_checked);
    let (o, d, figures, names) = rules::specific(input, specific_source);
    push(Rule::Specific, (o, d));
    let faithful = if input.faithful_checked {
        (
            Outcome::Pass,
            "its figures and names were checked against its passages when it was written".into(),
        )
    } else {
        rules::faithful(input, source.as_ref())
    };
    push(Rule::Faithful, faithful);
    push(Rule::NotCopy, rules::not_copy(input));
    let (o, d, consequence_markers) = rules::consequential(input.text);
    push(Rule::Consequential, (o, d));
    push(Rule::NotAd, rules::not_ad(input));
    Verdict {
        results,
        figures,
        names,
        consequence_markers,
    }
}
