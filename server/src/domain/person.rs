//! Persons: defenders and civilians held or returned, and the figures derived from their dates.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::{
    CareStatus, DocumentType, Error, ExternalId, Meta, PersonKind, PersonStatus, RankGroup,
    ServiceBranch, Sex, Violations, WireEnum, exchange, external,
    schema::{Access, Declared, Field, Items, Schema, access, enum_access},
    text, translit,
};

/// After return: each step's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct Aftercare {
    pub medical_examination: CareStatus,
    pub rehabilitation: CareStatus,
    pub payments: CareStatus,
}

/// What a client can write about a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct PersonFields {
    pub kind: PersonKind,
    pub family_name: String,
    pub given_name: String,
    pub patronymic: String,
    /// The father's first name (GC III Art. 122).
    pub father_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub place_of_birth: String,
    pub sex: Sex,
    pub citizenship: String,
    pub service: ServiceBranch,
    pub rank: String,
    pub rank_group: RankGroup,
    pub unit: String,
    pub service_number: String,
    pub capture_date: Option<NaiveDate>,
    pub capture_region: String,
    pub status: PersonStatus,
    /// Normalised id of the exchange the person returned in; its existence is the store's check.
    pub exchange_id: Option<String>,
    pub convicted_in_captivity: bool,
    pub category_codes: Vec<String>,
    pub aftercare: Aftercare,
    pub notes: String,
    /// Withheld: only admins see the person at all (Geneva Convention IV Art. 137).
    pub restricted: bool,
    /// The mother's maiden name (GC III Art. 122).
    pub mother_maiden_name: String,
    /// The Power on which the person depends (GC III Art. 122).
    pub power_depended_on: String,
    /// The last place of residence (GC IV Art. 138).
    pub last_residence: String,
    /// Where correspondence reaches the person (GC III Art. 122). Sensitive.
    pub correspondence_address: String,
    /// Distinguishing marks (GC IV Art. 138). Sensitive.
    pub distinguishing_marks: String,
    pub identity_documents: Vec<IdentityDocument>,
    /// Other spellings of the name, as other lists write it (searched by `name:`).
    pub aliases: Vec<String>,
    /// The persons to be informed (GC III Art. 122).
    pub contacts: Vec<Contact>,
    /// What other lists call this person (`coordination-hq/12345`); unique across persons.
    pub external_ids: Vec<ExternalId>,
}

/// A document that identifies the person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct IdentityDocument {
    #[cfg_attr(test, serde(rename = "type"))]
    pub document_type: DocumentType,
    /// Sensitive.
    pub number: String,
    pub issuer: String,
}

/// Someone to be informed about the person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct Contact {
    pub name: String,
    /// How they relate to the person (mother, spouse, …).
    pub relationship: String,
    /// Sensitive.
    pub phone: String,
    /// Sensitive.
    pub address: String,
    /// When they were last informed.
    pub informed_time: Option<DateTime<Utc>>,
}

/// The declaration of an identity document's fields.
pub const IDENTITY_DOCUMENT: Schema<IdentityDocument> = Schema {
    resource: "identity_documents",
    singular: "identity_document",
    fields: &[
        Field::new(
            "type",
            enum_access!(IdentityDocument, DocumentType, document_type),
        ),
        Field::new("number", access!(Text, IdentityDocument, number)).sensitive(),
        Field::new("issuer", access!(Text, IdentityDocument, issuer)),
    ],
    derived: &[],
};

/// The declaration of a contact's fields.
pub const CONTACT: Schema<Contact> = Schema {
    resource: "contacts",
    singular: "contact",
    fields: &[
        Field::new("name", access!(Text, Contact, name)),
        Field::new("relationship", access!(Text, Contact, relationship)),
        Field::new("phone", access!(Text, Contact, phone)).sensitive(),
        Field::new("address", access!(Text, Contact, address)).sensitive(),
        Field::new("informed_time", access!(Time, Contact, informed_time)),
    ],
    derived: &[],
};

impl Declared for IdentityDocument {
    const SCHEMA: &'static Schema<Self> = &IDENTITY_DOCUMENT;
}

