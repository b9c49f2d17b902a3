//! What the metrics endpoint reads of the store: group commit sizes and commit latency
//! (recorded by `write` as commits happen), the writes waiting for their turn, the connection
//! pools, and how much of the change log is kept (read when scraped).

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use super::{Backend, Store, entity};
use crate::domain::Error;

/// Histograms of commits, shared by every handle of one store (cheap to clone).
#[derive(Clone, Debug)]
pub struct CommitMetrics {
    /// Writes per database commit (1: a write alone).
    pub group_writes: Histogram,
    /// Seconds a database commit took (the fsync, mostly).
    pub commit_seconds: Histogram,
}

impl Default for CommitMetrics {
    fn default() -> Self {
        Self {
            // 1, 2, 4 … 1024 writes.
            group_writes: Histogram::new(exponential_buckets(1.0, 2.0, 11)),
            // 50 µs … about 3 s.
            commit_seconds: Histogram::new(exponential_buckets(0.00005, 2.0, 16)),
        }
    }
}

impl CommitMetrics {
    pub(super) fn observe(&self, writes: u32, started: std::time::Instant) {
        self.group_writes.observe(f64::from(writes));
        self.commit_seconds.observe(started.elapsed().as_secs_f64());
    }
}

/// One connection pool's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// `writer` or `reader` (SQLite); `shared` (PostgreSQL: one pool).
    pub pool: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// The revisions the change log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeLogExtent {
    pub head_revision: i64,
    /// The oldest revision a watch may still start from (compacted + 1).
    pub oldest_revision: i64,
}

impl Store {
    pub fn commit_metrics(&self) -> CommitMetrics {
        self.groups.metrics.clone()
    }

    /// Writes waiting for their turn at the writer (a group forms from them).
    pub fn writes_waiting(&self) -> usize {
        self.groups.waiting()
    }

    pub fn pool_use(&self) -> Vec<PoolUse> {
        match self.backend {
            Backend::Sqlite => vec![
                sqlite_pool("writer", &self.writer),
                sqlite_pool("reader", &self.reader),
            ],
            Backend::Postgres => {
                let p = self.writer.get_postgres_connection_pool();
                vec![PoolUse {
                    pool: "shared",
                    open: p.size(),
                    idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
                    max: p.options().get_max_connections(),
                }]
            }
        }
    }

    /// The revisions the change log holds (two one-row reads).
    pub async fn change_log_extent(&self) -> Result<ChangeLogExtent, Error> {
        Ok(ChangeLogExtent {
            head_revision: self.revision().await?,
            oldest_revision: self.compacted_revision().await? + 1,
        })
    }

    /// The change log's rows. Counting reads an index whole (tens of milliseconds for
    /// millions of rows), which is why the metrics endpoint caches it.
    pub async fn change_log_rows(&self) -> Result<u64, Error> {
        Ok(entity::change_log::Entity::find()
            .count(&self.reader)
            .await?)
    }
}

fn sqlite_pool(pool: &'static str, db: &DatabaseConnection) -> PoolUse {
    let p = db.get_sqlite_connection_pool();
    PoolUse {
        pool,
        open: p.size(),
        idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
        max: p.options().get_max_connections(),
    }
}
