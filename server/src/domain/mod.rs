//! Plain types and rules of the registry: what a valid category, exchange or person is, how an
//! update mask applies, how a filter or an ordering is written. Nothing here knows gRPC, prost or
//! the database; `grpc` converts wire messages into these types and `store` persists them.

pub mod access;
mod enums;
mod error;
pub mod filter;
pub mod matcher;
pub mod names;
pub mod order;
pub mod schema;
pub mod summary;
pub mod text;
pub mod translit;

pub mod category;
pub mod duplicates;
pub mod event;
pub mod exchange;
pub mod external;
pub mod import;
pub mod person;

use chrono::{DateTime, Utc};

pub use category::{CATEGORY, Category, CategoryFields, Code};
pub use enums::{
    CareStatus, CategoryKind, DocumentType, ExchangeStatus, PersonKind, PersonStatus, RankGroup,
    Role, ServiceBranch, Sex, WireEnum,
};
pub use error::{Error, FieldViolation, MAX_VIOLATIONS, Violations};
pub use event::{PERSON_EVENT, PersonEvent, PersonEventFields};
pub use exchange::{EXCHANGE, Exchange, ExchangeFields};
pub use external::ExternalId;
pub use person::{Aftercare, Contact, Derived, IdentityDocument, PERSON, Person, PersonFields};

/// Fields every stored resource has; all are output only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// UUIDv7 text, assigned by the server.
    pub id: String,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    /// Registry revision of the last write to this resource; the etag is derived from it.
    pub revision: i64,
}

impl Meta {
    /// The etag is the revision of the last write: it changes on every write and costs no
    /// extra column.
    pub fn etag(&self) -> String {
        etag_of(self.revision)
    }
}

pub fn etag_of(revision: i64) -> String {
    format!("r{revision}")
}

/// Resource kinds, as named in the change log, page tokens and error details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    Category,
    Exchange,
    Person,
    PersonEvent,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Category => "category",
            ResourceType::Exchange => "exchange",
            ResourceType::Person => "person",
            ResourceType::PersonEvent => "person_event",
        }
    }

    pub fn parse(s: &str) -> Option<ResourceType> {
        match s {
            "category" => Some(ResourceType::Category),
            "exchange" => Some(ResourceType::Exchange),
            "person" => Some(ResourceType::Person),
            "person_event" => Some(ResourceType::PersonEvent),
            _ => None,
        }
    }
}

/// What a change did to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Created,
    Updated,
    Deleted,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Created => "CREATED",
            Operation::Updated => "UPDATED",
            Operation::Deleted => "DELETED",
        }
    }

    pub fn parse(s: &str) -> Option<Operation> {
        match s {
            "CREATED" => Some(Operation::Created),
            "UPDATED" => Some(Operation::Updated),
            "DELETED" => Some(Operation::Deleted),
            _ => None,
        }
    }
}

/// Any stored resource (as the change log and Watch carry them). A person is much larger than
/// the others; the watch cache holds changes behind `Arc`, so the difference is not copied.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Category(Category),
    Exchange(Exchange),
    Person(Person),
    PersonEvent(PersonEvent),
}

impl Resource {
    pub fn resource_type(&self) -> ResourceType {
        match self {
            Resource::Category(_) => ResourceType::Category,
            Resource::Exchange(_) => ResourceType::Exchange,
            Resource::Person(_) => ResourceType::Person,
            Resource::PersonEvent(_) => ResourceType::PersonEvent,
        }
    }

    /// Whether only admins may see it: a restricted person, or an event of one.
    pub fn restricted(&self) -> bool {
        match self {
            Resource::Person(p) => p.fields.restricted,
            Resource::PersonEvent(e) => e.fields.restricted,
            Resource::Category(_) | Resource::Exchange(_) => false,
        }
    }

    /// When it last changed.
    pub fn update_time(&self) -> DateTime<Utc> {
        match self {
            Resource::Category(c) => c.meta.update_time,
            Resource::Exchange(x) => x.meta.update_time,
            Resource::Person(p) => p.meta.update_time,
            Resource::PersonEvent(e) => e.meta.update_time,
        }
    }

    pub fn as_matchable(&self) -> &dyn matcher::Matchable {
        match self {
            Resource::Category(c) => c,
            Resource::Exchange(x) => x,
            Resource::Person(p) => p,
            Resource::PersonEvent(e) => e,
        }
    }
}

/// One committed change, as the change log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub revision: i64,
    pub operation: Operation,
    pub time: DateTime<Utc>,
    /// The state after the change; for deletions, the last state.
    pub resource: Resource,
    /// The state before an update.
    pub previous: Option<Resource>,
}

/// Checks a resource id given by a client: ids are UUID text, so anything else cannot name a
/// resource and is rejected before it reaches the database.
pub fn parse_id(field: &str, value: &str) -> Result<String, Error> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    match uuid::Uuid::parse_str(trimmed) {
        Ok(id) => Ok(id.hyphenated().to_string()),
        Err(_) => Err(Error::invalid(field, "must be a resource id (UUID text)")),
    }
}

/// A new server-assigned id: UUIDv7, so ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// `request_id` of AIP-155: optional, bounded.
pub fn parse_request_id(field: &str, value: &str) -> Result<Option<String>, Error> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > 128 || v.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "must be at most 128 printable characters (a UUID is recommended)",
        ));
    }
    Ok(Some(v.to_owned()))
}

/// Page size rules of AIP-158 as API.md states them.
pub fn page_size(value: i32) -> Result<u64, Error> {
    match value {
        v if v < 0 => Err(Error::invalid("page_size", "must not be negative")),
        0 => Ok(50),
        v if v > 1000 => Ok(1000),
        v => Ok(v as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_zero_means_fifty_and_large_is_coerced() {
        assert_eq!(page_size(0).ok(), Some(50));
        assert_eq!(page_size(7).ok(), Some(7));
        assert_eq!(page_size(5000).ok(), Some(1000));
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn ids_must_be_uuids() {
        assert!(parse_id("id", "").is_err());
        assert!(parse_id("id", "abc").is_err());
        let id = new_id();
        assert_eq!(parse_id("id", &format!(" {id} ")).ok(), Some(id));
    }
}
