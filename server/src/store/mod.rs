//! Persistence: the only module that speaks sea-orm. It hides which backend runs (SQLite or
//! PostgreSQL) from the rest of the server.
//!
//! From the bottom up (a module uses only those listed before it):
//! - `migration/`: the schema, applied at start; `entity/`: sea-orm entities of the tables
//!   that are not declared resources.
//! - `codec`: how values and a declared resource's row are stored; `record`: the versioned
//!   record of a resource kept in the change log and for request ids.
//! - `schema`: what List filters and orderings may name, per table; `filter`: filters compiled
//!   to SQL; `paging`: orderings and keyset page tokens.
//! - `joined`: small statements run as one (one hand-off or round trip for several); `direct`:
//!   SQLite reads of one row by its key on the calling thread (no hand-off at all).
//! - `audit`: the append-only audit trail; `journal`: SQLite's file for the audit events of
//!   calls that did not write, moved into the trail in batches; `notify`: commits announced
//!   to watchers (this process's with their changes, other replicas' through PostgreSQL
//!   NOTIFY).
//! - `write`: the write transaction every mutation runs in: it takes the next registry revision
//!   (serialising writers, so revisions follow commit order), appends the change log and keeps
//!   idempotency records, all in the same transaction as the change; concurrent writes share
//!   one commit (group commit, each in a savepoint of its own); the statements whose results a
//!   write does not need wait and run joined (`Write::defer`). `links`: rows of set fields.
//! - `person_rows`: persons as read (the row codec, derived figures, what a caller may see, where
//!   a merged-away id leads), under `duplicates` (the candidate index: candidates found in the
//!   write, listed, dismissed) and `persons`.
//! - `categories`, `exchanges`, `persons` (with merges), `events`: queries and mutations of each
//!   resource; `history`: a person's versions; `import`: rosters in; `summary`:
//!   the figures; `access`: bearer tokens (hashes only); `changes`: the change log as watchers
//!   read it; `maintenance`: compaction, checkpoints, statistics and (`heap`) SQLite's freed
//!   memory handed back, in the background;
//!   `stats`: what the metrics endpoint reads (commits, pools, the change log's extent).
//!
//! Lookups by a unique key never bind a `LIMIT` (`codec::unique_row`, `Unique::unique`): SQLite
//! re-prepares a statement whose `LIMIT` is bound.
//!
//! A handle made with `Store::for_call` serves one call: person reads leave out restricted
//! persons unless the caller is an admin, and each write records the call's audit event in its
//! own transaction.
//!
//! SQLite runs with WAL, foreign keys on, a busy timeout, one writer connection (writes queue in
//! the pool instead of failing with "database is locked"; a 32 MiB page cache, its temporary
//! data in memory), a separate pool of readers with SQLite's defaults, and read-only connections
//! for reads of one row by its key on the calling thread (`direct`). The server checkpoints
//! the WAL in the background (`maintenance`), so commits do not.
//! PostgreSQL uses one pool; the revision counter row is the writers' lock.

mod access;
mod audit;
mod categories;
mod changes;
mod codec;
mod direct;
mod duplicates;
mod entity;
mod event_rows;
mod events;
mod exchanges;
mod external;
mod filter;
mod heap;
mod history;
mod import;
mod joined;
mod journal;
mod links;
mod maintenance;
mod migration;
mod notify;
mod paging;
mod person_rows;
mod persons;
mod record;
mod schema;
mod stats;
mod summary;
mod write;

use std::time::Duration;

use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbErr, EntityTrait, IsolationLevel, SqlErr, TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};
use sea_orm_migration::MigratorTrait;

use std::sync::Arc;

use crate::domain::{Error, access::Call};

pub use changes::{ReadSnapshot, check_filter};
pub use duplicates::{CROWDED_KEY, Candidate, CandidateQuery, REASON_MAX, SCORE_FLOOR};
pub use history::{History, Version};
pub use import::ImportOptions;
pub use journal::journal_file;
pub use maintenance::{Maintenance, MaintenanceOptions};
pub use notify::Committed;
pub use persons::CreateShape;
pub use stats::{ChangeLogExtent, CommitMetrics, PoolUse};

/// A List request, as the store takes it.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub page_size: i32,
    pub page_token: String,
    pub filter: String,
    pub order_by: String,
}

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Readers for SQLite; the whole pool for PostgreSQL.
    pub max_connections: u32,
    /// How long a request waits for a connection before UNAVAILABLE.
    pub acquire_timeout: Duration,
    /// SQLite `synchronous=FULL` (an acknowledged write survives power loss) instead of NORMAL
    /// (survives a crash of the process, may lose the last commits on power loss).
    pub sqlite_synchronous_full: bool,
    /// Find duplicate candidates when persons are written (off: a registry loading lists it
    /// will review later, or the benchmark's comparison).
    pub duplicate_search: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
            sqlite_synchronous_full: true,
            duplicate_search: true,
        }
    }
}

