//! Persons: queries and mutations, and the derived figures computed as they are read.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ConnectionTrait, QueryResult,
    sea_query::{Alias, Expr, ExprTrait, JoinType},
};

use super::{
    ListQuery, Page, Store,
    codec::{Rows, check_etag, unique_row},
    duplicates, event_rows, exchanges, external, links, record,
    schema::{PERSON_CATEGORIES, PERSON_EXTERNAL_IDS, PERSON_NAME_KEYS, PERSONS},
    write::{IdempotencyKey, Operation, Write},
};
use crate::domain::{
    Error, Meta, PERSON, Person, PersonFields, Violations, new_id, person::name_keys, schema::Mask,
};

pub(super) const ROWS: Rows<PersonFields> = Rows {
    table: "persons",
    schema: &PERSON,
};

/// How violations of a create name their fields: `person.x` for CreatePerson,
/// `requests[i].person.x` for BatchCreatePersons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateShape {
    Single,
    Batch,
}

impl CreateShape {
    fn method(self) -> &'static str {
        match self {
            CreateShape::Single => "CreatePerson",
            CreateShape::Batch => "BatchCreatePersons",
        }
    }

    pub fn prefix(self, i: usize) -> String {
        match self {
            CreateShape::Single => "person.".to_owned(),
            CreateShape::Batch => format!("requests[{i}].person."),
        }
    }
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

impl Store {
    /// Creates persons from validated fields, all or none, in one transaction; results in input
    /// order. Unknown exchange ids or category codes are INVALID_ARGUMENT naming each.
    #[tracing::instrument(name = "store.create_persons", skip_all)]
    pub async fn create_persons(
        &self,
        batch: Vec<PersonFields>,
        request_id: Option<String>,
        shape: CreateShape,
    ) -> Result<Vec<Person>, Error> {
        let key = IdempotencyKey::of(shape.method(), request_id, || {
            record::request_list_json(&batch)
        })?;
        let mut w = self.begin_write().await?;
        if let Some(key) = &key
            && let Some(done) = w.recall::<Vec<Person>>(key).await?
        {
            return self.replayed(w.txn().await?, done).await;
        }
        let dates = check_references(w.txn().await?, batch.iter().enumerate(), shape).await?;
        let claims: Vec<external::Claim> = batch
            .iter()
            .enumerate()
            .map(|(i, f)| external::Claim {
                prefix: shape.prefix(i),
                owner: None,
                ids: &f.external_ids,
            })
            .collect();
        external::check_free(w.txn().await?, PERSON_EXTERNAL_IDS, "person", &claims).await?;
        drop(claims);
        let today = today();
        let persons: Vec<Person> = batch
            .into_iter()
            .map(|fields| new_person(&w, fields, &dates, today))
            .collect();
        insert_new(&mut w, &persons).await?;
        if let Some(key) = &key {
            w.remember(key, &persons)?;
        }
        w.commit().await?;
        Ok(persons)
    }

    /// The stored answer of a replayed create, as this caller may see it now: a person
    /// restricted since is NOT_FOUND to a caller who may not see restricted persons, as a Get
    /// of it would be.
    async fn replayed<C: ConnectionTrait>(
        &self,
        conn: &C,
        done: Vec<Person>,
    ) -> Result<Vec<Person>, Error> {
        if self.sees_restricted() {
            return Ok(done);
        }
        let ids: Vec<&str> = done.iter().map(|p| p.meta.id.as_str()).collect();
        for chunk in ids.chunks(500) {
            let q = sea_orm::sea_query::Query::select()
                .column(Alias::new("id"))
                .from(Alias::new(ROWS.table))
                .and_where(Expr::col(Alias::new("id")).is_in(chunk.iter().copied()))
                .and_where(Expr::col(Alias::new("restricted")).eq(true))
                .to_owned();
            if let Some(row) = conn.query_all(&q).await?.first() {
                return Err(Error::NotFound {
                    resource: "person",
                    id: row.try_get("", "id")?,
                });
            }
        }
        Ok(done)
    }

