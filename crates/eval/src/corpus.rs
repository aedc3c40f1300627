//! The Python Bytes corpus on disk: `python-bytes/show_notes/*.md` and
//! `python-bytes/transcripts/*.vtt`, paired by episode number.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::EvalError;

/// Largest transcript file read.
pub const MAX_TRANSCRIPT_BYTES: u64 = 20 * 1024 * 1024;
/// Most files listed in one corpus folder.
pub const MAX_FILES: usize = 10_000;

/// One episode that has both show notes and a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeFiles {
    /// The episode number.
    pub number: u32,
    /// Its show notes.
    pub notes: PathBuf,
    /// Its VTT transcript.
    pub transcript: PathBuf,
}

/// The episode number in a file name: the first run of digits (`398.md`, `PB 485.md`,
/// `399-c-will-watch-you-in-silence.vtt`).
pub fn episode_number(file_name: &str) -> Option<u32> {
    let digits: String = file_name
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    if digits.is_empty() || digits.len() > 6 {
        return None;
    }
    digits.parse().ok()
}

fn list(dir: &Path, ext: &str) -> Result<BTreeMap<u32, PathBuf>, EvalError> {
    let rd = std::fs::read_dir(dir).map_err(|e| EvalError::io(dir, e))?;
    let mut out = BTreeMap::new();
    for entry in rd.take(MAX_FILES) {
        let path = entry.map_err(|e| EvalError::io(dir, e))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some(ext) {
            continue;
        }
        let Some(n) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(episode_number)
        else {
            continue;
        };
        // Two files for one number: keep the first by name, deterministically.
        out.entry(n)
            .and_modify(|p: &mut PathBuf| {
                if path < *p {
                    p.clone_from(&path);
                }
            })
            .or_insert(path);
    }
    Ok(out)
}

/// The show-notes folder under a corpora root.
pub fn notes_dir(corpora: &Path) -> PathBuf {
    corpora.join("03_longform/python-bytes/show_notes")
}

/// The transcripts folder under a corpora root.
pub fn transcripts_dir(corpora: &Path) -> PathBuf {
    corpora.join("03_longform/python-bytes/transcripts")
}

/// Every episode with both files, oldest first. `corpora` is the corpora root (the folder
/// holding `03_longform`).
pub fn paired_episodes(corpora: &Path) -> Result<Vec<EpisodeFiles>, EvalError> {
    let notes = list(&notes_dir(corpora), "md")?;
    let transcripts = list(&transcripts_dir(corpora), "vtt")?;
    Ok(notes
        .into_iter()
        .filter_map(|(number, notes)| {
            transcripts.get(&number).map(|t| EpisodeFiles {
                number,
                notes,
                transcript: t.clone(),
            })
        })
        .collect())
}

/// Reads a UTF-8 (lossy) text file of at most `max` bytes.
pub fn read_bounded(path: &Path, max: u64) -> Result<String, EvalError> {
    let meta = std::fs::metadata(path).map_err(|e| EvalError::io(path, e))?;
    if meta.len() > max {
        return Err(EvalError::TooLarge {
            path: path.to_owned(),
            size: meta.len(),
            limit: max,
        });
    }
    let bytes = std::fs::read(path).map_err(|e| EvalError::io(path, e))?;
    Ok(podsift_transcripts::decode_text(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episode_numbers_from_file_names() {
        assert_eq!(episode_number("398.md"), Some(398));
        assert_eq!(episode_number("PB 485.md"), Some(485));
        assert_eq!(
            episode_number("399-c-will-watch-you-in-silence.vtt"),
            Some(399)
        );
        assert_eq!(episode_number("002_python_bytes.vtt"), Some(2));
        assert_eq!(episode_number("README.md"), None);
    }
}
