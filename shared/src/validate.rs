//! Validation of an ingest [`Batch`] against every rule of the contract.
//!
//! All or nothing: [`validate_batch`] either accepts the whole batch or returns
//! the first problem found, naming the table, row and field, so the server can
//! answer `422` with a message a person can act on. Rows are checked in table
//! order (`cpu`, `ram`, `disc`) and then row order, so the answer is stable.

use std::collections::HashMap;
use std::fmt;

use crate::day::Day;
use crate::limits::{MAX_BYTES, MAX_CORES, MAX_FUTURE_SKEW_MS, MAX_MOUNT_LEN, MAX_ROWS_PER_BATCH};
use crate::wire::{Batch, CpuSample, DiscSample, Metric, RamSample, TimestampMs};

/// What is wrong with one value.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// NaN or an infinity.
    NotFinite,
    /// A percent outside 0–100.
    PercentOutOfRange(f64),
    /// A byte count, rate or load below zero.
    Negative(f64),
    /// A byte count over [`MAX_BYTES`].
    TooLarge(i64),
    /// A `used` value greater than its `total`.
    UsedOverTotal {
        /// The used value.
        used: i64,
        /// The total it exceeds.
        total: i64,
    },
    /// An empty mount name.
    EmptyMount,
    /// A mount name longer than [`MAX_MOUNT_LEN`] bytes.
    MountTooLong(usize),
    /// More than [`MAX_CORES`] per-core values.
    TooManyCores(usize),
    /// A timestamp outside the current Warsaw day.
    OutsideDay {
        /// The timestamp.
        ts: TimestampMs,
        /// The day it had to fall in.
        day: Day,
    },
    /// A timestamp more than [`MAX_FUTURE_SKEW_MS`] ahead of now.
    InFuture {
        /// The timestamp.
        ts: TimestampMs,
        /// The server's now.
        now: TimestampMs,
    },
    /// Two rows of the same series with the same timestamp.
    DuplicateTimestamp {
        /// The timestamp.
        ts: TimestampMs,
        /// The earlier row with it.
        first_row: usize,
    },
}

/// Why a batch was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidationError {
    /// The batch has more rows than [`MAX_ROWS_PER_BATCH`].
    TooManyRows {
        /// Rows in the batch.
        rows: usize,
    },
    /// One value of one row is out of range.
    Row {
        /// The table.
        table: Metric,
        /// 0-based row index within that table's array.
        row: usize,
        /// The field name, as in the JSON.
        field: &'static str,
        /// What is wrong.
        problem: Problem,
    },
}

