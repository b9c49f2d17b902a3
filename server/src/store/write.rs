//! The write transaction every mutation runs in, and group commit.
//!
//! `Store::begin_write` opens the transaction and first increments the one-row revision counter
//! (a later write of a group sets it to the number it knows comes next, see `begin_write`).
//! The row lock (PostgreSQL) or the write lock taken by `BEGIN IMMEDIATE` on the single writer
//! connection (SQLite) is held until commit, so writers are serialised and a revision is never
//! visible before a smaller one: revisions are assigned in commit order, with no gaps (a
//! rolled-back write gives its revision back). The change log rows of a write are inserted with
//! one statement at its end.
//!
//! **Group commit.** Writes that arrive while another runs join its database transaction instead
//! of waiting for its commit: the first write of a group works in the transaction itself, each
//! later one in a savepoint of its own (so a failing write rolls back only itself), one after the
//! other. When a write is done it releases its savepoint and hands the commit to a task; the
//! writes queued meanwhile (the lock is fair: first come, first served) join the group before
//! that task commits it, once, for all of them: one WAL append and one fsync where there were
//! many. Every write still gets its own revision, its audit event and its change log rows, and
//! a caller is answered only after the group's commit succeeded (durability is unchanged: no
//! write is acknowledged before it is on disk); if the commit fails, every write of the group
//! gets the error and none of them happened. A write alone (nobody waiting for a turn) commits
//! at once, itself. After a write of a group fails, no further write joins that group (see
//! `Turn`): the next one commits it as it is and starts a new group.
//!
//! **Deferred statements.** On SQLite every statement is a hand-off to the connection's worker
//! thread and back; on PostgreSQL a round trip. A write therefore queues the statements whose
//! results it does not need (`Write::defer`) and runs them together — before its next read
//! (`Write::txn`, `Write::query_all`, so a read always sees the write's own changes) and at
//! its end: joined with `;` on SQLite, as the parts of one `WITH` on PostgreSQL (inserts only;
//! see `joined::batches`). A statement's failure surfaces at that point, as the write's failure.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, FromQueryResult, QueryResult,
    Set, Statement, StatementBuilder, TransactionTrait,
    sea_query::{Expr, ExprTrait, Query},
};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use super::{
    Backend, Store, codec, entity, joined,
    notify::{CHANGES_CHANNEL, Commits, Committed},
    record::{Logged, Stored},
    stats::CommitMetrics,
};
pub use crate::domain::Operation;
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering as AtomicOrdering},
};

use crate::domain::{Change, Error, access::Call};

/// An open write holding the next revision.
pub struct Write {
    /// The group's transaction (first write of a group) or a savepoint in it. Reached through
    /// `Write::txn`, which runs the deferred statements first.
    txn: DatabaseTransaction,
    /// Statements whose results the write does not need, waiting to run together (`defer`).
    deferred: std::sync::Mutex<Vec<Statement>>,
    pub revision: i64,
    pub now: DateTime<Utc>,
    log: Vec<entity::change_log::ActiveModel>,
    /// The change log rows' changes, decoded: announced to this process's watchers at commit.
    changes: Vec<Arc<Change>>,
    /// The change log rows' size (`Committed::bytes`).
    log_bytes: usize,
    commits: Arc<Commits>,
    backend: Backend,
    /// Audited with the change, in this transaction.
    call: Option<Arc<Call>>,
    /// Held from begin to the end of this write: writes of a group run one at a time.
    turn: Turn,
    groups: Arc<GroupCommit>,
    /// Roll back instead of committing (`Store::validating`).
    validate_only: bool,
    /// Find duplicate candidates of the persons written (`StoreOptions::duplicate_search`).
    pub(super) duplicate_search: bool,
}

/// A write's turn. Ended without `finished` (the write failed, or was dropped), it closes the
/// open group to new writes: after a failure nobody joins the transaction, so a failure that
/// took the whole transaction with it (SQLite rolls everything back on some I/O errors) can
/// only fail the writes already in the group — at their commit — and never lets a later write
/// run outside a transaction.
struct Turn {
    guard: OwnedMutexGuard<Groups>,
    finished: bool,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if !self.finished
            && let Some(group) = self.guard.open.as_mut()
        {
            group.closed = true;
        }
    }
}