/// A page of a List: the items, the token of the next page, and the registry revision it was
/// read at.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
    pub revision: i64,
}

/// The registry's storage. Cheap to clone (pools are shared).
#[derive(Clone)]
pub struct Store {
    writer: DatabaseConnection,
    reader: DatabaseConnection,
    backend: Backend,
    url: String,
    /// The last revision committed through this process, and its changes; watchers wait on it.
    commits: std::sync::Arc<notify::Commits>,
    /// SQLite: point reads on the calling thread (`direct`); `None` on PostgreSQL.
    direct: Option<Arc<direct::DirectReads>>,
    /// SQLite: the audit events of calls that did not write, until they are moved into the
    /// database (`journal`); `None` on PostgreSQL.
    journal: Option<Arc<journal::Journal>>,
    /// The call this handle serves (`Store::for_call`): decides what reads may see and is
    /// audited in the transaction of every write. `None`: the server itself, which sees all.
    call: Option<Arc<Call>>,
    /// Group commit: the group being formed; writes take turns on this lock.
    groups: Arc<write::GroupCommit>,
    /// Writes through this handle are checked in full and then rolled back instead of
    /// committed (`validate_only`, AIP-163): no revision used, no change, no event.
    validate_only: bool,
    duplicate_search: bool,
}

/// The file of a `sqlite://FILE?…` or `sqlite:FILE` url.
pub fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or(rest);
    (!file.is_empty()).then_some(file)
}

/// Creates `path` empty, readable and writable by its owner only (it will hold personal data);
/// fails if it exists.
pub(crate) fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map(drop)
}

/// SQLite's page cache of the one writer connection. A write dirties the leaf of every index it
/// touches (one per filterable column of `persons`); with SQLite's default 2 MiB a batch of
/// 1,000 persons spills dirty pages into the WAL mid-transaction and reads them back (see
/// BENCHMARKS.md, "The writer's pages and checkpoints"). 32 MiB holds the interior pages of
/// every index at 1,000,000 persons. Filled only as pages are used; counts in the RSS.
const WRITER_CACHE_KIB: u32 = 32 * 1024;

/// A safety net: a commit checkpoints the WAL itself (SQLite's default, at 1,000 pages) only
/// past this size (64 MiB of 4 KiB pages); the server's checkpointer keeps it well below.
const WAL_AUTOCHECKPOINT_PAGES: u32 = 16 * 1024;

