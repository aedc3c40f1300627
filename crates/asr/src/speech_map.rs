//! The audio handed to whisper when the VAD is on: the speech regions, padded and merged,
//! with short silences between them, and the map from times in that audio back to the
//! episode's.

/// Speech regions closer than this are kept as one region (a natural pause stays in).
const VAD_MERGE_GAP: f64 = 1.0;
/// Audio kept around each region so no word is clipped.
const VAD_PAD: f64 = 0.2;
/// Silence put between regions in the audio handed to whisper.
const VAD_SEPARATOR: f64 = 0.3;

/// Where each kept region sits in the filtered audio and in the original.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpeechMap {
    /// (start in the filtered audio, start in the original, length), in seconds.
    pieces: Vec<(f64, f64, f64)>,
}

impl SpeechMap {
    /// Original time of a segment start in the filtered audio. A start that falls in the
    /// silence between two regions belongs to the next one (whisper often starts a segment
    /// where the previous one ended).
    pub fn start_to_original(&self, t: f64) -> f64 {
        self.map(t, true)
    }

    /// Original time of a segment end; an end in the silence belongs to the previous region.
    pub fn end_to_original(&self, t: f64) -> f64 {
        self.map(t, false)
    }

    fn map(&self, t: f64, forward: bool) -> f64 {
        if self.pieces.is_empty() {
            return t;
        }
        let i = self
            .pieces
            .iter()
            .rposition(|(fs, _, _)| *fs <= t)
            .unwrap_or(0);
        let (fs, os, len) = self.pieces[i];
        if t > fs + len
            && forward
            && let Some(next) = self.pieces.get(i + 1)
        {
            return next.1;
        }
        os + (t - fs).clamp(0.0, len)
    }
}

/// Speech regions (seconds) → merged, padded regions and the filtered audio with its map.
pub fn build_speech_audio(
    samples: &[f32],
    regions: &[(f64, f64)],
    rate: f64,
) -> (Vec<f32>, SpeechMap) {
    let total = samples.len() as f64 / rate;
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for &(start, end) in regions {
        let (start, end) = ((start - VAD_PAD).max(0.0), (end + VAD_PAD).min(total));
        if end <= start {
            continue;
        }
        match merged.last_mut() {
            Some(last) if start - last.1 <= VAD_MERGE_GAP => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut out = Vec::new();
    let mut map = SpeechMap::default();
    let gap = vec![0.0f32; (VAD_SEPARATOR * rate).round() as usize];
    for (i, (start, end)) in merged.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(&gap);
        }
        let a = ((start * rate).round() as usize).min(samples.len());
        let b = ((end * rate).round() as usize).clamp(a, samples.len());
        map.pieces.push((
            out.len() as f64 / rate,
            a as f64 / rate,
            (b - a) as f64 / rate,
        ));
        out.extend_from_slice(&samples[a..b]);
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_map_round_trips_kept_regions() {
        let rate = 100.0;
        let samples: Vec<f32> = (0..10_000).map(|i| i as f32).collect(); // 100 s
        // Two regions 40 s apart, and a third 0.5 s after the second (merged with it).
        let (audio, map) =
            build_speech_audio(&samples, &[(10.0, 12.0), (52.0, 55.0), (55.5, 57.0)], rate);
        // 2.4 s + 0.3 s gap + 5.4 s (52-0.2 .. 57+0.2)
        assert_eq!(audio.len(), 240 + 30 + 540);
        assert_eq!(map.pieces.len(), 2);
        // A time in the second piece maps into the original at the same audio sample.
        let t = 2.7 + 1.0;
        let orig = map.start_to_original(t);
        assert!((orig - 52.8).abs() < 1e-9, "{orig}");
        assert_eq!(
            audio[(t * rate) as usize],
            samples[(orig * rate).round() as usize]
        );
        // A start in the separator belongs to the next piece, an end to the previous one.
        assert!((map.start_to_original(2.5) - 51.8).abs() < 1e-9);
        assert!((map.end_to_original(2.5) - 12.2).abs() < 1e-9);
        assert_eq!(map.start_to_original(0.0), 9.8);
        assert!((map.end_to_original(99.0) - 57.2).abs() < 1e-9);
    }

    #[test]
    fn no_regions_no_audio() {
        let (audio, map) = build_speech_audio(&[0.0; 100], &[], 100.0);
        assert!(audio.is_empty());
        assert_eq!(map.start_to_original(3.0), 3.0);
    }
}
