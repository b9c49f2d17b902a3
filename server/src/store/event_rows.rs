//! The `person_events` table: its row codec, and what a person's own write does to its events
//! (deleted with it, restricted with it). Apart from `events` so that persons and events do not
//! import each other: event writes move their person (`events` uses `persons`), a person's
//! write cascades to its events through this module.

use sea_orm::{
    QueryResult,
    sea_query::{Alias, Expr, ExprTrait, Query},
};

use super::{
    codec::Rows,
    write::{Operation, Write},
};
use crate::domain::{Error, Meta, PERSON_EVENT, PersonEvent, PersonEventFields};

pub(super) const ROWS: Rows<PersonEventFields> = Rows {
    table: "person_events",
    schema: &PERSON_EVENT,
};

pub(super) fn event_of(row: &QueryResult) -> Result<PersonEvent, Error> {
    let (meta, fields) = ROWS.decode(row)?;
    Ok(PersonEvent { meta, fields })
}

/// Every event of a person, read in `w`.
async fn events_of(w: &Write, person_id: &str) -> Result<Vec<PersonEvent>, Error> {
    let q = ROWS
        .select()
        .and_where(ROWS.col("person_id").eq(person_id))
        .to_owned();
    w.query_all(&q).await?.iter().map(event_of).collect()
}

/// Every event of a person, deleted with it (each logged, in the person's revision).
pub(super) async fn delete_all_of(w: &mut Write, person_id: &str) -> Result<(), Error> {
    let events = events_of(w, person_id).await?;
    let delete = Query::delete()
        .from_table(Alias::new(ROWS.table))
        .and_where(Expr::col(Alias::new("person_id")).eq(person_id))
        .to_owned();
    w.defer(&delete);
    for e in &events {
        w.log(Operation::Deleted, e, None)?;
    }
    Ok(())
}

/// A person became restricted (or released): its events follow, each logged, so that a
/// watcher who may not see restricted persons sees them leave (or come back) with the person.
pub(super) async fn mirror_restricted(
    w: &mut Write,
    person_id: &str,
    restricted: bool,
) -> Result<(), Error> {
    for before in events_of(w, person_id).await? {
        let after = PersonEvent {
            meta: Meta {
                update_time: w.now,
                revision: w.revision,
                ..before.meta.clone()
            },
            fields: PersonEventFields {
                restricted,
                ..before.fields.clone()
            },
        };
        ROWS.update(w.txn().await?, &after.meta, &after.fields)
            .await?;
        w.log(Operation::Updated, &after, Some(&before))?;
    }
    Ok(())
}

/// Every event of person `from` moves to person `to` (a merge), taking `to`'s restriction;
/// each logged as updated.
pub(super) async fn move_all(
    w: &mut Write,
    from: &str,
    to: &str,
    restricted: bool,
) -> Result<(), Error> {
    for before in events_of(w, from).await? {
        let after = PersonEvent {
            meta: Meta {
                update_time: w.now,
                revision: w.revision,
                ..before.meta.clone()
            },
            fields: PersonEventFields {
                person_id: Some(to.to_owned()),
                restricted,
                ..before.fields.clone()
            },
        };
        ROWS.update(w.txn().await?, &after.meta, &after.fields)
            .await?;
        w.log(Operation::Updated, &after, Some(&before))?;
    }
    Ok(())
}
