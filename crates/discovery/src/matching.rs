//! How well a text matches a topic: the embedding model's cosine when there is one, else the
//! share of the topic's words the text contains. And what a topic asks the directories: the
//! search terms (the topic, then its parts) and the categories it belongs to.

use std::sync::Arc;

use podsift_ranking::Embedder;

/// The categories the directories share (Apple's top level, which the Podcast Index uses
/// too), each with words that place a topic in it.
pub const CATEGORIES: &[(&str, &str)] = &[
    (
        "Technology",
        "technology software computers cloud servers programming developers networking security ai internet gadgets batteries energy grid electricity engineering data chips",
    ),
    (
        "Science",
        "science physics biology chemistry climate research space astronomy energy medicine environment",
    ),
    (
        "Business",
        "business economics markets finance companies startups investing money industry trade jobs",
    ),
    (
        "News",
        "news politics current events world elections policy government",
    ),
    (
        "Health & Fitness",
        "health fitness medicine nutrition mental sleep exercise disease",
    ),
    (
        "Education",
        "education learning school teaching language courses",
    ),
    (
        "Society & Culture",
        "society culture relationships philosophy people documentary",
    ),
    ("History", "history historical war ancient empire"),
    (
        "Government",
        "government law policy regulation public administration",
    ),
    (
        "Sports",
        "sports football soccer basketball baseball running cycling",
    ),
    (
        "Arts",
        "arts design books literature painting photography food",
    ),
    ("True Crime", "crime murder investigation justice"),
    ("TV & Film", "tv film movies television cinema streaming"),
    ("Music", "music songs albums bands musicians"),
    ("Comedy", "comedy funny humor jokes"),
    (
        "Religion & Spirituality",
        "religion spirituality faith church god",
    ),
    (
        "Leisure",
        "leisure hobbies games gaming travel cars home garden",
    ),
    ("Kids & Family", "kids family parenting children"),
];

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "the", "of", "in", "on", "for", "to", "with", "or", "about", "how", "what",
    "why", "is", "are", "new", "my", "our", "at", "by", "from", "vs",
];

