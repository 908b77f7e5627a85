//! The embedded store: one real SQLite file (bundled SQLite, WAL mode).
//!
//! Writes go through a single writer thread that owns the only writing
//! connection. It takes every write waiting in its queue (up to
//! [`MAX_GROUP`]), runs each in its own savepoint inside one transaction, and
//! commits once (`synchronous = FULL`, so the commit is on disk): a batch that
//! fails rolls back alone, and no caller hears "done" before the commit.
//! Reads use a small pool of read-only connections on blocking threads; WAL
//! lets them run beside the writer.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;
use vitals_shared::day::Day;
use vitals_shared::downsample::Point;
use vitals_shared::wire::{
    CpuSample, DiscSample, Metric, RamSample, RowCounts, StatsResponse, TimestampMs, percent,
};

use super::{ConsentRecord, DayRows, IngestOutcome, IngestRequest, Store, StoreError};
use crate::identity::InstanceId;
use crate::stats::{StatInput, StatSeries, compute};

/// Most writes committed together in one transaction.
pub const MAX_GROUP: usize = 512;

/// Read connections kept open for reuse.
const MAX_IDLE_READERS: usize = 8;

/// Address space each reader may map of the database file (8 GiB; pages are
/// shared with the OS page cache, so this is not memory use).
const READER_MMAP_BYTES: i64 = 8 << 30;

