//! The change feed to watchers.
//!
//! The change log is the source of truth. One `Hub` per server process tails it — woken by
//! commits the store reports (this process's, and on PostgreSQL other replicas' through
//! NOTIFY, a hint only), and by a periodic re-read as the fallback — and keeps the most recent revisions
//! decoded in a bounded cache shared by every watcher. Each watcher is a task with its own
//! cursor: it replays from its start revision (from the cache when the cache still holds it,
//! else from the database), then follows the head. A slow watcher only waits on its own bounded
//! channel; when it falls behind the cache it catches up from the database. Writers never wait
//! for watchers, and memory stays bounded by the cache and the per-watcher channels.
//!
//! Revisions are contiguous and visible in commit order (see `store::write`), so a cursor that
//! moves one revision at a time never skips or repeats an event.

use std::{
    collections::VecDeque,
    sync::{Arc, RwLock},
    time::Duration,
};

use tokio::{
    sync::{mpsc, watch},
    time::{Instant, sleep, sleep_until},
};

use crate::{
    domain::{
        Change, Error, Operation, Resource, ResourceType, access::Caller, filter::Expr, matcher,
    },
    store::{ListQuery, Store},
};

/// Tuning of the feed (from the server configuration).
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Idle time after which a watcher that asked for it gets a progress bookmark.
    pub progress_interval: Duration,
    /// How often the change log is re-read when no notification came.
    pub poll_interval: Duration,
    /// Events kept decoded in memory for watchers (whole revisions; at least the newest one).
    pub cache_events: usize,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            progress_interval: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            cache_events: 10_000,
        }
    }
}

/// What a watch asks for (validated by the gRPC adapter).
#[derive(Debug, Clone)]
pub struct WatchSpec {
    /// 0: from now.
    pub start_revision: i64,
    /// Empty: all.
    pub types: Vec<ResourceType>,
    pub filter_text: String,
    pub filter: Option<Expr>,
    pub send_initial_state: bool,
    pub progress_notify: bool,
    /// Who watches: restricted persons are left out for non-admins (a person becoming
    /// restricted is seen as deleted, one released as created); redaction is the adapter's.
    pub caller: Caller,
}

/// What a watcher sends.
#[derive(Debug, Clone)]
pub enum Message {
    /// The matching changes of one revision.
    Events {
        revision: i64,
        changes: Vec<Arc<Change>>,
    },
    /// A page of the initial state, at `revision`.
    Initial {
        revision: i64,
        resources: Vec<Resource>,
    },
    InitialStateDone(i64),
    Progress(i64),
}

struct Batch {
    revision: i64,
    changes: Vec<Arc<Change>>,
}

/// The newest revisions, contiguous, bounded by their number of events.
#[derive(Default)]
struct Cache {
    batches: VecDeque<Arc<Batch>>,
    events: usize,
}

struct Inner {
    store: Store,
    options: WatchOptions,
    cache: RwLock<Cache>,
    /// The newest revision in the cache (or known to be committed with nothing to cache).
    head: watch::Sender<i64>,
    shutdown: watch::Sender<bool>,
}

/// Shared by every watcher of a server process. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// Rows read from the change log per query.
const READ_CHUNK: u64 = 1000;
/// Messages buffered per watcher before its task waits.
const WATCHER_BUFFER: usize = 16;

impl Hub {
    /// Starts the tail of the change log.
    pub async fn start(store: Store, options: WatchOptions) -> Result<Hub, Error> {
        let head = store.revision().await?;
        let hub = Hub {
            inner: Arc::new(Inner {
                store,
                options,
                cache: RwLock::new(Cache::default()),
                head: watch::Sender::new(head),
                shutdown: watch::Sender::new(false),
            }),
        };
        tokio::spawn(hub.clone().tail(head));
        Ok(hub)
    }

    /// Ends every watch with UNAVAILABLE (so clients resume elsewhere) and stops the tasks.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    fn stopping(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    /// Starts a watch; messages (or the error that ended it) arrive on the receiver. The watch
    /// ends when the receiver is dropped.
    pub fn watch(&self, spec: WatchSpec) -> mpsc::Receiver<Result<Message, Error>> {
        let (tx, rx) = mpsc::channel(WATCHER_BUFFER);
        let hub = self.clone();
        tokio::spawn(async move {
            if let Err(e) = hub.run(spec, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        rx
    }

    async fn run(
        &self,
        spec: WatchSpec,
        tx: &mpsc::Sender<Result<Message, Error>>,
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
                    if tx.send(Ok(Message::Progress(cursor))).await.is_err() {
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
                    .filter(|r| match r {
                        Resource::Person(p) => spec.caller.may_see(p),
                        _ => true,
                    })
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

    /// The cached revisions after `cursor`: `Some(empty)` when there is nothing newer, `None`
    /// when the cache no longer (or not yet) holds `cursor + 1`.
    fn cached_after(&self, cursor: i64) -> Option<Vec<Arc<Batch>>> {
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

    /// Catch-up from the database, for a watcher behind the cache.
    async fn read_after(&self, cursor: i64) -> Result<Vec<Arc<Batch>>, Error> {
        self.check_not_compacted(cursor).await?;
        let changes = self.inner.store.changes_after(cursor, READ_CHUNK).await?;
        Ok(group(changes))
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

    /// Tails the change log into the cache.
    async fn tail(self, mut last: i64) {
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
    let Resource::Person(now) = &c.resource else {
        return Some(c.clone());
    };
    if caller.sees_restricted() {
        return Some(c.clone());
    }
    let before = match &c.previous {
        Some(Resource::Person(p)) => Some(p),
        _ => None,
    };
    let seen_now = caller.may_see(now);
    match (c.operation, before.map(|p| caller.may_see(p)), seen_now) {
        (_, _, true) if before.is_some_and(|p| !caller.may_see(p)) => Some(Arc::new(Change {
            operation: Operation::Created,
            previous: None,
            ..c.as_ref().clone()
        })),
        (_, _, true) => Some(c.clone()),
        (Operation::Updated, Some(true), false) => Some(Arc::new(Change {
            operation: Operation::Deleted,
            resource: Resource::Person(before?.clone()),
            previous: None,
            ..c.as_ref().clone()
        })),
        _ => None,
    }
}

fn group(changes: Vec<Change>) -> Vec<Arc<Batch>> {
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
