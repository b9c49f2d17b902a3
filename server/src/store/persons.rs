//! Persons: queries and mutations, merges included (the rows as read are `person_rows`').

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{
    ConnectionTrait,
    sea_query::{Alias, Expr, ExprTrait, Query},
};

use super::{
    ListQuery, Page, Store,
    codec::check_etag,
    duplicates, event_rows, exchanges, external, links,
    person_rows::{ROWS, find_direct, list_in, today},
    record,
    schema::{PERSON_CATEGORIES, PERSON_EXTERNAL_IDS, PERSON_NAME_KEYS},
    write::{IdempotencyKey, Operation, Write},
};
use crate::domain::{
    Error, Meta, PERSON, Person, PersonFields, Violations, duplicates::MatchKeys, new_id,
    person::name_keys, schema::Mask,
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
        let keys: Vec<Keys> = batch
            .iter()
            .map(|f| Keys::of(f, self.duplicate_search))
            .collect();
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
        insert_new(&mut w, &persons, &keys).await?;
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
        if let Some(direct) = &self.direct {
            match find_direct(direct, id) {
                Ok(Some(p)) => return self.visible(p),
                // Absent: merged away, or never there; the sqlx path tells which.
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "direct read failed; reading through sqlx"),
            }
        }
        self.visible_or_merged(&self.reader, id).await
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

    /// Merges `duplicate_id` into `survivor_id`, in one write (one revision): the fields of
    /// `mask` from the duplicate (none when the mask is empty); its events, categories,
    /// external ids, aliases, contacts and identity documents added to the survivor's; its
    /// name kept as an alias; the duplicate deleted, its id answering [`Error::Merged`].
    #[tracing::instrument(name = "store.merge_persons", skip_all)]
    pub async fn merge_persons(
        &self,
        survivor_id: &str,
        duplicate_id: &str,
        mask: Option<&Mask>,
        request_id: Option<String>,
    ) -> Result<Person, Error> {
        if survivor_id == duplicate_id {
            return Err(Error::invalid(
                "duplicate_id",
                "must differ from survivor_id",
            ));
        }
        let key = IdempotencyKey::of("MergePersons", request_id, || {
            Ok(format!("{survivor_id}|{duplicate_id}|{mask:?}"))
        })?;
        let mut w = self.begin_write().await?;
        if let Some(key) = &key
            && let Some(done) = w.recall::<Vec<Person>>(key).await?
        {
            return done
                .into_iter()
                .next()
                .ok_or_else(|| Error::Internal("a stored merge holds no person".into()));
        }
        let survivor = self.visible_or_merged(w.txn().await?, survivor_id).await?;
        let duplicate = self.visible_or_merged(w.txn().await?, duplicate_id).await?;
        let mut fields = survivor.fields.clone();
        if let Some(mask) = mask {
            PERSON.apply(&mut fields, &duplicate.fields, mask)?;
        }
        let d = &duplicate.fields;
        union(&mut fields.category_codes, &d.category_codes);
        union(&mut fields.external_ids, &d.external_ids);
        union(&mut fields.contacts, &d.contacts);
        union(&mut fields.identity_documents, &d.identity_documents);
        union(&mut fields.aliases, &d.aliases);
        let name = full_name(d);
        if !name.is_empty() && name != full_name(&fields) {
            union(&mut fields.aliases, &[name]);
        }
        fields.restricted |= d.restricted;
        let fields = fields
            .validate(chrono::Utc::now().date_naive())
            .map_err(|e| e.prefixed("survivor"))?;

        // The duplicate goes first: its external ids become free for the survivor to hold.
        event_rows::move_all(&mut w, duplicate_id, survivor_id, fields.restricted).await?;
        links::replace(&w, PERSON_CATEGORIES, duplicate_id, &[])?;
        links::replace(&w, PERSON_NAME_KEYS, duplicate_id, &[])?;
        links::replace(&w, PERSON_EXTERNAL_IDS, duplicate_id, &[])?;
        ROWS.delete(w.txn().await?, duplicate_id).await?;
        w.log(Operation::Deleted, &duplicate, None)?;
        // Merges into the duplicate now lead to the survivor.
        w.defer(
            &Query::update()
                .table(Alias::new("person_merges"))
                .value(Alias::new("survivor_id"), survivor_id)
                .and_where(Expr::col(Alias::new("survivor_id")).eq(duplicate_id))
                .to_owned(),
        );
        w.defer(
            &Query::insert()
                .into_table(Alias::new("person_merges"))
                .columns(["duplicate_id", "survivor_id", "revision", "merge_time"].map(Alias::new))
                .values([
                    duplicate_id.into(),
                    survivor_id.into(),
                    w.revision.into(),
                    w.now_micros().into(),
                ])
                .map_err(|e| Error::Internal(e.to_string()))?
                .to_owned(),
        );
        let merged = rewrite(&mut w, &survivor, fields).await?;
        if let Some(key) = &key {
            w.remember(key, &vec![merged.clone()])?;
        }
        w.commit().await?;
        Ok(merged)
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

/// What a new person's rows need that its fields alone decide: its name keys and its
/// candidate search's keys. Computed before the write takes the writer's turn where the
/// fields are known then (a batch's transliterations run beside another write, not inside
/// the one writer's time).
pub(super) struct Keys {
    names: Vec<String>,
    matching: MatchKeys,
}

impl Keys {
    /// `duplicate_search`: the store's (`StoreOptions::duplicate_search`); without it the
    /// candidate search's keys are not needed.
    pub(super) fn of(f: &PersonFields, duplicate_search: bool) -> Self {
        Keys {
            names: name_keys(f),
            matching: if duplicate_search {
                MatchKeys::of(f)
            } else {
                MatchKeys::default()
            },
        }
    }
}

/// Inserts new persons (references and external ids checked) in `w`: their rows, link rows,
/// name keys, external ids, the change log. `keys[i]` are `persons[i]`'s.
pub(super) async fn insert_new(
    w: &mut Write,
    persons: &[Person],
    keys: &[Keys],
) -> Result<(), Error> {
    if keys.len() != persons.len() {
        return Err(Error::Internal("keys do not match the persons".into()));
    }
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
    let rows: Vec<(&str, &str)> = persons
        .iter()
        .zip(keys)
        .flat_map(|(p, k)| {
            let id = p.meta.id.as_str();
            k.names.iter().map(move |k| (id, k.as_str()))
        })
        .collect();
    links::insert(w, PERSON_NAME_KEYS, &rows)?;
    insert_external_ids(w, persons).await?;
    let written: Vec<duplicates::Written> = persons
        .iter()
        .zip(keys)
        .map(|(person, k)| duplicates::Written {
            person,
            previous: None,
            keys: &k.matching,
        })
        .collect();
    duplicates::index(w, &written).await?;
    for p in persons {
        w.log(Operation::Created, p, None)?;
    }
    Ok(())
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
    let keys = Keys::of(&fields, w.duplicate_search);
    let names_changed = keys.names != name_keys(&current.fields);
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
        links::replace(w, PERSON_NAME_KEYS, id, &keys.names)?;
    }
    if ids_changed {
        let external = external::keys(&p.fields.external_ids);
        links::replace(w, PERSON_EXTERNAL_IDS, id, &external)?;
    }
    if p.fields.restricted != current.fields.restricted {
        event_rows::mirror_restricted(w, id, p.fields.restricted).await?;
    }
    let written = duplicates::Written {
        person: &p,
        previous: Some(&current.fields),
        keys: &keys.matching,
    };
    duplicates::index(w, &[written]).await?;
    w.log(Operation::Updated, &p, Some(current))?;
    Ok(p)
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

/// Adds to `into` each of `from` it does not hold yet.
fn union<T: PartialEq + Clone>(into: &mut Vec<T>, from: &[T]) {
    for x in from {
        if !into.contains(x) {
            into.push(x.clone());
        }
    }
}

/// "Family Given Patronymic", as an alias holds a whole name.
fn full_name(f: &PersonFields) -> String {
    [&f.family_name, &f.given_name, &f.patronymic]
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
