//! # Homecoming client
//!
//! A typed Rust client for the Homecoming registry (`homecoming.v1` over gRPC).
//!
//! ```no_run
//! use homecoming_client::futures::TryStreamExt;
//! use homecoming_client::{Client, ListQuery, date, filter::field, proto};
//!
//! # async fn demo() -> Result<(), homecoming_client::Error> {
//! let client = Client::builder("http://127.0.0.1:50051")
//!     .bearer_token("hc_...") // e.g. the content of homecoming.db.admin-token
//!     .connect()
//!     .await?;
//! let exchange = client
//!     .exchanges()
//!     .create(proto::Exchange {
//!         title: "Exchange stage".into(),
//!         exchange_date: Some(date(2025, 7, 4)),
//!         ..Default::default()
//!     })
//!     .await?;
//! let returned: Vec<proto::Person> = client
//!     .persons()
//!     .list(ListQuery::new().filter(field("exchange_id").eq(&exchange.id)))
//!     .try_collect()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `builder`: [`ClientBuilder`]: endpoint, deadlines, bearer token, (mutual) TLS.
//! - `client`: [`Client`], one cheap-to-clone client over one HTTP/2 channel; figures, and the
//!   admin calls (tokens, the audit trail).
//! - `resources`: [`Categories`], [`Exchanges`], [`Persons`], [`PersonEvents`], typed handles,
//!   one per service.
//!   Creates send a request id (AIP-155) and retry on UNAVAILABLE with the same id, so a retry
//!   never creates twice.
//! - `paging`: [`ListQuery`] and [`Page`]; `list` returns a `Stream` that pages for you,
//!   `list_page` gives one page.
//! - [`filter`]: a builder for AIP-160 filter strings.
//! - [`Client::watch`] / [`WatchBuilder`]: streaming changes that resume by themselves.
//! - [`ClientBuilder::bearer_token`], [`ClientBuilder::tls_ca_pem`],
//!   [`ClientBuilder::tls_identity_pem`]: authentication and (mutual) TLS. Tokens and the audit
//!   trail (admin only): [`Client::create_token`], [`Client::list_tokens`],
//!   [`Client::revoke_token`], [`Client::audit_events`].
//! - [`Error`]: one variant per status code (incl. `Unauthenticated`, `PermissionDenied`), with
//!   `ErrorInfo` and field violations.
//! - [`proto`]: the generated message types, re-exported.
//! - [`prost_types`], [`tonic`], [`futures`]: the crates the public signatures use, re-exported
//!   so that callers need not depend on matching versions themselves.
//!
//! # Depending on it
//! From another Cargo project, by git (replace the url with the repository's):
//!
//! ```toml
//! [dependencies]
//! homecoming-client = { git = "https://example.org/homecoming.git", package = "homecoming-client" }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! or, with a checkout next to the project, by path:
//!
//! ```toml
//! [dependencies]
//! homecoming-client = { path = "../homecoming/client" }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! The client runs on a tokio runtime with its time driver enabled (as `#[tokio::main]` and
//! `Runtime::new` provide): calls, retries and watches need it. Nothing else needs adding:
//! the well-known protobuf types ([`prost_types`]), gRPC codes and the channel ([`tonic`]) and
//! the stream combinators ([`futures`]) come re-exported from this crate.
//!
//! ```no_run
//! use homecoming_client::{Client, Error};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     let client = Client::builder("http://127.0.0.1:50051")
//!         .bearer_token(std::env::var("HOMECOMING_TOKEN").unwrap_or_default())
//!         .connect()
//!         .await?;
//!     let _figures = client.statistics(None, None).await?;
//!     Ok(())
//! }
//! ```

#![warn(missing_docs)]

mod builder;
mod client;
mod error;
pub mod filter;
mod paging;
mod resources;
mod watch;

pub use builder::{Bearer, ClientBuilder, Transport};
pub use client::Client;
pub use error::{Details, Error, FieldViolation};
/// `google.type.Date`, the calendar day of dates in the registry (see [`date`]).
pub use homecoming_proto::google::r#type::Date;
/// The generated `homecoming.v1` types: messages, enums, and the raw service clients (for use
/// with [`Client::channel`]).
pub use homecoming_proto::v1 as proto;
pub use paging::{ListQuery, Page};
pub use resources::{Categories, Exchanges, PersonEvents, Persons, new_request_id};
pub use watch::{WatchBuilder, WatchEvent};

/// The `futures` crate, re-exported: `list`, `history`, `list_tokens`, `audit_events` and
/// [`WatchBuilder::stream`] return a [`futures::Stream`]; read them with
/// [`futures::StreamExt`] / [`futures::TryStreamExt`] (e.g. `try_next`, `try_collect`).
pub use futures;
/// The `prost-types` crate the [`proto`] messages are built on, re-exported: the well-known
/// types in their fields (e.g. [`prost_types::Timestamp`]) and in [`Client::create_token`]'s
/// `expire_time`.
pub use prost_types;
/// The `tonic` crate, re-exported: [`Error::code`] and [`Error::Other`] carry a
/// [`tonic::Code`], [`Error::Transport`] a [`tonic::transport::Error`], and
/// [`Client::channel`] gives a [`tonic::transport::Channel`] for services this crate does not
/// wrap.
pub use tonic;

/// `google.type.Date` for a calendar day (`month` and `day` count from 1). Not checked here:
/// the server checks the dates it receives.
pub fn date(year: i32, month: i32, day: i32) -> Date {
    Date { year, month, day }
}
