//! Person events (a person's timeline): queries and mutations. Every write of an event checks
//! it against the person's other events and sets on the person what the timeline says, in the
//! same transaction and revision (a watcher sees both changes in one revision).

use sea_orm::{
    ConnectionTrait,
    sea_query::{ExprTrait, Order},
};

use super::{
    ListQuery, Page, Store,
    codec::{check_etag, unique_row},
    event_rows::{ROWS, event_of},
    exchanges, person_rows, persons, record,
    schema::PERSON_EVENTS,
    write::{IdempotencyKey, Operation, Write},
};
use crate::domain::{
    Error, Meta, PersonEvent, PersonEventFields, Violations,
    event::{apply_timeline, check_timeline},
    new_id,
    schema::Mask,
};

/// The timeline's order: by date, then as recorded.
const TIMELINE: &str = "date, create_time";

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

impl Store {
    /// Records an event of an existing person the caller may see.
    #[tracing::instrument(name = "store.create_person_event", skip_all)]
    pub async fn create_person_event(
        &self,
        mut fields: PersonEventFields,
        request_id: Option<String>,
    ) -> Result<PersonEvent, Error> {
        let key = IdempotencyKey::of("CreatePersonEvent", request_id, || {
            record::request_json(&fields)
        })?;
        let mut w = self.begin_write().await?;
        if let Some(key) = &key
            && let Some(done) = w.recall::<PersonEvent>(key).await?
        {
            return self.visible_event(done);
        }
        let person_id = fields.person_id.clone().unwrap_or_default();
        let person = self.event_person(&w, &person_id).await?;
        check_exchange(&w, &fields).await?;
        let others = timeline(w.txn().await?, &person_id, None).await?;
        check_timeline(&fields, &others).map_err(|e| e.prefixed("event"))?;
        fields.restricted = person.fields.restricted;
        let e = PersonEvent {
            meta: Meta {
                id: new_id(),
                create_time: w.now,
                update_time: w.now,
                revision: w.revision,
            },
            fields,
        };
        ROWS.insert(w.txn().await?, &[(&e.meta, &e.fields)]).await?;
        w.log(Operation::Created, &e, None)?;
        follow_timeline(&mut w, &person, &others, Some(&e.fields)).await?;
        if let Some(key) = &key {
            w.remember(key, &e)?;
        }
        w.commit().await?;
        Ok(e)
    }

    #[tracing::instrument(name = "store.get_person_event", skip_all)]
    pub async fn get_person_event(&self, id: &str) -> Result<PersonEvent, Error> {
        self.visible_event(find(&self.reader, id).await?)
    }

    /// A page of events; in timeline order unless `order_by` says otherwise.
    #[tracing::instrument(name = "store.list_person_events", skip_all)]
    pub async fn list_person_events(&self, q: &ListQuery) -> Result<Page<PersonEvent>, Error> {
        let mut q = q.clone();
        if q.order_by.trim().is_empty() {
            q.order_by = TIMELINE.to_owned();
        }
        let include_restricted = self.sees_restricted();
        self.read_page(async |txn| list_in(txn, &q, include_restricted).await)
            .await
    }

    #[tracing::instrument(name = "store.update_person_event", skip_all)]
    pub async fn update_person_event(
        &self,
        id: &str,
        etag: Option<&str>,
        incoming: &PersonEventFields,
        mask: &Mask,
    ) -> Result<PersonEvent, Error> {
        let mut w = self.begin_write().await?;
        let current = self.visible_event(find(w.txn().await?, id).await?)?;
        check_etag(&current.meta, etag, "event")?;
        let mut fields = current.fields.clone();
        fields.apply_update(incoming, mask)?;
        let fields = fields.validate(today()).map_err(|e| e.prefixed("event"))?;
        if fields == current.fields {
            return Ok(current);
        }
        let person_id = fields.person_id.clone().unwrap_or_default();
        let person = self.event_person(&w, &person_id).await?;
        check_exchange(&w, &fields).await?;
        let others = timeline(w.txn().await?, &person_id, Some(id)).await?;
        check_timeline(&fields, &others).map_err(|e| e.prefixed("event"))?;
        let e = PersonEvent {
            meta: Meta {
                update_time: w.now,
                revision: w.revision,
                ..current.meta.clone()
            },
            fields,
        };
        ROWS.update(w.txn().await?, &e.meta, &e.fields).await?;
        w.log(Operation::Updated, &e, Some(&current))?;
        follow_timeline(&mut w, &person, &others, Some(&e.fields)).await?;
        w.commit().await?;
        Ok(e)
    }

