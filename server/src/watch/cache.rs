//! The hub's side of the feed: one task follows the commits — this process's from memory, the
//! rest from the change log — into a bounded cache of the newest revisions, decoded once and
//! shared by every watcher.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, atomic::Ordering},
};

use tokio::{
    sync::broadcast::{
        Receiver,
        error::{RecvError, TryRecvError},
    },
    time::{Instant, sleep_until},
};

use super::{Hub, READ_CHUNK};
use crate::domain::Change;

/// One revision's changes.
pub(super) use crate::store::Committed as Batch;

/// Revisions from memory held while an earlier one is missing; past this, the hub drops them
/// and reads the change log (the gap is someone else's commit, so it reads it anyway).
const EARLY_MAX: usize = 4096;

/// The newest revisions, contiguous, bounded by their number of events.
#[derive(Default)]
pub(crate) struct Cache {
    batches: VecDeque<Arc<Batch>>,
    events: usize,
}

impl Hub {
    /// The cached revisions after `cursor`: `Some(empty)` when there is nothing newer, `None`
    /// when the cache no longer (or not yet) holds `cursor + 1`.
    pub(super) fn cached_after(&self, cursor: i64) -> Option<Vec<Arc<Batch>>> {
        let head = *self.inner.head.borrow();
        if cursor >= head {
            return Some(Vec::new());
        }
        let cache = self.inner.cache.read().ok()?;
        let first = cache.batches.front()?.revision;
        let last = cache.batches.back()?.revision;
        if cursor + 1 < first || cursor >= last {
            return None;
        }
        let start = usize::try_from(cursor + 1 - first).ok()?;
        Some(
            cache
                .batches
                .iter()
                .skip(start)
                .take(256)
                .cloned()
                .collect(),
        )
    }

    /// Follows the registry's commits into the cache: this process's from memory, the rest
    /// from the change log.
    pub(super) async fn tail(self, mut last: i64, mut feed: Receiver<Arc<[Arc<Batch>]>>) {
        let mut commits = self.inner.store.subscribe_commits();
        let mut stopping = self.stopping();
        // Revisions from memory that arrived before an earlier one (group commits may announce
        // out of order); applied once the gap before them is filled.
        let mut early: BTreeMap<i64, Arc<Batch>> = BTreeMap::new();
        let mut feed_open = true;
        let mut read_log = true;
        // The change log is read at least this often, however busy memory keeps the hub.
        let mut poll_at = Instant::now();
        loop {
            while feed_open {
                match feed.try_recv() {
                    Ok(batches) => keep(&mut early, &batches, last),
                    Err(TryRecvError::Lagged(_)) => read_log = true,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Closed) => feed_open = false,
                }
            }
            if early.len() > EARLY_MAX {
                early.clear();
                read_log = true;
            }
            let mut next = Vec::new();
            while let Some(entry) = early.first_entry() {
                let revision = *entry.key();
                if revision > last + 1 {
                    break;
                }
                let b = entry.remove();
                if revision == last + 1 {
                    last = revision;
                    next.push(b);
                }
            }
            if !next.is_empty() {
                self.inner
                    .feed
                    .from_memory
                    .fetch_add(next.len() as u64, Ordering::Relaxed);
                self.cache_batches(next);
                self.inner.head.send_replace(last);
            }
            // What memory did not bring: others' commits, or a gap in the feed.
            if read_log || *commits.borrow_and_update() > last || Instant::now() >= poll_at {
                read_log = false;
                poll_at = Instant::now() + self.inner.options.poll_interval;
                last = self.read_log(last).await;
            }
            tokio::select! {
                _ = commits.changed() => {}
                received = feed.recv(), if feed_open => match received {
                    Ok(batches) => keep(&mut early, &batches, last),
                    Err(RecvError::Lagged(_)) => read_log = true,
                    Err(RecvError::Closed) => feed_open = false,
                },
                _ = sleep_until(poll_at) => read_log = true,
                _ = stopping.changed() => return,
            }
        }
    }

    /// Reads the change log after `last` into the cache; returns the new last revision.
    async fn read_log(&self, mut last: i64) -> i64 {
        loop {
            match self.inner.store.changes_after(last, READ_CHUNK).await {
                Ok(changes) if changes.is_empty() => return last,
                Ok(changes) => {
                    let batches = group(changes);
                    if let Some(b) = batches.last() {
                        last = b.revision;
                    }
                    self.inner
                        .feed
                        .from_change_log
                        .fetch_add(batches.len() as u64, Ordering::Relaxed);
                    self.cache_batches(batches);
                    self.inner.head.send_replace(last);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading the change log failed; retrying");
                    return last;
                }
            }
        }
    }

    fn cache_batches(&self, batches: Vec<Arc<Batch>>) {
        let Ok(mut cache) = self.inner.cache.write() else {
            return;
        };
        for b in batches {
            // Keep the cache contiguous: a batch that does not follow starts it afresh.
            if cache
                .batches
                .back()
                .is_some_and(|last| last.revision + 1 != b.revision)
            {
                cache.batches.clear();
                cache.events = 0;
            }
            cache.events += b.changes.len();
            cache.batches.push_back(b);
            while cache.events > self.inner.options.cache_events && cache.batches.len() > 1 {
                if let Some(old) = cache.batches.pop_front() {
                    cache.events -= old.changes.len();
                }
            }
        }
    }
}

/// Keeps the revisions of one announced commit that are newer than `last`.
fn keep(early: &mut BTreeMap<i64, Arc<Batch>>, batches: &[Arc<Batch>], last: i64) {
    for b in batches.iter().filter(|b| b.revision > last) {
        early.insert(b.revision, b.clone());
    }
}

/// Changes in revision order, grouped by revision.
pub(super) fn group(changes: Vec<Change>) -> Vec<Arc<Batch>> {
    let mut out: Vec<Batch> = Vec::new();
    for c in changes {
        match out.last_mut() {
            Some(b) if b.revision == c.revision => b.changes.push(Arc::new(c)),
            _ => out.push(Batch {
                revision: c.revision,
                changes: vec![Arc::new(c)],
            }),
        }
    }
    out.into_iter().map(Arc::new).collect()
}
