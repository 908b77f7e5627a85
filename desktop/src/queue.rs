//! The on-disk upload queue: consented batches wait here until the server
//! has answered them, across network loss, server restarts and app restarts.
//!
//! One file per batch, named by a sequence number, written to a temporary
//! name and renamed, so a crash of the app leaves either the whole batch or
//! nothing. While nothing waits, the newest sample is only held in memory
//! ([`Queue::add`]): it normally reaches the server within milliseconds, and
//! creating and deleting a file for every sample was most of the agent's CPU
//! time. It goes to disk the moment it is not answered at once — a failed
//! send ([`Queue::spill`]), a newer sample arriving first, or the queue being
//! closed (also on drop) — so only a SIGKILL during that send can lose it, and
//! then it may well have been stored. Files are not fsynced per sample: a killed or restarted app loses
//! nothing (the kernel holds the written file); only a crash of the whole
//! operating system can lose the last seconds — the price of not waking the
//! disk every second. Bounded by samples and bytes (default: 24 hours of 1 Hz
//! samples or 100 MB, whichever comes first); when full the oldest batch is
//! dropped and its samples counted, and the count survives restarts. A batch keeps its
//! `batch_id` for its whole life, so resending it after an unanswered attempt
//! is never stored twice by the server.

use std::collections::VecDeque;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use vitals_shared::wire::Batch;

/// Default most samples held (24 hours at one sample per second).
pub const DEFAULT_MAX_SAMPLES: u64 = 86_400;
/// Default most bytes held (100 MB).
pub const DEFAULT_MAX_BYTES: u64 = 100_000_000;

const SUFFIX: &str = ".json";
const DROPPED_FILE: &str = "dropped.count";
const CORRUPT_DIR: &str = "corrupt";

#[derive(Debug)]
struct Entry {
    seq: u64,
    bytes: u64,
    /// Samples in the batch (its cpu rows).
    samples: u64,
}

/// The queue in a folder.
#[derive(Debug)]
pub struct Queue {
    dir: PathBuf,
    max_samples: u64,
    max_bytes: u64,
    entries: VecDeque<Entry>,
    bytes: u64,
    samples: u64,
    next_seq: u64,
    dropped: u64,
    /// The newest batch, kept in memory so that sending it right away, or
    /// folding the next sample into it, does not read it back from disk.
    cached: Option<(u64, Batch)>,
    /// A batch not written yet; only ever while `entries` is empty, so it is
    /// the front.
    held: Option<Batch>,
}

