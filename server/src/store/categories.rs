//! Categories: queries and mutations.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};

use super::{
    Page, Store, Unique,
    entity::{category, category_link},
    links,
    list::{Field, FieldType, ListQuery, Resource, enum_type},
    unique_violation,
    write::{IdempotencyKey, Operation},
};
use crate::domain::{
    Category, CategoryFields, CategoryKind, Error, Meta, ResourceType, WireEnum, mask, new_id,
};

pub const RESOURCE: Resource = Resource {
    name: "categories",
    table: "categories",
    fields: &[
        Field::new("id", FieldType::Id),
        Field::new("code", FieldType::Text),
        Field::new("title", FieldType::Text),
        Field::new("kind", enum_type::<CategoryKind>()),
        Field::new("create_time", FieldType::Time),
        Field::new("update_time", FieldType::Time),
    ],
};

impl Store {
    /// Creates a category from validated fields.
    pub async fn create_category(
        &self,
        fields: CategoryFields,
        request_id: Option<String>,
    ) -> Result<Category, Error> {
        let key = request_id
            .map(|id| IdempotencyKey::new("CreateCategory", id, &fields))
            .transpose()?;
        let mut w = self.begin_write().await?;
        if let Some(key) = &key
            && let Some(done) = w.recall::<Category>(key).await?
        {
            return Ok(done);
        }
        let taken = category::Entity::find()
            .filter(category::Column::Code.eq(fields.code.as_str()))
            .unique(&w.txn)
            .await?;
        if taken.is_some() {
            return Err(already_exists(&fields.code));
        }
        let c = Category {
            meta: Meta {
                id: new_id(),
                create_time: w.now,
                update_time: w.now,
                revision: w.revision,
            },
            fields,
        };
        category::Entity::insert(category::ActiveModel::from(to_model(&c)))
            .exec_without_returning(&w.txn)
            .await
            .map_err(|e| {
                if unique_violation(&e) {
                    already_exists(&c.fields.code)
                } else {
                    e.into()
                }
            })?;
        w.log(
            ResourceType::Category,
            &c.meta.id,
            Operation::Created,
            &c,
            None,
        )?;
        if let Some(key) = &key {
            w.remember(key, &c).await?;
        }
        w.commit().await?;
        Ok(c)
    }

    pub async fn get_category(&self, id: &str) -> Result<Category, Error> {
        category::Entity::find_by_id(id)
            .unique(&self.reader)
            .await?
            .map(from_model)
            .ok_or_else(|| not_found(id))
    }

    pub async fn list_categories(&self, q: &ListQuery) -> Result<Page<Category>, Error> {
        let txn = self.read().await?;
        let revision = super::current_revision(&txn).await?;
        let (items, next_page_token) = list_in(&txn, q).await?;
        Ok(Page {
            items,
            next_page_token,
            revision,
        })
    }

    /// Applies `incoming` through `paths` (AIP-134) to the category `id`.
    pub async fn update_category(
        &self,
        id: &str,
        etag: Option<&str>,
        incoming: &CategoryFields,
        paths: &[String],
    ) -> Result<Category, Error> {
        let mut w = self.begin_write().await?;
        let current = category::Entity::find_by_id(id)
            .unique(&w.txn)
            .await?
            .map(from_model)
            .ok_or_else(|| not_found(id))?;
        check_etag(&current.meta, etag, "category")?;
        let mut fields = current.fields.clone();
        mask::apply(&mut fields, incoming, paths, "category")?;
        let fields = fields.validate().map_err(|e| e.prefixed("category"))?;
        if fields == current.fields {
            return Ok(current);
        }
        let c = Category {
            meta: Meta {
                update_time: w.now,
                revision: w.revision,
                ..current.meta.clone()
            },
            fields,
        };
        category::Entity::update(category::ActiveModel::from(to_model(&c)).reset_all())
            .exec(&w.txn)
            .await?;
        w.log(
            ResourceType::Category,
            &c.meta.id,
            Operation::Updated,
            &c,
            Some(&current),
        )?;
        w.commit().await?;
        Ok(c)
    }

    /// Deletes an unused category.
    pub async fn delete_category(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
        let mut w = self.begin_write().await?;
        let current = category::Entity::find_by_id(id)
            .unique(&w.txn)
            .await?
            .map(from_model)
            .ok_or_else(|| not_found(id))?;
        check_etag(&current.meta, etag, "category")?;
        let code = current.fields.code.as_str();
        for (table, what) in [
            (category_link::EXCHANGE_CATEGORIES, "exchanges"),
            (category_link::PERSON_CATEGORIES, "persons"),
        ] {
            if links::any_reference(&w.txn, table, "category_code", code).await? {
                return Err(Error::FailedPrecondition {
                    reason: "CATEGORY_IN_USE",
                    message: format!(
                        "category {code:?} is used by {what}; remove it from them first"
                    ),
                });
            }
        }
        category::Entity::delete_by_id(id).exec(&w.txn).await?;
        w.log(
            ResourceType::Category,
            id,
            Operation::Deleted,
            &current,
            None,
        )?;
        w.commit().await
    }
}

/// One page of categories, read in `conn`.
pub(super) async fn list_in<C: sea_orm::ConnectionTrait>(
    conn: &C,
    q: &ListQuery,
) -> Result<(Vec<Category>, Option<String>), Error> {
    let (rows, next) = RESOURCE.page(conn, category::Entity::find(), q).await?;
    Ok((rows.into_iter().map(from_model).collect(), next))
}

/// ABORTED when `sent` is given and is not the current etag.
pub(super) fn check_etag(
    meta: &Meta,
    sent: Option<&str>,
    resource: &'static str,
) -> Result<(), Error> {
    match sent {
        Some(sent) if sent != meta.etag() => Err(Error::EtagMismatch {
            resource,
            id: meta.id.clone(),
            sent: sent.to_owned(),
            current: meta.etag(),
        }),
        _ => Ok(()),
    }
}

fn not_found(id: &str) -> Error {
    Error::NotFound {
        resource: "category",
        id: id.to_owned(),
    }
}

fn already_exists(code: &str) -> Error {
    Error::AlreadyExists {
        resource: "category",
        field: "category.code",
        value: code.to_owned(),
    }
}

pub(super) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(super) fn time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

fn to_model(c: &Category) -> category::Model {
    category::Model {
        id: c.meta.id.clone(),
        code: c.fields.code.clone(),
        title: c.fields.title.clone(),
        description: c.fields.description.clone(),
        kind: c.fields.kind.code(),
        create_time: micros(c.meta.create_time),
        update_time: micros(c.meta.update_time),
        revision: c.meta.revision,
    }
}

fn from_model(m: category::Model) -> Category {
    Category {
        meta: Meta {
            id: m.id,
            create_time: time(m.create_time),
            update_time: time(m.update_time),
            revision: m.revision,
        },
        fields: CategoryFields {
            code: m.code,
            title: m.title,
            description: m.description,
            kind: CategoryKind::from_code(m.kind).unwrap_or_default(),
        },
    }
}
