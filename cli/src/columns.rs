//! The columns of each resource in files and tables: one declaration per field, with its name
//! (the proto field's, `aftercare.payments` for nested ones), the display label an export may
//! write instead, how a value is written into a cell and read back from one.
//!
//! Cells are text. Dates are written `YYYY-MM-DD` and read as that or `DD.MM.YYYY`; enum values
//! are written by their short name (`MILITARY`) and read by the short or full name
//! (`PERSON_KIND_MILITARY`), in any case; repeated values are `|`-separated (`;` is a delimiter
//! in Ukrainian-locale spreadsheets); identity documents and contacts are JSON arrays; external
//! ids are `system/id`. Columns without a setter are output only and ignored on import.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use homecoming_client::{Date, proto};
use serde_json::{Value as Json, json};

/// How a column's cells map to JSON (JSON Lines and `-o json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Int,
    /// `|`-separated values: a JSON array of strings.
    List,
    /// A JSON value in the cell.
    Json,
}

pub type Setter<T> = fn(&mut T, &str) -> Result<(), String>;

pub struct Column<T> {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub get: fn(&T) -> String,
    /// `None`: output only.
    pub set: Option<Setter<T>>,
}

impl<T> Column<T> {
    /// The cell as JSON, by the column's kind.
    pub fn json(&self, r: &T) -> Json {
        let cell = (self.get)(r);
        match self.kind {
            Kind::Text => Json::String(cell),
            Kind::Bool => Json::Bool(cell == "true"),
            Kind::Int => cell.parse::<i64>().map_or(Json::Null, Json::from),
            Kind::List => Json::Array(split(&cell).into_iter().map(Json::String).collect()),
            Kind::Json if cell.is_empty() => json!([]),
            Kind::Json => serde_json::from_str(&cell).unwrap_or(Json::String(cell)),
        }
    }
}

/// A resource's row as one JSON object (JSON Lines, `-o json`).
pub fn to_json<T>(columns: &[Column<T>], r: &T) -> Json {
    Json::Object(
        columns
            .iter()
            .map(|c| (c.name.to_owned(), c.json(r)))
            .collect(),
    )
}

/// A JSON value as a cell: text as it is, arrays of text `|`-joined, anything else as JSON.
pub fn cell_of_json(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::Array(items) if items.iter().all(Json::is_string) => items
            .iter()
            .filter_map(Json::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        other => other.to_string(),
    }
}

pub fn split(cell: &str) -> Vec<String> {
    cell.split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn date_cell(d: &Option<Date>) -> String {
    match d {
        Some(d) if d.year > 0 && d.month > 0 && d.day > 0 => {
            format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
        }
        Some(d) if d.year > 0 && d.month > 0 => format!("{:04}-{:02}", d.year, d.month),
        Some(d) if d.year > 0 => format!("{:04}", d.year),
        _ => String::new(),
    }
}

/// `YYYY-MM-DD` or `DD.MM.YYYY` (also `D.M.YYYY`); empty: unset.
pub fn parse_date(cell: &str) -> Result<Option<Date>, String> {
    let s = cell.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let parsed = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d.%m.%Y"));
    match parsed {
        Ok(d) => {
            use chrono::Datelike;
            Ok(Some(Date {
                year: d.year(),
                month: i32::try_from(d.month()).unwrap_or_default(),
                day: i32::try_from(d.day()).unwrap_or_default(),
            }))
        }
        Err(_) => Err(format!(
            "invalid date {s:?} (write YYYY-MM-DD or DD.MM.YYYY)"
        )),
    }
}

pub fn time_cell(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn parse_time(s: &str) -> Result<Option<prost_types::Timestamp>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| {
            Some(prost_types::Timestamp {
                seconds: t.timestamp(),
                nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or_default(),
            })
        })
        .map_err(|_| format!("invalid time {s:?} (RFC 3339, e.g. 2025-07-04T12:00:00Z)"))
}

pub fn parse_bool(cell: &str) -> Result<bool, String> {
    match cell.trim().to_lowercase().as_str() {
        "" | "false" | "no" | "0" | "ні" | "нет" => Ok(false),
        "true" | "yes" | "1" | "так" | "да" => Ok(true),
        other => Err(format!("invalid yes/no value {other:?} (true or false)")),
    }
}

fn parse_int(cell: &str) -> Result<Option<i32>, String> {
    let s = cell.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("invalid number {s:?}"))
}

