//! gRPC adapters, one file per service. Each handler runs in a fixed order: convert and
//! validate the request (every bad field reported at once), call the store, convert back.
//! Errors become `tonic::Status` only through `status.rs`.

pub mod category;
pub mod convert;
pub mod exchange;
pub mod person;
pub mod registry;
pub mod status;
pub mod watch;

use prost_types::FieldMask;

use crate::{
    domain::{Error, Violations},
    store::ListQuery,
};

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
