//! The model: loading, prompt formatting, and one generation at a time on a dedicated thread.
//!
//! llama.cpp contexts are not safe to share, so one worker thread owns the only context and
//! takes jobs from a bounded queue: requests are served strictly one at a time, in arrival
//! order (the queue plays the part of a mutex, without holding an async task on a lock).
//!
//! Prompt cache: the worker remembers which tokens the context's KV cache holds (the last
//! request's prompt and the answer tokens it decoded). A new request keeps the leading part
//! it shares with them, removes only the entries after it and decodes the rest, so a system
//! message identical across an episode's windows is read once. Only whole chunks of the
//! prompt layout are kept, never answer tokens, so greedy output is the same as without the
//! cache (see [`crate::cache`]).

use std::num::NonZeroU32;
use std::ops::Range;
use std::path::Path;
use std::sync::mpsc as std_mpsc;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use tokio::sync::oneshot;

use crate::cache::{self, PromptCache};

/// Default tokens per `llama_decode` call while reading the prompt (on 2 CPU cores, 512-token
/// batches read a prompt about 1.6x as fast as 128-token ones).
pub const DEFAULT_BATCH: usize = 512;
/// Chat messages whose ends are looked up as prompt-cache boundaries, at most.
const MAX_SEGMENTS: usize = 16;
/// Jobs waiting for the worker; more are refused with 503 rather than queued without bound.
pub const QUEUE: usize = 32;

/// How the output is constrained.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// Free text.
    None,
    /// A GBNF grammar (from a JSON schema or the generic JSON grammar).
    Grammar(String),
}

/// One chat completion to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// `(role, content)` in order.
    pub messages: Vec<(String, String)>,
    /// Completion tokens at most; `None`: until the context is full.
    pub max_tokens: Option<u32>,
    /// `<= 0`: greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub seed: u32,
    pub stop: Vec<String>,
    pub constraint: Constraint,
}

/// Why generation stopped, in OpenAI's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Stop,
    Length,
}

impl Finish {
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
        }
    }
}

/// The result of a job.
#[derive(Debug, Clone)]
pub struct Output {
    pub content: String,
    pub finish: Finish,
    pub prompt_tokens: usize,
    /// Prompt tokens whose KV entries were kept from the previous request (not decoded again).
    pub cached_tokens: usize,
    pub completion_tokens: usize,
    /// Time spent reading the prompt, and generating.
    pub prompt_secs: f64,
    pub gen_secs: f64,
}

/// Errors of one job.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The request cannot be served as asked (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// llama.cpp failed (HTTP 500).
    #[error("inference failed: {0}")]
    Internal(String),
    /// The queue is full or the worker is gone (HTTP 503, retryable).
    #[error("the server is busy (request queue full) or shutting down; retry later")]
    Busy,
}

/// Errors of loading the model.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("llama.cpp backend: {0}")]
    Backend(String),
    #[error("cannot load model {path}: {reason}")]
    Model { path: String, reason: String },
    #[error("cannot create a context of {ctx} tokens: {reason}")]
    Context { ctx: u32, reason: String },
}

/// A loaded model with its worker thread.
pub struct Engine {
    tx: std_mpsc::SyncSender<(Job, oneshot::Sender<Result<Output, JobError>>)>,
    /// Context size in tokens.
    pub n_ctx: u32,
    /// Model name shown by `/v1/models` (the file stem).
    pub name: String,
}

/// How the model is loaded and run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// CPU threads (at least 1).
    pub threads: usize,
    /// Context size in tokens; capped at the model's training context.
    pub ctx: u32,
    /// Layers offloaded to the GPU (0: CPU only; more than the model has: all of them).
    pub gpu_layers: u32,
    /// Keep the KV cache of the common prompt prefix between requests.
    pub prompt_cache: bool,
    /// Tokens per decode call while reading a prompt (at least 1).
    pub batch: usize,
}

/// Whether this binary was built with a GPU back-end (`--features cuda|metal|vulkan`).
pub const GPU_BUILD: bool = cfg!(any(feature = "cuda", feature = "metal", feature = "vulkan"));