    /// The person, unless the caller may not see it (restricted): then NOT_FOUND, exactly as
    /// if there were none.
    #[tracing::instrument(name = "store.get_person", skip_all)]
    pub async fn get_person(&self, id: &str) -> Result<Person, Error> {
        self.visible_or_merged(&self.reader, id).await
    }

    fn visible(&self, p: Person) -> Result<Person, Error> {
        if p.fields.restricted && !self.sees_restricted() {
            return Err(Error::NotFound {
                resource: "person",
                id: p.meta.id,
            });
        }
        Ok(p)
    }

    /// The person another system calls `key` (`system/id`), as [`Store::get_person`] would
    /// give it.
    #[tracing::instrument(name = "store.lookup_person", skip_all)]
    pub async fn lookup_person(&self, key: &str) -> Result<Person, Error> {
        let not_found = || Error::NotFound {
            resource: "person",
            id: key.to_owned(),
        };
        let id = external::owner_of(&self.reader, PERSON_EXTERNAL_IDS, key)
            .await?
            .ok_or_else(not_found)?;
        self.get_person(&id).await.map_err(|e| match e {
            Error::NotFound { .. } => not_found(),
            e => e,
        })
    }

    #[tracing::instrument(name = "store.list_persons", skip_all)]
    pub async fn list_persons(&self, q: &ListQuery) -> Result<Page<Person>, Error> {
        self.read_page(async |txn| list_in(txn, q, self.sees_restricted()).await)
            .await
    }

    #[tracing::instrument(name = "store.update_person", skip_all)]
    pub async fn update_person(
        &self,
        id: &str,
        etag: Option<&str>,
        incoming: &PersonFields,
        mask: &Mask,
    ) -> Result<Person, Error> {
        let mut w = self.begin_write().await?;
        let current = self.visible_or_merged(w.txn().await?, id).await?;
        check_etag(&current.meta, etag, "person")?;
        let mut fields = current.fields.clone();
        PERSON.apply(&mut fields, incoming, mask)?;
        let today = today();
        let fields = fields.validate(today).map_err(|e| e.prefixed("person"))?;
        if fields == current.fields {
            return Ok(current);
        }
        let p = rewrite(&mut w, &current, fields).await?;
        w.commit().await?;
        Ok(p)
    }

    #[tracing::instrument(name = "store.delete_person", skip_all)]
    pub async fn delete_person(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
        let mut w = self.begin_write().await?;
        let current = self.visible_or_merged(w.txn().await?, id).await?;
        check_etag(&current.meta, etag, "person")?;
        event_rows::delete_all_of(&mut w, id).await?;
        links::replace(&w, PERSON_CATEGORIES, id, &[])?;
        links::replace(&w, PERSON_NAME_KEYS, id, &[])?;
        links::replace(&w, PERSON_EXTERNAL_IDS, id, &[])?;
        ROWS.delete(w.txn().await?, id).await?;
        w.log(Operation::Deleted, &current, None)?;
        w.commit().await
    }
}

/// A new person of `w` from validated fields; `dates` holds its exchange's date.
pub(super) fn new_person(
    w: &Write,
    fields: PersonFields,
    dates: &HashMap<String, NaiveDate>,
    today: NaiveDate,
) -> Person {
    let exchange_date = fields
        .exchange_id
        .as_ref()
        .and_then(|id| dates.get(id))
        .copied();
    Person {
        meta: Meta {
            id: new_id(),
            create_time: w.now,
            update_time: w.now,
            revision: w.revision,
        },
        derived: fields.derive(exchange_date, today),
        fields,
    }
}

