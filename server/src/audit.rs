//! The audit trail's writer for calls that did not write (reads, failures, refused calls).
//! Writes record their event in their own transaction instead (see `store::write`).
//!
//! - [`AuditLog::record`] returns once the event is durable: a read's answer is sent only after
//!   "who read this" is on disk. Events are grouped as writes are (no timer): the writer takes
//!   every event waiting, commits them at once, answers each, and takes the next group, so a
//!   read waits about one commit (on PostgreSQL a few groups commit in parallel).
//! - A batch that fails is split until the failing event is alone; that event is written in a
//!   degraded form (its resource ids by size only) and the failure is logged. A batch is never
//!   retried forever: a database that stays unreachable fails the events waiting (their reads
//!   answer UNAVAILABLE) after a few bounded retries.
//! - `close` writes what is queued and returns when it is written (graceful shutdown).

use std::{sync::Arc, time::Duration};

use tokio::{
    sync::{Semaphore, mpsc, oneshot},
    task::JoinHandle,
};

use crate::{
    domain::{Error, access::AuditEvent},
    store::{Backend, Store},
};

/// Most events written in one transaction.
const MAX_BATCH: usize = 1000;
/// Waits before the retries of a batch the database could not take (then it fails).
const RETRIES: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_secs(1),
];

#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Pending>,
}

/// An event waiting to be written, and who waits for it.
struct Pending {
    event: AuditEvent,
    done: oneshot::Sender<Result<(), Error>>,
}

/// The writer task; `close` stops it after it wrote what is queued.
pub struct AuditWriter {
    task: JoinHandle<()>,
    stop: oneshot::Sender<()>,
}

impl AuditLog {
    /// Starts the writer; `capacity` events may wait before `record` waits to queue.
    pub fn start(store: Store, capacity: usize) -> (AuditLog, AuditWriter) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(write_batches(store, rx, stopped));
        (AuditLog { tx }, AuditWriter { task, stop })
    }

    /// Events queued for the writer, and how many may queue before callers wait.
    pub fn queue(&self) -> (usize, usize) {
        let max = self.tx.max_capacity();
        (max - self.tx.capacity(), max)
    }

    /// Records an event; returns once it is committed (or why it could not be).
    #[tracing::instrument(name = "audit.record", skip_all)]
    pub async fn record(&self, event: AuditEvent) -> Result<(), Error> {
        let (done, written) = oneshot::channel();
        if self.tx.send(Pending { event, done }).await.is_err() {
            // Only after close: the server is stopping and the writer is gone.
            return Err(Error::ShuttingDown);
        }
        written
            .await
            .map_err(|_| Error::Unavailable("the audit writer stopped".into()))?
    }
}

impl AuditWriter {
    /// Stops taking events, writes every event already queued, and returns when they are
    /// written. Recording after this fails with UNAVAILABLE.
    pub async fn close(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "audit writer failed");
        }
    }
}

/// Batches committed at once: SQLite commits one at a time into its audit journal (two
/// journal files committing at once were no faster: BENCHMARKS.md, "The reads' audit in a
/// journal of its own"); PostgreSQL takes a few commits in parallel, so reads do not wait for
/// one another's commit.
fn writers(store: &Store) -> usize {
    match store.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => 4,
    }
}

async fn write_batches(
    store: Store,
    mut rx: mpsc::Receiver<Pending>,
    mut stop: oneshot::Receiver<()>,
) {
    let slots = writers(&store);
    let writing = Arc::new(Semaphore::new(slots));
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    let mut stopping = false;
    loop {
        // A free writer first, then every event waiting by then.
        let Ok(slot) = writing.clone().acquire_owned().await else {
            return;
        };
        if stopping {
            if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
                // Closed and drained: wait for the batches being written.
                drop(slot);
                let _ = writing.acquire_many(slots as u32).await;
                return;
            }
        } else if tokio::select! {
            n = rx.recv_many(&mut batch, MAX_BATCH) => n == 0,
            _ = &mut stop => {
                // No new events; those already queued are still received.
                stopping = true;
                rx.close();
                continue;
            }
        } {
            // Every sender is gone (the server is stopping).
            drop(slot);
            let _ = writing.acquire_many(slots as u32).await;
            return;
        }
        let store = store.clone();
        let batch = std::mem::take(&mut batch);
        tokio::spawn(async move {
            write(&store, batch).await;
            drop(slot);
        });
    }
}

/// Writes a batch and answers its events; isolates an event the database refuses.
async fn write(store: &Store, batch: Vec<Pending>) {
    let mut work = vec![batch];
    while let Some(batch) = work.pop() {
        let events: Vec<AuditEvent> = batch.iter().map(|p| p.event.clone()).collect();
        match append(store, &events).await {
            Ok(()) => answer(batch, || Ok(())),
            Err(e @ (Error::Unavailable(_) | Error::ShuttingDown)) => {
                tracing::error!(error = %e, events = batch.len(), "audit events could not be written: the database is unreachable");
                answer(batch, || {
                    Err(Error::Unavailable(
                        "the audit trail cannot be written".into(),
                    ))
                });
            }
            Err(_) if batch.len() > 1 => {
                let mut first = batch;
                let second = first.split_off(first.len() / 2);
                work.push(second);
                work.push(first);
            }
            Err(e) => {
                let degraded = degrade(&events[0]);
                tracing::error!(error = %e, method = %degraded.method, "an audit event was refused; writing it without its resource ids");
                let result = append(store, std::slice::from_ref(&degraded)).await;
                if let Err(e) = &result {
                    tracing::error!(error = %e, "the degraded audit event was refused too");
                }
                let written = result.is_ok();
                answer(batch, || {
                    if written {
                        Ok(())
                    } else {
                        Err(Error::Internal("the audit event was refused".into()))
                    }
                });
            }
        }
    }
}

/// Appends events, retrying a few times while the database is unreachable.
async fn append(store: &Store, events: &[AuditEvent]) -> Result<(), Error> {
    let mut result = store.append_audit_events(events).await;
    for wait in RETRIES {
        match &result {
            Err(Error::Unavailable(_)) => {
                tokio::time::sleep(wait).await;
                result = store.append_audit_events(events).await;
            }
            _ => break,
        }
    }
    result
}

fn answer(batch: Vec<Pending>, result: impl Fn() -> Result<(), Error>) {
    for p in batch {
        let _ = p.done.send(result());
    }
}

/// An event as it can always be stored: its resource ids by size only.
fn degrade(e: &AuditEvent) -> AuditEvent {
    AuditEvent {
        resource_ids: e
            .resource_ids
            .iter()
            .map(|id| format!("unrecordable id ({} bytes)", id.len()))
            .collect(),
        method: e.method.chars().filter(|c| !c.is_control()).collect(),
        peer: e.peer.chars().filter(|c| !c.is_control()).collect(),
        ..e.clone()
    }
}
