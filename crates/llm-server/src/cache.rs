//! The prompt cache's bookkeeping: which tokens the KV cache holds, how they were decoded, and
//! how much of a new prompt can be kept.
//!
//! llama.cpp's numbers depend on how tokens are batched (its CPU and GPU kernels differ by batch
//! size: tiled or not, matrix or vector), so a kept prefix must have been computed exactly as a
//! fresh run of the new prompt would compute it. Every prompt is therefore decoded in a layout
//! that depends on the prompt alone ([`layout`]): a segment per chat message, each cut into
//! batches from its start. A new prompt keeps the leading chunks of its layout that the cache
//! holds as the same chunks of the same tokens; answer tokens (decoded one at a time) are never
//! reused. Greedy output is then identical with and without the cache, and a shared system
//! message (or any run of identical leading messages) is read once.

use std::ops::Range;

use llama_cpp_2::token::LlamaToken;

/// The chunks a prompt of `len` tokens is decoded in: segments end at `ends` (the token
/// positions where chat messages end; others are ignored), and each segment is cut into chunks
/// of `batch` tokens from its start.
pub fn layout(len: usize, ends: &[usize], batch: usize) -> Vec<Range<usize>> {
    let batch = batch.max(1);
    let mut cuts: Vec<usize> = ends.iter().copied().filter(|&e| e > 0 && e < len).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.push(len);
    let mut chunks = Vec::new();
    let mut start = 0;
    for end in cuts {
        while start < end {
            let stop = (start + batch).min(end);
            chunks.push(start..stop);
            start = stop;
        }
    }
    chunks
}

/// What the KV cache of sequence 0 holds, at positions `0..tokens.len()`.
#[derive(Debug, Default)]
pub struct PromptCache {
    tokens: Vec<LlamaToken>,
    /// The prompt chunks `tokens` starts with, in order, contiguous from 0.
    chunks: Vec<Range<usize>>,
}

impl PromptCache {
    /// Leading tokens of a prompt (`tokens`, decoded in `layout`) whose KV entries can be kept:
    /// the chunks it shares with the cache (same range, same tokens up to their end), short of
    /// the whole prompt so that at least its last chunk is decoded and logits exist.
    pub fn reusable(&self, tokens: &[LlamaToken], layout: &[Range<usize>]) -> usize {
        let common = common_prefix(&self.tokens, tokens).min(tokens.len().saturating_sub(1));
        self.chunks
            .iter()
            .zip(layout)
            .take_while(|(held, wanted)| held == wanted && wanted.end <= common)
            .last()
            .map_or(0, |(_, wanted)| wanted.end)
    }

    /// Forgets everything after the first `keep` tokens (a chunk boundary).
    pub fn truncate(&mut self, keep: usize) {
        self.tokens.truncate(keep);
        self.chunks.retain(|c| c.end <= keep);
    }

    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Records a decoded prompt chunk (the next positions after those held).
    pub fn push_chunk(&mut self, range: Range<usize>, tokens: &[LlamaToken]) {
        if range.start == self.tokens.len()
            && self.chunks.last().map_or(0, |c| c.end) == range.start
        {
            self.chunks.push(range);
        }
        self.tokens.extend_from_slice(tokens);
    }

    /// Records a decoded answer token (never reused as a prompt chunk).
    pub fn push_token(&mut self, token: LlamaToken) {
        self.tokens.push(token);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.tokens.len()
    }
}

/// Length of the longest common prefix of two token lists.
fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[i32]) -> Vec<LlamaToken> {
        v.iter().map(|&i| LlamaToken::new(i)).collect()
    }

    #[test]
    fn layout_cuts_segments_into_batches() {
        assert_eq!(layout(10, &[], 4), vec![0..4, 4..8, 8..10]);
        assert_eq!(layout(10, &[3, 0, 10, 3], 4), vec![0..3, 3..7, 7..10]);
        assert_eq!(layout(3, &[5], 4), vec![0..3]);
        assert_eq!(layout(0, &[], 4), Vec::<Range<usize>>::new());
    }

    #[test]
    fn common_prefix_counts_equal_leading_tokens() {
        assert_eq!(common_prefix(&t(&[1, 2, 3, 4]), &t(&[1, 2, 9, 4])), 2);
        assert_eq!(common_prefix(&t(&[1, 2]), &t(&[1, 2, 3])), 2);
        assert_eq!(common_prefix(&t(&[]), &t(&[1])), 0);
    }

    #[test]
    fn keeps_shared_whole_chunks_only() {
        let mut cache = PromptCache::default();
        // First prompt: a 3-token system message, then 5 more tokens, batches of 4.
        let first = t(&[1, 2, 3, 10, 11, 12, 13, 14]);
        let first_layout = layout(first.len(), &[3], 4);
        for r in &first_layout {
            cache.push_chunk(r.clone(), &first[r.clone()]);
        }
        cache.push_token(LlamaToken::new(99)); // an answer token
        // Same system message, another user message: the system chunk is kept.
        let second = t(&[1, 2, 3, 20, 21]);
        assert_eq!(cache.reusable(&second, &layout(5, &[3], 4)), 3);
        // The same prompt again: all chunks but the last.
        assert_eq!(cache.reusable(&first, &first_layout), 7);
        // Tokens shared into the middle of a chunk do not count.
        let third = t(&[1, 2, 3, 10, 11, 50]);
        assert_eq!(cache.reusable(&third, &layout(6, &[3], 4)), 3);
        // Another layout of the same tokens (no message boundary) shares nothing.
        assert_eq!(cache.reusable(&second, &layout(5, &[], 4)), 0);
        // An answer the new prompt repeats is not a chunk: not kept.
        let with_answer = t(&[1, 2, 3, 10, 11, 12, 13, 14, 99, 5]);
        assert_eq!(cache.reusable(&with_answer, &layout(10, &[3, 9], 4)), 7);
        cache.truncate(3);
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.reusable(&second, &layout(5, &[3], 4)), 3);
        cache.clear();
        assert_eq!(cache.reusable(&second, &layout(5, &[3], 4)), 0);
    }
}
