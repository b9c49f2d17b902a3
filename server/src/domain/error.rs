//! The one error type of the registry. `grpc::status` maps it to a `tonic::Status` in one
//! exhaustive match, so every variant has exactly one wire form.

use std::fmt;

/// One bad field: `field` is a path relative to the request (`person.family_name`,
/// `requests[3].person.category_codes[1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Most violations one error lists; the rest are counted (a request cannot make the server
/// build, or the client receive, an error larger than a few kilobytes per violation listed).
pub const MAX_VIOLATIONS: usize = 100;

/// Collects every violation of a request so that the client hears of all of them at once:
/// each distinct one once, the first [`MAX_VIOLATIONS`] listed, the others counted.
#[derive(Debug, Default)]
pub struct Violations {
    list: Vec<FieldViolation>,
    seen: std::collections::HashSet<(String, String)>,
    more: usize,
}

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        if self.list.len() >= MAX_VIOLATIONS {
            self.more += 1;
            return;
        }
        let (field, description) = (field.into(), description.into());
        if self.seen.insert((field.clone(), description.clone())) {
            self.list.push(FieldViolation { field, description });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds the violations of `result`'s error (if any), prefixing their fields.
    pub fn absorb<T>(&mut self, prefix: &str, result: Result<T, Error>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(Error::InvalidArgument(list)) => {
                for v in list {
                    self.add(join_path(prefix, &v.field), v.description);
                }
                None
            }
            Err(other) => {
                self.add(prefix.to_owned(), other.to_string());
                None
            }
        }
    }

    /// The violations, with a last entry counting those left out.
    pub fn into_vec(self) -> Vec<FieldViolation> {
        let mut list = self.list;
        if self.more > 0 {
            list.push(FieldViolation {
                field: "request".into(),
                description: format!(
                    "and {} more violations (only the first {MAX_VIOLATIONS} are listed)",
                    self.more
                ),
            });
        }
        list
    }

    /// `Ok(value)` when nothing was added, else INVALID_ARGUMENT with every violation.
    pub fn finish<T>(self, value: T) -> Result<T, Error> {
        if self.list.is_empty() {
            Ok(value)
        } else {
            Err(Error::InvalidArgument(self.into_vec()))
        }
    }
}

pub fn join_path(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{field}"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// INVALID_ARGUMENT with a field violation for every bad field.
    #[error("invalid argument: {}", list(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// NOT_FOUND.
    #[error("{resource} {id:?} not found")]
    NotFound { resource: &'static str, id: String },
    /// NOT_FOUND: the person was merged into `survivor_id` (MergePersons); a client holding
    /// the old id follows the survivor's.
    #[error("person {id:?} was merged into person {survivor_id:?}")]
    Merged { id: String, survivor_id: String },
    /// ALREADY_EXISTS: a unique field already holds this value.
    #[error("a {resource} with {field} {value:?} already exists")]
    AlreadyExists {
        resource: &'static str,
        field: String,
        value: String,
    },
    /// ABORTED: the etag sent is not the current one (AIP-154).
    #[error(
        "etag {sent:?} of {resource} {id:?} is stale (current: {current:?}); read it again and retry"
    )]
    EtagMismatch {
        resource: &'static str,
        id: String,
        sent: String,
        current: String,
    },
    /// FAILED_PRECONDITION: the system is not in a state for this call (e.g. the resource is in
    /// use). `reason` is the ErrorInfo reason.
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
    },
    /// OUT_OF_RANGE: a watch asked for revisions the change log no longer holds.
    #[error("revision {requested} was compacted; the oldest available is {oldest}")]
    RevisionCompacted { requested: i64, oldest: i64 },
    /// UNAUTHENTICATED: no token, or one that is unknown, expired or revoked. `reason` is the
    /// ErrorInfo reason (`TOKEN_MISSING`, `TOKEN_INVALID`, `TOKEN_EXPIRED`, `TOKEN_REVOKED`).
    #[error("{message}")]
    Unauthenticated {
        reason: &'static str,
        message: String,
    },
    /// PERMISSION_DENIED: the caller's role may not do this. `field` names the request field
    /// that asked for more than the role allows, if one did.
    #[error("{message}")]
    PermissionDenied {
        field: Option<String>,
        message: String,
    },
    /// UNAVAILABLE: this server is shutting down; resume elsewhere.
    #[error("the server is shutting down; retry on another replica or after restart")]
    ShuttingDown,
    /// UNAVAILABLE: the database could not be reached; safe to retry.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// INTERNAL: logged in full, returned without details.
    #[error("internal error: {0}")]
    Internal(String),
}

fn list(v: &[FieldViolation]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// INVALID_ARGUMENT with one violation.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// Prefixes the fields of an INVALID_ARGUMENT (other errors pass unchanged).
    pub fn prefixed(self, prefix: &str) -> Self {
        match self {
            Error::InvalidArgument(list) => Error::InvalidArgument(
                list.into_iter()
                    .map(|v| FieldViolation {
                        field: join_path(prefix, &v.field),
                        description: v.description,
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_violations_are_listed_once_and_many_are_counted() {
        let mut v = Violations::new();
        for _ in 0..10 {
            v.add("types[0]", "is repeated");
        }
        for i in 0..10_000 {
            v.add(format!("codes[{i}]"), "is unknown");
        }
        let list = v.into_vec();
        assert_eq!(list.len(), MAX_VIOLATIONS + 1);
        assert_eq!(list[0].field, "types[0]");
        assert!(
            list[MAX_VIOLATIONS]
                .description
                .starts_with("and 9901 more")
        );
    }
}
