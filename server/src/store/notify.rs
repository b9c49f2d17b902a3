//! PostgreSQL: commits of other replicas sharing the database reach this process's watchers.
//! Every write sends `NOTIFY homecoming_changes, '<revision>'` in its transaction (see
//! `write`); [`Store::relay_commits`] listens and marks each as committed. Notifications are
//! hints only (a reconnect loses some): watchers re-read the change log periodically besides.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;

use super::{Backend, Store};

/// The PostgreSQL NOTIFY channel that carries committed revisions between replicas.
pub const CHANGES_CHANNEL: &str = "homecoming_changes";

impl Store {
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
                        if let Ok(revision) = n.payload().parse::<i64>() {
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