/// Loads `path` and starts the worker.
pub fn load(path: &Path, opts: Options) -> Result<Engine, LoadError> {
    let Options {
        threads,
        ctx,
        gpu_layers,
        prompt_cache,
        batch,
    } = opts;
    let batch = batch.clamp(1, 8192);
    let backend = LlamaBackend::init().map_err(|e| LoadError::Backend(e.to_string()))?;
    let model_params = LlamaModelParams::default().with_n_gpu_layers(gpu_layers);
    let model = LlamaModel::load_from_file(&backend, path, &model_params).map_err(|e| {
        LoadError::Model {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    })?;
    // Backend and model live as long as the process: leaking them gives the worker's context a
    // 'static borrow instead of a self-referential struct.
    let backend: &'static LlamaBackend = Box::leak(Box::new(backend));
    let model: &'static LlamaModel = Box::leak(Box::new(model));

    let train = model.n_ctx_train();
    let n_ctx = if train > 0 { ctx.min(train) } else { ctx }.max(64);
    let threads = i32::try_from(threads.max(1)).unwrap_or(1);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(batch as u32)
        .with_n_ubatch(batch as u32)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let context = model
        .new_context(backend, params)
        .map_err(|e| LoadError::Context {
            ctx: n_ctx,
            reason: e.to_string(),
        })?;
    let n_ctx = context.n_ctx();
    // The model's own template; llama.cpp's built-in renderer recognises the common families.
    // Without one, ChatML (the most common format of small instruct models) is the guess.
    let template = model.chat_template(None).ok().or_else(|| {
        tracing::warn!("the model has no chat template; using chatml");
        LlamaChatTemplate::new("chatml").ok()
    });
    let template = template.ok_or_else(|| LoadError::Model {
        path: path.display().to_string(),
        reason: "no usable chat template".into(),
    })?;

    let (tx, rx) =
        std_mpsc::sync_channel::<(Job, oneshot::Sender<Result<Output, JobError>>)>(QUEUE);
    let worker = Worker {
        model,
        context,
        template,
        cache: prompt_cache.then(PromptCache::default),
        batch,
    };
    std::thread::Builder::new()
        .name("llama-worker".into())
        .spawn(move || worker.run(rx))
        .map_err(|e| LoadError::Backend(format!("cannot start the worker thread: {e}")))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "local".into());
    Ok(Engine { tx, n_ctx, name })
}

impl Engine {
    /// Queues a job and waits for its result.
    pub async fn run(&self, job: Job) -> Result<Output, JobError> {
        let (reply, rx) = oneshot::channel();
        self.tx.try_send((job, reply)).map_err(|_| JobError::Busy)?;
        rx.await.map_err(|_| JobError::Busy)?
    }
}

struct Worker {
    model: &'static LlamaModel,
    context: LlamaContext<'static>,
    template: LlamaChatTemplate,
    /// What the KV cache holds; `None`: the prompt cache is off and every request starts from
    /// an empty cache.
    cache: Option<PromptCache>,
    /// Tokens per decode call while reading a prompt.
    batch: usize,
}

