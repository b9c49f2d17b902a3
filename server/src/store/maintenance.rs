//! The store's background work, started by the app with [`Store::start_maintenance`] and
//! stopped when the returned [`Maintenance`] is dropped:
//! - change-log compaction and the purge of old request ids (every `compaction_interval`);
//! - SQLite: the audit journal moved into the database every second (`journal`); WAL
//!   checkpoints a few times a second, so commits never copy the WAL themselves
//!   (`WAL_AUTOCHECKPOINT_PAGES` in the store module is only the safety net), and the memory
//!   SQLite freed given back to the system every few seconds (`heap`);
//! - PostgreSQL: planner statistics kept up with the registry's growth, and the commits other
//!   replicas announce relayed to this process's watchers (`notify`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
    sea_query::{Expr, ExprTrait, Query},
};
use tokio::task::JoinHandle;

use super::{Backend, Store, Unique, entity::change_log, heap};
use crate::domain::Error;

/// How long the change log and request ids are kept, and how often they are trimmed.
#[derive(Debug, Clone)]
pub struct MaintenanceOptions {
    /// Change log entries younger than this are kept.
    pub retention: Duration,
    /// At most this many revisions are kept (0: no limit by count).
    pub max_revisions: i64,
    /// How often compaction runs.
    pub compaction_interval: Duration,
    /// Request ids (AIP-155) are remembered this long.
    pub request_id_retention: Duration,
    /// SQLite: how often the audit journal is moved into the database (`journal`).
    pub audit_settle_interval: Duration,
}

impl Default for MaintenanceOptions {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(7 * 24 * 3600),
            max_revisions: 0,
            compaction_interval: Duration::from_secs(600),
            request_id_retention: Duration::from_secs(7 * 24 * 3600),
            audit_settle_interval: Duration::from_secs(1),
        }
    }
}

/// How often the WAL is checkpointed.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);
/// How often PostgreSQL's planner statistics are looked at.
const STATISTICS_INTERVAL: Duration = Duration::from_secs(30);

/// The running background tasks; dropping it stops them (a task stopped mid-transaction rolls
/// it back).
pub struct Maintenance {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Store {
    /// Starts the background work this backend needs.
    pub fn start_maintenance(&self, options: MaintenanceOptions) -> Maintenance {
        let settle = options.audit_settle_interval;
        let mut tasks = vec![tokio::spawn(keep_compacted(self.clone(), options))];
        match self.backend {
            Backend::Sqlite => {
                tasks.push(tokio::spawn(keep_audit_settled(self.clone(), settle)));
                tasks.push(tokio::spawn(keep_checkpoints(self.clone())));
                tasks.push(tokio::spawn(keep_heap_trimmed()));
            }
            Backend::Postgres => {
                tasks.push(tokio::spawn(keep_statistics(self.clone())));
                tasks.push(tokio::spawn(self.clone().relay_commits()));
            }
        }
        Maintenance { tasks }
    }

    /// Deletes change log rows older than `before` and beyond the newest `keep_revisions`
    /// revisions (when given), always keeping the last revision. Returns the revision the log
    /// is now compacted through.
    pub async fn compact(
        &self,
        before: DateTime<Utc>,
        keep_revisions: Option<i64>,
    ) -> Result<i64, Error> {
        let txn = self.writer.begin().await?;
        let head = super::current_revision(&txn).await?;
        let old: Option<i64> = change_log::Entity::find()
            .select_only()
            .column_as(change_log::Column::Revision.max(), "m")
            .filter(change_log::Column::ChangeTime.lt(before.timestamp_micros()))
            .into_tuple::<Option<i64>>()
            .one(&txn)
            .await?
            .flatten();
        let by_count = keep_revisions.map(|k| head - Ord::max(k, 1));
        let newest = [old, by_count].into_iter().flatten().max().unwrap_or(0);
        // The last revision stays, so a watcher can always start from now.
        let through = Ord::min(newest, head - 1);
        let row = super::entity::revision::Entity::find_by_id(1)
            .unique(&txn)
            .await?;
        let compacted = row.map(|r| r.compacted_revision).unwrap_or(0);
        if through <= compacted {
            return Ok(compacted);
        }
        change_log::Entity::delete_many()
            .filter(change_log::Column::Revision.lte(through))
            .exec(&txn)
            .await?;
        let set = Query::update()
            .table("registry_revision")
            .value("compacted_revision", through)
            .and_where(Expr::col("id").eq(1))
            .to_owned();
        txn.execute(&set).await?;
        txn.commit().await?;
        Ok(through)
    }

