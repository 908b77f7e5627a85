//! The JSON types of the HTTP contract in `../shared/DESIGN.md`.
//!
//! Optional and later-added fields carry `#[serde(default)]` so that an older
//! peer still parses what a newer one sends. Unknown fields are ignored for the
//! same reason.
//!
//! Byte counts are `i64` on the wire, not `u64`: a negative byte count must
//! reach [`crate::validate`] and be answered `422` with the row and field
//! named, not be lost as a generic type error, and both stores keep bytes as
//! signed 64-bit integers anyway (see [`crate::limits::MAX_BYTES`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Milliseconds since the Unix epoch, UTC.
pub type TimestampMs = i64;

/// One CPU sample: the whole machine and each logical core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuSample {
    /// When the sample was taken.
    pub ts: TimestampMs,
    /// Busy percent over all cores, 0–100.
    pub usage_pct: f64,
    /// Busy percent per logical core, each 0–100.
    #[serde(default)]
    pub cores_pct: Vec<f64>,
    /// One-minute load average; `None` where the OS has none (Windows).
    #[serde(default)]
    pub load1: Option<f64>,
}

/// One memory sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RamSample {
    /// When the sample was taken.
    pub ts: TimestampMs,
    /// Memory in use, bytes.
    pub used_bytes: i64,
    /// Installed memory, bytes.
    pub total_bytes: i64,
    /// Swap in use, bytes.
    #[serde(default)]
    pub swap_used_bytes: i64,
    /// Swap configured, bytes.
    #[serde(default)]
    pub swap_total_bytes: i64,
}

impl RamSample {
    /// Memory used as a percent of total (0 when total is 0).
    pub fn used_pct(&self) -> f64 {
        percent(self.used_bytes, self.total_bytes)
    }
}

/// One disk sample for one mount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscSample {
    /// When the sample was taken.
    pub ts: TimestampMs,
    /// Mount point, such as `/` or `C:\`.
    pub mount: String,
    /// Space in use, bytes.
    pub used_bytes: i64,
    /// File system size, bytes.
    pub total_bytes: i64,
    /// Read rate, bytes per second.
    #[serde(default)]
    pub read_bps: f64,
    /// Write rate, bytes per second.
    #[serde(default)]
    pub write_bps: f64,
}

impl DiscSample {
    /// Space used as a percent of the file system size (0 when size is 0).
    pub fn used_pct(&self) -> f64 {
        percent(self.used_bytes, self.total_bytes)
    }
}

/// `used` as a percent of `total`; 0 when `total` is not positive.
pub fn percent(used: i64, total: i64) -> f64 {
    if total <= 0 {
        0.0
    } else {
        used as f64 * 100.0 / total as f64
    }
}

/// The body of `POST /api/v1/ingest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Chosen by the uploader; the same id again is stored only once.
    pub batch_id: Uuid,
    /// CPU rows.
    #[serde(default)]
    pub cpu: Vec<CpuSample>,
    /// Memory rows.
    #[serde(default)]
    pub ram: Vec<RamSample>,
    /// Disk rows, one per mount per sample.
    #[serde(default)]
    pub disc: Vec<DiscSample>,
}

impl Batch {
    /// All rows in the batch, over the three tables.
    pub fn row_count(&self) -> usize {
        self.cpu.len() + self.ram.len() + self.disc.len()
    }
}

/// Rows per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCounts {
    /// Rows in `cpu`.
    pub cpu: u64,
    /// Rows in `ram`.
    pub ram: u64,
    /// Rows in `disc`.
    pub disc: u64,
}

/// Daily quota state returned with every ingest answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaInfo {
    /// Rows still allowed today in the fullest table.
    pub rows_left: u64,
    /// The next Warsaw midnight, RFC 3339.
    pub resets_at: String,
}

/// The `200` body of `POST /api/v1/ingest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestResponse {
    /// Rows stored by this request (zero for a duplicate).
    pub accepted: RowCounts,
    /// True when this `batch_id` had already been stored.
    pub duplicate: bool,
    /// Quota left after this batch.
    pub quota: QuotaInfo,
}

/// Consent as given by a person, part of registration and pairing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Whether the person ticked "I agree".
    #[serde(default)]
    pub accepted: bool,
    /// The version of the policy text they read.
    #[serde(default)]
    pub policy_version: String,
}

/// The body of `POST /api/v1/instances` and `POST /api/v1/pairing`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// The consent given.
    #[serde(default)]
    pub consent: Consent,
}

/// The `201` body of `POST /api/v1/instances`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterResponse {
    /// The bearer token; shown once, never stored by the server.
    pub token: String,
    /// The hashed instance id, as a guid string.
    pub instance: String,
    /// The policy version consented to.
    pub policy_version: String,
}

/// The body of `GET /api/v1/policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Version id that consent refers to.
    pub version: String,
    /// The full policy text, Markdown.
    pub text_markdown: String,
}

/// The `201` body of `POST /api/v1/pairing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingResponse {
    /// Short single-use code to type into the app or `vitals pair`.
    pub code: String,
    /// When the code stops working, RFC 3339.
    pub expires_at: String,
}

/// The body of `POST /api/v1/pairing/claim`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingClaimRequest {
    /// The code shown by the website.
    pub code: String,
}

/// The `200` body of `POST /api/v1/pairing/claim`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingClaimResponse {
    /// Bearer token bound to the browser's instance.
    pub token: String,
    /// The hashed instance id, as a guid string.
    pub instance: String,
}

/// The body of `POST /api/v1/me/web-link`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebLinkResponse {
    /// Relative URL, `/claim?code=...`, valid once for 5 minutes.
    pub url: String,
}