impl Worker {
    fn run(mut self, rx: std_mpsc::Receiver<(Job, oneshot::Sender<Result<Output, JobError>>)>) {
        while let Ok((job, reply)) = rx.recv() {
            if reply.is_closed() {
                continue; // the client went away while queued
            }
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.generate(&job, &reply)
            }))
            .unwrap_or_else(|_| Err(JobError::Internal("the inference code panicked".into())));
            let _ = reply.send(result);
        }
    }

    /// Formats the chat with the model's template.
    fn prompt(&self, messages: &[(String, String)]) -> Result<String, JobError> {
        self.render(messages, true)
    }

    /// Formats `messages`, with the assistant's turn opened or not.
    fn render(&self, messages: &[(String, String)], open_turn: bool) -> Result<String, JobError> {
        let chat = messages
            .iter()
            .map(|(role, content)| LlamaChatMessage::new(role.clone(), content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| JobError::BadRequest(format!("message contains a NUL byte: {e}")))?;
        self.model
            .apply_chat_template(&self.template, &chat, open_turn)
            .map_err(|e| JobError::Internal(format!("chat template: {e}")))
    }

    fn sampling(&self, job: &Job) -> Result<Sampling, JobError> {
        let grammar = match &job.constraint {
            Constraint::Grammar(g) => Some(
                LlamaSampler::grammar(self.model, g, "root")
                    .map_err(|e| JobError::BadRequest(format!("grammar rejected: {e}")))?,
            ),
            Constraint::None => None,
        };
        let chain = if job.temperature <= 0.0 {
            LlamaSampler::greedy()
        } else {
            LlamaSampler::chain_simple([
                LlamaSampler::top_k(40),
                LlamaSampler::top_p(job.top_p.clamp(0.01, 1.0), 1),
                LlamaSampler::min_p(0.05, 1),
                LlamaSampler::temp(job.temperature),
                LlamaSampler::dist(job.seed),
            ])
        };
        Ok(Sampling {
            grammar,
            chain,
            resampled: 0,
        })
    }

    fn generate(
        &mut self,
        job: &Job,
        reply: &oneshot::Sender<Result<Output, JobError>>,
    ) -> Result<Output, JobError> {
        let prompt = self.prompt(&job.messages)?;
        let vocab = self.model.vocab();
        let tokens = vocab.tokenize(prompt.as_bytes(), true, true);
        let n_ctx = self.context.n_ctx() as usize;
        let prompt_tokens = tokens.len();
        if prompt_tokens == 0 {
            return Err(JobError::BadRequest("the prompt is empty".into()));
        }
        // Never truncate silently: the caller must send less.
        if prompt_tokens >= n_ctx {
            return Err(JobError::BadRequest(format!(
                "the prompt is {prompt_tokens} tokens but the context holds {n_ctx}; send a shorter prompt"
            )));
        }
        let room = n_ctx - prompt_tokens;
        let max_tokens = match job.max_tokens {
            Some(m) if m as usize > room => {
                return Err(JobError::BadRequest(format!(
                    "the prompt is {prompt_tokens} tokens and max_tokens is {m}, more than the context of {n_ctx} tokens; lower max_tokens or shorten the prompt"
                )));
            }
            Some(m) => m as usize,
            None => room,
        };
        let mut sampling = self.sampling(job)?;

        let started = std::time::Instant::now();
        let ends = self.message_ends(&job.messages, &prompt, &tokens);
        let layout = cache::layout(prompt_tokens, &ends, self.batch);
        let cached_tokens = self.reuse_prefix(&tokens, &layout);
        let mut batch = LlamaBatch::new(self.batch, 1);
        let last = prompt_tokens - 1;
        // `cached_tokens` ends a chunk: the chunks after it are those a fresh run decodes.
        for range in layout.iter().filter(|r| r.start >= cached_tokens) {
            batch.clear();
            for pos in range.clone() {
                batch
                    .add(tokens[pos], pos as i32, &[0], pos == last)
                    .map_err(|e| JobError::Internal(e.to_string()))?;
            }
            self.decode(
                &mut batch,
                Decoded::Chunk(range.clone(), &tokens[range.clone()]),
            )
            .map_err(|e| JobError::Internal(format!("decoding the prompt: {e}")))?;
            if reply.is_closed() {
                return Err(JobError::Internal("client went away".into()));
            }
        }
        tracing::debug!(
            prompt_tokens,
            cached_tokens,
            decoded = prompt_tokens - cached_tokens,
            "prompt read"
        );

        let prompt_secs = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let mut out: Vec<u8> = Vec::new();
        let mut completion_tokens = 0usize;
        let mut pos = prompt_tokens;
        let mut finish = Finish::Length;
        while completion_tokens < max_tokens {
            let Some(token) = sampling.sample(&self.context, batch.n_tokens() - 1) else {
                return Err(JobError::Internal(
                    "no token satisfies the grammar (the schema may be unsatisfiable)".into(),
                ));
            };
            if vocab.is_eog(token) {
                finish = Finish::Stop;
                break;
            }
            completion_tokens += 1;
            out.extend_from_slice(&vocab.token_to_piece(token, false, None));
            if let Some(cut) = stop_at(&out, &job.stop) {
                out.truncate(cut);
                finish = Finish::Stop;
                break;
            }
            if completion_tokens >= max_tokens || reply.is_closed() {
                break;
            }
            batch.clear();
            batch
                .add(token, pos as i32, &[0], true)
                .map_err(|e| JobError::Internal(e.to_string()))?;
            pos += 1;
            self.decode(&mut batch, Decoded::Answer(token))
                .map_err(|e| JobError::Internal(format!("decoding: {e}")))?;
        }
        tracing::debug!(
            resampled = sampling.resampled,
            completion_tokens,
            "grammar refusals"
        );
        Ok(Output {
            content: String::from_utf8_lossy(&out).into_owned(),
            finish,
            prompt_tokens,
            cached_tokens,
            completion_tokens,
            prompt_secs,
            gen_secs: started.elapsed().as_secs_f64(),
        })
    }

    /// Token positions where the chat's messages end (all but the last), where the prompt
    /// layout starts a new segment. A message end is used only where the template renders the
    /// messages before it as a prefix of the prompt and their tokens as a prefix of its tokens.
    fn message_ends(
        &self,
        messages: &[(String, String)],
        prompt: &str,
        tokens: &[LlamaToken],
    ) -> Vec<usize> {
        let mut ends = Vec::new();
        for i in 0..messages.len().saturating_sub(1).min(MAX_SEGMENTS) {
            let Ok(head) = self.render(&messages[..=i], false) else {
                break;
            };
            if !prompt.starts_with(&head) {
                break;
            }
            let head = self.model.vocab().tokenize(head.as_bytes(), true, true);
            if head.len() < tokens.len() && tokens.starts_with(&head) {
                ends.push(head.len());
            }
        }
        ends
    }

    /// Prepares the KV cache for a prompt of `tokens` decoded in `layout` and returns how many
    /// of them it already holds ([`PromptCache::reusable`]). Removes every entry after those;
    /// if llama.cpp cannot remove part of a sequence, clears the whole cache.
    fn reuse_prefix(&mut self, tokens: &[LlamaToken], layout: &[Range<usize>]) -> usize {
        let Some(cache) = self.cache.as_mut() else {
            self.context.clear_kv_cache();
            return 0;
        };
        let keep = cache.reusable(tokens, layout);
        let removed = u32::try_from(keep).ok().and_then(|p0| {
            self.context
                .clear_kv_cache_seq(Some(0), Some(p0), None)
                .ok()
                .filter(|ok| *ok)
        });
        if removed.is_some() {
            cache.truncate(keep);
            keep
        } else {
            tracing::debug!(keep, "cannot remove part of the KV cache; clearing it");
            self.context.clear_kv_cache();
            cache.clear();
            0
        }
    }

    /// Decodes `batch` and records what it held as cached. On failure the cache's content is
    /// unknown: it is cleared.
    fn decode(
        &mut self,
        batch: &mut LlamaBatch,
        held: Decoded<'_>,
    ) -> Result<(), llama_cpp_2::DecodeError> {
        let result = self.context.decode(batch);
        let Some(cache) = self.cache.as_mut() else {
            return result;
        };
        match (&result, held) {
            (Ok(()), Decoded::Chunk(range, tokens)) => cache.push_chunk(range, tokens),
            (Ok(()), Decoded::Answer(token)) => cache.push_token(token),
            (Err(_), _) => {
                self.context.clear_kv_cache();
                cache.clear();
            }
        }
        result
    }
}