/// Group commit's state, shared by the store's handles.
#[derive(Default)]
pub(super) struct GroupCommit {
    turns: Arc<Mutex<Groups>>,
    /// Writes waiting for their turn: none, and a write alone commits at once, itself.
    waiting: AtomicUsize,
    pub(super) metrics: CommitMetrics,
}

impl GroupCommit {
    pub(super) fn waiting(&self) -> usize {
        self.waiting.load(AtomicOrdering::Relaxed)
    }
}

/// Counts a write as waiting while it waits (also when the wait is cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, AtomicOrdering::SeqCst);
        Waiting(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, AtomicOrdering::SeqCst);
    }
}

/// The group being formed (`None` between groups) and the next group's number.
#[derive(Default)]
pub(super) struct Groups {
    open: Option<Group>,
    next_id: u64,
}

/// Writes done and waiting for one commit.
struct Group {
    id: u64,
    txn: DatabaseTransaction,
    /// The revision of the last write released into the group: the counter's value in its
    /// transaction.
    revision: i64,
    /// The group's writes' changes, in revision order (announced once the commit is durable).
    committed: Vec<Arc<Committed>>,
    /// The commit's outcome, once known.
    done: watch::Sender<Option<Result<(), String>>>,
    /// A write of the group failed: no more writes join it.
    closed: bool,
    /// Writes in the group so far.
    writes: u32,
    metrics: CommitMetrics,
}

impl Store {
    #[tracing::instrument(name = "store.begin_write", skip_all)]
    pub(super) async fn begin_write(&self) -> Result<Write, Error> {
        let mut guard = {
            let _waiting = Waiting::new(&self.groups.waiting);
            self.groups.turns.clone().lock_owned().await
        };
        if guard.open.as_ref().is_some_and(|g| g.closed)
            && let Some(group) = guard.open.take()
        {
            // A write of it failed: commit the group as it is, then start a new one. In a task,
            // so that the commit completes (and its writes hear of it) even if this call is
            // cancelled meanwhile.
            let commits = self.commits.clone();
            let _ = tokio::spawn(async move { finish(group, &commits).await }).await;
        }
        let turn = Turn {
            guard,
            finished: false,
        };
        let mut deferred = Vec::new();
        let (txn, revision) = match &turn.guard.open {
            Some(group) => {
                // The group's transaction has held the counter (the write lock on SQLite, the
                // row's lock on PostgreSQL) since its first write read it, and every write
                // released into the group took the next number: this write's is known without
                // reading it, and its update runs with the write's other deferred statements
                // (one hand-off fewer per grouped write). A savepoint rolled back gives its
                // number back, as its update is rolled back with it.
                let txn = group.txn.begin().await?;
                let revision = group.revision + 1;
                let set = Query::update()
                    .table("registry_revision")
                    .value("revision", revision)
                    .and_where(Expr::col("id").eq(1))
                    .to_owned();
                deferred.push(txn.get_database_backend().build(&set));
                (txn, revision)
            }
            None => {
                let txn = self.begin_on_writer().await?;
                let bump = Query::update()
                    .table("registry_revision")
                    .value("revision", Expr::col("revision").add(1))
                    .and_where(Expr::col("id").eq(1))
                    .returning_col("revision")
                    .to_owned();
                let row = txn
                    .query_one(&bump)
                    .await?
                    .ok_or_else(|| Error::Internal("registry_revision row is missing".into()))?;
                let revision: i64 = row.try_get("", "revision")?;
                (txn, revision)
            }
        };
        Ok(Write {
            txn,
            deferred: std::sync::Mutex::new(deferred),
            revision,
            now: codec::now(),
            log: Vec::new(),
            changes: Vec::new(),
            log_bytes: 0,
            commits: self.commits.clone(),
            backend: self.backend,
            call: self.call.clone(),
            turn,
            groups: self.groups.clone(),
            validate_only: self.validate_only,
            duplicate_search: self.duplicate_search,
        })
    }
}

