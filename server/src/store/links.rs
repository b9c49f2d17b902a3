//! Rows of set fields (`schema::Link`: category links, name keys) and reference checks.

use std::collections::HashSet;

use sea_orm::{
    ConnectionTrait,
    sea_query::{Alias, Expr, ExprTrait, Query},
};

use super::{schema::Link, write::Write};
use crate::domain::{Error, Violations};

/// Which of `codes` name existing categories (one query per 500).
pub async fn existing_codes<C: ConnectionTrait>(
    conn: &C,
    codes: impl IntoIterator<Item = &String>,
) -> Result<HashSet<String>, Error> {
    let wanted: HashSet<&String> = codes.into_iter().collect();
    let mut found = HashSet::new();
    let wanted: Vec<&String> = wanted.into_iter().collect();
    for chunk in wanted.chunks(500) {
        let q = Query::select()
            .column(Alias::new("code"))
            .from(Alias::new("categories"))
            .and_where(Expr::col(Alias::new("code")).is_in(chunk.iter().map(|s| s.as_str())))
            .to_owned();
        for row in conn.query_all(&q).await? {
            found.insert(row.try_get::<String>("", "code")?);
        }
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

/// Inserts rows `(owner, value)` with multi-row statements (chunks stay under SQLite's
/// parameter limit), deferred (`Write::defer`).
pub fn insert(w: &Write, link: Link, rows: &[(&str, &str)]) -> Result<(), Error> {
    for chunk in rows.chunks(1000) {
        let mut q = Query::insert();
        q.into_table(Alias::new(link.table))
            .columns([Alias::new(link.owner), Alias::new(link.value)]);
        for (id, value) in chunk {
            q.values([(*id).into(), (*value).into()])
                .map_err(|e| Error::Internal(e.to_string()))?;
        }
        w.defer(&q);
    }
    Ok(())
}

/// Replaces the rows of one owner (deferred, like `insert`).
pub fn replace(w: &Write, link: Link, id: &str, values: &[String]) -> Result<(), Error> {
    let delete = Query::delete()
        .from_table(Alias::new(link.table))
        .and_where(Expr::col(Alias::new(link.owner)).eq(id))
        .to_owned();
    w.defer(&delete);
    let rows: Vec<(&str, &str)> = values.iter().map(|c| (id, c.as_str())).collect();
    insert(w, link, &rows)
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
