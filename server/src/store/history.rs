//! A person's record history: every version, who wrote it and when, kept for good (change-log
//! compaction never touches it). Written with the change log, in the write's transaction, from
//! the same versioned records (`record`): one row per logged change of a person.

use std::collections::HashMap;

use sea_orm::{
    ConnectionTrait,
    sea_query::{Alias, Expr, ExprTrait, InsertStatement, Order, Query},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::{Store, codec::time, entity::change_log, record};
use crate::domain::{
    Error, Operation, Person, Resource, ResourceType, Role, WireEnum, access::Call,
    page_size as page_size_of,
};

const TABLE: &str = "person_history";

/// One version of a person.
#[derive(Debug, Clone)]
pub struct Version {
    pub revision: i64,
    pub time: chrono::DateTime<chrono::Utc>,
    pub token_name: String,
    pub role: Role,
    pub operation: Operation,
    /// The person after the change (the last state, for a deletion).
    pub person: Person,
    /// The person before it (`None` for the first version).
    pub previous: Option<Person>,
    /// The person merged into this one by this change (MergePersons).
    pub merged_person_id: Option<String>,
}

/// A page of a person's versions, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    pub versions: Vec<Version>,
    pub next_page_token: Option<String>,
}

impl Store {
    /// The versions of person `id`, oldest first, `page_size` at a time (AIP-158 sizes). A
    /// person restricted in its newest version is NOT_FOUND to a caller who may not see
    /// restricted persons; a deleted person's history stays answerable.
    #[tracing::instrument(name = "store.person_history", skip_all)]
    pub async fn person_history(
        &self,
        id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<History, Error> {
        let size = page_size_of(page_size)?;
        let after = match page_token.trim() {
            "" => 0,
            t => URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.strip_prefix("h").and_then(|n| n.parse::<i64>().ok()))
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::invalid("page_token", "is not a token this server issued"))?,
        };
        let txn = self.read().await?;
        let not_found = || Error::NotFound {
            resource: "person",
            id: id.to_owned(),
        };
        let newest = before(&txn, id, i64::MAX).await?.ok_or_else(not_found)?;
        if newest.fields.restricted && !self.sees_restricted() {
            return Err(not_found());
        }
        let mut versions = versions(&txn, id, after, size + 1).await?;
        let next_page_token = if versions.len() as u64 > size {
            versions.truncate(size as usize);
            versions
                .last()
                .map(|v| URL_SAFE_NO_PAD.encode(format!("h{}", v.revision)))
        } else {
            None
        };
        let mut previous = if after > 0 {
            before(&txn, id, after).await?
        } else {
            None
        };
        let merges = merges_into(&txn, id).await?;
        for v in &mut versions {
            v.previous = previous.replace(v.person.clone());
            v.merged_person_id = merges.get(&v.revision).cloned();
        }
        Ok(History {
            versions,
            next_page_token,
        })
    }
}

/// Records the person changes among `log` (the write's change-log rows), written by `call`
/// (`None`: the server itself).
pub(super) fn statements(
    log: &[change_log::ActiveModel],
    call: Option<&Call>,
) -> Result<Vec<InsertStatement>, Error> {
    let (token_name, role) = match call {
        Some(c) => (c.caller.token_name.clone(), c.caller.role),
        None => ("system".to_owned(), Role::Admin),
    };
    let rows: Vec<_> = log
        .iter()
        .filter(|r| value(&r.resource_type) == Some(ResourceType::Person.as_str()))
        .collect();
    let mut out = Vec::new();
    for chunk in rows.chunks(1000) {
        let mut q = Query::insert();
        q.into_table(Alias::new(TABLE)).columns(
            [
                "person_id",
                "revision",
                "seq",
                "operation",
                "change_time",
                "token_name",
                "role",
                "snapshot",
            ]
            .map(Alias::new),
        );
        for r in chunk {
            q.values([
                value(&r.resource_id).unwrap_or_default().into(),
                set(&r.revision).copied().unwrap_or_default().into(),
                set(&r.seq).copied().unwrap_or_default().into(),
                value(&r.operation).unwrap_or_default().into(),
                set(&r.change_time).copied().unwrap_or_default().into(),
                token_name.clone().into(),
                role.code().into(),
                value(&r.snapshot).unwrap_or_default().into(),
            ])
            .map_err(|e| Error::Internal(e.to_string()))?;
        }
        out.push(q);
    }
    Ok(out)
}

