//! The one place the pipeline is put together from the configuration and the real adapters
//! (the [`Ports`]), and the one-pass driver of `podsift run`. `podsift serve`/`worker` loop
//! the same [`Pipeline::stages`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use podsift_core::config::AsrEngine;
use podsift_core::{Channel, Config, Fetcher, JobKind, Llm, LlmCache, Store};
use podsift_poller::{Poller, PollerSettings};

use crate::stage::{ExtractStage, FetchStage, Stage, StageError, StageEvents};
use crate::{DeliveryPolicy, DigestRecipe, Extractor, Ranker, SharedClock, SmtpServer};

/// The adapters the pipeline runs on, built by the binary (or a test) from the configuration.
pub struct Ports {
    pub store: Arc<dyn Store>,
    /// The LLM answer cache (the same database in the binary).
    pub cache: Arc<dyn LlmCache>,
    pub clock: SharedClock,
    /// Feed polling and the transcript and chapter downloads ([`build_poller`]; the binary's
    /// commands share the same one).
    pub poller: Arc<Poller>,
    /// The insight engine (started on its first request when it is local).
    pub llm: Arc<dyn Llm>,
    /// The speech-to-text stage (`None` when `[asr] engine = "off"`); built lazily by the
    /// binary, since its engine loads or downloads a model.
    pub speech: Option<Arc<dyn Stage>>,
    /// The embeddings ranking (`None`: the simple selection).
    pub ranker: Option<Ranker>,
    /// Signs the digest's 👍/👎 links.
    pub feedback_secret: Option<Vec<u8>>,
    /// Channels only the local reader has (the CLI's digest files).
    pub local_channels: Vec<Arc<dyn Channel>>,
}

/// Every stage, the poller and the digest recipe.
pub struct Pipeline {
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub poller: Arc<Poller>,
    /// Job stages in pipeline order, each with its concurrency (worker loops in the service).
    pub stages: Vec<(Arc<dyn Stage>, usize)>,
    pub recipe: DigestRecipe,
    /// Every job's lease, renewed by heartbeats while it runs.
    pub lease: Duration,
}

/// What [`Pipeline::drain`] did.
#[derive(Debug, Default)]
pub struct Drained {
    /// Jobs run.
    pub jobs: usize,
    /// Stages that failed as a whole (their work stays queued for the next run).
    pub errors: Vec<StageError>,
    /// Jobs still held by another live process when the wait ended.
    pub left_to_others: u64,
}

/// The feed poller of `config` (`[poll]`, `[http]` caps, the job lease; speech-to-text jobs
/// for episodes without a transcript unless `[asr] engine = "off"`). The CLI's `subscribe`
/// and `poll` use it too.
pub fn build_poller(
    config: &Config,
    store: Arc<dyn Store>,
    fetcher: Arc<dyn Fetcher>,
    clock: SharedClock,
) -> Poller {
    Poller::new(
        store,
        fetcher,
        clock,
        PollerSettings::new(&config.poll, &config.http)
            .with_transcription(config.asr.engine != AsrEngine::Off)
            .with_job_lease(config.service.job_lease()),
    )
}

impl Pipeline {
    /// The pipeline of `config` on `ports`: poller, fetch, speech-to-text and extraction
    /// stages with one lease (`[service] job_lease_secs`), and the digest recipe.
    pub fn build(config: &Config, ports: Ports) -> Self {
        let lease = config.service.job_lease();
        let poller = ports.poller;
        let daily =
            crate::DailyEditor::from_config(ports.llm.clone(), ports.cache.clone(), &config.llm);
        let extractor = Extractor::new(
            ports.store.clone(),
            ports.llm,
            ports.cache,
            ports.clock.clone(),
            config.llm.clone(),
        )
        .with_lease(lease)
        .with_interests(podsift_ranking::interest_labels(&config.ranking.interests));
        let mut stages: Vec<(Arc<dyn Stage>, usize)> = vec![(
            Arc::new(FetchStage {
                poller: poller.clone(),
                concurrency: 4,
            }),
            1,
        )];
        if let Some(speech) = ports.speech {
            // One at a time: each transcription uses every core.
            stages.push((speech, 1));
        }
        stages.push((
            Arc::new(ExtractStage {
                extractor: Arc::new(extractor),
            }),
            config.llm.concurrency.max(1),
        ));
        let recipe = DigestRecipe {
            store: ports.store.clone(),
            clock: ports.clock.clone(),
            digest: config.digest.clone(),
            ranker: ports.ranker,
            feedback_secret: ports.feedback_secret,
            delivery: DeliveryPolicy {
                stale_send: Duration::from_secs(config.service.stale_send_secs.max(1)),
                retry_base: Duration::from_secs(config.service.delivery_retry_secs.max(1)),
            },
            smtp: SmtpServer::from_config(&config.email, config.digest.base_url.clone()),
            local_address: config.email.to.clone(),
            local_channels: ports.local_channels,
            channel_options: crate::recipe::channel_options(config),
            daily,
        };
        Self {
            store: ports.store,
            clock: ports.clock,
            poller,
            stages,
            recipe,
            lease,
        }
    }

    /// The job kinds of these stages.
    fn kinds_of<'a>(stages: impl Iterator<Item = &'a Arc<dyn Stage>>) -> Vec<JobKind> {
        let mut kinds: Vec<JobKind> = stages.flat_map(|s| s.kinds().iter().copied()).collect();
        kinds.dedup();
        kinds
    }

    /// `podsift run`'s pass: every stage in order until the store says no job of theirs is
    /// runnable (queued and due, or leased by a process that vanished). Jobs another live
    /// process holds are waited for up to twice the lease, so a job of a killed run is taken
    /// over as soon as its lease runs out; `waiting` hears how many are held. A stage that
    /// fails as a whole is reported and left out of the rest of the pass.
    pub async fn drain(
        &self,
        worker: &str,
        events: &dyn StageEvents,
        waiting: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<Drained, podsift_core::StoreError> {
        let mut out = Drained::default();
        let mut failed: Vec<&'static str> = Vec::new();
        let mut wait_started: Option<Instant> = None;
        // A pass that ran nothing while the store says work is runnable (a race with another
        // worker, or a clock step) is tried again a few times, not forever.
        let mut idle_passes = 0;
        loop {
            let mut ran = 0;
            for (stage, _) in &self.stages {
                if failed.contains(&stage.name()) {
                    continue;
                }
                match stage.run(worker, events).await {
                    Ok(n) => ran += n,
                    Err(e) => {
                        tracing::warn!("{e}");
                        failed.push(stage.name());
                        out.errors.push(e);
                    }
                }
            }
            out.jobs += ran;
            if ran > 0 {
                idle_passes = 0;
                wait_started = None;
                continue;
            }
            let kinds = Self::kinds_of(
                self.stages
                    .iter()
                    .map(|(s, _)| s)
                    .filter(|s| !failed.contains(&s.name())),
            );
            let backlog = self.store.job_backlog(&kinds, self.clock.now()).await?;
            if backlog.runnable > 0 && idle_passes < 3 {
                idle_passes += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            if backlog.leased == 0 {
                break;
            }
            let since = *wait_started.get_or_insert_with(Instant::now);
            if since.elapsed() > self.lease * 2 {
                out.left_to_others = backlog.leased;
                break;
            }
            waiting(backlog.leased);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(out)
    }
}
