//! `podsift-eval`: evaluation harnesses for podsift. See the crate README.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use podsift_core::Llm;
use podsift_core::config::{LlmConfig, LlmEngine};
use podsift_eval::EvalError;
use podsift_eval::corpus::paired_episodes;
use podsift_eval::report::{evaluation, markdown};
use podsift_eval::run::{Episode, evaluate_episode};
use podsift_insights::Resilient;
use podsift_insights::engines::{self, OpenAiCompatible};
use podsift_llm_local::{LocalOptions, LocalRuntime};

mod golden_cmd;
use golden_cmd::golden;

#[derive(Parser, Debug)]
#[command(
    name = "podsift-eval",
    version,
    about = "Evaluate podsift's insight extraction"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Python Bytes: share of the top 5 on host-chosen items, grounding, coverage, tokens.
    PythonBytes(Box<Args>),
    /// Long episodes (Changelog-style Markdown transcripts): words read and prompt tokens
    /// per episode-hour under the baseline and today's defaults, with an instant engine.
    Coverage {
        /// The transcript files.
        files: Vec<PathBuf>,
    },
    /// The golden set (eval/golden): the register check and the ranking with no model; with
    /// `--model`, an engine reads the episodes and its digests are measured; with
    /// `--judge-model`, an LLM judge scores them (cached verdicts are replayed).
    Golden(Box<GoldenArgs>),
}

#[derive(clap::Args, Debug)]
struct GoldenArgs {
    /// The corpora root (holds 03_longform).
    #[arg(long, env = "PODSIFT_CORPORA", default_value = "../shared/corpora")]
    corpora: PathBuf,
    /// Find each reference's quote in its transcript and write its `span` into the file.
    #[arg(long)]
    write_spans: bool,
    /// Only these episodes (ids such as changelog-580), default all.
    #[arg(long = "episode")]
    only: Vec<String>,
    /// The engine reading the episodes (`--model` turns this part on).
    #[command(flatten)]
    llm: EngineArgs,
    /// The judge: an OpenAI-compatible model name.
    #[arg(long)]
    judge_model: Option<String>,
    #[arg(long)]
    judge_base_url: Option<String>,
    /// Environment variable with the judge's API key; without it only cached verdicts are
    /// used.
    #[arg(long, default_value = "OPENAI_API_KEY")]
    judge_api_key_env: String,
    /// Write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Engine {
    /// A GGUF model run by podsift-llm.
    Local,
    /// Any OpenAI-compatible API (OpenAI, OpenRouter, Groq, Ollama, vLLM, llama.cpp).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
}

