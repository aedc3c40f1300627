//! Skipping a test that needs something optional, loudly, and never in CI.
//!
//! A test that needs PostgreSQL, aiosmtpd, a model, Chromium or the corpora calls [`skip`]
//! (or [`require_corpora!`](crate::require_corpora)) and returns when it is missing. With
//! `PODSIFT_REQUIRE_ALL=1` (set by `.ci/run`) a skip is a failure naming what is missing.
//! Otherwise the skip is printed to stderr and, when `PODSIFT_SKIP_LOG` names a file, appended
//! to it, so `scripts/test` can count the skipped tests at the end (`cargo test` hides a
//! passing test's stderr).

use std::io::Write;

/// The variable that turns every skip into a failure.
pub const REQUIRE_ALL_VAR: &str = "PODSIFT_REQUIRE_ALL";
/// The file skips are appended to, one line each.
pub const SKIP_LOG_VAR: &str = "PODSIFT_SKIP_LOG";

/// True when skipping is forbidden (`PODSIFT_REQUIRE_ALL` set to anything but `0` or empty).
pub fn require_all() -> bool {
    std::env::var(REQUIRE_ALL_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Records that `test` does not run because `missing` is missing: panics under
/// `PODSIFT_REQUIRE_ALL=1`, else prints a loud SKIP line (and logs it). The caller returns.
#[track_caller]
pub fn skip(test: &str, missing: &str) {
    if require_all() {
        panic!("{test} cannot run: {missing} ({REQUIRE_ALL_VAR}=1 makes a skip a failure)");
    }
    eprintln!("\n*** SKIP {test}: {missing} — this test did NOT run ***\n");
    if let Some(path) = std::env::var_os(SKIP_LOG_VAR).filter(|p| !p.is_empty()) {
        // One short write per line: appends from parallel test processes do not interleave.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let line = format!("{test}: {}\n", missing.replace('\n', " "));
            let _ = f.write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Both cases in one test: the variable is process-wide.
    #[test]
    fn skip_logs_or_fails() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("skips.log");
        // SAFETY: this crate's tests do not read these variables from other threads.
        unsafe {
            std::env::set_var(SKIP_LOG_VAR, &log);
            std::env::remove_var(REQUIRE_ALL_VAR);
        }
        skip("demo_test", "a thing\non two lines");
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "demo_test: a thing on two lines\n"
        );
        unsafe { std::env::set_var(REQUIRE_ALL_VAR, "1") };
        let failed = std::panic::catch_unwind(|| skip("demo_test", "a thing"));
        unsafe {
            std::env::remove_var(REQUIRE_ALL_VAR);
            std::env::remove_var(SKIP_LOG_VAR);
        }
        let msg = failed.unwrap_err();
        let msg = msg.downcast_ref::<String>().unwrap();
        assert!(msg.contains("demo_test cannot run: a thing"), "{msg}");
    }
}
