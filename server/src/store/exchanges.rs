//! Exchanges: queries and mutations.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{
    ConnectionTrait,
    sea_query::{Alias, Expr, ExprTrait, Query},
};

use super::{
    ListQuery, Page, Store,
    codec::{Rows, check_etag, unique_row},
    event_rows, external, links, record,
    schema::{EXCHANGE_CATEGORIES, EXCHANGE_EXTERNAL_IDS, EXCHANGES},
    write::{IdempotencyKey, Operation},
};
use crate::domain::{
    EXCHANGE, Error, Exchange, ExchangeFields, Meta, Violations, new_id, schema::Mask,
};

pub(super) const ROWS: Rows<ExchangeFields> = Rows {
    table: "exchanges",
    schema: &EXCHANGE,
};

impl Store {
    /// Creates an exchange from validated fields; unknown category codes are INVALID_ARGUMENT.
    #[tracing::instrument(name = "store.create_exchange", skip_all)]
    pub async fn create_exchange(
        &self,
        fields: ExchangeFields,
        request_id: Option<String>,
    ) -> Result<Exchange, Error> {
        let key = IdempotencyKey::of("CreateExchange", request_id, || {
            record::request_json(&fields)
        })?;
        let mut w = self.begin_write().await?;
        if let Some(key) = &key
            && let Some(done) = w.recall::<Exchange>(key).await?
        {
            return Ok(done);
        }
        check_codes(w.txn().await?, &fields.category_codes).await?;
        let claim = external::Claim {
            prefix: "exchange.".into(),
            owner: None,
            ids: &fields.external_ids,
        };
        external::check_free(w.txn().await?, EXCHANGE_EXTERNAL_IDS, "exchange", &[claim]).await?;
        let x = Exchange {
            meta: Meta {
                id: new_id(),
                create_time: w.now,
                update_time: w.now,
                revision: w.revision,
            },
            fields,
        };
        ROWS.insert(w.txn().await?, &[(&x.meta, &x.fields)]).await?;
        let rows: Vec<(&str, &str)> = x
            .fields
            .category_codes
            .iter()
            .map(|c| (x.meta.id.as_str(), c.as_str()))
            .collect();
        links::insert(&w, EXCHANGE_CATEGORIES, &rows)?;
        let keys = external::keys(&x.fields.external_ids);
        links::replace(&w, EXCHANGE_EXTERNAL_IDS, &x.meta.id, &keys)?;
        w.log(Operation::Created, &x, None)?;
        if let Some(key) = &key {
            w.remember(key, &x)?;
        }
        w.commit().await?;
        Ok(x)
    }

    #[tracing::instrument(name = "store.get_exchange", skip_all)]
    pub async fn get_exchange(&self, id: &str) -> Result<Exchange, Error> {
        find(&self.reader, id).await
    }

    /// The exchange another system calls `key` (`system/id`).
    #[tracing::instrument(name = "store.lookup_exchange", skip_all)]
    pub async fn lookup_exchange(&self, key: &str) -> Result<Exchange, Error> {
        match external::owner_of(&self.reader, EXCHANGE_EXTERNAL_IDS, key).await? {
            Some(id) => find(&self.reader, &id).await,
            None => Err(Error::NotFound {
                resource: "exchange",
                id: key.to_owned(),
            }),
        }
    }

    #[tracing::instrument(name = "store.list_exchanges", skip_all)]
    pub async fn list_exchanges(&self, q: &ListQuery) -> Result<Page<Exchange>, Error> {
        self.read_page(async |txn| list_in(txn, q).await).await
    }

    #[tracing::instrument(name = "store.update_exchange", skip_all)]
    pub async fn update_exchange(
        &self,
        id: &str,
        etag: Option<&str>,
        incoming: &ExchangeFields,
        mask: &Mask,
    ) -> Result<Exchange, Error> {
        let mut w = self.begin_write().await?;
        let current = find(w.txn().await?, id).await?;
        check_etag(&current.meta, etag, "exchange")?;
        let mut fields = current.fields.clone();
        EXCHANGE.apply(&mut fields, incoming, mask)?;
        let fields = fields.validate().map_err(|e| e.prefixed("exchange"))?;
        if fields == current.fields {
            return Ok(current);
        }
        let codes_changed = fields.category_codes != current.fields.category_codes;
        if codes_changed {
            check_codes(w.txn().await?, &fields.category_codes).await?;
        }
        let ids_changed = fields.external_ids != current.fields.external_ids;
        if ids_changed {
            let claim = external::Claim {
                prefix: "exchange.".into(),
                owner: Some(id),
                ids: &fields.external_ids,
            };
            external::check_free(w.txn().await?, EXCHANGE_EXTERNAL_IDS, "exchange", &[claim])
                .await?;
        }
        let x = Exchange {
            meta: Meta {
                update_time: w.now,
                revision: w.revision,
                ..current.meta.clone()
            },
            fields,
        };
        ROWS.update(w.txn().await?, &x.meta, &x.fields).await?;
        if codes_changed {
            links::replace(&w, EXCHANGE_CATEGORIES, id, &x.fields.category_codes)?;
        }
        if ids_changed {
            let keys = external::keys(&x.fields.external_ids);
            links::replace(&w, EXCHANGE_EXTERNAL_IDS, id, &keys)?;
        }
        w.log(Operation::Updated, &x, Some(&current))?;
        w.commit().await?;
        Ok(x)
    }