/// The schema, also used by the benchmark's bare-rusqlite reference loop.
pub const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS instances (
    instance_id    BLOB PRIMARY KEY,           -- HMAC(secret, token), 16 bytes
    consent_at     INTEGER NOT NULL,           -- epoch ms
    policy_version TEXT NOT NULL,
    quota_day      TEXT NOT NULL DEFAULT '',   -- Warsaw day the counters count
    cpu_rows       INTEGER NOT NULL DEFAULT 0,
    ram_rows       INTEGER NOT NULL DEFAULT 0,
    disc_rows      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cpu (
    instance_id BLOB NOT NULL,
    ts          INTEGER NOT NULL,
    usage_pct   REAL NOT NULL,
    cores_pct   TEXT NOT NULL,                 -- JSON array of percents
    load1       REAL,
    PRIMARY KEY (instance_id, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ram (
    instance_id      BLOB NOT NULL,
    ts               INTEGER NOT NULL,
    used_bytes       INTEGER NOT NULL,
    total_bytes      INTEGER NOT NULL,
    swap_used_bytes  INTEGER NOT NULL,
    swap_total_bytes INTEGER NOT NULL,
    PRIMARY KEY (instance_id, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS disc (
    instance_id BLOB NOT NULL,
    mount       TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    used_bytes  INTEGER NOT NULL,
    total_bytes INTEGER NOT NULL,
    read_bps    REAL NOT NULL,
    write_bps   REAL NOT NULL,
    PRIMARY KEY (instance_id, mount, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
    instance_id BLOB NOT NULL,
    batch_id    BLOB NOT NULL,
    day         TEXT NOT NULL,
    PRIMARY KEY (instance_id, batch_id)
) WITHOUT ROWID;
PRAGMA user_version = 1;
"#;

enum WriteOp {
    Create {
        id: InstanceId,
        consent: ConsentRecord,
        max_instances: u64,
    },
    Ingest(IngestRequest),
    Delete(InstanceId),
    Erase(Day),
}

enum WriteDone {
    Created,
    Ingested(IngestOutcome),
    Deleted(RowCounts),
    Erased(RowCounts),
}

type Reply = oneshot::Sender<Result<WriteDone, StoreError>>;

enum Cmd {
    Write(WriteOp, Reply),
    Close(oneshot::Sender<()>),
}

/// The SQLite backend.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Cmd>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    readers: Arc<Mutex<Vec<Connection>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create '{}': {e}", dir.display()))
            })?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(path, e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| open_err(path, e))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| open_err(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| open_err(path, e))?;
        conn.execute_batch(SCHEMA).map_err(|e| open_err(path, e))?;

        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StoreError::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            readers: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write(&self, op: WriteOp) -> Result<WriteDone, StoreError> {
        let (reply, rx) = oneshot::channel();
        {
            let guard = self.writer.lock().map_err(|_| poisoned())?;
            let Some(tx) = guard.as_ref() else {
                return Err(StoreError::Unavailable("the store is closed".into()));
            };
            tx.send(Cmd::Write(op, reply))
                .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
        }
        rx.await
            .map_err(|_| StoreError::Unavailable("the writer stopped before answering".into()))?
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        if self.writer.lock().map_err(|_| poisoned())?.is_none() {
            return Err(StoreError::Unavailable("the store is closed".into()));
        }
        let pool = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match pool.lock().map_err(|_| poisoned())?.pop() {
                Some(c) => c,
                None => open_reader(&path)?,
            };
            let out = f(&conn).map_err(map_err);
            if let Ok(mut p) = pool.lock()
                && p.len() < MAX_IDLE_READERS
            {
                p.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| open_err(path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| open_err(path, e))?;
    conn.pragma_update(None, "query_only", true)
        .map_err(|e| open_err(path, e))?;
    // Reads of a day are scans of one instance's key range: map the file
    // instead of one read() per page, and keep a larger page cache.
    conn.pragma_update(None, "mmap_size", READER_MMAP_BYTES)
        .map_err(|e| open_err(path, e))?;
    conn.pragma_update(None, "cache_size", -32_768)
        .map_err(|e| open_err(path, e))?;
    Ok(conn)
}

fn poisoned() -> StoreError {
    StoreError::Internal("a store lock was poisoned".into())
}

fn open_err(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!(
        "cannot open the SQLite file '{}': {e}",
        path.display()
    ))
}

/// Storage-level failures (disk, locks, permissions) are "unavailable";
/// anything else is a bug.
fn map_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(
            ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::ReadOnly
            | ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::PermissionDenied
            | ErrorCode::NotADatabase
            | ErrorCode::DatabaseCorrupt,
        ) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Internal(e.to_string()),
    }
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Cmd>) {
    let mut closing: Option<oneshot::Sender<()>> = None;
    while closing.is_none() {
        let Ok(first) = rx.recv() else { break };
        let mut group = Vec::new();
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            match cmd {
                Cmd::Write(op, reply) => group.push((op, reply)),
                Cmd::Close(done) => closing = Some(done),
            }
            if group.len() < MAX_GROUP && closing.is_none() {
                next = rx.try_recv().ok();
            }
        }
        if !group.is_empty() {
            run_group(&mut conn, group);
        }
    }
    // Close: fold the WAL back into the main file so it is complete alone.
    if let Err(e) = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
        tracing::warn!(error = %e, "WAL checkpoint on close failed");
    }
    drop(conn);
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

fn run_group(conn: &mut Connection, group: Vec<(WriteOp, Reply)>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let err = map_err(e);
            for (_, reply) in group {
                let _ = reply.send(Err(err.clone()));
            }
            return;
        }
    };
    let mut tx = tx;
    let mut results = Vec::with_capacity(group.len());
    for (op, reply) in group {
        let res = match tx.savepoint() {
            Ok(mut sp) => match apply(&mut sp, op) {
                Ok(done) => sp.commit().map(|_| done).map_err(map_err),
                // Dropping the savepoint rolls back this write only.
                Err(e) => Err(e),
            },
            Err(e) => Err(map_err(e)),
        };
        results.push((res, reply));
    }
    match tx.commit() {
        Ok(()) => {
            for (res, reply) in results {
                let _ = reply.send(res);
            }
        }
        Err(e) => {
            let err = map_err(e);
            tracing::error!(error = %err, "commit failed; the whole group is rolled back");
            for (_, reply) in results {
                let _ = reply.send(Err(err.clone()));
            }
        }
    }
}

