//! A parsed filter (`domain::filter`) compiled to SQL over one table's list schema.
//!
//! Comparisons are two-valued: an unset (NULL) field is simply not equal to, less or greater
//! than anything, so `NOT` and `!=` include unset values. Set fields (link tables, name keys)
//! compile to `EXISTS` over their rows.

use chrono::{DateTime, NaiveDate};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, Value};

use super::schema::{FieldType, Link, ListField, Table};
use crate::domain::{
    Code, Error,
    filter::{self, Comparison, FilterError, Op},
    translit,
};

impl Table {
    /// Compiles a filter string; errors are INVALID_ARGUMENT on `filter`, with the position.
    pub fn compile_filter(&self, text: &str) -> Result<Option<Expr>, Error> {
        let bad = |e: FilterError| Error::invalid("filter", e.to_string());
        // "syntax error …": the ErrorInfo reason tells FILTER_SYNTAX from FILTER_INVALID by it.
        let syntax = |e: FilterError| Error::invalid("filter", format!("syntax error {e}"));
        match filter::parse(text).map_err(syntax)? {
            None => Ok(None),
            Some(expr) => self.compile(&expr).map(Some).map_err(bad),
        }
    }

    pub(super) fn col(&self, column: &str) -> Expr {
        Expr::col((Alias::new(self.table), Alias::new(column)))
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

    /// `EXISTS (SELECT 1 FROM link WHERE link.owner = table.id AND <condition on value>)`.
    fn exists(&self, link: Link, condition: impl FnOnce(Expr) -> Expr) -> Expr {
        let t = Alias::new(link.table);
        let sub = Query::select()
            .expr(Expr::val(1))
            .from(t.clone())
            .and_where(
                Expr::col((t.clone(), Alias::new(link.owner)))
                    .equals((Alias::new(self.table), Alias::new("id"))),
            )
            .and_where(condition(Expr::col((t, Alias::new(link.value)))))
            .to_owned();
        Expr::exists(sub)
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
        match field.ty {
            FieldType::Set { link, codes } => {
                if c.op != Op::Has {
                    let what = if codes { "code" } else { "value" };
                    return Err(FilterError::at(
                        c.field_pos,
                        format!(
                            "`{}` is repeated: use `{}:\"{what}\"`",
                            field.name, field.name
                        ),
                    ));
                }
                let value = if codes {
                    Code::parse(raw)
                        .map_err(|e| at_value(format!("category code {e}")))?
                        .into_string()
                } else {
                    raw.to_owned()
                };
                return Ok(self.exists(link, |v| v.eq(value)));
            }
            FieldType::NameKeys(link) => {
                if c.op != Op::Has {
                    return Err(FilterError::at(
                        c.field_pos,
                        format!("search names with `{}:\"prefix\"`", field.name),
                    ));
                }
                let keys = translit::name_keys(raw);
                // Every word of the query must start some name of the person.
                let mut all: Option<Expr> = None;
                for key in keys {
                    let upper = format!("{key}~");
                    let e = self.exists(link, |v| v.clone().gte(key).and(v.lt(upper)));
                    all = Some(match all {
                        None => e,
                        Some(a) => a.and(e),
                    });
                }
                return all.ok_or_else(|| {
                    at_value("a name search needs at least one letter or digit".into())
                });
            }
            _ => {}
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
        let col = self.col(field.column);
        let value = match scalar(field, c, raw)? {
            Scalar::Value(v) => v,
            Scalar::Unset => {
                return Ok(if c.op == Op::Eq {
                    col.is_null()
                } else {
                    col.is_not_null()
                });
            }
        };
        let cmp = match c.op {
            Op::Eq => col.clone().eq(value),
            Op::Ne => col.clone().ne(value),
            Op::Lt => col.clone().lt(value),
            Op::Le => col.clone().lte(value),
            Op::Gt => col.clone().gt(value),
            Op::Ge => col.clone().gte(value),
            Op::Has => return Err(FilterError::at(c.field_pos, "`:` on a single value")),
        };
        Ok(match (field.nullable, c.op) {
            (false, _) => cmp,
            (true, Op::Ne) => col.is_null().or(cmp),
            (true, _) => col.is_not_null().and(cmp),
        })
    }
}

enum Scalar {
    Value(Value),
    /// `id_field = ""`: the reference is unset.
    Unset,
}

/// The literal of a comparison with a single-valued field, typed as the field is.
fn scalar(field: &ListField, c: &Comparison, raw: &str) -> Result<Scalar, FilterError> {
    let at_value = |m: String| FilterError::at(c.value_pos, m);
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
                return Ok(Scalar::Unset);
            }
            uuid::Uuid::parse_str(raw)
                .map_err(|_| at_value(format!("`{}` takes an id (UUID text)", field.name)))?
                .hyphenated()
                .to_string()
                .into()
        }
        FieldType::Set { .. } | FieldType::NameKeys(_) => {
            return Err(FilterError::at(c.field_pos, "a set is not a single value"));
        }
    };
    Ok(Scalar::Value(value))
}

pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::SqliteQueryBuilder;

    use super::*;
    use crate::store::schema::PERSONS;

    pub(crate) fn sql(filter: &str) -> String {
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
    fn name_search_is_a_prefix_range_over_the_name_keys() {
        let s = sql(r#"name:"Шевч""#);
        assert!(
            s.contains("EXISTS(SELECT 1 FROM \"person_name_keys\""),
            "{s}"
        );
        assert!(s.contains(r#""key" >= 'shevch'"#), "{s}");
        assert!(err(r#"name:"--""#).contains("at least one letter"));
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
}
