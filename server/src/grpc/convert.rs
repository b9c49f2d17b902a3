//! Wire <-> domain conversions, in one place. Incoming messages are destructured field by field
//! so that a field added to the proto breaks the build here until it is handled. Structural
//! checks (enum numbers, calendar dates, id syntax) happen here; rules (required fields,
//! lengths) are the domain's `validate`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use homecoming_proto::{google::r#type::Date, v1 as pb};
use prost_types::Timestamp;

use super::{Audited, validated};
use crate::{
    domain::{
        Aftercare, Category, CategoryFields, Change, Contact, Error, Exchange, ExchangeFields,
        ExternalId, IdentityDocument, Meta, Operation, PERSON_EVENT, Person, PersonEvent,
        PersonEventFields, PersonFields, Resource, ResourceType, Role, Violations, WireEnum,
        access::{AuditEvent, Caller, NewToken, Token},
        event::{DatePrecision, Money},
        filter,
        import::{ImportMode, ImportReport, ImportRow, MatchRule, Outcome},
        parse_id,
        summary::{ExchangeSummary, Figures, KeyCount, Share, Statistics},
    },
    store::{History, check_filter},
    watch::{Message, WatchSpec},
};

/// An incoming resource: its writable fields, and the id and etag it names (for Update).
/// Conversions return it with the structural violations found (bad values are replaced by
/// defaults), so that validation can still report every other bad field.
pub struct Incoming<T> {
    pub fields: T,
    pub id: String,
    pub etag: String,
}

fn date_in(v: &mut Violations, field: &str, d: Option<Date>) -> Option<NaiveDate> {
    let d = d?;
    if (d.year, d.month, d.day) == (0, 0, 0) {
        return None;
    }
    let ok = u32::try_from(d.month)
        .ok()
        .zip(u32::try_from(d.day).ok())
        .and_then(|(m, day)| NaiveDate::from_ymd_opt(d.year, m, day))
        .filter(|_| (1..=9999).contains(&d.year));
    if ok.is_none() {
        v.add(
            field,
            format!(
                "{} (a full date: year, month and day)",
                date_problem(d.year, d.month, d.day, false)
            ),
        );
    }
    ok
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Why `year-month-day` is not a date, in words a person entering it understands
/// ("30 February 2001 does not exist: February 2001 has 28 days"). `partial`: a day (and a
/// month) of 0 means "not known".
fn date_problem(year: i32, month: i32, day: i32, partial: bool) -> String {
    if !(1..=9999).contains(&year) {
        return format!("year {year} is outside 1 to 9999");
    }
    if !(0..=12).contains(&month) || (month == 0 && !partial) {
        return format!("month {month} does not exist (1 to 12)");
    }
    if month == 0 {
        return format!("a day ({day}) without a month: give the month too, or neither");
    }
    let name = MONTHS[(month - 1) as usize];
    let days = u32::try_from(month)
        .ok()
        .and_then(|m| NaiveDate::from_ymd_opt(year, m, 1))
        .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
        .and_then(|next| next.pred_opt())
        .map_or(31, |last| last.day());
    if day == 0 && !partial {
        return format!("the day of {name} {year} is missing");
    }
    format!("{day} {name} {year} does not exist: {name} {year} has {days} days")
}

fn date_out(d: Option<NaiveDate>) -> Option<Date> {
    d.map(|d| Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    })
}

fn enum_in<E: WireEnum + Default>(v: &mut Violations, field: &str, code: i32) -> E {
    E::from_code(code).unwrap_or_else(|| {
        v.add(
            field,
            format!("unknown enum value {code}; one of {}", E::names()),
        );
        E::default()
    })
}

/// An optional time of a request; a timestamp no calendar holds is a violation.
fn time_in(v: &mut Violations, field: &str, t: Option<Timestamp>) -> Option<DateTime<Utc>> {
    let t = t?;
    let time = u32::try_from(t.nanos)
        .ok()
        .and_then(|n| DateTime::from_timestamp(t.seconds, n));
    if time.is_none() {
        v.add(field, "is not a valid time");
    }
    time
}

pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn meta_out(m: &Meta) -> (String, Option<Timestamp>, Option<Timestamp>, String) {
    (
        m.id.clone(),
        Some(timestamp(m.create_time)),
        Some(timestamp(m.update_time)),
        m.etag(),
    )
}

pub fn category_in(c: pb::Category) -> (Incoming<CategoryFields>, Violations) {
    let pb::Category {
        id,
        create_time: _,
        update_time: _,
        etag,
        code,
        title,
        description,
        kind,
    } = c;
    let mut v = Violations::new();
    let kind = enum_in(&mut v, "category.kind", kind);
    let fields = CategoryFields {
        code,
        title,
        description,
        kind,
    };
    (Incoming { fields, id, etag }, v)
}

pub fn category_out(c: Category) -> pb::Category {
    let (id, create_time, update_time, etag) = meta_out(&c.meta);
    let CategoryFields {
        code,
        title,
        description,
        kind,
    } = c.fields;
    pb::Category {
        id,
        create_time,
        update_time,
        etag,
        code,
        title,
        description,
        kind: kind.code(),
    }
}

