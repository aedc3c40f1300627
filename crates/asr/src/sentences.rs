//! Whisper segments split into sentences, each with the time its first word was said.

use crate::engine::RawSegment;

/// A decoded token and its time span (seconds).
#[derive(Debug, Clone)]
pub struct TimedToken {
    pub bytes: Vec<u8>,
    pub t0: f64,
    pub t1: f64,
}

/// Splits one whisper segment into sentences at `.`, `?` and `!`, each starting at its first
/// token's time, so a transcript line points at the moment its sentence was said. Bytes are
/// joined before decoding (a token may hold half of a UTF-8 character).
pub fn split_sentences(tokens: &[TimedToken], span: (f64, f64)) -> Vec<RawSegment> {
    let mut out = Vec::new();
    let mut bytes: Vec<u8> = Vec::new();
    let mut start: Option<f64> = None;
    let clamp = |t: f64| t.clamp(span.0, span.1.max(span.0));
    for (i, tok) in tokens.iter().enumerate() {
        if start.is_none() && !String::from_utf8_lossy(&tok.bytes).trim().is_empty() {
            start = Some(clamp(tok.t0));
        }
        bytes.extend_from_slice(&tok.bytes);
        let text = String::from_utf8_lossy(&tok.bytes);
        let ends_sentence = text.trim_end().ends_with(['.', '?', '!']);
        // "3.5" is not a sentence end: the next token must start a new word.
        let next_starts_word = tokens
            .get(i + 1)
            .is_none_or(|n| n.bytes.first() == Some(&b' '));
        if ends_sentence && next_starts_word {
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            if !text.is_empty() {
                let s = start.unwrap_or(span.0);
                out.push(RawSegment {
                    start: s,
                    end: clamp(tok.t1).max(s),
                    text,
                });
            }
            bytes.clear();
            start = None;
        }
    }
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    if !text.is_empty() {
        let s = start.unwrap_or(span.0);
        out.push(RawSegment {
            start: s,
            end: span.1.max(s),
            text,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str, t0: f64, t1: f64) -> TimedToken {
        TimedToken {
            bytes: text.as_bytes().to_vec(),
            t0,
            t1,
        }
    }

    #[test]
    fn sentences_get_their_own_start() {
        let tokens = [
            tok(" Hello", 0.0, 0.5),
            tok(" Mr", 0.5, 0.7),
            tok(".", 0.7, 0.8),
            tok(" Smith", 0.8, 1.2),
            tok(".", 1.2, 1.3),
            tok(" It", 5.0, 5.2),
            tok(" costs", 5.2, 5.6),
            tok(" 3", 5.6, 5.7),
            tok(".", 5.7, 5.75),
            tok("5", 5.75, 5.8),
            tok("%", 5.8, 6.0),
            tok("!", 6.0, 6.1),
            tok(" And", 9.0, 9.3),
        ];
        let got = split_sentences(&tokens, (0.0, 10.0));
        let texts: Vec<&str> = got.iter().map(|s| s.text.as_str()).collect();
        // A period before a new word splits (even after "Mr"); "3.5" does not.
        assert_eq!(texts, ["Hello Mr.", "Smith.", "It costs 3.5%!", "And"]);
        assert_eq!(got[2].start, 5.0);
        assert_eq!(got[2].end, 6.1);
        assert_eq!(got[3].end, 10.0);
    }

    #[test]
    fn split_bytes_of_one_character_are_joined() {
        let e = "é".as_bytes();
        let tokens = [
            TimedToken {
                bytes: vec![b' ', b'C', b'a', b'f', e[0]],
                t0: 1.0,
                t1: 1.2,
            },
            TimedToken {
                bytes: vec![e[1], b'.'],
                t0: 1.2,
                t1: 1.4,
            },
        ];
        let got = split_sentences(&tokens, (0.0, 2.0));
        assert_eq!(got[0].text, "Café.");
        assert_eq!(got[0].start, 1.0);
    }
}
