//! Timestamp parsing and formatting.

/// Largest timestamp accepted, in seconds (1,000 hours): anything beyond is garbage.
pub(crate) const MAX_SECONDS: f64 = 3_600_000.0;

/// Parses a WebVTT timestamp at the start of `s` following the WebVTT parsing rules:
/// `[hh:]mm:ss.ttt` where hours are one or more digits, minutes and seconds exactly two
/// digits (≤ 59) and the fraction exactly three digits, and also `m:ss.ttt` and `ss.ttt`
/// (seconds alone, any number of them); like vtt.js, `hhh:mm.ttt` with a
/// first field above 59 reads as hours and minutes. A `,` is accepted in place of the
/// `.` (SRT-style files served as VTT are common). Returns seconds and the bytes consumed.
pub(crate) fn parse_vtt_timestamp(s: &str) -> Option<(f64, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| -> Option<(u64, usize)> {
        let start = *i;
        let mut v: u64 = 0;
        while *i < b.len() && b[*i].is_ascii_digit() {
            v = v.checked_mul(10)?.checked_add(u64::from(b[*i] - b'0'))?;
            *i += 1;
            if *i - start > 10 {
                return None;
            }
        }
        (*i > start).then_some((v, *i - start))
    };
    let (v1, _) = digits(&mut i)?;
    if matches!(b.get(i), Some(b'.') | Some(b',')) {
        // `SS.mmm`: seconds alone, as podcast editors export the first minute
        // (`0.860 --> 7.380`, then `56.440 --> 1:01.080`). Not in the spec; vtt.js drops
        // these cues, which loses the start of such transcripts.
        i += 1;
        let (frac, nf) = digits(&mut i)?;
        if nf != 3 {
            return None;
        }
        let total = v1 as f64 + frac as f64 / 1000.0;
        return (total <= MAX_SECONDS).then_some((total, i));
    }
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    let (v2, n2) = digits(&mut i)?;
    if n2 != 2 {
        return None;
    }
    let (h, m, sec);
    if b.get(i) == Some(&b':') {
        i += 1;
        let (v3, n3) = digits(&mut i)?;
        if n3 != 2 {
            return None;
        }
        (h, m, sec) = (v1, v2, v3);
    } else if v1 > 59 {
        // `120:10.000`: vtt.js reads a large first field without a third one as
        // hours:minutes.
        (h, m, sec) = (v1, v2, 0);
    } else {
        (h, m, sec) = (0, v1, v2);
    }
    if !matches!(b.get(i), Some(b'.') | Some(b',')) {
        return None;
    }
    i += 1;
    let (frac, nf) = digits(&mut i)?;
    if nf != 3 || m > 59 || sec > 59 {
        return None;
    }
    let total = h as f64 * 3600.0 + m as f64 * 60.0 + sec as f64 + frac as f64 / 1000.0;
    (total <= MAX_SECONDS).then_some((total, i))
}

/// Lenient clock parser for SRT, HTML and text: `h:mm:ss,mmm`, `hh:mm:ss.mmm`, `mm:ss`,
/// `h:mm:ss`, `ss.mmm`, with any number of fraction digits. Whitespace around is ignored.
pub(crate) fn parse_clock(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 24 {
        return None;
    }
    let (whole, frac) = match s.find(['.', ',']) {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let parts: Vec<&str> = whole.split(':').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) || p.len() > 7)
    {
        return None;
    }
    let nums: Vec<f64> = parts
        .iter()
        .filter_map(|p| p.parse::<u32>().ok())
        .map(f64::from)
        .collect();
    if nums.len() != parts.len() {
        return None;
    }
    // Minutes and seconds after the first component must be below 60.
    if nums.iter().skip(1).any(|&v| v >= 60.0) {
        return None;
    }
    let mut total = nums.iter().fold(0.0, |acc, v| acc * 60.0 + v);
    if let Some(f) = frac {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let v: f64 = f.parse::<u32>().ok()?.into();
        total += v / 10f64.powi(f.len() as i32);
    }
    (total <= MAX_SECONDS).then_some(total)
}

