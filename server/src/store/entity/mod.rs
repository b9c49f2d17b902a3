//! sea-orm entities, one per table (see the migration for the schema and its conventions).

pub mod access_token;
pub mod audit_event;
pub mod category;
pub mod category_link;
pub mod change_log;
pub mod exchange;
pub mod idempotency;
pub mod person;
pub mod revision;
