//! The change log as Watch reads it: committed changes in revision order, and consistent read
//! snapshots for a watch's initial state.

use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{
    ListQuery, Page, Store, Unique, categories, codec::time, entity::change_log, events, exchanges,
    person_rows, record, schema,
};
use std::sync::Arc;

use super::notify::Committed;
use crate::domain::{Change, Error, Operation, Resource, ResourceType};

impl Store {
    /// The revisions committed after `after`, in order, of at most `limit` change log rows in
    /// all (whole revisions: a revision is never cut in two).
    pub async fn changes_after(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<Arc<Committed>>, Error> {
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
        group(rows)
    }

    /// Change log rows at or below this revision were compacted away.
    pub async fn compacted_revision(&self) -> Result<i64, Error> {
        let row = super::entity::revision::Entity::find_by_id(1)
            .unique(&self.reader)
            .await?;
        Ok(row.map(|r| r.compacted_revision).unwrap_or(0))
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
            ResourceType::PersonEvent => {
                // As persons: the watch hides restricted ones per watcher.
                let (v, n) = events::list_in(&self.txn, q, true).await?;
                (v.into_iter().map(Resource::PersonEvent).collect(), n)
            }
            ResourceType::Person => {
                // The watch hides restricted persons per watcher.
                let (v, n) = person_rows::list_in(&self.txn, q, true).await?;
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
    let table = match ty {
        ResourceType::Category => &*schema::CATEGORIES,
        ResourceType::Exchange => &*schema::EXCHANGES,
        ResourceType::Person => &*schema::PERSONS,
        ResourceType::PersonEvent => &*schema::PERSON_EVENTS,
    };
    table.compile_filter(filter).map(|_| ())
}

/// Rows in revision order, decoded and grouped by revision.
fn group(rows: Vec<change_log::Model>) -> Result<Vec<Arc<Committed>>, Error> {
    let mut out: Vec<Committed> = Vec::new();
    for row in rows {
        let bytes = row.snapshot.len() + row.previous.as_ref().map_or(0, String::len);
        let change = Arc::new(decode(row)?);
        match out.last_mut() {
            Some(c) if c.revision == change.revision => {
                c.changes.push(change);
                c.bytes += bytes;
            }
            _ => out.push(Committed {
                revision: change.revision,
                changes: vec![change],
                bytes,
            }),
        }
    }
    Ok(out.into_iter().map(Arc::new).collect())
}

fn decode(row: change_log::Model) -> Result<Change, Error> {
    let bad = |what: &str| Error::Internal(format!("change log row {}: {what}", row.revision));
    let ty = ResourceType::parse(&row.resource_type).ok_or_else(|| bad("resource type"))?;
    Ok(Change {
        revision: row.revision,
        operation: Operation::parse(&row.operation).ok_or_else(|| bad("operation"))?,
        time: time(row.change_time),
        resource: record::decode(ty, &row.snapshot)?,
        previous: row
            .previous
            .as_deref()
            .map(|json| record::decode(ty, json))
            .transpose()?,
    })
}
