//! The kdb+ backend: [`KdbStore`] calls the q functions of `q/vitals.q`
//! over kdb+ IPC (the `kdbplus` crate), and only those.
//!
//! - [`conn`]: where q is (`kdb://` or `kdb+unix://`), a small connection
//!   pool, reconnect with backoff, and the wrapping of kdbplus's rough edges.
//! - [`k`]: building arguments (guids, timestamps, tables of column vectors)
//!   and reading replies without panicking on an unexpected shape.
//! - ingest coalescing: batches arriving within [`COALESCE_WINDOW`] (or
//!   until [`COALESCE_ROWS`] rows) go to q in one `.vitals.ingest` call;
//!   q answers per batch, so every caller gets its own outcome.
//!
//! The Warsaw day bounds are computed here (chrono-tz, in `vitals_shared::day`)
//! and passed to q, which has no time-zone logic.

pub mod conn;
pub mod ipc;
pub mod k;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use kdbplus::ipc::K;
use tokio::sync::{mpsc, oneshot};
use vitals_shared::day::{Day, TZ};
use vitals_shared::downsample::Point;
use vitals_shared::limits::SESSION_GAP_MS;
use vitals_shared::wire::{
    CpuSample, DiscSample, Metric, RamSample, RowCounts, SessionStats, Stats, StatsResponse,
    TimestampMs,
};

use self::conn::{Link, LinkOptions, Target};
use super::{ConsentRecord, DayRows, IngestOutcome, IngestRequest, Store, StoreError};
use crate::identity::InstanceId;

/// Longest time a batch waits for others to share its q call.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(10);
/// A coalesced call is sent once it holds this many rows.
pub const COALESCE_ROWS: usize = 1000;

/// What talking to q can fail with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KdbError {
    /// q cannot be reached (or the connection broke).
    #[error("{0}")]
    Down(String),
    /// q answered with an error (its message, e.g. `type`).
    #[error("kdb+ replied with an error: {0}")]
    Q(String),
    /// q answered something this server does not understand.
    #[error("kdb+ reply not understood: {0}")]
    Protocol(String),
}

impl From<KdbError> for StoreError {
    fn from(e: KdbError) -> Self {
        match e {
            KdbError::Down(why) => StoreError::Unavailable(why),
            other => StoreError::Internal(other.to_string()),
        }
    }
}

struct Pending {
    req: IngestRequest,
    reply: oneshot::Sender<Result<IngestOutcome, StoreError>>,
}

impl Pending {
    fn rows(&self) -> usize {
        let b = &self.req.batch;
        b.cpu.len() + b.ram.len() + b.disc.len()
    }
}

/// Tickerplant back-pressure: above this many bytes queued to its
/// subscribers, writes are refused (`503`) until the RDBs catch up.
pub const TICK_BACKLOG_LIMIT: i64 = 256 << 20;

/// Longest wait for an RDB to apply a write the tickerplant logged.
pub const TICK_APPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where reads and writes go.
struct Backend {
    /// The q process with the tables: the single process in direct mode,
    /// the RDB in tick mode.
    rdb: Link,
    /// Tick mode: the tickerplant every write goes through.
    tp: Option<Link>,
    /// The day the tickerplant's log was last rolled to.
    rolled: tokio::sync::Mutex<Option<chrono::NaiveDate>>,
}

impl Backend {
    async fn read(&self, function: &str, args: Vec<K>) -> Result<K, KdbError> {
        self.rdb.call(&k::call(function, args)).await
    }

