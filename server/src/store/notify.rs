//! Commits as this process's watchers hear of them: this process's own from memory, with their
//! changes, as they become durable ([`Commits`], announced by `write`); on PostgreSQL, those of
//! other replicas sharing the database too. Every write sends `NOTIFY homecoming_changes,
//! '<revision> <origin>'` in its transaction (see `write`); [`Store::relay_commits`] listens and
//! marks each other process's as committed. Notifications are hints only (a reconnect loses some): watchers re-read
//! the change log periodically besides.

use std::{sync::Arc, time::Duration};

use sea_orm::sqlx::postgres::PgListener;
use tokio::sync::{broadcast, watch};

use super::{Backend, Store};
use crate::domain::Change;

/// The PostgreSQL NOTIFY channel that carries committed revisions between replicas.
pub const CHANGES_CHANNEL: &str = "homecoming_changes";

/// One committed revision's changes, decoded: what the change log holds for it, in order.
#[derive(Debug)]
pub struct Committed {
    pub revision: i64,
    pub changes: Vec<Arc<Change>>,
    /// The size of its change log rows (their JSON): what the watch cache counts it as.
    pub bytes: usize,
}

/// This process's commits as they become durable: each message is one database commit (a
/// group's revisions in order). A subscriber that falls this many commits behind is told it
/// lagged and reads the change log instead.
const FEED_COMMITS: usize = 64;

/// What a commit announces to this process's watchers: the new head, and the changes
/// themselves, so the watch hub need not read back and decode what this process just wrote.
pub(super) struct Commits {
    head: watch::Sender<i64>,
    feed: broadcast::Sender<Arc<[Arc<Committed>]>>,
    /// This process, in its NOTIFY payloads: its own come back to it through LISTEN, often
    /// before the commit has returned, and would send its watchers to the change log for what
    /// memory is about to bring.
    origin: String,
}

impl Default for Commits {
    fn default() -> Self {
        Self {
            head: watch::Sender::new(0),
            feed: broadcast::Sender::new(FEED_COMMITS),
            origin: crate::domain::new_id(),
        }
    }
}

impl Commits {
    /// The NOTIFY payload of a commit of `revision`: `<revision> <origin>`.
    pub(super) fn payload(&self, revision: i64) -> String {
        format!("{revision} {}", self.origin)
    }

    /// The revision a NOTIFY payload announces, unless this process sent it. A payload of a
    /// revision alone (replicas of an earlier version) counts as another's.
    fn others(&self, payload: &str) -> Option<i64> {
        let mut parts = payload.split(' ');
        let revision = parts.next()?.parse().ok()?;
        match parts.next() {
            Some(origin) if origin == self.origin => None,
            _ => Some(revision),
        }
    }

    /// Announces durable revisions: the changes first, then the head, so that a subscriber
    /// woken by the head finds the changes already sent (or reads the log; never misses).
    pub(super) fn announce(&self, committed: Vec<Arc<Committed>>) {
        let Some(head) = committed.last().map(|c| c.revision) else {
            return;
        };
        // An error only means nobody listens (no watch hub): nothing is kept then.
        let _ = self.feed.send(committed.into());
        self.observed(head);
    }

    /// Marks `revision` as committed (a newer head only).
    pub(super) fn observed(&self, revision: i64) {
        self.head.send_if_modified(|head| {
            let newer = revision > *head;
            if newer {
                *head = revision;
            }
            newer
        });
    }

    pub(super) fn start_at(&self, revision: i64) {
        self.head.send_replace(revision);
    }
}

impl Store {
    /// Revisions committed through this process, as they commit, and (PostgreSQL) those other
    /// replicas announce (`Store::relay_commits`). Watchers re-read the change log besides.
    pub fn subscribe_commits(&self) -> watch::Receiver<i64> {
        self.commits.head.subscribe()
    }

    /// The changes of this process's commits, decoded, in commit order (see [`Commits`]).
    /// Others' commits are not here: they are in the change log, as these are.
    pub fn subscribe_committed(&self) -> broadcast::Receiver<Arc<[Arc<Committed>]>> {
        self.commits.feed.subscribe()
    }

    /// Marks `revision` as committed (a commit seen in another process).
    pub fn observed_commit(&self, revision: i64) {
        self.commits.observed(revision);
    }

    /// Relays other replicas' commits until the task is stopped (on SQLite, returns at once:
    /// one process owns the file).
    pub(super) async fn relay_commits(self) {
        if self.backend != Backend::Postgres {
            return;
        }
        loop {
            let connected = async {
                let mut l = PgListener::connect(&self.url).await?;
                l.listen(CHANGES_CHANNEL).await?;
                Ok::<_, sea_orm::sqlx::Error>(l)
            };
            let mut listener = match connected.await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN failed; polling meanwhile");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            };
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        if let Some(revision) = self.commits.others(n.payload()) {
                            self.observed_commit(revision);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Commits;

    #[test]
    fn own_notifications_are_left_to_memory() {
        let ours = Commits::default();
        let theirs = Commits::default();
        assert_eq!(ours.others(&ours.payload(7)), None);
        assert_eq!(ours.others(&theirs.payload(7)), Some(7));
        // An earlier version's payload: the revision alone.
        assert_eq!(ours.others("7"), Some(7));
        assert_eq!(ours.others("seven"), None);
        assert_eq!(ours.others(""), None);
    }
}
