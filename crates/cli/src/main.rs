//! `podsift`: the command-line front end. Thin: it parses arguments, wires the real
//! implementations of the core ports, and prints.

mod app;
mod asr;
mod commands;
mod discover;
mod doctor;
mod llm;
mod models;
mod output;
mod rank;
mod run;
mod service;
mod stages;
mod subscribe;
mod wiring;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "podsift",
    version,
    about = "Follow podcasts, read every new episode, get the top insights daily."
)]
pub struct Cli {
    /// Where the database and caches live (default: the platform data dir).
    #[arg(long, global = true, env = "PODSIFT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A TOML configuration file (default: CONFIG_DIR/podsift/config.toml when present).
    #[arg(long, global = true, env = "PODSIFT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Turn the SSRF guard off: feeds, transcripts, audio and webhooks on private, loopback
    /// and link-local addresses are fetched (single-user commands on one's own machine;
    /// `serve` and `worker` refuse it: use `[http] allow_hosts`).
    #[arg(long, global = true)]
    pub allow_private_networks: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Act as this user of a shared instance (`podsift users add`): subscribe, feeds,
    /// episodes, digest, feedback and run then use their subscriptions. Default: the local
    /// user.
    #[arg(long, global = true, env = "PODSIFT_USER", value_name = "EMAIL")]
    pub user: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Subscribe to feeds (each URL is fetched and validated first), or import an OPML file.
    Subscribe {
        /// Feed URLs, or web pages that link their feed.
        urls: Vec<String>,
        /// Import the subscriptions of an OPML export (Overcast, Pocket Casts, ...).
        #[arg(long, value_name = "FILE")]
        opml: Option<PathBuf>,
        /// Find shows by name (the show directories of `[discovery]`: iTunes, and the Podcast
        /// Index with your key): lists the matches; on a terminal, asks which to follow.
        #[arg(long, value_name = "TERM")]
        search: Option<String>,
        /// With --search: follow these matches (their numbers in the list, e.g. 1,3)
        /// without asking.
        #[arg(long, value_name = "N,...", value_delimiter = ',', requires = "search")]
        pick: Vec<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Find shows on a subject or by name in the show directories (iTunes Search; the
    /// Podcast Index with your own key): each with its description, how often it
    /// publishes, whether its recent episodes carry publisher transcripts (no
    /// speech-to-text needed), and the command to follow it.
    Discover {
        term: String,
        /// At most this many shows (each one's feed is read to describe it).
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Topics: each day podsift scans new episodes of shows you do not follow for them and
    /// reads the best few (under `[discovery]`'s daily budget), saying why each was read.
    Topics {
        #[command(subcommand)]
        action: TopicsAction,
    },
    /// The instance's catalogue: shows every reader receives on top of their own
    /// subscriptions (an administrator's newsletter). Each episode is read once, whatever
    /// the number of readers. Catalogue topics: `podsift topics add --catalogue`.
    Catalogue {
        #[command(subcommand)]
        action: CatalogueAction,
    },
    /// Stop following a feed.
    Unsubscribe {
        /// A feed URL or id (see `podsift feeds`).
        feed: String,
    },
    /// List followed feeds with their status and schedule.
    Feeds {
        #[arg(long)]
        json: bool,
    },
    /// List episodes, newest first.
    Episodes {
        /// Only this feed (URL or id).
        #[arg(long)]
        feed: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Print an episode's stored transcript.
    Transcript {
        /// The episode id (see `podsift episodes`).
        episode: i64,
        #[arg(long, value_enum, default_value_t = TranscriptFormatArg::Text)]
        format: TranscriptFormatArg,
    },
    /// Poll every feed that is due, then fetch the new episodes' transcripts.
    Poll {
        /// Poll every feed now, due or not.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// The whole job once: poll, transcripts, insights, today's digest, delivery. Idempotent
    /// and resumable; with no subscriptions yet it follows the starter shows.
    Run {
        #[arg(long)]
        json: bool,
        /// The digest's date (default: today, local time).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Print a stored digest.
    Digest {
        /// Default: the latest.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value_t = DigestFormatArg::Text)]
        format: DigestFormatArg,
    },
    /// Write the subscriptions as OPML (to stdout, or a file).
    ExportOpml {
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Transcribe episodes that have audio but no publisher transcript (speech-to-text):
    /// the given episodes, plus every transcription already queued.
    Transcribe {
        /// Episode ids (see `podsift episodes`).
        episodes: Vec<i64>,
        /// Transcribe even when the episode already has a transcript.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Models: list the speech-to-text and language-model catalogues; download a speech
    /// model, print its path.
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// Rank a JSONL file of candidate insights as the digest does ([ranking] engine): the
    /// register check, the same claim across shows, repeats of what was sent, interests,
    /// MMR; each pick with its reasons.
    Rank {
        /// Candidate lines: {"text", "podcast", "episode", "quote"?, "speaker"?, "reason"?,
        /// "editor_rank"?, "scores"?, "published"?}.
        #[arg(long, value_name = "FILE.jsonl")]
        input: PathBuf,
        /// How many to pick.
        #[arg(long, default_value_t = 5)]
        top: usize,
        /// Also print every register rule's result and every feature's contribution to each
        /// pick's score, and every suppressed candidate with why.
        #[arg(long)]
        explain: bool,
        /// What was sent before: {"text", "podcast"?, "sent_on"}.
        #[arg(long, value_name = "FILE.jsonl")]
        history: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The register check on candidate lines (the `rank` input format): per line, pass or
    /// the rules that failed and why. Rules that need a quote (faithful, not a copy) are
    /// "not checked" on a line without one. Exits 1 when a line fails.
    Lint {
        #[arg(value_name = "FILE.jsonl")]
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Check what this configuration needs, one line each with the fix: the data directory
    /// and its free space, the database, the language model (present, to be downloaded, or
    /// reachable), speech-to-text and ffmpeg, the SMTP server, the public URL. Exits 1 when
    /// something needed is missing or unreachable.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// 👍 or 👎 an insight you were sent (its id: `podsift digest --format json`); the
    /// ranking leans toward (or away from) it, a little per vote.
    Feedback {
        insight: i64,
        #[arg(value_parser = ["up", "down"])]
        vote: String,
    },
    /// Users of a shared install (`podsift serve` makes each one's digest on their schedule).
    Users {
        #[command(subcommand)]
        action: UsersAction,
    },
    /// Run as a service: feed scheduler, job workers, per-user digests, delivery, and HTTP
    /// (/healthz, /metrics, /feeds/TOKEN.atom|.json). Stops cleanly on SIGTERM/SIGINT.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: std::net::SocketAddr,
    },
    /// Run only the job workers (transcripts, speech-to-text, insights), e.g. on more
    /// machines against one PostgreSQL.
    Worker,
    /// Inspect the job queue (transcript and chapter downloads, speech-to-text, insights).
    Jobs {
        /// Only jobs in this state.
        #[arg(long, value_enum)]
        state: Option<JobStateArg>,
        /// Put a dead job back in the queue.
        #[arg(long, value_name = "JOB_ID")]
        retry: Option<i64>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// Add a user with a daily digest schedule (prints their private feed URL).
    Add {
        email: String,
        /// IANA time zone of the delivery time.
        #[arg(long, default_value = "UTC")]
        tz: String,
        /// Local delivery time, HH:MM.
        #[arg(long, default_value = "07:00")]
        at: String,
        /// Insights per digest.
        #[arg(long, default_value_t = 5)]
        size: u32,
        /// Topics the user cares about (free text).
        #[arg(long)]
        interests: Option<String>,
        /// A signed JSON webhook (repeatable).
        #[arg(long, value_name = "URL")]
        webhook: Vec<String>,
        /// The webhooks' signing secret (default: generated and printed).
        #[arg(long, value_name = "SECRET", env = "PODSIFT_WEBHOOK_SECRET")]
        webhook_secret: Option<String>,
        /// A Slack incoming webhook URL (repeatable).
        #[arg(long, value_name = "URL")]
        slack: Vec<String>,
        /// A Discord webhook URL (repeatable).
        #[arg(long, value_name = "URL")]
        discord: Vec<String>,
        /// Read a web UI password from the first line of stdin (the web UI needs one to sign in).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    /// Set a user's web UI password from the first line of stdin (signs them out everywhere).
    Passwd { email: String },
    /// The users with their schedule.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a user with their subscriptions and digests.
    Remove { email: String },
}

#[derive(Debug, Subcommand)]
pub enum TopicsAction {
    /// Follow a topic ("home batteries and grid storage").
    Add {
        topic: String,
        /// A topic of the instance's catalogue: every reader gets what it finds.
        #[arg(long)]
        catalogue: bool,
        #[arg(long)]
        json: bool,
    },
    /// The topics followed, with their last scan.
    List {
        #[arg(long)]
        catalogue: bool,
        #[arg(long)]
        json: bool,
    },
    /// Stop following a topic (its id: `podsift topics list`).
    Remove {
        id: i64,
        #[arg(long)]
        catalogue: bool,
    },
    /// Scan now (all the topics, or one), whatever the time of the last scan.
    Scan {
        id: Option<i64>,
        #[arg(long)]
        catalogue: bool,
        #[arg(long)]
        json: bool,
    },
    /// The last scan's report: what was admitted and why, what was left out and why.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CatalogueAction {
    /// Add shows (feed URLs, each fetched and validated first).
    Add { urls: Vec<String> },
    /// Remove a show (its feed id or URL).
    Remove { feed: String },
    /// The catalogue's shows.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// The official ggml Whisper models and the VAD model, then the local language models
    /// (tiers, size, RAM, time per episode-hour, licence), with what is downloaded.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Download (resumable, sha256-verified) a model into the data dir.
    Fetch { name: String },
    /// Print a downloaded model's path.
    Path { name: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TranscriptFormatArg {
    Text,
    Json,
    Srt,
    Vtt,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DigestFormatArg {
    Md,
    Html,
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum JobStateArg {
    Queued,
    Running,
    Done,
    Dead,
}

fn main() {
    let cli = Cli::parse();
    output::init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("podsift: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(err) = runtime.block_on(commands::run(cli)) {
        // One line: the error and its causes.
        eprintln!("podsift: {err:#}");
        std::process::exit(1);
    }
}