    #[tracing::instrument(name = "store.delete_person_event", skip_all)]
    pub async fn delete_person_event(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
        let mut w = self.begin_write().await?;
        let current = self.visible_event(find(w.txn().await?, id).await?)?;
        check_etag(&current.meta, etag, "event")?;
        let person_id = current.fields.person_id.clone().unwrap_or_default();
        let person = self.event_person(&w, &person_id).await?;
        ROWS.delete(w.txn().await?, id).await?;
        w.log(Operation::Deleted, &current, None)?;
        let others = timeline(w.txn().await?, &person_id, None).await?;
        follow_timeline(&mut w, &person, &others, None).await?;
        w.commit().await
    }

    /// An event, unless its person is restricted and the caller may not see that.
    fn visible_event(&self, e: PersonEvent) -> Result<PersonEvent, Error> {
        if e.fields.restricted && !self.sees_restricted() {
            return Err(Error::NotFound {
                resource: "event",
                id: e.meta.id,
            });
        }
        Ok(e)
    }

    /// The person an event names; one the caller may not see does not exist for it.
    async fn event_person(&self, w: &Write, id: &str) -> Result<crate::domain::Person, Error> {
        person_rows::find_visible(self, w.txn().await?, id)
            .await
            .map_err(|e| match e {
                Error::NotFound { .. } => {
                    Error::invalid("event.person_id", format!("no person with id {id:?}"))
                }
                other => other,
            })
    }
}

/// The exchange of an EXCHANGED event exists.
async fn check_exchange(w: &Write, fields: &PersonEventFields) -> Result<(), Error> {
    let Some(x) = &fields.exchange_id else {
        return Ok(());
    };
    let found = exchanges::dates(w.txn().await?, [x.clone()]).await?;
    let mut v = Violations::new();
    if !found.contains_key(x) {
        v.add("event.exchange_id", format!("no exchange with id {x:?}"));
    }
    v.finish(())
}

/// Sets on the person what its timeline (`others` and `event`) says, in `w`.
async fn follow_timeline(
    w: &mut Write,
    person: &crate::domain::Person,
    others: &[PersonEventFields],
    event: Option<&PersonEventFields>,
) -> Result<(), Error> {
    let mut all: Vec<PersonEventFields> = others.to_vec();
    all.extend(event.cloned());
    let mut fields = person.fields.clone();
    if apply_timeline(&mut fields, &all) {
        let fields = fields.validate(today()).map_err(|e| e.prefixed("event"))?;
        persons::rewrite(w, person, fields).await?;
    }
    Ok(())
}

/// One page of events, read in `conn`.
pub(super) async fn list_in<C: ConnectionTrait>(
    conn: &C,
    q: &ListQuery,
    include_restricted: bool,
) -> Result<(Vec<PersonEvent>, Option<String>), Error> {
    let mut select = ROWS.select();
    if !include_restricted {
        select.and_where(ROWS.col("restricted").eq(false));
    }
    let (rows, next) = PERSON_EVENTS.page(conn, select, q).await?;
    Ok((rows.iter().map(event_of).collect::<Result<_, _>>()?, next))
}

/// A person's events in timeline order, but for `except`.
async fn timeline<C: ConnectionTrait>(
    conn: &C,
    person_id: &str,
    except: Option<&str>,
) -> Result<Vec<PersonEventFields>, Error> {
    let mut q = ROWS.select();
    q.and_where(ROWS.col("person_id").eq(person_id))
        .order_by_expr(ROWS.col("date"), Order::Asc)
        .order_by_expr(ROWS.col("create_time"), Order::Asc);
    if let Some(id) = except {
        q.and_where(ROWS.col("id").ne(id));
    }
    conn.query_all(&q)
        .await?
        .iter()
        .map(|r| event_of(r).map(|e| e.fields))
        .collect()
}

async fn find<C: ConnectionTrait>(conn: &C, id: &str) -> Result<PersonEvent, Error> {
    let q = ROWS.select().and_where(ROWS.col("id").eq(id)).to_owned();
    let row = unique_row(conn, &q).await?.ok_or_else(|| Error::NotFound {
        resource: "event",
        id: id.to_owned(),
    })?;
    event_of(&row)
}