    /// A write: in direct mode a call of `function`; in tick mode the
    /// tickerplant logs `(kind; reqid; args)` and publishes it, a flush
    /// confirms it is logged, and the RDB is asked for the answer it
    /// recorded under `reqid` when it applied the write.
    async fn write(&self, kind: &str, function: &str, args: Vec<K>) -> Result<K, KdbError> {
        let Some(tp) = &self.tp else {
            return self.rdb.call(&k::call(function, args)).await;
        };
        self.roll(
            tp,
            vitals_shared::day::Day::containing(chrono::Utc::now()).date,
        )
        .await?;
        let reqid = uuid::Uuid::new_v4();
        let msg = k::call(
            ".vitals.tp.send",
            vec![
                k::symbol(kind),
                K::new_guid(*reqid.as_bytes()),
                k::compound(args),
            ],
        );
        // The flush must follow the write on its connection to vouch for it.
        let flush = k::call(".vitals.tp.flush", vec![K::new_null()]);
        let backlog = k::read_long(&tp.send_then_call(&msg, &flush).await?)?;
        if backlog > TICK_BACKLOG_LIMIT {
            tracing::warn!(backlog, "tickerplant subscribers are behind");
        }
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let r = self
                .rdb
                .call(&k::call(
                    ".vitals.result",
                    vec![K::new_guid(*reqid.as_bytes())],
                ))
                .await?;
            if r.get_type() == kdbplus::qtype::SYMBOL_ATOM
                && r.get_symbol().is_ok_and(|s| s == "pending")
            {
                if started.elapsed() > TICK_APPLY_TIMEOUT {
                    return Err(KdbError::Down(format!(
                        "the RDB has not applied a logged write within {} s (backlog {backlog} bytes)",
                        TICK_APPLY_TIMEOUT.as_secs()
                    )));
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(20));
                continue;
            }
            // A q error inside the write comes back as (`error; "text").
            if r.get_type() == kdbplus::qtype::COMPOUND_LIST
                && let Ok(items) = r.as_vec::<K>()
                && let [tag, text] = items.as_slice()
                && tag.get_symbol().is_ok_and(|t| t == "error")
            {
                let text = text
                    .as_string()
                    .map(str::to_owned)
                    .or_else(|_| text.get_symbol().map(str::to_owned))
                    .unwrap_or_default();
                return Err(KdbError::Q(text));
            }
            return Ok(r);
        }
    }

    /// Rolls the tickerplant's log to `day` once per day (idempotent in q).
    async fn roll(&self, tp: &Link, day: chrono::NaiveDate) -> Result<(), KdbError> {
        let mut rolled = self.rolled.lock().await;
        if *rolled != Some(day) {
            tp.call(&k::call(".vitals.tp.roll", vec![k::date(day)]))
                .await?;
            *rolled = Some(day);
        }
        Ok(())
    }
}

/// The kdb+ store: direct mode (one q process holds the tables) or tick
/// mode (writes through a tickerplant, reads from an RDB).
pub struct KdbStore {
    backend: Arc<Backend>,
    ingest: mpsc::Sender<Pending>,
    closed: AtomicBool,
}

impl KdbStore {
    /// A store for `target` (direct mode); connections are opened on first
    /// use, so the server starts (not ready) while q is still down.
    pub fn new(target: Target, opts: LinkOptions) -> Self {
        Self::with(Link::new(target, opts), None)
    }

    /// Tick mode: writes through the tickerplant at `tp`, reads from the
    /// RDB at `rdb`.
    pub fn tick(rdb: Target, tp: Target, opts: LinkOptions) -> Self {
        Self::with(Link::new(rdb, opts.clone()), Some(Link::new(tp, opts)))
    }

    fn with(rdb: Link, tp: Option<Link>) -> Self {
        let backend = Arc::new(Backend {
            rdb,
            tp,
            rolled: tokio::sync::Mutex::new(None),
        });
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(coalesce(backend.clone(), rx));
        Self {
            backend,
            ingest: tx,
            closed: AtomicBool::new(false),
        }
    }

    fn open(&self) -> Result<(), StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("the store is closed".into()));
        }
        Ok(())
    }

    async fn call(&self, function: &str, args: Vec<K>) -> Result<K, StoreError> {
        self.open()?;
        Ok(self.backend.read(function, args).await?)
    }

    async fn write(&self, kind: &str, function: &str, args: Vec<K>) -> Result<K, StoreError> {
        self.open()?;
        Ok(self.backend.write(kind, function, args).await?)
    }
}

fn day_bounds(day: Day) -> (K, K) {
    (k::timestamp(day.start_ms()), k::timestamp(day.end_ms()))
}

