//! The rules, one function each, with the phrase lists they use. Every failure says why in
//! words a reader of `podsift lint` can act on.

use crate::faithful::{self, Source};
use crate::text::{bare, normalised, outside_quotes, sentences, words};
use crate::{Input, Outcome};

/// Words an insight may not open with: they point at something it does not say.
const DANGLING_OPENERS: &[&str] = &[
    "this", "that", "it", "he", "she", "they", "these", "those", "his", "her", "their", "its",
    "him", "them",
];

/// Phrases that lean on the episode instead of naming who and what.
const CONTEXT_PHRASES: &[&str] = &[
    "the host",
    "the hosts",
    "the co-host",
    "the guest",
    "the guests",
    "our guest",
    "the speaker",
    "the speakers",
    "the interviewer",
    "the interviewee",
    "this episode",
    "the episode",
    "in the episode",
    "this show",
    "this podcast",
    "the podcast",
    "they discuss",
    "they discussed",
    "they talk about",
    "talks about",
    "talked about",
    "discusses",
    "is discussed",
    "were discussed",
];

/// First and second person (as whole words, outside quotation marks). `I` is matched in
/// its capital form only; the others lowercase or capitalised (`US` the country is not `us`).
const PERSONAL: &[&str] = &[
    "me",
    "my",
    "mine",
    "myself",
    "we",
    "us",
    "our",
    "ours",
    "ourselves",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "i'm",
    "i've",
    "i'd",
    "i'll",
    "we're",
    "we've",
    "we'd",
    "we'll",
    "you're",
    "you've",
    "you'd",
    "you'll",
    "let's",
];

/// Empty implications: they sound like a consequence and say none.
pub const EMPTY_PHRASES: &[&str] = &[
    "highlights the importance",
    "highlighting the importance",
    "underscores the importance",
    "underscores the need",
    "underscoring",
    "emphasizes the importance",
    "emphasises the importance",
    "shows the importance",
    "demonstrates the importance",
    "remains to be seen",
    "remain to be seen",
    "only time will tell",
    "time will tell",
    "it is worth noting",
    "it's worth noting",
    "worth noting",
    "it is important to note",
    "it's important to note",
    "could reshape the industry",
    "reshape the industry",
    "could change everything",
    "changes everything",
    "game changer",
    "game-changer",
    "paves the way",
    "paving the way",
    "a testament to",
    "is a reminder that",
    "serves as a reminder",
    "in today's fast-paced",
    "in an ever-changing",
    "ever-evolving landscape",
    "plays a crucial role",
    "plays a vital role",
    "a significant step",
    "a major step forward",
    "exciting times",
    "stay tuned",
    "food for thought",
    "keep an eye on",
    "watch this space",
    "interesting to see",
    "it will be interesting",
    "raises important questions",
    "sparks debate",
    "the future looks bright",
];

/// Words and phrases of a sentence that says what follows: who gains or loses, what
/// changes, what someone can or must now do. Matched as whole words in the normalised text.
const CONSEQUENCE_MARKERS: &[&str] = &[
    "means",
    "meaning",
    "so",
    "which",
    "lets",
    "let",
    "allows",
    "allow",
    "allowing",
    "enables",
    "enable",
    "gives",
    "give",
    "giving",
    "forces",
    "force",
    "forcing",
    "ties",
    "cuts",
    "cut",
    "raises",
    "lowers",
    "saves",
    "save",
    "saving",
    "costs",
    "cost",
    "gain",
    "gains",
    "lose",
    "loses",
    "losing",
    "benefit",
    "benefits",
    "hurts",
    "hurt",
    "risk",
    "risks",
    "shifts",
    "shift",
    "changes",
    "change",
    "must",
    "should",
    "need",
    "needs",
    "will",
    "can",
    "could",
    "may",
    "might",
    "no longer",
    "instead",
    "pressure",
    "makes",
    "make",
    "turns",
    "frees",
    "opens",
    "closes",
    "avoid",
    "avoids",
    "expect",
    "expects",
    "pay",
    "pays",
    "affects",
    "affect",
    "therefore",
    "thus",
    "because",
    "result",
    "results",
    "leaves",
    "leave",
    "puts",
    "put",
    "stand to",
    "matters",
    "for",
    "helps",
    "help",
    "harder",
    "easier",
    "cheaper",
    "faster",
    "slower",
    "safer",
    "fewer",
    "less",
    "more",
    "replaces",
    "replace",
    "threatens",
    "undercuts",
    "reduces",
    "reduce",
    "increases",
    "increase",
    "drives",
    "push",
    "pushes",
    "requires",
    "require",
    "depend",
    "depends",
    "if",
    "unless",
    "until",
    "without",
];