pub fn exchange_in(x: pb::Exchange) -> (Incoming<ExchangeFields>, Violations) {
    let pb::Exchange {
        id,
        create_time: _,
        update_time: _,
        etag,
        title,
        exchange_date,
        status,
        exchange_number,
        stage_number,
        framework,
        counterparty,
        mediators,
        location,
        announced_returned_count,
        announced_handed_over_count,
        category_codes,
        source_urls,
        notes,
        external_ids,
    } = x;
    let mut v = Violations::new();
    let fields = ExchangeFields {
        title,
        exchange_date: date_in(&mut v, "exchange.exchange_date", exchange_date),
        status: enum_in(&mut v, "exchange.status", status),
        exchange_number,
        stage_number,
        framework,
        counterparty,
        mediators,
        location,
        announced_returned_count,
        announced_handed_over_count,
        category_codes,
        source_urls,
        notes,
        external_ids: external_ids_in(external_ids),
    };
    (Incoming { fields, id, etag }, v)
}

pub fn exchange_out(x: Exchange) -> pb::Exchange {
    let (id, create_time, update_time, etag) = meta_out(&x.meta);
    let ExchangeFields {
        title,
        exchange_date,
        status,
        exchange_number,
        stage_number,
        framework,
        counterparty,
        mediators,
        location,
        announced_returned_count,
        announced_handed_over_count,
        category_codes,
        source_urls,
        notes,
        external_ids,
    } = x.fields;
    pb::Exchange {
        id,
        create_time,
        update_time,
        etag,
        title,
        exchange_date: date_out(exchange_date),
        status: status.code(),
        exchange_number,
        stage_number,
        framework,
        counterparty,
        mediators,
        location,
        announced_returned_count,
        announced_handed_over_count,
        category_codes,
        source_urls,
        notes,
        external_ids: external_ids_out(external_ids),
    }
}

/// A new category, converted and validated.
pub fn new_category(c: pb::Category) -> Result<CategoryFields, Error> {
    let (incoming, v) = category_in(c);
    validated(
        v,
        incoming
            .fields
            .validate()
            .map_err(|e| e.prefixed("category")),
    )
}

/// A new exchange, converted and validated.
pub fn new_exchange(x: pb::Exchange) -> Result<ExchangeFields, Error> {
    let (incoming, v) = exchange_in(x);
    validated(
        v,
        incoming
            .fields
            .validate()
            .map_err(|e| e.prefixed("exchange")),
    )
}

/// A new person of a create, converted and validated against `today`; violations are named
/// under `prefix`.
pub fn new_person(p: pb::Person, prefix: &str, today: NaiveDate) -> Result<PersonFields, Error> {
    let (incoming, v) = person_in(p, prefix);
    validated(
        v,
        incoming
            .fields
            .validate(today)
            .map_err(|e| e.prefixed(prefix)),
    )
}

/// An event's date as known: to the day, the month (day 0) or the year (month and day 0).
fn event_date_in(
    v: &mut Violations,
    field: &str,
    d: Option<Date>,
) -> (Option<NaiveDate>, DatePrecision) {
    let Some(d) = d else {
        return (None, DatePrecision::Unspecified);
    };
    let (start, precision) = match (d.year, d.month, d.day) {
        (0, 0, 0) => return (None, DatePrecision::Unspecified),
        (y, 0, 0) => (NaiveDate::from_ymd_opt(y, 1, 1), DatePrecision::Year),
        (y, m, 0) => (
            u32::try_from(m)
                .ok()
                .and_then(|m| NaiveDate::from_ymd_opt(y, m, 1)),
            DatePrecision::Month,
        ),
        (y, m, day) => (
            u32::try_from(m)
                .ok()
                .zip(u32::try_from(day).ok())
                .and_then(|(m, day)| NaiveDate::from_ymd_opt(y, m, day)),
            DatePrecision::Day,
        ),
    };
    match start.filter(|_| (1..=9999).contains(&d.year)) {
        Some(s) => (Some(s), precision),
        None => {
            v.add(
                field,
                format!(
                    "{} (a year; a year and month with day 0; or a full date)",
                    date_problem(d.year, d.month, d.day, true)
                ),
            );
            (None, DatePrecision::Unspecified)
        }
    }
}

fn event_date_out(d: Option<NaiveDate>, precision: DatePrecision) -> Option<Date> {
    let d = d?;
    Some(match precision {
        DatePrecision::Year => Date {
            year: d.year(),
            month: 0,
            day: 0,
        },
        DatePrecision::Month => Date {
            year: d.year(),
            month: d.month() as i32,
            day: 0,
        },
        _ => Date {
            year: d.year(),
            month: d.month() as i32,
            day: d.day() as i32,
        },
    })
}

