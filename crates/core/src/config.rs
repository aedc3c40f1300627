//! Configuration. Loaded by the binary from TOML with `PODSIFT_*` environment overrides
//! (`PODSIFT_HTTP__TIMEOUT_SECS=10`); every field has a default so no file is needed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A closed set of names in the configuration (`[llm] engine = "openai"`): an enum, so a
/// typo fails when the file is loaded, naming the key and the allowed values.
macro_rules! config_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every allowed value, as written in the configuration.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(format!(
                        "{other:?} is not one of {}",
                        Self::NAMES.join(", ")
                    )),
                }
            }
        }
    };
}

mod asr;
mod discovery;
mod web;
pub use asr::{AsrConfig, AsrEngine, DEFAULT_ASR_MODEL};
pub use discovery::DiscoveryConfig;
pub use web::{IpNet, MetricsAccess, WebConfig};

config_enum! {
    /// `[llm] engine`: who reads the episodes.
    LlmEngine {
        /// podsift runs a GGUF model itself (the `podsift-llm` process).
        Local = "local",
        /// Any OpenAI-compatible API (OpenAI, OpenRouter, Groq, LM Studio, vLLM, llama.cpp).
        Openai = "openai",
        Anthropic = "anthropic",
        /// A running Ollama, through its native `/api/chat` (which honours `num_ctx`).
        Ollama = "ollama",
    }
}

impl LlmEngine {
    /// An API with a long context and a per-token price (the daily editor is on by default,
    /// whole episodes are read in one call when they fit).
    pub fn is_remote_api(self) -> bool {
        matches!(self, Self::Openai | Self::Anthropic)
    }
}

config_enum! {
    /// `[ranking] engine`: how the digest chooses.
    RankingEngine {
        Embeddings = "embeddings",
        Simple = "simple",
    }
}

config_enum! {
    /// `[email] tls`: how the SMTP connection is secured.
    SmtpTls {
        /// STARTTLS on the submission port (587).
        Starttls = "starttls",
        /// Implicit TLS (port 465).
        Tls = "tls",
        /// Plain text: loopback and testing only.
        None = "none",
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the database and caches live. Default: the platform data dir.
    pub data_dir: Option<PathBuf>,
    /// `sqlite://PATH` (default: `DATA_DIR/podsift.db`).
    pub database_url: Option<String>,
    /// The SSRF guard off for every URL: set only by a single-user command's
    /// `--allow-private-networks` (the CLI on one's own machine, tests), never read from the
    /// file or the environment; `serve` and `worker` refuse it. An administrator lets a
    /// home server through with `[http] allow_hosts` instead.
    #[serde(skip)]
    pub allow_private_networks: bool,
    pub http: HttpConfig,
    pub poll: PollConfig,
    pub llm: LlmConfig,
    pub digest: DigestConfig,
    pub email: EmailConfig,
    pub asr: AsrConfig,
    pub ranking: RankingConfig,
    pub service: ServiceConfig,
    pub web: WebConfig,
    pub discovery: DiscoveryConfig,
}

/// A configuration that parses but cannot work: the key, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub problem: String,
}

impl Config {
    /// What the types cannot say: values that depend on each other. Checked at load, before
    /// any feed is fetched or any model downloaded.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &'static str, problem: &str| {
            Err(ConfigError {
                key,
                problem: problem.to_owned(),
            })
        };
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        self.web.validate()?;
        self.discovery.validate()?;
        if self.llm.engine.is_remote_api() && blank(&self.llm.model) {
            return err(
                "llm.model",
                &format!("the {} engine needs a model name", self.llm.engine),
            );
        }
        if self.asr.engine == AsrEngine::Remote && blank(&self.asr.remote_base_url) {
            return err(
                "asr.remote_base_url",
                "engine = \"remote\" needs the API's base URL",
            );
        }
        if !self.asr.max_episode_minutes.is_finite() || self.asr.max_episode_minutes < 0.0 {
            return err(
                "asr.max_episode_minutes",
                "must be a number of minutes, 0 or more (0: no limit)",
            );
        }
        let hours = self.asr.max_audio_hours_per_user_per_day;
        if !hours.is_finite() || hours < 0.0 {
            return err(
                "asr.max_audio_hours_per_user_per_day",
                "must be a number of hours, 0 or more (0: no limit)",
            );
        }
        if !blank(&self.email.to) && blank(&self.email.smtp_host) {
            return err("email.smtp_host", "email.to is set, but no SMTP server");
        }
        if let Err(problem) = crate::AllowList::parse(&self.http.allow_hosts) {
            return Err(ConfigError {
                key: "http.allow_hosts",
                problem,
            });
        }
        if self.llm.window_tokens.is_some_and(|w| w < 200) {
            return err("llm.window_tokens", "must be at least 200 (or unset)");
        }
        if self.llm.context() < 2048 {
            return err(
                "llm.context_tokens",
                "the model's context must hold at least 2048 tokens",
            );
        }
        if self
            .llm
            .daily_usd_budget
            .is_some_and(|d| !(d.is_finite() && d > 0.0))
        {
            return err(
                "llm.daily_usd_budget",
                "must be a positive number of dollars",
            );
        }
        if self.digest.size == 0 {
            return err("digest.size", "must be at least 1");
        }
        if let Some(base) = &self.digest.base_url {
            match url::Url::parse(base) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => return err("digest.base_url", "must be an http(s) URL"),
            }
        }
        if let Some(db) = &self.database_url
            && !["sqlite:", "postgres:", "postgresql:"]
                .iter()
                .any(|p| db.starts_with(p))
        {
            return err(
                "database_url",
                "must start with sqlite:, postgres: or postgresql:",
            );
        }
        Ok(())
    }
}

