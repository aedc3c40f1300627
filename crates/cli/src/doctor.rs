//! `podsift doctor`: what this configuration needs, checked one line at a time, each problem
//! with its fix. Exits 1 when something the configuration needs is missing or unreachable
//! (a model that will be downloaded on first use is not a problem, only said).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use podsift_core::Config;
use podsift_core::config::{AsrEngine, LlmEngine};
use serde::Serialize;

use crate::Cli;
use crate::output::print_json;

/// How long a reachability check may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Free space below which the data directory is a problem (models and audio live there).
const MIN_FREE_BYTES: u64 = 2 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    /// Works, but worth knowing (a download to come, a feature off).
    Note,
    Fail,
}

#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    status: Status,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

fn check(check: &'static str, status: Status, detail: String, fix: Option<String>) -> Check {
    Check {
        check,
        status,
        detail,
        fix,
    }
}

pub async fn doctor(cli: &Cli, json: bool) -> Result<()> {
    let config = crate::app::load_config(cli)?;
    let data_dir = crate::app::data_dir(&config)?;
    let mut checks = vec![data_dir_check(&data_dir)];
    checks.push(database(&config, &data_dir).await);
    checks.push(llm(&config, &data_dir).await);
    if config.llm.engine == LlmEngine::Local {
        checks.push(local_runtime(&config));
    }
    checks.extend(speech(&config, &data_dir));
    checks.push(smtp(&config).await);
    checks.push(base_url(&config));
    if json {
        print_json(&checks)?;
    } else {
        for c in &checks {
            let mark = match c.status {
                Status::Ok => "ok  ",
                Status::Note => "note",
                Status::Fail => "FAIL",
            };
            println!("{mark} {:<14} {}", c.check, c.detail);
            if let Some(fix) = &c.fix {
                let label = if c.status == Status::Fail {
                    "fix"
                } else {
                    "hint"
                };
                println!("     {:<14} {label}: {fix}", "");
            }
        }
    }
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.check)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("doctor: {} needs attention", failed.join(", "))
    }
}

fn data_dir_check(dir: &Path) -> Check {
    if let Err(e) = std::fs::create_dir_all(dir) {
        return check(
            "data directory",
            Status::Fail,
            format!("{}: {e}", dir.display()),
            Some("pass --data-dir to a writable directory".into()),
        );
    }
    match free_bytes(dir) {
        Some(free) if free < MIN_FREE_BYTES => check(
            "data directory",
            Status::Fail,
            format!("{}: {} free", dir.display(), gib(free)),
            Some(format!(
                "free space (models and audio need {} or more), or use another --data-dir",
                gib(MIN_FREE_BYTES)
            )),
        ),
        Some(free) => check(
            "data directory",
            Status::Ok,
            format!("{}: {} free", dir.display(), gib(free)),
            None,
        ),
        None => check(
            "data directory",
            Status::Ok,
            dir.display().to_string(),
            None,
        ),
    }
}

async fn database(config: &Config, dir: &Path) -> Check {
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("podsift.db").display()));
    let shown = podsift_store::redact_url(&url);
    match podsift_store::connect_database(&url).await {
        Ok(db) => {
            let feeds = db.list_feeds(None).await.map(|f| f.len()).unwrap_or(0);
            let users = db.list_users().await.map(|u| u.len()).unwrap_or(0);
            check(
                "database",
                Status::Ok,
                format!("{shown} (migrated; {feeds} feeds, {users} users)"),
                None,
            )
        }
        Err(e) => check(
            "database",
            Status::Fail,
            format!("{shown}: {e}"),
            Some("check database_url (PODSIFT_DATABASE_URL) and that the server runs".into()),
        ),
    }
}

async fn llm(config: &Config, dir: &Path) -> Check {
    let cfg = &config.llm;
    match cfg.engine {
        LlmEngine::Local => {
            if let Some(p) = &cfg.local_model_path {
                return if p.is_file() {
                    check(
                        "language model",
                        Status::Ok,
                        format!("local {}", p.display()),
                        None,
                    )
                } else {
                    check(
                        "language model",
                        Status::Fail,
                        format!("local_model_path {} does not exist", p.display()),
                        Some("point [llm] local_model_path at a GGUF file".into()),
                    )
                };
            }
            match podsift_llm_local::entry_for(cfg.local_model.as_deref()) {
                Ok(m) => {
                    let path = dir.join("models").join(m.spec.name.as_ref());
                    if path.is_file() {
                        check(
                            "language model",
                            Status::Ok,
                            format!("local {} ({})", m.spec.name, path.display()),
                            None,
                        )
                    } else {
                        check(
                            "language model",
                            Status::Note,
                            format!(
                                "local {}: {} is downloaded to {} on first use (about {} of memory)",
                                m.spec.name,
                                gib(m.spec.size),
                                dir.join("models").display(),
                                gib(m.ram_bytes())
                            ),
                            Some(
                                "or use a running Ollama or an API: [llm] engine = \"ollama\" | \"openai\" | \"anthropic\""
                                    .into(),
                            ),
                        )
                    }
                }
                Err(e) => check(
                    "language model",
                    Status::Fail,
                    e.to_string(),
                    Some("see `podsift models list`".into()),
                ),
            }
        }
        engine => {
            let base = cfg.base_url.clone().unwrap_or_else(|| match engine {
                LlmEngine::Ollama => "http://127.0.0.1:11434".into(),
                LlmEngine::Anthropic => "https://api.anthropic.com".into(),
                _ => String::new(),
            });
            let model = cfg.model.as_deref().unwrap_or("(the best one installed)");
            let key_missing = cfg
                .api_key_env
                .as_deref()
                .filter(|v| std::env::var_os(v).is_none_or(|k| k.is_empty()));
            if let Some(var) = key_missing {
                return check(
                    "language model",
                    Status::Fail,
                    format!("{engine} {model}: the API key variable {var} is not set"),
                    Some(format!("export {var}=…")),
                );
            }
            match reach(&base).await {
                Ok(()) => check(
                    "language model",
                    Status::Ok,
                    format!("{engine} {model} at {base} (reachable)"),
                    None,
                ),
                Err(e) => check(
                    "language model",
                    Status::Fail,
                    format!("{engine} {model} at {base}: {e}"),
                    Some("start the server, or fix [llm] base_url".into()),
                ),
            }
        }
    }
}