pub fn person_event_in(e: pb::PersonEvent) -> (Incoming<PersonEventFields>, Violations) {
    let pb::PersonEvent {
        id,
        create_time: _,
        update_time: _,
        etag,
        person_id,
        r#type,
        date,
        date_precision: _,
        place,
        exchange_id,
        care_status,
        amount,
        source,
        notes,
        restricted: _,
    } = e;
    let mut v = Violations::new();
    let id_in = |v: &mut Violations, field: &str, raw: &str| {
        if raw.trim().is_empty() {
            None
        } else {
            v.absorb("", parse_id(field, raw))
        }
    };
    let (date, date_precision) = event_date_in(&mut v, "event.date", date);
    let pb::Money {
        minor_units,
        currency,
    } = amount.unwrap_or_default();
    let minor_units = match (minor_units, currency.is_empty()) {
        (0, true) => None,
        (n, _) => match i32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                v.add("event.amount.minor_units", "is too large");
                None
            }
        },
    };
    let fields = PersonEventFields {
        person_id: id_in(&mut v, "event.person_id", &person_id),
        event_type: enum_in(&mut v, "event.type", r#type),
        date,
        date_precision,
        place,
        exchange_id: id_in(&mut v, "event.exchange_id", &exchange_id),
        care_status: enum_in(&mut v, "event.care_status", care_status),
        amount: Money {
            minor_units,
            currency,
        },
        source,
        notes,
        restricted: false,
    };
    (Incoming { fields, id, etag }, v)
}

/// A new event, converted and validated.
pub fn new_person_event(e: pb::PersonEvent, today: NaiveDate) -> Result<PersonEventFields, Error> {
    let (incoming, v) = person_event_in(e);
    validated(
        v,
        incoming
            .fields
            .validate(today)
            .map_err(|e| e.prefixed("event")),
    )
}

pub fn person_event_out(e: PersonEvent) -> pb::PersonEvent {
    let (id, create_time, update_time, etag) = meta_out(&e.meta);
    let PersonEventFields {
        person_id,
        event_type,
        date,
        date_precision,
        place,
        exchange_id,
        care_status,
        amount,
        source,
        notes,
        restricted,
    } = e.fields;
    pb::PersonEvent {
        id,
        create_time,
        update_time,
        etag,
        person_id: person_id.unwrap_or_default(),
        r#type: event_type.code(),
        date: event_date_out(date, date_precision),
        date_precision: date_precision.code(),
        place,
        exchange_id: exchange_id.unwrap_or_default(),
        care_status: care_status.code(),
        amount: (amount.minor_units.is_some() || !amount.currency.is_empty()).then(|| pb::Money {
            minor_units: i64::from(amount.minor_units.unwrap_or_default()),
            currency: amount.currency,
        }),
        source,
        notes,
        restricted,
    }
}

/// A person's history as `caller` may see it.
pub fn history_out(h: History, caller: &Caller) -> pb::GetPersonHistoryResponse {
    let redact = !caller.sees_sensitive();
    pb::GetPersonHistoryResponse {
        versions: h
            .versions
            .into_iter()
            .map(|v| {
                let operation = match v.operation {
                    Operation::Created => pb::person_version::Operation::Created,
                    Operation::Updated => pb::person_version::Operation::Updated,
                    Operation::Deleted => pb::person_version::Operation::Deleted,
                };
                let changes = crate::domain::PERSON
                    .changes(
                        v.previous.as_ref().map(|p| &p.fields),
                        &v.person.fields,
                        redact,
                    )
                    .into_iter()
                    .map(|c| pb::FieldChange {
                        field: c.field.to_owned(),
                        old_value: c.old.to_string(),
                        new_value: c.new.to_string(),
                        redacted: c.redacted,
                    })
                    .collect();
                pb::PersonVersion {
                    revision: v.revision,
                    time: Some(timestamp(v.time)),
                    token_name: v.token_name,
                    role: v.role.code(),
                    operation: operation as i32,
                    changes,
                    merged_person_id: v.merged_person_id.unwrap_or_default(),
                }
            })
            .collect(),
        next_page_token: h.next_page_token.unwrap_or_default(),
    }
}