fn apply(conn: &mut rusqlite::Savepoint<'_>, op: WriteOp) -> Result<WriteDone, StoreError> {
    match op {
        WriteOp::Create {
            id,
            consent,
            max_instances,
        } => {
            let n: i64 = conn
                .query_row("SELECT COUNT(*) FROM instances", [], |r| r.get(0))
                .map_err(map_err)?;
            if n as u64 >= max_instances {
                return Err(StoreError::TooManyInstances(max_instances));
            }
            conn.execute(
                "INSERT INTO instances (instance_id, consent_at, policy_version) VALUES (?1, ?2, ?3)",
                params![id.as_bytes(), consent.consent_at, consent.policy_version],
            )
            .map_err(map_err)?;
            Ok(WriteDone::Created)
        }
        WriteOp::Ingest(req) => ingest(conn, req).map(WriteDone::Ingested),
        WriteOp::Delete(id) => {
            let key = id.as_bytes();
            let mut deleted = RowCounts::default();
            for (table, slot) in [
                ("cpu", &mut deleted.cpu),
                ("ram", &mut deleted.ram),
                ("disc", &mut deleted.disc),
            ] {
                *slot = conn
                    .execute(
                        &format!("DELETE FROM {table} WHERE instance_id = ?1"),
                        [key],
                    )
                    .map_err(map_err)? as u64;
            }
            conn.execute("DELETE FROM batches WHERE instance_id = ?1", [key])
                .map_err(map_err)?;
            let n = conn
                .execute("DELETE FROM instances WHERE instance_id = ?1", [key])
                .map_err(map_err)?;
            if n == 0 {
                return Err(StoreError::UnknownInstance);
            }
            Ok(WriteDone::Deleted(deleted))
        }
        WriteOp::Erase(today) => {
            let (lo, hi) = (today.start_ms(), today.end_ms());
            let mut erased = RowCounts::default();
            for (table, slot) in [
                ("cpu", &mut erased.cpu),
                ("ram", &mut erased.ram),
                ("disc", &mut erased.disc),
            ] {
                *slot = conn
                    .execute(
                        &format!("DELETE FROM {table} WHERE ts < ?1 OR ts >= ?2"),
                        [lo, hi],
                    )
                    .map_err(map_err)? as u64;
            }
            let label = today.label();
            conn.execute("DELETE FROM batches WHERE day <> ?1", [&label])
                .map_err(map_err)?;
            conn.execute(
                "UPDATE instances SET quota_day = ?1, cpu_rows = 0, ram_rows = 0, disc_rows = 0 WHERE quota_day <> ?1",
                [&label],
            )
            .map_err(map_err)?;
            Ok(WriteDone::Erased(erased))
        }
    }
}