/// Sponsor reads and promotions, looked for in the insight and (the strongest ones) in its
/// quote.
const AD_PHRASES: &[&str] = &[
    "promo code",
    "use code",
    "discount code",
    "coupon code",
    "offer code",
    "% off",
    "percent off",
    "brought to you by",
    "sponsored by",
    "our sponsor",
    "our sponsors",
    "this week's sponsor",
    "today's sponsor",
    "thanks to our sponsor",
    "free trial",
    "sign up at",
    "sign up today",
    "visit them at",
    "head over to",
    "special offer",
    "limited time offer",
    "exclusive offer",
];

/// The ad phrases strong enough to condemn a quote (a quote may mention a sponsor of a
/// study, not a quote that reads out a promo code).
const AD_QUOTE_PHRASES: &[&str] = &[
    "promo code",
    "use code",
    "discount code",
    "brought to you by",
    "free trial",
    "sign up at",
    "thanks to our sponsor",
    "this week's sponsor",
    "today's sponsor",
];

/// Episode logistics.
const HOUSEKEEPING_PHRASES: &[&str] = &[
    "subscribe",
    "subscribed",
    "leave a review",
    "leave us a review",
    "rate and review",
    "rating and review",
    "five-star review",
    "5-star review",
    "show notes",
    "links are in",
    "link in the description",
    "patreon",
    "join the newsletter",
    "sign up for the newsletter",
    "follow us",
    "thanks for listening",
    "thank you for listening",
    "see you next week",
    "until next time",
    "welcome to the show",
    "welcome back to",
    "joins the show",
    "joined the show",
    "introduces himself",
    "introduces herself",
    "introduce themselves",
    "recorded on",
    "next episode",
];

/// Words an insight may have.
pub const SHAPE_WORDS: std::ops::RangeInclusive<usize> = 25..=90;
/// Sentences an insight may have.
pub const SHAPE_SENTENCES: std::ops::RangeInclusive<usize> = 2..=3;

pub(crate) fn shape(text: &str) -> (Outcome, String) {
    let n_words = words(text).len();
    let n_sentences = sentences(text).len();
    let ok_words = SHAPE_WORDS.contains(&n_words);
    let ok_sentences = SHAPE_SENTENCES.contains(&n_sentences);
    let what = format!(
        "{n_sentences} sentence{}, {n_words} words",
        if n_sentences == 1 { "" } else { "s" }
    );
    if ok_words && ok_sentences {
        (Outcome::Pass, what)
    } else {
        (
            Outcome::Fail,
            format!(
                "{what}; wanted {}–{} sentences and {}–{} words",
                SHAPE_SENTENCES.start(),
                SHAPE_SENTENCES.end(),
                SHAPE_WORDS.start(),
                SHAPE_WORDS.end()
            ),
        )
    }
}

pub(crate) fn standalone(text: &str) -> (Outcome, String) {
    let first = text
        .split_whitespace()
        .map(bare)
        .find(|w| !w.is_empty())
        .unwrap_or("");
    if DANGLING_OPENERS.contains(&first.to_lowercase().as_str()) {
        return (
            Outcome::Fail,
            format!("opens with \"{first}\", which points at something it does not name"),
        );
    }
    let own = outside_quotes(text);
    let norm = normalised(&own);
    for p in CONTEXT_PHRASES {
        if norm.contains(&format!(" {p} ")) {
            return (
                Outcome::Fail,
                format!("says \"{p}\" instead of naming who or what"),
            );
        }
    }
    for raw in own.split_whitespace() {
        let w = bare(raw).replace('\u{2019}', "'");
        if w == "I" || w.starts_with("I'") {
            return (
                Outcome::Fail,
                format!("first person (\"{w}\") outside quotation marks"),
            );
        }
        let lower = w.to_lowercase();
        let case_ok = w == lower || w == capitalised(&lower);
        if case_ok && PERSONAL.contains(&lower.as_str()) {
            let person = if lower.starts_with('y') {
                "second"
            } else {
                "first"
            };
            return (
                Outcome::Fail,
                format!("{person} person (\"{w}\") outside quotation marks"),
            );
        }
    }
    (Outcome::Pass, "names its subject".into())
}

