//! podsift as a long-running service (`podsift serve`, `podsift worker`).
//!
//! One process runs tokio tasks for: the feed scheduler (poll due feeds every minute), job
//! workers per stage with their own concurrency, the per-user digest schedule, delivery of the
//! outbox, and (serve only) an HTTP server with `/healthz`, `/metrics` and each user's private
//! digest feed. Every loop logs an error and goes on; nothing here exits on one bad job.
//!
//! Shutdown (SIGTERM/SIGINT, or the future passed to [`Service::run`]): the loops stop
//! claiming, running work gets [`ServiceSettings::shutdown_grace`] to finish, and whatever is
//! cut off stays leased in the queue and is reclaimed when its lease expires.

mod http;
mod metrics;
mod schedule;
mod server;
mod stages;
mod supervise;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use podsift_core::{Clock, Store};
use podsift_pipeline::{DigestRecipe, Pipeline, Stage};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use metrics::Metrics;
pub use schedule::{DigestScheduler, first_slot};
pub use supervise::Loops;

/// Errors that stop the service from starting (running loops never return errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Http(std::io::Error),
    /// `[web] metrics = "token"` without a token of at least 16 characters.
    #[error(
        "[web] metrics = \"token\": the variable {0} must hold a token of at least 16 characters"
    )]
    MetricsToken(String),
}

/// Timing and concurrency of the loops.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// How often the feed scheduler polls due feeds.
    pub poll_every: Duration,
    /// How long an idle job worker sleeps before claiming again.
    pub worker_idle: Duration,
    /// How often the digest schedule and the outbox are checked.
    pub schedule_every: Duration,
    /// How late a missed digest slot may still run.
    pub catch_up: Duration,
    /// How long running work may take to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// This process's name in job leases (`host-pid`).
    pub worker_id: String,
    /// Public base URL of the HTTP server (for feed self links); default `http://LISTEN`.
    pub public_url: Option<String>,
    /// `[web]`: trusted proxies, sign-in delays, timeouts and limits, `/metrics` access.
    pub web: podsift_core::config::WebConfig,
    /// `/metrics`' bearer token (read from `[web] metrics_token_env` by the binary).
    pub metrics_token: Option<String>,
}

impl ServiceSettings {
    /// The timings of `[service]` over the defaults.
    pub fn from_config(cfg: &podsift_core::config::ServiceConfig) -> Self {
        Self {
            poll_every: Duration::from_secs(cfg.poll_every_secs.max(1)),
            worker_idle: Duration::from_millis(cfg.worker_idle_ms.max(10)),
            schedule_every: Duration::from_secs(cfg.schedule_every_secs.max(1)),
            catch_up: Duration::from_secs(cfg.catch_up_hours.saturating_mul(3600)),
            shutdown_grace: Duration::from_secs(cfg.shutdown_grace_secs),
            ..Self::default()
        }
    }
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            poll_every: Duration::from_secs(60),
            worker_idle: Duration::from_secs(5),
            schedule_every: Duration::from_secs(30),
            catch_up: podsift_schedule::DEFAULT_CATCH_UP,
            shutdown_grace: Duration::from_secs(20),
            worker_id: default_worker_id(),
            public_url: None,
            web: Default::default(),
            metrics_token: None,
        }
    }
}

/// `HOSTNAME-PID`: unique per process, readable in `podsift jobs`.
pub fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "podsift".into());
    format!("{host}-{}", std::process::id())
}

/// A new private feed token: 32 random bytes as hex.
pub fn new_feed_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// What runs where: `serve` has everything, `worker` only the job stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serve,
    Worker,
}

/// The service's parts: the pipeline's (from [`Service::new`]), or a test's own.
pub struct Service {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Feed polling (serve only); `None` disables the feed scheduler.
    pub poller: Option<Arc<podsift_poller::Poller>>,
    /// Job stages, each with its concurrency (number of worker loops).
    pub stages: Vec<(Arc<dyn Stage>, usize)>,
    /// How digests are made and delivered (the scheduled ones and the web UI's).
    pub recipe: DigestRecipe,
    pub settings: ServiceSettings,
    /// The show directories of the web UI's Discover page (serve only).
    pub directory: Option<podsift_discovery::Directory>,
    /// The daily topic scan (serve only); `None`: topics are not scanned by this process.
    pub topics: Option<Arc<podsift_discovery::TopicScanner>>,
}

impl Service {
    /// The service over the pipeline: the same stages and digest recipe as `podsift run`.
    pub fn new(pipeline: Pipeline, settings: ServiceSettings) -> Self {
        Self {
            store: pipeline.store,
            clock: pipeline.clock,
            poller: Some(pipeline.poller),
            stages: pipeline.stages,
            recipe: pipeline.recipe,
            settings,
            directory: None,
            topics: None,
        }
    }

    /// With show discovery: the Discover page's directories and the daily topic scan.
    pub fn with_discovery(
        mut self,
        directory: podsift_discovery::Directory,
        topics: Arc<podsift_discovery::TopicScanner>,
    ) -> Self {
        self.directory = Some(directory);
        self.topics = Some(topics);
        self
    }

