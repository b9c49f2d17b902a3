//! Persons as read: the row codec, one person or a page with the derived figures computed as
//! they are read, what a caller may see of them, and where a merged-away id leads. Below the
//! person writes (`persons`) and the candidate index (`duplicates`), which both read through it.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ConnectionTrait, QueryResult,
    sea_query::{self, Alias, Expr, ExprTrait, JoinType, SelectStatement, Values},
};

use super::{
    ListQuery, Store,
    codec::{Cells, Rows, unique_row},
    direct::{DirectReads, FixedSql, sqlite_text},
    exchanges,
    schema::PERSONS,
};
use crate::domain::{Error, PERSON, Person, PersonFields};

pub(super) const ROWS: Rows<PersonFields> = Rows {
    table: "persons",
    schema: &PERSON,
};

pub(super) fn today() -> NaiveDate {
    Utc::now().date_naive()
}

impl Store {
    pub(super) fn visible(&self, p: Person) -> Result<Person, Error> {
        if p.fields.restricted && !self.sees_restricted() {
            return Err(Error::NotFound {
                resource: "person",
                id: p.meta.id,
            });
        }
        Ok(p)
    }

    /// The person as [`Store::get_person`] gives it, read in `conn`: a merged-away id is
    /// [`Error::Merged`].
    pub(super) async fn visible_or_merged<C: ConnectionTrait>(
        &self,
        conn: &C,
        id: &str,
    ) -> Result<Person, Error> {
        match find_visible(self, conn, id).await {
            Err(Error::NotFound { resource, id }) => match survivor_of(conn, &id).await? {
                Some(survivor_id) => Err(Error::Merged { id, survivor_id }),
                None => Err(Error::NotFound { resource, id }),
            },
            other => other,
        }
    }
}

/// The person `id` was merged into, following merges of merges, if it was merged.
pub(super) async fn survivor_of<C: ConnectionTrait>(
    conn: &C,
    id: &str,
) -> Result<Option<String>, Error> {
    let mut current = id.to_owned();
    let mut survivor = None;
    // A chain is flattened at each merge (see `merge_persons`); the bound only guards against a
    // cycle written by hand.
    for _ in 0..16 {
        let q = sea_query::Query::select()
            .column(Alias::new("survivor_id"))
            .from(Alias::new("person_merges"))
            .and_where(Expr::col(Alias::new("duplicate_id")).eq(current.as_str()))
            .to_owned();
        match conn.query_one(&q).await? {
            Some(r) => {
                current = r.try_get("", "survivor_id")?;
                survivor = Some(current.clone());
            }
            None => break,
        }
    }
    Ok(survivor)
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
    let row = unique_row(conn, &by_id(id))
        .await?
        .ok_or_else(|| Error::NotFound {
            resource: "person",
            id: id.to_owned(),
        })?;
    derive(&row, row.cell(EXCHANGE_DATE)?, today())
}

/// One person by id, read on this thread (SQLite; see `direct`); `None` when no row has
/// that id (it may have been merged away: the caller asks [`Store::visible_or_merged`]).
pub(super) fn find_direct(direct: &DirectReads, id: &str) -> Result<Option<Person>, Error> {
    direct.first(BY_ID.sql(), Values(vec![id.into()]), |row| {
        derive(row, row.cell(EXCHANGE_DATE)?, today())
    })
}

/// [`by_id`]'s text: its one value is the id.
static BY_ID: FixedSql = FixedSql::new(|| sqlite_text(&by_id("")));

/// The person row with this id and its exchange's date.
fn by_id(id: &str) -> SelectStatement {
    let exchanges = Alias::new(exchanges::ROWS.table);
    ROWS.select()
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
        .to_owned()
}

fn derive(
    row: &impl Cells,
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

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{SqliteQueryBuilder, Values};

    use super::{BY_ID, by_id};

    #[test]
    fn the_direct_read_binds_the_id_alone() {
        let (sql, values) = by_id("some-id").build(SqliteQueryBuilder);
        assert_eq!(sql, BY_ID.sql());
        assert_eq!(values, Values(vec!["some-id".into()]));
    }
}