impl ValidationError {
    /// The contract's `snake_case` error code.
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::TooManyRows { .. } => "too_many_rows",
            ValidationError::Row { problem, .. } => match problem {
                Problem::NotFinite => "not_finite",
                Problem::PercentOutOfRange(_) | Problem::Negative(_) | Problem::TooLarge(_) => {
                    "out_of_range"
                }
                Problem::UsedOverTotal { .. } => "used_over_total",
                Problem::EmptyMount => "empty_mount",
                Problem::MountTooLong(_) => "mount_too_long",
                Problem::TooManyCores(_) => "too_many_cores",
                Problem::OutsideDay { .. } => "timestamp_outside_day",
                Problem::InFuture { .. } => "timestamp_in_future",
                Problem::DuplicateTimestamp { .. } => "duplicate_timestamp",
            },
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (table, row, field, problem) = match self {
            ValidationError::TooManyRows { rows } => {
                return write!(
                    f,
                    "the batch has {rows} rows; at most {MAX_ROWS_PER_BATCH} are allowed, split it"
                );
            }
            ValidationError::Row {
                table,
                row,
                field,
                problem,
            } => (table, row, field, problem),
        };
        write!(f, "{table}[{row}].{field}: ")?;
        match problem {
            Problem::NotFinite => write!(f, "must be a finite number"),
            Problem::PercentOutOfRange(v) => write!(f, "'{v}' is outside 0–100"),
            Problem::Negative(v) => write!(f, "'{v}' is negative"),
            Problem::TooLarge(v) => write!(f, "'{v}' is larger than {MAX_BYTES}"),
            Problem::UsedOverTotal { used, total } => {
                write!(f, "used '{used}' is greater than total '{total}'")
            }
            Problem::EmptyMount => write!(f, "the mount name is empty"),
            Problem::MountTooLong(n) => {
                write!(
                    f,
                    "the mount name is {n} bytes; at most {MAX_MOUNT_LEN} are allowed"
                )
            }
            Problem::TooManyCores(n) => {
                write!(f, "{n} per-core values; at most {MAX_CORES} are allowed")
            }
            Problem::OutsideDay { ts, day } => write!(
                f,
                "timestamp '{ts}' is not in today's Europe/Warsaw day {} [{}, {}) ms",
                day.label(),
                day.start_ms(),
                day.end_ms()
            ),
            Problem::InFuture { ts, now } => write!(
                f,
                "timestamp '{ts}' is {} ms ahead of the server clock ({now}); at most {MAX_FUTURE_SKEW_MS} ms are allowed, check the clock",
                ts - now
            ),
            Problem::DuplicateTimestamp { ts, first_row } => write!(
                f,
                "timestamp '{ts}' appears again (first at row {first_row}); one sample per series per timestamp"
            ),
        }
    }
}

impl std::error::Error for ValidationError {}

/// Checks a whole batch. `today` is the Warsaw day of `now_ms` as the caller
/// sees it (passed in so one request uses one day throughout).
pub fn validate_batch(
    batch: &Batch,
    today: &Day,
    now_ms: TimestampMs,
) -> Result<(), ValidationError> {
    let rows = batch.row_count();
    if rows > MAX_ROWS_PER_BATCH {
        return Err(ValidationError::TooManyRows { rows });
    }
    let ctx = Ctx { today, now_ms };

    let mut seen: HashMap<TimestampMs, usize> = HashMap::with_capacity(batch.cpu.len());
    for (i, s) in batch.cpu.iter().enumerate() {
        let at = |field, problem| row_err(Metric::Cpu, i, field, problem);
        ctx.ts(s.ts, &mut seen, i).map_err(|p| at("ts", p))?;
        check_cpu(s).map_err(|(f, p)| at(f, p))?;
    }

    seen.clear();
    for (i, s) in batch.ram.iter().enumerate() {
        let at = |field, problem| row_err(Metric::Ram, i, field, problem);
        ctx.ts(s.ts, &mut seen, i).map_err(|p| at("ts", p))?;
        check_ram(s).map_err(|(f, p)| at(f, p))?;
    }

    let mut seen_disc: HashMap<(&str, TimestampMs), usize> =
        HashMap::with_capacity(batch.disc.len());
    for (i, s) in batch.disc.iter().enumerate() {
        let at = |field, problem| row_err(Metric::Disc, i, field, problem);
        ctx.ts_only(s.ts).map_err(|p| at("ts", p))?;
        check_disc(s).map_err(|(f, p)| at(f, p))?;
        if let Some(&first_row) = seen_disc.get(&(s.mount.as_str(), s.ts)) {
            return Err(at(
                "ts",
                Problem::DuplicateTimestamp {
                    ts: s.ts,
                    first_row,
                },
            ));
        }
        seen_disc.insert((s.mount.as_str(), s.ts), i);
    }
    Ok(())
}

fn row_err(table: Metric, row: usize, field: &'static str, problem: Problem) -> ValidationError {
    ValidationError::Row {
        table,
        row,
        field,
        problem,
    }
}

struct Ctx<'a> {
    today: &'a Day,
    now_ms: TimestampMs,
}