fn parse_metric(s: &str) -> Result<Metric, StoreError> {
    match s {
        "cpu" => Ok(Metric::Cpu),
        "ram" => Ok(Metric::Ram),
        "disc" => Ok(Metric::Disc),
        other => Err(StoreError::Internal(format!(
            "kdb+ named an unknown table '{other}'"
        ))),
    }
}

#[async_trait]
impl Store for KdbStore {
    fn kind(&self) -> &'static str {
        "kdb"
    }

    async fn create_instance(
        &self,
        id: InstanceId,
        consent: ConsentRecord,
        max_instances: u64,
    ) -> Result<(), StoreError> {
        let max = i64::try_from(max_instances).unwrap_or(i64::MAX);
        let reply = self
            .write(
                "register",
                ".vitals.register",
                vec![
                    k::guid(id),
                    k::timestamp(consent.consent_at),
                    K::new_string(consent.policy_version, kdbplus::qattribute::NONE),
                    k::long(max),
                ],
            )
            .await?;
        match k::read_symbol(&reply)?.as_str() {
            "ok" => Ok(()),
            "limit" => Err(StoreError::TooManyInstances(max_instances)),
            other => Err(StoreError::Internal(format!(
                "kdb+ answered '{other}' to register"
            ))),
        }
    }

    async fn instance_exists(&self, id: InstanceId) -> Result<bool, StoreError> {
        let reply = self.call(".vitals.exists", vec![k::guid(id)]).await?;
        Ok(k::read_bool(&reply)?)
    }

    async fn ingest(&self, req: IngestRequest) -> Result<IngestOutcome, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("the store is closed".into()));
        }
        let (tx, rx) = oneshot::channel();
        self.ingest
            .send(Pending { req, reply: tx })
            .await
            .map_err(|_| StoreError::Unavailable("the kdb+ writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the kdb+ writer has stopped".into()))?
    }

    async fn series(
        &self,
        id: InstanceId,
        metric: Metric,
        mount: Option<&str>,
        day: Day,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<Point>, StoreError> {
        // Clamped here too, so every timestamp sent is a real instant.
        let (from, to) = day.clamp_ms(from, to);
        let (lo, hi) = day_bounds(day);
        let reply = self
            .call(
                ".vitals.series",
                vec![
                    k::guid(id),
                    k::symbol(metric.as_str()),
                    // The contract: without a mount, the root mount.
                    k::symbol(mount.unwrap_or("/")),
                    lo,
                    hi,
                    k::timestamp(from),
                    k::timestamp(to),
                ],
            )
            .await?;
        let t = k::Table::of(&reply)?;
        let ts = t.timestamps_ms("ts")?;
        let v = t.floats("v")?;
        Ok(ts.into_iter().zip(v).collect())
    }

    async fn mounts(&self, id: InstanceId, day: Day) -> Result<Vec<String>, StoreError> {
        let (lo, hi) = day_bounds(day);
        let reply = self
            .call(".vitals.mounts", vec![k::guid(id), lo, hi])
            .await?;
        Ok(k::read_symbols(&reply)?)
    }

    async fn day_rows(
        &self,
        id: InstanceId,
        day: Day,
        metrics: &[Metric],
    ) -> Result<DayRows, StoreError> {
        let mut out = DayRows::default();
        for m in metrics {
            let (lo, hi) = day_bounds(day);
            let reply = self
                .call(
                    ".vitals.dayRows",
                    vec![k::guid(id), k::symbol(m.as_str()), lo, hi],
                )
                .await?;
            let t = k::Table::of(&reply)?;
            let ts = t.timestamps_ms("ts")?;
            match m {
                Metric::Cpu => {
                    let usage = t.floats("usage_pct")?;
                    let cores = t.float_lists("cores_pct")?;
                    let load = t.floats("load1")?;
                    out.cpu = (0..t.rows())
                        .map(|i| CpuSample {
                            ts: ts[i],
                            usage_pct: usage[i],
                            cores_pct: cores[i].clone(),
                            load1: Some(load[i]).filter(|x| !x.is_nan()),
                        })
                        .collect();
                }
                Metric::Ram => {
                    let cols = [
                        "used_bytes",
                        "total_bytes",
                        "swap_used_bytes",
                        "swap_total_bytes",
                    ]
                    .map(|c| t.longs(c));
                    let [u, tot, su, st] = cols;
                    let (u, tot, su, st) = (u?, tot?, su?, st?);
                    out.ram = (0..t.rows())
                        .map(|i| RamSample {
                            ts: ts[i],
                            used_bytes: u[i],
                            total_bytes: tot[i],
                            swap_used_bytes: su[i],
                            swap_total_bytes: st[i],
                        })
                        .collect();
                }
                Metric::Disc => {
                    let mount = t.symbols("mount")?;
                    let (u, tot) = (t.longs("used_bytes")?, t.longs("total_bytes")?);
                    let (r, w) = (t.floats("read_bps")?, t.floats("write_bps")?);
                    out.disc = (0..t.rows())
                        .map(|i| DiscSample {
                            ts: ts[i],
                            mount: mount[i].clone(),
                            used_bytes: u[i],
                            total_bytes: tot[i],
                            read_bps: r[i],
                            write_bps: w[i],
                        })
                        .collect();
                }
            }
        }
        Ok(out)
    }

    async fn stats(&self, id: InstanceId, day: Day) -> Result<StatsResponse, StoreError> {
        let (lo, hi) = day_bounds(day);
        let reply = self
            .call(
                ".vitals.stats",
                vec![k::guid(id), lo, hi, k::long(SESSION_GAP_MS)],
            )
            .await?;
        Ok(stats_from_table(day, &k::Table::of(&reply)?)?)
    }

    async fn delete_instance(&self, id: InstanceId) -> Result<RowCounts, StoreError> {
        match self
            .write("erase", ".vitals.erase", vec![k::guid(id)])
            .await
        {
            Ok(reply) => Ok(k::read_row_counts(&reply)?),
            Err(StoreError::Internal(e)) if e.ends_with(": unknown") => {
                Err(StoreError::UnknownInstance)
            }
            Err(e) => Err(e),
        }
    }

    async fn erase_outside(&self, today: Day) -> Result<RowCounts, StoreError> {
        let (lo, hi) = day_bounds(today);
        let reply = self
            .write(
                "clear",
                ".vitals.clearDay",
                vec![lo, hi, k::date(today.date)],
            )
            .await?;
        Ok(k::read_row_counts(&reply)?)
    }

    async fn row_counts(&self) -> Result<RowCounts, StoreError> {
        let reply = self.call(".vitals.rowCounts", vec![K::new_null()]).await?;
        Ok(k::read_row_counts(&reply)?)
    }

    async fn instance_count(&self) -> Result<u64, StoreError> {
        let reply = self
            .call(".vitals.instanceCount", vec![K::new_null()])
            .await?;
        Ok(u64::try_from(k::read_long(&reply)?).unwrap_or(0))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.instance_count().await.map(|_| ())
    }

    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

/// Reads the flat statistics table of `.vitals.stats` (one row per session,
/// metric and mount; session -1 is the whole day).
fn stats_from_table(day: Day, t: &k::Table<'_>) -> Result<StatsResponse, KdbError> {
    let session = t.longs("session")?;
    let metric = t.symbols("metric")?;
    let mount = t.symbols("mount")?;
    let start = t.timestamps_ms("start")?;
    let end = t.timestamps_ms("end")?;
    let cnt = t.longs("cnt")?;
    let [mean, mdn, mn, mx, p95] = ["mean", "mdn", "mn", "mx", "p95"].map(|c| t.floats(c));
    let (mean, mdn, mn, mx, p95) = (mean?, mdn?, mn?, mx?, p95?);
    let finite = |v: f64| Some(v).filter(|x| !x.is_nan());
    let mut out = StatsResponse {
        day: day.label(),
        tz: TZ.name().to_owned(),
        ..Default::default()
    };
    let mut sessions: BTreeMap<i64, SessionStats> = BTreeMap::new();
    for i in 0..t.rows() {
        let s = Stats {
            count: u64::try_from(cnt[i]).unwrap_or(0),
            avg: finite(mean[i]),
            median: finite(mdn[i]),
            min: finite(mn[i]),
            max: finite(mx[i]),
            p95: finite(p95[i]),
        };
        let (cpu, ram, disc) = if session[i] < 0 {
            (&mut out.cpu, &mut out.ram, &mut out.disc)
        } else {
            let e = sessions.entry(session[i]).or_insert_with(|| SessionStats {
                start: start[i],
                end: end[i],
                cpu: Stats::default(),
                ram: Stats::default(),
                disc: BTreeMap::new(),
            });
            (&mut e.cpu, &mut e.ram, &mut e.disc)
        };
        match metric[i].as_str() {
            "cpu" => *cpu = s,
            "ram" => *ram = s,
            "disc" => {
                disc.insert(mount[i].clone(), s);
            }
            other => {
                return Err(KdbError::Protocol(format!(
                    "stats for unknown metric '{other}'"
                )));
            }
        }
    }
    out.sessions = sessions.into_values().collect();
    Ok(out)
}

// ---- ingest coalescing ------------------------------------------------------

async fn coalesce(backend: Arc<Backend>, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut rows = first.rows();
        let mut group = vec![first];
        let deadline = tokio::time::Instant::now() + COALESCE_WINDOW;
        while rows < COALESCE_ROWS {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(p) => { rows += p.rows(); group.push(p); }
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        // One call per (day, limit): in practice every batch shares both.
        let mut parts: BTreeMap<(chrono::NaiveDate, u64), Vec<Pending>> = BTreeMap::new();
        for p in group {
            parts
                .entry((p.req.day.date, p.req.daily_row_limit))
                .or_default()
                .push(p);
        }
        for ((_, limit), part) in parts {
            let day = part[0].req.day;
            let result = ingest_group(&backend, day, limit, &part).await;
            match result {
                Ok(outcomes) => {
                    for (p, o) in part.into_iter().zip(outcomes) {
                        let _ = p.reply.send(o);
                    }
                }
                Err(e) => {
                    let e = StoreError::from(e);
                    for p in part {
                        let _ = p.reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}

/// The arguments of `.vitals.ingest` for a group of batches.
pub fn ingest_args(day: Day, limit: u64, part: &[&IngestRequest]) -> Result<Vec<K>, KdbError> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let batches = k::table(vec![
        ("instance_id", k::guids(part.iter().map(|r| r.instance.0))),
        (
            "batch_id",
            k::guids(part.iter().map(|r| *r.batch.batch_id.as_bytes())),
        ),
        (
            "ncpu",
            k::longs(part.iter().map(|r| count(r.batch.cpu.len()))),
        ),
        (
            "nram",
            k::longs(part.iter().map(|r| count(r.batch.ram.len()))),
        ),
        (
            "ndisc",
            k::longs(part.iter().map(|r| count(r.batch.disc.len()))),
        ),
    ])?;
    // Row-wise owners of each row: (instance, batch) repeated per row.
    let owners = |n: fn(&IngestRequest) -> usize| -> (K, K) {
        let ids = part
            .iter()
            .flat_map(|r| std::iter::repeat_n(r.instance.0, n(r)));
        let bids = part
            .iter()
            .flat_map(|r| std::iter::repeat_n(*r.batch.batch_id.as_bytes(), n(r)));
        (k::guids(ids), k::guids(bids))
    };
    let cpu_rows = || part.iter().flat_map(|r| r.batch.cpu.iter());
    let ram_rows = || part.iter().flat_map(|r| r.batch.ram.iter());
    let disc_rows = || part.iter().flat_map(|r| r.batch.disc.iter());
    let (ci, cb) = owners(|r| r.batch.cpu.len());
    let cpu = k::table(vec![
        ("instance_id", ci),
        ("batch_id", cb),
        ("ts", k::timestamps(cpu_rows().map(|c| c.ts))),
        ("usage_pct", k::floats(cpu_rows().map(|c| c.usage_pct))),
        (
            "cores_pct",
            k::compound(
                cpu_rows()
                    .map(|c| k::floats(c.cores_pct.iter().copied()))
                    .collect(),
            ),
        ),
        (
            "load1",
            k::floats(cpu_rows().map(|c| c.load1.unwrap_or(f64::NAN))),
        ),
    ])?;
    let (ri, rb) = owners(|r| r.batch.ram.len());
    let ram = k::table(vec![
        ("instance_id", ri),
        ("batch_id", rb),
        ("ts", k::timestamps(ram_rows().map(|r| r.ts))),
        ("used_bytes", k::longs(ram_rows().map(|r| r.used_bytes))),
        ("total_bytes", k::longs(ram_rows().map(|r| r.total_bytes))),
        (
            "swap_used_bytes",
            k::longs(ram_rows().map(|r| r.swap_used_bytes)),
        ),
        (
            "swap_total_bytes",
            k::longs(ram_rows().map(|r| r.swap_total_bytes)),
        ),
    ])?;
    let (di, db) = owners(|r| r.batch.disc.len());
    let disc = k::table(vec![
        ("instance_id", di),
        ("batch_id", db),
        ("ts", k::timestamps(disc_rows().map(|d| d.ts))),
        ("mount", k::symbols(disc_rows().map(|d| d.mount.as_str()))),
        ("used_bytes", k::longs(disc_rows().map(|d| d.used_bytes))),
        ("total_bytes", k::longs(disc_rows().map(|d| d.total_bytes))),
        ("read_bps", k::floats(disc_rows().map(|d| d.read_bps))),
        ("write_bps", k::floats(disc_rows().map(|d| d.write_bps))),
    ])?;
    Ok(vec![
        k::date(day.date),
        k::long(i64::try_from(limit).unwrap_or(i64::MAX)),
        batches,
        cpu,
        ram,
        disc,
    ])
}

async fn ingest_group(
    backend: &Backend,
    day: Day,
    limit: u64,
    part: &[Pending],
) -> Result<Vec<Result<IngestOutcome, StoreError>>, KdbError> {
    let reqs: Vec<&IngestRequest> = part.iter().map(|p| &p.req).collect();
    let args = ingest_args(day, limit, &reqs)?;
    let reply = backend.write("ingest", ".vitals.ingest", args).await?;
    let t = k::Table::of(&reply)?;
    if t.rows() != part.len() {
        return Err(KdbError::Protocol(format!(
            "ingest answered {} rows for {} batches",
            t.rows(),
            part.len()
        )));
    }
    let status = t.symbols("status")?;
    let (c, r, d) = (t.longs("cpu")?, t.longs("ram")?, t.longs("disc")?);
    let tbl = t.symbols("tbl")?;
    let ts = t.timestamps_ms("ts")?;
    let u = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(reqs
        .iter()
        .enumerate()
        .map(|(i, req)| {
            let today = RowCounts {
                cpu: u(c[i]),
                ram: u(r[i]),
                disc: u(d[i]),
            };
            let b = &req.batch;
            let sent = RowCounts {
                cpu: b.cpu.len() as u64,
                ram: b.ram.len() as u64,
                disc: b.disc.len() as u64,
            };
            match status[i].as_str() {
                "ok" => Ok(IngestOutcome {
                    accepted: sent,
                    duplicate: false,
                    today,
                }),
                "dup" => Ok(IngestOutcome {
                    accepted: RowCounts::default(),
                    duplicate: true,
                    today,
                }),
                "unknown" => Err(StoreError::UnknownInstance),
                "exists" => Err(StoreError::AlreadyStored {
                    table: parse_metric(&tbl[i])?,
                    ts: ts[i],
                }),
                "quota" => {
                    let over = [
                        (Metric::Cpu, today.cpu, sent.cpu),
                        (Metric::Ram, today.ram, sent.ram),
                        (Metric::Disc, today.disc, sent.disc),
                    ]
                    .into_iter()
                    .find(|(_, used, n)| *n > 0 && used + n > limit)
                    .unwrap_or((Metric::Cpu, today.cpu, sent.cpu));
                    Err(StoreError::QuotaExceeded {
                        table: over.0,
                        used: over.1,
                        limit,
                    })
                }
                other => Err(StoreError::Internal(format!(
                    "kdb+ answered '{other}' to ingest"
                ))),
            }
        })
        .collect())
}
