//! The first-run offer: before podsift downloads its own model, a model the user already runs
//! (Ollama, LM Studio, llama.cpp's server) is offered, and the answer kept in
//! `DATA_DIR/llm-choice.json` so the question is asked once.
//!
//! The saved choice only applies while the config leaves the engine at its default (`local`,
//! no `local_model_path`): an engine set in the config always wins.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use podsift_core::config::{LlmConfig, LlmEngine};
use podsift_insights::engines::detect::{self, DetectedModel, ProbeTargets};
use podsift_llm_local::DEFAULT_MODEL;
use serde::{Deserialize, Serialize};

/// The file, in the data dir.
pub const FILE: &str = "llm-choice.json";

/// Largest choice file read.
const MAX_BYTES: u64 = 64 * 1024;

/// What the user chose, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub engine: LlmEngine,
    pub base_url: Option<String>,
    pub model: Option<String>,
    /// `found installed`, or `declined Ollama's qwen3:4b`.
    pub why: String,
    /// RFC 3339, UTC.
    pub when: String,
}

impl Choice {
    /// `cfg` with this choice's engine, server and model.
    pub fn apply(&self, cfg: &LlmConfig) -> LlmConfig {
        let mut out = cfg.clone();
        out.engine = self.engine;
        if self.engine != LlmEngine::Local {
            out.base_url = self.base_url.clone();
            out.model = self.model.clone();
        }
        out
    }

    /// The day it was made (`2026-12-02`).
    pub fn date(&self) -> String {
        chrono::DateTime::parse_from_rfc3339(&self.when)
            .map(|t| t.date_naive().to_string())
            .unwrap_or_else(|_| self.when.chars().take(10).collect())
    }

    fn new(engine: LlmEngine, found: Option<&DetectedModel>, why: String) -> Self {
        Self {
            engine,
            base_url: found.map(DetectedModel::base_url),
            model: found.map(|m| m.name.clone()),
            why,
            when: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// The saved choice; none when there is none or it cannot be read (then the question is
/// asked again).
pub fn load(data_dir: &Path) -> Option<Choice> {
    let path = path(data_dir);
    let meta = std::fs::metadata(&path).ok()?;
    if meta.len() > MAX_BYTES {
        tracing::warn!(path = %path.display(), "ignoring an oversized model choice file");
        return None;
    }
    let bytes = std::fs::read(&path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable model choice file");
            None
        }
    }
}

/// Writes the choice (through a temporary file, so a crash leaves the old one or none).
pub fn save(data_dir: &Path, choice: &Choice) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let path = path(data_dir);
    let tmp = path.with_extension("json.tmp");
    let json = serde_json::to_vec_pretty(choice).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, &path)
}