/// `podsift serve` and `podsift worker`: loop timings, leases and delivery retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// How often the feed scheduler looks for due feeds.
    pub poll_every_secs: u64,
    /// How often the digest schedule and the delivery outbox are checked.
    pub schedule_every_secs: u64,
    /// How long an idle job worker waits before claiming again.
    pub worker_idle_ms: u64,
    /// A digest slot missed by up to this long (the machine was off at 7:00) is still sent.
    pub catch_up_hours: u64,
    /// How long running work may take to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Lease of an extraction job; the worker renews it every third of it while it runs,
    /// so a killed worker's job is taken over by another after at most this long.
    pub job_lease_secs: u64,
    /// First delivery retry after a failed send; each further attempt waits 4x longer.
    pub delivery_retry_secs: u64,
    /// A send that was started but never finished (the process died) is retried after this
    /// long, with the same idempotency key (the same email Message-ID).
    pub stale_send_secs: u64,
}

impl ServiceConfig {
    /// Every stage's job lease (at least a second).
    pub fn job_lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.job_lease_secs.max(1))
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            poll_every_secs: 60,
            schedule_every_secs: 30,
            worker_idle_ms: 5000,
            catch_up_hours: 12,
            shutdown_grace_secs: 20,
            job_lease_secs: 120,
            delivery_retry_secs: 60,
            stale_send_secs: 900,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub user_agent: String,
    pub connect_timeout_secs: u64,
    /// Whole-request timeout, body included.
    pub timeout_secs: u64,
    pub max_redirects: usize,
    pub max_feed_bytes: u64,
    pub max_transcript_bytes: u64,
    /// Simultaneous requests to one host.
    pub per_host_concurrency: usize,
    /// Minimum gap between two requests to one host, in milliseconds.
    pub per_host_interval_ms: u64,
    /// Retries of a retryable failure inside one fetch (with jittered backoff).
    pub retries: u32,
    /// Longest `Retry-After` podsift waits inline; longer waits reschedule instead.
    pub max_retry_after_secs: u64,
    /// Hosts past the SSRF guard, for a home server: names (`nas.local`), addresses
    /// (`192.168.1.20`) and networks (`192.168.1.0/24`). Applies to feeds, transcripts, audio
    /// and webhooks alike; every other private, loopback or link-local destination is refused.
    pub allow_hosts: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            user_agent: format!(
                "podsift/{} (+https://github.com/podsift/podsift)",
                env!("CARGO_PKG_VERSION")
            ),
            connect_timeout_secs: 10,
            timeout_secs: 60,
            max_redirects: 5,
            max_feed_bytes: 50 * 1024 * 1024,
            max_transcript_bytes: 20 * 1024 * 1024,
            per_host_concurrency: 2,
            per_host_interval_ms: 250,
            retries: 2,
            max_retry_after_secs: 30,
            allow_hosts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PollConfig {
    /// Never poll a feed more often than this.
    pub min_interval_minutes: u64,
    /// Never wait longer than this between polls of a healthy feed.
    pub max_interval_minutes: u64,
    /// First backoff after an error; doubles per consecutive error.
    pub backoff_base_minutes: u64,
    /// Cap of the backoff; also the interval of a failing feed.
    pub backoff_max_minutes: u64,
    /// Consecutive errors after which a feed is marked failing.
    pub failing_after_errors: u32,
    /// On first subscription, how many of the newest episodes are processed.
    pub initial_episodes: usize,
    /// A shared server's cap (0: none): when a user's shows already have this many episodes
    /// waiting to be fetched, transcribed or read, a feed they add does not queue its back
    /// catalogue (new episodes are read as they come), and they are told so.
    pub max_queued_episodes_per_user: u64,
    /// The shows `podsift run` follows for a reader who follows none: an OPML file. None:
    /// the built-in starter set (`assets/starter.opml`).
    pub starter_opml: Option<std::path::PathBuf>,
    /// Feeds polled at once.
    pub concurrency: usize,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            min_interval_minutes: 30,
            max_interval_minutes: 24 * 60,
            backoff_base_minutes: 15,
            backoff_max_minutes: 24 * 60,
            failing_after_errors: 5,
            initial_episodes: 3,
            max_queued_episodes_per_user: 0,
            starter_opml: None,
            concurrency: 16,
        }
    }
}

