//! Category links of exchanges and persons: reference checks and link rows.

use std::collections::HashSet;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait, Query},
};

use super::{entity::category, write::Write};
use crate::domain::{Error, Violations};

/// Which of `codes` name existing categories (one query).
pub async fn existing_codes<C: ConnectionTrait>(
    conn: &C,
    codes: impl IntoIterator<Item = &String>,
) -> Result<HashSet<String>, Error> {
    let wanted: HashSet<&String> = codes.into_iter().collect();
    if wanted.is_empty() {
        return Ok(HashSet::new());
    }
    let mut found = HashSet::new();
    let wanted: Vec<&String> = wanted.into_iter().collect();
    for chunk in wanted.chunks(500) {
        let rows: Vec<String> = category::Entity::find()
            .select_only()
            .column(category::Column::Code)
            .filter(category::Column::Code.is_in(chunk.iter().map(|s| s.as_str())))
            .into_tuple()
            .all(conn)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// Adds a violation under `prefix` for every code in `codes` that is not in `existing`.
pub fn unknown_codes(
    v: &mut Violations,
    prefix: &str,
    codes: &[String],
    existing: &HashSet<String>,
) {
    for (i, code) in codes.iter().enumerate() {
        if !existing.contains(code) {
            v.add(
                format!("{prefix}category_codes[{i}]"),
                format!("no category with code {code:?}"),
            );
        }
    }
}

/// Inserts link rows `(owner, code)` with multi-row statements.
pub async fn insert(
    w: &Write,
    table: &str,
    owner: &str,
    rows: &[(&str, &str)],
) -> Result<(), Error> {
    insert_pairs(w, table, [owner, "category_code"], rows).await
}

/// Inserts two-column rows with multi-row statements (chunks stay under SQLite's parameter
/// limit).
pub async fn insert_pairs(
    w: &Write,
    table: &str,
    columns: [&str; 2],
    rows: &[(&str, &str)],
) -> Result<(), Error> {
    for chunk in rows.chunks(1000) {
        let mut q = Query::insert();
        q.into_table(Alias::new(table))
            .columns(columns.map(Alias::new));
        for (id, code) in chunk {
            q.values([(*id).into(), (*code).into()])
                .map_err(|e| Error::Internal(e.to_string()))?;
        }
        w.execute(&q).await?;
    }
    Ok(())
}

/// Replaces the links of one owner.
pub async fn replace(
    w: &Write,
    table: &str,
    owner: &str,
    id: &str,
    codes: &[String],
) -> Result<(), Error> {
    replace_pairs(w, table, [owner, "category_code"], id, codes).await
}

/// Replaces the rows `(id, value)` of one owner.
pub async fn replace_pairs(
    w: &Write,
    table: &str,
    columns: [&str; 2],
    id: &str,
    values: &[String],
) -> Result<(), Error> {
    let delete = Query::delete()
        .from_table(Alias::new(table))
        .and_where(Expr::col(Alias::new(columns[0])).eq(id))
        .to_owned();
    w.execute(&delete).await?;
    let rows: Vec<(&str, &str)> = values.iter().map(|c| (id, c.as_str())).collect();
    insert_pairs(w, table, columns, &rows).await
}

/// Whether any row of `table` has `column = value`.
pub async fn any_reference<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    column: &str,
    value: &str,
) -> Result<bool, Error> {
    let q = Query::select()
        .expr(Expr::val(1))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new(column)).eq(value))
        .limit(1)
        .to_owned();
    Ok(conn.query_one(&q).await?.is_some())
}