/// Inserts new persons (references and external ids checked) in `w`: their rows, link rows,
/// name keys, external ids, the change log.
pub(super) async fn insert_new(w: &mut Write, persons: &[Person]) -> Result<(), Error> {
    let rows: Vec<_> = persons.iter().map(|p| (&p.meta, &p.fields)).collect();
    for q in ROWS.inserts(&rows)? {
        w.defer(&q);
    }
    let rows: Vec<(&str, &str)> = persons
        .iter()
        .flat_map(|p| {
            p.fields
                .category_codes
                .iter()
                .map(|c| (p.meta.id.as_str(), c.as_str()))
        })
        .collect();
    links::insert(w, PERSON_CATEGORIES, &rows)?;
    let keys: Vec<(&str, Vec<String>)> = persons
        .iter()
        .map(|p| (p.meta.id.as_str(), name_keys(&p.fields)))
        .collect();
    let rows: Vec<(&str, &str)> = keys
        .iter()
        .flat_map(|(id, ks)| ks.iter().map(move |k| (*id, k.as_str())))
        .collect();
    links::insert(w, PERSON_NAME_KEYS, &rows)?;
    insert_external_ids(w, persons).await?;
    let written: Vec<(&Person, Option<&PersonFields>)> =
        persons.iter().map(|p| (p, None)).collect();
    duplicates::index(w, &written).await?;
    for p in persons {
        w.log(Operation::Created, p, None)?;
    }
    Ok(())
}

/// The persons whose `column` holds one of `values` (one query per 500 values, the exchange
/// dates in one more), restricted ones included.
pub(super) async fn find_by<C: ConnectionTrait>(
    conn: &C,
    column: &str,
    values: &[String],
) -> Result<Vec<Person>, Error> {
    let mut out = Vec::new();
    for chunk in values.chunks(500) {
        let q = ROWS
            .select()
            .and_where(ROWS.col(column).is_in(chunk.iter().map(String::as_str)))
            .to_owned();
        let rows = conn.query_all(&q).await?;
        out.extend(with_derived(conn, &rows).await?);
    }
    Ok(out)
}

/// The link rows of new persons' external ids.
async fn insert_external_ids(w: &Write, persons: &[Person]) -> Result<(), Error> {
    let keys: Vec<(&str, String)> = persons
        .iter()
        .flat_map(|p| {
            p.fields
                .external_ids
                .iter()
                .map(|x| (p.meta.id.as_str(), x.key()))
        })
        .collect();
    let rows: Vec<(&str, &str)> = keys.iter().map(|(id, k)| (*id, k.as_str())).collect();
    links::insert(w, PERSON_EXTERNAL_IDS, &rows)
}

/// Writes validated `fields` over `current` in `w` (its row, link rows, name keys, the change
/// log; the events' mirror of `restricted` when it changes). References are checked here.
pub(super) async fn rewrite(
    w: &mut Write,
    current: &Person,
    fields: PersonFields,
) -> Result<Person, Error> {
    let id = current.meta.id.as_str();
    let codes_changed = fields.category_codes != current.fields.category_codes;
    let keys = name_keys(&fields);
    let names_changed = keys != name_keys(&current.fields);
    let dates = check_references(w.txn().await?, [(0, &fields)], CreateShape::Single).await?;
    let ids_changed = fields.external_ids != current.fields.external_ids;
    if ids_changed {
        let claim = external::Claim {
            prefix: "person.".into(),
            owner: Some(id),
            ids: &fields.external_ids,
        };
        external::check_free(w.txn().await?, PERSON_EXTERNAL_IDS, "person", &[claim]).await?;
    }
    let exchange_date = fields
        .exchange_id
        .as_ref()
        .and_then(|x| dates.get(x))
        .copied();
    let p = Person {
        meta: Meta {
            update_time: w.now,
            revision: w.revision,
            ..current.meta.clone()
        },
        derived: fields.derive(exchange_date, today()),
        fields,
    };
    w.defer(&ROWS.updating(&p.meta, &p.fields)?);
    if codes_changed {
        links::replace(w, PERSON_CATEGORIES, id, &p.fields.category_codes)?;
    }
    if names_changed {
        links::replace(w, PERSON_NAME_KEYS, id, &keys)?;
    }
    if ids_changed {
        let keys = external::keys(&p.fields.external_ids);
        links::replace(w, PERSON_EXTERNAL_IDS, id, &keys)?;
    }
    if p.fields.restricted != current.fields.restricted {
        event_rows::mirror_restricted(w, id, p.fields.restricted).await?;
    }
    duplicates::index(w, &[(&p, Some(&current.fields))]).await?;
    w.log(Operation::Updated, &p, Some(current))?;
    Ok(p)
}