    /// Forgets request ids (AIP-155) recorded before `before`: a retry older than that creates
    /// again. Returns how many were forgotten.
    pub async fn purge_request_ids(&self, before: DateTime<Utc>) -> Result<u64, Error> {
        use super::entity::idempotency;
        let r = idempotency::Entity::delete_many()
            .filter(idempotency::Column::CreateTime.lt(before.timestamp_micros()))
            .exec(&self.writer)
            .await?;
        Ok(r.rows_affected)
    }

    /// SQLite: copies committed WAL frames back into the database file (a passive checkpoint,
    /// on a reader connection: it never waits for the writer nor holds it up), so that commits
    /// do not do it themselves — in SQLite's default, the commit that crosses 1,000 WAL pages
    /// checkpoints inline and the writes grouped with it wait. Returns the WAL's frames and how
    /// many of them are in the database file now. PostgreSQL: nothing (`None`).
    pub async fn checkpoint(&self) -> Result<Option<(i64, i64)>, Error> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let row = self
            .reader
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "PRAGMA wal_checkpoint(PASSIVE)",
            ))
            .await?
            .ok_or_else(|| Error::Internal("wal_checkpoint returned no row".into()))?;
        let frames: i64 = row.try_get_by_index(1)?;
        let copied: i64 = row.try_get_by_index(2)?;
        Ok(Some((frames, copied)))
    }

    /// SQLite: a consistent copy of the database at `path` while the server goes on writing
    /// (`VACUUM INTO` reads one snapshot), created readable by its owner only. `path` must not
    /// exist. PostgreSQL: refused (pg_dump takes consistent copies; see the README).
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<(), Error> {
        if self.backend != Backend::Sqlite {
            return Err(Error::FailedPrecondition {
                reason: "BACKUP_UNSUPPORTED",
                message: "a PostgreSQL registry is backed up with pg_dump (see the README)".into(),
            });
        }
        let target = path
            .to_str()
            .ok_or_else(|| Error::invalid("file", "the backup's path must be valid UTF-8"))?;
        // Every audit event recorded before the backup began is in it.
        self.settle_audit().await?;
        // Created empty first, mode 0600: the copy holds personal data. VACUUM INTO fills an
        // empty file; it refuses one that has content.
        super::create_private(path)
            .map_err(|e| Error::invalid("file", format!("cannot create {target}: {e}")))?;
        let stmt = format!("VACUUM INTO '{}'", target.replace('\'', "''"));
        let done = self.reader.execute_unprepared(&stmt).await;
        if let Err(e) = done {
            let _ = std::fs::remove_file(path);
            return Err(e.into());
        }
        Ok(())
    }

    /// PostgreSQL: analyzes the registry's tables whose planner statistics fell behind their
    /// rows (autovacuum's own threshold: more than 50 rows + 10% changed since the last
    /// ANALYZE). Autovacuum does this where it is on; where it is off, or has not caught up
    /// after an import, the planner would otherwise plan a million-row table as if it were
    /// empty (a summary hashing every category link instead of reading one exchange's). One
    /// replica at a time (an advisory lock); SQLite needs nothing here (its pages are probed in
    /// index order instead; see `list`). Returns the tables analyzed.
    pub async fn refresh_statistics(&self) -> Result<Vec<String>, Error> {
        if self.backend != Backend::Postgres {
            return Ok(Vec::new());
        }
        let txn = self.writer.begin().await?;
        let pg = |sql: &str| sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, sql);
        let locked = txn
            .query_one_raw(pg("SELECT pg_try_advisory_xact_lock(4242000002) AS locked"))
            .await?
            .map(|r| r.try_get::<bool>("", "locked"))
            .transpose()?
            .unwrap_or(false);
        if !locked {
            return Ok(Vec::new());
        }
        let stale = txn
            .query_all_raw(pg("SELECT relname FROM pg_stat_user_tables \
                 WHERE schemaname = current_schema() \
                 AND n_mod_since_analyze > 50 + 0.1 * n_live_tup ORDER BY relname"))
            .await?;
        let mut analyzed = Vec::with_capacity(stale.len());
        for row in stale {
            let table: String = row.try_get("", "relname")?;
            // A name from the catalog, quoted as an identifier.
            txn.execute_unprepared(&format!("ANALYZE \"{}\"", table.replace('"', "\"\"")))
                .await?;
            analyzed.push(table);
        }
        txn.commit().await?;
        Ok(analyzed)
    }
}

