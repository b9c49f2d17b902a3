//! The audit trail: append-only events, one row per event plus one row per resource it touched
//! (so `resource_ids:"…"` is an indexed lookup). Nothing here updates or deletes an event.

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult, QueryTrait, Set,
    sea_query::{Alias, InsertStatement, Query},
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
pub(super) fn statements(events: &[AuditEvent]) -> Result<Vec<InsertStatement>, Error> {
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
        out.push(audit_event::Entity::insert_many(rows).into_query());
    }
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
        out.push(stmt);
    }
    Ok(out)
}

/// Appends `events` in `txn` (on SQLite a small batch in one hand-off to the writer).
pub(super) async fn insert(txn: &DatabaseTransaction, events: &[AuditEvent]) -> Result<(), Error> {
    let db = txn.get_database_backend();
    let built = statements(events)?.iter().map(|s| db.build(s)).collect();
    super::joined::run(txn, built).await
}

fn from_model(m: audit_event::Model) -> Result<AuditEvent, Error> {
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
    /// Appends a batch of events in one transaction of its own.
    pub async fn append_audit_events(&self, events: &[AuditEvent]) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let txn = self.begin_on_writer().await?;
        insert(&txn, events).await?;
        txn.commit().await?;
        Ok(())
    }

    /// A page of audit events; newest first unless `order_by` says otherwise.
    #[tracing::instrument(name = "store.list_audit_events", skip_all)]
    pub async fn list_audit_events(&self, q: &ListQuery) -> Result<Page<AuditEvent>, Error> {
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
