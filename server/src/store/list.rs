//! List machinery shared by every resource: the fields a filter or `order_by` may name, the
//! compilation of a parsed filter into SQL, and keyset pagination.
//!
//! Semantics kept on both backends:
//! - comparisons are two-valued: an unset (NULL) field is simply not equal to, less or greater
//!   than anything, so `NOT` and `!=` include unset values;
//! - in every ordering unset values come last, whatever the direction, and `id` breaks ties;
//! - a page token carries the last row's sort keys and a hash of the filter and ordering it was
//!   made for: a token used with another filter or ordering is INVALID_ARGUMENT.

use std::str::FromStr;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate};
use sea_orm::{
    ConnectionTrait, EntityTrait, ModelTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Select,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, Value},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{
    Code, Error, WireEnum,
    filter::{self, Comparison, FilterError, Op},
    order, page_size, translit,
};

/// Rows a filtered page reads in index order before it leaves the plan to the database (see
/// `Resource::probe`); at least ten times the page.
const PROBE_ROWS: u64 = 5000;

/// A List request, as the store takes it.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub page_size: i32,
    pub page_token: String,
    pub filter: String,
    pub order_by: String,
}

#[derive(Debug, Clone, Copy)]
pub enum FieldType {
    Text,
    Int,
    Bool,
    Date,
    /// Microseconds since the epoch in the database; RFC 3339 in filters.
    Time,
    /// Proto number in the database; the enum's name in filters.
    Enum {
        parse: fn(&str) -> Option<i32>,
        names: fn() -> String,
    },
    /// A resource id (UUID text); `""` in a filter means unset.
    Id,
    /// Category codes in a link table: `(table, owner column)`; only `:` applies.
    Codes {
        link_table: &'static str,
        owner: &'static str,
    },
    /// Name search over normalised name keys (`domain::translit`): `name:"Шевч"` matches a
    /// family, given or patronymic name starting so, in Cyrillic or Latin; only `:` applies.
    NameKeys {
        table: &'static str,
        owner: &'static str,
    },
    /// Any text values in a table of `(owner, column)` rows; only `:` applies
    /// (`resource_ids:"…"` of audit events).
    Values {
        table: &'static str,
        owner: &'static str,
        column: &'static str,
    },
}

impl FieldType {
    /// Fields that are sets rather than values: filterable with `:`, not sortable.
    fn is_set(self) -> bool {
        matches!(
            self,
            FieldType::Codes { .. } | FieldType::NameKeys { .. } | FieldType::Values { .. }
        )
    }
}

/// A field a filter or ordering may name.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub column: &'static str,
    pub ty: FieldType,
    pub nullable: bool,
    /// Whether an index `(column, id)` serves an ordering by this field (most do; see the
    /// migrations). Decides whether a filtered page may be probed in index order.
    pub indexed: bool,
}

impl Field {
    pub const fn new(name: &'static str, ty: FieldType) -> Self {
        Self {
            name,
            column: name,
            ty,
            nullable: false,
            indexed: true,
        }
    }

    /// No index serves an ordering by this field.
    pub const fn unindexed(mut self) -> Self {
        self.indexed = false;
        self
    }

    pub const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    pub const fn column(mut self, column: &'static str) -> Self {
        self.column = column;
        self
    }
}

pub const fn enum_type<E: WireEnum>() -> FieldType {
    FieldType::Enum {
        parse: parse_enum::<E>,
        names: E::names,
    }
}

fn parse_enum<E: WireEnum>(s: &str) -> Option<i32> {
    E::parse_name(s).map(E::code)
}

/// A listable resource: its table and fields.
pub struct Resource {
    pub name: &'static str,
    pub table: &'static str,
    pub fields: &'static [Field],
}

impl Resource {
    fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn col(&self, column: &str) -> Expr {
        Expr::col((Alias::new(self.table), Alias::new(column)))
    }

