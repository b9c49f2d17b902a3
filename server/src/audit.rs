//! The audit trail's read side of writing: events of calls that did not write (reads, failures)
//! go through a bounded queue to one task that appends them in batches — the batched backend of
//! Kubernetes' audit log. Writes record their event in their own transaction instead (see
//! `store::write`).
//!
//! - An event waits at most [`MAX_DELAY`] (plus the time of one database write) before it is
//!   written.
//! - A full queue makes `record` wait: reads slow down, no event is dropped.
//! - A failed batch is retried (with backoff) until it is written or the server stops.
//! - `close` writes what is queued and returns when it is written (graceful shutdown).

use std::time::Duration;

use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};

use crate::{domain::access::AuditEvent, store::Store};

/// Longest an event waits in the queue before its batch is written.
pub const MAX_DELAY: Duration = Duration::from_millis(50);
/// Most events written in one transaction.
const MAX_BATCH: usize = 1000;

#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<AuditEvent>,
}

/// The writer task; `close` stops it after it wrote what is queued.
pub struct AuditWriter {
    task: JoinHandle<()>,
    stop: oneshot::Sender<()>,
}

impl AuditLog {
    /// Starts the writer; `capacity` events may wait before `record` blocks.
    pub fn start(store: Store, capacity: usize) -> (AuditLog, AuditWriter) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(write_batches(store, rx, stopped));
        (AuditLog { tx }, AuditWriter { task, stop })
    }

    /// Queues an event; waits while the queue is full.
    pub async fn record(&self, event: AuditEvent) {
        if let Err(e) = self.tx.send(event).await {
            // Only after close: the server is stopping and the writer is gone.
            tracing::error!(event = ?e.0, "audit event after the audit log closed");
        }
    }
}

impl AuditWriter {
    /// Stops taking events, writes every event already queued, and returns when they are
    /// written. Recording after this fails (and is logged).
    pub async fn close(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "audit writer failed");
        }
    }
}

async fn write_batches(
    store: Store,
    mut rx: mpsc::Receiver<AuditEvent>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut batch: Vec<AuditEvent> = Vec::with_capacity(MAX_BATCH);
    let mut stopping = false;
    loop {
        if stopping {
            if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return; // closed and drained
            }
        } else {
            tokio::select! {
                n = rx.recv_many(&mut batch, MAX_BATCH) => if n == 0 { return },
                _ = &mut stop => {
                    // No new events; those already queued are still received.
                    stopping = true;
                    rx.close();
                    continue;
                }
            }
        }
        // Gather what arrives shortly after the first event, up to a batch.
        let deadline = tokio::time::Instant::now() + MAX_DELAY;
        while batch.len() < MAX_BATCH {
            let room = MAX_BATCH - batch.len();
            match tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, room)).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let mut backoff = Duration::from_millis(100);
        loop {
            match store.append_audit_events(&batch).await {
                Ok(()) => break,
                Err(e) => {
                    if stopping && backoff > Duration::from_secs(5) {
                        tracing::error!(error = %e, lost = batch.len(), "audit events could not be written before shutdown");
                        break;
                    }
                    tracing::warn!(error = %e, pending = batch.len(), "writing audit events failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        batch.clear();
    }
}
