//! External ids: what another list calls a person or an exchange (`coordination-hq/12345`).
//! Unique per (system, id) across the registry (the store keeps one row per id and an index),
//! filterable as `external_ids:"coordination-hq/12345"`, and how imports match rows.

use std::collections::HashSet;

use super::{
    Violations,
    schema::{Declared, Field, Schema, access},
    text,
};

/// One id of the resource in another system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct ExternalId {
    /// The system that assigned it: lower-case letters, digits, `-`, `_` and `.`.
    pub system: String,
    /// The id in that system (any text on one line).
    pub id: String,
}

impl ExternalId {
    /// The form filters, lookups and the store's unique index use: `system/id`. A system has
    /// no `/`, so the split is unambiguous.
    pub fn key(&self) -> String {
        format!("{}/{}", self.system, self.id)
    }
}

/// The declaration of an external id's fields.
pub const EXTERNAL_ID: Schema<ExternalId> = Schema {
    resource: "external_ids",
    singular: "external_id",
    fields: &[
        Field::new("system", access!(Text, ExternalId, system)),
        Field::new("id", access!(Text, ExternalId, id)),
    ],
    derived: &[],
};

impl Declared for ExternalId {
    const SCHEMA: &'static Schema<Self> = &EXTERNAL_ID;

    fn key(&self) -> Option<String> {
        Some(ExternalId::key(self))
    }
}

/// Checks a system name: what `external_ids[i].system` must be.
pub fn check_system(v: &mut Violations, field: &str, system: &mut String) {
    text::line(v, field, system, text::CODE_MAX, true);
    if !system.is_empty()
        && !system
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
    {
        v.add(
            field,
            "must be lower-case letters, digits, '-', '_' or '.' (e.g. coordination-hq)",
        );
    }
}

/// Trims and checks a resource's external ids: at most 50, each system valid and id present,
/// no (system, id) twice. Linear: one set of keys.
pub fn check(v: &mut Violations, field: &str, ids: &mut [ExternalId]) {
    if !text::count(v, field, ids.len()) {
        return;
    }
    let mut seen = HashSet::with_capacity(ids.len());
    for (i, x) in ids.iter_mut().enumerate() {
        check_system(v, &format!("{field}[{i}].system"), &mut x.system);
        text::line(
            v,
            &format!("{field}[{i}].id"),
            &mut x.id,
            text::NAME_MAX,
            true,
        );
        if !x.system.is_empty() && !x.id.is_empty() && !seen.insert(x.key()) {
            v.add(
                format!("{field}[{i}]"),
                format!("duplicates an earlier entry {:?}", x.key()),
            );
        }
    }
}

/// Parses `system/id` (a filter value, a lookup, a CLI argument).
pub fn parse_key(s: &str) -> Option<ExternalId> {
    let (system, id) = s.trim().split_once('/')?;
    (!system.is_empty() && !id.is_empty()).then(|| ExternalId {
        system: system.to_owned(),
        id: id.to_owned(),
    })
}

/// `current`'s ids followed by those of `incoming` it lacks (an import adds ids, never drops
/// one a roster does not mention).
pub fn merged(current: &[ExternalId], incoming: &[ExternalId]) -> Vec<ExternalId> {
    let mut out = current.to_vec();
    for x in incoming {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(system: &str, id: &str) -> ExternalId {
        ExternalId {
            system: system.into(),
            id: id.into(),
        }
    }

    #[test]
    fn systems_are_names_and_keys_are_unique_in_a_list() {
        let mut v = Violations::new();
        let mut ids = vec![
            id(" coordination-hq ", "12345"),
            id("Coordination HQ", "1"),
            id("coordination-hq", "12345"),
            id("icrc", ""),
        ];
        check(&mut v, "external_ids", &mut ids);
        let fields: Vec<_> = v.into_vec().into_iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            [
                "external_ids[1].system",
                "external_ids[2]",
                "external_ids[3].id"
            ]
        );
        assert_eq!(ids[0].system, "coordination-hq");
    }

    #[test]
    fn keys_parse_back() {
        let x = id("coordination-hq", "12/345");
        assert_eq!(parse_key(&x.key()), Some(x));
        assert_eq!(parse_key("nosystem"), None);
        assert_eq!(parse_key("/1"), None);
    }

    #[test]
    fn merging_keeps_every_id_once() {
        let a = id("a", "1");
        let b = id("b", "2");
        assert_eq!(
            merged(std::slice::from_ref(&a), &[b.clone(), a.clone()]),
            [a, b]
        );
    }

    #[test]
    fn the_declaration_covers_its_fields() {
        crate::domain::schema::tests::assert_covers(&EXTERNAL_ID);
    }
}
