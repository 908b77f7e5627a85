//! The conformance suite every [`Store`] backend must pass.
//!
//! `run_all(make)` calls each check with a fresh, empty store from `make`.
//! Backends call it from their own tests (SQLite always; kdb+ only where a
//! real q binary is available).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;
use vitals_shared::day::Day;
use vitals_shared::wire::{Batch, CpuSample, DiscSample, Metric, RamSample, RowCounts};

use super::{ConsentRecord, IngestRequest, Store, StoreError};
use crate::identity::InstanceId;

/// Runs every check, each on a new store.
pub async fn run_all(mut make: impl FnMut() -> Arc<dyn Store>) {
    instances_and_limit(make()).await;
    ingest_and_read_back(make()).await;
    idempotent_batches(make()).await;
    concurrent_duplicates_store_once(make()).await;
    quota_is_all_or_nothing(make()).await;
    already_stored_rows_reject_whole_batch(make()).await;
    unknown_instance(make()).await;
    reads_never_leave_the_day(make()).await;
    instances_are_isolated(make()).await;
    delete_removes_only_that_instance(make()).await;
    erase_outside_today(make()).await;
}

fn noon() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-04T11:00:00Z")
        .unwrap()
        .with_utc_timezone()
}

trait Utcify {
    fn with_utc_timezone(self) -> DateTime<Utc>;
}
impl Utcify for DateTime<chrono::FixedOffset> {
    fn with_utc_timezone(self) -> DateTime<Utc> {
        self.with_timezone(&Utc)
    }
}

fn consent() -> ConsentRecord {
    ConsentRecord {
        consent_at: noon().timestamp_millis(),
        policy_version: "test".into(),
    }
}

async fn new_instance(s: &dyn Store, n: u8) -> InstanceId {
    let id = InstanceId([n; 16]);
    s.create_instance(id, consent(), 1000).await.unwrap();
    id
}

/// `n` seconds of samples starting at `t0`: one cpu, one ram, two disc rows each.
fn batch(t0: i64, n: i64) -> Batch {
    let mut b = Batch {
        batch_id: Uuid::new_v4(),
        cpu: vec![],
        ram: vec![],
        disc: vec![],
    };
    for i in 0..n {
        let ts = t0 + i * 1000;
        b.cpu.push(CpuSample {
            ts,
            usage_pct: (i % 100) as f64,
            cores_pct: vec![1.5, 2.5],
            load1: if i % 2 == 0 { Some(0.25) } else { None },
        });
        b.ram.push(RamSample {
            ts,
            used_bytes: 25,
            total_bytes: 100,
            swap_used_bytes: 1,
            swap_total_bytes: 2,
        });
        for (mount, used) in [("/", 50), ("/home", 10)] {
            b.disc.push(DiscSample {
                ts,
                mount: mount.into(),
                used_bytes: used,
                total_bytes: 100,
                read_bps: 1.0,
                write_bps: 2.0,
            });
        }
    }
    b
}

fn req(id: InstanceId, b: Batch, day: Day) -> IngestRequest {
    IngestRequest {
        instance: id,
        batch: b,
        day,
        daily_row_limit: 1_000_000,
    }
}

fn today() -> Day {
    Day::containing(noon())
}

async fn instances_and_limit(s: Arc<dyn Store>) {
    let a = InstanceId([1; 16]);
    assert!(!s.instance_exists(a).await.unwrap());
    s.create_instance(a, consent(), 2).await.unwrap();
    assert!(s.instance_exists(a).await.unwrap());
    s.create_instance(InstanceId([2; 16]), consent(), 2)
        .await
        .unwrap();
    let err = s
        .create_instance(InstanceId([3; 16]), consent(), 2)
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::TooManyInstances(2));
    assert_eq!(s.instance_count().await.unwrap(), 2);
    s.ping().await.unwrap();
    s.close().await;
}

