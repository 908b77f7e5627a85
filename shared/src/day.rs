//! The Europe/Warsaw day clock.
//!
//! Every stored row belongs to the Warsaw calendar day of its timestamp, and the
//! whole store is erased at Warsaw midnight. Days are computed with `chrono-tz`
//! so the 23-hour (last Sunday of March) and 25-hour (last Sunday of October)
//! days come out right; there is no fixed offset anywhere.
//!
//! [`Clock`] lets tests inject time: production code takes a `&dyn Clock` or an
//! `Arc<dyn Clock>` and never calls `Utc::now()` itself.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::wire::TimestampMs;

/// The zone all days are counted in.
pub const TZ: Tz = chrono_tz::Europe::Warsaw;

/// One Warsaw calendar day and its UTC bounds, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Day {
    /// The Warsaw calendar date.
    pub date: NaiveDate,
    /// The UTC instant of its midnight (inclusive).
    pub start: DateTime<Utc>,
    /// The UTC instant of the next midnight (exclusive).
    pub end: DateTime<Utc>,
}

impl Day {
    /// The day with the given Warsaw date.
    pub fn of_date(date: NaiveDate) -> Day {
        let next = date
            .checked_add_days(Days::new(1))
            .unwrap_or(NaiveDate::MAX);
        Day {
            date,
            start: local_midnight(date),
            end: local_midnight(next),
        }
    }

    /// The Warsaw day that `instant` falls in.
    pub fn containing(instant: DateTime<Utc>) -> Day {
        Day::of_date(date_of(instant))
    }

    /// The Warsaw day that a millisecond timestamp falls in.
    pub fn containing_ms(ts: TimestampMs) -> Day {
        Day::containing(from_ms(ts))
    }

    /// Start in epoch milliseconds (inclusive).
    pub fn start_ms(&self) -> TimestampMs {
        self.start.timestamp_millis()
    }

    /// End in epoch milliseconds (exclusive).
    pub fn end_ms(&self) -> TimestampMs {
        self.end.timestamp_millis()
    }

    /// Whether a timestamp falls in this day.
    pub fn contains_ms(&self, ts: TimestampMs) -> bool {
        ts >= self.start_ms() && ts < self.end_ms()
    }

    /// `[from, to)` narrowed to this day (empty, never reversed, when they
    /// do not overlap): what every store read is clamped to.
    pub fn clamp_ms(&self, from: TimestampMs, to: TimestampMs) -> (TimestampMs, TimestampMs) {
        let lo = from.max(self.start_ms());
        (lo, to.min(self.end_ms()).max(lo))
    }

    /// Length of the day in hours: 24, or 23 / 25 on the DST change days.
    pub fn hours(&self) -> i64 {
        (self.end - self.start).num_hours()
    }

    /// The following day.
    pub fn next(&self) -> Day {
        Day::containing(self.end)
    }

    /// `YYYY-MM-DD`.
    pub fn label(&self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }
}

/// The Warsaw calendar date of an instant.
pub fn date_of(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&TZ).date_naive()
}

/// The first Warsaw midnight strictly after `instant`, in UTC.
pub fn next_midnight(instant: DateTime<Utc>) -> DateTime<Utc> {
    Day::containing(instant).end
}

/// Seconds from `instant` until the next Warsaw midnight, at least 1 — the
/// `Retry-After` of the daily quota.
pub fn seconds_until_next_midnight(instant: DateTime<Utc>) -> u64 {
    let ms = (next_midnight(instant) - instant).num_milliseconds();
    // Round up so a client that waits exactly this long is past midnight.
    u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1)
}

