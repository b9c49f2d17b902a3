//! The fields a List filter or `order_by` may name, per table: for the registry's resources
//! taken from their declarations (`domain::schema`), with where the store keeps each set (link
//! tables) and which columns an index serves; for tokens and audit events, declared here (they
//! have no domain rules).

use std::sync::LazyLock;

use crate::domain::{
    CATEGORY, EXCHANGE, PERSON, PERSON_EVENT, Role,
    schema::{self, Access, Schema},
};

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
    /// A set of values in a link table; only `:` applies. `codes`: the values are category
    /// codes (their syntax is checked).
    Set {
        link: Link,
        codes: bool,
    },
    /// Name search over normalised name keys (`domain::translit`): `name:"Шевч"` matches a
    /// family, given or patronymic name starting so, in Cyrillic or Latin; only `:` applies.
    NameKeys(Link),
}

/// Rows `(owner, value)` that hold a set field, one row per value.
#[derive(Debug, Clone, Copy)]
pub struct Link {
    pub table: &'static str,
    pub owner: &'static str,
    pub value: &'static str,
}

/// A field a filter or ordering may name.
#[derive(Debug, Clone, Copy)]
pub struct ListField {
    pub name: &'static str,
    pub column: &'static str,
    pub ty: FieldType,
    pub nullable: bool,
    /// Whether an index `(column, id)` serves an ordering by this field (see the migrations).
    /// Decides whether a filtered page may be probed in index order.
    pub indexed: bool,
    /// Whether `order_by` may name it (sets never).
    pub sortable: bool,
}

impl ListField {
    pub const fn new(name: &'static str, ty: FieldType) -> Self {
        Self {
            name,
            column: name,
            ty,
            nullable: false,
            indexed: true,
            sortable: !matches!(ty, FieldType::Set { .. } | FieldType::NameKeys(_)),
        }
    }

    pub const fn unindexed(mut self) -> Self {
        self.indexed = false;
        self
    }
}

/// A listable table and its fields.
pub struct Table {
    /// The collection, as errors name it.
    pub name: &'static str,
    pub table: &'static str,
    pub fields: Vec<ListField>,
}

impl Table {
    pub fn field(&self, name: &str) -> Option<&ListField> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn field_names(&self, sortable: bool) -> String {
        self.fields
            .iter()
            .filter(|f| !sortable || f.sortable)
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The list schema of a declared resource: `id`, its filterable fields, the times. Set
    /// fields are found in `links` (by field name), `unindexed` names the sortable fields no
    /// index serves and `filter_only` the fields that are neither indexed nor sortable; all
    /// are checked against the declaration by the tests.
    fn declared<T>(
        schema: &Schema<T>,
        table: &'static str,
        links: &[(&str, Link)],
        unindexed: &[&str],
        filter_only: &[&str],
    ) -> Table {
        let mut fields = vec![ListField::new("id", FieldType::Id)];
        for f in schema.fields.iter().filter(|f| f.filterable) {
            let link = || links.iter().find(|(n, _)| *n == f.name).map(|(_, l)| *l);
            let ty = match &f.access {
                Access::Text(..) => Some(FieldType::Text),
                Access::Int(..) => Some(FieldType::Int),
                Access::Bool(..) => Some(FieldType::Bool),
                Access::Date(..) => Some(FieldType::Date),
                Access::Enum(e) => Some(FieldType::Enum {
                    parse: e.parse,
                    names: e.names,
                }),
                Access::Id(..) => Some(FieldType::Id),
                Access::Codes(..) => link().map(|link| FieldType::Set { link, codes: true }),
                Access::List(..) => link().map(|link| FieldType::Set { link, codes: false }),
                Access::Names(_) => link().map(FieldType::NameKeys),
                // Items with keys (external ids), kept in a link table.
                Access::Items(_) => link().map(|link| FieldType::Set { link, codes: false }),
                // Not filterable (`Field::new`); a time filter would be `FieldType::Time`.
                Access::Time(..) => None,
            };
            // A set without a link table cannot be filtered; `links_match_the_declarations`
            // fails on it.
            let Some(ty) = ty else { continue };
            let filter_only = filter_only.contains(&f.name);
            fields.push(ListField {
                name: f.name,
                column: f.column.unwrap_or(f.name),
                ty,
                nullable: f.nullable,
                indexed: !unindexed.contains(&f.name) && !filter_only,
                sortable: !f.is_set() && !filter_only,
            });
        }
        fields.push(ListField::new("create_time", FieldType::Time));
        fields.push(ListField::new("update_time", FieldType::Time));
        Table {
            name: schema.resource,
            table,
            fields,
        }
    }
}

pub const PERSON_CATEGORIES: Link = Link {
    table: "person_categories",
    owner: "person_id",
    value: "category_code",
};
pub const EXCHANGE_CATEGORIES: Link = Link {
    table: "exchange_categories",
    owner: "exchange_id",
    value: "category_code",
};
pub const PERSON_NAME_KEYS: Link = Link {
    table: "person_name_keys",
    owner: "person_id",
    value: "key",
};
pub const PERSON_MATCH_KEYS: Link = Link {
    table: "person_match_keys",
    owner: "person_id",
    value: "key",
};
pub const PERSON_EXTERNAL_IDS: Link = Link {
    table: "person_external_ids",
    owner: "person_id",
    value: "key",
};
pub const EXCHANGE_EXTERNAL_IDS: Link = Link {
    table: "exchange_external_ids",
    owner: "exchange_id",
    value: "key",
};
pub const AUDIT_RESOURCES: Link = Link {
    table: "audit_resources",
    owner: "event_id",
    value: "resource_id",
};

const PERSON_LINKS: &[(&str, Link)] = &[
    ("category_codes", PERSON_CATEGORIES),
    ("name", PERSON_NAME_KEYS),
    ("external_ids", PERSON_EXTERNAL_IDS),
];
const EXCHANGE_LINKS: &[(&str, Link)] = &[
    ("category_codes", EXCHANGE_CATEGORIES),
    ("external_ids", EXCHANGE_EXTERNAL_IDS),
];

/// The person's fields of a few values each, every one of which holds a large share of the
/// registry: filterable (a page walks its ordering's index and tests them row by row, see
/// `paging`), but with no index of their own and not sortable — an index per flag cost every
/// write a B-tree insert and served no query (BENCHMARKS.md, "Indexes that queries earn").
/// `status` is not among them: its rare values are selective filters.
pub const PERSON_FILTER_ONLY: &[&str] = &[
    "kind",
    "sex",
    "service",
    "rank_group",
    "convicted_in_captivity",
    "aftercare.medical_examination",
    "aftercare.rehabilitation",
    "aftercare.payments",
];

pub static CATEGORIES: LazyLock<Table> =
    LazyLock::new(|| Table::declared(&CATEGORY, "categories", &[], &[], &[]));
pub static EXCHANGES: LazyLock<Table> =
    LazyLock::new(|| Table::declared(&EXCHANGE, "exchanges", EXCHANGE_LINKS, &[], &[]));
pub static PERSON_EVENTS: LazyLock<Table> =
    LazyLock::new(|| Table::declared(&PERSON_EVENT, "person_events", &[], &[], &[]));
pub static PERSONS: LazyLock<Table> = LazyLock::new(|| {
    Table::declared(
        &PERSON,
        "persons",
        PERSON_LINKS,
        &["restricted"],
        PERSON_FILTER_ONLY,
    )
});

fn enum_type<E: crate::domain::WireEnum>() -> FieldType {
    FieldType::Enum {
        parse: schema::parse_enum::<E>,
        names: E::names,
    }
}

pub static AUDIT_EVENTS: LazyLock<Table> = LazyLock::new(|| Table {
    name: "audit_events",
    table: "audit_events",
    fields: vec![
        ListField::new("id", FieldType::Text),
        ListField::new("time", FieldType::Time),
        ListField::new("token_id", FieldType::Text),
        ListField::new("token_name", FieldType::Text),
        ListField::new("role", enum_type::<Role>()).unindexed(),
        ListField::new("method", FieldType::Text),
        ListField::new("code", FieldType::Text).unindexed(),
        ListField::new("peer", FieldType::Text).unindexed(),
        ListField::new("request_id", FieldType::Text),
        ListField::new(
            "resource_ids",
            FieldType::Set {
                link: AUDIT_RESOURCES,
                codes: false,
            },
        ),
    ],
});

pub static TOKENS: LazyLock<Table> = LazyLock::new(|| Table {
    name: "tokens",
    table: "access_tokens",
    fields: vec![
        ListField::new("id", FieldType::Id),
        ListField::new("name", FieldType::Text),
        ListField::new("role", enum_type::<Role>()).unindexed(),
        ListField::new("create_time", FieldType::Time).unindexed(),
    ],
});

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T>(schema: &Schema<T>, table: &Table, links: &[(&str, Link)]) {
        for f in schema.fields.iter().filter(|f| f.filterable) {
            assert!(
                table.field(f.name).is_some(),
                "{}: filterable field `{}` has no list field (a set needs a link table)",
                schema.resource,
                f.name
            );
        }
        for (name, _) in links {
            assert!(
                schema.field(name).is_some_and(|f| f.is_set()),
                "{}: link for `{name}`, which is not a declared set",
                schema.resource
            );
        }
    }

