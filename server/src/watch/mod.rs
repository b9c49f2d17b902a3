//! The change feed to watchers.
//!
//! The change log is the source of truth. One `Hub` per server process follows it into a
//! bounded cache of the most recent revisions, decoded once and shared by every watcher. This
//! process's own commits reach the hub from memory, with their changes, as they become durable
//! (`Store::subscribe_committed`): nothing of them is read back. Whatever memory does not bring
//! — other replicas' commits (on PostgreSQL, announced through NOTIFY, a hint only), a commit
//! announced ahead of an earlier one, a feed the hub fell behind — it reads from the change
//! log: when the committed head is past what it holds, and periodically as the fallback. Each watcher is a task with its own
//! cursor: it replays from its start revision (from the cache when the cache still holds it,
//! else from the database), then follows the head. A slow watcher only waits on its own bounded
//! channel; when it falls behind the cache it catches up from the database. Writers never wait
//! for watchers, and memory stays bounded by the cache and the per-watcher channels.
//!
//! Revisions are contiguous and visible in commit order (see `store::write`), so a cursor that
//! moves one revision at a time never skips or repeats an event.
//!
//! - here: the hub, what a watch asks for and what it sends;
//! - `cache`: the tail of the change log and the cache of the newest revisions;
//! - `watcher`: one watcher's loop, and what of each change its caller may see.

mod cache;
mod watcher;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::sync::{mpsc, watch};

use crate::{
    domain::{Change, Error, Resource, ResourceType, access::Caller, filter::Expr},
    store::Store,
};

use cache::Cache;

/// Tuning of the feed (from the server configuration).
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Idle time after which a watcher that asked for it gets a progress bookmark.
    pub progress_interval: Duration,
    /// How often the change log is re-read when no notification came.
    pub poll_interval: Duration,
    /// Events kept decoded in memory for watchers (whole revisions; at least the newest one).
    pub cache_events: usize,
    /// The most the cached revisions may take, counted as their change log rows' size (an
    /// import's revision of a thousand persons is a few MB): whichever bound comes first.
    pub cache_bytes: usize,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            progress_interval: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            cache_events: 10_000,
            cache_bytes: 16 << 20,
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

pub(super) struct Inner {
    pub(super) store: Store,
    pub(super) options: WatchOptions,
    pub(super) cache: RwLock<Cache>,
    /// The newest revision in the cache (or known to be committed with nothing to cache).
    pub(super) head: watch::Sender<i64>,
    pub(super) shutdown: watch::Sender<bool>,
    /// Each open watch's cursor (the last revision it went past), for the metrics of lag.
    cursors: Mutex<HashMap<u64, Arc<AtomicI64>>>,
    next_watch: AtomicU64,
    pub(super) feed: Feed,
}

/// A watch's entry among the hub's cursors, removed when the watch ends.
pub(super) struct Cursor {
    hub: Arc<Inner>,
    id: u64,
    pub(super) at: Arc<AtomicI64>,
}

impl Cursor {
    pub(super) fn set(&self, revision: i64) {
        self.at.store(revision, Ordering::Relaxed);
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        if let Ok(mut cursors) = self.hub.cursors.lock() {
            cursors.remove(&self.id);
        }
    }
}

/// How far the open watches are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lag {
    pub streams: usize,
    /// The largest distance, in revisions, between the head and a watch's cursor.
    pub max_revisions: i64,
}

/// Where the hub took the revisions it cached, since it started: this process's commits from
/// memory, the rest from the change log.
#[derive(Debug, Default)]
pub struct Feed {
    pub from_memory: AtomicU64,
    pub from_change_log: AtomicU64,
}

/// Shared by every watcher of a server process. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    pub(super) inner: Arc<Inner>,
}

/// Rows read from the change log per query.
pub(super) const READ_CHUNK: u64 = 1000;
/// Messages buffered per watcher before its task waits.
const WATCHER_BUFFER: usize = 16;

impl Hub {
    /// Starts the tail of the change log.
    pub async fn start(store: Store, options: WatchOptions) -> Result<Hub, Error> {
        // Subscribed before the head is read: no commit after it is missed.
        let committed = store.subscribe_committed();
        let head = store.revision().await?;
        let hub = Hub {
            inner: Arc::new(Inner {
                store,
                options,
                cache: RwLock::new(Cache::default()),
                head: watch::Sender::new(head),
                shutdown: watch::Sender::new(false),
                cursors: Mutex::default(),
                next_watch: AtomicU64::new(0),
                feed: Feed::default(),
            }),
        };
        tokio::spawn(hub.clone().tail(head, committed));
        Ok(hub)
    }

    /// Ends every watch with UNAVAILABLE (so clients resume elsewhere) and stops the tasks.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// The open watches and how far the slowest is behind the head.
    pub fn lag(&self) -> Lag {
        let head = *self.inner.head.borrow();
        let Ok(cursors) = self.inner.cursors.lock() else {
            return Lag::default();
        };
        Lag {
            streams: cursors.len(),
            max_revisions: cursors
                .values()
                .map(|c| (head - c.load(Ordering::Relaxed)).max(0))
                .max()
                .unwrap_or(0),
        }
    }

    /// Where the cached revisions came from (for the metrics).
    pub fn feed(&self) -> &Feed {
        &self.inner.feed
    }

    /// A new watch's cursor, at the head until the watch says where it is.
    fn cursor(&self) -> Cursor {
        let id = self.inner.next_watch.fetch_add(1, Ordering::Relaxed);
        let at = Arc::new(AtomicI64::new(*self.inner.head.borrow()));
        if let Ok(mut cursors) = self.inner.cursors.lock() {
            cursors.insert(id, at.clone());
        }
        Cursor {
            hub: self.inner.clone(),
            id,
            at,
        }
    }

    pub(super) fn stopping(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    /// Starts a watch; messages (or the error that ended it) arrive on the receiver. The watch
    /// ends when the receiver is dropped.
    pub fn watch(&self, spec: WatchSpec) -> mpsc::Receiver<Result<Message, Error>> {
        let (tx, rx) = mpsc::channel(WATCHER_BUFFER);
        let hub = self.clone();
        let cursor = self.cursor();
        tokio::spawn(async move {
            if let Err(e) = hub.run(spec, &tx, &cursor).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        rx
    }
}
