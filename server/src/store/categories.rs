//! Categories: queries and mutations.

use sea_orm::{ConnectionTrait, sea_query::ExprTrait};

use super::{
    ListQuery, Page, Store,
    codec::{Rows, check_etag, unique_row},
    links, record,
    schema::{CATEGORIES, EXCHANGE_CATEGORIES, PERSON_CATEGORIES},
    unique_violation,
    write::{IdempotencyKey, Operation},
};
use crate::domain::{CATEGORY, Category, CategoryFields, Error, Meta, new_id, schema::Mask};

pub(super) const ROWS: Rows<CategoryFields> = Rows {
    table: "categories",
    schema: &CATEGORY,
};

impl Store {
    /// Creates a category from validated fields.
    #[tracing::instrument(name = "store.create_category", skip_all)]
    pub async fn create_category(
        &self,
        fields: CategoryFields,
        request_id: Option<String>,
    ) -> Result<Category, Error> {
        let key = IdempotencyKey::of("CreateCategory", request_id, || {
            record::request_json(&fields)
        })?;
        let mut w = self.begin_write().await?;
        if let Some(key) = &key
            && let Some(done) = w.recall::<Category>(key).await?
        {
            return Ok(done);
        }
        let by_code = ROWS
            .select()
            .and_where(ROWS.col("code").eq(fields.code.as_str()))
            .to_owned();
        if unique_row(w.txn().await?, &by_code).await?.is_some() {
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
        ROWS.insert(w.txn().await?, &[(&c.meta, &c.fields)])
            .await
            .map_err(|e| {
                if unique_violation(&e) {
                    already_exists(&c.fields.code)
                } else {
                    e
                }
            })?;
        w.log(Operation::Created, &c, None)?;
        if let Some(key) = &key {
            w.remember(key, &c)?;
        }
        w.commit().await?;
        Ok(c)
    }

    #[tracing::instrument(name = "store.get_category", skip_all)]
    pub async fn get_category(&self, id: &str) -> Result<Category, Error> {
        find(&self.reader, id).await
    }

    #[tracing::instrument(name = "store.list_categories", skip_all)]
    pub async fn list_categories(&self, q: &ListQuery) -> Result<Page<Category>, Error> {
        self.read_page(async |txn| list_in(txn, q).await).await
    }

    /// Applies `incoming` through `paths` (AIP-134) to the category `id`.
    #[tracing::instrument(name = "store.update_category", skip_all)]
    pub async fn update_category(
        &self,
        id: &str,
        etag: Option<&str>,
        incoming: &CategoryFields,
        mask: &Mask,
    ) -> Result<Category, Error> {
        let mut w = self.begin_write().await?;
        let current = find(w.txn().await?, id).await?;
        check_etag(&current.meta, etag, "category")?;
        let mut fields = current.fields.clone();
        CATEGORY.apply(&mut fields, incoming, mask)?;
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
        ROWS.update(w.txn().await?, &c.meta, &c.fields).await?;
        w.log(Operation::Updated, &c, Some(&current))?;
        w.commit().await?;
        Ok(c)
    }

    /// Deletes an unused category.
    #[tracing::instrument(name = "store.delete_category", skip_all)]
    pub async fn delete_category(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
        let mut w = self.begin_write().await?;
        let current = find(w.txn().await?, id).await?;
        check_etag(&current.meta, etag, "category")?;
        let code = current.fields.code.as_str();
        for (link, what) in [
            (EXCHANGE_CATEGORIES, "exchanges"),
            (PERSON_CATEGORIES, "persons"),
        ] {
            if links::any_reference(w.txn().await?, link.table, link.value, code).await? {
                return Err(Error::FailedPrecondition {
                    reason: "CATEGORY_IN_USE",
                    message: format!(
                        "category {code:?} is used by {what}; remove it from them first"
                    ),
                });
            }
        }
        ROWS.delete(w.txn().await?, id).await?;
        w.log(Operation::Deleted, &current, None)?;
        w.commit().await
    }
}

/// One page of categories, read in `conn`.
pub(super) async fn list_in<C: ConnectionTrait>(
    conn: &C,
    q: &ListQuery,
) -> Result<(Vec<Category>, Option<String>), Error> {
    let (rows, next) = CATEGORIES.page(conn, ROWS.select(), q).await?;
    let items = rows
        .iter()
        .map(|r| {
            let (meta, fields) = ROWS.decode(r)?;
            Ok(Category { meta, fields })
        })
        .collect::<Result<_, Error>>()?;
    Ok((items, next))
}

async fn find<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Category, Error> {
    let q = ROWS.select().and_where(ROWS.col("id").eq(id)).to_owned();
    let row = unique_row(conn, &q).await?.ok_or_else(|| Error::NotFound {
        resource: "category",
        id: id.to_owned(),
    })?;
    let (meta, fields) = ROWS.decode(&row)?;
    Ok(Category { meta, fields })
}

fn already_exists(code: &str) -> Error {
    Error::AlreadyExists {
        resource: "category",
        field: "category.code".into(),
        value: code.to_owned(),
    }
}
