//! SQLite: the audit events of calls that did not write (reads, refusals) in a file of their
//! own, moved into the database's audit trail in large batches.
//!
//! In WAL mode a connection whose next read transaction finds the database changed discards
//! its whole page cache. Committed into the database itself, the reads' audit events (a group
//! about every millisecond under a read load) made every reader re-read its B-tree pages on
//! nearly every call (BENCHMARKS.md, "Performance, round two (#18)": `pcache1TruncateUnsafe`
//! and `pread` in GetPerson's profile). Here they are committed into a second SQLite file
//! beside the database (`FILE-audit`, the same `audit_events` table and nothing else): an
//! event is durable once that commit returns, and the read is answered after it, as before.
//! [`Store::settle_audit`] copies the journal into the database's trail, in transactions
//! bounded by events and by resource rows, and after each deletes what it copied from the
//! journal: every second in the background, and
//! before anything that reads the trail (ListAuditEvents, a backup), at start (what a crash
//! left) and at a clean stop — so a list or a backup sees every event recorded before it
//! began.
//!
//! The copy and the delete are two commits in two files, and neither step can lose an event:
//! the copy skips events the trail already holds (a crash between the two steps copies them
//! again), and the delete names the ids it copied (a server and a `backup` command settling
//! at once, or new events appended meanwhile, are never deleted uncopied).

use std::path::Path;

use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, FromQueryResult, QueryFilter, QueryTrait, Schema, TransactionTrait,
    sea_query::{Expr, Order, Query},
};

use super::{Store, audit, create_private, entity::audit_event};
use crate::domain::{Error, access::AuditEvent};

/// Most events moved in one transaction of the database: a settle every second under a read
/// load of ~10,000/s is one or two commits, so the readers' caches are emptied about once a
/// second.
const SETTLE_EVENTS: usize = 10_000;
/// Most resource rows moved in one transaction: a List's event names every item of its page
/// (up to 1,000), so events alone do not bound what a transaction writes — nor how long it
/// holds the writer from the registry's own writes.
const SETTLE_RESOURCES: usize = 20_000;
/// Events read from the journal, and their statements built, at a time: what a settle holds
/// in memory (at most 100 events of 1,000 resource ids each).
const READ_CHUNK: u64 = 100;
/// Ids named in one delete (SQLite allows 32,766 bound values).
const DELETE_CHUNK: usize = 1_000;

/// The journal's file for the database file `db_file`.
pub fn journal_file(db_file: &str) -> String {
    format!("{db_file}-audit")
}

pub(super) struct Journal {
    conn: DatabaseConnection,
    /// One settle at a time in this process (another process's is harmless, above).
    settling: tokio::sync::Mutex<()>,
}

impl Journal {
    /// Opens (creating, readable by its owner only) the journal `file` with `options` (the
    /// database's own SQLite settings, one connection).
    pub(super) async fn open(file: &str, options: ConnectOptions) -> Result<Journal, Error> {
        let cannot = |e: &dyn std::fmt::Display| {
            Error::Internal(format!("cannot open the audit journal {file}: {e}"))
        };
        if !Path::new(file).exists() {
            create_private(Path::new(file)).map_err(|e| cannot(&e))?;
        }
        let conn = Database::connect(options).await.map_err(|e| cannot(&e))?;
        let table = Schema::new(DbBackend::Sqlite)
            .create_table_from_entity(audit_event::Entity)
            .if_not_exists()
            .to_owned();
        conn.execute(&table).await.map_err(|e| cannot(&e))?;
        Ok(Journal {
            conn,
            settling: Default::default(),
        })
    }

    /// Appends `events` in one commit; they are durable when it returns.
    pub(super) async fn append(&self, events: &[AuditEvent]) -> Result<(), Error> {
        let txn = self.conn.begin().await?;
        let built = audit::event_rows(events, false)?
            .iter()
            .map(|s| DbBackend::Sqlite.build(s))
            .collect();
        super::joined::run(&txn, built).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The next `READ_CHUNK` events after the journal row `after` (0: from the first), with
    /// the row of the last.
    async fn after(&self, after: i64) -> Result<(Vec<AuditEvent>, i64), Error> {
        let mut select = audit_event::Entity::find();
        QueryTrait::query(&mut select)
            .expr_as(Expr::cust("rowid"), "journal_row")
            .and_where(Expr::cust_with_values("rowid > ?", [after]))
            .order_by_expr(Expr::cust("rowid"), Order::Asc)
            .limit(READ_CHUNK);
        let rows = self.conn.query_all(&QueryTrait::into_query(select)).await?;
        let mut last = after;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            last = row.try_get("", "journal_row")?;
            events.push(audit::from_model(audit_event::Model::from_query_result(
                row, "",
            )?)?);
        }
        Ok((events, last))
    }

    /// Deletes the events `ids` (copied into the trail) from the journal, in one commit.
    async fn forget(&self, ids: &[String]) -> Result<(), Error> {
        let txn = self.conn.begin().await?;
        for chunk in ids.chunks(DELETE_CHUNK) {
            audit_event::Entity::delete_many()
                .filter(audit_event::Column::Id.is_in(chunk.iter().map(String::as_str)))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Events in the journal, from its first and last row: a settle deletes the oldest rows
    /// and appends add after the last, so the rows between are all there (exact without a
    /// scan, however long the backlog of a settle that keeps failing).
    async fn len(&self) -> Result<u64, Error> {
        let q = Query::select()
            .expr_as(Expr::cust("COALESCE(MAX(rowid) - MIN(rowid) + 1, 0)"), "n")
            .from(audit_event::Entity)
            .to_owned();
        let row = self.conn.query_one(&q).await?;
        let n: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub(super) async fn close(&self) {
        let _ = self.conn.close_by_ref().await;
    }
}

impl Store {
    /// Audit events in the journal waiting to be moved into the trail (0 on PostgreSQL).
    pub async fn audit_journal_events(&self) -> Result<u64, Error> {
        match &self.journal {
            Some(journal) => journal.len().await,
            None => Ok(0),
        }
    }

    /// SQLite: moves every audit event waiting in the journal into the database's trail and
    /// returns how many it moved. PostgreSQL (no journal): nothing.
    pub async fn settle_audit(&self) -> Result<usize, Error> {
        let Some(journal) = &self.journal else {
            return Ok(0);
        };
        let _turn = journal.settling.lock().await;
        let mut moved = 0;
        loop {
            // One transaction of the database: events in the journal's order, read a chunk at
            // a time, until a bound or the journal's end. Rows appended meanwhile come after
            // (the rows copied are still there, so no row id is reused before `forget`).
            let (mut events, mut after) = journal.after(0).await?;
            if events.is_empty() {
                return Ok(moved);
            }
            let txn = self.begin_on_writer().await?;
            let (mut copied, mut resources) = (Vec::new(), 0);
            let drained = loop {
                audit::insert_again(&txn, &events).await?;
                resources += events.iter().map(|e| e.resource_ids.len()).sum::<usize>();
                copied.extend(events.into_iter().map(|e| e.id));
                if copied.len() >= SETTLE_EVENTS || resources >= SETTLE_RESOURCES {
                    break false;
                }
                (events, after) = journal.after(after).await?;
                if events.is_empty() {
                    break true;
                }
            };
            txn.commit().await?;
            journal.forget(&copied).await?;
            moved += copied.len();
            if drained {
                return Ok(moved);
            }
        }
    }
}
