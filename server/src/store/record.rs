//! The stored form of a resource outside its table: the change log's snapshots and the
//! responses kept for request ids (AIP-155). It is a versioned record of its own, written from
//! each resource's declaration (keys are the API field names, which do not change), so the
//! domain's types can be renamed or regrouped without rewriting history.
//!
//! Version 1 (the only one so far) is `{"v":1,"meta":{id,create_time,update_time,revision},
//! "fields":{…},"derived":{…}}` (`derived` for persons only): the form written before records
//! were versioned, plus `v`, so those rows read as version 1. Missing keys read as unset
//! values; a record of an unknown version is an error, not a guess.

use chrono::{DateTime, Utc};
use serde::{
    Serialize, Serializer,
    ser::{SerializeMap, SerializeSeq},
};
use serde_json::Value as Json;

use crate::domain::{
    CATEGORY, Category, Derived, EXCHANGE, Error, Exchange, Meta, PERSON, PERSON_EVENT, Person,
    PersonEvent, Resource, ResourceType,
    schema::{Declared, Field, Schema},
};

const VERSION: u64 = 1;

/// What can be kept as a record: a resource, or the resources one call answered.
pub trait Stored: Sized {
    fn encode(&self) -> Result<String, Error>;
    fn decode(json: &str) -> Result<Self, Error>;
}

/// A resource the change log records.
pub trait Logged: Stored {
    const TYPE: ResourceType;
    fn id(&self) -> &str;
    /// The resource as a watcher receives it (what decoding its record gives).
    fn resource(&self) -> Resource;
}

macro_rules! stored {
    ($T:ident) => {
        impl Stored for $T {
            fn encode(&self) -> Result<String, Error> {
                to_string(&Record(Ref::$T(self)))
            }

            fn decode(json: &str) -> Result<Self, Error> {
                match decode(ResourceType::$T, json)? {
                    Resource::$T(r) => Ok(r),
                    _ => Err(bad("resource type")),
                }
            }
        }

        impl Logged for $T {
            const TYPE: ResourceType = ResourceType::$T;

            fn id(&self) -> &str {
                &self.meta.id
            }

            fn resource(&self) -> Resource {
                Resource::$T(self.clone())
            }
        }
    };
}

stored!(Category);
stored!(Exchange);
stored!(Person);
stored!(PersonEvent);

impl Stored for Vec<Person> {
    fn encode(&self) -> Result<String, Error> {
        struct All<'a>(&'a [Person]);
        impl Serialize for All<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for p in self.0 {
                    seq.serialize_element(&PersonRecord(p))?;
                }
                seq.end()
            }
        }
        to_string(&All(self))
    }

    fn decode(json: &str) -> Result<Self, Error> {
        let v: Json = parse(json)?;
        let items = v.as_array().ok_or_else(|| bad("a list of persons"))?;
        items
            .iter()
            .map(|p| match resource(ResourceType::Person, p)? {
                Resource::Person(p) => Ok(p),
                _ => Err(bad("resource type")),
            })
            .collect()
    }
}

/// The record of a resource of type `ty`.
pub fn decode(ty: ResourceType, json: &str) -> Result<Resource, Error> {
    resource(ty, &parse(json)?)
}

/// The canonical JSON of validated input (what a request id's hash is taken of): the fields
/// object of a record without its unset fields, so that adding a field to a resource does not
/// change the hash of a request that does not set it (a retry across an upgrade still matches).
pub fn request_json<T: Declared>(fields: &T) -> Result<String, Error> {
    to_string(&Fields::set_only(T::SCHEMA, fields))
}

/// As [`request_json`], for a list of inputs (a JSON array).
pub fn request_list_json<T: Declared>(fields: &[T]) -> Result<String, Error> {
    struct All<'a, T: 'static>(&'a [T]);
    impl<T: Declared> Serialize for All<'_, T> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for f in self.0 {
                seq.serialize_element(&Fields::set_only(T::SCHEMA, f))?;
            }
            seq.end()
        }
    }
    to_string(&All(fields))
}

fn to_string<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("record: {e}")))
}

fn parse(json: &str) -> Result<Json, Error> {
    serde_json::from_str(json).map_err(|e| Error::Internal(format!("stored record: {e}")))
}

fn bad(what: &str) -> Error {
    Error::Internal(format!("stored record: bad {what}"))
}

