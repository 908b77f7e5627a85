//! Storage: one async trait, several backends, one conformance suite.
//!
//! - [`sqlite::SqliteStore`]: the embedded default, a real SQLite file.
//! - [`kdb::KdbStore`]: kdb+ over IPC, calling the q functions of `q/vitals.q`.
//!
//! Every backend must pass the `conformance` suite (a test-only module, run
//! from each backend's tests).
//! A backend stores a batch wholly or not at all, and answers only after the
//! commit.

pub mod kdb;
pub mod sqlite;

#[cfg(test)]
pub mod conformance;

use async_trait::async_trait;
use vitals_shared::day::Day;
use vitals_shared::downsample::Point;
use vitals_shared::wire::{
    Batch, CpuSample, DiscSample, Metric, RamSample, RowCounts, StatsResponse, TimestampMs,
};

use crate::identity::InstanceId;

/// What a backend can fail with. Each maps to one documented status.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or written (`503`).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The instance does not exist (deleted meanwhile) (`401`).
    #[error("unknown instance")]
    UnknownInstance,
    /// The daily row quota of one table would be exceeded (`429`).
    #[error("daily quota of {limit} rows in '{table}' reached ({used} stored today)")]
    QuotaExceeded {
        /// The table.
        table: Metric,
        /// Rows stored today.
        used: u64,
        /// The limit.
        limit: u64,
    },
    /// The instance limit of the server is reached (`429`).
    #[error("the server holds its maximum of {0} instances")]
    TooManyInstances(u64),
    /// A row with this timestamp is already stored for this series (`422`).
    #[error("{table} row with timestamp '{ts}' is already stored; send each sample once")]
    AlreadyStored {
        /// The table.
        table: Metric,
        /// The timestamp.
        ts: TimestampMs,
    },
    /// Anything else (`500`).
    #[error("store error: {0}")]
    Internal(String),
}

/// Consent as recorded for an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// When consent was given, epoch ms.
    pub consent_at: TimestampMs,
    /// The policy version agreed to.
    pub policy_version: String,
}

/// One validated batch to store for one instance.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    /// Whose rows.
    pub instance: InstanceId,
    /// The batch, already validated against `day`.
    pub batch: Batch,
    /// The Warsaw day the rows belong to; quota counters are per this day.
    pub day: Day,
    /// Most rows per table per instance per day.
    pub daily_row_limit: u64,
}

/// What a successful ingest did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Rows stored now (zero for a duplicate).
    pub accepted: RowCounts,
    /// The batch id had already been stored.
    pub duplicate: bool,
    /// Rows stored today per table, after this batch.
    pub today: RowCounts,
}

/// Today's raw rows of one instance (only the tables asked for are filled).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayRows {
    /// `cpu` rows in time order.
    pub cpu: Vec<CpuSample>,
    /// `ram` rows in time order.
    pub ram: Vec<RamSample>,
    /// `disc` rows in (mount, time) order.
    pub disc: Vec<DiscSample>,
}

/// The storage contract.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short name for logs and `/readyz` (`sqlite`, `kdb`).
    fn kind(&self) -> &'static str;

    /// Creates an instance, unless `max_instances` already exist.
    async fn create_instance(
        &self,
        id: InstanceId,
        consent: ConsentRecord,
        max_instances: u64,
    ) -> Result<(), StoreError>;

    /// Whether the instance exists.
    async fn instance_exists(&self, id: InstanceId) -> Result<bool, StoreError>;

    /// Stores a batch atomically and idempotently by `batch_id`, enforcing
    /// the daily row limit per table.
    async fn ingest(&self, req: IngestRequest) -> Result<IngestOutcome, StoreError>;

    /// `(ts, value)` of one metric in `[from, to)` within `day`, in time order:
    /// cpu `usage_pct`, ram used percent, disc used percent of `mount`.
    async fn series(
        &self,
        id: InstanceId,
        metric: Metric,
        mount: Option<&str>,
        day: Day,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<Point>, StoreError>;

    /// Mounts with rows today, sorted.
    async fn mounts(&self, id: InstanceId, day: Day) -> Result<Vec<String>, StoreError>;

    /// Today's raw rows of the given tables (for export).
    async fn day_rows(
        &self,
        id: InstanceId,
        day: Day,
        metrics: &[Metric],
    ) -> Result<DayRows, StoreError>;

    /// Today's statistics, overall and per upload session.
    async fn stats(&self, id: InstanceId, day: Day) -> Result<StatsResponse, StoreError>;

    /// Deletes the instance and all its rows; returns the rows deleted, or
    /// `UnknownInstance`.
    async fn delete_instance(&self, id: InstanceId) -> Result<RowCounts, StoreError>;

    /// Erases every row outside `today` from every table, forgets batch ids of
    /// earlier days and resets the daily counters; returns rows erased.
    async fn erase_outside(&self, today: Day) -> Result<RowCounts, StoreError>;

    /// Rows held per table over all instances (tests, metrics).
    async fn row_counts(&self) -> Result<RowCounts, StoreError>;

    /// Number of instances.
    async fn instance_count(&self) -> Result<u64, StoreError>;

    /// Cheap round trip for readiness.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Finishes pending writes and closes; later calls fail with `Unavailable`.
    async fn close(&self);
}