/// One page of persons, read in `conn`.
pub(super) async fn list_in<C: ConnectionTrait>(
    conn: &C,
    q: &ListQuery,
    include_restricted: bool,
) -> Result<(Vec<Person>, Option<String>), Error> {
    let mut select = ROWS.select();
    if !include_restricted {
        select.and_where(ROWS.col("restricted").eq(false));
    }
    let (rows, next) = PERSONS.page(conn, select, q).await?;
    Ok((with_derived(conn, &rows).await?, next))
}

/// Checks that every exchange id and category code exists (one query for the whole batch of
/// a usual size); returns the dates of the referenced exchanges.
async fn check_references<'a, C: ConnectionTrait>(
    conn: &C,
    batch: impl IntoIterator<Item = (usize, &'a PersonFields)> + Clone,
    shape: CreateShape,
) -> Result<HashMap<String, NaiveDate>, Error> {
    let exchange_ids: HashSet<String> = batch
        .clone()
        .into_iter()
        .filter_map(|(_, p)| p.exchange_id.clone())
        .collect();
    let exchanges::References { dates, codes } = exchanges::references(
        conn,
        exchange_ids,
        batch
            .clone()
            .into_iter()
            .flat_map(|(_, p)| p.category_codes.iter()),
    )
    .await?;
    let mut v = Violations::new();
    for (i, p) in batch {
        let prefix = shape.prefix(i);
        if let Some(x) = &p.exchange_id
            && !dates.contains_key(x)
        {
            v.add(
                format!("{prefix}exchange_id"),
                format!("no exchange with id {x:?}"),
            );
        }
        links::unknown_codes(&mut v, &prefix, &p.category_codes, &codes);
    }
    v.finish(dates)
}

/// The exchange date joined to a person row (for the derived figures).
const EXCHANGE_DATE: &str = "hc_exchange_date";

/// The person as the caller of `store` may see it (NOT_FOUND for a restricted one otherwise).
pub(super) async fn find_visible<C: ConnectionTrait>(
    store: &Store,
    conn: &C,
    id: &str,
) -> Result<Person, Error> {
    store.visible(find(conn, id).await?)
}

/// One person by id: one statement (the exchange's date joined), and no `LIMIT` (the key is
/// unique; see `codec::unique_row`).
async fn find<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Person, Error> {
    let exchanges = Alias::new(exchanges::ROWS.table);
    let q = ROWS
        .select()
        .expr_as(
            Expr::col((exchanges.clone(), Alias::new("exchange_date"))),
            Alias::new(EXCHANGE_DATE),
        )
        .join(
            JoinType::LeftJoin,
            exchanges.clone(),
            ROWS.col("exchange_id")
                .equals((exchanges, Alias::new("id"))),
        )
        .and_where(ROWS.col("id").eq(id))
        .to_owned();
    let row = unique_row(conn, &q).await?.ok_or_else(|| Error::NotFound {
        resource: "person",
        id: id.to_owned(),
    })?;
    derive(&row, row.try_get("", EXCHANGE_DATE)?, today())
}

fn derive(
    row: &QueryResult,
    exchange_date: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Person, Error> {
    let (meta, fields) = ROWS.decode(row)?;
    Ok(Person {
        derived: fields.derive(exchange_date, today),
        meta,
        fields,
    })
}

/// Converts rows and computes their derived figures (one query for the exchange dates).
async fn with_derived<C: ConnectionTrait>(
    conn: &C,
    rows: &[QueryResult],
) -> Result<Vec<Person>, Error> {
    let ids = rows
        .iter()
        .map(|r| r.try_get::<Option<String>>("", "exchange_id"))
        .collect::<Result<Vec<_>, _>>()?;
    let dates = exchanges::dates(conn, ids.iter().flatten().cloned()).await?;
    let today = today();
    rows.iter()
        .zip(&ids)
        .map(|(r, x)| derive(r, x.as_ref().and_then(|x| dates.get(x)).copied(), today))
        .collect()
}
