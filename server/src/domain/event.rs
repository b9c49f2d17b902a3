//! A person's timeline: events (capture, transfers, exchange, death, aftercare...), how they
//! check against each other, and what they set on the person's record.

use chrono::NaiveDate;

use super::{
    CareStatus, Error, Meta, PersonFields, PersonStatus, Violations, WireEnum,
    schema::{Declared, Field, Mask, Schema, access, enum_access},
    text,
};

/// What the events of a timeline are.
pub use super::enums::{DatePrecision, PersonEventType};

/// What a client can write about an event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct PersonEventFields {
    /// Normalised id of the person; immutable.
    pub person_id: Option<String>,
    #[cfg_attr(test, serde(rename = "type"))]
    pub event_type: PersonEventType,
    /// The first day of what is known of the date (the month's or the year's first day when
    /// only those are known).
    pub date: Option<NaiveDate>,
    pub date_precision: DatePrecision,
    pub place: String,
    pub exchange_id: Option<String>,
    pub care_status: CareStatus,
    /// PAYMENT only.
    pub amount: Money,
    pub source: String,
    pub notes: String,
    /// Output only: the person is restricted (only admins see the event).
    pub restricted: bool,
}

/// An amount of money.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct Money {
    /// Minor units (kopecks for UAH).
    pub minor_units: Option<i32>,
    /// ISO 4217.
    pub currency: String,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonEvent {
    pub meta: Meta,
    pub fields: PersonEventFields,
}

/// The declaration of an event's fields (see `schema`).
pub const PERSON_EVENT: Schema<PersonEventFields> = Schema {
    resource: "person_events",
    singular: "event",
    fields: &[
        Field::new("person_id", access!(Id, PersonEventFields, person_id))
            .immutable()
            .not_null(),
        Field::new(
            "type",
            enum_access!(PersonEventFields, PersonEventType, event_type),
        )
        .column("event_type"),
        Field::new("date", access!(Date, PersonEventFields, date)).not_null(),
        Field::new(
            "date_precision",
            enum_access!(PersonEventFields, DatePrecision, date_precision),
        ),
        Field::new("place", access!(Text, PersonEventFields, place)),
        Field::new("exchange_id", access!(Id, PersonEventFields, exchange_id)),
        Field::new(
            "care_status",
            enum_access!(PersonEventFields, CareStatus, care_status),
        ),
        Field::new(
            "amount.minor_units",
            access!(Int, PersonEventFields, amount.minor_units),
        )
        .column("amount_minor_units")
        .unfiltered(),
        Field::new(
            "amount.currency",
            access!(Text, PersonEventFields, amount.currency),
        )
        .column("amount_currency")
        .unfiltered(),
        Field::new("source", access!(Text, PersonEventFields, source)),
        Field::new("notes", access!(Text, PersonEventFields, notes))
            .sensitive()
            .unfiltered(),
        Field::new("restricted", access!(Bool, PersonEventFields, restricted)).output_only(),
    ],
    derived: &[],
};

impl Declared for PersonEventFields {
    const SCHEMA: &'static Schema<Self> = &PERSON_EVENT;
}

impl PersonEventType {
    /// The status the event leaves the person in, if it says one.
    fn status(self) -> Option<PersonStatus> {
        use PersonEventType as T;
        match self {
            T::Captured | T::Interned | T::Transferred | T::Hospitalised | T::Convicted => {
                Some(PersonStatus::InCaptivity)
            }
            T::Released | T::Exchanged | T::Escaped => Some(PersonStatus::Returned),
            T::Died | T::RepatriatedRemains => Some(PersonStatus::Deceased),
            _ => None,
        }
    }

    /// Aftercare steps have a care status.
    fn is_aftercare(self) -> bool {
        matches!(
            self,
            PersonEventType::MedicalExamination
                | PersonEventType::Rehabilitation
                | PersonEventType::Payment
        )
    }

    /// What may still be recorded after a death.
    fn follows_death(self) -> bool {
        matches!(
            self,
            PersonEventType::Died
                | PersonEventType::RepatriatedRemains
                | PersonEventType::FamilyInformed
        )
    }
}

/// ISO 4217 codes are three capital letters.
fn currency(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}

impl PersonEventFields {
    /// Applies an update mask; the date's precision follows the date (it is output only, read
    /// from the date the client sent).
    pub fn apply_update(&mut self, incoming: &Self, mask: &Mask) -> Result<(), Error> {
        PERSON_EVENT.apply(self, incoming, mask)?;
        if PERSON_EVENT.writes(mask, incoming, "date") {
            self.date_precision = incoming.date_precision;
        }
        Ok(())
    }