/// The `podsift-llm` binary the local engine starts.
fn local_runtime(config: &Config) -> Check {
    let found = match &config.llm.local_server_bin {
        Some(p) if p.is_file() => Ok(p.clone()),
        Some(p) => Err(format!("local_server_bin {} does not exist", p.display())),
        None => podsift_llm_local::find_binary().map_err(|e| e.to_string()),
    };
    match found {
        Ok(p) => check("local runtime", Status::Ok, p.display().to_string(), None),
        Err(e) => check(
            "local runtime",
            Status::Fail,
            e,
            Some(
                "build it beside podsift (cargo build --release -p podsift-llm-server), or set [llm] local_server_bin"
                    .into(),
            ),
        ),
    }
}

fn speech(config: &Config, dir: &Path) -> Vec<Check> {
    let cfg = &config.asr;
    let ffmpeg = match podsift_asr::audio::AudioOptions::detect().ffmpeg {
        Some(p) => check("ffmpeg", Status::Ok, p.display().to_string(), None),
        None => check(
            "ffmpeg",
            Status::Note,
            "not found: Opus and other rare audio cannot be transcribed".into(),
            Some("install ffmpeg (apt install ffmpeg, brew install ffmpeg)".into()),
        ),
    };
    let engine = match cfg.engine {
        AsrEngine::Off => check(
            "speech-to-text",
            Status::Note,
            "off: episodes without a publisher transcript are not read".into(),
            Some("[asr] engine = \"local\"".into()),
        ),
        AsrEngine::Remote => check(
            "speech-to-text",
            Status::Ok,
            format!(
                "remote {} at {}",
                cfg.remote_model,
                cfg.remote_base_url.as_deref().unwrap_or("?")
            ),
            None,
        ),
        AsrEngine::Local => match (&cfg.model_path, podsift_asr::models::find(&cfg.model)) {
            (Some(p), _) if p.is_file() => check(
                "speech-to-text",
                Status::Ok,
                format!("local {}", p.display()),
                None,
            ),
            (Some(p), _) => check(
                "speech-to-text",
                Status::Fail,
                format!("model_path {} does not exist", p.display()),
                Some("point [asr] model_path at a ggml model".into()),
            ),
            (None, Some(entry)) => {
                let path = podsift_asr::models::cache_path(entry, &dir.join("models"));
                if path.is_file() {
                    check(
                        "speech-to-text",
                        Status::Ok,
                        format!("local {} ({})", entry.name, path.display()),
                        None,
                    )
                } else {
                    check(
                        "speech-to-text",
                        Status::Note,
                        format!(
                            "local {}: {} MB is downloaded on first use",
                            entry.name, entry.size_mb
                        ),
                        None,
                    )
                }
            }
            (None, None) => check(
                "speech-to-text",
                Status::Fail,
                format!("unknown speech model {:?}", cfg.model),
                Some("see `podsift models list`".into()),
            ),
        },
    };
    vec![engine, ffmpeg]
}

async fn smtp(config: &Config) -> Check {
    let email = &config.email;
    let Some(host) = email.smtp_host.as_deref().filter(|h| !h.trim().is_empty()) else {
        return check(
            "email",
            Status::Note,
            "no SMTP server: digests are written as files (and sent to webhooks)".into(),
            Some("[email] smtp_host, smtp_port and to".into()),
        );
    };
    let port = email.smtp_port.unwrap_or(match email.tls {
        podsift_core::config::SmtpTls::Tls => 465,
        podsift_core::config::SmtpTls::Starttls => 587,
        podsift_core::config::SmtpTls::None => 25,
    });
    match reach(&format!("smtp://{host}:{port}")).await {
        Ok(()) => check(
            "email",
            Status::Ok,
            format!("SMTP {host}:{port} ({}; reachable)", email.tls),
            None,
        ),
        Err(e) => check(
            "email",
            Status::Fail,
            format!("SMTP {host}:{port}: {e}"),
            Some("check [email] smtp_host and smtp_port".into()),
        ),
    }
}

fn base_url(config: &Config) -> Check {
    match config.digest.base_url.as_deref() {
        Some(u) => check("public URL", Status::Ok, u.to_string(), None),
        None => check(
            "public URL",
            Status::Note,
            "digest.base_url unset: digests carry no links to episode pages or 👍/👎".into(),
            Some("[digest] base_url = \"https://podsift.example.org\" (for podsift serve)".into()),
        ),
    }
}

/// A TCP connection to the URL's host and port within [`CONNECT_TIMEOUT`].
async fn reach(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    let host = url.host_str().ok_or("no host")?.to_string();
    let port = url.port_or_known_default().ok_or("no port")?;
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("cannot connect ({e})")),
        Err(_) => Err(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())),
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

/// Free bytes on the file system of `dir` (for the user; none where it cannot be read).
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a NUL-terminated string and `stat` a valid, writable statvfs.
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut stat) };
    (rc == 0).then(|| stat.f_bavail as u64 * stat.f_frsize as u64)
}
