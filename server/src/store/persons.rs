//! Persons: queries and mutations, and the derived figures computed as they are read.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, JoinType,
    QueryFilter, QueryResult, QuerySelect, RelationTrait,
};

use super::{
    Page, Store,
    categories::{check_etag, micros, time},
    entity::{
        category_link::{NAME_KEY_COLUMNS, PERSON_CATEGORIES, PERSON_NAME_KEYS},
        exchange, person,
    },
    exchanges::{self, json_list},
    links,
    list::{Field, FieldType, ListQuery, Resource, enum_type},
    write::{IdempotencyKey, Operation, to_json},
};
use crate::domain::{
    Aftercare, CareStatus, Error, Meta, Person, PersonFields, PersonKind, PersonStatus, RankGroup,
    ResourceType, ServiceBranch, Sex, Violations, WireEnum, mask, new_id, translit,
};

pub const RESOURCE: Resource = Resource {
    name: "persons",
    table: "persons",
    fields: &[
        Field::new("id", FieldType::Id),
        Field::new("kind", enum_type::<PersonKind>()),
        Field::new("family_name", FieldType::Text),
        Field::new("given_name", FieldType::Text),
        Field::new("patronymic", FieldType::Text),
        Field::new("date_of_birth", FieldType::Date).nullable(),
        Field::new("place_of_birth", FieldType::Text),
        Field::new("sex", enum_type::<Sex>()),
        Field::new("citizenship", FieldType::Text),
        Field::new("service", enum_type::<ServiceBranch>()),
        Field::new("rank", FieldType::Text),
        Field::new("rank_group", enum_type::<RankGroup>()),
        Field::new("unit", FieldType::Text),
        Field::new("service_number", FieldType::Text),
        Field::new("capture_date", FieldType::Date).nullable(),
        Field::new("capture_region", FieldType::Text),
        Field::new("status", enum_type::<PersonStatus>()),
        Field::new("exchange_id", FieldType::Id).nullable(),
        Field::new("convicted_in_captivity", FieldType::Bool),
        Field::new("restricted", FieldType::Bool).unindexed(),
        Field::new(
            "category_codes",
            FieldType::Codes {
                link_table: PERSON_CATEGORIES,
                owner: "person_id",
            },
        ),
        Field::new(
            "name",
            FieldType::NameKeys {
                table: PERSON_NAME_KEYS,
                owner: "person_id",
            },
        ),
        Field::new("aftercare.medical_examination", enum_type::<CareStatus>())
            .column("aftercare_medical_examination"),
        Field::new("aftercare.rehabilitation", enum_type::<CareStatus>())
            .column("aftercare_rehabilitation"),
        Field::new("aftercare.payments", enum_type::<CareStatus>()).column("aftercare_payments"),
        Field::new("create_time", FieldType::Time),
        Field::new("update_time", FieldType::Time),
    ],
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
    pub async fn create_persons(
        &self,
        batch: Vec<PersonFields>,
        request_id: Option<String>,
        shape: CreateShape,
    ) -> Result<Vec<Person>, Error> {
        let key = request_id
            .map(|id| IdempotencyKey::new(shape.method(), id, &batch))
            .transpose()?;
        let mut w = self.begin_write().await?;
        if let Some(key) = &key
            && let Some(done) = w.recall::<Vec<Person>>(key).await?
        {
            return Ok(done);
        }
        let dates = check_references(&w.txn, batch.iter().enumerate(), shape).await?;
        let today = today();
        let persons: Vec<Person> = batch
            .into_iter()
            .map(|fields| {
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
            })
            .collect();
        // 28 columns a row: chunks of 500 stay under SQLite's bound-parameter limit.
        for chunk in persons.chunks(500) {
            let models = chunk
                .iter()
                .map(|p| to_model(p).map(person::ActiveModel::from))
                .collect::<Result<Vec<_>, _>>()?;
            person::Entity::insert_many(models)
                .exec_without_returning(&w.txn)
                .await?;
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
        links::insert(&w, PERSON_CATEGORIES, "person_id", &rows).await?;
        let keys: Vec<(&str, Vec<String>)> = persons
            .iter()
            .map(|p| (p.meta.id.as_str(), name_keys(&p.fields)))
            .collect();
        let rows: Vec<(&str, &str)> = keys
            .iter()
            .flat_map(|(id, ks)| ks.iter().map(move |k| (*id, k.as_str())))
            .collect();
        links::insert_pairs(&w, PERSON_NAME_KEYS, NAME_KEY_COLUMNS, &rows).await?;
        for p in &persons {
            w.log(
                ResourceType::Person,
                &p.meta.id,
                Operation::Created,
                p,
                None,
            )?;
        }
        if let Some(key) = &key {
            w.remember(key, &persons).await?;
        }
        w.commit().await?;
        Ok(persons)
    }

    /// The person, unless the caller may not see it (restricted): then NOT_FOUND, exactly as
    /// if there were none.
    pub async fn get_person(&self, id: &str) -> Result<Person, Error> {
        self.visible(find(&self.reader, id).await?)
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

    pub async fn list_persons(&self, q: &ListQuery) -> Result<Page<Person>, Error> {
        let txn = self.read().await?;
        let revision = super::current_revision(&txn).await?;
        let (items, next_page_token) = list_in(&txn, q, self.sees_restricted()).await?;
        Ok(Page {
            items,
            next_page_token,
            revision,
        })
    }

    pub async fn update_person(
        &self,
        id: &str,
        etag: Option<&str>,
        incoming: &PersonFields,
        paths: &[String],
    ) -> Result<Person, Error> {
        let mut w = self.begin_write().await?;
        let current = self.visible(find(&w.txn, id).await?)?;
        check_etag(&current.meta, etag, "person")?;
        let mut fields = current.fields.clone();
        mask::apply(&mut fields, incoming, paths, "person")?;
        let today = today();
        let fields = fields.validate(today).map_err(|e| e.prefixed("person"))?;
        if fields == current.fields {
            return Ok(current);
        }
        let codes_changed = fields.category_codes != current.fields.category_codes;
        let keys = name_keys(&fields);
        let names_changed = keys != name_keys(&current.fields);
        let dates = check_references(&w.txn, [(0, &fields)], CreateShape::Single).await?;
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
            derived: fields.derive(exchange_date, today),
            fields,
        };
        person::Entity::update(person::ActiveModel::from(to_model(&p)?).reset_all())
            .exec(&w.txn)
            .await?;
        if codes_changed {
            links::replace(
                &w,
                PERSON_CATEGORIES,
                "person_id",
                id,
                &p.fields.category_codes,
            )
            .await?;
        }
        if names_changed {
            links::replace_pairs(&w, PERSON_NAME_KEYS, NAME_KEY_COLUMNS, id, &keys).await?;
        }
        w.log(
            ResourceType::Person,
            id,
            Operation::Updated,
            &p,
            Some(&current),
        )?;
        w.commit().await?;
        Ok(p)
    }

    pub async fn delete_person(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
        let mut w = self.begin_write().await?;
        let current = self.visible(find(&w.txn, id).await?)?;
        check_etag(&current.meta, etag, "person")?;
        links::replace(&w, PERSON_CATEGORIES, "person_id", id, &[]).await?;
        links::replace_pairs(&w, PERSON_NAME_KEYS, NAME_KEY_COLUMNS, id, &[]).await?;
        person::Entity::delete_by_id(id).exec(&w.txn).await?;
        w.log(ResourceType::Person, id, Operation::Deleted, &current, None)?;
        w.commit().await
    }
}

/// One page of persons, read in `conn`.
pub(super) async fn list_in<C: ConnectionTrait>(
    conn: &C,
    q: &ListQuery,
    include_restricted: bool,
) -> Result<(Vec<Person>, Option<String>), Error> {
    let mut select = person::Entity::find();
    if !include_restricted {
        select = select.filter(person::Column::Restricted.eq(false));
    }
    let (rows, next) = RESOURCE.page(conn, select, q).await?;
    Ok((with_derived(conn, rows).await?, next))
}

/// Checks that every exchange id and category code exists (two queries for the whole batch);
/// returns the dates of the referenced exchanges.
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
    let dates = exchanges::dates(conn, exchange_ids).await?;
    let codes = links::existing_codes(
        conn,
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

/// A person row with its exchange's date (for the derived figures), read in one statement.
struct PersonRow {
    person: person::Model,
    exchange_date: Option<NaiveDate>,
}

impl FromQueryResult for PersonRow {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        Ok(PersonRow {
            person: person::Model::from_query_result(res, pre)?,
            exchange_date: res.try_get(pre, EXCHANGE_DATE)?,
        })
    }
}

const EXCHANGE_DATE: &str = "hc_exchange_date";

/// One person by id: one statement (the exchange's date joined), and no `LIMIT` (the key is
/// unique): SQLite re-prepares a statement whose `LIMIT` is a bound value at every call.
async fn find<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Person, Error> {
    let row = person::Entity::find()
        .filter(person::Column::Id.eq(id))
        .join(JoinType::LeftJoin, person::Relation::Exchange.def())
        .column_as(exchange::Column::ExchangeDate, EXCHANGE_DATE)
        .into_model::<PersonRow>()
        .all(conn)
        .await?
        .pop()
        .ok_or_else(|| Error::NotFound {
            resource: "person",
            id: id.to_owned(),
        })?;
    derive(row.person, row.exchange_date, today())
}

fn derive(
    m: person::Model,
    exchange_date: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Person, Error> {
    let (meta, fields) = from_model(m)?;
    Ok(Person {
        derived: fields.derive(exchange_date, today),
        meta,
        fields,
    })
}

/// Converts rows and computes their derived figures (one query for the exchange dates).
async fn with_derived<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<person::Model>,
) -> Result<Vec<Person>, Error> {
    let dates = exchanges::dates(conn, rows.iter().filter_map(|r| r.exchange_id.clone())).await?;
    let today = today();
    rows.into_iter()
        .map(|m| {
            let exchange_date = m.exchange_id.as_ref().and_then(|x| dates.get(x)).copied();
            derive(m, exchange_date, today)
        })
        .collect()
}

fn name_keys(f: &PersonFields) -> Vec<String> {
    translit::person_keys(&f.family_name, &f.given_name, &f.patronymic)
}

fn to_model(p: &Person) -> Result<person::Model, Error> {
    let f = &p.fields;
    Ok(person::Model {
        id: p.meta.id.clone(),
        kind: f.kind.code(),
        family_name: f.family_name.clone(),
        given_name: f.given_name.clone(),
        patronymic: f.patronymic.clone(),
        date_of_birth: f.date_of_birth,
        place_of_birth: f.place_of_birth.clone(),
        sex: f.sex.code(),
        citizenship: f.citizenship.clone(),
        service: f.service.code(),
        rank: f.rank.clone(),
        rank_group: f.rank_group.code(),
        unit: f.unit.clone(),
        service_number: f.service_number.clone(),
        capture_date: f.capture_date,
        capture_region: f.capture_region.clone(),
        status: f.status.code(),
        exchange_id: f.exchange_id.clone(),
        convicted_in_captivity: f.convicted_in_captivity,
        category_codes: to_json(&f.category_codes)?,
        aftercare_medical_examination: f.aftercare.medical_examination.code(),
        aftercare_rehabilitation: f.aftercare.rehabilitation.code(),
        aftercare_payments: f.aftercare.payments.code(),
        notes: f.notes.clone(),
        restricted: f.restricted,
        create_time: micros(p.meta.create_time),
        update_time: micros(p.meta.update_time),
        revision: p.meta.revision,
    })
}

fn from_model(m: person::Model) -> Result<(Meta, PersonFields), Error> {
    let care = |c| CareStatus::from_code(c).unwrap_or_default();
    Ok((
        Meta {
            id: m.id,
            create_time: time(m.create_time),
            update_time: time(m.update_time),
            revision: m.revision,
        },
        PersonFields {
            kind: PersonKind::from_code(m.kind).unwrap_or_default(),
            family_name: m.family_name,
            given_name: m.given_name,
            patronymic: m.patronymic,
            date_of_birth: m.date_of_birth,
            place_of_birth: m.place_of_birth,
            sex: Sex::from_code(m.sex).unwrap_or_default(),
            citizenship: m.citizenship,
            service: ServiceBranch::from_code(m.service).unwrap_or_default(),
            rank: m.rank,
            rank_group: RankGroup::from_code(m.rank_group).unwrap_or_default(),
            unit: m.unit,
            service_number: m.service_number,
            capture_date: m.capture_date,
            capture_region: m.capture_region,
            status: PersonStatus::from_code(m.status).unwrap_or_default(),
            exchange_id: m.exchange_id,
            convicted_in_captivity: m.convicted_in_captivity,
            category_codes: json_list(&m.category_codes)?,
            aftercare: Aftercare {
                medical_examination: care(m.aftercare_medical_examination),
                rehabilitation: care(m.aftercare_rehabilitation),
                payments: care(m.aftercare_payments),
            },
            notes: m.notes,
            restricted: m.restricted,
        },
    ))
}
