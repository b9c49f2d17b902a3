//! The client's error type: one variant per status code the registry uses, each with the
//! `ErrorInfo` reason and metadata, and field violations for INVALID_ARGUMENT.

use std::{collections::HashMap, fmt};

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// One bad field of a request, as the server named it (`person.family_name`,
/// `requests[3].person.category_codes[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The path of the bad field in the request message.
    pub field: String,
    /// What is wrong with it, in words.
    pub description: String,
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// What the server said besides the code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    /// The status message, in words.
    pub message: String,
    /// `google.rpc.ErrorInfo.reason`, e.g. `ETAG_MISMATCH`, `CATEGORY_IN_USE`.
    pub reason: String,
    /// `google.rpc.ErrorInfo.metadata`, e.g. `current_etag`.
    pub metadata: HashMap<String, String>,
}

/// Why a call failed: the server's status, one variant per code the registry uses (with what
/// the server said besides the code, [`Details`]), or a failure to connect or to configure.
///
/// [`Error::code`] gives the gRPC code of any variant, [`Error::reason`] the `ErrorInfo`
/// reason, [`Error::is_retryable`] whether trying again later may help.
///
/// ```
/// use homecoming_client::Error;
///
/// fn explain(e: &Error) -> String {
///     match e {
///         Error::InvalidArgument { violations, .. } => violations
///             .iter()
///             .map(|v| v.to_string())
///             .collect::<Vec<_>>()
///             .join("; "),
///         Error::Aborted(_) => "changed meanwhile: read it again".to_owned(),
///         other => other.to_string(),
///     }
/// }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; `violations` names every bad field.
    #[error("invalid argument: {}", .details.message)]
    InvalidArgument {
        /// What the server said.
        details: Details,
        /// The bad fields (`google.rpc.BadRequest`), possibly empty.
        violations: Vec<FieldViolation>,
    },
    /// No such resource (or token); `metadata` names the `resource` and `id`.
    #[error("not found: {}", .0.message)]
    NotFound(Details),
    /// Another resource already holds a value that must be unique (e.g. a category code, an
    /// external id, a token name); `metadata` names the `resource`, `field` and `value`.
    #[error("already exists: {}", .0.message)]
    AlreadyExists(Details),
    /// A concurrent change: the etag sent is stale. Read again and retry.
    #[error("aborted: {}", .0.message)]
    Aborted(Details),
    /// The registry is not in a state for this call (e.g. deleting what is in use).
    #[error("failed precondition: {}", .0.message)]
    FailedPrecondition(Details),
    /// Safe to retry later.
    #[error("unavailable: {}", .0.message)]
    Unavailable(Details),
    /// No token, or one that is unknown, expired (`reason` TOKEN_EXPIRED) or revoked
    /// (TOKEN_REVOKED).
    #[error("unauthenticated: {}", .0.message)]
    Unauthenticated(Details),
    /// The token's role may not do this.
    #[error("permission denied: {}", .0.message)]
    PermissionDenied(Details),
    /// The server reports that the call's deadline passed; it may or may not have taken
    /// effect. (When [`ClientBuilder::timeout`] runs out in the client, tonic reports
    /// `Cancelled`: [`Error::Other`].)
    ///
    /// [`ClientBuilder::timeout`]: crate::ClientBuilder::timeout
    #[error("deadline exceeded: {}", .0.message)]
    DeadlineExceeded(Details),
    /// A watch asked for revisions the server's change log no longer holds: list again and
    /// watch from the list's revision.
    #[error("revision compacted (oldest available: {oldest_revision}): {}", .details.message)]
    RevisionCompacted {
        /// What the server said.
        details: Details,
        /// The oldest revision the change log still holds (0 if the server did not say).
        oldest_revision: i64,
    },
    /// Something failed in the server (its log says what; the message does not), or an
    /// answer could not be decoded.
    #[error("internal server error: {}", .0.message)]
    Internal(Details),
    /// Any other status (e.g. `Unknown`, `Cancelled`, `ResourceExhausted`, or `OutOfRange`
    /// other than a compacted revision).
    #[error("{code:?}: {}", .details.message)]
    Other {
        /// The status code.
        code: Code,
        /// What the server said.
        details: Details,
    },
    /// The connection could not be made.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The builder was given an unusable endpoint or option (or, rarely, the server answered
    /// without a part the client needs).
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// The gRPC code this error stands for: the status code for the server's errors,
    /// `Unavailable` for [`Error::Transport`], `InvalidArgument` for [`Error::Config`], and
    /// `OutOfRange` for [`Error::RevisionCompacted`].
    pub fn code(&self) -> Code {
        match self {
            Error::InvalidArgument { .. } => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::AlreadyExists(_) => Code::AlreadyExists,
            Error::Aborted(_) => Code::Aborted,
            Error::FailedPrecondition(_) => Code::FailedPrecondition,
            Error::Unavailable(_) | Error::Transport(_) => Code::Unavailable,
            Error::DeadlineExceeded(_) => Code::DeadlineExceeded,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::PermissionDenied(_) => Code::PermissionDenied,
            Error::RevisionCompacted { .. } => Code::OutOfRange,
            Error::Internal(_) => Code::Internal,
            Error::Other { code, .. } => *code,
            Error::Config(_) => Code::InvalidArgument,
        }
    }

    /// What the server said besides the code; `None` for [`Error::Transport`] and
    /// [`Error::Config`], which come from the client.
    pub fn details(&self) -> Option<&Details> {
        match self {
            Error::InvalidArgument { details, .. }
            | Error::Other { details, .. }
            | Error::RevisionCompacted { details, .. } => Some(details),
            Error::NotFound(d)
            | Error::AlreadyExists(d)
            | Error::Aborted(d)
            | Error::FailedPrecondition(d)
            | Error::Unavailable(d)
            | Error::DeadlineExceeded(d)
            | Error::Unauthenticated(d)
            | Error::PermissionDenied(d)
            | Error::Internal(d) => Some(d),
            Error::Transport(_) | Error::Config(_) => None,
        }
    }

    /// The `ErrorInfo` reason, if the server sent one.
    pub fn reason(&self) -> Option<&str> {
        self.details()
            .map(|d| d.reason.as_str())
            .filter(|r| !r.is_empty())
    }

    /// The bad fields of an INVALID_ARGUMENT (empty otherwise).
    pub fn field_violations(&self) -> &[FieldViolation] {
        match self {
            Error::InvalidArgument { violations, .. } => violations,
            _ => &[],
        }
    }

    /// Whether the same call may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable(_) | Error::Transport(_))
    }
}