enum Ref<'a> {
    Category(&'a Category),
    Exchange(&'a Exchange),
    Person(&'a Person),
    PersonEvent(&'a PersonEvent),
}

struct Record<'a>(Ref<'a>);

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Ref::Category(c) => Plain(&c.meta, Fields::all(&CATEGORY, &c.fields)).serialize(s),
            Ref::Exchange(x) => Plain(&x.meta, Fields::all(&EXCHANGE, &x.fields)).serialize(s),
            Ref::Person(p) => PersonRecord(p).serialize(s),
            Ref::PersonEvent(e) => {
                Plain(&e.meta, Fields::all(&PERSON_EVENT, &e.fields)).serialize(s)
            }
        }
    }
}

/// A record with meta and fields.
struct Plain<'a, T: 'static>(&'a Meta, Fields<'a, T>);

impl<T> Serialize for Plain<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("v", &VERSION)?;
        map.serialize_entry("meta", &MetaOf(self.0))?;
        map.serialize_entry("fields", &self.1)?;
        map.end()
    }
}

struct PersonRecord<'a>(&'a Person);

impl Serialize for PersonRecord<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("v", &VERSION)?;
        map.serialize_entry("meta", &MetaOf(&p.meta))?;
        map.serialize_entry("fields", &Fields::all(&PERSON, &p.fields))?;
        map.serialize_entry("derived", &DerivedOf(&p.derived))?;
        map.end()
    }
}

struct MetaOf<'a>(&'a Meta);

impl Serialize for MetaOf<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("id", &m.id)?;
        map.serialize_entry("create_time", &m.create_time)?;
        map.serialize_entry("update_time", &m.update_time)?;
        map.serialize_entry("revision", &m.revision)?;
        map.end()
    }
}

struct DerivedOf<'a>(&'a Derived);

impl Serialize for DerivedOf<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("age_at_return", &self.0.age_at_return)?;
        map.serialize_entry("days_in_captivity", &self.0.days_in_captivity)?;
        map.end()
    }
}

/// The fields object: every declared field in declaration order (or only the set ones), a
/// dotted name nested in its group's object (members of a group are declared together).
struct Fields<'a, T: 'static> {
    schema: &'static Schema<T>,
    fields: &'a T,
    set_only: bool,
}

impl<'a, T> Fields<'a, T> {
    fn all(schema: &'static Schema<T>, fields: &'a T) -> Self {
        Fields {
            schema,
            fields,
            set_only: false,
        }
    }

    fn set_only(schema: &'static Schema<T>, fields: &'a T) -> Self {
        Fields {
            schema,
            fields,
            set_only: true,
        }
    }
}

impl<T> Serialize for Fields<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let stored: Vec<&Field<T>> = self
            .schema
            .fields
            .iter()
            .filter(|f| f.is_stored() && (!self.set_only || f.populated(self.fields)))
            .collect();
        let mut map = s.serialize_map(None)?;
        let mut i = 0;
        while i < stored.len() {
            match stored[i].name.split_once('.') {
                None => {
                    map.serialize_entry(stored[i].name, &FieldValue(stored[i], self.fields))?;
                    i += 1;
                }
                Some((group, _)) => {
                    let start = i;
                    while i < stored.len()
                        && stored[i].name.split_once('.').map(|(g, _)| g) == Some(group)
                    {
                        i += 1;
                    }
                    let members = &stored[start..i];
                    map.serialize_entry(group, &Group(members, group.len() + 1, self.fields))?;
                }
            }
        }
        map.end()
    }
}

struct Group<'a, T: 'static>(&'a [&'a Field<T>], usize, &'a T);

impl<T> Serialize for Group<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for f in self.0 {
            map.serialize_entry(&f.name[self.1..], &FieldValue(f, self.2))?;
        }
        map.end()
    }
}

struct FieldValue<'a, T: 'static>(&'a Field<T>, &'a T);

impl<T> Serialize for FieldValue<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.to_json(self.1).serialize(s)
    }
}

fn resource(ty: ResourceType, v: &Json) -> Result<Resource, Error> {
    match v.get("v").map(Json::as_u64) {
        None | Some(Some(VERSION)) => {}
        Some(other) => {
            return Err(Error::Internal(format!(
                "stored record of version {other:?}; this server reads version {VERSION}"
            )));
        }
    }
    let meta = meta(v.get("meta").ok_or_else(|| bad("meta"))?)?;
    let fields = v.get("fields").ok_or_else(|| bad("fields"))?;
    Ok(match ty {
        ResourceType::Category => Resource::Category(Category {
            meta,
            fields: fields_of(fields)?,
        }),
        ResourceType::Exchange => Resource::Exchange(Exchange {
            meta,
            fields: fields_of(fields)?,
        }),
        ResourceType::PersonEvent => Resource::PersonEvent(PersonEvent {
            meta,
            fields: fields_of(fields)?,
        }),
        ResourceType::Person => {
            let d = v.get("derived");
            let int = |k: &str| {
                d.and_then(|d| d.get(k))
                    .and_then(Json::as_i64)
                    .and_then(|n| i32::try_from(n).ok())
            };
            Resource::Person(Person {
                meta,
                fields: fields_of(fields)?,
                derived: Derived {
                    age_at_return: int("age_at_return"),
                    days_in_captivity: int("days_in_captivity"),
                },
            })
        }
    })
}