/// What a decode call held.
enum Decoded<'a> {
    /// A chunk of the prompt layout.
    Chunk(Range<usize>, &'a [LlamaToken]),
    /// One answer token.
    Answer(LlamaToken),
}

/// Token selection: the sampling chain, checked against an optional grammar.
struct Sampling {
    grammar: Option<LlamaSampler>,
    chain: LlamaSampler,
    /// Tokens the grammar refused (each costs a pass over the whole vocabulary).
    resampled: usize,
}

impl Sampling {
    /// Picks the next token from the logits of batch row `idx` and accepts it.
    ///
    /// As llama.cpp's own `common_sampler_sample` does, the grammar is first asked only about
    /// the token the chain picked; only when it refuses is the grammar applied to the whole
    /// vocabulary (expensive: it walks every token through the grammar's parser stacks), then
    /// the chain again. Applying it to every token each step made generic JSON about 20x
    /// slower on SmolLM2.
    fn sample(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> Option<LlamaToken> {
        let mut candidates = ctx.token_data_array_ith(idx);
        candidates.apply_sampler(&mut self.chain);
        let mut token = candidates.selected_token();
        if let Some(grammar) = &mut self.grammar {
            let allowed = token.is_some_and(|t| {
                let mut one =
                    LlamaTokenDataArray::new(vec![LlamaTokenData::new(t, 1.0, 0.0)], false);
                one.apply_sampler(grammar);
                one.data.first().is_some_and(|d| d.logit().is_finite())
            });
            if !allowed {
                self.resampled += 1;
                let mut candidates = ctx.token_data_array_ith(idx);
                candidates.apply_sampler(grammar);
                if candidates.data.iter().all(|d| !d.logit().is_finite()) {
                    return None;
                }
                candidates.apply_sampler(&mut self.chain);
                token = candidates.selected_token();
            }
            if let Some(t) = token {
                grammar.accept(t);
            }
        }
        if let Some(t) = token {
            self.chain.accept(t);
        }
        token
    }
}

/// Byte offset of the first stop string in `out`, if any.
fn stop_at(out: &[u8], stop: &[String]) -> Option<usize> {
    stop.iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| out.windows(s.len()).position(|w| w == s.as_bytes()))
        .min()
}

