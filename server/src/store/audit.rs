//! The audit trail: append-only events, one row per event plus one row per resource it touched
//! (so `resource_ids:"…"` is an indexed lookup). Nothing here updates or deletes an event. On
//! SQLite the events of calls that did not write wait in a journal first (`journal`).

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult, QueryTrait, Set,
    sea_query::{Alias, InsertStatement, OnConflict, Query},
};

use super::{
    ListQuery, Page, Store,
    codec::{json_list, micros, time, to_json},
    entity::audit_event,
    schema::{AUDIT_EVENTS, AUDIT_RESOURCES},
};
use crate::domain::{Error, Role, WireEnum, access::AuditEvent};

/// Rows per INSERT statement (SQLite allows 32,766 bound parameters).
const CHUNK: usize = 500;

/// The statements that append `events`: the events, then the rows of the resources they name.
/// `again`: events the trail may hold already (a journal copied twice) are skipped.
pub(super) fn statements(
    events: &[AuditEvent],
    again: bool,
) -> Result<Vec<InsertStatement>, Error> {
    let mut out = event_rows(events, again)?;
    let pairs: Vec<(&str, &str)> = events
        .iter()
        .flat_map(|e| e.resource_ids.iter().map(|r| (r.as_str(), e.id.as_str())))
        .collect();
    for chunk in pairs.chunks(CHUNK * 2) {
        let mut stmt = Query::insert();
        stmt.into_table(Alias::new(AUDIT_RESOURCES.table)).columns([
            Alias::new(AUDIT_RESOURCES.value),
            Alias::new(AUDIT_RESOURCES.owner),
        ]);
        for (resource, event) in chunk {
            stmt.values_panic([(*resource).into(), (*event).into()]);
        }
        if again {
            stmt.on_conflict(
                OnConflict::columns([
                    Alias::new(AUDIT_RESOURCES.value),
                    Alias::new(AUDIT_RESOURCES.owner),
                ])
                .do_nothing()
                .to_owned(),
            );
        }
        out.push(stmt);
    }
    Ok(out)
}

/// The statements that insert the `audit_events` rows of `events` (in the database, or in the
/// journal), skipping those already there when `again`.
pub(super) fn event_rows(
    events: &[AuditEvent],
    again: bool,
) -> Result<Vec<InsertStatement>, Error> {
    let mut out = Vec::new();
    for chunk in events.chunks(CHUNK) {
        let rows = chunk
            .iter()
            .map(|e| {
                Ok(audit_event::ActiveModel {
                    id: Set(e.id.clone()),
                    time: Set(micros(e.time)),
                    token_id: Set(e.token_id.clone()),
                    token_name: Set(e.token_name.clone()),
                    role: Set(e.role.code()),
                    method: Set(e.method.clone()),
                    code: Set(e.code.clone()),
                    peer: Set(e.peer.clone()),
                    resource_ids: Set(to_json(&e.resource_ids)?),
                    request_id: Set(e.request_id.clone()),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut stmt = audit_event::Entity::insert_many(rows).into_query();
        if again {
            stmt.on_conflict(
                OnConflict::column(audit_event::Column::Id)
                    .do_nothing()
                    .to_owned(),
            );
        }
        out.push(stmt);
    }
    Ok(out)
}

/// Appends `events` in `txn` (on SQLite a small batch in one hand-off to the writer).
pub(super) async fn insert(txn: &DatabaseTransaction, events: &[AuditEvent]) -> Result<(), Error> {
    run(txn, statements(events, false)?).await
}

/// Appends `events` in `txn`, skipping those the trail holds already (the journal's copies).
pub(super) async fn insert_again(
    txn: &DatabaseTransaction,
    events: &[AuditEvent],
) -> Result<(), Error> {
    run(txn, statements(events, true)?).await
}

async fn run(txn: &DatabaseTransaction, statements: Vec<InsertStatement>) -> Result<(), Error> {
    let db = txn.get_database_backend();
    let built = statements.iter().map(|s| db.build(s)).collect();
    super::joined::run(txn, built).await
}

pub(super) fn from_model(m: audit_event::Model) -> Result<AuditEvent, Error> {
    Ok(AuditEvent {
        resource_ids: json_list(&m.resource_ids)?,
        id: m.id,
        time: time(m.time),
        token_id: m.token_id,
        token_name: m.token_name,
        role: Role::from_code(m.role).unwrap_or_default(),
        method: m.method,
        code: m.code,
        peer: m.peer,
        request_id: m.request_id,
    })
}

impl Store {
    /// Appends a batch of events in one transaction of its own (on SQLite, of the journal:
    /// `store::journal`); they are durable when it returns.
    pub async fn append_audit_events(&self, events: &[AuditEvent]) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        if let Some(journal) = &self.journal {
            return journal.append(events).await;
        }
        let txn = self.begin_on_writer().await?;
        insert(&txn, events).await?;
        txn.commit().await?;
        Ok(())
    }

    /// A page of audit events; newest first unless `order_by` says otherwise.
    #[tracing::instrument(name = "store.list_audit_events", skip_all)]
    pub async fn list_audit_events(&self, q: &ListQuery) -> Result<Page<AuditEvent>, Error> {
        // Every event recorded before this call is in the trail it reads.
        self.settle_audit().await?;
        let (rows, next_page_token) = AUDIT_EVENTS
            .page(&self.reader, audit_event::Entity::find().into_query(), q)
            .await?;
        Ok(Page {
            items: rows
                .iter()
                .map(|r| from_model(audit_event::Model::from_query_result(r, "")?))
                .collect::<Result<_, _>>()?,
            next_page_token,
            revision: 0,
        })
    }
}