impl Store {
    /// Connects and applies pending migrations. `url` is `sqlite://path?mode=rwc` (or
    /// `sqlite:path`) or `postgres://user@host/db`.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Store, Error> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(Error::Internal(format!(
                "database url must start with sqlite: or postgres:// (got {:?})",
                url.split(':').next().unwrap_or_default()
            )));
        };
        let store = match backend {
            Backend::Sqlite => {
                if url.contains(":memory:") || url.contains("mode=memory") {
                    return Err(Error::Internal(
                        "in-memory SQLite is not supported (readers and the writer are separate connections); use a file".into(),
                    ));
                }
                let sync = if options.sqlite_synchronous_full {
                    SqliteSynchronous::Full
                } else {
                    SqliteSynchronous::Normal
                };
                let sqlite = move |o: sea_orm::sqlx::sqlite::SqliteConnectOptions| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(sync)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(10))
                };
                let mut w = base_options(url, options);
                w.max_connections(1).min_connections(1);
                w.map_sqlx_sqlite_opts(move |o| {
                    sqlite(o)
                        .create_if_missing(true)
                        // Statement journals and savepoint sub-journals in memory, not in
                        // temporary files (every grouped write and multi-row insert has one).
                        .pragma("temp_store", "memory")
                        // Negative: KiB, not pages.
                        .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
                        // Checkpoints run in the background (`Store::checkpoint`); a commit
                        // checkpoints itself only when the WAL outgrew this many pages.
                        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
                });
                // A new database file (and so its WAL and shared-memory files, which SQLite
                // creates with the database's permissions) is readable by its owner only.
                if let Some(file) = sqlite_file(url)
                    && !std::path::Path::new(file).exists()
                {
                    create_private(std::path::Path::new(file))
                        .map_err(|e| Error::Internal(format!("cannot create {file}: {e}")))?;
                }
                let writer = Database::connect(w).await.map_err(|e| open_err(url, e))?;
                migrate(&writer, backend).await?;
                let mut r = base_options(url, options);
                r.max_connections(options.max_connections.max(1));
                r.map_sqlx_sqlite_opts(sqlite);
                let reader = Database::connect(r).await.map_err(|e| open_err(url, e))?;
                let journal = match sqlite_file(url) {
                    Some(file) => {
                        let file = journal_file(file);
                        let mut j = base_options(&format!("sqlite://{file}"), options);
                        j.max_connections(1).min_connections(1);
                        j.map_sqlx_sqlite_opts(sqlite);
                        Some(Arc::new(journal::Journal::open(&file, j).await?))
                    }
                    None => None,
                };
                Store {
                    writer,
                    reader,
                    backend,
                    url: url.to_owned(),
                    commits: Default::default(),
                    direct: sqlite_file(url).map(|f| Arc::new(direct::DirectReads::new(f))),
                    journal,
                    call: None,
                    groups: Default::default(),
                    validate_only: false,
                    duplicate_search: options.duplicate_search,
                }
            }
            Backend::Postgres => {
                let mut o = base_options(url, options);
                o.max_connections(options.max_connections.max(2));
                let pool = match Database::connect(o).await {
                    Ok(p) => p,
                    Err(e) => return Err(postgres_open_err(url, e).await),
                };
                migrate(&pool, backend).await?;
                Store {
                    writer: pool.clone(),
                    reader: pool,
                    backend,
                    url: url.to_owned(),
                    commits: Default::default(),
                    direct: None,
                    journal: None,
                    call: None,
                    groups: Default::default(),
                    validate_only: false,
                    duplicate_search: options.duplicate_search,
                }
            }
        };
        let head = store.revision().await?;
        store.commits.start_at(head);
        // What a crash left in the audit journal joins the trail before anything is served.
        let moved = store.settle_audit().await?;
        if moved > 0 {
            tracing::info!(
                events = moved,
                "moved audit events left in the journal into the trail"
            );
        }
        Ok(store)
    }

    /// This store, serving `call`: reads leave out what the caller may not see, and writes
    /// record the call's audit event in their transaction.
    pub fn for_call(&self, call: Arc<Call>) -> Store {
        Store {
            call: Some(call),
            ..self.clone()
        }
    }

    /// This store, validating writes only when `validate_only`: each write runs every check
    /// (references and uniqueness included) in its transaction and answers as it would, then
    /// rolls back (its revision is given back).
    pub fn validating(&self, validate_only: bool) -> Store {
        Store {
            validate_only,
            ..self.clone()
        }
    }

    /// Whether restricted persons are visible to this handle's caller.
    fn sees_restricted(&self) -> bool {
        self.call
            .as_ref()
            .is_none_or(|c| c.caller.sees_restricted())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The last committed registry revision.
    pub async fn revision(&self) -> Result<i64, Error> {
        current_revision(&self.reader).await
    }

    /// Moves what the audit journal holds into the trail, then closes the pools (waits for
    /// connections in use to come back).
    pub async fn close(self) {
        if let Err(e) = self.settle_audit().await {
            // Not lost: the journal keeps them, and the next start moves them.
            tracing::warn!(error = %e, "the audit journal could not be emptied at stop");
        }
        if let Some(journal) = &self.journal {
            journal.close().await;
        }
        let _ = self.reader.close().await;
        if self.backend == Backend::Sqlite {
            let _ = self.writer.close().await;
        }
    }

    /// A transaction on the writer; on SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so it never fails half-way upgrading a read lock.
    async fn begin_on_writer(&self) -> Result<DatabaseTransaction, Error> {
        let options = TransactionOptions {
            sqlite_transaction_mode: (self.backend == Backend::Sqlite)
                .then_some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        Ok(self.writer.begin_with_options(options).await?)
    }

    /// One page read by `list` in a read snapshot, with the revision it was read at.
    async fn read_page<T>(
        &self,
        list: impl AsyncFnOnce(&DatabaseTransaction) -> Result<(Vec<T>, Option<String>), Error>,
    ) -> Result<Page<T>, Error> {
        let txn = self.read().await?;
        let revision = current_revision(&txn).await?;
        let (items, next_page_token) = list(&txn).await?;
        Ok(Page {
            items,
            next_page_token,
            revision,
        })
    }

    /// A read transaction: every query in it sees one snapshot, so a page and the revision it
    /// reports agree.
    async fn read(&self) -> Result<DatabaseTransaction, Error> {
        let options = match self.backend {
            Backend::Postgres => TransactionOptions {
                isolation_level: Some(IsolationLevel::RepeatableRead),
                access_mode: Some(AccessMode::ReadOnly),
                sqlite_transaction_mode: None,
            },
            Backend::Sqlite => TransactionOptions::default(),
        };
        Ok(self.reader.begin_with_options(options).await?)
    }
}

fn base_options(url: &str, options: &StoreOptions) -> ConnectOptions {
    let mut o = ConnectOptions::new(url.to_owned());
    o.acquire_timeout(options.acquire_timeout)
        .connect_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .sqlx_logging(false);
    o
}

async fn migrate(conn: &DatabaseConnection, backend: Backend) -> Result<(), Error> {
    let txn = conn.begin().await?;
    if backend == Backend::Postgres {
        // Replicas starting together take turns; the second finds nothing left to apply.
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(4242000001)")
            .await?;
    }
    migration::Migrator::up(&txn, None)
        .await
        .map_err(|e| Error::Internal(format!("migration failed: {e}")))?;
    txn.commit().await?;
    Ok(())
}

/// A lookup by a unique key. Not `Select::one`: its `LIMIT 1` is a bound value, and SQLite
/// re-prepares a statement whose `LIMIT` is bound on every execution (its planner reads the
/// value) — for a GetPerson that cost more CPU than the read itself.
pub(super) trait Unique<E: EntityTrait> {
    async fn unique<C: ConnectionTrait>(self, conn: &C) -> Result<Option<E::Model>, DbErr>;
}

impl<E: EntityTrait> Unique<E> for sea_orm::Select<E> {
    async fn unique<C: ConnectionTrait>(self, conn: &C) -> Result<Option<E::Model>, DbErr> {
        Ok(self.all(conn).await?.pop())
    }
}

async fn current_revision<C: ConnectionTrait>(conn: &C) -> Result<i64, Error> {
    let row = entity::revision::Entity::find_by_id(1).unique(conn).await?;
    row.map(|r| r.revision)
        .ok_or_else(|| Error::Internal("registry_revision row is missing".into()))
}

fn open_err(url: &str, e: DbErr) -> Error {
    let file = sqlite_file(url).unwrap_or(url);
    Error::Internal(format!("cannot open the SQLite database {file}: {e}"))
}

/// Why PostgreSQL could not be opened, naming the server (never the password) and, when the
/// pool only says it timed out, what a plain TCP connection to that server runs into (refused,
/// no such host, no answer): what an operator needs to fix it.
async fn postgres_open_err(url: &str, e: DbErr) -> Error {
    let uri = http::Uri::try_from(url).ok();
    let host = uri
        .as_ref()
        .and_then(|u| u.host())
        .unwrap_or("localhost")
        .to_owned();
    let port = uri.as_ref().and_then(|u| u.port_u16()).unwrap_or(5432);
    let database = uri
        .as_ref()
        .map(|u| u.path().trim_start_matches('/').to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "(the user's default)".into());
    let target = format!("PostgreSQL at {host}:{port}, database {database}");
    let addr = (host.trim_start_matches('[').trim_end_matches(']'), port);
    let probe =
        tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(addr)).await;
    let cause = match probe {
        Err(_) => format!("no answer from {host}:{port} within 3 s ({e})"),
        Ok(Err(io)) => format!("{io} (is PostgreSQL running and listening on {host}:{port}?)"),
        // The server answers: the database said why (authentication, no such database, …).
        Ok(Ok(_)) => e.to_string(),
    };
    Error::Internal(format!("cannot open {target}: {cause}"))
}