/// Whether the worker accepted the grammar for `schema`: converts a JSON schema to GBNF.
pub fn schema_grammar(schema: &serde_json::Value) -> Result<String, JobError> {
    let mut schema = schema.clone();
    bound_strings(&mut schema);
    let text = serde_json::to_string(&schema)
        .map_err(|e| JobError::BadRequest(format!("json_schema: {e}")))?;
    let grammar = llama_cpp_2::json_schema_to_grammar(&text)
        .map_err(|e| JobError::BadRequest(format!("unsupported json_schema: {e}")))?;
    Ok(compact_space(&grammar))
}

/// Longest string a schema string may be when it sets no `maxLength` (characters).
pub const MAX_STRING_CHARS: u64 = 800;

/// Gives every `"type": "string"` without a `maxLength` one of [`MAX_STRING_CHARS`]: a small
/// model that loops inside a string ("Axel Axel Axel …") then closes it and the JSON instead
/// of spending the whole answer budget and returning JSON cut in half.
fn bound_strings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            let is_string = match map.get("type") {
                Some(serde_json::Value::String(t)) => t == "string",
                Some(serde_json::Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            if is_string && !map.contains_key("maxLength") && !map.contains_key("enum") {
                map.insert("maxLength".into(), MAX_STRING_CHARS.into());
            }
            for child in map.values_mut() {
                bound_strings(child);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(bound_strings),
        _ => {}
    }
}

/// llama.cpp's JSON grammar lets a newline and up to 20 spaces stand between any two tokens
/// of the answer; small models fill their whole budget with indentation that way. One space at
/// most: the same JSON, compact.
fn compact_space(grammar: &str) -> String {
    grammar
        .lines()
        .map(|line| {
            if line.starts_with("space ::=") {
                "space ::= | \" \""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_schemas_become_grammars() {
        let g = schema_grammar(&serde_json::json!({
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"]
        }))
        .unwrap();
        assert!(g.contains("root ::="), "{g}");
        assert!(g.contains("\\\"n\\\""), "{g}");
        // Compact JSON: no newline or indentation between tokens.
        assert!(g.lines().any(|l| l == "space ::= | \" \""), "{g}");
        // An unbounded string gets a bound; a bounded one keeps its own.
        let s = schema_grammar(&serde_json::json!({
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string", "maxLength": 5}},
            "required": ["a", "b"]
        }))
        .unwrap();
        assert!(s.contains("{0,800}"), "{s}");
        assert!(s.contains("{0,5}"), "{s}");
        // A reference to nowhere is refused, not passed to the sampler.
        let bad = schema_grammar(&serde_json::json!({"$ref": "#/definitions/missing"}));
        assert!(matches!(bad, Err(JobError::BadRequest(_))), "{bad:?}");
    }

    #[test]
    fn stop_strings_cut_at_the_earliest() {
        let stop = vec!["END".to_string(), "\n\n".to_string()];
        assert_eq!(stop_at(b"abc\n\nxyz END", &stop), Some(3));
        assert_eq!(stop_at(b"abc", &stop), None);
        assert_eq!(stop_at(b"abc", &[String::new()]), None);
    }
}