impl Write {
    pub fn now_micros(&self) -> i64 {
        self.now.timestamp_micros()
    }

    /// Records a change of this transaction; `snapshot` is the resource after the change (before
    /// it, for deletions), `previous` the state an update replaced.
    pub fn log<R: Logged>(
        &mut self,
        operation: Operation,
        snapshot: &R,
        previous: Option<&R>,
    ) -> Result<(), Error> {
        let seq = i32::try_from(self.log.len())
            .map_err(|_| Error::Internal("too many changes in one transaction".into()))?;
        let encoded = snapshot.encode()?;
        let encoded_previous = previous.map(Stored::encode).transpose()?;
        self.log_bytes += encoded.len() + encoded_previous.as_ref().map_or(0, String::len);
        self.log.push(entity::change_log::ActiveModel {
            revision: Set(self.revision),
            seq: Set(seq),
            resource_type: Set(R::TYPE.as_str().to_owned()),
            resource_id: Set(snapshot.id().to_owned()),
            operation: Set(operation.as_str().to_owned()),
            snapshot: Set(encoded),
            previous: Set(encoded_previous),
            change_time: Set(self.now_micros()),
        });
        self.changes.push(Arc::new(Change {
            revision: self.revision,
            operation,
            time: self.now,
            resource: snapshot.resource(),
            previous: previous.map(Logged::resource),
        }));
        Ok(())
    }

    /// Writes the change log and the audit event, commits (with the writes grouped with this
    /// one), and tells watchers (in this process directly, with the changes themselves; in
    /// other processes sharing a PostgreSQL database through NOTIFY, sent at commit). Returns
    /// once the commit is durable.
    #[tracing::instrument(name = "store.commit", skip_all)]
    pub async fn commit(self) -> Result<(), Error> {
        if self.validate_only {
            return self.discard().await;
        }
        let Write {
            txn,
            deferred,
            log,
            changes,
            log_bytes,
            revision,
            commits,
            backend,
            call,
            now,
            mut turn,
            groups,
            ..
        } = self;
        let mut pending = deferred.into_inner().unwrap_or_else(|e| e.into_inner());
        let notify = (backend == Backend::Postgres).then(|| commits.payload(revision));
        let written = match log_statements(&txn, log, notify, call.as_deref(), now) {
            Ok(last) => {
                pending.extend(last);
                joined::run(&txn, pending).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            // Roll back before the next write of the group may take its turn.
            let _ = txn.rollback().await;
            return Err(e);
        }
        let committed = Arc::new(Committed {
            revision,
            changes,
            bytes: log_bytes,
        });
        let (id, mut done) = match turn.guard.open.as_mut() {
            Some(group) => {
                // A savepoint: release it into the group's transaction.
                txn.commit().await?;
                group.revision = revision;
                group.committed.push(committed);
                group.writes += 1;
                (group.id, group.done.subscribe())
            }
            None if groups.waiting.load(AtomicOrdering::SeqCst) == 0 => {
                // Alone: nothing to wait for.
                let started = std::time::Instant::now();
                txn.commit().await?;
                groups.metrics.observe(1, started);
                turn.finished = true;
                drop(turn);
                commits.announce(vec![committed]);
                if let Some(call) = &call {
                    call.mark_audited();
                }
                return Ok(());
            }
            None => {
                // The first write of a group: its transaction becomes the group's.
                let id = turn.guard.next_id;
                turn.guard.next_id += 1;
                let (done, rx) = watch::channel(None);
                turn.guard.open = Some(Group {
                    id,
                    txn,
                    revision,
                    committed: vec![committed],
                    done,
                    closed: false,
                    writes: 1,
                    metrics: groups.metrics.clone(),
                });
                (id, rx)
            }
        };
        turn.finished = true;
        drop(turn);
        // The commit runs in a task of its own: it happens even if this call is cancelled.
        tokio::spawn(commit_group(groups.turns.clone(), id, commits));
        let outcome = done
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Error::Unavailable("the server stopped before the commit".into()))?
            .clone();
        match outcome {
            Some(Ok(())) => {
                if let Some(call) = &call {
                    call.mark_audited();
                }
                Ok(())
            }
            Some(Err(e)) => Err(Error::Unavailable(format!("commit failed: {e}"))),
            None => Err(Error::Internal("commit outcome missing".into())),
        }
    }

