//! # Homecoming server
//!
//! The registry of prisoner exchanges, served over gRPC.
//!
//! # Layout
//! - [`config`]: command line and environment (`HOMECOMING_*`).
//! - [`telemetry`]: tracing set-up (text or JSON, `RUST_LOG`; OTLP traces when asked for).
//! - [`app`]: the only place that wires everything: `App::build` opens the store (running
//!   migrations) and binds the listener; `App::run_until_stopped` serves until shutdown.
//! - [`connections`]: accepted connections within bounds (how many, how long a silent one
//!   waits).
//! - [`commands`]: the subcommands besides `serve` (`migrate`, `demo-data`, `token`);
//!   [`bootstrap`]: the admin token a new registry creates on its first start.
//! - [`domain`]: plain types and rules (validation, filter and order syntax), and one
//!   declaration per resource of its fields (`domain::schema`) from which update masks,
//!   redaction, the watch matcher and the store's columns and filters all come. Knows nothing
//!   of gRPC or the database.
//! - [`store`]: the only sea-orm code: entities, migrations, queries, mutations, change log.
//! - [`demo`]: the demo dataset (`homecoming-server demo-data`): synthetic, idempotent.
//! - [`watch`]: the change feed: one hub per process tails the change log (woken by the
//!   store's commit notifications and polling) for every watcher.
//! - [`audit`]: the batched queue that appends audit events of reads and failed calls.
//! - [`grpc`]: thin adapters, one file per service, each handler a few lines inside
//!   `grpc::Rpc::serve` (authorise, convert, call the store, convert back, audit);
//!   `grpc::services` is the one table of services and the role each RPC requires;
//!   `grpc::convert` every conversion; `grpc::status` the one mapping from [`domain::Error`] to
//!   `tonic::Status`; `grpc::auth` authenticates every call; `grpc::observe` gives every call
//!   its request id, its metrics and its log line.
//! - [`metrics`]: the Prometheus endpoint (`--metrics-listen`) and what it reports.

pub mod app;
pub mod audit;
pub mod bootstrap;
pub mod commands;
pub mod config;
pub mod connections;
pub mod demo;
pub mod domain;
pub mod grpc;
pub mod metrics;
pub mod store;
pub mod telemetry;
pub mod watch;

pub use app::App;
pub use config::Config;
