//! `next_run` across DST transitions, `due` with catch-up, restarts, and a year of days.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use podsift_schedule::{
    DEFAULT_CATCH_UP, Decision, ScheduleError, due, local_date, next_run, parse_local_time,
    parse_tz, slot_on,
};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The runs of `local_time` in `tz` from `start`, `n` of them, chained as the daemon does.
fn chain(start: DateTime<Utc>, tz: Tz, local_time: NaiveTime, n: usize) -> Vec<DateTime<Utc>> {
    let mut out = Vec::with_capacity(n);
    let mut t = start;
    for _ in 0..n {
        t = next_run(t, tz, local_time);
        out.push(t);
    }
    out
}

// --- America/New_York: spring forward 2026-03-08 02:00 EST → 03:00 EDT; fall back
// 2026-11-01 02:00 EDT → 01:00 EST.

#[test]
fn new_york_spring_forward_gap_fires_at_first_instant_after() {
    let tz = chrono_tz::America::New_York;
    let runs = chain(utc(2026, 3, 6, 12, 0), tz, hm(2, 30), 3);
    assert_eq!(
        runs,
        vec![
            utc(2026, 3, 7, 7, 30), // 02:30 EST
            utc(2026, 3, 8, 7, 0),  // 02:30 does not exist: 03:00 EDT
            utc(2026, 3, 9, 6, 30), // 02:30 EDT
        ]
    );
    // An ordinary time on the same day just moves with the offset.
    let runs = chain(utc(2026, 3, 7, 0, 0), tz, hm(7, 0), 2);
    assert_eq!(runs, vec![utc(2026, 3, 7, 12, 0), utc(2026, 3, 8, 11, 0)]);
}

#[test]
fn new_york_fall_back_ambiguous_time_fires_once_at_first_occurrence() {
    let tz = chrono_tz::America::New_York;
    let runs = chain(utc(2026, 10, 31, 12, 0), tz, hm(1, 30), 2);
    assert_eq!(
        runs,
        vec![
            utc(2026, 11, 1, 5, 30), // 01:30 EDT, the first of the two 01:30s
            utc(2026, 11, 2, 6, 30), // 01:30 EST next day: the second 01:30 never fires
        ]
    );
    // Asked from inside the repeated hour (01:10 EST, the second pass), the second 01:30
    // of that day is not a slot either.
    assert_eq!(
        next_run(utc(2026, 11, 1, 6, 10), tz, hm(1, 30)),
        utc(2026, 11, 2, 6, 30)
    );
    // Asked from the first pass before 01:30, the first 01:30.
    assert_eq!(
        next_run(utc(2026, 11, 1, 5, 10), tz, hm(1, 30)),
        utc(2026, 11, 1, 5, 30)
    );
}

// --- Europe/Berlin: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.

