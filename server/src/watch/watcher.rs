//! One watcher: a task with its own cursor that replays from its start revision (from the
//! hub's cache when it still holds it, else from the database), then follows the head, sending
//! what its spec and its caller may see.

use std::sync::Arc;

use tokio::{
    sync::mpsc,
    time::{Instant, sleep, sleep_until},
};

use super::{Cursor, Hub, Message, READ_CHUNK, WatchSpec, cache::Batch};
use crate::{
    domain::{Change, Error, Operation, Resource, ResourceType, access::Caller, matcher},
    store::ListQuery,
};

impl Hub {
    /// Runs one watch until its client leaves (`Ok`) or an error ends it.
    pub(super) async fn run(
        &self,
        spec: WatchSpec,
        tx: &mpsc::Sender<Result<Message, Error>>,
        at: &Cursor,
    ) -> Result<(), Error> {
        let store = &self.inner.store;
        let mut cursor = if spec.send_initial_state {
            let revision = self.initial_state(&spec, tx).await?;
            if tx
                .send(Ok(Message::InitialStateDone(revision)))
                .await
                .is_err()
            {
                return Ok(());
            }
            revision
        } else if spec.start_revision == 0 {
            // "From now": say where now is, so a client that reconnects resumes from there.
            let now = store.revision().await?;
            if tx.send(Ok(Message::Progress(now))).await.is_err() {
                return Ok(());
            }
            now
        } else {
            self.check_not_compacted(spec.start_revision - 1).await?;
            spec.start_revision - 1
        };
        at.set(cursor);
        let mut head = self.inner.head.subscribe();
        let mut stopping = self.stopping();
        let mut idle_since = Instant::now();
        loop {
            if *stopping.borrow() {
                return Err(Error::ShuttingDown);
            }
            let batches = match self.cached_after(cursor) {
                Some(b) => b,
                None => self.read_after(cursor).await?,
            };
            if !batches.is_empty() {
                for b in batches {
                    if b.revision != cursor + 1 {
                        return Err(Error::Internal(format!(
                            "change log gap: expected revision {}, found {}",
                            cursor + 1,
                            b.revision
                        )));
                    }
                    let changes: Vec<Arc<Change>> = b
                        .changes
                        .iter()
                        .filter(|c| wanted(&spec, c))
                        .filter_map(|c| visible(&spec.caller, c))
                        .collect();
                    if !changes.is_empty() {
                        let m = Message::Events {
                            revision: b.revision,
                            changes,
                        };
                        if tx.send(Ok(m)).await.is_err() {
                            return Ok(());
                        }
                        idle_since = Instant::now();
                    }
                    cursor = b.revision;
                    at.set(cursor);
                }
                continue;
            }
            let progress_at = idle_since + self.inner.options.progress_interval;
            tokio::select! {
                changed = head.changed() => {
                    if changed.is_err() {
                        return Err(Error::ShuttingDown);
                    }
                }
                _ = sleep_until(progress_at), if spec.progress_notify => {
                    // A watch from a revision not yet written waits for it (as etcd's does):
                    // its bookmarks say how far the registry is, never past the head.
                    let delivered = Ord::min(cursor, *head.borrow());
                    if tx.send(Ok(Message::Progress(delivered))).await.is_err() {
                        return Ok(());
                    }
                    idle_since = Instant::now();
                }
                // A head that moved while we read the database is seen here at the latest.
                _ = sleep(self.inner.options.poll_interval) => {}
                _ = stopping.changed() => return Err(Error::ShuttingDown),
                _ = tx.closed() => return Ok(()),
            }
        }
    }

    /// Sends the matching resources at one snapshot; returns its revision.
    async fn initial_state(
        &self,
        spec: &WatchSpec,
        tx: &mpsc::Sender<Result<Message, Error>>,
    ) -> Result<i64, Error> {
        let snapshot = self.inner.store.snapshot().await?;
        let types = if spec.types.is_empty() {
            vec![
                ResourceType::Category,
                ResourceType::Exchange,
                ResourceType::Person,
                ResourceType::PersonEvent,
            ]
        } else {
            spec.types.clone()
        };
        for ty in types {
            let mut q = ListQuery {
                page_size: 500,
                filter: spec.filter_text.clone(),
                ..Default::default()
            };
            loop {
                let page = snapshot.list(ty, &q).await?;
                let resources: Vec<Resource> = page
                    .items
                    .into_iter()
                    .filter(|r| !r.restricted() || spec.caller.sees_restricted())
                    .collect();
                if !resources.is_empty() {
                    let m = Message::Initial {
                        revision: snapshot.revision,
                        resources,
                    };
                    if tx.send(Ok(m)).await.is_err() {
                        return Ok(snapshot.revision);
                    }
                }
                match page.next_page_token {
                    Some(t) => q.page_token = t,
                    None => break,
                }
            }
        }
        Ok(snapshot.revision)
    }

    /// Catch-up from the database, for a watcher behind the cache.
    async fn read_after(&self, cursor: i64) -> Result<Vec<Arc<Batch>>, Error> {
        self.check_not_compacted(cursor).await?;
        self.inner.store.changes_after(cursor, READ_CHUNK).await
    }

    async fn check_not_compacted(&self, cursor: i64) -> Result<(), Error> {
        let compacted = self.inner.store.compacted_revision().await?;
        if cursor < compacted {
            return Err(Error::RevisionCompacted {
                requested: cursor + 1,
                oldest: compacted + 1,
            });
        }
        Ok(())
    }
}

fn wanted(spec: &WatchSpec, c: &Change) -> bool {
    if !spec.types.is_empty() && !spec.types.contains(&c.resource.resource_type()) {
        return false;
    }
    match &spec.filter {
        None => true,
        Some(f) => {
            matcher::matches(f, c.resource.as_matchable())
                || c.previous
                    .as_ref()
                    .is_some_and(|p| matcher::matches(f, p.as_matchable()))
        }
    }
}

/// The change as `caller` may see it. For a non-admin a restricted person does not exist: a
/// person becoming restricted leaves their view (DELETED, with the last state they saw), one
/// released enters it (CREATED).
fn visible(caller: &Caller, c: &Arc<Change>) -> Option<Arc<Change>> {
    if caller.sees_restricted() {
        return Some(c.clone());
    }
    let seen = |r: &Resource| !r.restricted();
    let before = c.previous.as_ref();
    match (c.operation, before.map(seen), seen(&c.resource)) {
        (_, Some(false), true) => Some(Arc::new(Change {
            operation: Operation::Created,
            previous: None,
            ..c.as_ref().clone()
        })),
        (_, _, true) => Some(c.clone()),
        (Operation::Updated, Some(true), false) => Some(Arc::new(Change {
            operation: Operation::Deleted,
            resource: before?.clone(),
            previous: None,
            ..c.as_ref().clone()
        })),
        _ => None,
    }
}