/// Which model extracts insights, and how much it may cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// `local` (podsift runs a GGUF model itself), `openai` (any OpenAI-compatible API:
    /// OpenAI, OpenRouter, Groq, LM Studio, vLLM, llama.cpp's server), `anthropic`, or
    /// `ollama` (Ollama's native API; `model` may be left out to use the best one installed).
    pub engine: LlmEngine,
    /// API base URL, e.g. `https://api.openai.com/v1`; for `ollama` its root (default
    /// `http://127.0.0.1:11434`).
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// Name of the environment variable holding the API key (the key never goes in the file).
    pub api_key_env: Option<String>,
    /// Local engine: a GGUF file to use instead of the default download.
    pub local_model_path: Option<PathBuf>,
    /// Local engine: which model of the catalogue to download (`podsift models list`): a tier
    /// (`small`, `default`, `quality`) or the file's name. None: `default`. Ignored when
    /// `local_model_path` is set.
    pub local_model: Option<String>,
    /// Local engine: the `podsift-llm` binary (default: next to `podsift`, then on PATH).
    pub local_server_bin: Option<PathBuf>,
    /// Local engine: CPU threads (0 = all cores).
    pub local_threads: usize,
    /// Local engine: context size in tokens.
    pub local_context: u32,
    pub timeout_secs: u64,
    /// Retries of a failed model call (timeouts, server errors, unusable answers).
    pub retries: u32,
    /// How long one model call may keep waiting out the provider's rate limit (`429`,
    /// honouring `Retry-After`) before it counts as failed: throttling is the provider
    /// asking to slow down, not an error, so it does not spend `retries`.
    pub throttle_patience_secs: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub temperature: f32,
    /// Transcript tokens per window; none: windows fill the model's context (see
    /// `context_tokens`), and an episode that fits is read in one call.
    pub window_tokens: Option<usize>,
    pub window_overlap_tokens: usize,
    /// The model's context in tokens, for sizing windows; none: `local_context` for the local
    /// engine, `ollama_num_ctx` for Ollama, 128000 for API engines.
    pub context_tokens: Option<u32>,
    /// Ollama: the `num_ctx` asked for when a request needs less (requests that need more
    /// ask for what they need, up to `context_tokens`).
    pub ollama_num_ctx: u32,
    /// An opt-in cap: prompt tokens one episode may spend. None (the default): every
    /// non-ad window is read. When set, windows are spread over the episode (one per chapter
    /// or time decile first, then those closest to the title, description and interests),
    /// and what was left out is reported.
    pub episode_token_budget: Option<u64>,
    /// An opt-in cap on prompt tokens per day, over all episodes (UTC day).
    pub daily_token_budget: Option<u64>,
    /// An opt-in cap on dollars per day (from `prices`), over all episodes (UTC day).
    pub daily_usd_budget: Option<f64>,
    /// Completion tokens per window.
    pub max_output_tokens: u32,
    /// Insights kept per episode after merging.
    pub insights_per_episode: usize,
    /// The per-episode editor pass: one more call turns the episode's grounded claims into
    /// its best insights. Off: the claims themselves are the insights.
    pub editor: bool,
    /// The daily editor across episodes (one "connection" insight tying claims of two or
    /// more episodes). None: on for API engines, off for local ones.
    pub daily_editor: Option<bool>,
    /// USD per million tokens, by model name: `{ "gpt-4o-mini" = { prompt = 0.15, completion = 0.6 } }`.
    pub prices: std::collections::BTreeMap<String, Price>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Price {
    pub prompt: f64,
    pub completion: f64,
}

impl LlmConfig {
    /// The model's context in tokens (see `context_tokens`).
    pub fn context(&self) -> u32 {
        self.context_tokens.unwrap_or(match self.engine {
            LlmEngine::Local => self.local_context,
            LlmEngine::Ollama => self.ollama_num_ctx,
            LlmEngine::Openai | LlmEngine::Anthropic => 128_000,
        })
    }