/// An enum's cell and parser, from prost's generated names.
pub struct EnumNames {
    /// `PERSON_KIND_`.
    pub prefix: &'static str,
    pub name_of: fn(i32) -> Option<&'static str>,
    pub code_of: fn(&str) -> Option<i32>,
}

impl EnumNames {
    pub fn cell(&self, code: i32) -> String {
        if code == 0 {
            return String::new();
        }
        (self.name_of)(code)
            .map(|n| n.trim_start_matches(self.prefix).to_owned())
            .unwrap_or_else(|| code.to_string())
    }

    pub fn parse(&self, cell: &str) -> Result<i32, String> {
        let s = cell.trim();
        if s.is_empty() {
            return Ok(0);
        }
        let upper = s.to_uppercase().replace([' ', '-'], "_");
        let full = if upper.starts_with(self.prefix) {
            upper
        } else {
            format!("{}{upper}", self.prefix)
        };
        match (self.code_of)(&full) {
            // `UNSPECIFIED` (as other tools write an unset value) is unset.
            Some(code) => Ok(code),
            _ => Err(format!("unknown value {s:?} ({})", self.names())),
        }
    }

    fn names(&self) -> String {
        (1..64)
            .map_while(|c| (self.name_of)(c))
            .map(|n| n.trim_start_matches(self.prefix))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! enum_names {
    ($E:ident, $prefix:literal) => {
        EnumNames {
            prefix: $prefix,
            name_of: |c| proto::$E::try_from(c).ok().map(|e| e.as_str_name()),
            code_of: |s| proto::$E::from_str_name(s).map(|e| e as i32),
        }
    };
}

pub const PERSON_KIND: EnumNames = enum_names!(PersonKind, "PERSON_KIND_");
pub const SEX: EnumNames = enum_names!(Sex, "SEX_");
pub const SERVICE: EnumNames = enum_names!(ServiceBranch, "SERVICE_BRANCH_");
pub const RANK_GROUP: EnumNames = enum_names!(RankGroup, "RANK_GROUP_");
pub const PERSON_STATUS: EnumNames = enum_names!(PersonStatus, "PERSON_STATUS_");
pub const CARE_STATUS: EnumNames = enum_names!(CareStatus, "CARE_STATUS_");
pub const DOCUMENT_TYPE: EnumNames = enum_names!(IdentityDocumentType, "IDENTITY_DOCUMENT_TYPE_");
pub const EXCHANGE_STATUS: EnumNames = enum_names!(ExchangeStatus, "EXCHANGE_STATUS_");
pub const CATEGORY_KIND: EnumNames = enum_names!(CategoryKind, "CATEGORY_KIND_");
pub const EVENT_TYPE: EnumNames = enum_names!(PersonEventType, "PERSON_EVENT_TYPE_");

macro_rules! text {
    ($T:ty, $name:literal, $label:literal, $f:ident) => {
        Column::<$T> {
            name: $name,
            label: $label,
            kind: Kind::Text,
            get: |r| r.$f.clone(),
            set: Some(|r, v| {
                r.$f = v.trim().to_owned();
                Ok(())
            }),
        }
    };
}

macro_rules! list {
    ($T:ty, $name:literal, $label:literal, $f:ident) => {
        Column::<$T> {
            name: $name,
            label: $label,
            kind: Kind::List,
            get: |r| r.$f.join("|"),
            set: Some(|r, v| {
                r.$f = split(v);
                Ok(())
            }),
        }
    };
}

macro_rules! enumeration {
    ($T:ty, $name:literal, $label:literal, $names:ident, $f:ident) => {
        Column::<$T> {
            name: $name,
            label: $label,
            kind: Kind::Text,
            get: |r| $names.cell(r.$f),
            set: Some(|r, v| {
                r.$f = $names.parse(v)?;
                Ok(())
            }),
        }
    };
}

macro_rules! date {
    ($T:ty, $name:literal, $label:literal, $f:ident) => {
        Column::<$T> {
            name: $name,
            label: $label,
            kind: Kind::Text,
            get: |r| date_cell(&r.$f),
            set: Some(|r, v| {
                r.$f = parse_date(v)?;
                Ok(())
            }),
        }
    };
}

macro_rules! boolean {
    ($T:ty, $name:literal, $label:literal, $f:ident) => {
        Column::<$T> {
            name: $name,
            label: $label,
            kind: Kind::Bool,
            get: |r| r.$f.to_string(),
            set: Some(|r, v| {
                r.$f = parse_bool(v)?;
                Ok(())
            }),
        }
    };
}

macro_rules! int {
    ($T:ty, $name:literal, $label:literal, $f:ident) => {
        Column::<$T> {
            name: $name,
            label: $label,
            kind: Kind::Int,
            get: |r| r.$f.map(|n| n.to_string()).unwrap_or_default(),
            set: Some(|r, v| {
                r.$f = parse_int(v)?;
                Ok(())
            }),
        }
    };
}

macro_rules! meta {
    ($T:ty) => {
        [
            Column::<$T> {
                name: "id",
                label: "Id",
                kind: Kind::Text,
                get: |r| r.id.clone(),
                // Names the record a row is about (an exported row).
                set: Some(|r, v| {
                    r.id = v.trim().to_owned();
                    Ok(())
                }),
            },
            Column::<$T> {
                name: "create_time",
                label: "Created",
                kind: Kind::Text,
                get: |r| time_cell(&r.create_time),
                set: None,
            },
            Column::<$T> {
                name: "update_time",
                label: "Updated",
                kind: Kind::Text,
                get: |r| time_cell(&r.update_time),
                set: None,
            },
            Column::<$T> {
                name: "etag",
                label: "Etag",
                kind: Kind::Text,
                get: |r| r.etag.clone(),
                set: None,
            },
        ]
    };
}

pub fn external_ids_cell(ids: &[proto::ExternalId]) -> String {
    ids.iter()
        .map(|x| format!("{}/{}", x.system, x.id))
        .collect::<Vec<_>>()
        .join("|")
}

pub fn parse_external_ids(cell: &str) -> Result<Vec<proto::ExternalId>, String> {
    split(cell)
        .into_iter()
        .map(|key| match key.split_once('/') {
            Some((system, id)) if !system.trim().is_empty() && !id.trim().is_empty() => {
                Ok(proto::ExternalId {
                    system: system.trim().to_owned(),
                    id: id.trim().to_owned(),
                })
            }
            _ => Err(format!("invalid external id {key:?} (write system/id)")),
        })
        .collect()
}

fn aftercare(p: &mut proto::Person) -> &mut proto::Aftercare {
    p.aftercare.get_or_insert_with(Default::default)
}

/// An aftercare step's column (`aftercare.payments`).
macro_rules! care {
    ($name:literal, $label:literal, $f:ident) => {
        Column::<proto::Person> {
            name: $name,
            label: $label,
            kind: Kind::Text,
            get: |p| CARE_STATUS.cell(p.aftercare.as_ref().map_or(0, |a| a.$f)),
            set: Some(|p, v| {
                aftercare(p).$f = CARE_STATUS.parse(v)?;
                Ok(())
            }),
        }
    };
}

fn documents_cell(p: &proto::Person) -> String {
    if p.identity_documents.is_empty() {
        return String::new();
    }
    Json::Array(
        p.identity_documents
            .iter()
            .map(|d| {
                json!({
                    "type": DOCUMENT_TYPE.cell(d.r#type),
                    "number": d.number,
                    "issuer": d.issuer,
                })
            })
            .collect(),
    )
    .to_string()
}

fn items(cell: &str) -> Result<Vec<serde_json::Map<String, Json>>, String> {
    let s = cell.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let v: Json = serde_json::from_str(s).map_err(|e| format!("invalid JSON: {e}"))?;
    let Json::Array(list) = v else {
        return Err("must be a JSON array of objects".into());
    };
    list.into_iter()
        .map(|item| match item {
            Json::Object(o) => Ok(o),
            _ => Err("must be a JSON array of objects".into()),
        })
        .collect()
}

fn text_of(o: &serde_json::Map<String, Json>, key: &str) -> String {
    o.get(key).map(cell_of_json).unwrap_or_default()
}

fn parse_documents(p: &mut proto::Person, cell: &str) -> Result<(), String> {
    p.identity_documents = items(cell)?
        .into_iter()
        .map(|o| {
            Ok(proto::IdentityDocument {
                r#type: DOCUMENT_TYPE.parse(&text_of(&o, "type"))?,
                number: text_of(&o, "number"),
                issuer: text_of(&o, "issuer"),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(())
}

fn contacts_cell(p: &proto::Person) -> String {
    if p.contacts.is_empty() {
        return String::new();
    }
    Json::Array(
        p.contacts
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "relationship": c.relationship,
                    "phone": c.phone,
                    "address": c.address,
                    "informed_time": time_cell(&c.informed_time),
                })
            })
            .collect(),
    )
    .to_string()
}

fn parse_contacts(p: &mut proto::Person, cell: &str) -> Result<(), String> {
    p.contacts = items(cell)?
        .into_iter()
        .map(|o| {
            Ok(proto::Contact {
                name: text_of(&o, "name"),
                relationship: text_of(&o, "relationship"),
                phone: text_of(&o, "phone"),
                address: text_of(&o, "address"),
                informed_time: parse_time(&text_of(&o, "informed_time"))?,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(())
}

type P = proto::Person;

/// A person's columns, in the order exports write them.
pub fn persons() -> Vec<Column<P>> {
    let mut c: Vec<Column<P>> = meta!(P).into();
    c.extend([
        Column::<P> {
            name: "external_ids",
            label: "External ids",
            kind: Kind::List,
            get: |p| external_ids_cell(&p.external_ids),
            set: Some(|p, v| {
                p.external_ids = parse_external_ids(v)?;
                Ok(())
            }),
        },
        enumeration!(P, "kind", "Kind", PERSON_KIND, kind),
        text!(P, "family_name", "Family name", family_name),
        text!(P, "given_name", "Given name", given_name),
        text!(P, "patronymic", "Patronymic", patronymic),
        text!(P, "father_name", "Father's name", father_name),
        text!(
            P,
            "mother_maiden_name",
            "Mother's maiden name",
            mother_maiden_name
        ),
        list!(P, "aliases", "Aliases", aliases),
        date!(P, "date_of_birth", "Date of birth", date_of_birth),
        text!(P, "place_of_birth", "Place of birth", place_of_birth),
        enumeration!(P, "sex", "Sex", SEX, sex),
        text!(P, "citizenship", "Citizenship", citizenship),
        enumeration!(P, "service", "Service", SERVICE, service),
        text!(P, "rank", "Rank", rank),
        enumeration!(P, "rank_group", "Rank group", RANK_GROUP, rank_group),
        text!(P, "unit", "Unit", unit),
        text!(P, "service_number", "Service number", service_number),
        text!(
            P,
            "power_depended_on",
            "Power depended on",
            power_depended_on
        ),
        date!(P, "capture_date", "Capture date", capture_date),
        text!(P, "capture_region", "Capture region", capture_region),
        enumeration!(P, "status", "Status", PERSON_STATUS, status),
        text!(P, "exchange_id", "Exchange id", exchange_id),
        boolean!(
            P,
            "convicted_in_captivity",
            "Convicted in captivity",
            convicted_in_captivity
        ),
        list!(P, "category_codes", "Categories", category_codes),
        care!(
            "aftercare.medical_examination",
            "Medical examination",
            medical_examination
        ),
        care!("aftercare.rehabilitation", "Rehabilitation", rehabilitation),
        care!("aftercare.payments", "Payments", payments),
        text!(P, "last_residence", "Last residence", last_residence),
        text!(
            P,
            "correspondence_address",
            "Correspondence address",
            correspondence_address
        ),
        text!(
            P,
            "distinguishing_marks",
            "Distinguishing marks",
            distinguishing_marks
        ),
        Column::<P> {
            name: "identity_documents",
            label: "Identity documents",
            kind: Kind::Json,
            get: documents_cell,
            set: Some(parse_documents),
        },
        Column::<P> {
            name: "contacts",
            label: "Contacts",
            kind: Kind::Json,
            get: contacts_cell,
            set: Some(parse_contacts),
        },
        boolean!(P, "restricted", "Restricted", restricted),
        text!(P, "notes", "Notes", notes),
        Column::<P> {
            name: "age_at_return",
            label: "Age at return",
            kind: Kind::Int,
            get: |p| p.age_at_return.map(|n| n.to_string()).unwrap_or_default(),
            set: None,
        },
        Column::<P> {
            name: "days_in_captivity",
            label: "Days in captivity",
            kind: Kind::Int,
            get: |p| {
                p.days_in_captivity
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            },
            set: None,
        },
    ]);
    c
}

type X = proto::Exchange;

pub fn exchanges() -> Vec<Column<X>> {
    let mut c: Vec<Column<X>> = meta!(X).into();
    c.extend([
        Column::<X> {
            name: "external_ids",
            label: "External ids",
            kind: Kind::List,
            get: |x| external_ids_cell(&x.external_ids),
            set: Some(|x, v| {
                x.external_ids = parse_external_ids(v)?;
                Ok(())
            }),
        },
        text!(X, "title", "Title", title),
        date!(X, "exchange_date", "Date", exchange_date),
        enumeration!(X, "status", "Status", EXCHANGE_STATUS, status),
        int!(X, "exchange_number", "Exchange number", exchange_number),
        int!(X, "stage_number", "Stage", stage_number),
        text!(X, "framework", "Framework", framework),
        text!(X, "counterparty", "Counterparty", counterparty),
        list!(X, "mediators", "Mediators", mediators),
        text!(X, "location", "Location", location),
        int!(
            X,
            "announced_returned_count",
            "Announced returned",
            announced_returned_count
        ),
        int!(
            X,
            "announced_handed_over_count",
            "Announced handed over",
            announced_handed_over_count
        ),
        list!(X, "category_codes", "Categories", category_codes),
        list!(X, "source_urls", "Sources", source_urls),
        text!(X, "notes", "Notes", notes),
    ]);
    c
}

type C = proto::Category;

pub fn categories() -> Vec<Column<C>> {
    let mut c: Vec<Column<C>> = meta!(C).into();
    c.extend([
        text!(C, "code", "Code", code),
        text!(C, "title", "Title", title),
        enumeration!(C, "kind", "Kind", CATEGORY_KIND, kind),
        text!(C, "description", "Description", description),
    ]);
    c
}

type E = proto::PersonEvent;

pub fn events() -> Vec<Column<E>> {
    let mut c: Vec<Column<E>> = meta!(E).into();
    c.extend([
        text!(E, "person_id", "Person id", person_id),
        enumeration!(E, "type", "Type", EVENT_TYPE, r#type),
        date!(E, "date", "Date", date),
        text!(E, "place", "Place", place),
        text!(E, "exchange_id", "Exchange id", exchange_id),
        enumeration!(E, "care_status", "Care status", CARE_STATUS, care_status),
        Column::<E> {
            name: "amount",
            label: "Amount",
            kind: Kind::Text,
            get: |e| {
                e.amount
                    .as_ref()
                    .map(|m| format!("{} {}", m.minor_units, m.currency))
                    .unwrap_or_default()
            },
            set: None,
        },
        text!(E, "source", "Source", source),
        text!(E, "notes", "Notes", notes),
        boolean!(E, "restricted", "Restricted", restricted),
    ]);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_both_ways_and_bad_ones_say_so() {
        let d = parse_date("04.07.2025").ok().flatten();
        assert_eq!(date_cell(&d), "2025-07-04");
        assert_eq!(parse_date(" 2025-07-04 ").ok().flatten(), d);
        assert!(parse_date("31.02.2024").is_err());
        assert_eq!(parse_date("").ok(), Some(None));
    }

    #[test]
    fn enums_read_short_or_full_names_in_any_case() {
        assert_eq!(PERSON_KIND.parse("military"), Ok(1));
        assert_eq!(PERSON_KIND.parse("PERSON_KIND_CIVILIAN"), Ok(2));
        assert_eq!(PERSON_KIND.cell(1), "MILITARY");
        let e = PERSON_KIND.parse("pilot").err().unwrap_or_default();
        assert!(e.contains("MILITARY, CIVILIAN"), "{e}");
        assert_eq!(SERVICE.parse("national guard"), Ok(2));
        assert_eq!(SERVICE.parse("unspecified"), Ok(0));
    }

    #[test]
    fn every_settable_person_column_round_trips() {
        let cols = persons();
        let mut p = proto::Person::default();
        let cells = [
            ("external_ids", "coordination-hq/1|icrc/A-2"),
            ("kind", "MILITARY"),
            ("family_name", "Вигаданий"),
            ("aliases", "Выдуманный|Vyhadanyi"),
            ("date_of_birth", "2000-01-02"),
            ("convicted_in_captivity", "true"),
            ("aftercare.payments", "IN_PROGRESS"),
            (
                "identity_documents",
                r#"[{"issuer":"Synthetic","number":"AA-1","type":"MILITARY_ID"}]"#,
            ),
            (
                "contacts",
                r#"[{"address":"","informed_time":"2025-07-04T12:00:00Z","name":"Вигадана","phone":"","relationship":"mother"}]"#,
            ),
        ];
        for (name, cell) in cells {
            let c = cols.iter().find(|c| c.name == name);
            let set = c.and_then(|c| c.set);
            assert!(set.is_some_and(|set| set(&mut p, cell).is_ok()), "{name}");
        }
        for (name, cell) in cells {
            let c = cols.iter().find(|c| c.name == name);
            assert_eq!(c.map(|c| (c.get)(&p)).as_deref(), Some(cell), "{name}");
        }
    }
}