/// For each start, the first later start that is strictly greater (the natural end of a
/// segment whose file gives no end time). Monotonic stack: O(n) even when many starts
/// are equal.
pub(crate) fn next_later_starts(starts: &[f64]) -> Vec<Option<f64>> {
    let mut out = vec![None; starts.len()];
    let mut stack: Vec<f64> = Vec::new();
    for (k, &s) in starts.iter().enumerate().rev() {
        while stack.last().is_some_and(|&top| top <= s) {
            stack.pop();
        }
        out[k] = stack.last().copied();
        stack.push(s);
    }
    out
}

/// Splits seconds into whole hours, minutes, seconds and milliseconds (rounded).
fn split(seconds: f64) -> (u64, u64, u64, u64) {
    let ms = if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0).round() as u64
    } else {
        0
    };
    (
        ms / 3_600_000,
        (ms / 60_000) % 60,
        (ms / 1000) % 60,
        ms % 1000,
    )
}

/// `hh:mm:ss,mmm` (SRT).
pub(crate) fn format_srt(seconds: f64) -> String {
    let (h, m, s, ms) = split(seconds);
    format!("{h:02}:{m:02}:{s:02},{ms:03}")
}

/// `hh:mm:ss.mmm` (WebVTT).
pub(crate) fn format_vtt(seconds: f64) -> String {
    let (h, m, s, ms) = split(seconds);
    format!("{h:02}:{m:02}:{s:02}.{ms:03}")
}

/// `hh:mm:ss` (plain text stamps).
pub(crate) fn format_hms(seconds: f64) -> String {
    let (h, m, s, _) = split(seconds);
    format!("{h:02}:{m:02}:{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vtt_timestamps() {
        assert_eq!(parse_vtt_timestamp("00:01.500 -->"), Some((1.5, 9)));
        assert_eq!(parse_vtt_timestamp("01:02:03.004"), Some((3723.004, 12)));
        assert_eq!(parse_vtt_timestamp("123:00:00.000"), Some((442800.0, 13)));
        assert_eq!(parse_vtt_timestamp("00:00:01,000"), Some((1.0, 12)));
        assert_eq!(parse_vtt_timestamp("0:01.000"), Some((1.0, 8)));
        assert_eq!(parse_vtt_timestamp("120:10.000"), Some((432600.0, 10)));
        assert_eq!(parse_vtt_timestamp("00:60.000"), None);
        assert_eq!(parse_vtt_timestamp("00:01.00"), None);
        assert_eq!(parse_vtt_timestamp("00:01"), None);
        // Seconds alone and a one-digit minute, as a podcast editor exports them.
        assert_eq!(parse_vtt_timestamp("0.860 -->"), Some((0.86, 5)));
        assert_eq!(parse_vtt_timestamp("56.440"), Some((56.44, 6)));
        assert_eq!(parse_vtt_timestamp("1:01.080"), Some((61.08, 8)));
        assert_eq!(parse_vtt_timestamp("7,380"), Some((7.38, 5)));
        assert_eq!(parse_vtt_timestamp("7.38"), None);
        assert_eq!(parse_vtt_timestamp("7"), None);
    }

    #[test]
    fn clocks() {
        assert_eq!(parse_clock("00:00:04,799"), Some(4.799));
        assert_eq!(parse_clock("0:53"), Some(53.0));
        assert_eq!(parse_clock("1:02:03"), Some(3723.0));
        assert_eq!(parse_clock("12.5"), Some(12.5));
        assert_eq!(parse_clock("00:00:01"), Some(1.0));
        assert_eq!(parse_clock("ab:cd"), None);
        assert_eq!(parse_clock("1:99"), None);
        assert_eq!(parse_clock(""), None);
        assert_eq!(parse_clock("9999999:00:00"), None);
    }

    #[test]
    fn next_later() {
        assert_eq!(
            next_later_starts(&[1.0, 1.0, 0.5, 3.0, 2.0]),
            vec![Some(3.0), Some(3.0), Some(3.0), None, None]
        );
        assert!(next_later_starts(&[]).is_empty());
    }

    #[test]
    fn formatting() {
        assert_eq!(format_srt(3723.0045), "01:02:03,005");
        assert_eq!(format_vtt(4.799), "00:00:04.799");
        assert_eq!(format_hms(62.9), "00:01:02");
        assert_eq!(format_srt(f64::NAN), "00:00:00,000");
    }
}