/// Which table a series or export reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// The `cpu` table.
    Cpu,
    /// The `ram` table.
    Ram,
    /// The `disc` table.
    Disc,
}

impl Metric {
    /// All metrics, in table order.
    pub const ALL: [Metric; 3] = [Metric::Cpu, Metric::Ram, Metric::Disc];

    /// The table name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Ram => "ram",
            Metric::Disc => "disc",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of `GET /api/v1/me/series`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesResponse {
    /// Which metric.
    pub metric: Metric,
    /// `[ts, value]` pairs in time order.
    pub points: Vec<(TimestampMs, f64)>,
}

/// Summary statistics of one series as sent on the wire. All value fields are
/// `null` when `count` is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Number of samples.
    pub count: u64,
    /// Arithmetic mean.
    pub avg: Option<f64>,
    /// Median (mean of the two middle values for an even count).
    pub median: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// 95th percentile, nearest-rank (see [`crate::stats`]).
    pub p95: Option<f64>,
}

/// Statistics of one upload session (samples with no gap over 5 minutes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionStats {
    /// First sample of the session.
    pub start: TimestampMs,
    /// Last sample of the session.
    pub end: TimestampMs,
    /// CPU busy percent.
    pub cpu: Stats,
    /// Memory used percent.
    pub ram: Stats,
    /// Disk used percent per mount.
    #[serde(default)]
    pub disc: BTreeMap<String, Stats>,
}

/// The body of `GET /api/v1/me/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsResponse {
    /// The Warsaw calendar day, `YYYY-MM-DD`.
    pub day: String,
    /// Always `Europe/Warsaw`.
    pub tz: String,
    /// CPU busy percent.
    pub cpu: Stats,
    /// Memory used percent.
    pub ram: Stats,
    /// Disk used percent per mount.
    #[serde(default)]
    pub disc: BTreeMap<String, Stats>,
    /// The same, per upload session.
    #[serde(default)]
    pub sessions: Vec<SessionStats>,
    /// Today's rows against the daily quota (set by the server's handler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaStatus>,
}

/// Rows stored today per table against the daily row quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaStatus {
    /// Most rows per table per day.
    pub daily_limit: u64,
    /// Rows stored today, per table.
    pub rows_today: RowCounts,
    /// One of the tables is full: uploads are refused until midnight.
    pub reached: bool,
}

/// One event of `GET /api/v1/me/live`: a stored row plus its table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "metric", rename_all = "lowercase")]
pub enum LiveSample {
    /// A `cpu` row.
    Cpu(CpuSample),
    /// A `ram` row.
    Ram(RamSample),
    /// A `disc` row.
    Disc(DiscSample),
}

/// One event of `GET /api/v1/demo/live`: an example sample, never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoSample {
    /// `prometheus` or `otel`.
    pub source: String,
    /// `cpu`, `ram` or `disc`.
    pub metric: String,
    /// When the value was observed.
    pub ts: TimestampMs,
    /// Percent, 0–100.
    pub value: f64,
    /// `origin` (the source URL, or `self`) and e.g. `mount`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// The inner part of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable `snake_case` code for programs.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

/// Every error answer: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

impl ErrorBody {
    /// Builds an error body.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_parses_with_optional_fields_missing() {
        let json = r#"{"batch_id":"67e55044-10b1-426f-9247-bb680e5fe0c8",
            "cpu":[{"ts":1,"usage_pct":5.0}],
            "ram":[{"ts":1,"used_bytes":1,"total_bytes":2}],
            "future_field": 7}"#;
        let b: Batch = serde_json::from_str(json).unwrap();
        assert_eq!(b.cpu[0].cores_pct, Vec::<f64>::new());
        assert_eq!(b.cpu[0].load1, None);
        assert_eq!(b.ram[0].swap_total_bytes, 0);
        assert!(b.disc.is_empty());
        assert_eq!(b.row_count(), 2);
    }

    #[test]
    fn batch_round_trips() {
        let b = Batch {
            batch_id: Uuid::nil(),
            cpu: vec![CpuSample {
                ts: 10,
                usage_pct: 12.5,
                cores_pct: vec![10.0, 15.0],
                load1: Some(0.5),
            }],
            ram: vec![],
            disc: vec![DiscSample {
                ts: 10,
                mount: "/".into(),
                used_bytes: 5,
                total_bytes: 10,
                read_bps: 1.0,
                write_bps: 2.0,
            }],
        };
        let s = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<Batch>(&s).unwrap(), b);
    }

    #[test]
    fn live_sample_carries_metric_tag() {
        let s = LiveSample::Ram(RamSample {
            ts: 1,
            used_bytes: 1,
            total_bytes: 4,
            swap_used_bytes: 0,
            swap_total_bytes: 0,
        });
        let v: serde_json::Value = serde_json::to_value(&s).unwrap();
        assert_eq!(v["metric"], "ram");
        assert_eq!(v["total_bytes"], 4);
        assert_eq!(serde_json::from_value::<LiveSample>(v).unwrap(), s);
    }

    #[test]
    fn error_body_has_contract_shape() {
        let v = serde_json::to_value(ErrorBody::new("bad", "Bad thing.")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {"code": "bad", "message": "Bad thing."}})
        );
    }

    #[test]
    fn series_points_are_pairs() {
        let r = SeriesResponse {
            metric: Metric::Disc,
            points: vec![(1, 2.5)],
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"metric": "disc", "points": [[1, 2.5]]})
        );
    }

    #[test]
    fn percent_handles_zero_total() {
        assert_eq!(percent(5, 0), 0.0);
        assert_eq!(percent(1, 4), 25.0);
    }
}