#[test]
fn berlin_both_transitions() {
    let tz = chrono_tz::Europe::Berlin;
    assert_eq!(
        chain(utc(2026, 3, 28, 12, 0), tz, hm(2, 30), 2),
        vec![utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]
    );
    assert_eq!(
        chain(utc(2026, 10, 24, 12, 0), tz, hm(2, 30), 2),
        vec![utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    );
    // 07:00 on both days.
    assert_eq!(
        chain(utc(2026, 3, 28, 12, 0), tz, hm(7, 0), 2),
        vec![utc(2026, 3, 29, 5, 0), utc(2026, 3, 30, 5, 0)]
    );
    assert_eq!(
        chain(utc(2026, 10, 24, 12, 0), tz, hm(7, 0), 2),
        vec![utc(2026, 10, 25, 6, 0), utc(2026, 10, 26, 6, 0)]
    );
}

// --- Australia/Sydney (southern hemisphere): 2026-04-05 03:00 AEDT → 02:00 AEST;
// 2026-10-04 02:00 AEST → 03:00 AEDT.

#[test]
fn sydney_both_transitions() {
    let tz = chrono_tz::Australia::Sydney;
    // April: 02:30 happens twice; the first (AEDT, +11) fires.
    assert_eq!(
        chain(utc(2026, 4, 4, 0, 0), tz, hm(2, 30), 2),
        vec![utc(2026, 4, 4, 15, 30), utc(2026, 4, 5, 16, 30)]
    );
    // October: 02:30 does not exist; 03:00 AEDT.
    assert_eq!(
        chain(utc(2026, 10, 2, 12, 0), tz, hm(2, 30), 3),
        vec![
            utc(2026, 10, 2, 16, 30),
            utc(2026, 10, 3, 16, 0),
            utc(2026, 10, 4, 15, 30)
        ]
    );
    // The digest date is the local date, the day after the UTC date here.
    let t = next_run(utc(2026, 10, 3, 12, 0), tz, hm(7, 0));
    assert_eq!(t, utc(2026, 10, 3, 20, 0));
    assert_eq!(local_date(t, tz), date(2026, 10, 4));
    assert_eq!(
        due(t, t, DEFAULT_CATCH_UP, tz),
        Decision::Run {
            for_date: date(2026, 10, 4)
        }
    );
}

// --- Asia/Kolkata: +05:30 all year.

#[test]
fn kolkata_half_hour_offset_no_dst() {
    let tz = chrono_tz::Asia::Kolkata;
    // The days on which New York and Berlin change clocks change nothing here.
    for (y, m, d) in [(2026, 3, 8), (2026, 3, 29), (2026, 10, 25), (2026, 11, 1)] {
        let start = utc(y, m, d, 0, 0) - TimeDelta::hours(6);
        assert_eq!(next_run(start, tz, hm(7, 0)), utc(y, m, d, 1, 30));
        assert_eq!(
            next_run(start, tz, hm(2, 30)),
            utc(y, m, d, 0, 0) - TimeDelta::hours(3)
        );
    }
    // 23:45 local is 18:15 UTC the same date.
    let t = next_run(utc(2026, 6, 1, 0, 0), tz, hm(23, 45));
    assert_eq!(t, utc(2026, 6, 1, 18, 15));
    assert_eq!(local_date(t, tz), date(2026, 6, 1));
}

#[test]
fn next_run_is_strictly_after() {
    let tz = chrono_tz::Europe::Berlin;
    let slot = utc(2026, 6, 1, 5, 0);
    assert_eq!(next_run(slot, tz, hm(7, 0)), utc(2026, 6, 2, 5, 0));
    assert_eq!(
        next_run(slot - TimeDelta::milliseconds(1), tz, hm(7, 0)),
        slot
    );
    assert_eq!(
        next_run(slot + TimeDelta::milliseconds(1), tz, hm(7, 0)),
        utc(2026, 6, 2, 5, 0)
    );
    // Seconds in the delivery time are kept, sub-seconds dropped.
    let t = NaiveTime::from_hms_milli_opt(7, 0, 30, 250).unwrap();
    assert_eq!(
        next_run(utc(2026, 6, 1, 0, 0), tz, t),
        Utc.with_ymd_and_hms(2026, 6, 1, 5, 0, 30).unwrap()
    );
}

// --- due / catch-up

#[test]
fn due_waits_runs_and_skips() {
    let tz = chrono_tz::America::New_York;
    let slot = utc(2026, 6, 10, 11, 0); // 07:00 EDT
    let catch = Duration::from_secs(12 * 3600);
    assert_eq!(
        due(slot - TimeDelta::seconds(1), slot, catch, tz),
        Decision::Wait
    );
    let today = date(2026, 6, 10);
    assert_eq!(
        due(slot, slot, catch, tz),
        Decision::Run { for_date: today }
    );
    // Off at 07:00, back at 10:00: the missed digest goes out, for that date.
    assert_eq!(
        due(slot + TimeDelta::hours(3), slot, catch, tz),
        Decision::Run { for_date: today }
    );
    // Exactly at the edge of the window still runs; a second later it is skipped.
    assert_eq!(
        due(slot + TimeDelta::hours(12), slot, catch, tz),
        Decision::Run { for_date: today }
    );
    assert_eq!(
        due(
            slot + TimeDelta::hours(12) + TimeDelta::seconds(1),
            slot,
            catch,
            tz
        ),
        Decision::SkipMissed { for_date: today }
    );
    // A zero window only runs on time.
    assert_eq!(
        due(slot + TimeDelta::seconds(1), slot, Duration::ZERO, tz),
        Decision::SkipMissed { for_date: today }
    );
}

/// Drives `due` + `next_run` like the daemon until it waits; returns what it decided.
fn settle(
    now: DateTime<Utc>,
    stored: &mut DateTime<Utc>,
    tz: Tz,
    at: NaiveTime,
    catch: Duration,
) -> Vec<Decision> {
    let mut out = Vec::new();
    loop {
        let d = due(now, *stored, catch, tz);
        if d == Decision::Wait {
            return out;
        }
        out.push(d);
        *stored = next_run(*stored, tz, at);
        assert!(out.len() < 1000, "settle does not terminate");
    }
}

#[test]
fn machine_off_for_days_skips_old_slots_and_catches_up_the_recent_one() {
    let tz = chrono_tz::Europe::Berlin;
    let at = hm(7, 0);
    let mut stored = next_run(utc(2026, 6, 1, 0, 0), tz, at); // Mon 1 June 07:00
    // Back on Thursday at 10:00 local (08:00 UTC).
    let got = settle(utc(2026, 6, 4, 8, 0), &mut stored, tz, at, DEFAULT_CATCH_UP);
    assert_eq!(
        got,
        vec![
            Decision::SkipMissed {
                for_date: date(2026, 6, 1)
            },
            Decision::SkipMissed {
                for_date: date(2026, 6, 2)
            },
            Decision::SkipMissed {
                for_date: date(2026, 6, 3)
            },
            Decision::Run {
                for_date: date(2026, 6, 4)
            },
        ]
    );
    assert_eq!(stored, utc(2026, 6, 5, 5, 0));
    // Back at 20:00 local, 13 h after the slot: outside the 12 h window.
    let mut stored = utc(2026, 6, 5, 5, 0);
    let got = settle(
        utc(2026, 6, 5, 18, 0),
        &mut stored,
        tz,
        at,
        DEFAULT_CATCH_UP,
    );
    assert_eq!(
        got,
        vec![Decision::SkipMissed {
            for_date: date(2026, 6, 5)
        }]
    );
    assert_eq!(stored, utc(2026, 6, 6, 5, 0));
}

/// A daemon that ticks every 10 minutes over a year, is off for stretches (around slots
/// and across DST nights), and restarts from its stored `next_run` each time. Every local
/// date is decided exactly once, and only outages longer than the window skip one.
#[test]
fn restarts_never_skip_nor_repeat_a_day() {
    for (tz, at) in [
        (chrono_tz::America::New_York, hm(2, 30)),
        (chrono_tz::Europe::Berlin, hm(7, 0)),
        (chrono_tz::Australia::Sydney, hm(2, 30)),
    ] {
        let catch = Duration::from_secs(6 * 3600);
        let start = utc(2026, 1, 1, 0, 0);
        let end = utc(2027, 1, 1, 0, 0);
        // Persisted state survives restarts; the process state does not exist here at all.
        let mut stored = next_run(start, tz, at);
        let mut decided: BTreeMap<NaiveDate, Vec<Decision>> = BTreeMap::new();
        let mut now = start;
        let mut step = 0u64;
        while now < end {
            // Outages: each 7th day the machine is off 4 h (within the window), each 11th
            // day off 30 h (outside it), deterministic so failures reproduce.
            step += 1;
            let off = if step.is_multiple_of(7 * 144) {
                TimeDelta::hours(4)
            } else if step.is_multiple_of(11 * 144) {
                TimeDelta::hours(30)
            } else {
                TimeDelta::zero()
            };
            now += off + TimeDelta::minutes(10);
            for d in settle(now, &mut stored, tz, at, catch) {
                let (Decision::Run { for_date } | Decision::SkipMissed { for_date }) = d else {
                    unreachable!()
                };
                decided.entry(for_date).or_default().push(d);
            }
        }
        let first = local_date(next_run(start, tz, at), tz);
        let last = local_date(now, tz) - TimeDelta::days(1);
        let mut d = first;
        let mut skipped = 0;
        while d <= last {
            let got = decided.get(&d).map(Vec::as_slice).unwrap_or(&[]);
            assert_eq!(got.len(), 1, "{tz} {d}: {got:?}");
            if matches!(got[0], Decision::SkipMissed { .. }) {
                skipped += 1;
            }
            d += TimeDelta::days(1);
        }
        // Skips only come from the 30 h outages (about one in 11 days), and not every one.
        assert!(skipped > 0 && skipped <= 366 / 11 + 1, "{tz}: {skipped}");
    }
}

/// A year of days in zones with all kinds of rules: exactly one run per local date, each
/// one equal to the independent per-date computation (`slot_on`), each at the configured
/// local time unless that time did not exist that day.
#[test]
fn a_year_of_days_one_run_per_local_date() {
    let zones = [
        chrono_tz::America::New_York,
        chrono_tz::Europe::Berlin,
        chrono_tz::Australia::Sydney,
        chrono_tz::Asia::Kolkata,
        // 30-minute DST shift.
        chrono_tz::Australia::Lord_Howe,
        // Transitions at midnight (00:00 → 01:00).
        chrono_tz::America::Santiago,
        // -03:30 with DST.
        chrono_tz::America::St_Johns,
        // +12:45 / +13:45.
        chrono_tz::Pacific::Chatham,
        chrono_tz::UTC,
    ];
    let times = [
        hm(0, 0),
        hm(0, 30),
        hm(1, 30),
        hm(2, 0),
        hm(2, 15),
        hm(2, 30),
        hm(3, 0),
        hm(7, 0),
        NaiveTime::from_hms_opt(23, 59, 59).unwrap(),
    ];
    for year in [2025, 2026] {
        for tz in zones {
            for at in times {
                let start = tz
                    .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
                    .earliest()
                    .unwrap()
                    .with_timezone(&Utc)
                    - TimeDelta::seconds(1);
                let runs = chain(start, tz, at, 365);
                let mut expect = date(year, 1, 1);
                let mut prev: Option<DateTime<Utc>> = None;
                for t in runs {
                    let d = local_date(t, tz);
                    assert_eq!(d, expect, "{tz} {at}: run {t} is for {d}");
                    assert_eq!(
                        Some(t),
                        slot_on(expect, tz, at),
                        "{tz} {at} {expect}: croner and slot_on disagree"
                    );
                    let local = t.with_timezone(&tz).naive_local();
                    let wanted = expect.and_time(at);
                    if local != wanted {
                        // Only on a day the time did not exist: the run is at the end of the
                        // gap, just after it, and the clock one second earlier read before
                        // the wanted time.
                        assert!(local > wanted, "{tz} {at} {expect}: ran at {local}");
                        let before = (t - TimeDelta::seconds(1)).with_timezone(&tz).naive_local();
                        assert!(before < wanted, "{tz} {at} {expect}: {before}");
                        assert!(tz.from_local_datetime(&wanted).single().is_none());
                    }
                    if let Some(p) = prev {
                        let gap = t - p;
                        assert!(
                            gap >= TimeDelta::hours(22) && gap <= TimeDelta::hours(26),
                            "{tz} {at} {expect}: {gap}"
                        );
                    }
                    prev = Some(t);
                    expect += TimeDelta::days(1);
                }
            }
        }
    }
}

/// Samoa skipped Friday 30 December 2011 (UTC-10 → UTC+14): that date has no digest, and
/// the days around it have exactly one each. croner gives up on a gap this long; the
/// crate's own computation takes over.
#[test]
fn a_skipped_day_has_no_slot_and_no_date_runs_twice() {
    let tz = chrono_tz::Pacific::Apia;
    let at = hm(7, 0);
    let start = tz
        .with_ymd_and_hms(2011, 12, 27, 12, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc);
    let dates: Vec<NaiveDate> = chain(start, tz, at, 4)
        .into_iter()
        .map(|t| local_date(t, tz))
        .collect();
    assert_eq!(
        dates,
        [
            date(2011, 12, 28),
            date(2011, 12, 29),
            date(2011, 12, 31),
            date(2012, 1, 1)
        ]
    );
    assert_eq!(slot_on(date(2011, 12, 30), tz, at), None);
    for t in chain(start, tz, at, 4) {
        assert_eq!(t.with_timezone(&tz).time(), at);
    }
}

#[test]
fn config_parsing() {
    assert_eq!(parse_tz("Europe/Berlin"), Ok(chrono_tz::Europe::Berlin));
    assert_eq!(parse_tz(" UTC "), Ok(chrono_tz::UTC));
    assert!(matches!(
        parse_tz("Mars/Olympus"),
        Err(ScheduleError::TimeZone(_))
    ));
    assert_eq!(parse_local_time("07:00"), Ok(hm(7, 0)));
    assert_eq!(parse_local_time("7:05"), Ok(hm(7, 5)));
    assert_eq!(
        parse_local_time("06:45:30"),
        Ok(NaiveTime::from_hms_opt(6, 45, 30).unwrap())
    );
    for bad in ["", "25:00", "7", "07:60", "7pm"] {
        let e = parse_local_time(bad).unwrap_err();
        assert!(matches!(e, ScheduleError::Time(_)), "{bad}");
        assert!(!e.is_retryable());
    }
}
