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

/// One revision's changes.
pub(super) use crate::store::Committed as Batch;

/// Revisions from memory held while an earlier one is missing; past this, the hub drops them
/// and reads the change log (the gap is someone else's commit, so it reads it anyway).
const EARLY_MAX: usize = 4096;

/// The newest revisions, contiguous, bounded by their number of events and by their size.
#[derive(Default)]
pub(crate) struct Cache {
    batches: VecDeque<Arc<Batch>>,
    events: usize,
    bytes: usize,
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
                Ok(batches) if batches.is_empty() => return last,
                Ok(batches) => {
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
        let options = &self.inner.options;
        for b in batches {
            cache.push(b, options.cache_events, options.cache_bytes);
        }
    }

    /// The events the cache holds, and their size as change log rows (for the metrics).
    pub fn cache_size(&self) -> (usize, usize) {
        self.inner
            .cache
            .read()
            .map_or((0, 0), |c| (c.events, c.bytes))
    }
}

impl Cache {
    /// Appends a revision, then drops the oldest until both bounds hold (the newest stays).
    fn push(&mut self, b: Arc<Batch>, max_events: usize, max_bytes: usize) {
        // Keep the cache contiguous: a batch that does not follow starts it afresh.
        if self
            .batches
            .back()
            .is_some_and(|last| last.revision + 1 != b.revision)
        {
            *self = Cache::default();
        }
        self.events += b.changes.len();
        self.bytes += b.bytes;
        self.batches.push_back(b);
        while (self.events > max_events || self.bytes > max_bytes) && self.batches.len() > 1 {
            if let Some(old) = self.batches.pop_front() {
                self.events -= old.changes.len();
                self.bytes -= old.bytes;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(revision: i64, events: usize, bytes: usize) -> Arc<Batch> {
        let change = Arc::new(crate::domain::Change {
            revision,
            operation: crate::domain::Operation::Created,
            time: chrono::DateTime::UNIX_EPOCH,
            resource: crate::domain::Resource::Category(crate::domain::Category {
                meta: crate::domain::Meta {
                    id: String::new(),
                    create_time: chrono::DateTime::UNIX_EPOCH,
                    update_time: chrono::DateTime::UNIX_EPOCH,
                    revision,
                },
                fields: Default::default(),
            }),
            previous: None,
        });
        Arc::new(Batch {
            revision,
            changes: vec![change; events],
            bytes,
        })
    }

    fn revisions(c: &Cache) -> Vec<i64> {
        c.batches.iter().map(|b| b.revision).collect()
    }

    #[test]
    fn the_cache_keeps_the_newest_revisions_within_both_bounds() {
        let mut c = Cache::default();
        for r in 1..=5 {
            c.push(batch(r, 1, 100), 3, 1_000);
        }
        assert_eq!(revisions(&c), [3, 4, 5], "bounded by events");
        // One large revision (an import's) pushes out the small ones by size...
        c.push(batch(6, 1, 900), 3, 1_000);
        assert_eq!(revisions(&c), [5, 6]);
        assert_eq!((c.events, c.bytes), (2, 1_000));
        // ...and one larger than the bound is still kept, alone: the newest always is.
        c.push(batch(7, 2, 5_000), 3, 1_000);
        assert_eq!(revisions(&c), [7]);
        assert_eq!((c.events, c.bytes), (2, 5_000));
        // A revision that does not follow starts the cache afresh.
        c.push(batch(9, 1, 10), 3, 1_000);
        assert_eq!(revisions(&c), [9]);
        assert_eq!((c.events, c.bytes), (1, 10));
    }
}