    /// Whether the daily editor across episodes runs.
    pub fn daily_editor_on(&self) -> bool {
        self.daily_editor
            .unwrap_or_else(|| self.engine.is_remote_api())
    }

    /// A description of the caps in force, or none when every window is read.
    pub fn caps(&self) -> Option<String> {
        let mut caps = Vec::new();
        if let Some(t) = self.episode_token_budget {
            caps.push(format!("episode_token_budget = {t}"));
        }
        if let Some(t) = self.daily_token_budget {
            caps.push(format!("daily_token_budget = {t}"));
        }
        if let Some(d) = self.daily_usd_budget {
            caps.push(format!("daily_usd_budget = {d}"));
        }
        (!caps.is_empty()).then(|| caps.join(", "))
    }
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            engine: LlmEngine::Local,
            base_url: None,
            model: None,
            api_key_env: None,
            local_model_path: None,
            local_model: None,
            local_server_bin: None,
            local_threads: 0,
            local_context: 8192,
            timeout_secs: 300,
            retries: 3,
            throttle_patience_secs: 300,
            concurrency: 1,
            temperature: 0.2,
            window_tokens: None,
            window_overlap_tokens: 120,
            context_tokens: None,
            ollama_num_ctx: 8192,
            episode_token_budget: None,
            daily_token_budget: None,
            daily_usd_budget: None,
            max_output_tokens: 1200,
            insights_per_episode: 5,
            editor: true,
            daily_editor: None,
            prices: Default::default(),
        }
    }
}

/// What the daily digest contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigestConfig {
    /// Insights per digest.
    pub size: usize,
    /// At most this many from one show.
    pub max_per_show: usize,
    /// Where `podsift run` writes the rendered digests (default: DATA_DIR/digests).
    pub output_dir: Option<PathBuf>,
    /// Base URL of the web UI for episode links (none: the publisher's page). When set, the
    /// email/HTML digest also carries signed 👍/👎 feedback links to `BASE/feedback`.
    pub base_url: Option<String>,
    /// The environment variable holding the feedback links' signing secret (none: a random
    /// secret generated once in DATA_DIR/feedback.key).
    pub feedback_secret_env: Option<String>,
}

impl Default for DigestConfig {
    fn default() -> Self {
        Self {
            size: 5,
            max_per_show: 2,
            output_dir: None,
            base_url: None,
            feedback_secret_env: None,
        }
    }
}

/// Email delivery over SMTP. Disabled until `to` and `smtp_host` are set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    pub to: Option<String>,
    pub from: String,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls` (implicit, port 465) or `none` (loopback/testing only).
    pub tls: SmtpTls,
    pub username: Option<String>,
    /// Name of the environment variable holding the SMTP password.
    pub password_env: String,
    pub timeout_secs: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            to: None,
            from: "podsift <podsift@localhost>".into(),
            smtp_host: None,
            smtp_port: None,
            tls: SmtpTls::Starttls,
            username: None,
            password_env: "PODSIFT_SMTP_PASSWORD".into(),
            timeout_secs: 30,
        }
    }
}

/// How the daily digest chooses (`[ranking]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RankingConfig {
    /// `embeddings` (sentence embeddings: the same claim across shows, memory of what was
    /// sent, interests, feedback) or `simple` (the same ranking without an embedding model:
    /// the words decide).
    pub engine: RankingEngine,
    /// A local all-MiniLM-L6-v2 directory (config.json, tokenizer.json, model.safetensors);
    /// none: downloaded into DATA_DIR/models on first use.
    pub model_dir: Option<PathBuf>,
    /// How far back what was sent suppresses repeats.
    pub history_days: i64,
    /// 0 = no cap.
    pub max_per_show: usize,
    /// 0 = no cap.
    pub max_per_episode: usize,
    /// Cosine from which two insights may be the same claim; their figures, names and words
    /// then decide (crates/ranking/src/claim.rs).
    pub duplicate_threshold: f32,
    /// Cosine from which a candidate is related to something already sent ("Update: …").
    pub update_threshold: f32,
    /// MMR trade-off: 1 = score only, 0 = diversity only.
    pub mmr_lambda: f64,
    /// Free text, one interest per line or comma-separated ("Rust, local LLMs").
    pub interests: String,
}

impl Default for RankingConfig {
    fn default() -> Self {
        Self {
            engine: RankingEngine::Embeddings,
            model_dir: None,
            history_days: 30,
            max_per_show: 2,
            max_per_episode: 2,
            // The ranking crate's evaluated defaults (crates/ranking/README.md).
            duplicate_threshold: 0.6,
            update_threshold: 0.5,
            mmr_lambda: 0.7,
            interests: String::new(),
        }
    }
}
