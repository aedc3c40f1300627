//! `podsift-llm`: serves a local GGUF model (llama.cpp) over a small OpenAI-compatible HTTP API.
//!
//! It is its own process because llama.cpp and whisper.cpp both vendor ggml and cannot be
//! linked into one binary; `podsift` starts it and talks to it over loopback.
//!
//! ```text
//! podsift-llm --model FILE.gguf [--listen 127.0.0.1:0] [--threads N] [--ctx N]
//!             [--gpu-layers N] [--no-prompt-cache] [--batch N]
//! ```
//! Once the model is loaded and the socket bound, it prints exactly one line on stdout,
//! `listening on http://ADDR:PORT`, and serves until SIGTERM/SIGINT or until its stdin is
//! closed (so it dies with a parent that holds the pipe; `--ignore-stdin` turns that off).
//!
//! Endpoints: `GET /health`, `GET /v1/models`, `POST /v1/chat/completions` (non-streaming;
//! `response_format` `json_schema`/`json_object` become grammar-constrained decoding).
//! Requests are served one at a time; the KV cache of the prompt prefix they share is kept
//! between them (`--no-prompt-cache` turns that off).

mod api;
mod cache;
mod engine;
mod http;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "podsift-llm",
    version,
    about = "Serve a local GGUF model over an OpenAI-compatible HTTP API"
)]
struct Args {
    /// The GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// Address to bind; port 0 picks a free one (the line on stdout tells which).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// CPU threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Context size in tokens (capped at the model's training context).
    #[arg(long, default_value_t = 4096)]
    ctx: u32,
    /// Layers to offload to the GPU. Default: all of them in a GPU build (`--features
    /// cuda|metal|vulkan`), none otherwise.
    #[arg(long, value_name = "N")]
    gpu_layers: Option<u32>,
    /// Decode every prompt from scratch instead of keeping the KV cache of the prefix it
    /// shares with the previous request (the baseline for benchmarks).
    #[arg(long)]
    no_prompt_cache: bool,
    /// Prompt tokens per decode call (the prompt cache keeps whole batches of a message).
    #[arg(long, value_name = "N", default_value_t = engine::DEFAULT_BATCH)]
    batch: usize,
    /// Keep serving when stdin closes (for running under a service manager).
    #[arg(long)]
    ignore_stdin: bool,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,podsift_llm=info")),
        )
        .init();
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("podsift-llm: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    if !args.model.is_file() {
        return Err(format!("model file not found: {}", args.model.display()).into());
    }
    // llama.cpp's own logging goes through tracing (quiet unless RUST_LOG asks).
    llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.threads
    };
    // u32::MAX: llama.cpp offloads min(N, layers + output) — all of them.
    let gpu_layers = args
        .gpu_layers
        .unwrap_or(if engine::GPU_BUILD { u32::MAX } else { 0 });
    let started = std::time::Instant::now();
    let engine = engine::load(
        &args.model,
        engine::Options {
            threads,
            ctx: args.ctx,
            gpu_layers,
            prompt_cache: !args.no_prompt_cache,
            batch: args.batch,
        },
    )?;
    tracing::info!(
        model = %args.model.display(),
        ctx = engine.n_ctx,
        threads,
        gpu_layers,
        prompt_cache = !args.no_prompt_cache,
        secs = started.elapsed().as_secs_f32(),
        "model loaded"
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        let addr = listener.local_addr()?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on http://{addr}")?;
            out.flush()?;
        }
        let app = http::router(Arc::new(engine));
        // No graceful drain: a generation in progress may take minutes, and the parent that
        // asks us to stop is not waiting for its answer.
        tokio::select! {
            served = axum::serve(listener, app) => served?,
            () = shutdown(args.ignore_stdin) => {}
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    // The worker may be mid-generation; llama.cpp needs no orderly teardown at exit.
    Ok(())
}

/// Resolves on SIGTERM, SIGINT, or (unless ignored) end of stdin.
async fn shutdown(ignore_stdin: bool) {
    let stdin_closed = async move {
        if ignore_stdin {
            std::future::pending::<()>().await;
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // A plain thread: blocking stdin reads are not cancellable, and this one lives until exit.
        let _ = std::thread::Builder::new()
            .name("stdin-watch".into())
            .spawn(move || {
                let mut buf = [0u8; 256];
                let mut stdin = std::io::stdin();
                while let Ok(n) = std::io::Read::read(&mut stdin, &mut buf) {
                    if n == 0 {
                        break;
                    }
                }
                let _ = tx.send(());
            });
        let _ = rx.await;
        tracing::info!("stdin closed; shutting down");
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = stdin_closed => {}
        _ = term => tracing::info!("SIGTERM; shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT; shutting down"),
    }
}