fn value(v: &sea_orm::ActiveValue<String>) -> Option<&str> {
    set(v).map(String::as_str)
}

fn set<T>(v: &sea_orm::ActiveValue<T>) -> Option<&T>
where
    T: Into<sea_orm::Value>,
{
    match v {
        sea_orm::ActiveValue::Set(s) | sea_orm::ActiveValue::Unchanged(s) => Some(s),
        sea_orm::ActiveValue::NotSet => None,
    }
}

/// Up to `limit` versions of a person after `after` (a revision), oldest first.
pub(super) async fn versions<C: ConnectionTrait>(
    conn: &C,
    person_id: &str,
    after: i64,
    limit: u64,
) -> Result<Vec<Version>, Error> {
    let q = Query::select()
        .columns(
            [
                "revision",
                "operation",
                "change_time",
                "token_name",
                "role",
                "snapshot",
            ]
            .map(Alias::new),
        )
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("person_id")).eq(person_id))
        .and_where(Expr::col(Alias::new("revision")).gt(after))
        .order_by(Alias::new("revision"), Order::Asc)
        .order_by(Alias::new("seq"), Order::Asc)
        .limit(limit)
        .to_owned();
    let mut out = Vec::new();
    for row in conn.query_all(&q).await? {
        let snapshot: String = row.try_get("", "snapshot")?;
        let Resource::Person(person) = record::decode(ResourceType::Person, &snapshot)? else {
            return Err(Error::Internal("a history row holds no person".into()));
        };
        let operation: String = row.try_get("", "operation")?;
        out.push(Version {
            revision: row.try_get("", "revision")?,
            time: time(row.try_get("", "change_time")?),
            token_name: row.try_get("", "token_name")?,
            role: Role::from_code(row.try_get("", "role")?).unwrap_or_default(),
            operation: Operation::parse(&operation)
                .ok_or_else(|| Error::Internal("history operation".into()))?,
            person,
            previous: None,
            merged_person_id: None,
        });
    }
    Ok(out)
}

/// The version just before `revision` (to diff the first of a page against).
pub(super) async fn before<C: ConnectionTrait>(
    conn: &C,
    person_id: &str,
    revision: i64,
) -> Result<Option<Person>, Error> {
    let q = Query::select()
        .column(Alias::new("snapshot"))
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("person_id")).eq(person_id))
        .and_where(Expr::col(Alias::new("revision")).lte(revision))
        .order_by(Alias::new("revision"), Order::Desc)
        .order_by(Alias::new("seq"), Order::Desc)
        .limit(1)
        .to_owned();
    match conn.query_one(&q).await? {
        None => Ok(None),
        Some(row) => {
            let snapshot: String = row.try_get("", "snapshot")?;
            match record::decode(ResourceType::Person, &snapshot)? {
                Resource::Person(p) => Ok(Some(p)),
                _ => Err(Error::Internal("a history row holds no person".into())),
            }
        }
    }
}

/// The persons merged into `survivor_id` at each revision (for its history).
async fn merges_into<C: ConnectionTrait>(
    conn: &C,
    survivor_id: &str,
) -> Result<HashMap<i64, String>, Error> {
    let q = Query::select()
        .columns([Alias::new("duplicate_id"), Alias::new("revision")])
        .from(Alias::new("person_merges"))
        .and_where(Expr::col(Alias::new("survivor_id")).eq(survivor_id))
        .to_owned();
    let mut out = HashMap::new();
    for r in conn.query_all(&q).await? {
        out.insert(r.try_get("", "revision")?, r.try_get("", "duplicate_id")?);
    }
    Ok(out)
}
