//! An insight's stable identity across re-extractions, and fenced writes: the plan both
//! stores carry out when an episode's insights are saved again.

use std::collections::HashMap;

use podsift_core::insight::InsightDraft;

/// An insight's identity within its episode: the words of its quote (case, punctuation and
/// spacing aside). A redo that quotes the same passage gives the same insight, whatever the
/// model now writes about it; the `n`th insight on one quote is matched to the `n`th.
pub(crate) fn quote_key(quote: &str) -> String {
    quote
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What saving `drafts` over an episode's `existing` insights (id, quote; in id order) does.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Plan {
    /// `ids[i]`: the stored insight draft `i` updates, or `None` for a new row.
    pub ids: Vec<Option<i64>>,
    /// Earlier insights the redo no longer gives: deleted, or retired when they were sent
    /// or voted on.
    pub gone: Vec<i64>,
}

pub(crate) fn plan(existing: &[(i64, String)], drafts: &[InsightDraft]) -> Plan {
    let mut by_key: HashMap<String, Vec<i64>> = HashMap::new();
    for (id, quote) in existing {
        by_key.entry(quote_key(quote)).or_default().push(*id);
    }
    for ids in by_key.values_mut() {
        ids.reverse(); // pop() hands them out in id order
    }
    let ids = drafts
        .iter()
        .map(|d| by_key.get_mut(&quote_key(&d.quote)).and_then(Vec::pop))
        .collect();
    let mut gone: Vec<i64> = by_key.into_values().flatten().collect();
    gone.sort_unstable();
    Plan { ids, gone }
}

/// Marks an insight retired when anything refers to it (a vote, a digest), so the row and
/// its votes stay. Binds: now, id.
pub(crate) const RETIRE_REFERENCED: &str = "UPDATE insights SET retired_at = COALESCE(retired_at, $1) \
     WHERE id = $2 AND (EXISTS (SELECT 1 FROM feedback f WHERE f.insight_id = insights.id) \
     OR EXISTS (SELECT 1 FROM digest_items d WHERE d.insight_id = insights.id))";

/// The error of a fenced write whose claim no longer holds its job.
pub(crate) fn lease_lost(f: &podsift_core::jobs::Fence) -> podsift_core::store::StoreError {
    podsift_core::store::StoreError::LeaseLost(format!(
        "job {} is no longer held by {} (claim {}); nothing written",
        f.job, f.worker, f.attempt
    ))
}

/// The fence check: the job still runs under this worker and this claim. Binds: job,
/// worker, attempt.
pub(crate) const FENCE_HELD: &str = "SELECT attempts FROM jobs WHERE id = $1 \
     AND state = 'running' AND lease_owner = $2 AND attempts = $3";

/// `check_fence!(pool, tx, fence)`: `Ok(())` unless `fence` (an `Option<&Fence>`) no longer
/// holds its job, checked inside the write's transaction `tx`. On SQLite that transaction holds
/// the write lock, so no claim can come between; on PostgreSQL the job row stays locked
/// (`FOR UPDATE`) to the end of the transaction, so a claim that would take the job over waits
/// for this write and a write never lands after a takeover. A macro: `tx` is a transaction of
/// either database (one expansion per `db_run!` arm).
macro_rules! check_fence {
    ($pool:expr, $tx:expr, $fence:expr) => {
        match $fence {
            None => Ok(()),
            Some(f) => {
                let sql = format!(
                    "{}{}",
                    $crate::identity::FENCE_HELD,
                    $crate::db::Backend::for_update($pool)
                );
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                    .bind(f.job)
                    .bind(&f.worker)
                    .bind(i64::from(f.attempt))
                    .fetch_optional(&mut *$tx)
                    .await
                    .map_err($crate::error::map_sqlx_error)
                    .and_then(|held| {
                        held.map(|_| ())
                            .ok_or_else(|| $crate::identity::lease_lost(f))
                    })
            }
        }
    };
}
pub(crate) use check_fence;

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(quote: &str) -> InsightDraft {
        InsightDraft {
            quote: quote.into(),
            ..InsightDraft::default()
        }
    }

    #[test]
    fn same_quote_same_insight() {
        let existing = vec![
            (10, "Cod quotas were cut in half.".to_string()),
            (11, "The ferry carries 400 people.".to_string()),
            (12, "Cod quotas were cut in half.".to_string()),
            (13, "Gone now.".to_string()),
        ];
        let p = plan(
            &existing,
            &[
                draft("the ferry  carries 400 people"),
                draft("New one."),
                draft("COD quotas were cut in half!"),
                draft("Cod quotas were cut in half."),
                draft("Cod quotas were cut in half."),
            ],
        );
        assert_eq!(p.ids, vec![Some(11), None, Some(10), Some(12), None]);
        assert_eq!(p.gone, vec![13]);
    }
}
