//! Cuts the decoded stream into pieces of bounded length, each cut at the quietest moment
//! near the target length so no word is split across two pieces.

use crate::audio::{PcmSource, SAMPLE_RATE};
use crate::error::AsrError;

/// A piece of audio and where it starts in the episode.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Offset of the first sample, in samples from the start of the episode.
    pub offset: u64,
    pub samples: Vec<f32>,
}

impl Chunk {
    pub fn start_secs(&self) -> f64 {
        self.offset as f64 / SAMPLE_RATE as f64
    }
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / SAMPLE_RATE as f64
    }
}

/// Pulls blocks from a [`PcmSource`] and hands out [`Chunk`]s of about `target` samples.
pub struct Chunker {
    source: Box<dyn PcmSource>,
    buf: Vec<f32>,
    offset: u64,
    target: usize,
    /// How far before the target the cut may move to find a pause.
    search: usize,
    eof: bool,
}

/// RMS is measured over 100 ms frames.
const FRAME: usize = SAMPLE_RATE as usize / 10;

impl Chunker {
    pub fn new(source: Box<dyn PcmSource>, target_secs: u32) -> Self {
        let target = (target_secs.max(10) * SAMPLE_RATE) as usize;
        Self {
            source,
            buf: Vec::new(),
            offset: 0,
            target,
            search: (target / 10).clamp(FRAME * 10, SAMPLE_RATE as usize * 20),
            eof: false,
        }
    }

    /// Total samples handed out so far.
    pub fn position(&self) -> u64 {
        self.offset
    }

    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, AsrError> {
        while !self.eof && self.buf.len() <= self.target {
            match self.source.next_block()? {
                Some(block) => self.buf.extend_from_slice(&block),
                None => self.eof = true,
            }
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        let cut = if self.buf.len() <= self.target {
            self.buf.len()
        } else {
            quietest_cut(&self.buf[..self.target], self.search)
        };
        let rest = self.buf.split_off(cut);
        let samples = std::mem::replace(&mut self.buf, rest);
        let chunk = Chunk {
            offset: self.offset,
            samples,
        };
        self.offset += cut as u64;
        Ok(Some(chunk))
    }
}

/// The middle of the quietest 100 ms frame within the last `search` samples of `window`.
pub(crate) fn quietest_cut(window: &[f32], search: usize) -> usize {
    let from = window.len().saturating_sub(search);
    let mut best = (f32::INFINITY, window.len());
    let mut pos = from;
    while pos + FRAME <= window.len() {
        let energy: f32 = window[pos..pos + FRAME].iter().map(|s| s * s).sum();
        if energy < best.0 {
            best = (energy, pos + FRAME / 2);
        }
        pos += FRAME;
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Blocks(Vec<Vec<f32>>);
    impl PcmSource for Blocks {
        fn next_block(&mut self) -> Result<Option<Vec<f32>>, AsrError> {
            Ok(if self.0.is_empty() {
                None
            } else {
                Some(self.0.remove(0))
            })
        }
        fn describe(&self) -> String {
            "test".into()
        }
    }

    #[test]
    fn cuts_at_the_pause_and_loses_no_sample() {
        let sr = SAMPLE_RATE as usize;
        // 25 s of "speech" (a tone) with a silent gap at 9.2–9.7 s, delivered in odd blocks.
        let mut all: Vec<f32> = (0..25 * sr)
            .map(|i| ((i as f32) * 0.05).sin() * 0.5)
            .collect();
        let (gap_start, gap_end) = (9 * sr + sr / 5, 9 * sr + 7 * sr / 10);
        for s in &mut all[gap_start..gap_end] {
            *s = 0.0;
        }
        let blocks: Vec<Vec<f32>> = all.chunks(12_345).map(<[f32]>::to_vec).collect();
        let mut chunker = Chunker::new(Box::new(Blocks(blocks)), 10);
        let mut chunks = Vec::new();
        while let Some(c) = chunker.next_chunk().unwrap() {
            chunks.push(c);
        }
        // The first cut falls inside the gap, not at the 10 s target.
        let first_end = chunks[0].offset as usize + chunks[0].samples.len();
        assert!(
            first_end > gap_start && first_end < gap_end,
            "cut at {first_end}"
        );
        // Offsets are contiguous and every sample is handed out exactly once.
        let mut expect = 0u64;
        let mut joined = Vec::new();
        for c in &chunks {
            assert_eq!(c.offset, expect);
            expect += c.samples.len() as u64;
            joined.extend_from_slice(&c.samples);
            assert!(c.samples.len() <= 10 * sr);
        }
        assert_eq!(joined, all);
    }

    #[test]
    fn short_audio_is_one_chunk() {
        let mut chunker = Chunker::new(Box::new(Blocks(vec![vec![0.1; 1000]])), 300);
        let c = chunker.next_chunk().unwrap().unwrap();
        assert_eq!((c.offset, c.samples.len()), (0, 1000));
        assert!(chunker.next_chunk().unwrap().is_none());
    }
}