/// Probes `targets` and offers the best model found: asked on a terminal (and saved), else
/// one warning line with the config that would use it. The engine to use instead of the
/// default download, if any.
pub fn offer(data_dir: &Path, quiet: bool, targets: &ProbeTargets) -> Option<Choice> {
    let found = super::blocking(detect::detect(targets, detect::PROBE_TIMEOUT))
        .ok()?
        .into_iter()
        .next()?;
    let interactive = !quiet && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let ask = |q: &str| -> Option<bool> {
        let mut err = std::io::stderr();
        let _ = write!(err, "{q} ");
        let _ = err.flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(matches!(
                line.trim().to_lowercase().as_str(),
                "" | "y" | "yes"
            )),
        }
    };
    decide(data_dir, &found, interactive.then_some(&ask as &Ask<'_>))
}

/// Puts a yes/no question; none when there is no answer (stdin closed).
pub type Ask<'a> = dyn Fn(&str) -> Option<bool> + 'a;

/// The offer of `found`: `ask` puts the question (none: not interactive, warn instead); an
/// answer is saved.
pub fn decide(data_dir: &Path, found: &DetectedModel, ask: Option<&Ask<'_>>) -> Option<Choice> {
    let host = found
        .root
        .split_once("://")
        .map_or(found.root.as_str(), |(_, h)| h);
    let Some(ask) = ask else {
        eprintln!(
            "warning: {}'s {} is installed (at {host}), but podsift uses its own default model {}; \
             to use {} instead, set in the config's [llm] section: {}",
            found.server,
            found.name,
            DEFAULT_MODEL.name,
            found.name,
            config_lines(found)
        );
        return None;
    };
    let question = format!(
        "Use {}'s {} (found at {host}) instead of downloading {} ({})? [Y/n]",
        found.server,
        found.name,
        DEFAULT_MODEL.name,
        human_size(DEFAULT_MODEL.size)
    );
    let choice = match ask(&question)? {
        true => Choice::new(found.engine(), Some(found), "found installed".into()),
        false => Choice::new(
            LlmEngine::Local,
            None,
            format!("declined {}'s {}", found.server, found.name),
        ),
    };
    match save(data_dir, &choice) {
        Ok(()) => eprintln!(
            "saved in {} (delete it to be asked again)",
            path(data_dir).display()
        ),
        Err(e) => eprintln!("warning: cannot save the choice ({e}); it applies to this run only"),
    }
    Some(choice)
}

/// The `[llm]` lines that select `m`.
fn config_lines(m: &DetectedModel) -> String {
    match m.engine() {
        LlmEngine::Ollama if m.root == podsift_insights::engines::ollama::DEFAULT_BASE_URL => {
            format!("engine = \"ollama\", model = \"{}\"", m.name)
        }
        engine => format!(
            "engine = \"{engine}\", base_url = \"{}\", model = \"{}\"",
            m.base_url(),
            m.name
        ),
    }
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1_000_000_000 {
        format!("{:.1} GB", bytes as f64 / 1e9)
    } else {
        format!("{} MB", bytes.div_ceil(1_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use podsift_insights::engines::detect::ServerKind;

    fn found() -> DetectedModel {
        DetectedModel {
            server: ServerKind::Ollama,
            root: "http://127.0.0.1:11434".into(),
            name: "qwen3:4b".into(),
            params_b: 4.0,
            size_bytes: Some(2_500_000_000),
        }
    }

    #[test]
    fn an_answer_is_saved_and_applies_only_to_the_default_engine() {
        let dir = tempfile::tempdir().unwrap();
        // Not interactive: nothing chosen, nothing saved.
        assert_eq!(decide(dir.path(), &found(), None), None);
        assert_eq!(load(dir.path()), None);
        // No answer (stdin closed): nothing saved either.
        let eof = |_: &str| None;
        assert_eq!(decide(dir.path(), &found(), Some(&eof)), None);
        assert_eq!(load(dir.path()), None);

        let asked = std::cell::RefCell::new(String::new());
        let yes = |q: &str| {
            asked.replace(q.to_owned());
            Some(true)
        };
        let c = decide(dir.path(), &found(), Some(&yes)).unwrap();
        assert!(asked.borrow().starts_with(
            "Use Ollama's qwen3:4b (found at 127.0.0.1:11434) instead of downloading"
        ));
        assert_eq!(load(dir.path()), Some(c.clone()));
        assert_eq!(
            (c.engine, c.model.as_deref()),
            (LlmEngine::Ollama, Some("qwen3:4b"))
        );
        // Later runs use it, without asking.
        let built = super::super::build(&LlmConfig::default(), dir.path(), true).unwrap();
        assert_eq!(built.model_id(), "ollama:qwen3:4b");
        let cfg = c.apply(&LlmConfig::default());
        assert_eq!(cfg.engine, LlmEngine::Ollama);
        assert_eq!(cfg.base_url.as_deref(), Some("http://127.0.0.1:11434"));
        let line = super::super::describe(&LlmConfig::default(), dir.path());
        assert_eq!(
            line,
            format!(
                "insights: ollama qwen3:4b at http://127.0.0.1:11434 (chosen on {}: found installed)",
                c.date()
            )
        );
        // An engine set in the config wins over the saved choice.
        let configured = LlmConfig {
            engine: LlmEngine::Openai,
            model: Some("gpt-4o-mini".into()),
            ..LlmConfig::default()
        };
        assert_eq!(
            super::super::describe(&configured, dir.path()),
            "insights: openai gpt-4o-mini (configured)"
        );
        let own_file = LlmConfig {
            local_model_path: Some("/m/own.gguf".into()),
            ..LlmConfig::default()
        };
        assert_eq!(
            super::super::describe(&own_file, dir.path()),
            "insights: local own.gguf (configured)"
        );

        // Declining is remembered too, and keeps the default.
        let no = |_: &str| Some(false);
        let c = decide(dir.path(), &found(), Some(&no)).unwrap();
        assert_eq!(c.engine, LlmEngine::Local);
        assert_eq!(load(dir.path()).unwrap().why, "declined Ollama's qwen3:4b");
        let built = super::super::build(&LlmConfig::default(), dir.path(), true).unwrap();
        assert_eq!(built.model_id(), format!("local:{}", DEFAULT_MODEL.name));
        assert!(
            super::super::describe(&LlmConfig::default(), dir.path())
                .starts_with("insights: local ")
        );
        // A corrupt file is ignored (the question comes back).
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap();
        assert_eq!(load(dir.path()), None);
    }

    #[test]
    fn config_lines_name_the_server() {
        assert_eq!(
            config_lines(&found()),
            "engine = \"ollama\", model = \"qwen3:4b\""
        );
        let lm = DetectedModel {
            server: ServerKind::LmStudio,
            root: "http://127.0.0.1:1234".into(),
            name: "qwen3-4b-instruct".into(),
            ..found()
        };
        assert_eq!(
            config_lines(&lm),
            "engine = \"openai\", base_url = \"http://127.0.0.1:1234/v1\", model = \"qwen3-4b-instruct\""
        );
        assert_eq!(human_size(491_400_064), "492 MB");
        assert_eq!(human_size(2_500_000_000), "2.5 GB");
    }
}
