//! WebVTT.

use podsift_core::model::ParsedTranscript;

use crate::sink::Sink;
use crate::srt::normalise_newlines;
use crate::text::{decode_entities, split_speaker, tidy_lines};
use crate::time::parse_vtt_timestamp;

/// Parses WebVTT following the parsing rules of the W3C spec where they matter for text
/// and timing: the `WEBVTT` header and its header lines, cue identifiers, timing lines
/// with cue settings, `NOTE`, `STYLE` and `REGION` blocks, cue text ending at a blank line
/// or at a line containing `-->`. Voice spans (`<v Name>`, `<v.loud Name>`) give the
/// speaker; without one, a `Name:` prefix does. Like SRT, the speaker carries over to
/// later cues until another is named (the podcast convention is to tag only changes).
/// All tags (`<c>`, `<i>`, `<b>`, `<u>`, `<lang>`, `<ruby>`, `<rt>`, timestamps) are
/// stripped and character references decoded.
///
/// Leniency beyond the spec: a missing or damaged `WEBVTT` signature does not reject the
/// file, and `,` is accepted as the millisecond separator.
pub fn parse_vtt(text: &str) -> ParsedTranscript {
    let text = normalise_newlines(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut sink = Sink::new();
    let mut i = 0;
    // Header: the signature line, then header lines up to the first blank line.
    if lines.first().is_some_and(|l| l.starts_with("WEBVTT")) {
        i = 1;
        while i < lines.len() && !lines[i].trim().is_empty() && !lines[i].contains("-->") {
            if let Some((k, v)) = lines[i].split_once(':')
                && k.trim().eq_ignore_ascii_case("language")
            {
                sink.set_language(Some(v.trim().to_owned()));
            }
            i += 1;
        }
    }
    let mut speaker: Option<String> = None;
    while i < lines.len() && !sink.full() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        // A block: an optional identifier line, then the timing line.
        let timing_at = if lines[i].contains("-->") {
            Some(i)
        } else if i + 1 < lines.len() && lines[i + 1].contains("-->") && !is_keyword_block(lines[i])
        {
            Some(i + 1)
        } else {
            None
        };
        let Some(t) = timing_at else {
            // NOTE / STYLE / REGION, or garbage: skip the block.
            let keyword = is_keyword_block(lines[i]);
            i += 1;
            while i < lines.len() && !lines[i].trim().is_empty() {
                i += 1;
            }
            if !keyword {
                sink.skip();
            }
            continue;
        };
        let timing = parse_timing(lines[t]);
        let mut j = t + 1;
        // A good cue's text ends at a blank line or a line with `-->`; a bad cue is
        // discarded up to the next blank line (so its lines cannot start a cue).
        while j < lines.len()
            && !lines[j].trim().is_empty()
            && (timing.is_none() || !lines[j].contains("-->"))
        {
            j += 1;
        }
        let body = &lines[t + 1..j];
        i = j;
        let Some((start, end)) = timing else {
            sink.skip();
            continue;
        };
        let raw = body.join("\n");
        let voices = voice_spans(&raw);
        if voices.iter().filter(|v| v.1.is_some()).count() >= 2 {
            // Several voices in one cue (a dialogue caption): one segment per voice,
            // all with the cue's timing.
            let mut cut = 0;
            for (k, (pos, name)) in voices.iter().enumerate() {
                let next = voices.get(k + 1).map_or(raw.len(), |v| v.0);
                let before = clean(&raw[cut..*pos]);
                if !before.is_empty() {
                    sink.push(start, end, speaker.clone(), before);
                }
                if name.is_some() {
                    speaker.clone_from(name);
                }
                let piece = clean(&raw[*pos..next]);
                if !piece.is_empty() {
                    sink.push(start, end, speaker.clone(), piece);
                }
                cut = next;
            }
            continue;
        }
        let mut cue_text = clean(&raw);
        if let Some(v) = voices.into_iter().find_map(|v| v.1) {
            speaker = Some(v);
        } else if let Some((name, rest)) = split_speaker(&cue_text) {
            speaker = Some(name);
            cue_text = tidy_lines(rest);
        }
        if cue_text.is_empty() {
            continue;
        }
        sink.push(start, end, speaker.clone(), cue_text);
    }
    sink.finish()
}