    /// Trims and checks the event on its own (the person and the exchange exist: the store's
    /// check; against the rest of the timeline: [`check_timeline`]).
    pub fn validate(mut self, today: NaiveDate) -> Result<Self, Error> {
        let mut v = Violations::new();
        if self.person_id.is_none() {
            v.add("person_id", "is required");
        }
        let t = self.event_type;
        if t == PersonEventType::Unspecified {
            v.add(
                "type",
                format!("is required ({})", PersonEventType::names()),
            );
        }
        match self.date {
            None => v.add("date", "is required (the year at least)"),
            Some(d) if d > today => v.add("date", "must not be in the future"),
            Some(d) if d < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) => {
                v.add("date", "must not be before 1900-01-01")
            }
            _ => {}
        }
        text::line(&mut v, "place", &mut self.place, text::NAME_MAX, false);
        text::line(&mut v, "source", &mut self.source, text::NAME_MAX, false);
        text::long(&mut v, "notes", &mut self.notes);
        match (t == PersonEventType::Exchanged, self.exchange_id.is_some()) {
            (true, false) => v.add("exchange_id", "is required for an EXCHANGED event"),
            (false, true) => v.add("exchange_id", "is only for an EXCHANGED event"),
            _ => {}
        }
        match (
            t.is_aftercare(),
            self.care_status != CareStatus::Unspecified,
        ) {
            (true, false) => v.add(
                "care_status",
                format!("is required for {} ({})", t.name(), CareStatus::names()),
            ),
            (false, true) => v.add(
                "care_status",
                "is only for MEDICAL_EXAMINATION, REHABILITATION and PAYMENT",
            ),
            _ => {}
        }
        text::line(
            &mut v,
            "amount.currency",
            &mut self.amount.currency,
            3,
            false,
        );
        let amount = self.amount.minor_units.is_some() || !self.amount.currency.is_empty();
        if amount && t != PersonEventType::Payment {
            v.add("amount", "is only for a PAYMENT event");
        } else if amount {
            if self.amount.minor_units.is_none_or(|n| n < 0) {
                v.add("amount.minor_units", "must not be negative");
            }
            if !currency(&self.amount.currency) {
                v.add(
                    "amount.currency",
                    "must be an ISO 4217 code (three capital letters, e.g. UAH)",
                );
            }
        }
        v.finish(self)
    }
}

/// Checks an event against the person's other events (`others`: the timeline without it):
/// nothing but the remains' repatriation and the family being informed after a death, and
/// no exchange before a capture. Violations name the event's `date`.
pub fn check_timeline(
    event: &PersonEventFields,
    others: &[PersonEventFields],
) -> Result<(), Error> {
    let mut v = Violations::new();
    let (Some(date), t) = (event.date, event.event_type) else {
        return Ok(());
    };
    let earliest = |ty: PersonEventType| {
        others
            .iter()
            .chain(std::iter::once(event))
            .filter(|e| e.event_type == ty)
            .filter_map(|e| e.date)
            .min()
    };
    if let Some(died) = earliest(PersonEventType::Died)
        && !t.follows_death()
        && date > died
    {
        v.add(
            "date",
            format!(
                "a {} event cannot follow the death recorded on {died}",
                t.name()
            ),
        );
    }
    if t == PersonEventType::Died
        && let Some(later) = others
            .iter()
            .filter(|e| !e.event_type.follows_death())
            .filter_map(|e| e.date)
            .filter(|d| *d > date)
            .max()
    {
        v.add(
            "date",
            format!("the person's timeline has an event on {later}, after this death"),
        );
    }
    let captured = earliest(PersonEventType::Captured);
    let exchanged = earliest(PersonEventType::Exchanged);
    if let (Some(c), Some(x)) = (captured, exchanged)
        && x < c
    {
        v.add(
            "date",
            format!("an exchange on {x} cannot come before the capture on {c}"),
        );
    }
    v.finish(())
}