fn meta(v: &Json) -> Result<Meta, Error> {
    let time = |k: &str| -> Result<DateTime<Utc>, Error> {
        let s = v.get(k).and_then(Json::as_str).ok_or_else(|| bad(k))?;
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| bad(k))
    };
    Ok(Meta {
        id: v
            .get("id")
            .and_then(Json::as_str)
            .ok_or_else(|| bad("id"))?
            .to_owned(),
        create_time: time("create_time")?,
        update_time: time("update_time")?,
        revision: v
            .get("revision")
            .and_then(Json::as_i64)
            .ok_or_else(|| bad("revision"))?,
    })
}

/// Reads every declared field from a fields object; absent or null ones stay unset.
fn fields_of<T: Declared>(v: &Json) -> Result<T, Error> {
    T::SCHEMA
        .read_json(v)
        .map_err(|e| Error::Internal(format!("stored record: {e}")))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::{
        Aftercare, CareStatus, CategoryFields, CategoryKind, ExchangeStatus, PersonFields,
        PersonKind, PersonStatus, RankGroup, ServiceBranch, Sex,
    };

    /// A change log row as servers wrote it before records were versioned (the domain types'
    /// serde form), copied from a database of that time.
    const PERSON_BEFORE_VERSIONS: &str = r#"{"meta":{"id":"019ad8f5-3c1e-7b32-9d55-0e6f4a1b2c3d","create_time":"2026-11-30T10:15:00.123456Z","update_time":"2026-11-30T10:16:00Z","revision":42},"fields":{"kind":"MILITARY","family_name":"Вигаданенко","given_name":"Остап","patronymic":"","date_of_birth":"2003-09-14","place_of_birth":"","sex":"MALE","citizenship":"UA","service":"NATIONAL_GUARD","rank":"","rank_group":"SOLDIER","unit":"","service_number":"SN-1","capture_date":"2022-05-20","capture_region":"Donetsk","status":"RETURNED","exchange_id":"019ad8f5-0000-7000-8000-000000000001","convicted_in_captivity":true,"category_codes":["under-25","held-since-2022"],"aftercare":{"medical_examination":"IN_PROGRESS","rehabilitation":"NOT_STARTED","payments":"UNSPECIFIED"},"notes":"Synthetic","restricted":false},"derived":{"age_at_return":21,"days_in_captivity":1141}}"#;

    /// As above, from before persons could be restricted (no `restricted` key).
    const CATEGORY_BEFORE_VERSIONS: &str = r#"{"meta":{"id":"019ad8f5-3c1e-7b32-9d55-0e6f4a1b2c3e","create_time":"2026-11-25T08:00:00Z","update_time":"2026-11-25T08:00:00Z","revision":1},"fields":{"code":"under-25","title":"Under 25","description":"","kind":"DEMOGRAPHIC"}}"#;

    const EXCHANGE_BEFORE_VERSIONS: &str = r#"{"meta":{"id":"019ad8f5-0000-7000-8000-000000000001","create_time":"2026-11-25T08:00:00Z","update_time":"2026-11-25T08:00:00Z","revision":2},"fields":{"title":"Stage 1","exchange_date":"2025-07-04","status":"COMPLETED","exchange_number":66,"stage_number":null,"framework":"Istanbul agreements","counterparty":"","mediators":["UAE"],"location":"","announced_returned_count":null,"announced_handed_over_count":12,"category_codes":[],"source_urls":["https://example.org/a"],"notes":""}}"#;

    fn person() -> Person {
        let Ok(Resource::Person(p)) = decode(ResourceType::Person, PERSON_BEFORE_VERSIONS) else {
            panic!("the old person row must decode");
        };
        p
    }

    #[test]
    fn rows_written_before_records_were_versioned_still_decode() {
        let p = person();
        assert_eq!(p.meta.revision, 42);
        assert_eq!(p.meta.create_time.timestamp_subsec_micros(), 123_456);
        let expected = PersonFields {
            kind: PersonKind::Military,
            family_name: "Вигаданенко".into(),
            given_name: "Остап".into(),
            date_of_birth: NaiveDate::from_ymd_opt(2003, 9, 14),
            sex: Sex::Male,
            citizenship: "UA".into(),
            service: ServiceBranch::NationalGuard,
            rank_group: RankGroup::Soldier,
            service_number: "SN-1".into(),
            capture_date: NaiveDate::from_ymd_opt(2022, 5, 20),
            capture_region: "Donetsk".into(),
            status: PersonStatus::Returned,
            exchange_id: Some("019ad8f5-0000-7000-8000-000000000001".into()),
            convicted_in_captivity: true,
            category_codes: vec!["under-25".into(), "held-since-2022".into()],
            aftercare: Aftercare {
                medical_examination: CareStatus::InProgress,
                rehabilitation: CareStatus::NotStarted,
                payments: CareStatus::Unspecified,
            },
            notes: "Synthetic".into(),
            ..Default::default()
        };
        assert_eq!(p.fields, expected);
        assert_eq!(p.derived.age_at_return, Some(21));
        assert_eq!(p.derived.days_in_captivity, Some(1141));

        let Ok(Resource::Category(c)) = decode(ResourceType::Category, CATEGORY_BEFORE_VERSIONS)
        else {
            panic!("the old category row must decode");
        };
        assert_eq!(
            c.fields,
            CategoryFields {
                code: "under-25".into(),
                title: "Under 25".into(),
                description: String::new(),
                kind: CategoryKind::Demographic,
            }
        );
        let Ok(Resource::Exchange(x)) = decode(ResourceType::Exchange, EXCHANGE_BEFORE_VERSIONS)
        else {
            panic!("the old exchange row must decode");
        };
        assert_eq!(x.fields.status, ExchangeStatus::Completed);
        assert_eq!(x.fields.exchange_number, Some(66));
        assert_eq!(x.fields.stage_number, None);
        assert_eq!(x.fields.announced_handed_over_count, Some(12));
        assert_eq!(x.fields.mediators, ["UAE"]);
    }

    #[test]
    fn a_record_reads_back_as_it_was_written() {
        let p = person();
        let again = Person::decode(&p.encode().unwrap_or_default()).ok();
        assert_eq!(again, Some(p.clone()));
        let all = vec![p.clone(), p];
        assert_eq!(
            Vec::<Person>::decode(&all.encode().unwrap_or_default()).ok(),
            Some(all)
        );
    }

    /// Whether every key of `old` is in `new` with the same value (objects nest).
    fn contains(new: &Json, old: &Json) -> bool {
        match (new, old) {
            (Json::Object(n), Json::Object(o)) => o
                .iter()
                .all(|(k, v)| n.get(k).is_some_and(|nv| contains(nv, v))),
            _ => new == old,
        }
    }

    #[test]
    fn new_records_keep_the_old_form_plus_their_version() {
        let p = person();
        let written: Json =
            serde_json::from_str(&p.encode().unwrap_or_default()).unwrap_or_default();
        let old: Json = serde_json::from_str(PERSON_BEFORE_VERSIONS).unwrap_or_default();
        assert!(contains(&written, &old), "{written}");
        assert_eq!(written.get("v"), Some(&Json::from(1)));
    }

    #[test]
    fn request_hashes_leave_out_unset_fields_and_keep_field_order() {
        let p = person();
        let json = request_json(&p.fields).unwrap_or_default();
        assert!(
            json.starts_with(r#"{"kind":"MILITARY","family_name":"Вигаданенко""#),
            "{json}"
        );
        assert!(
            !json.contains("patronymic"),
            "unset fields are left out: {json}"
        );
        assert!(
            json.contains(r#""aftercare":{"medical_examination":"IN_PROGRESS","rehabilitation":"NOT_STARTED"}"#),
            "{json}"
        );
        let unset = PersonFields::default();
        assert_eq!(request_json(&unset).unwrap_or_default(), "{}");
        assert_eq!(
            request_list_json(std::slice::from_ref(&p.fields)).unwrap_or_default(),
            format!("[{json}]")
        );
    }

    #[test]
    fn records_of_an_unknown_version_are_refused() {
        let future = CATEGORY_BEFORE_VERSIONS.replacen('{', r#"{"v":2,"#, 1);
        assert!(decode(ResourceType::Category, &future).is_err());
    }
}