impl Ctx<'_> {
    fn ts_only(&self, ts: TimestampMs) -> Result<(), Problem> {
        if ts > self.now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
            return Err(Problem::InFuture {
                ts,
                now: self.now_ms,
            });
        }
        if !self.today.contains_ms(ts) {
            return Err(Problem::OutsideDay {
                ts,
                day: *self.today,
            });
        }
        Ok(())
    }

    fn ts(
        &self,
        ts: TimestampMs,
        seen: &mut HashMap<TimestampMs, usize>,
        row: usize,
    ) -> Result<(), Problem> {
        self.ts_only(ts)?;
        if let Some(&first_row) = seen.get(&ts) {
            return Err(Problem::DuplicateTimestamp { ts, first_row });
        }
        seen.insert(ts, row);
        Ok(())
    }
}

type FieldResult = Result<(), (&'static str, Problem)>;

fn percent(field: &'static str, v: f64) -> FieldResult {
    if !v.is_finite() {
        return Err((field, Problem::NotFinite));
    }
    if !(0.0..=100.0).contains(&v) {
        return Err((field, Problem::PercentOutOfRange(v)));
    }
    Ok(())
}

fn non_negative(field: &'static str, v: f64) -> FieldResult {
    if !v.is_finite() {
        return Err((field, Problem::NotFinite));
    }
    if v < 0.0 {
        return Err((field, Problem::Negative(v)));
    }
    Ok(())
}

fn bytes(field: &'static str, v: i64) -> FieldResult {
    if v < 0 {
        return Err((field, Problem::Negative(v as f64)));
    }
    if v as u64 > MAX_BYTES {
        return Err((field, Problem::TooLarge(v)));
    }
    Ok(())
}

fn used_total(
    used_field: &'static str,
    used: i64,
    total_field: &'static str,
    total: i64,
) -> FieldResult {
    bytes(used_field, used)?;
    bytes(total_field, total)?;
    if used > total {
        return Err((used_field, Problem::UsedOverTotal { used, total }));
    }
    Ok(())
}

fn check_cpu(s: &CpuSample) -> FieldResult {
    percent("usage_pct", s.usage_pct)?;
    if s.cores_pct.len() > MAX_CORES {
        return Err(("cores_pct", Problem::TooManyCores(s.cores_pct.len())));
    }
    for &c in &s.cores_pct {
        percent("cores_pct", c)?;
    }
    if let Some(l) = s.load1 {
        non_negative("load1", l)?;
    }
    Ok(())
}

fn check_ram(s: &RamSample) -> FieldResult {
    used_total("used_bytes", s.used_bytes, "total_bytes", s.total_bytes)?;
    used_total(
        "swap_used_bytes",
        s.swap_used_bytes,
        "swap_total_bytes",
        s.swap_total_bytes,
    )
}

fn check_disc(s: &DiscSample) -> FieldResult {
    if s.mount.is_empty() {
        return Err(("mount", Problem::EmptyMount));
    }
    if s.mount.len() > MAX_MOUNT_LEN {
        return Err(("mount", Problem::MountTooLong(s.mount.len())));
    }
    used_total("used_bytes", s.used_bytes, "total_bytes", s.total_bytes)?;
    non_negative("read_bps", s.read_bps)?;
    non_negative("write_bps", s.write_bps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A valid batch at `now` with one row of each kind.
    fn good(now: TimestampMs) -> Batch {
        Batch {
            batch_id: Uuid::nil(),
            cpu: vec![CpuSample {
                ts: now,
                usage_pct: 12.0,
                cores_pct: vec![10.0, 14.0],
                load1: Some(0.3),
            }],
            ram: vec![RamSample {
                ts: now,
                used_bytes: 1 << 30,
                total_bytes: 4 << 30,
                swap_used_bytes: 0,
                swap_total_bytes: 1 << 30,
            }],
            disc: vec![DiscSample {
                ts: now,
                mount: "/".into(),
                used_bytes: 10,
                total_bytes: 100,
                read_bps: 0.0,
                write_bps: 1024.0,
            }],
        }
    }

    fn run(now: DateTime<Utc>, edit: impl FnOnce(&mut Batch)) -> Result<(), ValidationError> {
        let now_ms = now.timestamp_millis();
        let mut b = good(now_ms);
        edit(&mut b);
        validate_batch(&b, &Day::containing(now), now_ms)
    }

    #[test]
    fn good_batch_passes() {
        assert_eq!(run(utc("2026-12-04T12:00:00Z"), |_| {}), Ok(()));
        // Also on both DST days, including the hour that exists twice.
        assert_eq!(run(utc("2026-03-29T01:30:00Z"), |_| {}), Ok(()));
        assert_eq!(run(utc("2026-10-25T01:30:00Z"), |_| {}), Ok(()));
    }

    /// Every rule: (name, edit, expected code, expected table/row/field).
    #[test]
    fn every_rule_is_enforced() {
        let now = utc("2026-12-04T12:00:00Z");
        let now_ms = now.timestamp_millis();
        let day = Day::containing(now);
        type Edit = Box<dyn Fn(&mut Batch)>;
        type Place = Option<(Metric, usize, &'static str)>;
        let cases: Vec<(&str, Edit, &str, Place)> = vec![
            (
                "nan usage",
                Box::new(|b| b.cpu[0].usage_pct = f64::NAN),
                "not_finite",
                Some((Metric::Cpu, 0, "usage_pct")),
            ),
            (
                "inf usage",
                Box::new(|b| b.cpu[0].usage_pct = f64::INFINITY),
                "not_finite",
                Some((Metric::Cpu, 0, "usage_pct")),
            ),
            (
                "usage > 100",
                Box::new(|b| b.cpu[0].usage_pct = 100.5),
                "out_of_range",
                Some((Metric::Cpu, 0, "usage_pct")),
            ),
            (
                "usage < 0",
                Box::new(|b| b.cpu[0].usage_pct = -0.1),
                "out_of_range",
                Some((Metric::Cpu, 0, "usage_pct")),
            ),
            (
                "core > 100",
                Box::new(|b| b.cpu[0].cores_pct[1] = 101.0),
                "out_of_range",
                Some((Metric::Cpu, 0, "cores_pct")),
            ),
            (
                "core -inf",
                Box::new(|b| b.cpu[0].cores_pct[0] = f64::NEG_INFINITY),
                "not_finite",
                Some((Metric::Cpu, 0, "cores_pct")),
            ),
            (
                "too many cores",
                Box::new(|b| b.cpu[0].cores_pct = vec![1.0; MAX_CORES + 1]),
                "too_many_cores",
                Some((Metric::Cpu, 0, "cores_pct")),
            ),
            (
                "load nan",
                Box::new(|b| b.cpu[0].load1 = Some(f64::NAN)),
                "not_finite",
                Some((Metric::Cpu, 0, "load1")),
            ),
            (
                "load negative",
                Box::new(|b| b.cpu[0].load1 = Some(-1.0)),
                "out_of_range",
                Some((Metric::Cpu, 0, "load1")),
            ),
            (
                "ram used negative",
                Box::new(|b| b.ram[0].used_bytes = -1),
                "out_of_range",
                Some((Metric::Ram, 0, "used_bytes")),
            ),
            (
                "ram total negative",
                Box::new(|b| b.ram[0].total_bytes = -5),
                "out_of_range",
                Some((Metric::Ram, 0, "total_bytes")),
            ),
            (
                "ram used > total",
                Box::new(|b| b.ram[0].used_bytes = 5 << 30),
                "used_over_total",
                Some((Metric::Ram, 0, "used_bytes")),
            ),
            (
                "swap used > total",
                Box::new(|b| b.ram[0].swap_used_bytes = 2 << 30),
                "used_over_total",
                Some((Metric::Ram, 0, "swap_used_bytes")),
            ),
            (
                "swap negative",
                Box::new(|b| b.ram[0].swap_total_bytes = -1),
                "out_of_range",
                Some((Metric::Ram, 0, "swap_total_bytes")),
            ),
            (
                "disc empty mount",
                Box::new(|b| b.disc[0].mount.clear()),
                "empty_mount",
                Some((Metric::Disc, 0, "mount")),
            ),
            (
                "disc long mount",
                Box::new(|b| b.disc[0].mount = "/".repeat(MAX_MOUNT_LEN + 1)),
                "mount_too_long",
                Some((Metric::Disc, 0, "mount")),
            ),
            (
                "disc used > total",
                Box::new(|b| b.disc[0].used_bytes = 101),
                "used_over_total",
                Some((Metric::Disc, 0, "used_bytes")),
            ),
            (
                "disc used negative",
                Box::new(|b| b.disc[0].used_bytes = -1),
                "out_of_range",
                Some((Metric::Disc, 0, "used_bytes")),
            ),
            (
                "read rate negative",
                Box::new(|b| b.disc[0].read_bps = -3.0),
                "out_of_range",
                Some((Metric::Disc, 0, "read_bps")),
            ),
            (
                "write rate nan",
                Box::new(|b| b.disc[0].write_bps = f64::NAN),
                "not_finite",
                Some((Metric::Disc, 0, "write_bps")),
            ),
            (
                "write rate inf",
                Box::new(|b| b.disc[0].write_bps = f64::INFINITY),
                "not_finite",
                Some((Metric::Disc, 0, "write_bps")),
            ),
            (
                "ts yesterday",
                Box::new(move |b| b.cpu[0].ts = day.start_ms() - 1),
                "timestamp_outside_day",
                Some((Metric::Cpu, 0, "ts")),
            ),
            (
                "ts far past",
                Box::new(|b| b.ram[0].ts = 0),
                "timestamp_outside_day",
                Some((Metric::Ram, 0, "ts")),
            ),
            (
                "ts 6 s ahead",
                Box::new(move |b| b.disc[0].ts = now_ms + 6_000),
                "timestamp_in_future",
                Some((Metric::Disc, 0, "ts")),
            ),
            (
                "ts i64::MAX",
                Box::new(|b| b.cpu[0].ts = i64::MAX),
                "timestamp_in_future",
                Some((Metric::Cpu, 0, "ts")),
            ),
            (
                "dup cpu ts",
                Box::new(|b| {
                    let r = b.cpu[0].clone();
                    b.cpu.push(r);
                }),
                "duplicate_timestamp",
                Some((Metric::Cpu, 1, "ts")),
            ),
            (
                "dup ram ts",
                Box::new(|b| {
                    let r = b.ram[0].clone();
                    b.ram.push(r);
                }),
                "duplicate_timestamp",
                Some((Metric::Ram, 1, "ts")),
            ),
            (
                "dup disc ts same mount",
                Box::new(|b| {
                    let r = b.disc[0].clone();
                    b.disc.push(r);
                }),
                "duplicate_timestamp",
                Some((Metric::Disc, 1, "ts")),
            ),
            (
                "too many rows",
                Box::new(move |b| {
                    b.cpu = (0..=MAX_ROWS_PER_BATCH as i64)
                        .map(|i| CpuSample {
                            ts: now_ms - i,
                            usage_pct: 1.0,
                            cores_pct: vec![],
                            load1: None,
                        })
                        .collect();
                }),
                "too_many_rows",
                None,
            ),
        ];
        for (name, edit, code, place) in cases {
            let mut b = good(now_ms);
            edit(&mut b);
            let err = validate_batch(&b, &day, now_ms).expect_err(name);
            assert_eq!(err.code(), code, "{name}: {err}");
            match (place, &err) {
                (None, ValidationError::TooManyRows { .. }) => {}
                (
                    Some((t, r, f)),
                    ValidationError::Row {
                        table, row, field, ..
                    },
                ) => {
                    assert_eq!((*table, *row, *field), (t, r, f), "{name}: {err}");
                    // The message names the place.
                    assert!(
                        err.to_string().starts_with(&format!("{t}[{r}].{f}: ")),
                        "{name}: {err}"
                    );
                }
                _ => panic!("{name}: unexpected {err:?}"),
            }
        }
    }

    #[test]
    fn edges_that_must_pass() {
        let now = utc("2026-12-04T12:00:00Z");
        let now_ms = now.timestamp_millis();
        let day = Day::containing(now);
        // 0 and 100 percent, used == total, exactly 5 s ahead, first ms of day,
        // same ts on two different mounts, 10,000 rows exactly, no load.
        assert_eq!(
            run(now, |b| {
                b.cpu[0].usage_pct = 100.0;
                b.cpu[0].cores_pct = vec![0.0, 100.0];
                b.cpu[0].load1 = None;
            }),
            Ok(())
        );
        assert_eq!(
            run(now, |b| b.ram[0].used_bytes = b.ram[0].total_bytes),
            Ok(())
        );
        assert_eq!(
            run(now, |b| b.cpu[0].ts = now_ms + MAX_FUTURE_SKEW_MS),
            Ok(())
        );
        assert_eq!(run(now, |b| b.cpu[0].ts = day.start_ms()), Ok(()));
        assert_eq!(
            run(now, |b| {
                let mut r = b.disc[0].clone();
                r.mount = "/home".into();
                b.disc.push(r);
            }),
            Ok(())
        );
        assert_eq!(
            run(now, |b| {
                b.cpu = (0..(MAX_ROWS_PER_BATCH as i64 - 2))
                    .map(|i| CpuSample {
                        ts: now_ms - i,
                        usage_pct: 1.0,
                        cores_pct: vec![],
                        load1: None,
                    })
                    .collect();
            }),
            Ok(())
        );
        assert_eq!(
            run(now, |b| {
                b.cpu.clear();
                b.ram.clear();
                b.disc.clear();
            }),
            Ok(())
        );
    }

    #[test]
    fn day_bounds_on_dst_days() {
        // 23-hour day: 22:30 local = 20:30Z is in; 22:00Z is the next day.
        let now = utc("2026-03-29T21:59:58Z");
        assert_eq!(
            run(now, |b| b.cpu[0].ts =
                utc("2026-03-28T23:00:00Z").timestamp_millis()),
            Ok(())
        );
        let e = run(now, |b| {
            b.cpu[0].ts = utc("2026-03-28T22:59:59.999Z").timestamp_millis()
        })
        .unwrap_err();
        assert_eq!(e.code(), "timestamp_outside_day");
        // 25-hour day: 23:30 local on the 25th is 22:30Z, still the same day.
        let now = utc("2026-10-25T22:59:59Z");
        assert_eq!(
            run(now, |b| b.ram[0].ts =
                utc("2026-10-24T22:00:00Z").timestamp_millis()),
            Ok(())
        );
        assert_eq!(
            run(now, |b| b.ram[0].ts =
                utc("2026-10-25T22:30:00Z").timestamp_millis()),
            Ok(())
        );
        // Up to 5 s ahead, but past midnight, is outside the day.
        let e = run(now, |b| {
            b.ram[0].ts = utc("2026-10-25T23:00:01Z").timestamp_millis()
        })
        .unwrap_err();
        assert_eq!(e.code(), "timestamp_outside_day");
    }

    #[test]
    fn messages_are_readable() {
        let now = utc("2026-12-04T12:00:00Z");
        let e = run(now, |b| b.cpu[0].usage_pct = 150.0).unwrap_err();
        assert_eq!(e.to_string(), "cpu[0].usage_pct: '150' is outside 0–100");
        let e = run(now, |b| b.ram[0].used_bytes = 5 << 30).unwrap_err();
        assert!(e.to_string().contains("is greater than total"), "{e}");
    }
}