/// Epoch milliseconds to a UTC instant (saturating at chrono's range).
pub fn from_ms(ts: TimestampMs) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ts).unwrap_or(if ts < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// The UTC instant of Warsaw midnight at the start of `date`.
///
/// Warsaw changes clocks at 02:00/03:00, so midnight always exists once; the
/// fallbacks keep this total for any zone rule change: an ambiguous midnight
/// takes the earlier instant, a skipped one the first valid minute after it.
fn local_midnight(date: NaiveDate) -> DateTime<Utc> {
    let mut local = date.and_time(NaiveTime::MIN);
    for _ in 0..(24 * 60) {
        match TZ.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => return a.min(b).with_timezone(&Utc),
            LocalResult::None => local += chrono::Duration::minutes(1),
        }
    }
    // Unreachable for any real zone; a day that never starts is treated as UTC.
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

/// A source of "now". Production uses [`SystemClock`]; tests use [`ManualClock`].
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// The current instant in epoch milliseconds.
    fn now_ms(&self) -> TimestampMs {
        self.now().timestamp_millis()
    }

    /// The Warsaw day containing now.
    fn today(&self) -> Day {
        Day::containing(self.now())
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move; safe to share between threads.
#[derive(Debug)]
pub struct ManualClock {
    ms: AtomicI64,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            ms: AtomicI64::new(start.timestamp_millis()),
        }
    }

    /// Sets the time.
    pub fn set(&self, t: DateTime<Utc>) {
        self.ms.store(t.timestamp_millis(), Ordering::SeqCst);
    }

    /// Moves the time forward (or back, for a negative step) by `ms`.
    pub fn advance_ms(&self, ms: i64) {
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        from_ms(self.ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_keeps_reads_in_the_day() {
        let d = Day::containing_ms(1_796_382_000_000);
        assert_eq!(d.clamp_ms(i64::MIN, i64::MAX), (d.start_ms(), d.end_ms()));
        assert_eq!(
            d.clamp_ms(d.start_ms() + 5, d.start_ms() + 9),
            (d.start_ms() + 5, d.start_ms() + 9)
        );
        // Entirely before the day: empty at its start.
        assert_eq!(d.clamp_ms(0, 10), (d.start_ms(), d.start_ms()));
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn ordinary_winter_and_summer_days() {
        // Winter: UTC+1.
        let d = Day::of_date(date("2026-12-04"));
        assert_eq!(d.start, utc("2026-12-03T23:00:00Z"));
        assert_eq!(d.end, utc("2026-12-04T23:00:00Z"));
        assert_eq!(d.hours(), 24);
        // Summer: UTC+2.
        let d = Day::of_date(date("2026-07-01"));
        assert_eq!(d.start, utc("2026-06-30T22:00:00Z"));
        assert_eq!(d.end, utc("2026-07-01T22:00:00Z"));
        assert_eq!(d.hours(), 24);
    }

    #[test]
    fn spring_forward_day_has_23_hours() {
        let d = Day::of_date(date("2026-03-29"));
        assert_eq!(d.start, utc("2026-03-28T23:00:00Z"));
        assert_eq!(d.end, utc("2026-03-29T22:00:00Z"));
        assert_eq!(d.hours(), 23);
        // 01:59:59 local (CET) and 03:00 local (CEST) are the same day.
        assert_eq!(date_of(utc("2026-03-29T00:59:59Z")), date("2026-03-29"));
        assert_eq!(date_of(utc("2026-03-29T01:00:00Z")), date("2026-03-29"));
        assert_eq!(date_of(utc("2026-03-29T21:59:59.999Z")), date("2026-03-29"));
        assert_eq!(date_of(utc("2026-03-29T22:00:00Z")), date("2026-03-30"));
    }

    #[test]
    fn fall_back_day_has_25_hours() {
        let d = Day::of_date(date("2026-10-25"));
        assert_eq!(d.start, utc("2026-10-24T22:00:00Z"));
        assert_eq!(d.end, utc("2026-10-25T23:00:00Z"));
        assert_eq!(d.hours(), 25);
        // Both 02:30 local times (CEST then CET) are on the same day.
        assert_eq!(date_of(utc("2026-10-25T00:30:00Z")), date("2026-10-25"));
        assert_eq!(date_of(utc("2026-10-25T01:30:00Z")), date("2026-10-25"));
        assert_eq!(date_of(utc("2026-10-25T22:59:59.999Z")), date("2026-10-25"));
        assert_eq!(date_of(utc("2026-10-25T23:00:00Z")), date("2026-10-26"));
    }

    #[test]
    fn next_midnight_table() {
        let cases = [
            ("2026-12-04T12:00:00Z", "2026-12-04T23:00:00Z"),
            // Exactly at midnight: the next one, not itself.
            ("2026-12-04T23:00:00Z", "2026-12-05T23:00:00Z"),
            ("2026-12-04T22:59:59.999Z", "2026-12-04T23:00:00Z"),
            // The evening before the spring change: the midnight is still CET.
            ("2026-03-28T22:30:00Z", "2026-03-28T23:00:00Z"),
            ("2026-03-29T10:00:00Z", "2026-03-29T22:00:00Z"),
            ("2026-10-25T10:00:00Z", "2026-10-25T23:00:00Z"),
            ("2026-10-24T21:59:00Z", "2026-10-24T22:00:00Z"),
            // Year end.
            ("2026-12-31T23:30:00Z", "2027-01-01T23:00:00Z"),
        ];
        for (now, want) in cases {
            assert_eq!(next_midnight(utc(now)), utc(want), "now = {now}");
        }
    }

    #[test]
    fn seconds_until_midnight_rounds_up_and_is_positive() {
        assert_eq!(
            seconds_until_next_midnight(utc("2026-12-04T22:59:59.500Z")),
            1
        );
        assert_eq!(
            seconds_until_next_midnight(utc("2026-12-04T22:00:00Z")),
            3600
        );
        assert_eq!(
            seconds_until_next_midnight(utc("2026-03-28T23:00:00Z")),
            23 * 3600
        );
        assert_eq!(
            seconds_until_next_midnight(utc("2026-10-24T22:00:00Z")),
            25 * 3600
        );
    }

    #[test]
    fn containing_and_bounds_agree() {
        let d = Day::containing(utc("2026-10-25T12:00:00Z"));
        assert!(d.contains_ms(d.start_ms()));
        assert!(!d.contains_ms(d.end_ms()));
        assert!(d.contains_ms(d.end_ms() - 1));
        assert_eq!(d.next().date, date("2026-10-26"));
        assert_eq!(d.next().hours(), 24);
        assert_eq!(d.label(), "2026-10-25");
        assert_eq!(Day::containing_ms(d.end_ms()), d.next());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(utc("2026-03-29T21:59:59Z"));
        assert_eq!(c.today().date, date("2026-03-29"));
        c.advance_ms(1000);
        assert_eq!(c.today().date, date("2026-03-30"));
        c.set(utc("2026-01-01T00:00:00Z"));
        assert_eq!(c.now_ms(), utc("2026-01-01T00:00:00Z").timestamp_millis());
    }

    #[test]
    fn from_ms_saturates() {
        assert_eq!(from_ms(i64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(from_ms(i64::MIN), DateTime::<Utc>::MIN_UTC);
    }
}