fn capitalised(lower: &str) -> String {
    let mut c = lower.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Named entities of `text`: capitalised words that do not open a sentence (an opening
/// word counts when `known` says the sources use it as a name), lowercased, possessive
/// dropped, distinct.
pub fn entities(text: &str, known: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for sentence in sentences(text) {
        for (k, raw) in sentence.split_whitespace().enumerate() {
            let w = bare(raw);
            let w = w
                .strip_suffix("'s")
                .or_else(|| w.strip_suffix("\u{2019}s"))
                .unwrap_or(w);
            let Some(first) = w.chars().next() else {
                continue;
            };
            if !first.is_uppercase() || w.chars().count() < 2 && !w.chars().all(char::is_uppercase)
            {
                continue;
            }
            let lower = w.to_lowercase();
            if lower == "i" || DANGLING_OPENERS.contains(&lower.as_str()) {
                continue;
            }
            if (k > 0 || known(&lower)) && !out.contains(&lower) {
                out.push(lower);
            }
        }
    }
    out
}

pub(crate) fn specific(
    input: &Input<'_>,
    source: Option<&Source>,
) -> (Outcome, String, usize, usize) {
    let text = input.text;
    let source_norm = source.map(|_| {
        normalised(
            &input
                .quotes
                .iter()
                .chain(&input.passages)
                .chain(&input.metadata)
                .copied()
                .collect::<Vec<_>>()
                .join(" \n "),
        )
    });
    let known = |w: &str| {
        source_norm
            .as_ref()
            .is_some_and(|s| s.contains(&format!(" {w} ")))
    };
    let numbers: Vec<String> = faithful::numbers(text)
        .into_iter()
        .filter(|n| source.is_none_or(|s| s.has_number(n)))
        .collect();
    let ents: Vec<String> = entities(text, &known)
        .into_iter()
        .filter(|e| source.is_none() || known(e))
        .collect();
    let (n, e) = (numbers.len(), ents.len());
    let against = if source.is_some() {
        " found in its source"
    } else if input.faithful_checked {
        " (checked against its passages when it was written)"
    } else {
        " (no source to check them against)"
    };
    if n >= 1 || e >= 2 {
        let mut what = Vec::new();
        if n > 0 {
            what.push(format!("figures {}", numbers.join(", ")));
        }
        if e > 0 {
            what.push(format!("names {}", ents.join(", ")));
        }
        (Outcome::Pass, format!("{}{against}", what.join("; ")), n, e)
    } else {
        (
            Outcome::Fail,
            format!(
                "no figure and {} named entit{}{against}; wanted a number or two names",
                e,
                if e == 1 { "y" } else { "ies" }
            ),
            n,
            e,
        )
    }
}

pub(crate) fn faithful(input: &Input<'_>, source: Option<&Source>) -> (Outcome, String) {
    match source {
        None => (
            Outcome::NotChecked,
            "no quote to check its figures and names against".into(),
        ),
        Some(s) => match s.check(input.text) {
            Ok(()) => (
                Outcome::Pass,
                "every figure and name is in its quotes".into(),
            ),
            Err(e) => (Outcome::Fail, e),
        },
    }
}

/// Longest run of consecutive words the text shares with a quote, and the share of the
/// text's word trigrams found in it.
fn overlap(text: &[String], quote: &[String]) -> (usize, f64) {
    let mut longest = 0usize;
    let mut prev = vec![0usize; quote.len() + 1];
    for t in text {
        let mut cur = vec![0usize; quote.len() + 1];
        for (j, q) in quote.iter().enumerate() {
            if t == q {
                cur[j + 1] = prev[j] + 1;
                longest = longest.max(cur[j + 1]);
            }
        }
        prev = cur;
    }
    let grams = |w: &[String]| -> Vec<String> { w.windows(3).map(|g| g.join(" ")).collect() };
    let tg = grams(text);
    let qg: std::collections::HashSet<String> = grams(quote).into_iter().collect();
    let share = if tg.is_empty() {
        0.0
    } else {
        tg.iter().filter(|g| qg.contains(*g)).count() as f64 / tg.len() as f64
    };
    (longest, share)
}

/// Shared consecutive words from which a text copies its quote.
pub const COPY_RUN: usize = 12;
/// Share of the text's word trigrams found in the quote from which it is a copy.
pub const COPY_SHARE: f64 = 0.5;

pub(crate) fn not_copy(input: &Input<'_>) -> (Outcome, String) {
    if input.quotes.iter().all(|q| q.trim().is_empty()) {
        return (Outcome::NotChecked, "no quote to compare it with".into());
    }
    let tokens = |s: &str| -> Vec<String> {
        normalised(s)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let t = tokens(input.text);
    let mut worst = (0usize, 0.0f64);
    for q in &input.quotes {
        let (run, share) = overlap(&t, &tokens(q));
        worst = (worst.0.max(run), worst.1.max(share));
    }
    let (run, share) = worst;
    if run >= COPY_RUN || share >= COPY_SHARE {
        (
            Outcome::Fail,
            format!(
                "copies its quote ({run} words in a row, {:.0} % of its word triples); \
                 restate the claim and say what follows",
                share * 100.0
            ),
        )
    } else {
        (
            Outcome::Pass,
            format!("its own words (longest shared run {run} words)"),
        )
    }
}

/// How many consequence markers the sentences after the first hold (or a `, which means`
/// clause in a single sentence).
pub(crate) fn consequence_markers(text: &str) -> usize {
    let ss = sentences(text);
    let later = if ss.len() > 1 {
        ss[1..].join(" ")
    } else {
        // One sentence: only an explicit consequence clause counts.
        let norm = normalised(text);
        return [
            " which means ",
            " meaning that ",
            " so that ",
            " as a result ",
        ]
        .iter()
        .filter(|p| norm.contains(*p))
        .count();
    };
    let norm = normalised(&later);
    CONSEQUENCE_MARKERS
        .iter()
        .filter(|m| norm.contains(&format!(" {m} ")))
        .count()
}

pub(crate) fn consequential(text: &str) -> (Outcome, String, usize) {
    let norm = normalised(text);
    for p in EMPTY_PHRASES {
        if norm.contains(&normalised(p)) {
            return (
                Outcome::Fail,
                format!("empty implication (\"{p}\"): say who gains, who loses or what changes"),
                0,
            );
        }
    }
    let markers = consequence_markers(text);
    if markers > 0 {
        (Outcome::Pass, "says what follows".into(), markers)
    } else {
        (
            Outcome::Fail,
            "no sentence says what follows (who gains or loses, what changes)".into(),
            0,
        )
    }
}

pub(crate) fn not_ad(input: &Input<'_>) -> (Outcome, String) {
    let norm = normalised(input.text);
    for p in AD_PHRASES {
        if norm.contains(&normalised(p)) {
            return (Outcome::Fail, format!("reads like an ad (\"{p}\")"));
        }
    }
    for p in HOUSEKEEPING_PHRASES {
        if norm.contains(&normalised(p)) {
            return (Outcome::Fail, format!("episode housekeeping (\"{p}\")"));
        }
    }
    for q in &input.quotes {
        let qn = normalised(q);
        for p in AD_QUOTE_PHRASES {
            if qn.contains(&normalised(p)) {
                return (
                    Outcome::Fail,
                    format!("its quote is a sponsor read (\"{p}\")"),
                );
            }
        }
    }
    (Outcome::Pass, "not an ad or housekeeping".into())
}

/// Whether `text` names at least one multi-word name or capitalised entity (for callers
/// that only need a quick specificity count).
pub fn specificity_count(text: &str) -> usize {
    faithful::numbers(text).len() + entities(text, &|_| false).len()
}
