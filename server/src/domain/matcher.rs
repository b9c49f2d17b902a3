//! Evaluates a parsed filter against a resource in memory (Watch applies the List filter to
//! each change); field values come from each resource's declaration. The rules are those the
//! store compiles to SQL: two-valued comparisons
//! (unset is neither equal, less nor greater, and `!=` holds for it), `:` on category codes and
//! on `name`. Filters are validated by the store's compiler first, so a literal that does not
//! parse here simply does not match.

use chrono::{DateTime, NaiveDate};

use super::{
    CATEGORY, Category, EXCHANGE, Exchange, PERSON, PERSON_EVENT, Person, PersonEvent,
    filter::{Comparison, Expr, Op},
    schema::Value as FieldValue,
    translit,
};

/// A resource whose fields a filter can name.
pub trait Matchable {
    fn field(&self, name: &str) -> Option<FieldValue<'_>>;
}

pub fn matches(expr: &Expr, r: &dyn Matchable) -> bool {
    match expr {
        Expr::And(items) => items.iter().all(|e| matches(e, r)),
        Expr::Or(items) => items.iter().any(|e| matches(e, r)),
        Expr::Not(inner) => !matches(inner, r),
        Expr::Compare(c) => compare(c, r),
    }
}

fn ordered<T: PartialOrd>(op: Op, a: Option<T>, b: Option<T>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        // Unset (or an unparsable literal): only `!=` holds.
        return op == Op::Ne;
    };
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Has => false,
    }
}

fn compare(c: &Comparison, r: &dyn Matchable) -> bool {
    let raw = c.value.text();
    let Some(value) = r.field(&c.field) else {
        return false;
    };
    match value {
        FieldValue::Text(s) => ordered(c.op, Some(s), Some(raw)),
        FieldValue::Int(n) => ordered(c.op, n, raw.parse::<i64>().ok()),
        FieldValue::Bool(b) => ordered(c.op, Some(b), raw.parse::<bool>().ok()),
        FieldValue::Date(d) => ordered(c.op, d, NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()),
        FieldValue::Time(t) => ordered(
            c.op,
            Some(t),
            DateTime::parse_from_rfc3339(raw)
                .ok()
                .map(|t| t.timestamp_micros()),
        ),
        FieldValue::Enum { code, parse } => ordered(c.op, Some(code), parse(raw)),
        FieldValue::Id(id) => {
            if raw.is_empty() {
                return (c.op == Op::Eq) == id.is_none();
            }
            let want = uuid::Uuid::parse_str(raw)
                .ok()
                .map(|u| u.hyphenated().to_string());
            ordered(c.op, id.map(str::to_owned), want)
        }
        FieldValue::Codes(codes) => c.op == Op::Has && codes.iter().any(|k| k == raw.trim()),
        FieldValue::Keys(keys) => c.op == Op::Has && keys.iter().any(|k| k == raw.trim()),
        FieldValue::Names(keys) => {
            let wanted = translit::name_keys(raw);
            c.op == Op::Has
                && !wanted.is_empty()
                && wanted
                    .iter()
                    .all(|w| keys.iter().any(|k| k.starts_with(w.as_str())))
        }
    }
}

impl Matchable for Category {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        CATEGORY.value(&self.meta, &self.fields, name)
    }
}

impl Matchable for Exchange {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        EXCHANGE.value(&self.meta, &self.fields, name)
    }
}

impl Matchable for PersonEvent {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        PERSON_EVENT.value(&self.meta, &self.fields, name)
    }
}

impl Matchable for Person {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        PERSON.value(&self.meta, &self.fields, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Derived, Meta, PersonFields, PersonKind, PersonStatus, filter};

    fn person() -> Person {
        Person {
            meta: Meta {
                id: "0197f000-0000-7000-8000-000000000001".into(),
                create_time: DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default(),
                update_time: DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default(),
                revision: 1,
            },
            fields: PersonFields {
                kind: PersonKind::Military,
                family_name: "Шевченко".into(),
                given_name: "Тарас".into(),
                capture_date: NaiveDate::from_ymd_opt(2022, 5, 20),
                status: PersonStatus::Returned,
                category_codes: vec!["under-25".into()],
                ..Default::default()
            },
            derived: Derived::default(),
        }
    }

    fn m(f: &str) -> bool {
        match filter::parse(f) {
            Ok(Some(e)) => matches(&e, &person()),
            other => panic!("{f}: {other:?}"),
        }
    }

    #[test]
    fn comparisons_follow_the_list_semantics() {
        assert!(m("status = RETURNED"));
        assert!(m("status = PERSON_STATUS_RETURNED AND kind != CIVILIAN"));
        assert!(m(r#"capture_date < "2023-01-01""#));
        assert!(!m(r#"date_of_birth < "2023-01-01""#), "unset is not less");
        assert!(m(r#"date_of_birth != "2023-01-01""#), "unset is not equal");
        assert!(m(r#"NOT date_of_birth < "2023-01-01""#));
        assert!(m(r#"category_codes:"under-25""#));
        assert!(!m(r#"category_codes:"civilian""#));
        assert!(m(r#"exchange_id = """#));
        assert!(m(r#"name:"shevch" name:"Тар""#));
        assert!(!m(r#"name:"Коваль""#));
        assert!(m(
            r#"create_time > "2025-01-01T00:00:00Z" OR family_name = "x""#
        ));
        assert!(m(r#"id = "0197F000-0000-7000-8000-000000000001""#));
    }
}
