//! The hub's side of the feed: one task tails the change log into a bounded cache of the
//! newest revisions, decoded once and shared by every watcher.

use std::{collections::VecDeque, sync::Arc};

use tokio::time::sleep;

use super::{Hub, READ_CHUNK};
use crate::domain::Change;

pub(super) struct Batch {
    pub(super) revision: i64,
    pub(super) changes: Vec<Arc<Change>>,
}

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

    /// Tails the change log into the cache.
    pub(super) async fn tail(self, mut last: i64) {
        let mut commits = self.inner.store.subscribe_commits();
        let mut stopping = self.stopping();
        loop {
            loop {
                match self.inner.store.changes_after(last, READ_CHUNK).await {
                    Ok(changes) if changes.is_empty() => break,
                    Ok(changes) => {
                        let batches = group(changes);
                        if let Some(b) = batches.last() {
                            last = b.revision;
                        }
                        self.cache_batches(batches);
                        self.inner.head.send_replace(last);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the change log failed; retrying");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = commits.changed() => {}
                _ = sleep(self.inner.options.poll_interval) => {}
                _ = stopping.changed() => return,
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