    /// Deletes an exchange that no person references.
    #[tracing::instrument(name = "store.delete_exchange", skip_all)]
    pub async fn delete_exchange(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
        let mut w = self.begin_write().await?;
        let current = find(w.txn().await?, id).await?;
        check_etag(&current.meta, etag, "exchange")?;
        if links::any_reference(w.txn().await?, "persons", "exchange_id", id).await?
            || links::any_reference(w.txn().await?, event_rows::ROWS.table, "exchange_id", id)
                .await?
        {
            return Err(Error::FailedPrecondition {
                reason: "EXCHANGE_IN_USE",
                message: format!(
                    "exchange {id:?} is referenced by persons or their events; unlink them (person.exchange_id, event.exchange_id) first"
                ),
            });
        }
        // Link rows go with the exchange (ON DELETE CASCADE); deleting them first keeps SQLite
        // and PostgreSQL identical even where cascades are off.
        links::replace(&w, EXCHANGE_CATEGORIES, id, &[])?;
        links::replace(&w, EXCHANGE_EXTERNAL_IDS, id, &[])?;
        ROWS.delete(w.txn().await?, id).await?;
        w.log(Operation::Deleted, &current, None)?;
        w.commit().await
    }
}

fn exchange_of(row: &sea_orm::QueryResult) -> Result<Exchange, Error> {
    let (meta, fields) = ROWS.decode(row)?;
    Ok(Exchange { meta, fields })
}

/// One page of exchanges, read in `conn`.
pub(super) async fn list_in<C: ConnectionTrait>(
    conn: &C,
    q: &ListQuery,
) -> Result<(Vec<Exchange>, Option<String>), Error> {
    let (rows, next) = EXCHANGES.page(conn, ROWS.select(), q).await?;
    let items = rows.iter().map(exchange_of).collect::<Result<_, _>>()?;
    Ok((items, next))
}

/// Every exchange `filter` selects, in `order`.
pub(super) async fn all<C: ConnectionTrait>(
    conn: &C,
    select: sea_orm::sea_query::SelectStatement,
) -> Result<Vec<Exchange>, Error> {
    conn.query_all(&select)
        .await?
        .iter()
        .map(exchange_of)
        .collect()
}

/// The date of each of these exchanges (for derived person fields).
pub(super) async fn dates<C: ConnectionTrait>(
    conn: &C,
    ids: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, NaiveDate>, Error> {
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let q = Query::select()
            .columns([Alias::new("id"), Alias::new("exchange_date")])
            .from(Alias::new(ROWS.table))
            .and_where(Expr::col(Alias::new("id")).is_in(chunk.iter().map(String::as_str)))
            .to_owned();
        for row in conn.query_all(&q).await? {
            out.insert(row.try_get("", "id")?, row.try_get("", "exchange_date")?);
        }
    }
    Ok(out)
}

/// What a write's references resolve to: the dates of the exchanges found, and the category
/// codes found.
pub(super) struct References {
    pub dates: HashMap<String, NaiveDate>,
    pub codes: HashSet<String>,
}

/// Looks up exchange ids and category codes together: in one statement when each fits a
/// chunk of 500 (a create's usual case: one hand-off to the writer instead of two), chunk by
/// chunk otherwise.
pub(super) async fn references<'a, C: ConnectionTrait>(
    conn: &C,
    ids: impl IntoIterator<Item = String>,
    codes: impl IntoIterator<Item = &'a String>,
) -> Result<References, Error> {
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    let mut codes: Vec<&String> = codes.into_iter().collect();
    codes.sort();
    codes.dedup();
    if ids.is_empty() || codes.is_empty() || ids.len() > 500 || codes.len() > 500 {
        return Ok(References {
            dates: dates(conn, ids).await?,
            codes: links::existing_codes(conn, codes).await?,
        });
    }
    // `what` tells the two apart: 0 an exchange (with its date), 1 a category (no date; the
    // exchanges' part comes first, so the column's type is the date's).
    let mut q = Query::select()
        .expr_as(Expr::cust("0"), Alias::new("what"))
        .expr_as(Expr::col(Alias::new("id")), Alias::new("found"))
        .expr_as(Expr::col(Alias::new("exchange_date")), Alias::new("day"))
        .from(Alias::new(ROWS.table))
        .and_where(Expr::col(Alias::new("id")).is_in(ids.iter().map(String::as_str)))
        .to_owned();
    q.union(
        sea_orm::sea_query::UnionType::All,
        Query::select()
            .expr_as(Expr::cust("1"), Alias::new("what"))
            .expr_as(Expr::col(Alias::new("code")), Alias::new("found"))
            .expr_as(Expr::cust("NULL"), Alias::new("day"))
            .from(Alias::new("categories"))
            .and_where(Expr::col(Alias::new("code")).is_in(codes.iter().map(|c| c.as_str())))
            .to_owned(),
    );
    let mut out = References {
        dates: HashMap::new(),
        codes: HashSet::new(),
    };
    for row in conn.query_all(&q).await? {
        let found: String = row.try_get("", "found")?;
        match (row.try_get::<i32>("", "what")?, row.try_get("", "day")?) {
            (0, Some(day)) => {
                out.dates.insert(found, day);
            }
            (1, _) => {
                out.codes.insert(found);
            }
            _ => return Err(Error::Internal(format!("exchange {found} has no date"))),
        }
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
    let q = ROWS.select().and_where(ROWS.col("id").eq(id)).to_owned();
    let row = unique_row(conn, &q).await?.ok_or_else(|| Error::NotFound {
        resource: "exchange",
        id: id.to_owned(),
    })?;
    exchange_of(&row)
}