    fn field_names(&self, sortable: bool) -> String {
        self.fields
            .iter()
            .filter(|f| !sortable || !f.ty.is_set())
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Compiles a filter string; errors are INVALID_ARGUMENT on `filter`, with the position.
    pub fn compile_filter(&self, text: &str) -> Result<Option<Expr>, Error> {
        let bad = |e: FilterError| Error::invalid("filter", e.to_string());
        match filter::parse(text).map_err(bad)? {
            None => Ok(None),
            Some(expr) => self.compile(&expr).map(Some).map_err(bad),
        }
    }

    fn compile(&self, e: &filter::Expr) -> Result<Expr, FilterError> {
        Ok(match e {
            filter::Expr::And(items) => self.fold(items, ExprTrait::and)?,
            filter::Expr::Or(items) => self.fold(items, ExprTrait::or)?,
            filter::Expr::Not(inner) => self.compile(inner)?.not(),
            filter::Expr::Compare(c) => self.comparison(c)?,
        })
    }

    fn fold(
        &self,
        items: &[filter::Expr],
        join: fn(Expr, Expr) -> Expr,
    ) -> Result<Expr, FilterError> {
        let mut out: Option<Expr> = None;
        for item in items {
            let e = self.compile(item)?;
            out = Some(match out {
                None => e,
                Some(acc) => join(acc, e),
            });
        }
        out.ok_or_else(|| FilterError::at(1, "empty expression"))
    }

    fn comparison(&self, c: &Comparison) -> Result<Expr, FilterError> {
        let field = self.field(&c.field).ok_or_else(|| {
            FilterError::at(
                c.field_pos,
                format!(
                    "unknown field `{}` of {}; filterable fields: {}",
                    c.field,
                    self.name,
                    self.field_names(false)
                ),
            )
        })?;
        let at_value = |m: String| FilterError::at(c.value_pos, m);
        let raw = c.value.text();
        if let FieldType::Codes { link_table, owner } = field.ty {
            if c.op != Op::Has {
                return Err(FilterError::at(
                    c.field_pos,
                    format!(
                        "`{}` is repeated: use `{}:\"code\"`",
                        field.name, field.name
                    ),
                ));
            }
            let code = Code::parse(raw).map_err(|e| at_value(format!("category code {e}")))?;
            let link = Alias::new(link_table);
            let sub = Query::select()
                .expr(Expr::val(1))
                .from(link.clone())
                .and_where(
                    Expr::col((link.clone(), Alias::new(owner)))
                        .equals((Alias::new(self.table), Alias::new("id"))),
                )
                .and_where(Expr::col((link, Alias::new("category_code"))).eq(code.into_string()))
                .to_owned();
            return Ok(Expr::exists(sub));
        }
        if let FieldType::Values {
            table,
            owner,
            column,
        } = field.ty
        {
            if c.op != Op::Has {
                return Err(FilterError::at(
                    c.field_pos,
                    format!(
                        "`{}` is repeated: use `{}:\"value\"`",
                        field.name, field.name
                    ),
                ));
            }
            let t = Alias::new(table);
            let sub = Query::select()
                .expr(Expr::val(1))
                .from(t.clone())
                .and_where(
                    Expr::col((t.clone(), Alias::new(owner)))
                        .equals((Alias::new(self.table), Alias::new("id"))),
                )
                .and_where(Expr::col((t, Alias::new(column))).eq(raw.to_owned()))
                .to_owned();
            return Ok(Expr::exists(sub));
        }
        if let FieldType::NameKeys { table, owner } = field.ty {
            if c.op != Op::Has {
                return Err(FilterError::at(
                    c.field_pos,
                    format!("search names with `{}:\"prefix\"`", field.name),
                ));
            }
            let keys = translit::name_keys(raw);
            if keys.is_empty() {
                return Err(at_value(
                    "a name search needs at least one letter or digit".into(),
                ));
            }
            // Every word of the query must start some name of the person.
            let t = Alias::new(table);
            let mut all: Option<Expr> = None;
            for key in keys {
                let upper = format!("{key}~");
                let sub = Query::select()
                    .expr(Expr::val(1))
                    .from(t.clone())
                    .and_where(
                        Expr::col((t.clone(), Alias::new(owner)))
                            .equals((Alias::new(self.table), Alias::new("id"))),
                    )
                    .and_where(Expr::col((t.clone(), Alias::new("key"))).gte(key))
                    .and_where(Expr::col((t.clone(), Alias::new("key"))).lt(upper))
                    .to_owned();
                let e = Expr::exists(sub);
                all = Some(match all {
                    None => e,
                    Some(a) => a.and(e),
                });
            }
            return all.ok_or_else(|| at_value("empty name".into()));
        }
        if c.op == Op::Has {
            return Err(FilterError::at(
                c.field_pos,
                format!(
                    "`:` applies to repeated fields; use `=` with `{}`",
                    field.name
                ),
            ));
        }
        let only_equality = |what: &str| -> Result<(), FilterError> {
            if matches!(c.op, Op::Eq | Op::Ne) {
                Ok(())
            } else {
                Err(FilterError::at(
                    c.field_pos,
                    format!("`{}` is {what}: only `=` and `!=` apply", field.name),
                ))
            }
        };
        let col = self.col(field.column);
        let value: Value = match field.ty {
            FieldType::Text => raw.to_owned().into(),
            FieldType::Int => raw
                .parse::<i32>()
                .map_err(|_| at_value(format!("`{}` takes an integer, not {raw:?}", field.name)))?
                .into(),
            FieldType::Bool => {
                only_equality("a boolean")?;
                match raw {
                    "true" => true.into(),
                    "false" => false.into(),
                    _ => return Err(at_value(format!("`{}` takes true or false", field.name))),
                }
            }
            FieldType::Date => parse_date(raw)
                .ok_or_else(|| {
                    at_value(format!(
                        "`{}` takes a date \"YYYY-MM-DD\", not {raw:?}",
                        field.name
                    ))
                })?
                .into(),
            FieldType::Time => DateTime::parse_from_rfc3339(raw)
                .map_err(|_| {
                    at_value(format!(
                        "`{}` takes an RFC 3339 time like \"2025-07-04T12:00:00Z\", not {raw:?}",
                        field.name
                    ))
                })?
                .timestamp_micros()
                .into(),
            FieldType::Enum { parse, names } => {
                only_equality("an enum")?;
                parse(raw)
                    .ok_or_else(|| {
                        at_value(format!(
                            "`{}` is one of {}, not {raw:?}",
                            field.name,
                            names()
                        ))
                    })?
                    .into()
            }
            FieldType::Id => {
                only_equality("an id")?;
                if raw.is_empty() {
                    return Ok(if c.op == Op::Eq {
                        col.is_null()
                    } else {
                        col.is_not_null()
                    });
                }
                uuid::Uuid::parse_str(raw)
                    .map_err(|_| at_value(format!("`{}` takes an id (UUID text)", field.name)))?
                    .hyphenated()
                    .to_string()
                    .into()
            }
            FieldType::Codes { .. } | FieldType::NameKeys { .. } | FieldType::Values { .. } => {
                unreachable_codes()?
            }
        };
        let cmp = match c.op {
            Op::Eq => col.clone().eq(value),
            Op::Ne => col.clone().ne(value),
            Op::Lt => col.clone().lt(value),
            Op::Le => col.clone().lte(value),
            Op::Gt => col.clone().gt(value),
            Op::Ge => col.clone().gte(value),
            Op::Has => unreachable_codes()?,
        };
        Ok(match (field.nullable, c.op) {
            (false, _) => cmp,
            (true, Op::Ne) => col.is_null().or(cmp),
            (true, _) => col.is_not_null().and(cmp),
        })
    }

    /// Parses `order_by` into sort keys (id is always the last, tie-breaking key, in the direction
    /// of the key before it).
    pub fn ordering(&self, text: &str) -> Result<Vec<(&'static Field, bool)>, Error> {
        let keys = order::parse(text).map_err(|e| Error::invalid("order_by", e))?;
        let mut out = Vec::with_capacity(keys.len() + 1);
        for k in keys {
            let field = self
                .field(&k.field)
                .filter(|f| !f.ty.is_set())
                .ok_or_else(|| {
                    Error::invalid(
                        "order_by",
                        format!(
                            "cannot order {} by `{}`; sortable fields: {}",
                            self.name,
                            k.field,
                            self.field_names(true)
                        ),
                    )
                })?;
            if field.name == "id" {
                out.push((field, k.desc));
                return Ok(out);
            }
            out.push((field, k.desc));
        }
        let id = self
            .field("id")
            .ok_or_else(|| Error::Internal(format!("{} has no id field", self.name)))?;
        // Ties break by id in the direction of the last key, so that one index `(key, id)`
        // read forwards or backwards gives the whole order.
        let desc = out.last().is_some_and(|(_, d)| *d);
        out.push((id, desc));
        Ok(out)
    }

    /// Runs one page of a List in `conn` (a read transaction).
    pub async fn page<E, C>(
        &self,
        conn: &C,
        select: Select<E>,
        q: &ListQuery,
    ) -> Result<(Vec<E::Model>, Option<String>), Error>
    where
        E: EntityTrait,
        E::Model: ModelTrait<Entity = E> + Sync,
        E::Column: FromStr,
        C: ConnectionTrait,
    {
        let size = page_size(q.page_size)?;
        let condition = self.compile_filter(&q.filter)?;
        let keys = self.ordering(&q.order_by)?;
        let binding = self.binding(&q.filter, &q.order_by);
        let after = if q.page_token.trim().is_empty() {
            None
        } else {
            let token = PageToken::decode(q.page_token.trim(), &binding)?;
            Some(self.after(&keys, &token.k)?)
        };
        let probe = condition.is_some() && self.index_serves(&keys);
        let mut select = select;
        if let Some(c) = condition {
            select = select.filter(c);
        }
        for (field, desc) in &keys {
            let col = self.col(field.column);
            if field.nullable {
                select = select.order_by(col.clone().is_null(), Order::Asc);
            }
            select = select.order_by(col, if *desc { Order::Desc } else { Order::Asc });
        }
        let mut rows = Vec::new();
        if probe {
            rows = self
                .probe(conn, select.clone(), &keys, after.clone(), size)
                .await?;
        }
        if rows.len() as u64 <= size {
            if let Some(a) = after {
                select = select.filter(a);
            }
            rows = select.limit(size + 1).all(conn).await?;
        }
        let next = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            match rows.last() {
                Some(last) => Some(self.token_after(last, &keys, binding)?),
                None => None,
            }
        } else {
            None
        };
        Ok((rows, next))
    }

