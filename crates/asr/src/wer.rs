//! Word error rate, for tests, benchmarks and evaluations: (substitutions + deletions +
//! insertions) / reference words, after lower-casing and dropping punctuation.

/// Words for scoring: lower case, letters/digits/apostrophes only, hyphens split.
pub fn normalise(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| c.is_whitespace() || c == '-' || c == '—')
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .trim_matches('\'')
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Edit distance between two word sequences.
pub fn word_errors(reference: &[String], hypothesis: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=hypothesis.len()).collect();
    let mut cur = vec![0; hypothesis.len() + 1];
    for (i, r) in reference.iter().enumerate() {
        cur[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let sub = prev[j] + usize::from(r != h);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[hypothesis.len()]
}

/// WER of `hypothesis` against `reference` (0.0 = perfect).
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let r = normalise(reference);
    let h = normalise(hypothesis);
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    word_errors(&r, &h) as f64 / r.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_edits() {
        assert_eq!(wer("the cat sat", "the cat sat"), 0.0);
        assert_eq!(wer("The cat, sat.", "the cat sat"), 0.0);
        assert!((wer("the cat sat", "the bat sat") - 1.0 / 3.0).abs() < 1e-9);
        assert!((wer("the cat sat", "the sat") - 1.0 / 3.0).abs() < 1e-9);
        assert!((wer("a b", "a x b y") - 1.0).abs() < 1e-9);
        assert_eq!(wer("", ""), 0.0);
    }
}
