//! End-to-end tests: the public client crate against a real server over TCP, each test on
//! SQLite and on PostgreSQL (`HOMECOMING_TEST_POSTGRES_URL`), with the same code.

mod access;
mod adversarial;
mod categories;
mod duplicates;
mod errors;
mod events;
mod exchanges;
mod history;
mod idempotency;
mod import;
mod lists;
mod operability;
mod persons;
mod record;
mod revisions;
mod server;
mod summary;
mod tls;
mod watch;
