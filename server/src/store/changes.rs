//! The change log as Watch reads it: committed changes in revision order, compaction, commit
//! notifications, and consistent read snapshots for a watch's initial state.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
    sea_query::{Expr, ExprTrait, Query},
};
use tokio::sync::watch;

use super::{
    Backend, ListQuery, Page, Store, Unique, categories, entity::change_log, exchanges, persons,
};
use crate::domain::{Change, Error, Operation, Resource, ResourceType};

impl Store {
    /// Revisions committed through this process, as they commit. Other processes' commits
    /// arrive through `postgres_url` + LISTEN (PostgreSQL) or by reading the change log.
    pub fn subscribe_commits(&self) -> watch::Receiver<i64> {
        self.commits.subscribe()
    }

    /// Marks `revision` as committed (a commit seen in another process).
    pub fn observed_commit(&self, revision: i64) {
        super::write::publish(&self.commits, revision);
    }

    /// The PostgreSQL URL, for a LISTEN connection; `None` on SQLite.
    pub fn postgres_url(&self) -> Option<&str> {
        (self.backend == Backend::Postgres).then_some(self.url.as_str())
    }

    /// Committed changes with revision > `after`, in order, at most `limit` rows (whole
    /// revisions: a revision is never cut in two).
    pub async fn changes_after(&self, after: i64, limit: u64) -> Result<Vec<Change>, Error> {
        let mut rows = change_log::Entity::find()
            .filter(change_log::Column::Revision.gt(after))
            .order_by_asc(change_log::Column::Revision)
            .order_by_asc(change_log::Column::Seq)
            .limit(limit + 1)
            .all(&self.reader)
            .await?;
        if rows.len() as u64 > limit
            && let Some(last) = rows.last().map(|r| r.revision)
        {
            // Drop the last, possibly partial, revision unless it is the only one.
            let kept: Vec<_> = rows
                .iter()
                .filter(|r| r.revision != last)
                .cloned()
                .collect();
            if kept.is_empty() {
                rows = change_log::Entity::find()
                    .filter(change_log::Column::Revision.eq(last))
                    .order_by_asc(change_log::Column::Seq)
                    .all(&self.reader)
                    .await?;
            } else {
                rows = kept;
            }
        }
        rows.into_iter().map(decode).collect()
    }

    /// Change log rows at or below this revision were compacted away.
    pub async fn compacted_revision(&self) -> Result<i64, Error> {
        let row = super::entity::revision::Entity::find_by_id(1)
            .unique(&self.reader)
            .await?;
        Ok(row.map(|r| r.compacted_revision).unwrap_or(0))
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

    /// A read snapshot: every page read through it sees the registry at one revision.
    pub async fn snapshot(&self) -> Result<ReadSnapshot, Error> {
        let txn = self.read().await?;
        let revision = super::current_revision(&txn).await?;
        Ok(ReadSnapshot { txn, revision })
    }
}

/// Pages of any resource, all at one revision.
pub struct ReadSnapshot {
    txn: DatabaseTransaction,
    pub revision: i64,
}

impl ReadSnapshot {
    pub async fn list(&self, ty: ResourceType, q: &ListQuery) -> Result<Page<Resource>, Error> {
        let (items, next) = match ty {
            ResourceType::Category => {
                let (v, n) = categories::list_in(&self.txn, q).await?;
                (v.into_iter().map(Resource::Category).collect(), n)
            }
            ResourceType::Exchange => {
                let (v, n) = exchanges::list_in(&self.txn, q).await?;
                (v.into_iter().map(Resource::Exchange).collect(), n)
            }
            ResourceType::Person => {
                // The watch hides restricted persons per watcher.
                let (v, n) = persons::list_in(&self.txn, q, true).await?;
                (v.into_iter().map(Resource::Person).collect(), n)
            }
        };
        Ok(Page {
            items,
            next_page_token: next,
            revision: self.revision,
        })
    }
}

/// Checks a filter the way List would (so Watch rejects exactly what List rejects).
pub fn check_filter(ty: ResourceType, filter: &str) -> Result<(), Error> {
    let resource = match ty {
        ResourceType::Category => &categories::RESOURCE,
        ResourceType::Exchange => &exchanges::RESOURCE,
        ResourceType::Person => &persons::RESOURCE,
    };
    resource.compile_filter(filter).map(|_| ())
}

fn decode(row: change_log::Model) -> Result<Change, Error> {
    let bad = |what: &str| Error::Internal(format!("change log row {}: {what}", row.revision));
    let ty = ResourceType::parse(&row.resource_type).ok_or_else(|| bad("resource type"))?;
    let parse = |json: &str| -> Result<Resource, Error> {
        let e = |e: serde_json::Error| Error::Internal(format!("change log snapshot: {e}"));
        Ok(match ty {
            ResourceType::Category => Resource::Category(serde_json::from_str(json).map_err(e)?),
            ResourceType::Exchange => Resource::Exchange(serde_json::from_str(json).map_err(e)?),
            ResourceType::Person => Resource::Person(serde_json::from_str(json).map_err(e)?),
        })
    };
    Ok(Change {
        revision: row.revision,
        operation: Operation::parse(&row.operation).ok_or_else(|| bad("operation"))?,
        time: DateTime::from_timestamp_micros(row.change_time).unwrap_or_default(),
        resource: parse(&row.snapshot)?,
        previous: row.previous.as_deref().map(parse).transpose()?,
    })
}