/// Whether `e` says the database could not be reached or is going away (a restart, a failover,
/// too many connections): UNAVAILABLE, which clients retry, not INTERNAL.
fn unreachable(e: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error as Sqlx};
    let sqlx = match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => s,
        _ => return false,
    };
    match sqlx.as_ref() {
        Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, crash, cannot
        // connect now), 53300 (too many connections).
        Sqlx::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

impl From<DbErr> for Error {
    fn from(e: DbErr) -> Self {
        if unreachable(&e) {
            return Error::Unavailable(e.to_string());
        }
        match e.sql_err() {
            // Reaching here means a check before the write missed a race; callers that can
            // name the field map these themselves (see `unique_violation`).
            Some(SqlErr::UniqueConstraintViolation(m)) => Error::FailedPrecondition {
                reason: "CONFLICT",
                message: format!("conflicting write: {m}"),
            },
            Some(SqlErr::ForeignKeyConstraintViolation(m)) => Error::FailedPrecondition {
                reason: "REFERENCE_CONFLICT",
                message: format!("a referenced resource changed concurrently: {m}"),
            },
            _ => Error::Internal(e.to_string()),
        }
    }
}

/// Whether `e` is a unique-constraint violation (as `From<DbErr>` maps it): the one place that
/// decides ALREADY_EXISTS.
fn unique_violation(e: &Error) -> bool {
    matches!(
        e,
        Error::FailedPrecondition {
            reason: "CONFLICT",
            ..
        }
    )
}
