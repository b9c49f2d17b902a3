//! Evaluates a parsed filter against a resource in memory (Watch applies the List filter to
//! each change). The rules are those `store::list` compiles to SQL: two-valued comparisons
//! (unset is neither equal, less nor greater, and `!=` holds for it), `:` on category codes and
//! on `name`. Filters are validated by the store's compiler first, so a literal that does not
//! parse here simply does not match.

use chrono::{DateTime, NaiveDate};

use super::{
    Category, Exchange, Person, WireEnum,
    filter::{Comparison, Expr, Op},
    translit,
};

/// A field's value, typed as filters see it.
pub enum FieldValue<'a> {
    Text(&'a str),
    Int(Option<i64>),
    Bool(bool),
    Date(Option<NaiveDate>),
    /// Microseconds since the epoch.
    Time(i64),
    Enum {
        code: i32,
        parse: fn(&str) -> Option<i32>,
    },
    Id(Option<&'a str>),
    Codes(&'a [String]),
    Names(Vec<String>),
}

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

fn enum_value<E: WireEnum>(e: E) -> FieldValue<'static> {
    FieldValue::Enum {
        code: e.code(),
        parse: |s| E::parse_name(s).map(E::code),
    }
}

fn text(s: &str) -> Option<FieldValue<'_>> {
    Some(FieldValue::Text(s))
}

impl Matchable for Category {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let f = &self.fields;
        match name {
            "id" => Some(FieldValue::Id(Some(&self.meta.id))),
            "code" => text(&f.code),
            "title" => text(&f.title),
            "kind" => Some(enum_value(f.kind)),
            "create_time" => Some(FieldValue::Time(self.meta.create_time.timestamp_micros())),
            "update_time" => Some(FieldValue::Time(self.meta.update_time.timestamp_micros())),
            _ => None,
        }
    }
}

impl Matchable for Exchange {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let f = &self.fields;
        let int = |n: Option<i32>| Some(FieldValue::Int(n.map(i64::from)));
        match name {
            "id" => Some(FieldValue::Id(Some(&self.meta.id))),
            "title" => text(&f.title),
            "exchange_date" => Some(FieldValue::Date(f.exchange_date)),
            "status" => Some(enum_value(f.status)),
            "exchange_number" => int(f.exchange_number),
            "stage_number" => int(f.stage_number),
            "framework" => text(&f.framework),
            "counterparty" => text(&f.counterparty),
            "location" => text(&f.location),
            "announced_returned_count" => int(f.announced_returned_count),
            "announced_handed_over_count" => int(f.announced_handed_over_count),
            "category_codes" => Some(FieldValue::Codes(&f.category_codes)),
            "create_time" => Some(FieldValue::Time(self.meta.create_time.timestamp_micros())),
            "update_time" => Some(FieldValue::Time(self.meta.update_time.timestamp_micros())),
            _ => None,
        }
    }
}

impl Matchable for Person {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let f = &self.fields;
        match name {
            "id" => Some(FieldValue::Id(Some(&self.meta.id))),
            "kind" => Some(enum_value(f.kind)),
            "family_name" => text(&f.family_name),
            "given_name" => text(&f.given_name),
            "patronymic" => text(&f.patronymic),
            "date_of_birth" => Some(FieldValue::Date(f.date_of_birth)),
            "place_of_birth" => text(&f.place_of_birth),
            "sex" => Some(enum_value(f.sex)),
            "citizenship" => text(&f.citizenship),
            "service" => Some(enum_value(f.service)),
            "rank" => text(&f.rank),
            "rank_group" => Some(enum_value(f.rank_group)),
            "unit" => text(&f.unit),
            "service_number" => text(&f.service_number),
            "capture_date" => Some(FieldValue::Date(f.capture_date)),
            "capture_region" => text(&f.capture_region),
            "status" => Some(enum_value(f.status)),
            "exchange_id" => Some(FieldValue::Id(f.exchange_id.as_deref())),
            "convicted_in_captivity" => Some(FieldValue::Bool(f.convicted_in_captivity)),
            "restricted" => Some(FieldValue::Bool(f.restricted)),
            "category_codes" => Some(FieldValue::Codes(&f.category_codes)),
            "name" => Some(FieldValue::Names(translit::person_keys(
                &f.family_name,
                &f.given_name,
                &f.patronymic,
            ))),
            "aftercare.medical_examination" => Some(enum_value(f.aftercare.medical_examination)),
            "aftercare.rehabilitation" => Some(enum_value(f.aftercare.rehabilitation)),
            "aftercare.payments" => Some(enum_value(f.aftercare.payments)),
            "create_time" => Some(FieldValue::Time(self.meta.create_time.timestamp_micros())),
            "update_time" => Some(FieldValue::Time(self.meta.update_time.timestamp_micros())),
            _ => None,
        }
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