/// `prefix` names the person in the request (`person` or `requests[3].person`).
pub fn person_in(p: pb::Person, prefix: &str) -> (Incoming<PersonFields>, Violations) {
    let pb::Person {
        id,
        create_time: _,
        update_time: _,
        etag,
        kind,
        family_name,
        given_name,
        patronymic,
        date_of_birth,
        place_of_birth,
        sex,
        citizenship,
        service,
        rank,
        rank_group,
        unit,
        service_number,
        capture_date,
        capture_region,
        status,
        exchange_id,
        convicted_in_captivity,
        category_codes,
        aftercare,
        notes,
        age_at_return: _,
        days_in_captivity: _,
        restricted,
        father_name,
        mother_maiden_name,
        power_depended_on,
        last_residence,
        correspondence_address,
        distinguishing_marks,
        identity_documents,
        aliases,
        contacts,
        external_ids,
    } = p;
    let mut v = Violations::new();
    let f = |name: &str| format!("{prefix}.{name}");
    let pb::Aftercare {
        medical_examination,
        rehabilitation,
        payments,
    } = aftercare.unwrap_or_default();
    let exchange_id = if exchange_id.trim().is_empty() {
        None
    } else {
        v.absorb("", parse_id(&f("exchange_id"), &exchange_id))
    };
    let fields = PersonFields {
        kind: enum_in(&mut v, &f("kind"), kind),
        family_name,
        given_name,
        patronymic,
        father_name,
        date_of_birth: date_in(&mut v, &f("date_of_birth"), date_of_birth),
        place_of_birth,
        sex: enum_in(&mut v, &f("sex"), sex),
        citizenship,
        service: enum_in(&mut v, &f("service"), service),
        rank,
        rank_group: enum_in(&mut v, &f("rank_group"), rank_group),
        unit,
        service_number,
        capture_date: date_in(&mut v, &f("capture_date"), capture_date),
        capture_region,
        status: enum_in(&mut v, &f("status"), status),
        exchange_id,
        convicted_in_captivity,
        category_codes,
        aftercare: Aftercare {
            medical_examination: enum_in(
                &mut v,
                &f("aftercare.medical_examination"),
                medical_examination,
            ),
            rehabilitation: enum_in(&mut v, &f("aftercare.rehabilitation"), rehabilitation),
            payments: enum_in(&mut v, &f("aftercare.payments"), payments),
        },
        notes,
        restricted,
        mother_maiden_name,
        power_depended_on,
        last_residence,
        correspondence_address,
        distinguishing_marks,
        identity_documents: identity_documents
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                let pb::IdentityDocument {
                    r#type,
                    number,
                    issuer,
                } = d;
                IdentityDocument {
                    document_type: enum_in(
                        &mut v,
                        &f(&format!("identity_documents[{i}].type")),
                        r#type,
                    ),
                    number,
                    issuer,
                }
            })
            .collect(),
        aliases,
        contacts: contacts
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let pb::Contact {
                    name,
                    relationship,
                    phone,
                    address,
                    informed_time,
                } = c;
                Contact {
                    name,
                    relationship,
                    phone,
                    address,
                    informed_time: time_in(
                        &mut v,
                        &f(&format!("contacts[{i}].informed_time")),
                        informed_time,
                    ),
                }
            })
            .collect(),
        external_ids: external_ids_in(external_ids),
    };
    (Incoming { fields, id, etag }, v)
}

fn external_ids_in(ids: Vec<pb::ExternalId>) -> Vec<ExternalId> {
    ids.into_iter()
        .map(|pb::ExternalId { system, id }| ExternalId { system, id })
        .collect()
}

fn external_ids_out(ids: Vec<ExternalId>) -> Vec<pb::ExternalId> {
    ids.into_iter()
        .map(|ExternalId { system, id }| pb::ExternalId { system, id })
        .collect()
}

/// A lookup's `system/id` key; `external_id.system` and `.id` are required.
pub fn external_key(x: Option<pb::ExternalId>) -> Result<String, Error> {
    let x = x.unwrap_or_default();
    let mut v = Violations::new();
    let mut system = x.system;
    crate::domain::external::check_system(&mut v, "external_id.system", &mut system);
    let mut id = x.id;
    crate::domain::text::line(
        &mut v,
        "external_id.id",
        &mut id,
        crate::domain::text::NAME_MAX,
        true,
    );
    v.finish(())?;
    Ok(ExternalId { system, id }.key())
}

/// An import's rows, each converted; what the conversion found wrong stays with its row (as
/// `persons[i].field`), so that the other rows still count.
pub fn import_rows_in(persons: Vec<pb::Person>) -> Vec<ImportRow> {
    persons
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let prefix = format!("persons[{i}]");
            let (incoming, mut v) = person_in(p, &prefix);
            let id = if incoming.id.trim().is_empty() {
                None
            } else {
                v.absorb("", parse_id(&format!("{prefix}.id"), &incoming.id))
            };
            ImportRow {
                id,
                fields: incoming.fields,
                violations: v.into_vec(),
            }
        })
        .collect()
}

pub fn match_rule_in(n: i32) -> Result<MatchRule, Error> {
    match pb::MatchRule::try_from(n) {
        Ok(pb::MatchRule::Unspecified | pb::MatchRule::ExternalId) => Ok(MatchRule::ExternalId),
        Ok(pb::MatchRule::ServiceNumber) => Ok(MatchRule::ServiceNumber),
        Ok(pb::MatchRule::NameAndDateOfBirth) => Ok(MatchRule::NameAndDateOfBirth),
        Err(_) => Err(Error::invalid(
            "match_rule",
            format!("unknown value {n} (EXTERNAL_ID, SERVICE_NUMBER or NAME_AND_DATE_OF_BIRTH)"),
        )),
    }
}

pub fn import_mode_in(n: i32) -> Result<ImportMode, Error> {
    match pb::ImportMode::try_from(n) {
        Ok(pb::ImportMode::Unspecified | pb::ImportMode::AllOrNothing) => {
            Ok(ImportMode::AllOrNothing)
        }
        Ok(pb::ImportMode::PerRow) => Ok(ImportMode::PerRow),
        Err(_) => Err(Error::invalid(
            "mode",
            format!("unknown value {n} (ALL_OR_NOTHING or PER_ROW)"),
        )),
    }
}

