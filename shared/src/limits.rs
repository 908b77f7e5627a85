//! The numeric limits of the contract. Server, desktop and docs refer to these
//! constants instead of repeating the numbers.

/// Most rows (cpu + ram + disc together) one ingest batch may carry.
pub const MAX_ROWS_PER_BATCH: usize = 10_000;

/// How far ahead of the server's clock a sample timestamp may be, in milliseconds.
pub const MAX_FUTURE_SKEW_MS: i64 = 5_000;

/// Default largest request body the server accepts, in bytes (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Longest mount name accepted, in bytes. Real mount points are far shorter;
/// the bound keeps one row from costing unbounded storage.
pub const MAX_MOUNT_LEN: usize = 1024;

/// Most per-core values one cpu row may carry.
pub const MAX_CORES: usize = 4096;

/// Largest byte count accepted. Both stores keep bytes as signed 64-bit
/// integers (SQLite `INTEGER`, kdb+ `long`), so this is `i64::MAX`.
pub const MAX_BYTES: u64 = i64::MAX as u64;

/// A gap between consecutive samples longer than this starts a new upload
/// session in the per-session statistics (5 minutes).
pub const SESSION_GAP_MS: i64 = 5 * 60 * 1000;

/// The time zone whose calendar day bounds all stored data.
pub const DAY_TZ_NAME: &str = "Europe/Warsaw";
