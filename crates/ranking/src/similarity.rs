//! All pairs of unit vectors with cosine ≥ a threshold: the naive double loop (the baseline)
//! and a blocked matrix multiply (candle's gemm kernels) that 10,000 candidates need.

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// How [`similar_pairs`] computes the similarities; both give the same pairs up to float
/// rounding at the threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimilarityMethod {
    /// One dot product per pair, in a double loop.
    BruteForce,
    /// Row blocks of the matrix against the rest, as matrix products.
    #[default]
    Blocked,
}

/// Rows per block: a 512 × n block of similarities stays small (20 MB at n = 10,000).
const BLOCK: usize = 512;

/// Pairs `(a, b)`, `a < b`, whose dot product is ≥ `threshold`, sorted. The vectors must all
/// have one length (unit length for the dot product to be the cosine).
pub fn similar_pairs(
    vectors: &[Vec<f32>],
    threshold: f32,
    method: SimilarityMethod,
) -> Vec<(usize, usize)> {
    match method {
        SimilarityMethod::BruteForce => brute_force(vectors, threshold),
        SimilarityMethod::Blocked => blocked(vectors, threshold).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "blocked similarity failed; using the brute-force loop");
            brute_force(vectors, threshold)
        }),
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn brute_force(vectors: &[Vec<f32>], threshold: f32) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for i in 0..vectors.len() {
        for j in i + 1..vectors.len() {
            if dot(&vectors[i], &vectors[j]) >= threshold {
                out.push((i, j));
            }
        }
    }
    out
}

fn blocked(vectors: &[Vec<f32>], threshold: f32) -> candle_core::Result<Vec<(usize, usize)>> {
    let n = vectors.len();
    let Some(d) = vectors.first().map(Vec::len) else {
        return Ok(Vec::new());
    };
    if d == 0 || vectors.iter().any(|v| v.len() != d) {
        candle_core::bail!("vectors of different lengths");
    }
    let flat: Vec<f32> = vectors.iter().flatten().copied().collect();
    let all = Tensor::from_vec(flat, (n, d), &Device::Cpu)?;
    let mut out = Vec::new();
    for start in (0..n).step_by(BLOCK) {
        let rows = BLOCK.min(n - start);
        // Only the upper triangle is needed: this block against itself and everything after.
        let block = all.narrow(0, start, rows)?;
        let rest = all.narrow(0, start, n - start)?;
        let sims = block.matmul(&rest.t()?)?.to_vec2::<f32>()?;
        for (r, row) in sims.iter().enumerate() {
            for (c, &s) in row.iter().enumerate().skip(r + 1) {
                if s >= threshold {
                    out.push((start + r, start + c));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        crate::embed::normalized(v)
    }

    #[test]
    fn both_methods_find_the_same_pairs() {
        // Pseudo-random but fixed vectors, with planted near-copies.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let mut vs: Vec<Vec<f32>> = (0..1100)
            .map(|_| unit((0..16).map(|_| next()).collect()))
            .collect();
        for k in 0..50 {
            let mut copy = vs[k * 7].clone();
            copy[0] += 0.05;
            vs[600 + k * 9] = unit(copy);
        }
        let a = similar_pairs(&vs, 0.97, SimilarityMethod::BruteForce);
        let b = similar_pairs(&vs, 0.97, SimilarityMethod::Blocked);
        assert!(a.len() >= 50, "planted pairs found: {}", a.len());
        assert_eq!(a, b);
        assert!(a.contains(&(7, 609)));
    }

    #[test]
    fn empty_and_single_inputs() {
        assert!(similar_pairs(&[], 0.5, SimilarityMethod::Blocked).is_empty());
        let one = vec![vec![1.0, 0.0]];
        assert!(similar_pairs(&one, 0.5, SimilarityMethod::Blocked).is_empty());
    }
}