/// Plain text of raw cue text: tags stripped, references decoded, lines tidied.
fn clean(raw: &str) -> String {
    tidy_lines(&decode_entities(&strip_vtt_tags(raw)))
}

fn is_keyword_block(line: &str) -> bool {
    ["NOTE", "STYLE", "REGION"].iter().any(|k| {
        line.strip_prefix(k)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    })
}

/// `start --> end [settings]`: both timestamps must be valid, the arrow surrounded by
/// optional whitespace, and the end timestamp followed by whitespace or the line end.
fn parse_timing(line: &str) -> Option<(f64, f64)> {
    let s = line.trim_start_matches([' ', '\t']);
    let (start, used) = parse_vtt_timestamp(s)?;
    let rest = s[used..].trim_start_matches([' ', '\t']);
    let rest = rest.strip_prefix("-->")?;
    let rest = rest.trim_start_matches([' ', '\t']);
    // Whatever follows the end time is cue settings, which podsift ignores (vtt.js also
    // accepts settings glued to the timestamp).
    let (end, _) = parse_vtt_timestamp(rest)?;
    Some((start, end))
}

/// Removes every tag from cue text as the WebVTT cue-text tokenizer does: in cue text a
/// `<` always opens a tag (class, italic, bold, underline, ruby, voice, lang, timestamp,
/// or unknown), which runs to the next `>` or, when unclosed, to the end of the cue.
fn strip_vtt_tags(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(p) = rest.find('<') {
        out.push_str(&rest[..p]);
        match rest[p..].find('>') {
            Some(e) => rest = &rest[p + e + 1..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// Most voice spans looked at in one cue.
const MAX_VOICES: usize = 64;

/// Voice spans in raw cue text: the byte offset of each `<v …>` start tag and its
/// annotation (`<v Name>`, `<v.loud.x Name>`; `None` when it names nobody).
fn voice_spans(raw: &str) -> Vec<(usize, Option<String>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = raw[from..].find("<v") {
        let at = from + p;
        let tail = &raw[at + 2..];
        from = at + 2;
        if !tail.starts_with([' ', '\t', '.', '>']) {
            continue;
        }
        let Some(end) = tail.find('>') else {
            break;
        };
        let inner = &tail[..end];
        // Skip the classes (`.loud.x`); the annotation is the rest.
        let annotation = inner.find([' ', '\t', '\n']).map_or("", |sp| &inner[sp..]);
        let name = crate::text::collapse_ws(&decode_entities(annotation.trim()));
        out.push((at, (!name.is_empty()).then_some(name)));
        if out.len() >= MAX_VOICES {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cues(p: &ParsedTranscript) -> Vec<(f64, f64, Option<&str>, &str)> {
        p.segments
            .iter()
            .map(|s| (s.start, s.end, s.speaker.as_deref(), s.text.as_str()))
            .collect()
    }

    #[test]
    fn voices_ids_settings_and_blocks() {
        let p = parse_vtt(
            "WEBVTT - title\nLanguage: en\n\nSTYLE\n::cue { color: red }\n\nREGION\nid:fred\n\nNOTE a comment\n--> not a cue\n\nintro\n00:00.000 --> 00:02.760 align:start position:10%\n<v Sarah>In today&apos;s &amp; <i>episode</i></v>\n\n00:00:02.760 --> 00:00:06.090\ncarried speaker\n\n3\n00:00:06.090 --> 00:00:11.610\n<v.loud Gillian Smith>Q&amp;A <c.yellow>time</c><00:00:07.000>now\n",
        );
        assert_eq!(
            cues(&p),
            vec![
                (0.0, 2.76, Some("Sarah"), "In today's & episode"),
                (2.76, 6.09, Some("Sarah"), "carried speaker"),
                (6.09, 11.61, Some("Gillian Smith"), "Q&A timenow"),
            ]
        );
        assert_eq!(p.language.as_deref(), Some("en"));
        assert_eq!(p.skipped, 0);
    }

    #[test]
    fn entities_and_tags() {
        let p = parse_vtt(
            "WEBVTT\n\n00:01.000 --> 00:02.000\n<b>a</b>&lt;b&gt;&nbsp;<u>c</u>&lrm;<lang en>d</lang> <ruby>e<rt>f</rt></ruby>\n",
        );
        assert_eq!(p.segments[0].text, "a<b>\u{A0}c\u{200E}d ef");
    }

    #[test]
    fn malformed_timing_skipped_and_arrow_ends_cue() {
        let p = parse_vtt(
            "WEBVTT\n\n00:01.000 --> 00:0x.000\nbad\n\n00:02.000 --> 00:03.000\ngood\n00:03.000 --> 00:04.000\nnext\n",
        );
        assert_eq!(p.skipped, 1);
        let t: Vec<_> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(t, vec!["good", "next"]);
    }

    #[test]
    fn unclosed_tags_run_to_end_and_bad_cues_are_skipped_whole() {
        let p = parse_vtt(
            "WEBVTT\n\n00:00.000 --> 00:02.000\nThis is </c awesome!\n\n00:02.000 --> 00:03.000line:40%\n< 00:01.000>Hi <00:01.000 >there\n\n-->\n00:04.000 --> 00:05.000\nDropped\n\n00:06.000 --> 00:07.000\nKept\n",
        );
        let t: Vec<_> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(t, vec!["This is", "Hi there", "Kept"]);
        assert_eq!(p.skipped, 1);
    }

    #[test]
    fn several_voices_in_one_cue() {
        let p = parse_vtt(
            "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ann>Hi Bob.</v>\n<v.x Bob>Hi Ann!</v>\n\n00:02.000 --> 00:03.000\nand on\n",
        );
        assert_eq!(
            cues(&p),
            vec![
                (1.0, 2.0, Some("Ann"), "Hi Bob."),
                (1.0, 2.0, Some("Bob"), "Hi Ann!"),
                (2.0, 3.0, Some("Bob"), "and on"),
            ]
        );
    }

    #[test]
    fn speaker_prefix_without_voice() {
        let p = parse_vtt("WEBVTT\n\n00:01.000 --> 00:02.000\nTravis: hello\n");
        assert_eq!(p.segments[0].speaker.as_deref(), Some("Travis"));
        assert_eq!(p.segments[0].text, "hello");
    }

    #[test]
    fn lenient_without_header() {
        let p = parse_vtt("00:01.000 --> 00:02.000\nhi\n");
        assert_eq!(p.segments.len(), 1);
    }

    /// A podcast editor's export: the first minute's cues carry seconds alone, then `M:SS`;
    /// none may be lost (they were: every cue before the first `M:SS` was dropped). A cue
    /// still refused counts in the parse's `skipped`.
    #[test]
    fn seconds_only_and_one_digit_minutes_are_kept() {
        let p = parse_vtt(
            "WEBVTT\n\n1\n0.860 --> 7.380\nWelcome to the show.\n\n2\n7.380 --> 56.440\nToday, budgets.\n\n3\n56.440 --> 1:01.080\nFirst, the numbers.\n\n4\n1:01.080 --> 10:02.5\nrefused: a two-digit fraction\n\n5\n10:02.500 --> 1:00:00,000\nLast.\n",
        );
        assert_eq!(
            cues(&p),
            vec![
                (0.86, 7.38, None, "Welcome to the show."),
                (7.38, 56.44, None, "Today, budgets."),
                (56.44, 61.08, None, "First, the numbers."),
                (602.5, 3600.0, None, "Last."),
            ]
        );
        assert_eq!(p.skipped, 1, "the refused cue is counted");
    }
}