    /// Ends a write that was only validated: rolls back its transaction (or its savepoint in
    /// a group, whose other writes go on), so its revision is given back and nothing of it is
    /// logged, watched or audited as a change (the call is audited as a call that changed
    /// nothing).
    pub(super) async fn discard(self) -> Result<(), Error> {
        // The deferred statements run first: their constraint checks are part of validation.
        let flushed = self.flush().await;
        let Write { txn, mut turn, .. } = self;
        txn.rollback().await?;
        flushed?;
        turn.finished = true;
        Ok(())
    }

    /// The stored result of an earlier call with this request id, if any. The same id with a
    /// different request is INVALID_ARGUMENT on `request_id`.
    pub async fn recall<T: Stored>(&self, key: &IdempotencyKey) -> Result<Option<T>, Error> {
        let select = sea_orm::QueryTrait::into_query(entity::idempotency::Entity::find_by_id((
            key.method.to_owned(),
            key.request_id.clone(),
        )));
        // Through `query_all`: on SQLite the statements deferred so far (a grouped write's
        // revision) run in the same hand-off as this read.
        let found = match self.query_all(&select).await?.pop() {
            Some(row) => entity::idempotency::Model::from_query_result(&row, "")?,
            None => return Ok(None),
        };
        if found.request_hash != key.request_hash {
            return Err(Error::invalid(
                "request_id",
                "was already used for a different request; use a new request_id for a new request",
            ));
        }
        Ok(Some(T::decode(&found.response)?))
    }

    /// Keeps the result of this call for retries with the same request id.
    pub fn remember<T: Stored>(&self, key: &IdempotencyKey, value: &T) -> Result<(), Error> {
        let row = entity::idempotency::ActiveModel {
            method: Set(key.method.to_owned()),
            request_id: Set(key.request_id.clone()),
            request_hash: Set(key.request_hash.clone()),
            response: Set(value.encode()?),
            create_time: Set(self.now_micros()),
        };
        self.defer(&sea_orm::QueryTrait::into_query(
            entity::idempotency::Entity::insert(row),
        ));
        Ok(())
    }

    /// Queues a statement whose result this write does not need (an insert, update or delete
    /// of the write's own rows). Queued statements run together before the write's next read
    /// (`txn`, `query_all`) and at its end: on SQLite in one hand-off to the connection's
    /// worker thread where each used to take one, on PostgreSQL consecutive inserts in one
    /// round trip (BENCHMARKS.md, "Performance, round two"). A failure surfaces there, as the
    /// write's.
    pub fn defer<S: StatementBuilder>(&self, stmt: &S) {
        let built = self.txn.get_database_backend().build(stmt);
        self.deferred
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(built);
    }

    /// The write's transaction, for statements whose results the write needs: the deferred
    /// statements run first, so what it reads includes every change the write made.
    pub async fn txn(&self) -> Result<&DatabaseTransaction, Error> {
        self.flush().await?;
        Ok(&self.txn)
    }

    /// The rows of `select`, read after the deferred statements ran (on SQLite in the same
    /// hand-off).
    pub async fn query_all<S: StatementBuilder>(
        &self,
        select: &S,
    ) -> Result<Vec<QueryResult>, Error> {
        let select = self.txn.get_database_backend().build(select);
        let mut pending = self.take_deferred();
        if self.backend == Backend::Sqlite && !pending.is_empty() {
            pending.push(select);
            let mut batches = joined::batches(pending);
            let last = batches.pop();
            joined::run(&self.txn, batches.into_iter().flatten().collect()).await?;
            if let Some(last) = last {
                // A joined statement's rows are those of its one SELECT, the last.
                return Ok(self.txn.query_all_raw(joined::join(last)).await?);
            }
            return Ok(Vec::new());
        }
        joined::run(&self.txn, pending).await?;
        Ok(self.txn.query_all_raw(select).await?)
    }

