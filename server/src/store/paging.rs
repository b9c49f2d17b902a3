//! Orderings (`order_by`) and keyset pages.
//!
//! - In every ordering unset values come last, whatever the direction, and `id` breaks ties.
//! - A page token carries the last row's sort keys and a hash of the filter and ordering it
//!   was made for: a token used with another filter or ordering is INVALID_ARGUMENT.
//! - No OFFSET: a deep page costs what the first page costs.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::NaiveDate;
use sea_orm::{
    ConnectionTrait, QueryResult,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, SelectStatement, Value},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    ListQuery,
    filter::parse_date,
    schema::{FieldType, ListField, Table},
};
use crate::domain::{Error, order, page_size, text};

/// Rows a filtered page reads in index order before it leaves the plan to the database (see
/// `Table::probe`); at least ten times the page.
const PROBE_ROWS: u64 = 5000;

/// Sort keys: the fields, each with its direction (`true`: descending).
type Keys<'a> = Vec<(&'a ListField, bool)>;

impl Table {
    /// Parses `order_by` into sort keys (id is always the last, tie-breaking key, in the
    /// direction of the key before it).
    pub fn ordering(&self, text: &str) -> Result<Keys<'_>, Error> {
        let keys = order::parse(text).map_err(|e| Error::invalid("order_by", e))?;
        let mut out = Vec::with_capacity(keys.len() + 1);
        for k in keys {
            let field = self.field(&k.field).filter(|f| f.sortable).ok_or_else(|| {
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
            out.push((field, k.desc));
            if field.name == "id" {
                return Ok(out);
            }
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

    /// Runs one page of a List in `conn` (a read transaction): `select` names the table's
    /// columns and any condition every page has (e.g. restricted persons left out).
    pub async fn page<C: ConnectionTrait>(
        &self,
        conn: &C,
        mut select: SelectStatement,
        q: &ListQuery,
    ) -> Result<(Vec<QueryResult>, Option<String>), Error> {
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
        let probe = condition.is_some() && index_serves(&keys);
        if let Some(c) = condition {
            select.and_where(c);
        }
        for (field, desc) in &keys {
            let col = self.col(field.column);
            if field.nullable {
                select.order_by_expr(col.clone().is_null(), Order::Asc);
            }
            select.order_by_expr(col, if *desc { Order::Desc } else { Order::Asc });
        }
        let mut rows = Vec::new();
        if probe {
            rows = self
                .probe(conn, select.clone(), &keys, after.clone(), size)
                .await?;
        }
        if rows.len() as u64 <= size {
            if let Some(a) = after {
                select.and_where(a);
            }
            select.limit(size + 1);
            rows = conn.query_all(&select).await?;
        }
        let next = if rows.len() as u64 > size {
            rows.truncate(size as usize);
            match rows.last() {
                Some(last) => Some(token_after(last, &keys, binding)?),
                None => None,
            }
        } else {
            None
        };
        Ok((rows, next))
    }

    /// A filtered page read by walking the ordering's index: the filter is applied to the
    /// next `PROBE_ROWS` rows in order (`FROM (… ORDER BY key, id LIMIT n) AS table`), and the
    /// walk stops as soon as the page is full. Planners cost an ordered LIMIT poorly: given
    /// `status = RETURNED` they read every returned person through the status index and sort
    /// them all for ten rows, where walking the `(family_name, id)` index reads a few dozen.
    /// When the probed rows do not fill the page (a selective filter, or a page reaching the
    /// unset values of a nullable key), the caller runs the query as planned, which then has
    /// few rows to sort.
    async fn probe<C: ConnectionTrait>(
        &self,
        conn: &C,
        mut select: SelectStatement,
        keys: &[(&ListField, bool)],
        after: Option<Expr>,
        size: u64,
    ) -> Result<Vec<QueryResult>, Error> {
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
        select.from_clear().from_subquery(walk, table);
        select.limit(size + 1);
        Ok(conn.query_all(&select).await?)
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

    /// The keyset condition "strictly after the row with these key values".
    fn after(
        &self,
        keys: &[(&ListField, bool)],
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

/// Whether an index walks the rows in this order (the set ones, for a nullable key): one
/// indexed key (or none) and `id`, in one direction.
fn index_serves(keys: &[(&ListField, bool)]) -> bool {
    let same_dir = keys.iter().all(|(_, d)| *d == keys[0].1);
    same_dir && keys.len() <= 2 && keys.iter().all(|(f, _)| f.indexed)
}

fn token_after(
    last: &QueryResult,
    keys: &[(&ListField, bool)],
    binding: String,
) -> Result<String, Error> {
    let k = keys
        .iter()
        .map(|(f, _)| key_json(last, f))
        .collect::<Result<Vec<_>, _>>()?;
    PageToken { h: binding, k }.encode()
}

/// A row's sort key, as a page token holds it.
fn key_json(row: &QueryResult, f: &ListField) -> Result<serde_json::Value, Error> {
    use serde_json::Value as J;
    let c = f.column;
    Ok(match f.ty {
        FieldType::Text | FieldType::Id => row
            .try_get::<Option<String>>("", c)?
            .map_or(J::Null, J::String),
        FieldType::Int | FieldType::Enum { .. } => {
            row.try_get::<Option<i32>>("", c)?.map_or(J::Null, J::from)
        }
        FieldType::Time => row.try_get::<Option<i64>>("", c)?.map_or(J::Null, J::from),
        FieldType::Bool => row.try_get::<Option<bool>>("", c)?.map_or(J::Null, J::Bool),
        FieldType::Date => row
            .try_get::<Option<NaiveDate>>("", c)?
            .map_or(J::Null, |d| J::String(d.format("%Y-%m-%d").to_string())),
        FieldType::Set { .. } | FieldType::NameKeys(_) => {
            return Err(Error::Internal(format!("{} is not a sort key", f.name)));
        }
    })
}

#[derive(Serialize, Deserialize)]
pub(super) struct PageToken {
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

    /// The token after a duplicate candidate (its score in hundredths and its pair).
    pub(super) fn of_candidate(
        binding: String,
        score: i32,
        a: &str,
        b: &str,
    ) -> Result<String, Error> {
        PageToken {
            h: binding,
            k: vec![score.into(), a.into(), b.into()],
        }
        .encode()
    }

    /// The candidate a token of [`PageToken::of_candidate`] follows.
    pub(super) fn keys_of_candidate(&self) -> Result<(i32, String, String), Error> {
        use serde_json::Value as J;
        match self.k.as_slice() {
            [J::Number(n), J::String(a), J::String(b)] => {
                let score = n
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(bad_token)?;
                Ok((score, a.clone(), b.clone()))
            }
            _ => Err(bad_token()),
        }
    }

    pub(super) fn decode(s: &str, binding: &str) -> Result<PageToken, Error> {
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

fn json_to_value(f: &ListField, v: &serde_json::Value) -> Result<Option<Value>, Error> {
    use serde_json::Value as J;
    if v.is_null() {
        return if f.nullable {
            Ok(None)
        } else {
            Err(bad_token())
        };
    }
    let value: Value = match (f.ty, v) {
        (FieldType::Text | FieldType::Id, J::String(s)) if text::printable(s) => s.clone().into(),
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
    use sea_orm::sea_query::PostgresQueryBuilder;

    use super::*;
    use crate::store::schema::PERSONS;

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

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn key() -> impl Strategy<Value = serde_json::Value> {
            prop_oneof![
                Just(serde_json::Value::Null),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<bool>().prop_map(serde_json::Value::from),
                "\\PC{0,12}".prop_map(serde_json::Value::from),
                "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(serde_json::Value::from),
            ]
        }

        proptest! {
            #[test]
            fn any_string_as_a_token_is_refused_or_read_never_panics(s in "\\PC{0,200}") {
                let b = PERSONS.binding("", "family_name");
                if let Ok(t) = PageToken::decode(&s, &b) {
                    let keys = PERSONS.ordering("family_name").unwrap_or_default();
                    let _ = PERSONS.after(&keys, &t.k);
                }
            }

            #[test]
            fn forged_sort_keys_are_invalid_argument_or_a_condition(
                k in proptest::collection::vec(key(), 0..4),
                order in prop_oneof![Just("family_name"), Just("capture_date desc"), Just("status"), Just("")],
            ) {
                let b = PERSONS.binding("", order);
                let token = PageToken { h: b.clone(), k }.encode().unwrap_or_default();
                let t = PageToken::decode(&token, &b);
                prop_assert!(t.is_ok());
                let keys = PERSONS.ordering(order).unwrap_or_default();
                if let Ok(t) = t {
                    match PERSONS.after(&keys, &t.k) {
                        Ok(_) | Err(Error::InvalidArgument(_)) => {}
                        Err(other) => prop_assert!(false, "{other:?}"),
                    }
                }
            }
        }
    }
}