/// The engine that reads the episodes.
#[derive(clap::Args, Debug, Clone)]
struct EngineArgs {
    #[arg(long, value_enum, default_value_t = Engine::Local)]
    engine: Engine,
    /// Local: the GGUF file. API engines: the model name.
    #[arg(long)]
    model: Option<String>,
    /// API base URL (default: the provider's).
    #[arg(long)]
    base_url: Option<String>,
    /// Environment variable holding the API key.
    #[arg(long)]
    api_key_env: Option<String>,
    /// Local: the podsift-llm binary (default: next to this one, then PATH).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Local: CPU threads (0 = all).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Local: context size.
    #[arg(long, default_value_t = 8192)]
    ctx: u32,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

impl EngineArgs {
    /// `[llm]` for this engine.
    fn config(&self) -> LlmConfig {
        LlmConfig {
            engine: match self.engine {
                Engine::Local => LlmEngine::Local,
                Engine::Openai => LlmEngine::Openai,
                Engine::Anthropic => LlmEngine::Anthropic,
            },
            base_url: self.base_url.clone(),
            model: self.model.clone(),
            api_key_env: self.api_key_env.clone(),
            timeout_secs: self.timeout.max(1),
            local_context: self.ctx,
            ..LlmConfig::default()
        }
    }
}

#[derive(clap::Args, Debug)]
struct Args {
    /// The corpora root (holds 03_longform/python-bytes).
    #[arg(long, env = "PODSIFT_CORPORA", default_value = "../shared/corpora")]
    corpora: PathBuf,
    /// Episodes chosen: the N most recent that have show notes with items and a transcript.
    #[arg(long, default_value_t = 5)]
    episodes: usize,
    /// Run only the first K of the chosen episodes (most recent first), to size a run.
    #[arg(long)]
    first: Option<usize>,
    #[command(flatten)]
    llm: EngineArgs,
    /// An opt-in cap: prompt tokens one episode may spend (default: read everything).
    #[arg(long)]
    budget: Option<u64>,
    /// Completion tokens per window (at least).
    #[arg(long, default_value_t = 1200)]
    max_output_tokens: u32,
    /// Transcript tokens per window (default: fill the model's context).
    #[arg(long)]
    window_tokens: Option<usize>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Write the full results (with every top pick and its evidence) as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn llm_config(a: &Args) -> LlmConfig {
    LlmConfig {
        concurrency: a.concurrency.max(1),
        episode_token_budget: a.budget,
        max_output_tokens: a.max_output_tokens,
        window_tokens: a.window_tokens.map(|w| w.max(200)),
        ..a.llm.config()
    }
}

/// The engine (and, for a local model, its runtime, which must outlive the run).
async fn start_engine(
    a: &EngineArgs,
    cfg: &mut LlmConfig,
) -> Result<(Box<dyn Llm>, Option<LocalRuntime>), EvalError> {
    let model = a
        .model
        .as_deref()
        .ok_or_else(|| EvalError::Engine("--model is required".into()))?;
    match a.engine {
        Engine::Local => {
            let mut opts = LocalOptions::new(model);
            opts.bin = a.server_bin.clone();
            opts.threads = a.threads;
            opts.ctx = cfg.local_context;
            let rt = LocalRuntime::start(opts)
                .await
                .map_err(|e| EvalError::Engine(e.to_string()))?;
            let name = PathBuf::from(model)
                .file_name()
                .map_or_else(|| model.to_owned(), |n| n.to_string_lossy().into_owned());
            cfg.model = Some(name.clone());
            let engine = OpenAiCompatible::new(
                &rt.base_url(),
                &name,
                None,
                Duration::from_secs(cfg.timeout_secs),
            )
            .map_err(|e| EvalError::Engine(e.to_string()))?;
            Ok((Box::new(Resilient::from_config(engine, cfg)), Some(rt)))
        }
        Engine::Openai | Engine::Anthropic => {
            let engine = engines::from_config(cfg).map_err(|e| EvalError::Engine(e.to_string()))?;
            Ok((Box::new(Resilient::boxed_from_config(engine, cfg)), None))
        }
    }
}

async fn python_bytes(a: Args) -> Result<(), EvalError> {
    let mut cfg = llm_config(&a);
    let mut chosen: Vec<Episode> = Vec::new();
    let mut pairs = paired_episodes(&a.corpora)?;
    pairs.reverse();
    for files in &pairs {
        if chosen.len() >= a.episodes {
            break;
        }
        let ep = Episode::load(files)?;
        if !ep.items.is_empty() && !ep.segments.is_empty() {
            chosen.push(ep);
        }
    }
    if chosen.is_empty() {
        return Err(EvalError::NoEpisodes(a.corpora.clone()));
    }
    chosen.truncate(a.first.unwrap_or(usize::MAX));
    eprintln!(
        "evaluating episodes {:?}",
        chosen.iter().map(|e| e.number).collect::<Vec<_>>()
    );

    // Keep the local runtime alive for the whole run.
    let (llm, _runtime) = start_engine(&a.llm, &mut cfg).await?;

    let mut results = Vec::with_capacity(chosen.len());
    for ep in &chosen {
        eprintln!(
            "episode {} ({:.2} h, {} host items)…",
            ep.number,
            ep.hours(),
            ep.items.len()
        );
        let r = evaluate_episode(llm.as_ref(), ep, &cfg, &[]).await;
        eprintln!(
            "episode {}: {} insights, {}/{} top picks on host items, {:.0} s",
            r.number,
            r.insights,
            r.top_on_items,
            r.top.len(),
            r.wall_seconds
        );
        results.push(r);
    }
    let ev = evaluation(llm.model_id(), a.budget.unwrap_or(0) as usize, results);
    print!("{}", markdown(&ev));
    if let Some(path) = &a.json {
        let body = serde_json::to_vec_pretty(&ev).map_err(|e| EvalError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        std::fs::write(path, body).map_err(|e| EvalError::Write {
            path: path.clone(),
            source: e,
        })?;
    }
    if let Some(rt) = _runtime {
        rt.shutdown().await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::PythonBytes(a) => python_bytes(*a).await,
        Command::Coverage { files } => podsift_eval::coverage::measure(&files)
            .await
            .map(|r| print!("{}", podsift_eval::coverage::table(&r, 0.15, 0.60))),
        Command::Golden(a) => golden(*a).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("podsift-eval: {e}");
            ExitCode::FAILURE
        }
    }
}
