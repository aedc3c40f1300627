//! Wiring: configuration, data dir, and the real implementations of the core ports.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use podsift_core::{Config, Store, SystemClock};
use podsift_fetch::HttpFetcher;
use podsift_pipeline::Reader;
use podsift_poller::Poller;
use podsift_store::SqlStore;

use crate::Cli;

/// Everything a command needs.
pub struct App {
    pub config: Config,
    pub data_dir: PathBuf,
    pub store: Arc<dyn Store>,
    /// The same database, as the LLM answer cache.
    pub cache: Arc<dyn podsift_core::LlmCache>,
    pub poller: Arc<Poller>,
    /// Feeds, transcripts and audio: one SSRF-guarded HTTP client.
    pub fetcher: Arc<HttpFetcher>,
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
    // Only the variables under a top-level config key (`PODSIFT_ASR__…`): others such as
    // PODSIFT_CONFIG, PODSIFT_USER or the tests' PODSIFT_REQUIRE_ALL are not configuration.
    // Inside a section, a misspelt key is refused like one in the file.
    let sections: Vec<String> = match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(keys)) => keys.keys().cloned().collect(),
        _ => Vec::new(),
    };
    fig = fig.merge(
        Env::prefixed("PODSIFT_")
            .filter(move |key| {
                let top = key.as_str().split("__").next().unwrap_or_default();
                sections.iter().any(|s| s.eq_ignore_ascii_case(top))
            })
            .ignore(&["CONFIG", "USER"])
            .split("__"),
    );
    // Typed values: a misspelt engine or channel name fails here, naming the key and what
    // it may be, before anything is fetched or downloaded.
    let mut config: Config = fig.extract().map_err(config_error)?;
    config.validate().context("invalid configuration")?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir = Some(dir.clone());
    }
    if cli.allow_private_networks {
        config.allow_private_networks = true;
    }
    Ok(config)
}

/// One line: the key as written in the file (`asr.engine`), what is wrong, and where the
/// value came from (the file, or the `PODSIFT_…` variable).
fn config_error(e: figment::Error) -> anyhow::Error {
    use figment::error::Kind;
    let Some(e) = e.into_iter().next() else {
        return anyhow::anyhow!("invalid configuration");
    };
    let key = e.path.join(".").to_lowercase();
    let what = match &e.kind {
        Kind::UnknownVariant(found, allowed) => {
            format!("{found:?} is not one of {}", allowed.join(", "))
        }
        Kind::UnknownField(found, _) if found == "allow_private_networks" => {
            return anyhow::anyhow!(
                "invalid configuration: allow_private_networks is no longer a setting (it turned \
                 the SSRF guard off for every user and URL): list the hosts to let through in \
                 [http] allow_hosts (names, addresses, networks); --allow-private-networks \
                 remains for single-user commands"
            );
        }
        Kind::UnknownField(found, allowed) => {
            format!("unknown key {found:?} (known: {})", allowed.join(", "))
        }
        other => other.to_string(),
    };
    let from = match e.metadata.as_ref().and_then(|m| m.source.as_ref()) {
        Some(figment::Source::File(path)) => format!(" (in {})", path.display()),
        _ if e
            .metadata
            .as_ref()
            .is_some_and(|m| m.name.contains("environment")) =>
        {
            format!(" (from PODSIFT_{})", e.path.join("__").to_uppercase())
        }
        _ => String::new(),
    };
    if key.is_empty() {
        anyhow::anyhow!("invalid configuration: {what}{from}")
    } else {
        anyhow::anyhow!("invalid configuration: {key}: {what}{from}")
    }
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
            let store = SqlStore::open(&path)
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
        let poller = Arc::new(podsift_pipeline::build_poller(
            &config,
            store.clone(),
            fetcher.clone(),
            Arc::new(SystemClock),
        ));
        Ok(Self {
            config,
            data_dir: dir,
            store,
            cache,
            poller,
            fetcher,
            quiet: cli.quiet,
            user_email: cli.user.clone(),
        })
    }

    /// The user given with `--user EMAIL` (who must exist), else the local user (created on
    /// first use).
    pub async fn user(&self) -> Result<podsift_core::UserId> {
        Ok(self.reader().await?.id())
    }

    /// Whose digest: the `--user EMAIL` (with their size, address and channels), else the
    /// local user.
    pub async fn reader(&self) -> Result<Reader> {
        match &self.user_email {
            Some(email) => match self.store.user_by_email(email).await? {
                Some(u) => Ok(Reader::User(u)),
                None => bail!("no user {email:?} (add one with `podsift users add {email}`)"),
            },
            None => Ok(Reader::Local {
                id: self.store.default_user(chrono::Utc::now()).await?,
            }),
        }
    }
}
