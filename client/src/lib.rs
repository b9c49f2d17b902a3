//! # Homecoming client
//!
//! A typed Rust client for the Homecoming registry (`homecoming.v1` over gRPC).
//!
//! ```no_run
//! use futures::TryStreamExt;
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
pub use homecoming_proto::google::r#type::Date;
/// The generated `homecoming.v1` types.
pub use homecoming_proto::v1 as proto;
pub use paging::{ListQuery, Page};
pub use resources::{Categories, Exchanges, PersonEvents, Persons, new_request_id};
pub use watch::{WatchBuilder, WatchEvent};

/// `google.type.Date` for a calendar day.
pub fn date(year: i32, month: i32, day: i32) -> Date {
    Date { year, month, day }
}