pub fn import_out(r: ImportReport) -> pb::ImportPersonsResponse {
    use pb::import_persons_result::Outcome as O;
    let count = |o: Outcome| i32::try_from(r.count(o)).unwrap_or(i32::MAX);
    let (created, updated, unchanged, failed) = (
        count(Outcome::Created),
        count(Outcome::Updated),
        count(Outcome::Unchanged),
        count(Outcome::Failed),
    );
    pb::ImportPersonsResponse {
        results: r
            .results
            .into_iter()
            .enumerate()
            .map(|(i, row)| pb::ImportPersonsResult {
                row: i32::try_from(i).unwrap_or(i32::MAX),
                outcome: match row.outcome {
                    Outcome::Created => O::Created,
                    Outcome::Updated => O::Updated,
                    Outcome::Unchanged => O::Unchanged,
                    Outcome::Failed => O::Failed,
                } as i32,
                person_id: row.person_id,
                violations: row
                    .violations
                    .into_iter()
                    .map(|(field, description)| pb::FieldViolation { field, description })
                    .collect(),
            })
            .collect(),
        written: r.written,
        revision: r.revision,
        created,
        updated,
        unchanged,
        failed,
    }
}

pub fn person_out(p: Person) -> pb::Person {
    let (id, create_time, update_time, etag) = meta_out(&p.meta);
    let PersonFields {
        kind,
        family_name,
        given_name,
        patronymic,
        father_name,
        date_of_birth,
        place_of_birth,
        sex,
        citizenship,
        service,
        rank,
        rank_group,
        unit,
        service_number,
        capture_date,
        capture_region,
        status,
        exchange_id,
        convicted_in_captivity,
        category_codes,
        aftercare,
        notes,
        restricted,
        mother_maiden_name,
        power_depended_on,
        last_residence,
        correspondence_address,
        distinguishing_marks,
        identity_documents,
        aliases,
        contacts,
        external_ids,
    } = p.fields;
    pb::Person {
        id,
        create_time,
        update_time,
        etag,
        kind: kind.code(),
        family_name,
        given_name,
        patronymic,
        date_of_birth: date_out(date_of_birth),
        place_of_birth,
        sex: sex.code(),
        citizenship,
        service: service.code(),
        rank,
        rank_group: rank_group.code(),
        unit,
        service_number,
        capture_date: date_out(capture_date),
        capture_region,
        status: status.code(),
        exchange_id: exchange_id.unwrap_or_default(),
        convicted_in_captivity,
        category_codes,
        aftercare: Some(pb::Aftercare {
            medical_examination: aftercare.medical_examination.code(),
            rehabilitation: aftercare.rehabilitation.code(),
            payments: aftercare.payments.code(),
        }),
        notes,
        age_at_return: p.derived.age_at_return,
        days_in_captivity: p.derived.days_in_captivity,
        restricted,
        father_name,
        mother_maiden_name,
        power_depended_on,
        last_residence,
        correspondence_address,
        distinguishing_marks,
        identity_documents: identity_documents
            .into_iter()
            .map(|d| pb::IdentityDocument {
                r#type: d.document_type.code(),
                number: d.number,
                issuer: d.issuer,
            })
            .collect(),
        aliases,
        contacts: contacts
            .into_iter()
            .map(|c| pb::Contact {
                name: c.name,
                relationship: c.relationship,
                phone: c.phone,
                address: c.address,
                informed_time: c.informed_time.map(timestamp),
            })
            .collect(),
        external_ids: external_ids_out(external_ids),
    }
}

fn counts_out(v: Vec<KeyCount>) -> Vec<pb::KeyCount> {
    v.into_iter()
        .map(|KeyCount { key, count }| pb::KeyCount { key, count })
        .collect()
}

fn share_out(s: Share) -> Option<pb::ShareCount> {
    Some(pb::ShareCount {
        count: s.count,
        share: s.share,
    })
}

fn figures_out(f: Figures) -> Option<pb::PersonFigures> {
    let Figures {
        persons,
        by_kind,
        by_service,
        by_rank_group,
        by_capture_region,
        by_category,
        by_sex,
        by_status,
        by_capture_year,
        convicted_in_captivity,
        dates,
        medical_examination,
        rehabilitation,
        payments,
        hospitalised_in_captivity,
        families_informed,
    } = f;
    Some(pb::PersonFigures {
        persons,
        by_kind: counts_out(by_kind),
        by_service: counts_out(by_service),
        by_rank_group: counts_out(by_rank_group),
        by_capture_region: counts_out(by_capture_region),
        by_category: counts_out(by_category),
        by_sex: counts_out(by_sex),
        by_status: counts_out(by_status),
        by_capture_year: counts_out(by_capture_year),
        convicted_in_captivity,
        youngest_age: dates.youngest_age,
        oldest_age: dates.oldest_age,
        age_unknown: dates.age_unknown,
        days_in_captivity_min: dates.days_min,
        days_in_captivity_median: dates.days_median,
        days_in_captivity_max: dates.days_max,
        capture_date_unknown: dates.capture_date_unknown,
        held_over_1_year: share_out(dates.held_over_1_year),
        held_over_2_years: share_out(dates.held_over_2_years),
        held_over_3_years: share_out(dates.held_over_3_years),
        captured_in_2022: share_out(dates.captured_in_2022),
        medical_examination: counts_out(medical_examination),
        rehabilitation: counts_out(rehabilitation),
        payments: counts_out(payments),
        hospitalised_in_captivity,
        families_informed,
    })
}

