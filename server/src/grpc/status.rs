//! The one mapping from [`Error`] to `tonic::Status` (AIP-193): canonical codes, an
//! `ErrorInfo { reason, domain: "homecoming" }` on every error, `BadRequest` field violations on
//! INVALID_ARGUMENT. Internal errors are logged in full and returned without their details.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::domain::{Error, MAX_VIOLATIONS};

pub const DOMAIN: &str = "homecoming";

/// Violations named in the message (all of them, up to [`MAX_VIOLATIONS`], are in the details).
const MESSAGE_VIOLATIONS: usize = 5;
/// Longest field path or description sent, in characters.
const MAX_TEXT: usize = 300;

/// `s`, cut to [`MAX_TEXT`] characters.
fn bounded(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        None => s.to_owned(),
        Some((at, _)) => format!("{}…", &s[..at]),
    }
}

/// The canonical name of a code, as the audit trail records it (`NOT_FOUND`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The ErrorInfo reason of an INVALID_ARGUMENT, from its first violation: what kind of input
/// was wrong, so that a client can act on it without reading the message.
fn invalid_reason(v: &crate::domain::FieldViolation) -> &'static str {
    let field = v.field.as_str();
    let top = field.split(['.', '[']).next().unwrap_or_default();
    match top {
        "filter" if v.description.starts_with("syntax error") => "FILTER_SYNTAX",
        "filter" => "FILTER_INVALID",
        "order_by" => "ORDER_BY_INVALID",
        "page_token" => "PAGE_TOKEN_INVALID",
        "page_size" => "PAGE_SIZE_INVALID",
        "update_mask" => "UPDATE_MASK_INVALID",
        "request_id" => "REQUEST_ID_INVALID",
        "etag" => "ETAG_INVALID",
        "start_revision" => "REVISION_INVALID",
        _ => "FIELD_INVALID",
    }
}