impl Declared for Contact {
    const SCHEMA: &'static Schema<Self> = &CONTACT;
}

/// Longest address, in characters.
const ADDRESS_MAX: usize = 500;
/// Longest phone number, in characters.
const PHONE_MAX: usize = 50;

/// Figures derived from the dates, never stored by hand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Derived {
    pub age_at_return: Option<i32>,
    pub days_in_captivity: Option<i32>,
}

/// A stored person, with the figures derived at read time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub meta: Meta,
    pub fields: PersonFields,
    pub derived: Derived,
}

impl PersonFields {
    /// Trims and checks every field against `today`; references (exchange, category codes) are
    /// checked by the store.
    pub fn validate(mut self, today: NaiveDate) -> Result<Self, Error> {
        let mut v = Violations::new();
        if self.kind == PersonKind::Unspecified {
            v.add("kind", "is required (MILITARY or CIVILIAN)");
        }
        text::line(
            &mut v,
            "family_name",
            &mut self.family_name,
            text::NAME_MAX,
            true,
        );
        text::line(
            &mut v,
            "given_name",
            &mut self.given_name,
            text::NAME_MAX,
            true,
        );
        text::line(
            &mut v,
            "patronymic",
            &mut self.patronymic,
            text::NAME_MAX,
            false,
        );
        for (field, value) in [
            ("father_name", &mut self.father_name),
            ("place_of_birth", &mut self.place_of_birth),
            ("citizenship", &mut self.citizenship),
            ("rank", &mut self.rank),
            ("unit", &mut self.unit),
            ("service_number", &mut self.service_number),
            ("capture_region", &mut self.capture_region),
        ] {
            text::line(&mut v, field, value, text::NAME_MAX, false);
        }
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
        for (field, date) in [
            ("date_of_birth", self.date_of_birth),
            ("capture_date", self.capture_date),
        ] {
            if let Some(d) = date {
                if d > today {
                    v.add(field, "must not be in the future");
                } else if d < earliest {
                    v.add(field, "must not be before 1900-01-01");
                }
            }
        }
        if let (Some(born), Some(captured)) = (self.date_of_birth, self.capture_date)
            && captured < born
        {
            v.add("capture_date", "must not be before date_of_birth");
        }
        exchange::category_codes(&mut v, &mut self.category_codes);
        text::long(&mut v, "notes", &mut self.notes);
        for (field, value, max) in [
            (
                "mother_maiden_name",
                &mut self.mother_maiden_name,
                text::NAME_MAX,
            ),
            (
                "power_depended_on",
                &mut self.power_depended_on,
                text::NAME_MAX,
            ),
            ("last_residence", &mut self.last_residence, ADDRESS_MAX),
            (
                "correspondence_address",
                &mut self.correspondence_address,
                ADDRESS_MAX,
            ),
        ] {
            text::line(&mut v, field, value, max, false);
        }
        text::long(
            &mut v,
            "distinguishing_marks",
            &mut self.distinguishing_marks,
        );
        text::entries(&mut v, "aliases", &mut self.aliases, text::NAME_MAX);
        if text::count(&mut v, "identity_documents", self.identity_documents.len()) {
            for (i, d) in self.identity_documents.iter_mut().enumerate() {
                let at = |f: &str| format!("identity_documents[{i}].{f}");
                if d.document_type == DocumentType::Unspecified {
                    v.add(
                        at("type"),
                        format!("is required ({})", DocumentType::names()),
                    );
                }
                text::line(&mut v, &at("number"), &mut d.number, text::NAME_MAX, true);
                text::line(&mut v, &at("issuer"), &mut d.issuer, text::NAME_MAX, false);
            }
        }
        if text::count(&mut v, "contacts", self.contacts.len()) {
            for (i, c) in self.contacts.iter_mut().enumerate() {
                let at = |f: &str| format!("contacts[{i}].{f}");
                text::line(&mut v, &at("name"), &mut c.name, text::NAME_MAX, true);
                text::line(
                    &mut v,
                    &at("relationship"),
                    &mut c.relationship,
                    text::NAME_MAX,
                    false,
                );
                text::line(&mut v, &at("phone"), &mut c.phone, PHONE_MAX, false);
                text::line(&mut v, &at("address"), &mut c.address, ADDRESS_MAX, false);
                if c.informed_time.is_some_and(|t| t.date_naive() > today) {
                    v.add(at("informed_time"), "must not be in the future");
                }
            }
        }
        external::check(&mut v, "external_ids", &mut self.external_ids);
        v.finish(self)
    }