fn ingest(
    conn: &mut rusqlite::Savepoint<'_>,
    req: IngestRequest,
) -> Result<IngestOutcome, StoreError> {
    let key = req.instance.as_bytes();
    let label = req.day.label();
    let row: Option<(String, i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT quota_day, cpu_rows, ram_rows, disc_rows FROM instances WHERE instance_id = ?1",
        )
        .and_then(|mut s| {
            s.query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()
        })
        .map_err(map_err)?;
    let Some((quota_day, c, r, d)) = row else {
        return Err(StoreError::UnknownInstance);
    };
    let before = if quota_day == label {
        RowCounts {
            cpu: c as u64,
            ram: r as u64,
            disc: d as u64,
        }
    } else {
        RowCounts::default()
    };

    let dup = conn
        .prepare_cached("SELECT 1 FROM batches WHERE instance_id = ?1 AND batch_id = ?2")
        .and_then(|mut s| s.exists(params![key, req.batch.batch_id.as_bytes()]))
        .map_err(map_err)?;
    if dup {
        return Ok(IngestOutcome {
            accepted: RowCounts::default(),
            duplicate: true,
            today: before,
        });
    }

    let b = &req.batch;
    let add = RowCounts {
        cpu: b.cpu.len() as u64,
        ram: b.ram.len() as u64,
        disc: b.disc.len() as u64,
    };
    for (table, used, n) in [
        (Metric::Cpu, before.cpu, add.cpu),
        (Metric::Ram, before.ram, add.ram),
        (Metric::Disc, before.disc, add.disc),
    ] {
        if n > 0 && used + n > req.daily_row_limit {
            return Err(StoreError::QuotaExceeded {
                table,
                used,
                limit: req.daily_row_limit,
            });
        }
    }

    let dup_row = |table: Metric, ts: TimestampMs| {
        move |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(ErrorCode::ConstraintViolation) => StoreError::AlreadyStored { table, ts },
            _ => map_err(e),
        }
    };
    {
        let mut st = conn
            .prepare_cached("INSERT INTO cpu (instance_id, ts, usage_pct, cores_pct, load1) VALUES (?1, ?2, ?3, ?4, ?5)")
            .map_err(map_err)?;
        for s in &b.cpu {
            let cores = serde_json::to_string(&s.cores_pct)
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            st.execute(params![key, s.ts, s.usage_pct, cores, s.load1])
                .map_err(dup_row(Metric::Cpu, s.ts))?;
        }
    }
    {
        let mut st = conn
            .prepare_cached(
                "INSERT INTO ram (instance_id, ts, used_bytes, total_bytes, swap_used_bytes, swap_total_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(map_err)?;
        for s in &b.ram {
            st.execute(params![
                key,
                s.ts,
                s.used_bytes,
                s.total_bytes,
                s.swap_used_bytes,
                s.swap_total_bytes
            ])
            .map_err(dup_row(Metric::Ram, s.ts))?;
        }
    }
    {
        let mut st = conn
            .prepare_cached(
                "INSERT INTO disc (instance_id, mount, ts, used_bytes, total_bytes, read_bps, write_bps) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(map_err)?;
        for s in &b.disc {
            st.execute(params![
                key,
                s.mount,
                s.ts,
                s.used_bytes,
                s.total_bytes,
                s.read_bps,
                s.write_bps
            ])
            .map_err(dup_row(Metric::Disc, s.ts))?;
        }
    }
    conn.prepare_cached("INSERT INTO batches (instance_id, batch_id, day) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![key, b.batch_id.as_bytes(), label]))
        .map_err(map_err)?;
    let today = RowCounts {
        cpu: before.cpu + add.cpu,
        ram: before.ram + add.ram,
        disc: before.disc + add.disc,
    };
    conn.prepare_cached(
        "UPDATE instances SET quota_day = ?2, cpu_rows = ?3, ram_rows = ?4, disc_rows = ?5 WHERE instance_id = ?1",
    )
    .and_then(|mut s| s.execute(params![key, label, today.cpu as i64, today.ram as i64, today.disc as i64]))
    .map_err(map_err)?;
    Ok(IngestOutcome {
        accepted: add,
        duplicate: false,
        today,
    })
}

/// `[from, to)` clamped to the day, so no read ever reaches another day.
const RAM_DAY: &str = "SELECT ts, used_bytes, total_bytes FROM ram WHERE instance_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts";

const DISC_MOUNT_DAY: &str = "SELECT ts, used_bytes, total_bytes FROM disc WHERE instance_id = ?1 AND ts >= ?2 AND ts < ?3 AND mount = ?4 ORDER BY ts";

fn points(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<Point>, rusqlite::Error> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// `(ts, used %)` from a query selecting `ts, used_bytes, total_bytes`; the
/// percent is the shared `percent`, so series and stats agree to the bit.
fn used_pct_points(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<Point>, rusqlite::Error> {
    let mut st = conn.prepare_cached(sql)?;
    let mut rows = st.query(p)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push((r.get(0)?, percent(r.get(1)?, r.get(2)?)));
    }
    Ok(out)
}

#[async_trait]
impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn create_instance(
        &self,
        id: InstanceId,
        consent: ConsentRecord,
        max_instances: u64,
    ) -> Result<(), StoreError> {
        match self
            .write(WriteOp::Create {
                id,
                consent,
                max_instances,
            })
            .await?
        {
            WriteDone::Created => Ok(()),
            _ => Err(StoreError::Internal("unexpected writer answer".into())),
        }
    }

    async fn instance_exists(&self, id: InstanceId) -> Result<bool, StoreError> {
        self.read(move |c| {
            c.prepare_cached("SELECT 1 FROM instances WHERE instance_id = ?1")?
                .exists([id.as_bytes()])
        })
        .await
    }

    async fn ingest(&self, req: IngestRequest) -> Result<IngestOutcome, StoreError> {
        match self.write(WriteOp::Ingest(req)).await? {
            WriteDone::Ingested(o) => Ok(o),
            _ => Err(StoreError::Internal("unexpected writer answer".into())),
        }
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
        let (lo, hi) = day.clamp_ms(from, to);
        let mount = mount.unwrap_or("/").to_owned();
        self.read(move |c| {
            let key = id.as_bytes();
            match metric {
                Metric::Cpu => points(
                    c,
                    "SELECT ts, usage_pct FROM cpu WHERE instance_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
                    params![key, lo, hi],
                ),
                Metric::Ram => used_pct_points(c, RAM_DAY, params![key, lo, hi]),
                Metric::Disc => used_pct_points(c, DISC_MOUNT_DAY, params![key, lo, hi, mount]),
            }
        })
        .await
    }

    async fn mounts(&self, id: InstanceId, day: Day) -> Result<Vec<String>, StoreError> {
        self.read(move |c| {
            // Skip-scan the (instance_id, mount, ts) key: one seek per mount
            // instead of reading every disc row of the day.
            let mut next = c.prepare_cached(
                "SELECT MIN(mount) FROM disc WHERE instance_id = ?1 AND mount > ?2",
            )?;
            let mut today = c.prepare_cached(
                "SELECT 1 FROM disc WHERE instance_id = ?1 AND mount = ?2 AND ts >= ?3 AND ts < ?4 LIMIT 1",
            )?;
            let mut out = Vec::new();
            let mut after = String::new();
            while let Some(m) = next.query_row(params![id.as_bytes(), after], |r| r.get::<_, Option<String>>(0))? {
                if today.exists(params![id.as_bytes(), m, day.start_ms(), day.end_ms()])? {
                    out.push(m.clone());
                }
                after = m;
            }
            Ok(out)
        })
        .await
    }

    async fn day_rows(
        &self,
        id: InstanceId,
        day: Day,
        metrics: &[Metric],
    ) -> Result<DayRows, StoreError> {
        let metrics = metrics.to_vec();
        self.read(move |c| {
            let p = params![id.as_bytes(), day.start_ms(), day.end_ms()];
            let mut out = DayRows::default();
            if metrics.contains(&Metric::Cpu) {
                let mut st = c.prepare_cached(
                    "SELECT ts, usage_pct, cores_pct, load1 FROM cpu WHERE instance_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
                )?;
                let rows = st.query_map(p, |r| {
                    let cores: String = r.get(2)?;
                    Ok(CpuSample {
                        ts: r.get(0)?,
                        usage_pct: r.get(1)?,
                        cores_pct: serde_json::from_str(&cores).unwrap_or_default(),
                        load1: r.get(3)?,
                    })
                })?;
                out.cpu = rows.collect::<Result<_, _>>()?;
            }
            if metrics.contains(&Metric::Ram) {
                let mut st = c.prepare_cached(
                    "SELECT ts, used_bytes, total_bytes, swap_used_bytes, swap_total_bytes FROM ram WHERE instance_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
                )?;
                let rows = st.query_map(p, |r| {
                    Ok(RamSample {
                        ts: r.get(0)?,
                        used_bytes: r.get(1)?,
                        total_bytes: r.get(2)?,
                        swap_used_bytes: r.get(3)?,
                        swap_total_bytes: r.get(4)?,
                    })
                })?;
                out.ram = rows.collect::<Result<_, _>>()?;
            }
            if metrics.contains(&Metric::Disc) {
                let mut st = c.prepare_cached(
                    "SELECT ts, mount, used_bytes, total_bytes, read_bps, write_bps FROM disc WHERE instance_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY mount, ts",
                )?;
                let rows = st.query_map(p, |r| {
                    Ok(DiscSample {
                        ts: r.get(0)?,
                        mount: r.get(1)?,
                        used_bytes: r.get(2)?,
                        total_bytes: r.get(3)?,
                        read_bps: r.get(4)?,
                        write_bps: r.get(5)?,
                    })
                })?;
                out.disc = rows.collect::<Result<_, _>>()?;
            }
            Ok(out)
        })
        .await
    }

    async fn stats(&self, id: InstanceId, day: Day) -> Result<StatsResponse, StoreError> {
        // One read connection per series (cpu, ram, each mount), all at once:
        // a day is ~86,400 rows per series and SQLite steps rows on one core.
        let (lo, hi) = (day.start_ms(), day.end_ms());
        let cpu = self.read(move |c| {
            let p = points(
                c,
                "SELECT ts, usage_pct FROM cpu WHERE instance_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
                params![id.as_bytes(), lo, hi],
            )?;
            Ok(StatSeries::new(p))
        });
        let ram = self.read(move |c| {
            Ok(StatSeries::new(used_pct_points(
                c,
                RAM_DAY,
                params![id.as_bytes(), lo, hi],
            )?))
        });
        let discs = async {
            let mounts = self.mounts(id, day).await?;
            futures_util::future::try_join_all(mounts.into_iter().map(|m| {
                self.read(move |c| {
                    let p = used_pct_points(c, DISC_MOUNT_DAY, params![id.as_bytes(), lo, hi, m])?;
                    Ok((m, StatSeries::new(p)))
                })
            }))
            .await
        };
        let (cpu, ram, disc) = tokio::try_join!(cpu, ram, discs)?;
        let disc = disc.into_iter().collect();
        Ok(compute(day, &StatInput { cpu, ram, disc }))
    }

    async fn delete_instance(&self, id: InstanceId) -> Result<RowCounts, StoreError> {
        match self.write(WriteOp::Delete(id)).await? {
            WriteDone::Deleted(n) => Ok(n),
            _ => Err(StoreError::Internal("unexpected writer answer".into())),
        }
    }

    async fn erase_outside(&self, today: Day) -> Result<RowCounts, StoreError> {
        match self.write(WriteOp::Erase(today)).await? {
            WriteDone::Erased(n) => Ok(n),
            _ => Err(StoreError::Internal("unexpected writer answer".into())),
        }
    }

    async fn row_counts(&self) -> Result<RowCounts, StoreError> {
        self.read(|c| {
            let n = |t: &str| -> Result<u64, rusqlite::Error> {
                c.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|v| v as u64)
            };
            Ok(RowCounts {
                cpu: n("cpu")?,
                ram: n("ram")?,
                disc: n("disc")?,
            })
        })
        .await
    }

    async fn instance_count(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            c.query_row("SELECT COUNT(*) FROM instances", [], |r| r.get::<_, i64>(0))
                .map(|v| v as u64)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // A read that touches the file, so a deleted or unreadable database shows.
        self.read(|c| c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(())))
            .await
    }

    async fn close(&self) {
        let tx = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(tx) = tx {
            let (done, rx) = oneshot::channel();
            if tx.send(Cmd::Close(done)).is_ok() {
                let _ = rx.await;
            }
        }
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        if let Ok(mut p) = self.readers.lock() {
            p.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let mut n = 0;
        crate::store::conformance::run_all(|| {
            n += 1;
            let s: Arc<dyn Store> =
                Arc::new(SqliteStore::open(&dir.path().join(format!("c{n}.sqlite"))).unwrap());
            s
        })
        .await;
    }

    #[tokio::test]
    async fn data_survives_reopen_and_is_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.sqlite");
        let s = SqliteStore::open(&path).unwrap();
        let id = InstanceId([7; 16]);
        s.create_instance(
            id,
            ConsentRecord {
                consent_at: 1,
                policy_version: "v".into(),
            },
            10,
        )
        .await
        .unwrap();
        s.close().await;
        assert!(matches!(s.ping().await, Err(StoreError::Unavailable(_))));
        let s = SqliteStore::open(&path).unwrap();
        assert!(s.instance_exists(id).await.unwrap());
        let mode: String = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        s.close().await;
    }

    #[tokio::test]
    async fn an_unopenable_path_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be.
        let err = SqliteStore::open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    }
}
