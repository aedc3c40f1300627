//! Sentence embeddings: the [`Embedder`] port and [`MiniLmEmbedder`], all-MiniLM-L6-v2 run
//! in-process with candle (pure Rust, so it links beside whisper.cpp without symbol clashes).
//!
//! Sentence-transformers' recipe: BERT's last hidden state, mean-pooled over the attention
//! mask, then L2-normalised; the cosine of two embeddings is then their dot product.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::error::RankError;

/// Dimension of all-MiniLM-L6-v2's embeddings.
pub const MINILM_DIM: usize = 384;
/// The model was trained on at most 256 word pieces; longer input is cut there (as
/// sentence-transformers does).
pub const MAX_TOKENS: usize = 256;
/// Sentences per forward pass: big enough to use the matrix kernels well, small enough that
/// one long sentence does not pad many short ones.
const BATCH: usize = 32;

/// The embedding port: texts in, one L2-normalised vector per text out (same order).
pub trait Embedder: Send + Sync {
    /// A stable identifier of the model (stored next to embeddings, so a model change is seen).
    fn model_id(&self) -> &str;
    fn dimension(&self) -> usize;
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RankError>;
}

/// all-MiniLM-L6-v2 (BERT, 6 layers, 384 dimensions) on the CPU.
pub struct MiniLmEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

impl std::fmt::Debug for MiniLmEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmEmbedder").finish_non_exhaustive()
    }
}

/// The three files a model directory must hold.
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

impl MiniLmEmbedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, RankError> {
        let path = |name: &str| -> Result<PathBuf, RankError> {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(RankError::ModelMissing {
                    dir: dir.to_path_buf(),
                    file: name.to_string(),
                })
            }
        };
        let config_path = path("config.json")?;
        let tokenizer_path = path("tokenizer.json")?;
        let weights_path = path("model.safetensors")?;

        let config_text = std::fs::read_to_string(&config_path)
            .map_err(|e| RankError::io("cannot read", &config_path, e))?;
        let config: Config = serde_json::from_str(&config_text)
            .map_err(|e| RankError::model(&config_path, e.to_string()))?;

        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| RankError::model(&tokenizer_path, e.to_string()))?;
        // The shipped tokenizer.json pads every input to a fixed 128 tokens: pad each batch
        // only to its longest member instead (faster, and the mask keeps results identical).
        let pad_id = tokenizer.token_to_id("[PAD]").unwrap_or(0);
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id,
            pad_token: "[PAD]".to_string(),
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| RankError::model(&tokenizer_path, e.to_string()))?;

        let device = Device::Cpu;
        let bytes = std::fs::read(&weights_path)
            .map_err(|e| RankError::io("cannot read", &weights_path, e))?;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, &device)
            .map_err(|e| RankError::model(&weights_path, e.to_string()))?;
        let model = BertModel::load(vb, &config)
            .map_err(|e| RankError::model(&weights_path, e.to_string()))?;
        if config.hidden_size != MINILM_DIM {
            tracing::warn!(
                hidden_size = config.hidden_size,
                "not all-MiniLM-L6-v2's dimension; thresholds were tuned for that model"
            );
        }
        Ok(Self {
            model,
            tokenizer,
            device,
        })
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, RankError> {
        let inputs: Vec<&str> = texts.to_vec();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| RankError::Embed(format!("tokenizer: {e}")))?;
        let n = encodings.len();
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for e in &encodings {
            if e.get_ids().len() != len {
                return Err(RankError::Embed("tokenizer did not pad the batch".into()));
            }
            ids.extend_from_slice(e.get_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::from_vec(ids, (n, len), &self.device)?;
            let mask = Tensor::from_vec(mask, (n, len), &self.device)?;
            let types = ids.zeros_like()?;
            let hidden = self.model.forward(&ids, &types, Some(&mask))?; // (n, len, dim)
            let mask_f = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (n, len, 1)
            let summed = hidden.broadcast_mul(&mask_f)?.sum(1)?; // (n, dim)
            let counts = mask_f.sum(1)?.clamp(1e-9, f32::MAX)?; // (n, 1)
            let mean = summed.broadcast_div(&counts)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f32::MAX)?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        };
        run().map_err(|e| RankError::Embed(e.to_string()))
    }
}

impl Embedder for MiniLmEmbedder {
    fn model_id(&self) -> &str {
        "sentence-transformers/all-MiniLM-L6-v2"
    }

    fn dimension(&self) -> usize {
        MINILM_DIM
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RankError> {
        // Batches of similar length waste little on padding: embed in length order, then put
        // the vectors back in the caller's order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| (texts[i].len(), i));
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = self.embed_batch(&batch)?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}

/// Cosine similarity of two vectors (0 when either is zero or they differ in length).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na <= 0.0 || nb <= 0.0 {
        return 0.0;
    }
    dot / (na.sqrt() * nb.sqrt())
}

/// `v` scaled to unit length (unchanged when it is zero).
pub fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 && n.is_finite() {
        for x in &mut v {
            *x /= n;
        }
    }
    v
}