/// `PERSON_NOT_FOUND`, `CATEGORY_ALREADY_EXISTS`, …: the resource and what happened to it.
fn resource_reason(e: &Error, what: &str) -> &'static str {
    let resource = match e {
        Error::NotFound { resource, .. } | Error::AlreadyExists { resource, .. } => *resource,
        _ => "",
    };
    // A fixed set: the reasons are part of the API (API.md lists them). Resources are named
    // in the singular or by their table.
    let kind = match resource.trim_end_matches('s') {
        "person" => "PERSON",
        "exchange" => "EXCHANGE",
        "category" | "categorie" => "CATEGORY",
        "event" | "person_event" | "person event" => "PERSON_EVENT",
        "token" => "TOKEN",
        "external_id" => "EXTERNAL_ID",
        "contact" => "CONTACT",
        "identity_document" => "IDENTITY_DOCUMENT",
        _ => "RESOURCE",
    };
    macro_rules! reasons {
        ($($k:literal),*) => {
            match (kind, what) {
                $(($k, "NOT_FOUND") => concat!($k, "_NOT_FOUND"),)*
                $(($k, _) => concat!($k, "_ALREADY_EXISTS"),)*
                (_, "NOT_FOUND") => "RESOURCE_NOT_FOUND",
                _ => "RESOURCE_ALREADY_EXISTS",
            }
        };
    }
    reasons!(
        "PERSON",
        "EXCHANGE",
        "CATEGORY",
        "PERSON_EVENT",
        "TOKEN",
        "EXTERNAL_ID",
        "CONTACT",
        "IDENTITY_DOCUMENT"
    )
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        let mut details = ErrorDetails::new();
        let mut meta = HashMap::new();
        let (code, reason, message) = match e {
            Error::InvalidArgument(list) => {
                // Bounded whatever the request was: clients refuse trailers over 16 KiB.
                let total = list.len();
                let listed: Vec<_> = list.into_iter().take(MAX_VIOLATIONS + 1).collect();
                let mut message = format!(
                    "invalid request: {}",
                    listed
                        .iter()
                        .take(MESSAGE_VIOLATIONS)
                        .map(|v| format!("{}: {}", bounded(&v.field), bounded(&v.description)))
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                if total > MESSAGE_VIOLATIONS {
                    message.push_str(&format!(
                        "; {} more in the details",
                        total - MESSAGE_VIOLATIONS
                    ));
                }
                details.set_bad_request(
                    listed
                        .iter()
                        .map(|v| FieldViolation::new(bounded(&v.field), bounded(&v.description)))
                        .collect::<Vec<_>>(),
                );
                let reason = listed.first().map_or("FIELD_INVALID", invalid_reason);
                if let Some(first) = listed.first() {
                    meta.insert("field".to_owned(), bounded(&first.field));
                }
                meta.insert("violations".to_owned(), total.to_string());
                (Code::InvalidArgument, reason, message)
            }
            e @ Error::NotFound { .. } => {
                if let Error::NotFound { resource, id } = &e {
                    meta.insert("resource".to_owned(), (*resource).to_owned());
                    meta.insert("id".to_owned(), id.clone());
                }
                (
                    Code::NotFound,
                    resource_reason(&e, "NOT_FOUND"),
                    e.to_string(),
                )
            }
            Error::Merged { id, survivor_id } => {
                let message = format!("person {id:?} was merged into person {survivor_id:?}");
                meta.insert("resource".to_owned(), "person".to_owned());
                meta.insert("id".to_owned(), id);
                meta.insert("survivor_id".to_owned(), survivor_id);
                (Code::NotFound, "MERGED", message)
            }
            e @ Error::AlreadyExists { .. } => {
                if let Error::AlreadyExists {
                    resource,
                    field,
                    value,
                } = &e
                {
                    meta.insert("resource".to_owned(), (*resource).to_owned());
                    meta.insert("field".to_owned(), field.clone());
                    meta.insert("value".to_owned(), value.clone());
                }
                (
                    Code::AlreadyExists,
                    resource_reason(&e, "ALREADY_EXISTS"),
                    e.to_string(),
                )
            }
            e @ Error::EtagMismatch { .. } => {
                if let Error::EtagMismatch { current, .. } = &e {
                    meta.insert("current_etag".to_owned(), current.clone());
                }
                (Code::Aborted, "ETAG_MISMATCH", e.to_string())
            }
            Error::FailedPrecondition { reason, message } => {
                (Code::FailedPrecondition, reason, message)
            }
            e @ Error::RevisionCompacted { .. } => {
                if let Error::RevisionCompacted { oldest, .. } = &e {
                    meta.insert("oldest_revision".to_owned(), oldest.to_string());
                }
                (Code::OutOfRange, "REVISION_COMPACTED", e.to_string())
            }
            Error::Unauthenticated { reason, message } => (Code::Unauthenticated, reason, message),
            Error::PermissionDenied { field, message } => {
                // A field the role may not read or write, or a method above the role.
                let reason = if field.is_some() {
                    "FIELD_NOT_ALLOWED"
                } else {
                    "ROLE_INSUFFICIENT"
                };
                if let Some(field) = field {
                    meta.insert("field".to_owned(), field);
                }
                (Code::PermissionDenied, reason, message)
            }
            e @ Error::ShuttingDown => (Code::Unavailable, "SHUTTING_DOWN", e.to_string()),
            Error::Unavailable(m) => {
                tracing::warn!(error = %m, "database unavailable");
                (
                    Code::Unavailable,
                    "DATABASE_UNAVAILABLE",
                    "the registry's database is unavailable; retry later".to_owned(),
                )
            }
            Error::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                (Code::Internal, "SERVER_ERROR", "internal error".to_owned())
            }
        };
        details.set_error_info(reason, DOMAIN, meta);
        Status::with_error_details(code, message, details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_arguments_carry_every_field_violation_and_error_info() {
        let e = Error::InvalidArgument(vec![
            crate::domain::FieldViolation {
                field: "person.family_name".into(),
                description: "is required".into(),
            },
            crate::domain::FieldViolation {
                field: "person.kind".into(),
                description: "is required".into(),
            },
        ]);
        let s = Status::from(e);
        assert_eq!(s.code(), Code::InvalidArgument);
        let br = s
            .get_details_bad_request()
            .map(|b| b.field_violations)
            .unwrap_or_default();
        let fields: Vec<_> = br.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["person.family_name", "person.kind"]);
        let info = s.get_details_error_info();
        assert_eq!(info.map(|i| i.domain), Some(DOMAIN.to_owned()));
    }

    #[test]
    fn internal_errors_do_not_leak_their_details() {
        let s = Status::from(Error::Internal("secret sql text".into()));
        assert_eq!(s.code(), Code::Internal);
        assert!(!s.message().contains("secret"));
    }
}
