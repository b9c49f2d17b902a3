//! # Homecoming server
//!
//! The registry of prisoner exchanges, served over gRPC.
//!
//! # Layout
//! - [`config`]: command line and environment (`HOMECOMING_*`).
//! - [`telemetry`]: tracing set-up (text or JSON, `RUST_LOG`).
//! - [`app`]: the only place that wires everything: `App::build` opens the store (running
//!   migrations) and binds the listener; `App::run_until_stopped` serves until shutdown.
//! - [`domain`]: plain types and rules (validation, update masks, filter and order syntax).
//!   Knows nothing of gRPC or the database.
//! - [`store`]: the only sea-orm code: entities, migrations, queries, mutations, change log.
//! - [`demo`]: the demo dataset (`homecoming-server demo-data`): synthetic, idempotent.
//! - [`watch`]: the change feed: one hub per process tails the change log (woken by local
//!   commits, PostgreSQL NOTIFY and polling) for every watcher; compaction.
//! - [`audit`]: the batched queue that appends audit events of reads and failed calls.
//! - [`grpc`]: thin adapters, one file per service: convert, validate, call the store, convert
//!   back; `grpc::status` is the one mapping from [`domain::Error`] to `tonic::Status`;
//!   `grpc::auth` authenticates every call and holds the table of the role each RPC requires.

pub mod app;
pub mod audit;
pub mod config;
pub mod demo;
pub mod domain;
pub mod grpc;
pub mod store;
pub mod telemetry;
pub mod watch;

pub use app::App;
pub use config::Config;
