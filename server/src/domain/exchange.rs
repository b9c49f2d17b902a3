//! Exchanges: one event, or one stage of a numbered exchange, in which people came home.

use chrono::NaiveDate;

use super::{
    Code, Error, ExchangeStatus, ExternalId, Meta, Violations, external,
    schema::{Access, Declared, Field, Items, Schema, access, enum_access},
    text,
};

/// What a client can write about an exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct ExchangeFields {
    pub title: String,
    pub exchange_date: Option<NaiveDate>,
    pub status: ExchangeStatus,
    pub exchange_number: Option<i32>,
    pub stage_number: Option<i32>,
    pub framework: String,
    pub counterparty: String,
    pub mediators: Vec<String>,
    pub location: String,
    pub announced_returned_count: Option<i32>,
    pub announced_handed_over_count: Option<i32>,
    pub category_codes: Vec<String>,
    pub source_urls: Vec<String>,
    pub notes: String,
    /// What other lists call this exchange; unique across exchanges.
    pub external_ids: Vec<ExternalId>,
}

/// A stored exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub meta: Meta,
    pub fields: ExchangeFields,
}

impl ExchangeFields {
    /// Trims and checks every field; references (category codes) are checked by the store.
    pub fn validate(mut self) -> Result<Self, Error> {
        let mut v = Violations::new();
        text::line(&mut v, "title", &mut self.title, text::NAME_MAX, true);
        if self.exchange_date.is_none() {
            v.add("exchange_date", "is required");
        }
        positive(&mut v, "exchange_number", self.exchange_number);
        positive(&mut v, "stage_number", self.stage_number);
        non_negative(
            &mut v,
            "announced_returned_count",
            self.announced_returned_count,
        );
        non_negative(
            &mut v,
            "announced_handed_over_count",
            self.announced_handed_over_count,
        );
        text::line(
            &mut v,
            "framework",
            &mut self.framework,
            text::NAME_MAX,
            false,
        );
        text::line(
            &mut v,
            "counterparty",
            &mut self.counterparty,
            text::NAME_MAX,
            false,
        );
        text::line(
            &mut v,
            "location",
            &mut self.location,
            text::NAME_MAX,
            false,
        );
        text::entries(&mut v, "mediators", &mut self.mediators, text::NAME_MAX);
        category_codes(&mut v, &mut self.category_codes);
        if text::entries(&mut v, "source_urls", &mut self.source_urls, text::URL_MAX) {
            for (i, url) in self.source_urls.iter().enumerate() {
                if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(' ')
                {
                    v.add(format!("source_urls[{i}]"), "must be an http(s) URL");
                }
            }
        }
        text::long(&mut v, "notes", &mut self.notes);
        external::check(&mut v, "external_ids", &mut self.external_ids);
        v.finish(self)
    }
}

/// Checks a list of category codes (syntax, count, duplicates). Whether they exist is the
/// store's check.
pub(crate) fn category_codes(v: &mut Violations, codes: &mut [String]) {
    if !text::entries(v, "category_codes", codes, text::CODE_MAX) {
        return;
    }
    for (i, c) in codes.iter().enumerate() {
        if c.is_empty() {
            continue;
        }
        if let Err(e) = Code::parse(c) {
            v.add(format!("category_codes[{i}]"), e);
        }
    }
}

fn positive(v: &mut Violations, field: &str, value: Option<i32>) {
    if let Some(n) = value
        && n <= 0
    {
        v.add(field, "must be positive when set");
    }
}

fn non_negative(v: &mut Violations, field: &str, value: Option<i32>) {
    if let Some(n) = value
        && n < 0
    {
        v.add(field, "must not be negative");
    }
}

/// The declaration of an exchange's fields (see `schema`).
pub const EXCHANGE: Schema<ExchangeFields> = Schema {
    resource: "exchanges",
    singular: "exchange",
    fields: &[
        Field::new("title", access!(Text, ExchangeFields, title)),
        Field::new(
            "exchange_date",
            access!(Date, ExchangeFields, exchange_date),
        )
        .not_null(),
        Field::new(
            "status",
            enum_access!(ExchangeFields, ExchangeStatus, status),
        ),
        Field::new(
            "exchange_number",
            access!(Int, ExchangeFields, exchange_number),
        ),
        Field::new("stage_number", access!(Int, ExchangeFields, stage_number)),
        Field::new("framework", access!(Text, ExchangeFields, framework)),
        Field::new("counterparty", access!(Text, ExchangeFields, counterparty)),
        Field::new("mediators", access!(List, ExchangeFields, mediators)),
        Field::new("location", access!(Text, ExchangeFields, location)),
        Field::new(
            "announced_returned_count",
            access!(Int, ExchangeFields, announced_returned_count),
        ),
        Field::new(
            "announced_handed_over_count",
            access!(Int, ExchangeFields, announced_handed_over_count),
        ),
        Field::new(
            "category_codes",
            access!(Codes, ExchangeFields, category_codes),
        ),
        Field::new("source_urls", access!(List, ExchangeFields, source_urls)),
        Field::new("notes", access!(Text, ExchangeFields, notes)).unfiltered(),
        Field::new(
            "external_ids",
            Access::Items(&Items::<ExchangeFields, ExternalId> {
                get: |f| &f.external_ids,
                get_mut: |f| &mut f.external_ids,
            }),
        )
        .filtered(),
    ],
    derived: &[],
};

impl Declared for ExchangeFields {
    const SCHEMA: &'static Schema<Self> = &EXCHANGE;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ExchangeFields {
        ExchangeFields {
            title: "Stage 1".into(),
            exchange_date: NaiveDate::from_ymd_opt(2025, 7, 4),
            ..Default::default()
        }
    }

    fn bad_fields(f: ExchangeFields) -> Vec<String> {
        match f.validate() {
            Err(Error::InvalidArgument(list)) => list.into_iter().map(|v| v.field).collect(),
            _ => vec![],
        }
    }

    #[test]
    fn a_title_and_a_date_are_enough() {
        assert!(valid().validate().is_ok());
    }

    #[test]
    fn exchanges_without_a_date_are_rejected() {
        let f = ExchangeFields {
            exchange_date: None,
            ..valid()
        };
        assert_eq!(bad_fields(f), ["exchange_date"]);
    }

    #[test]
    fn bad_category_codes_and_urls_are_named_by_index() {
        let f = ExchangeFields {
            category_codes: vec!["under-25".into(), "Bad Code".into(), "under-25".into()],
            source_urls: vec!["ftp://x".into()],
            ..valid()
        };
        assert_eq!(
            bad_fields(f),
            ["category_codes[2]", "category_codes[1]", "source_urls[0]"]
        );
    }

    #[test]
    fn more_than_fifty_mediators_are_rejected() {
        let f = ExchangeFields {
            mediators: (0..51).map(|i| format!("m{i}")).collect(),
            ..valid()
        };
        assert_eq!(bad_fields(f), ["mediators"]);
    }

    #[test]
    fn counts_must_not_be_negative_and_numbers_positive() {
        let f = ExchangeFields {
            announced_returned_count: Some(-1),
            exchange_number: Some(0),
            ..valid()
        };
        assert_eq!(
            bad_fields(f),
            ["exchange_number", "announced_returned_count"]
        );
    }

    #[test]
    fn declarations_cover_every_field() {
        crate::domain::schema::tests::assert_covers(&EXCHANGE);
    }
}
