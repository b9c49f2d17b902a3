//! Exchanges: queries and mutations.

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait};

use super::{
    Page, Store, Unique,
    categories::{check_etag, micros, time},
    entity::{category_link::EXCHANGE_CATEGORIES, exchange},
    links,
    list::{Field, FieldType, ListQuery, Resource, enum_type},
    write::{IdempotencyKey, Operation, to_json},
};
use crate::domain::{
    Error, Exchange, ExchangeFields, ExchangeStatus, Meta, ResourceType, Violations, WireEnum,
    mask, new_id,
};

pub const RESOURCE: Resource = Resource {
    name: "exchanges",
    table: "exchanges",
    fields: &[
        Field::new("id", FieldType::Id),
        Field::new("title", FieldType::Text),
        Field::new("exchange_date", FieldType::Date),
        Field::new("status", enum_type::<ExchangeStatus>()),
        Field::new("exchange_number", FieldType::Int).nullable(),
        Field::new("stage_number", FieldType::Int).nullable(),
        Field::new("framework", FieldType::Text),
        Field::new("counterparty", FieldType::Text),
        Field::new("location", FieldType::Text),
        Field::new("announced_returned_count", FieldType::Int).nullable(),
        Field::new("announced_handed_over_count", FieldType::Int).nullable(),
        Field::new(
            "category_codes",
            FieldType::Codes {
                link_table: EXCHANGE_CATEGORIES,
                owner: "exchange_id",
            },
        ),
        Field::new("create_time", FieldType::Time),
        Field::new("update_time", FieldType::Time),
    ],
};

impl Store {
    /// Creates an exchange from validated fields; unknown category codes are INVALID_ARGUMENT.
    pub async fn create_exchange(
        &self,
        fields: ExchangeFields,
        request_id: Option<String>,
    ) -> Result<Exchange, Error> {
        let key = request_id
            .map(|id| IdempotencyKey::new("CreateExchange", id, &fields))
            .transpose()?;
        let mut w = self.begin_write().await?;
        if let Some(key) = &key
            && let Some(done) = w.recall::<Exchange>(key).await?
        {
            return Ok(done);
        }
        check_codes(&w.txn, &fields.category_codes).await?;
        let x = Exchange {
            meta: Meta {
                id: new_id(),
                create_time: w.now,
                update_time: w.now,
                revision: w.revision,
            },
            fields,
        };
        exchange::Entity::insert(exchange::ActiveModel::from(to_model(&x)?))
            .exec_without_returning(&w.txn)
            .await?;
        let rows: Vec<(&str, &str)> = x
            .fields
            .category_codes
            .iter()
            .map(|c| (x.meta.id.as_str(), c.as_str()))
            .collect();
        links::insert(&w, EXCHANGE_CATEGORIES, "exchange_id", &rows).await?;
        w.log(
            ResourceType::Exchange,
            &x.meta.id,
            Operation::Created,
            &x,
            None,
        )?;
        if let Some(key) = &key {
            w.remember(key, &x).await?;
        }
        w.commit().await?;
        Ok(x)
    }

    pub async fn get_exchange(&self, id: &str) -> Result<Exchange, Error> {
        find(&self.reader, id).await
    }

    pub async fn list_exchanges(&self, q: &ListQuery) -> Result<Page<Exchange>, Error> {
        let txn = self.read().await?;
        let revision = super::current_revision(&txn).await?;
        let (items, next_page_token) = list_in(&txn, q).await?;
        Ok(Page {
            items,
            next_page_token,
            revision,
        })
    }

    pub async fn update_exchange(
        &self,
        id: &str,
        etag: Option<&str>,
        incoming: &ExchangeFields,
        paths: &[String],
    ) -> Result<Exchange, Error> {
        let mut w = self.begin_write().await?;
        let current = find(&w.txn, id).await?;
        check_etag(&current.meta, etag, "exchange")?;
        let mut fields = current.fields.clone();
        mask::apply(&mut fields, incoming, paths, "exchange")?;
        let fields = fields.validate().map_err(|e| e.prefixed("exchange"))?;
        if fields == current.fields {
            return Ok(current);
        }
        let codes_changed = fields.category_codes != current.fields.category_codes;
        if codes_changed {
            check_codes(&w.txn, &fields.category_codes).await?;
        }
        let x = Exchange {
            meta: Meta {
                update_time: w.now,
                revision: w.revision,
                ..current.meta.clone()
            },
            fields,
        };
        exchange::Entity::update(exchange::ActiveModel::from(to_model(&x)?).reset_all())
            .exec(&w.txn)
            .await?;
        if codes_changed {
            links::replace(
                &w,
                EXCHANGE_CATEGORIES,
                "exchange_id",
                id,
                &x.fields.category_codes,
            )
            .await?;
        }
        w.log(
            ResourceType::Exchange,
            id,
            Operation::Updated,
            &x,
            Some(&current),
        )?;
        w.commit().await?;
        Ok(x)
    }

