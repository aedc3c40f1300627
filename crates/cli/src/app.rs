//! Wiring: configuration, data dir, and the real implementations of the core ports.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use podsift_core::{Config, Store, SystemClock};
use podsift_fetch::HttpFetcher;
use podsift_poller::{Poller, PollerSettings};
use podsift_store::SqliteStore;

use crate::Cli;

/// Everything a command needs.
pub struct App {
    pub config: Config,
    pub data_dir: PathBuf,
    pub store: Arc<dyn Store>,
    /// The same database, as the LLM answer cache.
    pub cache: Arc<dyn podsift_core::LlmCache>,
    pub poller: Poller,
    /// Audio downloads (the same guarded HTTP client as the poller's).
    pub downloader: Arc<dyn podsift_core::Downloader>,
    pub quiet: bool,
    /// `--user EMAIL`: the user the command acts as (else the local user).
    pub user_email: Option<String>,
}

/// Defaults, then the TOML file, then `PODSIFT_*` variables (`PODSIFT_HTTP__TIMEOUT_SECS=10`),
/// then command-line flags.
pub fn load_config(cli: &Cli) -> Result<Config> {
    let mut fig = Figment::from(Serialized::defaults(Config::default()));
    let file = match &cli.config {
        Some(path) => {
            if !path.exists() {
                bail!("config file {} does not exist", path.display());
            }
            Some(path.clone())
        }
        None => dirs::config_dir()
            .map(|d| d.join("podsift").join("config.toml"))
            .filter(|p| p.exists()),
    };
    if let Some(path) = &file {
        fig = fig.merge(Toml::file(path));
    }
    // Only the variables that name config keys: PODSIFT_DATA_DIR/PODSIFT_CONFIG are flags.
    fig = fig.merge(
        Env::prefixed("PODSIFT_")
            .ignore(&["CONFIG", "CORPORA", "USER"])
            .split("__"),
    );
    let mut config: Config = fig.extract().with_context(|| match &file {
        Some(p) => format!("invalid configuration in {}", p.display()),
        None => "invalid configuration".to_string(),
    })?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir = Some(dir.clone());
    }
    if cli.allow_private_networks {
        config.allow_private_networks = true;
    }
    Ok(config)
}

pub fn data_dir(config: &Config) -> Result<PathBuf> {
    match &config.data_dir {
        Some(d) => Ok(d.clone()),
        None => dirs::data_dir()
            .map(|d| d.join("podsift"))
            .context("no platform data dir: pass --data-dir"),
    }
}

/// The database: `database_url` (`sqlite://…` or `postgres://…`), else `DATA_DIR/podsift.db`.
async fn open_database(config: &Config, dir: &Path) -> Result<Arc<dyn podsift_store::Database>> {
    match config.database_url.as_deref() {
        Some(url) => podsift_store::connect_database(url).await.with_context(|| {
            format!(
                "cannot open the database {}",
                podsift_store::redact_url(url)
            )
        }),
        None => {
            let path = dir.join("podsift.db");
            let store = SqliteStore::open(&path)
                .await
                .with_context(|| format!("cannot open the database {}", path.display()))?;
            Ok(Arc::new(store))
        }
    }
}

impl App {
    pub async fn new(cli: &Cli) -> Result<Self> {
        let config = load_config(cli)?;
        let dir = data_dir(&config)?;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the data dir {}", dir.display()))?;
        let db = open_database(&config, &dir).await?;
        let store: Arc<dyn Store> = db.clone();
        let cache: Arc<dyn podsift_core::LlmCache> = db;
        let fetcher = HttpFetcher::new(&config.http, config.allow_private_networks)
            .context("cannot set up the HTTP client")?;
        let fetcher = Arc::new(fetcher);
        let poller = Poller::new(
            store.clone(),
            fetcher.clone(),
            Arc::new(SystemClock),
            PollerSettings::new(&config.poll, &config.http)
                .with_transcription(crate::asr::enabled(&config.asr)),
        );
        Ok(Self {
            config,
            data_dir: dir,
            store,
            cache,
            poller,
            downloader: fetcher,
            quiet: cli.quiet,
            user_email: cli.user.clone(),
        })
    }

    /// The user given with `--user EMAIL` (who must exist), else the local user (created on
    /// first use).
    pub async fn user(&self) -> Result<podsift_core::UserId> {
        match &self.user_email {
            Some(email) => match self.store.user_by_email(email).await? {
                Some(u) => Ok(u.id),
                None => bail!("no user {email:?} (add one with `podsift users add {email}`)"),
            },
            None => Ok(self.store.default_user(chrono::Utc::now()).await?),
        }
    }
}
