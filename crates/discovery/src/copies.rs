//! The syndication check: what identifies one episode across shows (the same enclosure, the
//! same GUID, or the same title with nearly the same duration). The store's `find_copy` asks
//! the same of the episodes already being read.

use podsift_core::ParsedEpisode;
use podsift_core::discovery::CopyKey;

/// What identifies an episode across shows.
pub fn copy_key(ep: &ParsedEpisode) -> CopyKey {
    CopyKey {
        enclosure_url: ep.enclosure.as_ref().map(|e| e.url.clone()),
        guid: ep.guid.clone(),
        title: ep.title.clone(),
        duration_seconds: ep.duration_seconds.map(u64::from),
    }
}

/// Whether two keys name one episode: the same enclosure, the same GUID, or the same title
/// (any case) with durations within two seconds.
pub fn same_episode(a: &CopyKey, b: &CopyKey) -> bool {
    let eq = |x: &Option<String>, y: &Option<String>| x.is_some() && x == y;
    eq(&a.enclosure_url, &b.enclosure_url)
        || eq(&a.guid, &b.guid)
        || match (&a.title, &b.title, a.duration_seconds, b.duration_seconds) {
            (Some(t1), Some(t2), Some(d1), Some(d2)) => {
                t1.trim().eq_ignore_ascii_case(t2.trim()) && d1.abs_diff(d2) <= 2
            }
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_found_by_enclosure_guid_or_title_and_duration() {
        let k =
            |enc: Option<&str>, guid: Option<&str>, title: Option<&str>, d: Option<u64>| CopyKey {
                enclosure_url: enc.map(Into::into),
                guid: guid.map(Into::into),
                title: title.map(Into::into),
                duration_seconds: d,
            };
        let a = k(
            Some("https://cdn/a.mp3"),
            Some("g1"),
            Some("Grid storage"),
            Some(3600),
        );
        assert!(same_episode(
            &a,
            &k(Some("https://cdn/a.mp3"), None, None, None)
        ));
        assert!(same_episode(&a, &k(None, Some("g1"), None, None)));
        assert!(same_episode(
            &a,
            &k(None, None, Some("grid STORAGE "), Some(3602))
        ));
        assert!(!same_episode(
            &a,
            &k(None, None, Some("Grid storage"), Some(3700))
        ));
        assert!(!same_episode(
            &a,
            &k(None, None, Some("Grid storage"), None)
        ));
        assert!(!same_episode(
            &k(None, None, None, None),
            &k(None, None, None, None)
        ));
    }
}