    /// Deletes an exchange that no person references.
    pub async fn delete_exchange(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
        let mut w = self.begin_write().await?;
        let current = find(&w.txn, id).await?;
        check_etag(&current.meta, etag, "exchange")?;
        if links::any_reference(&w.txn, "persons", "exchange_id", id).await? {
            return Err(Error::FailedPrecondition {
                reason: "EXCHANGE_IN_USE",
                message: format!(
                    "exchange {id:?} is referenced by persons; unlink them (person.exchange_id) first"
                ),
            });
        }
        // Link rows go with the exchange (ON DELETE CASCADE); deleting them first keeps SQLite
        // and PostgreSQL identical even where cascades are off.
        links::replace(&w, EXCHANGE_CATEGORIES, "exchange_id", id, &[]).await?;
        exchange::Entity::delete_by_id(id).exec(&w.txn).await?;
        w.log(
            ResourceType::Exchange,
            id,
            Operation::Deleted,
            &current,
            None,
        )?;
        w.commit().await
    }
}

/// One page of exchanges, read in `conn`.
pub(super) async fn list_in<C: ConnectionTrait>(
    conn: &C,
    q: &ListQuery,
) -> Result<(Vec<Exchange>, Option<String>), Error> {
    let (rows, next) = RESOURCE.page(conn, exchange::Entity::find(), q).await?;
    Ok((
        rows.into_iter().map(from_model).collect::<Result<_, _>>()?,
        next,
    ))
}

/// The date of each of these exchanges (for derived person fields).
pub(super) async fn dates<C: ConnectionTrait>(
    conn: &C,
    ids: impl IntoIterator<Item = String>,
) -> Result<std::collections::HashMap<String, NaiveDate>, Error> {
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, NaiveDate)> = exchange::Entity::find()
            .select_only()
            .column(exchange::Column::Id)
            .column(exchange::Column::ExchangeDate)
            .filter(exchange::Column::Id.is_in(chunk.iter().map(String::as_str)))
            .into_tuple()
            .all(conn)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

async fn check_codes<C: ConnectionTrait>(conn: &C, codes: &[String]) -> Result<(), Error> {
    let existing = links::existing_codes(conn, codes).await?;
    let mut v = Violations::new();
    links::unknown_codes(&mut v, "exchange.", codes, &existing);
    v.finish(())
}

async fn find<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Exchange, Error> {
    exchange::Entity::find_by_id(id)
        .unique(conn)
        .await?
        .map(from_model)
        .transpose()?
        .ok_or_else(|| Error::NotFound {
            resource: "exchange",
            id: id.to_owned(),
        })
}

fn to_model(x: &Exchange) -> Result<exchange::Model, Error> {
    let f = &x.fields;
    Ok(exchange::Model {
        id: x.meta.id.clone(),
        title: f.title.clone(),
        exchange_date: f
            .exchange_date
            .ok_or_else(|| Error::invalid("exchange.exchange_date", "is required"))?,
        status: f.status.code(),
        exchange_number: f.exchange_number,
        stage_number: f.stage_number,
        framework: f.framework.clone(),
        counterparty: f.counterparty.clone(),
        mediators: to_json(&f.mediators)?,
        location: f.location.clone(),
        announced_returned_count: f.announced_returned_count,
        announced_handed_over_count: f.announced_handed_over_count,
        category_codes: to_json(&f.category_codes)?,
        source_urls: to_json(&f.source_urls)?,
        notes: f.notes.clone(),
        create_time: micros(x.meta.create_time),
        update_time: micros(x.meta.update_time),
        revision: x.meta.revision,
    })
}

pub(super) fn json_list(s: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(s).map_err(|e| Error::Internal(format!("stored list: {e}")))
}

fn from_model(m: exchange::Model) -> Result<Exchange, Error> {
    Ok(Exchange {
        meta: Meta {
            id: m.id,
            create_time: time(m.create_time),
            update_time: time(m.update_time),
            revision: m.revision,
        },
        fields: ExchangeFields {
            title: m.title,
            exchange_date: Some(m.exchange_date),
            status: ExchangeStatus::from_code(m.status).unwrap_or_default(),
            exchange_number: m.exchange_number,
            stage_number: m.stage_number,
            framework: m.framework,
            counterparty: m.counterparty,
            mediators: json_list(&m.mediators)?,
            location: m.location,
            announced_returned_count: m.announced_returned_count,
            announced_handed_over_count: m.announced_handed_over_count,
            category_codes: json_list(&m.category_codes)?,
            source_urls: json_list(&m.source_urls)?,
            notes: m.notes,
        },
    })
}
