//! Parallel lanes: a piece of audio cut at pauses into parts that whisper transcribes side by
//! side, each part on its own whisper state with its share of the threads.
//!
//! Why: ggml's worker threads meet at a barrier after every operation of the graph, and the
//! decoder runs one small graph per token, so two threads on one part spend much of their time
//! waiting for each other. Two parts on one thread each kept both cores busy and beat one part
//! on two threads by about a third here (BENCHMARKS.md, issue 17). The cost: a part after the
//! first does not see the text before it as context, and each lane holds its own state.

use crate::audio::SAMPLE_RATE;
use crate::chunk::quietest_cut;

/// A part shorter than this gets no lane of its own: each part pays at least one 30-s window
/// of the encoder, and loses the text before it as context.
pub const MIN_LANE_SECS: f64 = 60.0;
/// Most lanes chosen on their own (`[asr] lanes = 0`): each holds a whisper state (tens to
/// hundreds of MB by model), and past a few lanes a part is too short to gain.
pub const MAX_AUTO_LANES: usize = 4;
/// How far a cut may move from an even split to find a pause.
const CUT_SEARCH_SECS: u32 = 10;

/// How a transcription uses its threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanePlan {
    pub lanes: usize,
    pub threads_per_lane: usize,
}

/// `threads` in all (at least one); `configured` lanes (0: as many as threads, at most
/// [`MAX_AUTO_LANES`]). Threads are shared evenly; a lane never has none.
pub fn plan(threads: usize, configured: usize) -> LanePlan {
    let threads = threads.max(1);
    let lanes = if configured > 0 {
        configured.min(threads)
    } else {
        threads.min(MAX_AUTO_LANES)
    };
    LanePlan {
        lanes,
        threads_per_lane: (threads / lanes).max(1),
    }
}

/// Where each part starts (the first at 0): at most `lanes` parts of about equal length, none
/// shorter than [`MIN_LANE_SECS`], each cut at the quietest 100 ms near an even split so no
/// word is cut in two.
pub fn cuts(samples: &[f32], lanes: usize) -> Vec<usize> {
    let min_part = (MIN_LANE_SECS * f64::from(SAMPLE_RATE)) as usize;
    let lanes = lanes.clamp(1, (samples.len() / min_part).max(1));
    let search = (CUT_SEARCH_SECS * SAMPLE_RATE) as usize;
    let mut starts = vec![0];
    for i in 1..lanes {
        let even = samples.len() * i / lanes;
        let window_end = (even + search / 2).min(samples.len());
        let cut = quietest_cut(&samples[..window_end], search);
        if let Some(&last) = starts.last()
            && cut > last
            && cut < samples.len()
        {
            starts.push(cut);
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_shared_among_lanes() {
        assert_eq!(
            plan(2, 0),
            LanePlan {
                lanes: 2,
                threads_per_lane: 1
            }
        );
        assert_eq!(
            plan(8, 0),
            LanePlan {
                lanes: 4,
                threads_per_lane: 2
            }
        );
        assert_eq!(
            plan(1, 0),
            LanePlan {
                lanes: 1,
                threads_per_lane: 1
            }
        );
        assert_eq!(
            plan(4, 1),
            LanePlan {
                lanes: 1,
                threads_per_lane: 4
            }
        );
        assert_eq!(
            plan(2, 3),
            LanePlan {
                lanes: 2,
                threads_per_lane: 1
            }
        );
        assert_eq!(
            plan(0, 0),
            LanePlan {
                lanes: 1,
                threads_per_lane: 1
            }
        );
    }

    #[test]
    fn parts_are_cut_at_a_pause_and_never_too_short() {
        let sr = SAMPLE_RATE as usize;
        // 150 s of "speech" with a pause at 73.0–73.5 s.
        let mut audio: Vec<f32> = (0..150 * sr).map(|i| ((i as f32) * 0.05).sin()).collect();
        for s in &mut audio[73 * sr..73 * sr + sr / 2] {
            *s = 0.0;
        }
        let got = cuts(&audio, 2);
        assert_eq!(got.len(), 2);
        assert!(
            got[1] > 73 * sr && got[1] < 73 * sr + sr / 2,
            "cut at {}",
            got[1]
        );
        // Four lanes asked, but 150 s holds only two parts of 60 s.
        assert_eq!(cuts(&audio, 4).len(), 2);
        // Too short for two lanes.
        assert_eq!(cuts(&audio[..100 * sr], 2), vec![0]);
        assert_eq!(cuts(&[], 2), vec![0]);
    }
}