    fn take_deferred(&self) -> Vec<Statement> {
        std::mem::take(&mut *self.deferred.lock().unwrap_or_else(|e| e.into_inner()))
    }

    async fn flush(&self) -> Result<(), Error> {
        let pending = self.take_deferred();
        joined::run(&self.txn, pending).await
    }
}

/// A request id (AIP-155) with what it identifies: the method and a hash of the request.
pub struct IdempotencyKey {
    method: &'static str,
    request_id: String,
    request_hash: String,
}

impl IdempotencyKey {
    /// The key of a call that carries a request id (`None` without one); `request_json` gives
    /// the validated input's canonical form, computed only when there is an id.
    pub fn of(
        method: &'static str,
        request_id: Option<String>,
        request_json: impl FnOnce() -> Result<String, Error>,
    ) -> Result<Option<Self>, Error> {
        request_id
            .map(|id| Ok(Self::new(method, id, &request_json()?)))
            .transpose()
    }

    /// `request_json` is the validated input's canonical form (`record::request_json`); it is
    /// hashed, so the same id with another input is detected.
    pub fn new(method: &'static str, request_id: String, request_json: &str) -> Self {
        let digest = Sha256::digest(request_json.as_bytes());
        let request_hash = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            method,
            request_id,
            request_hash,
        }
    }
}

/// Commits group `id` unless a write of the group committed it already. Queued writes get the
/// lock before this task (the lock is fair), so they are in the group by now.
async fn commit_group(groups: Arc<Mutex<Groups>>, id: u64, commits: Arc<Commits>) {
    let group = {
        let mut state = groups.lock().await;
        match state.open.take() {
            Some(g) if g.id == id => g,
            other => {
                state.open = other;
                return;
            }
        }
    };
    finish(group, &commits).await;
}

/// Commits a group and tells its writes (and, on success, this process's watchers).
async fn finish(group: Group, commits: &Commits) {
    let Group {
        txn,
        committed,
        done,
        writes,
        metrics,
        ..
    } = group;
    let started = std::time::Instant::now();
    let outcome = txn.commit().await;
    metrics.observe(writes, started);
    if outcome.is_ok() {
        commits.announce(committed);
    } else if let Err(e) = &outcome {
        tracing::error!(error = %e, "group commit failed");
    }
    done.send_replace(Some(outcome.map_err(|e| e.to_string())));
}

/// A write's last statements: its audit event, its person versions, its change log rows and
/// (PostgreSQL) the NOTIFY that other replicas receive at commit.
fn log_statements(
    txn: &DatabaseTransaction,
    log: Vec<entity::change_log::ActiveModel>,
    notify: Option<String>,
    call: Option<&Call>,
    now: DateTime<Utc>,
) -> Result<Vec<Statement>, Error> {
    let db = txn.get_database_backend();
    let mut out = Vec::new();
    // The call's audit event commits with the change or not at all.
    if let Some(call) = call {
        let mut seen = std::collections::HashSet::new();
        let mut ids: Vec<String> = Vec::new();
        for row in &log {
            if let sea_orm::ActiveValue::Set(id) = &row.resource_id
                && seen.insert(id.as_str())
            {
                ids.push(id.clone());
            }
        }
        let events = [call.event(ids, "OK", now)];
        out.extend(
            super::audit::statements(&events, false)?
                .iter()
                .map(|s| db.build(s)),
        );
    }
    // A person's versions are kept for good, with who wrote them.
    out.extend(
        super::history::statements(&log, call)?
            .iter()
            .map(|s| db.build(s)),
    );
    // Chunks keep each statement under SQLite's bound-parameter limit.
    let mut rows = log.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(1000).collect();
        out.push(db.build(&sea_orm::QueryTrait::into_query(
            entity::change_log::Entity::insert_many(chunk),
        )));
    }
    if let Some(payload) = notify {
        out.push(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANGES_CHANNEL.into(), payload.into()],
        ));
    }
    Ok(out)
}
