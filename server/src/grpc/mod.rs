//! gRPC adapters, one file per service. Each handler runs in a fixed order: take the
//! authorised call (`auth::call`: the role was checked before the handler ran), convert and
//! validate the request (every bad field reported at once), call the store (a handle made for
//! the call, so it sees what the caller may see and audits writes in their transaction), convert
//! back (redacted for the caller), and audit the outcome ([`audited`]).
//! Errors become `tonic::Status` only through `status.rs`.

pub mod access;
pub mod audit;
pub mod auth;
pub mod category;
pub mod convert;
pub mod exchange;
pub mod person;
pub mod registry;
pub mod status;
pub mod watch;

use chrono::Utc;
use prost_types::FieldMask;
use tonic::Status;

use crate::{
    audit::AuditLog,
    domain::{Error, Violations, access::Call},
    store::ListQuery,
};

/// Audits a call's outcome and turns its error into a `Status`. A call whose write committed
/// was audited in its transaction already; any other outcome (a read, a failure, a write that
/// changed nothing) is queued here. `requested` are the ids the request named, recorded when
/// the answer names none (e.g. NOT_FOUND); `answered` picks the ids from a success.
async fn audited<T>(
    audit: &AuditLog,
    call: &Call,
    requested: Vec<String>,
    result: Result<T, Error>,
    answered: impl FnOnce(&T) -> Vec<String>,
) -> Result<T, Status> {
    if call.is_audited() {
        return result.map_err(Status::from);
    }
    let (ids, result) = match result {
        Ok(v) => {
            let ids = answered(&v);
            (if ids.is_empty() { requested } else { ids }, Ok(v))
        }
        Err(e) => (requested, Err(Status::from(e))),
    };
    let code = match &result {
        Ok(_) => "OK",
        Err(s) => status::code_name(s.code()),
    };
    audit.record(call.event(ids, code, Utc::now())).await;
    result
}

/// A required message field.
fn required<T>(field: &str, value: Option<T>) -> Result<T, Error> {
    value.ok_or_else(|| Error::invalid(field, "is required"))
}

/// An etag sent by the client, if any.
fn etag(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

fn mask_paths(mask: Option<FieldMask>) -> Vec<String> {
    mask.map(|m| m.paths).unwrap_or_default()
}

fn list_query(page_size: i32, page_token: String, filter: String, order_by: String) -> ListQuery {
    ListQuery {
        page_size,
        page_token,
        filter,
        order_by,
    }
}

/// The result of validating a converted resource, with the violations the conversion found.
/// Every bad field is reported once: a field with a structural violation (e.g. an unknown enum
/// number) is not reported again by validation.
fn validated<T>(structural: Violations, result: Result<T, Error>) -> Result<T, Error> {
    let mut list = structural.into_vec();
    match result {
        Ok(v) if list.is_empty() => return Ok(v),
        Ok(_) => {}
        Err(Error::InvalidArgument(more)) => {
            for m in more {
                if !list.iter().any(|v| v.field == m.field) {
                    list.push(m);
                }
            }
        }
        Err(other) => return Err(other),
    }
    Err(Error::InvalidArgument(list))
}

/// Structural violations of an update's resource fail it at once; the rules are checked by the
/// store after the mask is applied.
fn structural(v: Violations) -> Result<(), Error> {
    v.finish(())
}

/// Runs `f`, folding its INVALID_ARGUMENT into `v`.
fn check<T>(v: &mut Violations, r: Result<T, Error>) -> Option<T> {
    v.absorb("", r)
}