    /// Age at return and days in captivity. The end of captivity is the date of the person's
    /// exchange; for someone still in captivity it is `today`.
    pub fn derive(&self, exchange_date: Option<NaiveDate>, today: NaiveDate) -> Derived {
        let end = match (exchange_date, self.status) {
            (Some(d), _) => Some(d),
            (None, PersonStatus::InCaptivity) => Some(today),
            (None, _) => None,
        };
        Derived {
            age_at_return: match (self.date_of_birth, exchange_date) {
                (Some(born), Some(returned)) => full_years(born, returned),
                _ => None,
            },
            days_in_captivity: match (self.capture_date, end) {
                (Some(from), Some(to)) if to >= from => i32::try_from((to - from).num_days()).ok(),
                _ => None,
            },
        }
    }
}

/// Full years from `born` to `on` (a birthday on 29 February counts on 1 March in other years).
pub fn full_years(born: NaiveDate, on: NaiveDate) -> Option<i32> {
    if on < born {
        return None;
    }
    let mut years = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    Some(years)
}

/// The declaration of a person's fields (see `schema`).
pub const PERSON: Schema<PersonFields> = Schema {
    resource: "persons",
    singular: "person",
    fields: &[
        Field::new("kind", enum_access!(PersonFields, PersonKind, kind)),
        Field::new("family_name", access!(Text, PersonFields, family_name)),
        Field::new("given_name", access!(Text, PersonFields, given_name)),
        Field::new("patronymic", access!(Text, PersonFields, patronymic)),
        Field::new("father_name", access!(Text, PersonFields, father_name)).unfiltered(),
        Field::new("date_of_birth", access!(Date, PersonFields, date_of_birth)).sensitive(),
        Field::new(
            "place_of_birth",
            access!(Text, PersonFields, place_of_birth),
        )
        .sensitive(),
        Field::new("sex", enum_access!(PersonFields, Sex, sex)),
        Field::new("citizenship", access!(Text, PersonFields, citizenship)),
        Field::new(
            "service",
            enum_access!(PersonFields, ServiceBranch, service),
        ),
        Field::new("rank", access!(Text, PersonFields, rank)),
        Field::new(
            "rank_group",
            enum_access!(PersonFields, RankGroup, rank_group),
        ),
        Field::new("unit", access!(Text, PersonFields, unit)),
        Field::new(
            "service_number",
            access!(Text, PersonFields, service_number),
        )
        .sensitive(),
        Field::new("capture_date", access!(Date, PersonFields, capture_date)),
        Field::new(
            "capture_region",
            access!(Text, PersonFields, capture_region),
        ),
        Field::new("status", enum_access!(PersonFields, PersonStatus, status)),
        Field::new("exchange_id", access!(Id, PersonFields, exchange_id)),
        Field::new(
            "convicted_in_captivity",
            access!(Bool, PersonFields, convicted_in_captivity),
        ),
        Field::new(
            "category_codes",
            access!(Codes, PersonFields, category_codes),
        ),
        Field::new(
            "aftercare.medical_examination",
            enum_access!(PersonFields, CareStatus, aftercare.medical_examination),
        )
        .column("aftercare_medical_examination"),
        Field::new(
            "aftercare.rehabilitation",
            enum_access!(PersonFields, CareStatus, aftercare.rehabilitation),
        )
        .column("aftercare_rehabilitation"),
        Field::new(
            "aftercare.payments",
            enum_access!(PersonFields, CareStatus, aftercare.payments),
        )
        .column("aftercare_payments"),
        Field::new("notes", access!(Text, PersonFields, notes))
            .sensitive()
            .unfiltered(),
        Field::new("restricted", access!(Bool, PersonFields, restricted)),
        Field::new(
            "mother_maiden_name",
            access!(Text, PersonFields, mother_maiden_name),
        )
        .unfiltered(),
        Field::new(
            "power_depended_on",
            access!(Text, PersonFields, power_depended_on),
        )
        .unfiltered(),
        Field::new(
            "last_residence",
            access!(Text, PersonFields, last_residence),
        )
        .unfiltered(),
        Field::new(
            "correspondence_address",
            access!(Text, PersonFields, correspondence_address),
        )
        .sensitive()
        .unfiltered(),
        Field::new(
            "distinguishing_marks",
            access!(Text, PersonFields, distinguishing_marks),
        )
        .sensitive()
        .unfiltered(),
        Field::new(
            "identity_documents",
            Access::Items(&Items::<PersonFields, IdentityDocument> {
                get: |f| &f.identity_documents,
                get_mut: |f| &mut f.identity_documents,
            }),
        ),
        Field::new("aliases", access!(List, PersonFields, aliases)),
        Field::new(
            "contacts",
            Access::Items(&Items::<PersonFields, Contact> {
                get: |f| &f.contacts,
                get_mut: |f| &mut f.contacts,
            }),
        ),
        Field::new(
            "external_ids",
            Access::Items(&Items::<PersonFields, ExternalId> {
                get: |f| &f.external_ids,
                get_mut: |f| &mut f.external_ids,
            }),
        )
        .filtered(),
        // Name search: `name:"Шевч"` matches a person one of whose names starts so.
        Field::new("name", Access::Names(name_keys)),
    ],
    derived: &["age_at_return", "days_in_captivity"],
};