/// Sets on `person` what the timeline says (events in any order): for each kind of fact, the
/// latest event by date that speaks to it. What no event speaks to is left as it is. Returns
/// whether anything changed.
pub fn apply_timeline(person: &mut PersonFields, events: &[PersonEventFields]) -> bool {
    let before = person.clone();
    let mut ordered: Vec<&PersonEventFields> = events.iter().filter(|e| e.date.is_some()).collect();
    // Equal dates keep their recorded order (the sort is stable).
    ordered.sort_by_key(|e| e.date);
    for e in &ordered {
        if let Some(status) = e.event_type.status() {
            person.status = status;
        }
        match e.event_type {
            PersonEventType::Exchanged => person.exchange_id.clone_from(&e.exchange_id),
            PersonEventType::Convicted => person.convicted_in_captivity = true,
            PersonEventType::MedicalExamination => {
                person.aftercare.medical_examination = e.care_status
            }
            PersonEventType::Rehabilitation => person.aftercare.rehabilitation = e.care_status,
            PersonEventType::Payment => person.aftercare.payments = e.care_status,
            _ => {}
        }
    }
    if let Some(first) = ordered
        .iter()
        .find(|e| e.event_type == PersonEventType::Captured)
    {
        person.capture_date = first.date;
    }
    *person != before
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default()
    }

    fn event(t: PersonEventType, y: i32, m: u32, d: u32) -> PersonEventFields {
        PersonEventFields {
            person_id: Some("p".into()),
            event_type: t,
            date: NaiveDate::from_ymd_opt(y, m, d),
            date_precision: DatePrecision::Day,
            ..Default::default()
        }
    }

    #[test]
    fn declarations_cover_every_field() {
        crate::domain::schema::tests::assert_covers(&PERSON_EVENT);
    }

    #[test]
    fn each_type_takes_only_its_own_fields() {
        let mut x = event(PersonEventType::Exchanged, 2025, 7, 4);
        assert!(
            x.clone().validate(today()).is_err(),
            "an exchange needs its id"
        );
        x.exchange_id = Some("x".into());
        assert!(x.validate(today()).is_ok());
        let mut m = event(PersonEventType::MedicalExamination, 2025, 7, 5);
        assert!(
            m.clone().validate(today()).is_err(),
            "a care status is required"
        );
        m.care_status = CareStatus::Completed;
        assert!(m.clone().validate(today()).is_ok());
        m.amount.minor_units = Some(10);
        assert!(m.validate(today()).is_err(), "an amount is for payments");
        let mut p = event(PersonEventType::Payment, 2025, 8, 1);
        p.care_status = CareStatus::InProgress;
        p.amount.minor_units = Some(10_000_000);
        p.amount.currency = "uah".into();
        assert!(p.clone().validate(today()).is_err(), "currency in capitals");
        p.amount.currency = "UAH".into();
        assert!(p.validate(today()).is_ok());
        assert!(
            event(PersonEventType::Died, 2030, 1, 1)
                .validate(today())
                .is_err()
        );
    }

    #[test]
    fn nothing_but_remains_and_the_family_follow_a_death() {
        let died = event(PersonEventType::Died, 2024, 3, 1);
        let later = event(PersonEventType::Transferred, 2024, 4, 1);
        assert!(check_timeline(&later, std::slice::from_ref(&died)).is_err());
        let remains = event(PersonEventType::RepatriatedRemains, 2024, 6, 1);
        assert!(check_timeline(&remains, std::slice::from_ref(&died)).is_ok());
        let informed = event(PersonEventType::FamilyInformed, 2024, 6, 2);
        assert!(check_timeline(&informed, std::slice::from_ref(&died)).is_ok());
        // A death dated before events already recorded is refused too.
        assert!(check_timeline(&died, std::slice::from_ref(&later)).is_err());
    }

    #[test]
    fn an_exchange_cannot_come_before_the_capture() {
        let captured = event(PersonEventType::Captured, 2022, 5, 20);
        let mut x = event(PersonEventType::Exchanged, 2022, 5, 1);
        x.exchange_id = Some("x".into());
        assert!(check_timeline(&x, std::slice::from_ref(&captured)).is_err());
        x.date = NaiveDate::from_ymd_opt(2025, 7, 4);
        assert!(check_timeline(&x, std::slice::from_ref(&captured)).is_ok());
    }

    #[test]
    fn the_timeline_sets_status_capture_exchange_and_aftercare() {
        let mut person = PersonFields::default();
        let mut x = event(PersonEventType::Exchanged, 2025, 7, 4);
        x.exchange_id = Some("x".into());
        let mut m = event(PersonEventType::MedicalExamination, 2025, 7, 5);
        m.care_status = CareStatus::InProgress;
        let events = [
            m,
            event(PersonEventType::Transferred, 2023, 1, 1),
            x,
            event(PersonEventType::Captured, 2022, 5, 20),
            event(PersonEventType::Captured, 2022, 6, 1),
        ];
        assert!(apply_timeline(&mut person, &events));
        assert_eq!(person.status, PersonStatus::Returned);
        assert_eq!(person.exchange_id.as_deref(), Some("x"));
        assert_eq!(person.capture_date, NaiveDate::from_ymd_opt(2022, 5, 20));
        assert_eq!(person.aftercare.medical_examination, CareStatus::InProgress);
        assert!(
            !apply_timeline(&mut person, &events),
            "applying again changes nothing"
        );
    }
}