    /// Whether an index walks the rows in this order (the set ones, for a nullable key): one
    /// indexed key (or none) and `id`, in one direction.
    fn index_serves(&self, keys: &[(&'static Field, bool)]) -> bool {
        let same_dir = keys.iter().all(|(_, d)| *d == keys[0].1);
        same_dir && keys.len() <= 2 && keys.iter().all(|(f, _)| f.indexed)
    }

    /// A filtered page read by walking the ordering's index: the filter is applied to the
    /// next `PROBE_ROWS` rows in order (`FROM (… ORDER BY key, id LIMIT n) AS table`), and the
    /// walk stops as soon as the page is full. Planners cost an ordered LIMIT poorly: given
    /// `status = RETURNED` they read every returned person through the status index and sort
    /// them all for ten rows (seconds on 1,000,000 persons), where walking the `(family_name,
    /// id)` index reads a few dozen. When the probed rows do not fill the page (a selective
    /// filter, or a page reaching the unset values of a nullable key), the caller runs the
    /// query as planned, which then has few rows to sort.
    async fn probe<E, C>(
        &self,
        conn: &C,
        mut select: Select<E>,
        keys: &[(&'static Field, bool)],
        after: Option<Expr>,
        size: u64,
    ) -> Result<Vec<E::Model>, Error>
    where
        E: EntityTrait,
        C: ConnectionTrait,
    {
        let table = Alias::new(self.table);
        let mut walk = Query::select();
        walk.column(Asterisk).from(table.clone());
        if let Some(a) = after {
            walk.and_where(a);
        }
        for (field, desc) in keys {
            if field.nullable {
                // Unset values come last: the walk covers the set ones, which the index holds
                // in order; a page reaching the unset ones is left to the planned query.
                walk.and_where(Expr::col(Alias::new(field.column)).is_not_null());
            }
            walk.order_by(
                Alias::new(field.column),
                if *desc { Order::Desc } else { Order::Asc },
            );
        }
        walk.limit(Ord::max(PROBE_ROWS, 10 * (size + 1)));
        QueryTrait::query(&mut select)
            .from_clear()
            .from_subquery(walk, table);
        Ok(select.limit(size + 1).all(conn).await?)
    }

    fn binding(&self, filter: &str, order_by: &str) -> String {
        let digest = Sha256::digest(format!(
            "{}\n{}\n{}",
            self.name,
            filter.trim(),
            order_by.trim()
        ));
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    fn token_after<M>(
        &self,
        last: &M,
        keys: &[(&'static Field, bool)],
        binding: String,
    ) -> Result<String, Error>
    where
        M: ModelTrait,
        <M::Entity as EntityTrait>::Column: FromStr,
    {
        let mut k = Vec::with_capacity(keys.len());
        for (field, _) in keys {
            let column = <M::Entity as EntityTrait>::Column::from_str(field.column)
                .map_err(|_| Error::Internal(format!("no column {}", field.column)))?;
            k.push(value_to_json(last.get(column))?);
        }
        PageToken { h: binding, k }.encode()
    }

    /// The keyset condition "strictly after the row with these key values".
    fn after(
        &self,
        keys: &[(&'static Field, bool)],
        values: &[serde_json::Value],
    ) -> Result<Expr, Error> {
        if values.len() != keys.len() {
            return Err(bad_token());
        }
        let typed: Vec<Option<Value>> = keys
            .iter()
            .zip(values)
            .map(|((f, _), v)| json_to_value(f, v))
            .collect::<Result<_, _>>()?;
        // Fast path: all keys non-null and in one direction -> a row-value comparison, which
        // both backends answer from an index.
        let same_dir = keys.iter().all(|(_, d)| *d == keys[0].1);
        if same_dir && typed.iter().all(Option::is_some) && keys.iter().all(|(f, _)| !f.nullable) {
            let cols = keys.iter().map(|(f, _)| self.col(f.column));
            let vals = typed.into_iter().flatten().map(Expr::val);
            let (l, r) = (Expr::tuple(cols), Expr::tuple(vals));
            return Ok(if keys[0].1 { l.lt(r) } else { l.gt(r) });
        }
        let mut any: Option<Expr> = None;
        for i in 0..keys.len() {
            let mut all: Option<Expr> = None;
            for j in 0..i {
                let col = self.col(keys[j].0.column);
                let eq = match &typed[j] {
                    None => col.is_null(),
                    Some(v) => col.eq(v.clone()),
                };
                all = Some(match all {
                    None => eq,
                    Some(a) => a.and(eq),
                });
            }
            let (field, desc) = keys[i];
            let col = self.col(field.column);
            let later = match &typed[i] {
                // Unset sorts last: nothing of this key comes after it.
                None => continue,
                Some(v) => {
                    let beyond = if desc {
                        col.clone().lt(v.clone())
                    } else {
                        col.clone().gt(v.clone())
                    };
                    if field.nullable {
                        beyond.or(col.is_null())
                    } else {
                        beyond
                    }
                }
            };
            let term = match all {
                None => later,
                Some(a) => a.and(later),
            };
            any = Some(match any {
                None => term,
                Some(x) => x.or(term),
            });
        }
        Ok(any.unwrap_or_else(|| Expr::val(false)))
    }
}

fn unreachable_codes<T>() -> Result<T, FilterError> {
    Err(FilterError::at(
        1,
        "internal: repeated field in scalar comparison",
    ))
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

#[derive(Serialize, Deserialize)]
struct PageToken {
    /// Hash of the resource, filter and ordering this token belongs to.
    h: String,
    /// Sort key values of the last row of the previous page.
    k: Vec<serde_json::Value>,
}

impl PageToken {
    fn encode(&self) -> Result<String, Error> {
        let json = serde_json::to_vec(self).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(URL_SAFE_NO_PAD.encode(json))
    }

    fn decode(s: &str, binding: &str) -> Result<PageToken, Error> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad_token())?;
        let token: PageToken = serde_json::from_slice(&bytes).map_err(|_| bad_token())?;
        if token.h != binding {
            return Err(Error::invalid(
                "page_token",
                "was issued for a different filter or order_by; repeat them unchanged, or start again without a token",
            ));
        }
        Ok(token)
    }
}

fn bad_token() -> Error {
    Error::invalid("page_token", "is not a token this server issued")
}

fn value_to_json(v: Value) -> Result<serde_json::Value, Error> {
    use serde_json::Value as J;
    Ok(match v {
        Value::String(s) => s.map_or(J::Null, J::String),
        Value::Int(i) => i.map_or(J::Null, J::from),
        Value::BigInt(i) => i.map_or(J::Null, J::from),
        Value::Bool(b) => b.map_or(J::Null, J::Bool),
        Value::ChronoDate(d) => d.map_or(J::Null, |d| J::String(d.format("%Y-%m-%d").to_string())),
        other => {
            return Err(Error::Internal(format!(
                "unsupported sort key value {other:?}"
            )));
        }
    })
}

fn json_to_value(f: &Field, v: &serde_json::Value) -> Result<Option<Value>, Error> {
    use serde_json::Value as J;
    if v.is_null() {
        return if f.nullable {
            Ok(None)
        } else {
            Err(bad_token())
        };
    }
    let value: Value = match (f.ty, v) {
        (FieldType::Text | FieldType::Id, J::String(s)) => s.clone().into(),
        (FieldType::Int | FieldType::Enum { .. }, J::Number(n)) => {
            i32::try_from(n.as_i64().ok_or_else(bad_token)?)
                .map_err(|_| bad_token())?
                .into()
        }
        (FieldType::Time, J::Number(n)) => n.as_i64().ok_or_else(bad_token)?.into(),
        (FieldType::Bool, J::Bool(b)) => (*b).into(),
        (FieldType::Date, J::String(s)) => parse_date(s).ok_or_else(bad_token)?.into(),
        _ => return Err(bad_token()),
    };
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PersonStatus;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    const FIELDS: &[Field] = &[
        Field::new("id", FieldType::Id),
        Field::new("family_name", FieldType::Text),
        Field::new("capture_date", FieldType::Date).nullable(),
        Field::new("status", enum_type::<PersonStatus>()),
        Field::new("exchange_id", FieldType::Id).nullable(),
        Field::new(
            "category_codes",
            FieldType::Codes {
                link_table: "person_categories",
                owner: "person_id",
            },
        ),
    ];
    const PERSONS: Resource = Resource {
        name: "persons",
        table: "persons",
        fields: FIELDS,
    };

    fn sql(filter: &str) -> String {
        match PERSONS.compile_filter(filter) {
            Ok(Some(e)) => Query::select()
                .expr(Expr::val(1))
                .and_where(e)
                .to_owned()
                .to_string(SqliteQueryBuilder),
            other => panic!("{filter:?}: {other:?}"),
        }
    }

    fn err(filter: &str) -> String {
        match PERSONS.compile_filter(filter) {
            Err(Error::InvalidArgument(v)) => v[0].description.clone(),
            other => panic!("{filter:?} compiled: {other:?}"),
        }
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_position() {
        let e = err(r#"family_name = "x" AND nickname = "y""#);
        assert!(
            e.starts_with("at position 23: unknown field `nickname`"),
            "{e}"
        );
    }

    #[test]
    fn enum_values_are_checked_and_compiled_to_their_numbers() {
        assert!(sql("status = RETURNED").contains(r#""status" = 3"#));
        assert!(err("status = HOME").contains("MISSING, IN_CAPTIVITY, RETURNED, DECEASED"));
        assert!(err("status < RETURNED").contains("only `=` and `!=`"));
    }

    #[test]
    fn unset_dates_are_neither_less_nor_greater_but_are_not_equal() {
        let s = sql(r#"capture_date < "2023-01-01""#);
        assert!(s.contains(r#""capture_date" IS NOT NULL AND"#), "{s}");
        let s = sql(r#"capture_date != "2023-01-01""#);
        assert!(s.contains(r#""capture_date" IS NULL OR"#), "{s}");
        assert!(err(r#"capture_date < "2023-13-01""#).contains("YYYY-MM-DD"));
    }

    #[test]
    fn category_membership_is_an_exists_over_the_link_table() {
        let s = sql(r#"category_codes:"under-25""#);
        assert!(
            s.contains("EXISTS(SELECT 1 FROM \"person_categories\""),
            "{s}"
        );
        assert!(err(r#"category_codes = "under-25""#).contains("repeated"));
        assert!(err(r#"family_name:"x""#).contains("repeated fields"));
    }

    #[test]
    fn an_empty_exchange_id_means_unset() {
        assert!(sql(r#"exchange_id = """#).contains(r#""exchange_id" IS NULL"#));
    }

    #[test]
    fn not_and_or_keep_their_grouping() {
        let s = sql(r#"NOT (status = RETURNED OR family_name = "a") AND family_name != "b""#);
        assert!(s.contains("NOT"), "{s}");
        assert!(s.contains(" OR "), "{s}");
    }

    #[test]
    fn ordering_appends_id_and_rejects_repeated_fields() {
        let keys = PERSONS.ordering("capture_date desc").unwrap_or_default();
        let names: Vec<_> = keys.iter().map(|(f, d)| (f.name, *d)).collect();
        assert_eq!(names, [("capture_date", true), ("id", true)]);
        let keys = PERSONS.ordering("family_name").unwrap_or_default();
        let names: Vec<_> = keys.iter().map(|(f, d)| (f.name, *d)).collect();
        assert_eq!(names, [("family_name", false), ("id", false)]);
        assert!(PERSONS.ordering("category_codes").is_err());
        assert!(PERSONS.ordering("nope").is_err());
    }

    #[test]
    fn tokens_are_bound_to_their_filter_and_order() {
        let b = PERSONS.binding("status = RETURNED", "");
        let t = PageToken {
            h: b.clone(),
            k: vec![],
        }
        .encode()
        .unwrap_or_default();
        assert!(PageToken::decode(&t, &b).is_ok());
        assert!(PageToken::decode(&t, &PERSONS.binding("status = MISSING", "")).is_err());
        assert!(PageToken::decode("garbage!", &b).is_err());
    }

    #[test]
    fn keyset_after_a_null_key_stays_within_the_nulls() {
        let keys = PERSONS.ordering("capture_date").unwrap_or_default();
        let e = PERSONS
            .after(
                &keys,
                &[
                    serde_json::Value::Null,
                    serde_json::json!("0197f000-0000-7000-8000-000000000000"),
                ],
            )
            .ok();
        let s = Query::select()
            .expr(Expr::val(1))
            .and_where(e.unwrap_or_else(|| Expr::val(false)))
            .to_owned()
            .to_string(PostgresQueryBuilder);
        assert!(
            s.contains(r#""capture_date" IS NULL AND "persons"."id" >"#),
            "{s}"
        );
    }
}