/// The normalised keys of a person's names and aliases (`domain::translit`), as name search
/// matches them.
pub fn name_keys(f: &PersonFields) -> Vec<String> {
    let mut keys = translit::person_keys(&f.family_name, &f.given_name, &f.patronymic);
    if !f.aliases.is_empty() {
        keys.extend(f.aliases.iter().flat_map(|a| translit::name_keys(a)));
        keys.sort();
        keys.dedup();
    }
    keys
}

impl Declared for PersonFields {
    const SCHEMA: &'static Schema<Self> = &PERSON;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    fn today() -> NaiveDate {
        date(2025, 7, 10).unwrap_or_default()
    }

    fn valid() -> PersonFields {
        PersonFields {
            kind: PersonKind::Military,
            family_name: "Testenko".into(),
            given_name: "Ivan".into(),
            ..Default::default()
        }
    }

    #[test]
    fn kind_and_both_names_are_required() {
        let Err(Error::InvalidArgument(list)) = PersonFields::default().validate(today()) else {
            panic!("expected invalid argument");
        };
        let names: Vec<_> = list.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(names, ["kind", "family_name", "given_name"]);
    }

    #[test]
    fn names_longer_than_200_characters_are_rejected() {
        let f = PersonFields {
            family_name: "Ш".repeat(201),
            ..valid()
        };
        assert!(f.validate(today()).is_err());
        let f = PersonFields {
            family_name: "Ш".repeat(200),
            ..valid()
        };
        assert!(f.validate(today()).is_ok());
    }

    #[test]
    fn dates_in_the_future_or_capture_before_birth_are_rejected() {
        let f = PersonFields {
            date_of_birth: date(2030, 1, 1),
            ..valid()
        };
        assert!(f.validate(today()).is_err());
        let f = PersonFields {
            date_of_birth: date(2000, 1, 1),
            capture_date: date(1999, 1, 1),
            ..valid()
        };
        assert!(f.validate(today()).is_err());
    }

    #[test]
    fn age_at_return_counts_full_years() {
        assert_eq!(
            full_years(
                date(2005, 7, 5).unwrap_or_default(),
                today() - chrono::Days::new(6)
            ),
            Some(19)
        );
        assert_eq!(
            full_years(
                date(2005, 7, 4).unwrap_or_default(),
                date(2025, 7, 4).unwrap_or_default()
            ),
            Some(20)
        );
        assert_eq!(
            full_years(
                date(2004, 2, 29).unwrap_or_default(),
                date(2025, 2, 28).unwrap_or_default()
            ),
            Some(20)
        );
        assert_eq!(
            full_years(
                date(2004, 2, 29).unwrap_or_default(),
                date(2025, 3, 1).unwrap_or_default()
            ),
            Some(21)
        );
    }

    #[test]
    fn days_in_captivity_run_to_the_exchange_date_or_today() {
        let f = PersonFields {
            date_of_birth: date(1990, 1, 1),
            capture_date: date(2022, 5, 20),
            status: PersonStatus::Returned,
            ..valid()
        };
        let d = f.derive(date(2025, 7, 4), today());
        assert_eq!(d.age_at_return, Some(35));
        assert_eq!(d.days_in_captivity, Some(1141));
        let held = PersonFields {
            status: PersonStatus::InCaptivity,
            ..f.clone()
        };
        let d = held.derive(None, today());
        assert_eq!(d.age_at_return, None);
        assert_eq!(d.days_in_captivity, Some(1147));
        let unknown = PersonFields {
            capture_date: None,
            ..f
        };
        assert_eq!(
            unknown.derive(date(2025, 7, 4), today()).days_in_captivity,
            None
        );
    }

    #[test]
    fn aftercare_leaves_can_be_updated_one_by_one() {
        let mut current = valid();
        let incoming = PersonFields {
            aftercare: Aftercare {
                payments: CareStatus::Completed,
                medical_examination: CareStatus::InProgress,
                ..Default::default()
            },
            ..Default::default()
        };
        let paths = ["aftercare.payments".to_owned()];
        assert!(PERSON.apply_mask(&mut current, &incoming, &paths).is_ok());
        assert_eq!(current.aftercare.payments, CareStatus::Completed);
        assert_eq!(
            current.aftercare.medical_examination,
            CareStatus::Unspecified
        );
        assert_eq!(current.family_name, "Testenko");
    }

    #[test]
    fn declarations_cover_every_field() {
        crate::domain::schema::tests::assert_covers(&PERSON);
    }

    #[test]
    fn the_aftercare_group_updates_all_three_steps() {
        let mut current = valid();
        current.aftercare.payments = CareStatus::Completed;
        let incoming = PersonFields {
            aftercare: Aftercare {
                medical_examination: CareStatus::InProgress,
                ..Default::default()
            },
            ..Default::default()
        };
        let paths = ["aftercare".to_owned()];
        assert!(PERSON.apply_mask(&mut current, &incoming, &paths).is_ok());
        assert_eq!(
            current.aftercare.medical_examination,
            CareStatus::InProgress
        );
        assert_eq!(current.aftercare.payments, CareStatus::Unspecified);
    }

    #[test]
    fn the_item_declarations_cover_their_fields() {
        crate::domain::schema::tests::assert_covers(&IDENTITY_DOCUMENT);
        crate::domain::schema::tests::assert_covers(&CONTACT);
    }

    #[test]
    fn viewers_lose_the_sensitive_parts_of_documents_and_contacts() {
        let mut f = PersonFields {
            correspondence_address: "Synthetic street 1".into(),
            identity_documents: vec![IdentityDocument {
                document_type: DocumentType::MilitaryId,
                number: "AA-000001".into(),
                issuer: "Synthetic office".into(),
            }],
            contacts: vec![Contact {
                name: "Вигадана Марія".into(),
                phone: "+380000000000".into(),
                address: "Synthetic street 2".into(),
                ..Default::default()
            }],
            ..valid()
        };
        PERSON.redact(&mut f);
        assert!(f.correspondence_address.is_empty());
        assert_eq!(f.identity_documents[0].number, "");
        assert_eq!(f.identity_documents[0].issuer, "Synthetic office");
        assert_eq!(f.contacts[0].name, "Вигадана Марія");
        assert!(f.contacts[0].phone.is_empty() && f.contacts[0].address.is_empty());
    }

    #[test]
    fn aliases_are_searched_like_the_name() {
        let f = PersonFields {
            aliases: vec!["Александр Гриценко".into()],
            ..valid()
        };
        let keys = name_keys(&f);
        assert!(keys.contains(&"testenko".to_owned()));
        assert!(keys.iter().any(|k| k.starts_with("hrytsenko")), "{keys:?}");
    }
}
