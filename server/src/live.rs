//! Fan-out of newly committed rows to `GET /api/v1/me/live` viewers.
//!
//! One broadcast channel per instance that has viewers. Ingest publishes
//! after the commit with a non-blocking send, so it never waits for anyone; a
//! viewer that falls more than [`VIEWER_BUFFER`] events behind is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use vitals_shared::wire::{Batch, LiveSample};

use crate::identity::InstanceId;

/// Events a viewer may fall behind before it is dropped.
pub const VIEWER_BUFFER: usize = 1024;

/// The per-instance channels.
#[derive(Debug, Default)]
pub struct LiveHub {
    channels: Mutex<HashMap<InstanceId, broadcast::Sender<Arc<str>>>>,
}

impl LiveHub {
    /// A receiver of `id`'s new rows, as JSON text of [`LiveSample`].
    pub fn subscribe(&self, id: InstanceId) -> Option<broadcast::Receiver<Arc<str>>> {
        let mut map = self.channels.lock().ok()?;
        let tx = map
            .entry(id)
            .or_insert_with(|| broadcast::channel(VIEWER_BUFFER).0);
        Some(tx.subscribe())
    }

    /// Whether anyone watches `id` (so ingest can skip keeping the rows).
    pub fn has_viewers(&self, id: InstanceId) -> bool {
        self.channels
            .lock()
            .map(|m| m.get(&id).is_some_and(|tx| tx.receiver_count() > 0))
            .unwrap_or(false)
    }

    /// Publishes a committed batch's rows to `id`'s viewers, if any.
    pub fn publish(&self, id: InstanceId, batch: &Batch) {
        let Ok(mut map) = self.channels.lock() else {
            return;
        };
        let Some(tx) = map.get(&id) else { return };
        if tx.receiver_count() == 0 {
            map.remove(&id);
            return;
        }
        let rows = batch
            .cpu
            .iter()
            .cloned()
            .map(LiveSample::Cpu)
            .chain(batch.ram.iter().cloned().map(LiveSample::Ram))
            .chain(batch.disc.iter().cloned().map(LiveSample::Disc));
        for row in rows {
            if let Ok(json) = serde_json::to_string(&row) {
                // Err only means every viewer left meanwhile.
                let _ = tx.send(Arc::from(json));
            }
        }
    }

    /// Ends every stream of `id` (its instance was deleted).
    pub fn close(&self, id: InstanceId) {
        if let Ok(mut map) = self.channels.lock() {
            map.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitals_shared::wire::CpuSample;

    fn batch(n: usize) -> Batch {
        Batch {
            batch_id: uuid::Uuid::nil(),
            cpu: (0..n)
                .map(|i| CpuSample {
                    ts: i as i64,
                    usage_pct: 1.0,
                    cores_pct: vec![],
                    load1: None,
                })
                .collect(),
            ram: vec![],
            disc: vec![],
        }
    }

    #[tokio::test]
    async fn viewers_get_only_their_rows_and_laggards_are_cut() {
        let hub = LiveHub::default();
        let (a, b) = (InstanceId([1; 16]), InstanceId([2; 16]));
        let mut ra = hub.subscribe(a).unwrap();
        let mut rb = hub.subscribe(b).unwrap();
        hub.publish(a, &batch(2));
        assert!(ra.recv().await.unwrap().contains("\"metric\":\"cpu\""));
        assert!(ra.recv().await.is_ok());
        assert!(rb.try_recv().is_err());
        // A viewer that never reads: publishing never blocks, the viewer lags.
        hub.publish(b, &batch(VIEWER_BUFFER + 5));
        assert!(matches!(
            rb.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
        hub.close(a);
        assert!(matches!(
            ra.recv().await,
            Err(broadcast::error::RecvError::Closed)
        ));
    }
}
