//! How values are stored: times as microseconds, repeated text as JSON arrays, and a resource
//! as one row of its table, column by column as its declaration (`domain::schema`) says. The
//! resource modules read and write rows only through here.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, QueryResult,
    sea_query::{
        Alias, Expr, ExprTrait, InsertStatement, Query, SelectStatement, UpdateStatement, Value,
    },
};
use serde::Serialize;

use crate::domain::{
    Error, Meta,
    schema::{Access, Schema},
};

/// A value a column holds, as both row types read it.
pub trait Cell: sea_orm::TryGetable + rusqlite::types::FromSql {}
impl<T: sea_orm::TryGetable + rusqlite::types::FromSql> Cell for T {}

/// A row a resource is decoded from: sea-orm's, or one read directly (`direct`).
pub trait Cells {
    fn cell<T: Cell>(&self, column: &str) -> Result<T, Error>;
}

impl Cells for QueryResult {
    fn cell<T: Cell>(&self, column: &str) -> Result<T, Error> {
        Ok(self.try_get("", column)?)
    }
}

/// A row read directly (`direct`), its columns found by name. The codec reads them in the
/// order its select lists them, so the column after the last one found is tried first: a
/// lookup by name otherwise compares every column's name, for each of some forty columns.
pub struct DirectRow<'a> {
    pub row: &'a rusqlite::Row<'a>,
    pub next: std::cell::Cell<usize>,
}

impl Cells for DirectRow<'_> {
    fn cell<T: Cell>(&self, column: &str) -> Result<T, Error> {
        let stmt = self.row.as_ref();
        let hint = self.next.get();
        let index = match stmt.column_name(hint) {
            Ok(name) if name == column => hint,
            _ => stmt
                .column_index(column)
                .map_err(|e| Error::Internal(format!("column {column}: {e}")))?,
        };
        self.next.set(index + 1);
        self.row
            .get(index)
            .map_err(|e| Error::Internal(format!("column {column}: {e}")))
    }
}

pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// Now, at the precision stored (so an answer carries the value that will be read back).
pub fn now() -> DateTime<Utc> {
    time(micros(Utc::now()))
}

pub fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("serialize: {e}")))
}

/// A repeated text field as stored (a JSON array).
pub fn json_list(s: &str) -> Result<Vec<String>, Error> {
    serde_json::from_str(s).map_err(|e| Error::Internal(format!("stored list: {e}")))
}

/// ABORTED when `sent` is given and is not the current etag.
pub fn check_etag(meta: &Meta, sent: Option<&str>, resource: &'static str) -> Result<(), Error> {
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

/// The columns of every resource's row besides its declared ones.
const META_COLUMNS: [&str; 4] = ["id", "create_time", "update_time", "revision"];

/// A resource's table and how its rows map to its declaration.
pub struct Rows<T: 'static> {
    pub table: &'static str,
    pub schema: &'static Schema<T>,
}