pub fn summary_out(s: ExchangeSummary) -> pb::ExchangeSummary {
    let ExchangeSummary {
        exchange_id,
        title,
        exchange_date,
        revision,
        announced_returned_count,
        announced_handed_over_count,
        persons,
    } = s;
    pb::ExchangeSummary {
        exchange_id,
        title,
        exchange_date: date_out(exchange_date),
        revision,
        announced_returned_count,
        announced_handed_over_count,
        persons: figures_out(persons),
    }
}

pub fn statistics_out(s: Statistics) -> pb::Statistics {
    let Statistics {
        revision,
        start_date,
        end_date,
        exchanges,
        announced_returned,
        by_year,
        by_exchange,
        persons,
    } = s;
    pb::Statistics {
        revision,
        start_date: date_out(start_date),
        end_date: date_out(end_date),
        exchanges,
        announced_returned,
        by_year: by_year
            .into_iter()
            .map(|y| pb::YearStatistics {
                year: y.year,
                exchanges: y.exchanges,
                persons_linked: y.persons_linked,
                announced_returned: y.announced_returned,
                announced_unknown: y.announced_unknown,
            })
            .collect(),
        by_exchange: by_exchange
            .into_iter()
            .map(|x| pb::ExchangeStatistics {
                exchange_id: x.exchange_id,
                title: x.title,
                exchange_date: date_out(x.exchange_date),
                persons_linked: x.persons_linked,
                announced_returned_count: x.announced_returned_count,
            })
            .collect(),
        persons: figures_out(persons),
    }
}

/// An optional date of a request: unset or all-zero is `None`.
pub fn optional_date_in(
    field: &str,
    d: Option<Date>,
) -> Result<Option<NaiveDate>, crate::domain::Error> {
    let mut v = Violations::new();
    let date = date_in(&mut v, field, d);
    v.finish(date)
}

pub fn token_out(t: Token) -> pb::Token {
    let Token {
        id,
        name,
        role,
        create_time,
        expire_time,
        revoke_time,
        created_by,
    } = t;
    pb::Token {
        id,
        name,
        role: role.code(),
        create_time: Some(timestamp(create_time)),
        expire_time: expire_time.map(timestamp),
        revoke_time: revoke_time.map(timestamp),
        created_by,
    }
}

pub fn audit_event_out(e: AuditEvent) -> pb::AuditEvent {
    let AuditEvent {
        id,
        time,
        token_id,
        token_name,
        role,
        method,
        resource_ids,
        code,
        peer,
        request_id,
    } = e;
    pb::AuditEvent {
        id,
        time: Some(timestamp(time)),
        token_id,
        token_name,
        role: role.code(),
        method,
        resource_ids,
        code,
        peer,
        request_id,
    }
}

/// A token a client asks for, validated at `now`.
pub fn new_token_in(t: pb::Token, now: DateTime<Utc>) -> Result<NewToken, Error> {
    let pb::Token {
        id: _,
        name,
        role,
        create_time: _,
        expire_time,
        revoke_time: _,
        created_by: _,
    } = t;
    let mut v = Violations::new();
    let role = match Role::from_code(role) {
        Some(r) => r,
        None => {
            v.add("token.role", format!("unknown value {role}"));
            Role::Unspecified
        }
    };
    let expire_time = expire_time.and_then(|ts| {
        let t = DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).unwrap_or(u32::MAX));
        if t.is_none() {
            v.add("token.expire_time", "is not a valid time");
        }
        t
    });
    let checked = v.absorb(
        "token",
        NewToken {
            name,
            role,
            expire_time,
        }
        .validate(now),
    );
    v.finish(checked)?
        .ok_or_else(|| Error::Internal("token validation gave nothing".into()))
}