async fn ingest_and_read_back(s: Arc<dyn Store>) {
    let id = new_instance(&*s, 1).await;
    let t0 = noon().timestamp_millis();
    let b = batch(t0, 3);
    let out = s.ingest(req(id, b.clone(), today())).await.unwrap();
    assert!(!out.duplicate);
    assert_eq!(
        out.accepted,
        RowCounts {
            cpu: 3,
            ram: 3,
            disc: 6
        }
    );
    assert_eq!(out.today, out.accepted);
    assert_eq!(
        s.row_counts().await.unwrap(),
        RowCounts {
            cpu: 3,
            ram: 3,
            disc: 6
        }
    );

    let day = today();
    let cpu = s
        .series(id, Metric::Cpu, None, day, i64::MIN, i64::MAX)
        .await
        .unwrap();
    assert_eq!(cpu, vec![(t0, 0.0), (t0 + 1000, 1.0), (t0 + 2000, 2.0)]);
    let ram = s
        .series(id, Metric::Ram, None, day, t0 + 1000, i64::MAX)
        .await
        .unwrap();
    assert_eq!(ram, vec![(t0 + 1000, 25.0), (t0 + 2000, 25.0)]);
    let root = s
        .series(id, Metric::Disc, None, day, i64::MIN, t0 + 1000)
        .await
        .unwrap();
    assert_eq!(root, vec![(t0, 50.0)]);
    let home = s
        .series(id, Metric::Disc, Some("/home"), day, i64::MIN, i64::MAX)
        .await
        .unwrap();
    assert_eq!(home.len(), 3);
    assert_eq!(home[0].1, 10.0);
    assert_eq!(
        s.mounts(id, day).await.unwrap(),
        vec!["/".to_owned(), "/home".to_owned()]
    );

    let rows = s.day_rows(id, day, &Metric::ALL).await.unwrap();
    assert_eq!(rows.cpu, b.cpu);
    assert_eq!(rows.ram, b.ram);
    let mut disc = b.disc.clone();
    disc.sort_by(|x, y| (&x.mount, x.ts).cmp(&(&y.mount, y.ts)));
    assert_eq!(rows.disc, disc);
    let only_ram = s.day_rows(id, day, &[Metric::Ram]).await.unwrap();
    assert!(only_ram.cpu.is_empty() && only_ram.disc.is_empty());
    assert_eq!(only_ram.ram.len(), 3);

    let st = s.stats(id, day).await.unwrap();
    assert_eq!(st.day, "2026-12-04");
    assert_eq!(st.cpu.count, 3);
    assert_eq!(st.cpu.avg, Some(1.0));
    assert_eq!(st.cpu.median, Some(1.0));
    assert_eq!(st.cpu.p95, Some(2.0));
    assert_eq!(st.ram.avg, Some(25.0));
    assert_eq!(st.disc["/home"].max, Some(10.0));
    assert_eq!(st.sessions.len(), 1);
    s.close().await;
}

async fn idempotent_batches(s: Arc<dyn Store>) {
    let a = new_instance(&*s, 1).await;
    let b_inst = new_instance(&*s, 2).await;
    let b = batch(noon().timestamp_millis(), 2);
    let first = s.ingest(req(a, b.clone(), today())).await.unwrap();
    let again = s.ingest(req(a, b.clone(), today())).await.unwrap();
    assert!(!first.duplicate);
    assert!(again.duplicate);
    assert_eq!(again.accepted, RowCounts::default());
    assert_eq!(again.today, first.today);
    // Another instance may use the same batch id: ids are per instance.
    let other = s.ingest(req(b_inst, b, today())).await.unwrap();
    assert!(!other.duplicate);
    assert_eq!(
        s.row_counts().await.unwrap(),
        RowCounts {
            cpu: 4,
            ram: 4,
            disc: 8
        }
    );
    s.close().await;
}