/// The topic's content words, lower case, without stop words.
pub fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(&w.as_str()))
    {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// A word's stem for loose matching: its first six characters ("batteries" and "battery"
/// share "batter").
fn stem(w: &str) -> String {
    w.chars().take(6).collect()
}

/// The share of the topic's content words that occur in `text` (by stem), 0 to 1.
pub fn word_match(topic: &str, text: &str) -> f64 {
    let want = words(topic);
    if want.is_empty() {
        return 0.0;
    }
    let have: std::collections::HashSet<String> = words(text).iter().map(|w| stem(w)).collect();
    let hits = want.iter().filter(|w| have.contains(&stem(w))).count();
    hits as f64 / want.len() as f64
}

/// What to search the directories for: the topic itself, then its parts split at "and",
/// commas and slashes ("home batteries and grid storage" also asks for "home batteries" and
/// "grid storage"); at most four.
pub fn search_terms(topic: &str) -> Vec<String> {
    let topic = topic.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut terms = vec![topic.clone()];
    let lower = topic.to_lowercase();
    for part in lower
        .replace(" and ", ",")
        .replace(" or ", ",")
        .replace(['/', ';', '&'], ",")
        .split(',')
        .map(str::trim)
    {
        if !words(part).is_empty() && !terms.iter().any(|t| t.eq_ignore_ascii_case(part)) {
            terms.push(part.to_string());
        }
    }
    terms.truncate(4);
    terms
}

/// Scores texts against a topic, with the embedding model or by words. The topic is
/// embedded once, when the matcher is made.
pub struct Matcher {
    embedder: Option<Arc<dyn Embedder>>,
    topic: String,
    topic_vec: Option<Vec<f32>>,
}

impl Matcher {
    pub fn new(embedder: Option<Arc<dyn Embedder>>, topic: &str) -> Result<Self, String> {
        let topic_vec = match &embedder {
            Some(e) => e
                .embed(&[topic.to_string()])
                .map_err(|e| format!("embedding the topic: {e}"))?
                .into_iter()
                .next(),
            None => None,
        };
        Ok(Self {
            embedder,
            topic: topic.to_string(),
            topic_vec,
        })
    }

    /// "embedding" or "words": what the scores are.
    pub fn method(&self) -> &'static str {
        if self.topic_vec.is_some() {
            "embedding"
        } else {
            "words"
        }
    }

    /// One score per text, 0 to 1.
    pub fn scores(&self, texts: &[String]) -> Result<Vec<f64>, String> {
        match (&self.embedder, &self.topic_vec) {
            (Some(e), Some(t)) if !texts.is_empty() => {
                let vecs = e.embed(texts).map_err(|e| format!("embedding: {e}"))?;
                Ok(vecs
                    .iter()
                    .map(|v| f64::from(dot(t, v)).clamp(0.0, 1.0))
                    .collect())
            }
            _ => Ok(texts.iter().map(|x| word_match(&self.topic, x)).collect()),
        }
    }

    /// The categories the topic belongs to, best first: the best match, and the second when
    /// it is a fair match too.
    pub fn categories(&self) -> Result<Vec<String>, String> {
        // Each category scores its best word: one long list of words embeds to a blur that
        // matches little, one word at a time matches what it means.
        let mut owner = Vec::new();
        let mut texts = Vec::new();
        for (i, (name, words)) in CATEGORIES.iter().enumerate() {
            for w in std::iter::once(*name).chain(words.split_whitespace()) {
                owner.push(i);
                texts.push(w.to_string());
            }
        }
        let scores = self.scores(&texts)?;
        let mut best = vec![0.0f64; CATEGORIES.len()];
        for (i, s) in owner.into_iter().zip(scores) {
            best[i] = best[i].max(s);
        }
        let second_floor = if self.topic_vec.is_some() { 0.3 } else { 0.01 };
        let mut ranked: Vec<(f64, &str)> = best
            .into_iter()
            .zip(CATEGORIES.iter().map(|(n, _)| *n))
            .filter(|(s, _)| *s > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(ranked
            .into_iter()
            .enumerate()
            .take_while(|(i, (s, _))| *i == 0 || *s >= second_floor)
            .take(2)
            .map(|(_, (_, n))| n.to_string())
            .collect())
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// An episode's text for matching: its title, then its description's visible text (the
/// same reading of hostile show notes the extraction gets), cut at 1,000 characters.
pub fn episode_text(title: Option<&str>, description: Option<&str>) -> String {
    let plain = podsift_transcripts::html_to_plain(description.unwrap_or_default(), 1000);
    let text = format!("{}. {plain}", title.unwrap_or_default().trim());
    text.chars().take(1000).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_the_topic_then_its_parts() {
        assert_eq!(
            search_terms("  Home batteries and grid   storage "),
            [
                "Home batteries and grid storage",
                "home batteries",
                "grid storage"
            ]
        );
        assert_eq!(search_terms("rust"), ["rust"]);
    }

    #[test]
    fn words_match_by_stem() {
        let t = "home batteries and grid storage";
        assert!(
            (word_match(t, "A home battery for the grid: storage at scale") - 1.0).abs() < 1e-9
        );
        assert!((word_match(t, "Grid news") - 0.25).abs() < 1e-9);
        assert_eq!(word_match(t, "Baseball tonight"), 0.0);
        let m = Matcher::new(None, t).unwrap();
        assert_eq!(m.method(), "words");
        assert_eq!(m.categories().unwrap()[0], "Technology");
    }

    #[test]
    fn episode_text_drops_markup_and_scripts() {
        assert_eq!(
            episode_text(
                Some("Ep 1"),
                Some("<p>Grid <b>storage</b> &amp; more</p><script>x</script>")
            ),
            "Ep 1. Grid storage & more"
        );
    }
}