/// A watch request, validated: the filter as List would check it, for one resource type.
pub fn watch_spec_in(r: pb::WatchRequest, caller: &Caller) -> Result<WatchSpec, Error> {
    let pb::WatchRequest {
        start_revision,
        types,
        filter: filter_text,
        send_initial_state,
        progress_notify,
    } = r;
    let mut v = Violations::new();
    if start_revision < 0 {
        v.add("start_revision", "must not be negative (0 means from now)");
    }
    if send_initial_state && start_revision != 0 {
        v.add("start_revision", "must be 0 with send_initial_state");
    }
    let mut kinds = Vec::new();
    // The count first: each of the three types at most once.
    let types: &[i32] = if types.len() > 4 {
        v.add(
            "types",
            format!(
                "lists each resource type at most once (got {} entries)",
                types.len()
            ),
        );
        &[]
    } else {
        &types
    };
    for (i, t) in types.iter().enumerate() {
        let kind = match pb::ResourceType::try_from(*t) {
            Ok(pb::ResourceType::Category) => Some(ResourceType::Category),
            Ok(pb::ResourceType::Exchange) => Some(ResourceType::Exchange),
            Ok(pb::ResourceType::Person) => Some(ResourceType::Person),
            Ok(pb::ResourceType::PersonEvent) => Some(ResourceType::PersonEvent),
            _ => None,
        };
        match kind {
            Some(k) if !kinds.contains(&k) => kinds.push(k),
            Some(_) => v.add(format!("types[{i}]"), "is repeated"),
            None => v.add(
                format!("types[{i}]"),
                "must be CATEGORY, EXCHANGE, PERSON or PERSON_EVENT",
            ),
        }
    }
    let mut parsed = None;
    if !filter_text.trim().is_empty() {
        match kinds.as_slice() {
            [one] => {
                if v.absorb("", check_filter(*one, &filter_text)).is_some() {
                    parsed = filter::parse(&filter_text)
                        .map_err(|e| Error::invalid("filter", e.to_string()))?;
                    if let Some(p) = &parsed {
                        match one {
                            ResourceType::Person => {
                                caller.check_fields_visible("filter", p.fields())?
                            }
                            ResourceType::PersonEvent => {
                                caller.check_visible_in(&PERSON_EVENT, "filter", p.fields())?
                            }
                            ResourceType::Category | ResourceType::Exchange => {}
                        }
                    }
                }
            }
            _ => v.add(
                "filter",
                "needs exactly one entry in types (fields differ by resource)",
            ),
        }
    }
    v.finish(WatchSpec {
        start_revision,
        types: kinds,
        filter_text,
        filter: parsed,
        send_initial_state,
        progress_notify,
        caller: caller.clone(),
    })
}

fn event(
    caller: &Caller,
    revision: i64,
    operation: Operation,
    time: prost_types::Timestamp,
    r: Resource,
) -> pb::Event {
    let resource = match r {
        Resource::Category(c) => pb::event::Resource::Category(category_out(c)),
        Resource::Exchange(x) => pb::event::Resource::Exchange(exchange_out(x)),
        Resource::Person(p) => pb::event::Resource::Person(person_out(caller.redact(p))),
        Resource::PersonEvent(e) => {
            pb::event::Resource::PersonEvent(person_event_out(caller.redact_event(e)))
        }
    };
    let r#type = match operation {
        Operation::Created => pb::EventType::Created,
        Operation::Updated => pb::EventType::Updated,
        Operation::Deleted => pb::EventType::Deleted,
    };
    pb::Event {
        revision,
        r#type: r#type as i32,
        time: Some(time),
        resource: Some(resource),
    }
}

/// A watcher's message as the wire carries it, persons redacted for `caller`.
pub fn watch_response_out(m: Message, caller: &Caller) -> pb::WatchResponse {
    use pb::watch_response::Kind;
    let kind = match m {
        Message::Events { revision, changes } => Kind::Events(pb::EventBatch {
            revision,
            events: changes
                .iter()
                .map(|c| {
                    let Change {
                        revision,
                        operation,
                        time,
                        resource,
                        previous: _,
                    } = c.as_ref();
                    event(
                        caller,
                        *revision,
                        *operation,
                        timestamp(*time),
                        resource.clone(),
                    )
                })
                .collect(),
        }),
        Message::Initial {
            revision,
            resources,
        } => Kind::Events(pb::EventBatch {
            revision,
            events: resources
                .into_iter()
                .map(|r| {
                    let time = match &r {
                        Resource::Category(c) => c.meta.update_time,
                        Resource::Exchange(x) => x.meta.update_time,
                        Resource::Person(p) => p.meta.update_time,
                        Resource::PersonEvent(e) => e.meta.update_time,
                    };
                    event(caller, revision, Operation::Created, timestamp(time), r)
                })
                .collect(),
        }),
        Message::InitialStateDone(revision) => {
            Kind::InitialStateDone(pb::InitialStateDone { revision })
        }
        Message::Progress(revision) => Kind::Progress(pb::Progress { revision }),
    };
    pb::WatchResponse { kind: Some(kind) }
}

/// A page of duplicate candidates.
pub fn candidates_out(
    page: crate::store::Page<crate::store::Candidate>,
) -> pb::ListDuplicateCandidatesResponse {
    pb::ListDuplicateCandidatesResponse {
        candidates: page
            .items
            .into_iter()
            .map(|c| pb::DuplicateCandidate {
                person_id: c.person_id,
                other_person_id: c.other_person_id,
                score: c.score,
                reasons: c.reasons,
                revision: c.revision,
                find_time: Some(timestamp(c.find_time)),
            })
            .collect(),
        next_page_token: page.next_page_token.unwrap_or_default(),
        revision: page.revision,
    }
}

// What the audit trail records of each message (see `Audited`): requests name the resource
// they ask for, answers the resources they carry.