async fn concurrent_duplicates_store_once(s: Arc<dyn Store>) {
    let a = new_instance(&*s, 1).await;
    let b = batch(noon().timestamp_millis(), 5);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = s.clone();
            let r = req(a, b.clone(), today());
            tokio::spawn(async move { s.ingest(r).await })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        let out = t.await.unwrap().unwrap();
        if !out.duplicate {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1);
    assert_eq!(
        s.row_counts().await.unwrap(),
        RowCounts {
            cpu: 5,
            ram: 5,
            disc: 10
        }
    );
    s.close().await;
}

async fn quota_is_all_or_nothing(s: Arc<dyn Store>) {
    let a = new_instance(&*s, 1).await;
    let t0 = noon().timestamp_millis();
    let limited = |b| IngestRequest {
        daily_row_limit: 5,
        ..req(a, b, today())
    };
    // 2 seconds: disc has 4 rows of 5.
    s.ingest(limited(batch(t0, 2))).await.unwrap();
    // 1 more second: cpu 3 ≤ 5 but disc 6 > 5, so nothing is stored.
    let err = s.ingest(limited(batch(t0 + 10_000, 1))).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::QuotaExceeded {
            table: Metric::Disc,
            used: 4,
            limit: 5
        }
    );
    assert_eq!(
        s.row_counts().await.unwrap(),
        RowCounts {
            cpu: 2,
            ram: 2,
            disc: 4
        }
    );
    // A cpu-only batch still fits.
    let mut cpu_only = batch(t0 + 20_000, 1);
    cpu_only.ram.clear();
    cpu_only.disc.clear();
    let out = s.ingest(limited(cpu_only)).await.unwrap();
    assert_eq!(
        out.today,
        RowCounts {
            cpu: 3,
            ram: 2,
            disc: 4
        }
    );
    s.close().await;
}

async fn already_stored_rows_reject_whole_batch(s: Arc<dyn Store>) {
    let a = new_instance(&*s, 1).await;
    let t0 = noon().timestamp_millis();
    s.ingest(req(a, batch(t0, 1), today())).await.unwrap();
    // New batch id, one new second and the already stored one.
    let b = batch(t0 - 1000, 2);
    let err = s.ingest(req(a, b.clone(), today())).await.unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyStored { ts, .. } if ts == t0),
        "{err:?}"
    );
    assert_eq!(
        s.row_counts().await.unwrap(),
        RowCounts {
            cpu: 1,
            ram: 1,
            disc: 2
        }
    );
    // The failed batch id was not recorded: fixing the batch works.
    let mut fixed = b;
    fixed.cpu.truncate(1);
    fixed.ram.truncate(1);
    fixed.disc.truncate(2);
    let out = s.ingest(req(a, fixed, today())).await.unwrap();
    assert!(!out.duplicate);
    assert_eq!(
        s.row_counts().await.unwrap(),
        RowCounts {
            cpu: 2,
            ram: 2,
            disc: 4
        }
    );
    s.close().await;
}