    #[test]
    fn links_match_the_declarations() {
        check(&PERSON, &PERSONS, PERSON_LINKS);
        check(&EXCHANGE, &EXCHANGES, EXCHANGE_LINKS);
        check(&CATEGORY, &CATEGORIES, &[]);
        assert!(PERSONS.field("restricted").is_some_and(|f| !f.indexed));
    }

    /// The filter-only fields are exactly those whose index the lean-indexes migration drops,
    /// and `order_by` refuses them naming the sortable fields.
    #[test]
    fn filter_only_fields_have_no_index() {
        use crate::store::migration::m20261203_000011_lean_person_indexes::DROPPED;
        let mut columns: Vec<&str> = PERSON_FILTER_ONLY
            .iter()
            .map(|name| {
                let Some(f) = PERSONS.field(name) else {
                    panic!("{name} is not a list field of persons")
                };
                assert!(!f.indexed && !f.sortable, "{name}");
                f.column
            })
            .collect();
        columns.sort_unstable();
        let mut dropped = DROPPED.to_vec();
        dropped.sort_unstable();
        assert_eq!(columns, dropped);
        assert!(
            PERSONS
                .field("status")
                .is_some_and(|f| f.indexed && f.sortable)
        );
        let Err(err) = PERSONS.ordering("sex") else {
            panic!("persons are sortable by sex")
        };
        let text = format!("{err:?}");
        assert!(
            text.contains("sortable fields") && !text.contains(" sex,"),
            "{text}"
        );
        assert!(PERSONS.ordering("status desc, family_name").is_ok());
    }

    #[test]
    fn unfiltered_fields_are_not_listed() {
        assert!(PERSONS.field("notes").is_none());
        assert!(EXCHANGES.field("mediators").is_none());
        assert!(CATEGORIES.field("description").is_none());
        let names: Vec<_> = PERSONS.fields.iter().map(|f| f.name).collect();
        assert_eq!(names.first(), Some(&"id"));
        assert!(names.contains(&"aftercare.payments"));
        assert_eq!(
            PERSONS.field("aftercare.payments").map(|f| f.column),
            Some("aftercare_payments")
        );
    }
}