/// Deletes change log entries past retention, and request ids past theirs, periodically.
async fn keep_compacted(store: Store, o: MaintenanceOptions) {
    loop {
        let before =
            Utc::now() - chrono::Duration::from_std(o.retention).unwrap_or(chrono::Duration::MAX);
        let keep = (o.max_revisions > 0).then_some(o.max_revisions);
        match store.compact(before, keep).await {
            Ok(through) if through > 0 => tracing::debug!(through, "change log compacted"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "change log compaction failed"),
        }
        let ids_before = Utc::now()
            - chrono::Duration::from_std(o.request_id_retention).unwrap_or(chrono::Duration::MAX);
        match store.purge_request_ids(ids_before).await {
            Ok(n) if n > 0 => tracing::debug!(n, "request ids forgotten"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purging request ids failed"),
        }
        tokio::time::sleep(o.compaction_interval).await;
    }
}

/// Keeps SQLite's WAL checkpointed in the background, so that commits leave the copying to
/// this task instead of stalling a group of writes.
async fn keep_checkpoints(store: Store) {
    // Failures are logged when they start and when they end, not five times a second.
    let mut failing = false;
    loop {
        tokio::time::sleep(CHECKPOINT_INTERVAL).await;
        match store.checkpoint().await {
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "WAL checkpoint failed; commits checkpoint past the safety net meanwhile");
            }
            Ok(_) if failing => {
                failing = false;
                tracing::info!("WAL checkpoints work again");
            }
            _ => {}
        }
    }
}

/// Moves the audit journal into the database every `interval` (see `journal`; 10 ms at least).
async fn keep_audit_settled(store: Store, interval: Duration) {
    let interval = interval.max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(interval).await;
        match store.settle_audit().await {
            Ok(moved) => tracing::trace!(moved, "moved the audit journal into the trail"),
            // Kept in the journal; the next turn tries again.
            Err(e) => tracing::warn!(error = %e, "moving the audit journal into the trail failed"),
        }
    }
}

/// Gives the memory SQLite freed back to the system (see `heap`).
async fn keep_heap_trimmed() {
    loop {
        tokio::time::sleep(heap::TRIM_INTERVAL).await;
        // Off the async threads: the walk locks each arena in turn.
        match tokio::task::spawn_blocking(heap::trim).await {
            Ok(took) => tracing::debug!(?took, "returned SQLite's free memory"),
            Err(e) => tracing::warn!(error = %e, "returning SQLite's free memory failed"),
        }
    }
}

/// Keeps PostgreSQL's planner statistics up with the registry's growth, for as long as the
/// server runs.
async fn keep_statistics(store: Store) {
    loop {
        tokio::time::sleep(STATISTICS_INTERVAL).await;
        match store.refresh_statistics().await {
            Ok(tables) if !tables.is_empty() => {
                tracing::info!(?tables, "refreshed planner statistics");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "refreshing planner statistics failed"),
        }
    }
}