async fn unknown_instance(s: Arc<dyn Store>) {
    let err = s
        .ingest(req(
            InstanceId([9; 16]),
            batch(noon().timestamp_millis(), 1),
            today(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::UnknownInstance);
    assert_eq!(
        s.delete_instance(InstanceId([9; 16])).await.unwrap_err(),
        StoreError::UnknownInstance
    );
    assert_eq!(s.row_counts().await.unwrap(), RowCounts::default());
    s.close().await;
}

async fn reads_never_leave_the_day(s: Arc<dyn Store>) {
    let a = new_instance(&*s, 1).await;
    let day = today();
    let yesterday = Day::containing_ms(day.start_ms() - 1);
    // Rows of yesterday's last second (as if the erase had not run yet).
    s.ingest(req(a, batch(day.start_ms() - 1000, 1), yesterday))
        .await
        .unwrap();
    s.ingest(req(a, batch(day.start_ms(), 1), day))
        .await
        .unwrap();
    let cpu = s
        .series(a, Metric::Cpu, None, day, i64::MIN, i64::MAX)
        .await
        .unwrap();
    assert_eq!(cpu.len(), 1);
    assert_eq!(cpu[0].0, day.start_ms());
    let rows = s.day_rows(a, day, &Metric::ALL).await.unwrap();
    assert_eq!((rows.cpu.len(), rows.ram.len(), rows.disc.len()), (1, 1, 2));
    assert_eq!(s.stats(a, day).await.unwrap().cpu.count, 1);
    assert_eq!(s.mounts(a, day).await.unwrap().len(), 2);
    s.close().await;
}

async fn instances_are_isolated(s: Arc<dyn Store>) {
    let a = new_instance(&*s, 1).await;
    let b = new_instance(&*s, 2).await;
    let t0 = noon().timestamp_millis();
    s.ingest(req(a, batch(t0, 2), today())).await.unwrap();
    let day = today();
    assert!(
        s.series(b, Metric::Cpu, None, day, i64::MIN, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.day_rows(b, day, &Metric::ALL).await.unwrap(),
        Default::default()
    );
    assert_eq!(s.stats(b, day).await.unwrap().cpu.count, 0);
    assert!(s.mounts(b, day).await.unwrap().is_empty());
    s.close().await;
}

async fn delete_removes_only_that_instance(s: Arc<dyn Store>) {
    let a = new_instance(&*s, 1).await;
    let b = new_instance(&*s, 2).await;
    let t0 = noon().timestamp_millis();
    let batch_a = batch(t0, 2);
    s.ingest(req(a, batch_a.clone(), today())).await.unwrap();
    s.ingest(req(b, batch(t0, 3), today())).await.unwrap();
    let deleted = s.delete_instance(a).await.unwrap();
    assert_eq!(
        deleted,
        RowCounts {
            cpu: 2,
            ram: 2,
            disc: 4
        }
    );
    assert!(!s.instance_exists(a).await.unwrap());
    assert_eq!(
        s.row_counts().await.unwrap(),
        RowCounts {
            cpu: 3,
            ram: 3,
            disc: 6
        }
    );
    assert_eq!(
        s.ingest(req(a, batch_a, today())).await.unwrap_err(),
        StoreError::UnknownInstance
    );
    s.close().await;
}

async fn erase_outside_today(s: Arc<dyn Store>) {
    let a = new_instance(&*s, 1).await;
    let day = today();
    let limited = |b, d| IngestRequest {
        daily_row_limit: 4,
        ..req(a, b, d)
    };
    let old = batch(day.start_ms() - 2000, 2);
    s.ingest(limited(old.clone(), Day::containing_ms(day.start_ms() - 1)))
        .await
        .unwrap();
    // Then the day rolls: erase everything not in `day`.
    let erased = s.erase_outside(day).await.unwrap();
    assert_eq!(
        erased,
        RowCounts {
            cpu: 2,
            ram: 2,
            disc: 4
        }
    );
    assert_eq!(s.row_counts().await.unwrap(), RowCounts::default());
    // Counters are reset: a full day's quota is available again.
    let out = s
        .ingest(limited(batch(day.start_ms(), 2), day))
        .await
        .unwrap();
    assert_eq!(
        out.today,
        RowCounts {
            cpu: 2,
            ram: 2,
            disc: 4
        }
    );
    // The instance survives the erase; its old batch id is forgotten, so the
    // same id is not mistaken for a duplicate (its rows would be out of day
    // and refused by validation before reaching the store).
    assert!(s.instance_exists(a).await.unwrap());
    let erased = s.erase_outside(day).await.unwrap();
    assert_eq!(erased, RowCounts::default());
    assert_eq!(
        s.row_counts().await.unwrap(),
        RowCounts {
            cpu: 2,
            ram: 2,
            disc: 4
        }
    );
    s.close().await;
}