/// An id a request named, as the audit trail records it: a resource id in its stored form, a
/// token name as given, anything else only by its size (it names nothing, and must neither
/// bloat the trail nor hold what a store refuses, like NUL).
fn audit_id(raw: &str) -> String {
    let t = raw.trim();
    if t.is_empty() || crate::domain::access::valid_token_name(t) {
        return t.to_owned();
    }
    match parse_id("id", t) {
        Ok(id) => id,
        Err(_) => format!("invalid id ({} bytes)", raw.len()),
    }
}

macro_rules! audited {
    (none: $($T:ty),+ $(,)?) => {
        $(impl Audited for $T {
            fn resource_ids(&self) -> Vec<String> {
                Vec::new()
            }
        })+
    };
    (id: $($T:ty),+ $(,)?) => {
        $(impl Audited for $T {
            fn resource_ids(&self) -> Vec<String> {
                vec![audit_id(&self.id)]
            }
        })+
    };
    // An update names the resource it carries.
    (update: $($T:ty => $field:ident),+ $(,)?) => {
        $(impl Audited for $T {
            fn resource_ids(&self) -> Vec<String> {
                vec![self.$field.as_ref().map(|r| audit_id(&r.id)).unwrap_or_default()]
            }
        })+
    };
    // An answer with several resources (or an optional one) names each.
    (list: $($T:ty => $field:ident),+ $(,)?) => {
        $(impl Audited for $T {
            fn resource_ids(&self) -> Vec<String> {
                self.$field.iter().map(|r| r.id.clone()).collect()
            }
        })+
    };
}

audited!(none: (), WatchSpec, pb::GetPersonHistoryResponse, pb::Statistics, pb::ExchangeSummary, pb::ListTokensResponse,
    pb::ListAuditEventsResponse, pb::CreateCategoryRequest, pb::CreateExchangeRequest,
    pb::CreatePersonRequest, pb::BatchCreatePersonsRequest, pb::ListCategoriesRequest,
    pb::ListExchangesRequest, pb::ListPersonsRequest, pb::GetStatisticsRequest, pb::WatchRequest,
    pb::CreateTokenRequest, pb::ListTokensRequest, pb::ListAuditEventsRequest,
    pb::CreatePersonEventRequest, pb::ListPersonEventsRequest, pb::LookupPersonRequest,
    pb::LookupExchangeRequest, pb::ImportPersonsRequest);

impl Audited for pb::ListDuplicateCandidatesRequest {
    fn resource_ids(&self) -> Vec<String> {
        if self.person_id.trim().is_empty() {
            Vec::new()
        } else {
            vec![audit_id(&self.person_id)]
        }
    }
}
impl Audited for pb::ListDuplicateCandidatesResponse {
    fn resource_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for c in &self.candidates {
            for id in [&c.person_id, &c.other_person_id] {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        ids
    }
}
impl Audited for pb::MergePersonsRequest {
    fn resource_ids(&self) -> Vec<String> {
        vec![audit_id(&self.survivor_id), audit_id(&self.duplicate_id)]
    }
}
impl Audited for pb::DismissDuplicateCandidateRequest {
    fn resource_ids(&self) -> Vec<String> {
        vec![audit_id(&self.person_id), audit_id(&self.other_person_id)]
    }
}

impl Audited for pb::ImportPersonsResponse {
    fn resource_ids(&self) -> Vec<String> {
        self.results
            .iter()
            .filter(|r| !r.person_id.is_empty())
            .map(|r| r.person_id.clone())
            .collect()
    }
}
audited!(id: pb::Category, pb::Exchange, pb::Person, pb::PersonEvent, pb::Token,
    pb::GetPersonEventRequest, pb::DeletePersonEventRequest, pb::GetPersonHistoryRequest,
    pb::GetCategoryRequest,
    pb::GetExchangeRequest, pb::GetPersonRequest, pb::GetExchangeSummaryRequest,
    pb::DeleteCategoryRequest, pb::DeleteExchangeRequest, pb::DeletePersonRequest,
    pb::RevokeTokenRequest);

audited!(update: pb::UpdateCategoryRequest => category, pb::UpdateExchangeRequest => exchange,
    pb::UpdatePersonRequest => person, pb::UpdatePersonEventRequest => event);
audited!(list: pb::ListCategoriesResponse => categories, pb::ListExchangesResponse => exchanges,
    pb::ListPersonsResponse => persons, pb::BatchCreatePersonsResponse => persons,
    pb::CreateTokenResponse => token, pb::ListPersonEventsResponse => person_events);

#[cfg(test)]
mod tests {
    use super::date_problem;

    #[test]
    fn impossible_dates_are_explained() {
        assert_eq!(
            date_problem(2001, 2, 30, false),
            "30 February 2001 does not exist: February 2001 has 28 days"
        );
        assert_eq!(
            date_problem(2024, 2, 30, true),
            "30 February 2024 does not exist: February 2024 has 29 days"
        );
        assert_eq!(
            date_problem(2001, 13, 1, false),
            "month 13 does not exist (1 to 12)"
        );
        assert_eq!(date_problem(0, 1, 1, false), "year 0 is outside 1 to 9999");
        assert_eq!(
            date_problem(2001, 4, 0, false),
            "the day of April 2001 is missing"
        );
    }
}