impl From<Status> for Error {
    fn from(status: Status) -> Self {
        let info = status.get_details_error_info();
        let details = Details {
            message: status.message().to_owned(),
            reason: info.as_ref().map(|i| i.reason.clone()).unwrap_or_default(),
            metadata: info.map(|i| i.metadata).unwrap_or_default(),
        };
        match status.code() {
            Code::InvalidArgument => Error::InvalidArgument {
                violations: status
                    .get_details_bad_request()
                    .map(|b| {
                        b.field_violations
                            .into_iter()
                            .map(|v| FieldViolation {
                                field: v.field,
                                description: v.description,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                details,
            },
            Code::NotFound => Error::NotFound(details),
            Code::AlreadyExists => Error::AlreadyExists(details),
            Code::Aborted => Error::Aborted(details),
            Code::FailedPrecondition => Error::FailedPrecondition(details),
            Code::Unavailable => Error::Unavailable(details),
            Code::DeadlineExceeded => Error::DeadlineExceeded(details),
            Code::Unauthenticated => Error::Unauthenticated(details),
            Code::PermissionDenied => Error::PermissionDenied(details),
            Code::OutOfRange if details.reason == "REVISION_COMPACTED" => {
                Error::RevisionCompacted {
                    oldest_revision: details
                        .metadata
                        .get("oldest_revision")
                        .and_then(|r| r.parse().ok())
                        .unwrap_or_default(),
                    details,
                }
            }
            Code::Internal => Error::Internal(details),
            code => Error::Other { code, details },
        }
    }
}