impl<T: Default> Rows<T> {
    /// Every column of a row, meta columns first, then the declared ones in order.
    pub fn columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        META_COLUMNS
            .into_iter()
            .chain(self.schema.fields.iter().filter_map(|f| f.column))
    }

    /// `SELECT <every column> FROM <table>`, columns qualified by the table.
    pub fn select(&self) -> SelectStatement {
        let table = Alias::new(self.table);
        let mut q = Query::select();
        for c in self.columns() {
            q.column((table.clone(), Alias::new(c)));
        }
        q.from(table);
        q
    }

    /// The column holding `name`'s value.
    pub fn col(&self, column: &str) -> Expr {
        Expr::col((Alias::new(self.table), Alias::new(column)))
    }

    /// The values of one row, in `columns` order.
    pub fn values(&self, meta: &Meta, fields: &T) -> Result<Vec<Value>, Error> {
        let mut out: Vec<Value> = vec![
            meta.id.clone().into(),
            micros(meta.create_time).into(),
            micros(meta.update_time).into(),
            meta.revision.into(),
        ];
        for f in self.schema.fields.iter().filter(|f| f.column.is_some()) {
            out.push(match &f.access {
                Access::Text(get, _) => get(fields).clone().into(),
                Access::Int(get, _) => (*get(fields)).into(),
                Access::Bool(get, _) => (*get(fields)).into(),
                Access::Date(get, _) => {
                    let d = *get(fields);
                    if d.is_none() && !f.nullable {
                        return Err(Error::invalid(
                            format!("{}.{}", self.schema.singular, f.name),
                            "is required",
                        ));
                    }
                    d.into()
                }
                Access::Enum(e) => (e.get)(fields).into(),
                Access::Id(get, _) => get(fields).clone().into(),
                Access::Codes(get, _) | Access::List(get, _) => to_json(get(fields))?.into(),
                Access::Time(get, _) => get(fields).map(micros).into(),
                Access::Items(items) => to_json(&items.to_json(fields))?.into(),
                Access::Names(_) => continue,
            });
        }
        Ok(out)
    }

    /// A resource from its row, read through sea-orm or directly (`direct`).
    pub fn decode(&self, row: &impl Cells) -> Result<(Meta, T), Error> {
        let meta = Meta {
            id: row.cell("id")?,
            create_time: time(row.cell("create_time")?),
            update_time: time(row.cell("update_time")?),
            revision: row.cell("revision")?,
        };
        let mut fields = T::default();
        for f in self.schema.fields {
            let Some(c) = f.column else { continue };
            match &f.access {
                Access::Text(_, set) => *set(&mut fields) = row.cell(c)?,
                Access::Int(_, set) => *set(&mut fields) = row.cell(c)?,
                Access::Bool(_, set) => *set(&mut fields) = row.cell(c)?,
                Access::Date(_, set) => *set(&mut fields) = row.cell(c)?,
                Access::Enum(e) => {
                    // A code this build does not know reads as unspecified.
                    (e.set)(&mut fields, row.cell(c)?);
                }
                Access::Id(_, set) => *set(&mut fields) = row.cell(c)?,
                Access::Codes(_, set) | Access::List(_, set) => {
                    let json: String = row.cell(c)?;
                    *set(&mut fields) = json_list(&json)?;
                }
                Access::Time(_, set) => {
                    *set(&mut fields) = row.cell::<Option<i64>>(c)?.map(time);
                }
                Access::Items(items) => {
                    let json: String = row.cell(c)?;
                    let v: serde_json::Value = serde_json::from_str(&json)
                        .map_err(|e| Error::Internal(format!("stored {c}: {e}")))?;
                    items
                        .read_json(&mut fields, &v)
                        .map_err(|e| Error::Internal(format!("stored {c}: {e}")))?;
                }
                Access::Names(_) => {}
            }
        }
        Ok((meta, fields))
    }

    /// Inserts rows with multi-row statements (chunks stay under SQLite's bound-parameter
    /// limit).
    pub async fn insert<C: ConnectionTrait>(
        &self,
        conn: &C,
        rows: &[(&Meta, &T)],
    ) -> Result<(), Error> {
        for q in self.inserts(rows)? {
            conn.execute(&q).await?;
        }
        Ok(())
    }

    /// The statements of `insert`.
    pub fn inserts(&self, rows: &[(&Meta, &T)]) -> Result<Vec<InsertStatement>, Error> {
        let columns: Vec<Alias> = self.columns().map(Alias::new).collect();
        let per_statement = (30_000 / columns.len()).max(1);
        let mut out = Vec::new();
        for chunk in rows.chunks(per_statement) {
            let mut q = Query::insert();
            q.into_table(Alias::new(self.table))
                .columns(columns.clone());
            for (meta, fields) in chunk {
                q.values(self.values(meta, fields)?.into_iter().map(Expr::val))
                    .map_err(|e| Error::Internal(e.to_string()))?;
            }
            out.push(q);
        }
        Ok(out)
    }

    /// Rewrites the row of `meta.id`.
    pub async fn update<C: ConnectionTrait>(
        &self,
        conn: &C,
        meta: &Meta,
        fields: &T,
    ) -> Result<(), Error> {
        conn.execute(&self.updating(meta, fields)?).await?;
        Ok(())
    }

    /// The statement of `update`.
    pub fn updating(&self, meta: &Meta, fields: &T) -> Result<UpdateStatement, Error> {
        let mut q = Query::update();
        q.table(Alias::new(self.table));
        for (c, v) in self.columns().zip(self.values(meta, fields)?).skip(1) {
            q.value(Alias::new(c), v);
        }
        q.and_where(Expr::col(Alias::new("id")).eq(meta.id.clone()));
        Ok(q)
    }

    pub async fn delete<C: ConnectionTrait>(&self, conn: &C, id: &str) -> Result<(), Error> {
        let q = Query::delete()
            .from_table(Alias::new(self.table))
            .and_where(Expr::col(Alias::new("id")).eq(id))
            .to_owned();
        conn.execute(&q).await?;
        Ok(())
    }
}

/// The one row a statement selects by a unique key, if any. No `LIMIT`: SQLite re-prepares a
/// statement whose `LIMIT` is a bound value at every execution (its planner reads the value).
pub async fn unique_row<C: ConnectionTrait>(
    conn: &C,
    q: &SelectStatement,
) -> Result<Option<QueryResult>, Error> {
    Ok(conn.query_all(q).await?.pop())
}
