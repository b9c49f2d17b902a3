//! SQLite: point reads on the calling thread.
//!
//! sqlx runs each SQLite connection on a worker thread of its own, so every statement is a
//! hand-off to that thread and one back, and for a read of one row by its key from the page
//! cache the two hand-offs cost more than the read itself (BENCHMARKS.md, "Performance, round
//! two, continued"). `DirectReads` keeps a few read-only connections of its own and runs such
//! a read on the thread that asks, from a statement built by sea-query like every other, its
//! row decoded by the same codec (`codec::Cells`).
//!
//! Only reads of one row by a unique key come here: their cost is bounded by a B-tree descent,
//! like any other short piece of work on an async thread. Anything that may scan (lists,
//! searches, the summary) and every write stay on sqlx, off the async threads. Each read is
//! its own read transaction in WAL mode, so it sees every commit acknowledged before it began.
//! A WAL reader waits for no lock (checkpoints are passive), so the busy timeout is short: a
//! caller that gets an error here reads through sqlx instead.

use std::{
    path::PathBuf,
    sync::{LazyLock, Mutex},
    time::Duration,
};

use rusqlite::{Connection, OpenFlags, params_from_iter, types::Value as Sql};
use sea_orm::sea_query::{SelectStatement, SqliteQueryBuilder, Value, Values};

use super::codec::DirectRow;
use crate::domain::Error;

/// Idle connections kept for reuse: about one per thread that reads at once (the runtime's
/// workers); more are opened when more ask at once, and closed after.
const KEEP: usize = 8;

pub(super) struct DirectReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl DirectReads {
    /// Reads of the database file `path` (opened when first needed; the file exists and is
    /// migrated by then).
    pub(super) fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            idle: Mutex::default(),
        }
    }

    fn open(&self) -> Result<Connection, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(failed)?;
        conn.busy_timeout(Duration::from_millis(100))
            .map_err(failed)?;
        Ok(conn)
    }

    /// The first row of `sql` (built by [`FixedSql::sql`]) with `values` bound, read on this
    /// thread and mapped by `map`.
    pub(super) fn first<T>(
        &self,
        sql: &str,
        values: Values,
        map: impl FnOnce(&DirectRow) -> Result<T, Error>,
    ) -> Result<Option<T>, Error> {
        let params = values
            .into_iter()
            .map(sql_value)
            .collect::<Result<Vec<_>, _>>()?;
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => self.open()?,
        };
        let out = read(&conn, sql, params, map);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < KEEP {
            idle.push(conn);
        }
        out
    }
}

fn read<T>(
    conn: &Connection,
    sql: &str,
    params: Vec<Sql>,
    map: impl FnOnce(&DirectRow) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    // Prepared once per connection and kept (rusqlite's statement cache).
    let mut stmt = conn.prepare_cached(sql).map_err(failed)?;
    let mut rows = stmt.query(params_from_iter(params)).map_err(failed)?;
    match rows.next().map_err(failed)? {
        Some(row) => map(&DirectRow {
            row,
            next: Default::default(),
        })
        .map(Some),
        None => Ok(None),
    }
}

/// The SQL text of a statement whose shape never changes, built once: only its values differ
/// from call to call (building the select of some forty columns showed in the profile).
pub(super) struct FixedSql(LazyLock<String>);

impl FixedSql {
    pub(super) const fn new(build: fn() -> String) -> Self {
        Self(LazyLock::new(build))
    }

    pub(super) fn sql(&self) -> &str {
        &self.0
    }
}

/// The SQLite text of `select`, its values as placeholders (for [`FixedSql::new`]).
pub(super) fn sqlite_text(select: &SelectStatement) -> String {
    select.build(SqliteQueryBuilder).0
}

/// A bound value as SQLite stores it (the kinds a key lookup binds).
fn sql_value(v: Value) -> Result<Sql, Error> {
    Ok(match v {
        Value::String(s) => s.map_or(Sql::Null, Sql::Text),
        Value::BigInt(i) => i.map_or(Sql::Null, Sql::Integer),
        Value::Int(i) => i.map_or(Sql::Null, |i| Sql::Integer(i.into())),
        Value::Bool(b) => b.map_or(Sql::Null, |b| Sql::Integer(b.into())),
        other => {
            return Err(Error::Internal(format!(
                "a direct read cannot bind {other:?}"
            )));
        }
    })
}

fn failed(e: rusqlite::Error) -> Error {
    match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseBusy => {
            Error::Unavailable("the database is busy; retry".into())
        }
        e => Error::Internal(format!("direct read: {e}")),
    }
}