    /// Runs until `shutdown` completes. With `listener` (serve mode) the HTTP server runs too.
    pub async fn run(
        self,
        mode: Mode,
        listener: Option<TcpListener>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServiceError> {
        if mode == Mode::Serve
            && self.settings.web.metrics == podsift_core::config::MetricsAccess::Token
            && self
                .settings
                .metrics_token
                .as_deref()
                .is_none_or(|t| t.trim().chars().count() < 16)
        {
            return Err(ServiceError::MetricsToken(
                self.settings.web.metrics_token_env.clone(),
            ));
        }
        let started = Instant::now();
        let metrics = Arc::new(Metrics::new(started));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let s = &self.settings;

        // Every loop runs supervised: a panic restarts it after a backoff (counted in
        // /metrics, reported by /healthz while it is down).
        let loops = metrics.loops.clone();
        for (stage, concurrency) in &self.stages {
            for i in 0..(*concurrency).max(1) {
                let worker = format!("{}/{}-{i}", s.worker_id, stage.name());
                let (stage, metrics, stop, idle) = (
                    stage.clone(),
                    metrics.clone(),
                    stop_rx.clone(),
                    s.worker_idle,
                );
                let name = format!("{}-{i}", stage.name());
                tasks.spawn(supervise::supervise(
                    name,
                    loops.clone(),
                    stop_rx.clone(),
                    move || {
                        stages::worker_loop(
                            stage.clone(),
                            worker.clone(),
                            idle,
                            metrics.clone(),
                            stop.clone(),
                        )
                    },
                ));
            }
        }
        let mut http = None;
        if mode == Mode::Serve {
            if let Some(poller) = &self.poller {
                let (poller, every, metrics, stop) = (
                    poller.clone(),
                    s.poll_every,
                    metrics.clone(),
                    stop_rx.clone(),
                );
                tasks.spawn(supervise::supervise(
                    "poll".into(),
                    loops.clone(),
                    stop_rx.clone(),
                    move || stages::poll_loop(poller.clone(), every, metrics.clone(), stop.clone()),
                ));
            }
            if let Some(scanner) = &self.topics {
                let (scanner, stop) = (scanner.clone(), stop_rx.clone());
                tasks.spawn(supervise::supervise(
                    "topics".into(),
                    loops.clone(),
                    stop_rx.clone(),
                    move || stages::topics_loop(scanner.clone(), stop.clone()),
                ));
            }
            let scheduler = Arc::new(DigestScheduler::new(
                self.recipe.clone(),
                self.clock.clone(),
                s.clone(),
                metrics.clone(),
            ));
            let (sched, every, stop) = (scheduler.clone(), s.schedule_every, stop_rx.clone());
            tasks.spawn(supervise::supervise(
                "schedule".into(),
                loops.clone(),
                stop_rx.clone(),
                move || schedule::schedule_loop(sched.clone(), every, stop.clone()),
            ));
            if let Some(listener) = listener {
                let state = http::HttpState {
                    store: self.store.clone(),
                    clock: self.clock.clone(),
                    metrics: metrics.clone(),
                    public_url: s
                        .public_url
                        .clone()
                        .or_else(|| listener.local_addr().ok().map(|a| format!("http://{a}"))),
                    feedback_secret: self.recipe.feedback_secret.clone().map(Arc::new),
                    poller: self.poller.clone(),
                    directory: self.directory.clone(),
                    scheduler: scheduler.clone(),
                    channel_options: self.recipe.channel_options.clone(),
                    web: s.web.clone(),
                    metrics_token: s.metrics_token.clone(),
                };
                let mut rx = stop_rx.clone();
                let app = server::limited(http::router(state), &s.web);
                let header_timeout = Duration::from_secs(s.web.header_timeout_secs.max(1));
                http = Some(tokio::spawn(async move {
                    server::serve(listener, app, header_timeout, async move {
                        let _ = rx.wait_for(|stop| *stop).await;
                    })
                    .await;
                    Ok::<(), std::io::Error>(())
                }));
            }
        }
        tracing::info!(worker = %s.worker_id, ?mode, "podsift service running");

        shutdown.await;
        tracing::info!(
            grace_secs = s.shutdown_grace.as_secs(),
            "shutting down: no new work is claimed; waiting for running work"
        );
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(s.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            // Their jobs stay leased and are reclaimed when the lease expires.
            tracing::warn!(
                left = tasks.len(),
                "work still running after the grace period: stopped; its jobs will be reclaimed"
            );
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        if let Some(h) = http {
            match tokio::time::timeout(Duration::from_secs(5), h).await {
                Ok(Ok(Err(e))) => return Err(ServiceError::Http(e)),
                Ok(_) => {}
                Err(_) => tracing::warn!("HTTP server did not stop in 5 s"),
            }
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Binds the HTTP listener (port 0 picks a free one; see `local_addr`).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServiceError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServiceError::Listen { addr, source })
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT"),
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
