//! The write transaction every mutation runs in.
//!
//! `Store::begin_write` opens the transaction and first increments the one-row revision counter.
//! The row lock (PostgreSQL) or the write lock taken by `BEGIN IMMEDIATE` on the single writer
//! connection (SQLite) is held until commit, so writers are serialised and a revision is never
//! visible before a smaller one: revisions are assigned in commit order, with no gaps (a
//! rolled-back transaction gives its revision back). The change log rows of the transaction are
//! inserted with one statement just before commit.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, EntityTrait, Set,
    sea_query::{Expr, ExprTrait, Query},
};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use super::{Backend, Store, entity};
pub use crate::domain::Operation;
use std::sync::Arc;

use crate::domain::{Error, ResourceType, access::Call};

/// An open write transaction holding the next revision.
pub struct Write {
    pub txn: DatabaseTransaction,
    pub revision: i64,
    pub now: DateTime<Utc>,
    log: Vec<entity::change_log::ActiveModel>,
    commits: std::sync::Arc<tokio::sync::watch::Sender<i64>>,
    backend: Backend,
    /// Audited with the change, in this transaction.
    call: Option<Arc<Call>>,
}

/// The PostgreSQL NOTIFY channel that carries committed revisions between replicas.
pub const CHANGES_CHANNEL: &str = "homecoming_changes";

impl Store {
    pub(super) async fn begin_write(&self) -> Result<Write, Error> {
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
        Ok(Write {
            txn,
            revision,
            // Stored with microsecond precision: answer with the value that will be read back.
            now: DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap_or_default(),
            log: Vec::new(),
            commits: self.commits.clone(),
            backend: self.backend,
            call: self.call.clone(),
        })
    }
}

impl Write {
    pub fn now_micros(&self) -> i64 {
        self.now.timestamp_micros()
    }

    /// Records a change of this transaction; `snapshot` is the resource after the change (before
    /// it, for deletions), `previous` the state an update replaced.
    pub fn log<T: Serialize>(
        &mut self,
        resource: ResourceType,
        id: &str,
        operation: Operation,
        snapshot: &T,
        previous: Option<&T>,
    ) -> Result<(), Error> {
        let seq = i32::try_from(self.log.len())
            .map_err(|_| Error::Internal("too many changes in one transaction".into()))?;
        self.log.push(entity::change_log::ActiveModel {
            revision: Set(self.revision),
            seq: Set(seq),
            resource_type: Set(resource.as_str().to_owned()),
            resource_id: Set(id.to_owned()),
            operation: Set(operation.as_str().to_owned()),
            snapshot: Set(to_json(snapshot)?),
            previous: Set(previous.map(to_json).transpose()?),
            change_time: Set(self.now_micros()),
        });
        Ok(())
    }

    /// Writes the change log, commits, and tells watchers (in this process directly, in other
    /// processes sharing a PostgreSQL database through NOTIFY, sent at commit).
    pub async fn commit(self) -> Result<(), Error> {
        let Write {
            txn,
            log,
            revision,
            commits,
            backend,
            call,
            now,
            ..
        } = self;
        // The call's audit event commits with the change or not at all.
        if let Some(call) = &call {
            let mut seen = std::collections::HashSet::new();
            let mut ids: Vec<String> = Vec::new();
            for row in &log {
                if let sea_orm::ActiveValue::Set(id) = &row.resource_id
                    && seen.insert(id.as_str())
                {
                    ids.push(id.clone());
                }
            }
            super::audit::insert(&txn, &[call.event(ids, "OK", now)]).await?;
        }
        // Chunks keep each statement under SQLite's bound-parameter limit.
        let mut rows = log.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(1000).collect();
            entity::change_log::Entity::insert_many(chunk)
                .exec_without_returning(&txn)
                .await?;
        }
        if backend == Backend::Postgres {
            let notify = sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANGES_CHANNEL.into(), revision.to_string().into()],
            );
            txn.execute_raw(notify).await?;
        }
        txn.commit().await?;
        if let Some(call) = &call {
            call.mark_audited();
        }
        commits.send_if_modified(|head| {
            let newer = revision > *head;
            if newer {
                *head = revision;
            }
            newer
        });
        Ok(())
    }

    /// The stored result of an earlier call with this request id, if any. The same id with a
    /// different request is INVALID_ARGUMENT on `request_id`.
    pub async fn recall<T: DeserializeOwned>(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<T>, Error> {
        let found = entity::idempotency::Entity::find_by_id((
            key.method.to_owned(),
            key.request_id.clone(),
        ))
        .one(&self.txn)
        .await?;
        let Some(found) = found else { return Ok(None) };
        if found.request_hash != key.request_hash {
            return Err(Error::invalid(
                "request_id",
                "was already used for a different request; use a new request_id for a new request",
            ));
        }
        let value = serde_json::from_str(&found.response)
            .map_err(|e| Error::Internal(format!("stored idempotent response: {e}")))?;
        Ok(Some(value))
    }

    /// Keeps the result of this call for retries with the same request id.
    pub async fn remember<T: Serialize>(
        &self,
        key: &IdempotencyKey,
        value: &T,
    ) -> Result<(), Error> {
        entity::idempotency::Entity::insert(entity::idempotency::ActiveModel {
            method: Set(key.method.to_owned()),
            request_id: Set(key.request_id.clone()),
            request_hash: Set(key.request_hash.clone()),
            response: Set(to_json(value)?),
            create_time: Set(self.now_micros()),
        })
        .exec_without_returning(&self.txn)
        .await?;
        Ok(())
    }

    /// Runs a statement built with sea-query in this transaction.
    pub async fn execute<S: sea_orm::StatementBuilder>(&self, stmt: &S) -> Result<u64, Error> {
        Ok(self.txn.execute(stmt).await?.rows_affected())
    }
}

/// A request id (AIP-155) with what it identifies: the method and a hash of the request.
pub struct IdempotencyKey {
    method: &'static str,
    request_id: String,
    request_hash: String,
}

impl IdempotencyKey {
    /// `request` is the validated input; its JSON form is hashed, so the same id with another
    /// input is detected.
    pub fn new<T: Serialize>(
        method: &'static str,
        request_id: String,
        request: &T,
    ) -> Result<Self, Error> {
        let json = to_json(request)?;
        let digest = Sha256::digest(json.as_bytes());
        let request_hash = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            method,
            request_id,
            request_hash,
        })
    }
}

pub fn to_json<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("serialize: {e}")))
}