impl Queue {
    /// Opens (creating) the queue in `dir`, picking up what a previous run
    /// left; half-written temporary files are removed.
    /// Bounded by `max_samples` samples and `max_bytes` bytes.
    pub fn open(dir: &Path, max_samples: u64, max_bytes: u64) -> io::Result<Queue> {
        fs::create_dir_all(dir)?;
        let mut entries = Vec::new();
        for e in fs::read_dir(dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                fs::remove_file(e.path())?;
                continue;
            }
            if let Some(seq) = name
                .strip_suffix(SUFFIX)
                .and_then(|s| s.parse::<u64>().ok())
            {
                // Counted once here (status bar, bounds); a file that does
                // not parse counts as one and is set aside when it is sent.
                let samples = fs::read(e.path())
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Batch>(&b).ok())
                    .map_or(1, |b| b.cpu.len() as u64);
                entries.push(Entry {
                    seq,
                    samples,
                    bytes: e.metadata()?.len(),
                });
            }
        }
        entries.sort_by_key(|e| e.seq);
        let dropped = fs::read_to_string(dir.join(DROPPED_FILE))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let mut q = Queue {
            dir: dir.to_owned(),
            max_samples: max_samples.max(1),
            max_bytes: max_bytes.max(1),
            next_seq: entries.last().map_or(0, |e| e.seq + 1),
            bytes: entries.iter().map(|e| e.bytes).sum(),
            samples: entries.iter().map(|e| e.samples).sum(),
            entries: entries.into(),
            dropped,
            cached: None,
            held: None,
        };
        q.enforce_bounds()?;
        Ok(q)
    }

    /// Batches waiting, in memory or on disk.
    pub fn len(&self) -> usize {
        self.entries.len() + usize::from(self.held.is_some())
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Samples waiting, in memory or on disk.
    pub fn samples(&self) -> u64 {
        self.samples + self.held.as_ref().map_or(0, |b| b.cpu.len() as u64)
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Samples dropped because the queue was full, over all runs.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}{SUFFIX}"))
    }

    /// Writes `batch` as the file of `seq`: to a temporary name, then renamed
    /// into place, so a reader sees the old whole batch or the new one.
    /// Returns the bytes written.
    fn write_entry(&self, seq: u64, batch: &Batch) -> io::Result<u64> {
        let body = serde_json::to_vec(batch).map_err(io::Error::other)?;
        let tmp = self.dir.join(format!("{seq:020}.tmp"));
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&body)?;
        }
        fs::rename(&tmp, self.path(seq))?;
        Ok(body.len() as u64)
    }

    /// Adds a one-sample batch: held in memory when nothing waits, otherwise
    /// written to disk, folded into the newest unsent batch where it can be
    /// (see [`Queue::push_or_fold`]).
    pub fn add(&mut self, batch: Batch, max_samples: usize) -> io::Result<()> {
        if self.is_empty() {
            self.held = Some(batch);
            return Ok(());
        }
        self.spill()?;
        self.push_or_fold(&batch, max_samples)
    }

    /// Writes the batch held in memory, if any, to disk (its send failed, or
    /// the queue is closing).
    pub fn spill(&mut self) -> io::Result<()> {
        if let Some(b) = self.held.take()
            && let Err(e) = self.append(&b)
        {
            // Still held: nothing lost, the next spill tries again.
            self.held = Some(b);
            return Err(e);
        }
        Ok(())
    }

    /// Appends a batch (its file is in place when this returns).
    pub fn push(&mut self, batch: &Batch) -> io::Result<()> {
        self.spill()?;
        self.append(batch)
    }

    fn append(&mut self, batch: &Batch) -> io::Result<()> {
        let seq = self.next_seq;
        let bytes = self.write_entry(seq, batch)?;
        self.next_seq += 1;
        self.bytes += bytes;
        let samples = batch.cpu.len() as u64;
        self.samples += samples;
        self.entries.push_back(Entry {
            seq,
            bytes,
            samples,
        });
        self.cached = Some((seq, batch.clone()));
        self.enforce_bounds()
    }

    /// Adds a one-sample batch, folding it into the newest queued batch when
    /// that one has never been sent and holds fewer than `max_samples`
    /// samples. Only the oldest batch is ever sent, so any other one has
    /// never left the machine and may still grow: a backlog then drains in
    /// requests of many samples, and every batch keeps one `batch_id` from
    /// its first send to its last retry.
    pub fn push_or_fold(&mut self, batch: &Batch, max_samples: usize) -> io::Result<()> {
        self.spill()?;
        if self.entries.len() >= 2
            && let Some(tail_seq) = self.entries.back().map(|t| t.seq)
        {
            // The newest batch is normally in memory; read it only after a restart.
            let old = match self.cached.take() {
                Some((seq, b)) if seq == tail_seq => Some(b),
                _ => fs::read(self.path(tail_seq))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Batch>(&b).ok()),
            };
            if let Some(mut old) = old {
                if old.cpu.len() + batch.cpu.len() <= max_samples
                    && old.row_count() + batch.row_count()
                        <= vitals_shared::limits::MAX_ROWS_PER_BATCH
                {
                    old.cpu.extend(batch.cpu.iter().cloned());
                    old.ram.extend(batch.ram.iter().cloned());
                    old.disc.extend(batch.disc.iter().cloned());
                    let grown = self.write_entry(tail_seq, &old)?;
                    if let Some(t) = self.entries.back_mut() {
                        self.bytes = self.bytes - t.bytes + grown;
                        t.bytes = grown;
                        self.samples += batch.cpu.len() as u64;
                        t.samples += batch.cpu.len() as u64;
                    }
                    self.cached = Some((tail_seq, old));
                    return self.enforce_bounds();
                }
                self.cached = Some((tail_seq, old));
            }
        }
        self.append(batch)
    }

    /// The oldest batch, without removing it. `Err(InvalidData)` means its
    /// file is damaged: call [`Queue::quarantine_front`].
    pub fn front(&self) -> Option<io::Result<Batch>> {
        if let Some(b) = &self.held {
            return Some(Ok(b.clone()));
        }
        let e = self.entries.front()?;
        if let Some((seq, b)) = &self.cached
            && *seq == e.seq
        {
            return Some(Ok(b.clone()));
        }
        Some(fs::read(self.path(e.seq)).and_then(|b| {
            serde_json::from_slice(&b)
                .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
        }))
    }

    /// Removes the oldest batch (the server answered it).
    pub fn pop_front(&mut self) -> io::Result<()> {
        if self.held.take().is_some() {
            return Ok(());
        }
        if let Some(e) = self.entries.pop_front() {
            self.bytes -= e.bytes;
            self.samples -= e.samples;
            match fs::remove_file(self.path(e.seq)) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                _ => {}
            }
        }
        Ok(())
    }

    /// Moves a damaged oldest batch aside into `corrupt/`, so it is kept for
    /// inspection but no longer blocks the queue.
    pub fn quarantine_front(&mut self) -> io::Result<()> {
        if let Some(e) = self.entries.pop_front() {
            self.bytes -= e.bytes;
            self.samples -= e.samples;
            let dir = self.dir.join(CORRUPT_DIR);
            fs::create_dir_all(&dir)?;
            fs::rename(self.path(e.seq), dir.join(format!("{:020}{SUFFIX}", e.seq)))?;
        }
        Ok(())
    }

    fn enforce_bounds(&mut self) -> io::Result<()> {
        let mut dropped_now = 0;
        while self.entries.len() > 1
            && (self.samples > self.max_samples || self.bytes > self.max_bytes)
        {
            dropped_now += self.entries.front().map_or(0, |e| e.samples);
            self.pop_front()?;
        }
        if dropped_now > 0 {
            self.dropped += dropped_now;
            tracing::warn!(
                dropped = dropped_now,
                total = self.dropped,
                "upload queue full: dropped the oldest samples"
            );
            fs::write(self.dir.join(DROPPED_FILE), self.dropped.to_string())?;
        }
        Ok(())
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        if let Err(e) = self.spill() {
            tracing::error!(error = %e, "cannot write the newest sample to the queue");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_shared::wire::CpuSample;

    fn batch(ts: i64) -> Batch {
        Batch {
            batch_id: uuid::Uuid::new_v4(),
            cpu: vec![CpuSample {
                ts,
                usage_pct: 1.0,
                cores_pct: vec![1.0],
                load1: None,
            }],
            ram: vec![],
            disc: vec![],
        }
    }

    #[test]
    fn fifo_survives_reopen_with_the_same_batch_ids() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (batch(1), batch(2));
        {
            let mut q = Queue::open(dir.path(), 10, 1 << 20).unwrap();
            q.push(&a).unwrap();
            q.push(&b).unwrap();
            assert_eq!(q.len(), 2);
        }
        // A half-written file from a crash is cleaned up.
        fs::write(dir.path().join("00000000000000000099.tmp"), b"{").unwrap();
        let mut q = Queue::open(dir.path(), 10, 1 << 20).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q.front().unwrap().unwrap(), a);
        q.pop_front().unwrap();
        assert_eq!(q.front().unwrap().unwrap(), b);
        q.push(&batch(3)).unwrap();
        q.pop_front().unwrap();
        assert_eq!(q.front().unwrap().unwrap().cpu[0].ts, 3);
        q.pop_front().unwrap();
        assert!(q.is_empty() && q.front().is_none());
        assert_eq!(q.bytes(), 0);
        assert!(!dir.path().join("00000000000000000099.tmp").exists());
    }

    #[test]
    fn full_queue_drops_the_oldest_and_remembers_how_many() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut q = Queue::open(dir.path(), 3, 1 << 20).unwrap();
            for i in 0..5 {
                q.push(&batch(i)).unwrap();
            }
            assert_eq!((q.len(), q.dropped()), (3, 2));
            assert_eq!(q.front().unwrap().unwrap().cpu[0].ts, 2);
        }
        let q = Queue::open(dir.path(), 3, 1 << 20).unwrap();
        assert_eq!(q.dropped(), 2);
        // A byte bound: each batch is ~120 bytes, allow about two.
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(dir.path(), 100, 250).unwrap();
        for i in 0..4 {
            q.push(&batch(i)).unwrap();
        }
        assert!(q.bytes() <= 250, "{}", q.bytes());
        assert_eq!(q.len() as u64 + q.dropped(), 4);
    }

    #[test]
    fn backlog_folds_into_the_newest_unsent_batch_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(dir.path(), 100, 1 << 20).unwrap();
        let first = batch(0);
        q.push_or_fold(&first, 3).unwrap();
        // The front is never folded into: it may already be on its way.
        q.push_or_fold(&batch(1), 3).unwrap();
        assert_eq!(q.len(), 2);
        for ts in 2..6 {
            q.push_or_fold(&batch(ts), 3).unwrap();
        }
        // front [0], then [1,2,3], then [4,5].
        assert_eq!((q.len(), q.samples()), (3, 6));
        assert_eq!(q.front().unwrap().unwrap(), first);
        q.pop_front().unwrap();
        let b = q.front().unwrap().unwrap();
        assert_eq!(
            b.cpu.iter().map(|c| c.ts).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        // Survives a reopen, bytes accounted.
        let bytes = q.bytes();
        drop(q);
        let q = Queue::open(dir.path(), 100, 1 << 20).unwrap();
        assert_eq!((q.len(), q.bytes(), q.samples()), (2, bytes, 5));
        // The bound counts samples: reopened with room for 4, [1,2,3] goes.
        drop(q);
        let q = Queue::open(dir.path(), 4, 1 << 20).unwrap();
        assert_eq!((q.len(), q.samples(), q.dropped()), (1, 2, 3));
    }

    #[test]
    fn a_sample_is_held_in_memory_until_it_is_not_answered_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let files = || {
            fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| {
                    let n = e.as_ref().unwrap().file_name();
                    n.to_string_lossy().ends_with(SUFFIX)
                })
                .count()
        };
        let mut q = Queue::open(dir.path(), 100, 1 << 20).unwrap();
        // Sent and answered: never touches the disk.
        let a = batch(1);
        q.add(a.clone(), 60).unwrap();
        assert_eq!((q.len(), files()), (1, 0));
        assert_eq!(q.front().unwrap().unwrap(), a);
        q.pop_front().unwrap();
        assert!(q.is_empty() && q.front().is_none());
        // The send failed: written, and it stays the front.
        let b = batch(2);
        q.add(b.clone(), 60).unwrap();
        q.spill().unwrap();
        assert_eq!((q.len(), files()), (1, 1));
        assert_eq!(q.front().unwrap().unwrap(), b);
        q.pop_front().unwrap();
        // A newer sample arrives before the answer: both on disk, in order,
        // the first one (maybe on its way) not folded into.
        let (c, d) = (batch(3), batch(4));
        q.add(c.clone(), 60).unwrap();
        q.add(d.clone(), 60).unwrap();
        assert_eq!((q.len(), files()), (2, 2));
        assert_eq!(q.front().unwrap().unwrap(), c);
        q.pop_front().unwrap();
        q.pop_front().unwrap();
        // Closing the queue keeps a held sample.
        let e = batch(5);
        q.add(e.clone(), 60).unwrap();
        drop(q);
        let q = Queue::open(dir.path(), 100, 1 << 20).unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q.front().unwrap().unwrap(), e);
    }

    #[test]
    fn a_damaged_file_is_set_aside_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(dir.path(), 10, 1 << 20).unwrap();
        q.push(&batch(1)).unwrap();
        q.push(&batch(2)).unwrap();
        fs::write(dir.path().join(format!("{:020}.json", 0)), b"{not json").unwrap();
        let e = q.front().unwrap().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        q.quarantine_front().unwrap();
        assert_eq!(q.front().unwrap().unwrap().cpu[0].ts, 2);
        assert!(
            dir.path()
                .join("corrupt")
                .join(format!("{:020}.json", 0))
                .exists()
        );
    }
}
