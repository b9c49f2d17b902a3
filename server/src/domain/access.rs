//! Who may do what: bearer tokens, roles, redaction of sensitive person fields, and the audit
//! event every call that touches person data leaves behind.
//!
//! A token's secret is 256 random bits, shown once and kept only as its SHA-256 hash (the secret
//! is random, so a plain hash cannot be reversed by guessing; no salt or slow hash is needed).

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{
    Error, PERSON, PERSON_EVENT, Person, PersonEvent, Role, Violations, WireEnum, schema::Schema,
};

/// Longest method path an audit event keeps, in characters.
const MAX_METHOD: usize = 200;

/// Secrets start with this, so a leaked one is recognisable (secret scanners, logs).
pub const SECRET_PREFIX: &str = "hc_";

/// The caller of a request, as its token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: String,
    pub token_name: String,
    pub role: Role,
}

impl Caller {
    /// The server itself (demo data, command-line tools): sees everything.
    pub fn system() -> Caller {
        Caller {
            token_id: String::new(),
            token_name: "system".into(),
            role: Role::Admin,
        }
    }

    /// A caller no token identifies (refused and unknown calls are recorded under it).
    pub fn anonymous() -> Caller {
        Caller {
            token_id: String::new(),
            token_name: String::new(),
            role: Role::Unspecified,
        }
    }

    /// Restricted (withheld) persons are visible to admins only.
    pub fn sees_restricted(&self) -> bool {
        self.role.includes(Role::Admin)
    }

    /// Sensitive person fields are visible from editor up.
    pub fn sees_sensitive(&self) -> bool {
        self.role.includes(Role::Editor)
    }

    /// Whether this caller may see `person` at all.
    pub fn may_see(&self, person: &Person) -> bool {
        !person.fields.restricted || self.sees_restricted()
    }

    /// `person` as this caller may see it: the declaration's sensitive fields cleared for
    /// viewers (the derived age stays).
    pub fn redact(&self, mut person: Person) -> Person {
        if !self.sees_sensitive() {
            PERSON.redact(&mut person.fields);
        }
        person
    }

    /// `event` as this caller may see it: its notes cleared for viewers.
    pub fn redact_event(&self, mut event: PersonEvent) -> PersonEvent {
        if !self.sees_sensitive() {
            PERSON_EVENT.redact(&mut event.fields);
        }
        event
    }

    /// Refuses a person filter or ordering that names a field this caller may not see (it
    /// would tell the value by which rows match). `fields` are the names used; `request_field`
    /// is where.
    pub fn check_fields_visible<'a>(
        &self,
        request_field: &str,
        fields: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), Error> {
        self.check_visible_in(&PERSON, request_field, fields)
    }

    /// As [`Caller::check_fields_visible`], for the fields of any declared resource.
    pub fn check_visible_in<'a, T>(
        &self,
        schema: &Schema<T>,
        request_field: &str,
        fields: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), Error> {
        for f in fields {
            if schema.sensitive(f) && !self.sees_sensitive() {
                return Err(Error::PermissionDenied {
                    field: Some(request_field.to_owned()),
                    message: format!(
                        "{request_field}: the field `{f}` is not visible to role {}",
                        self.role.name()
                    ),
                });
            }
        }
        Ok(())
    }
}

/// One call being served: who makes it, which method, from where. A write records the call's
/// audit event in its own transaction and marks the call audited; every other outcome (reads,
/// failures, writes that changed nothing) is audited by the gRPC layer after the call.
#[derive(Debug)]
pub struct Call {
    pub caller: Caller,
    /// Full gRPC path, `/homecoming.v1.PersonService/GetPerson`.
    pub method: String,
    pub peer: String,
    /// The call's `x-request-id` ("" for the server's own calls).
    pub request_id: String,
    audited: AtomicBool,
}

impl Call {
    pub fn new(caller: Caller, method: impl Into<String>, peer: impl Into<String>) -> Arc<Call> {
        let mut method: String = method.into();
        // Unknown methods are recorded too: a path is kept to a readable length.
        if let Some((at, _)) = method.char_indices().nth(MAX_METHOD) {
            method.truncate(at);
            method.push('…');
        }
        Arc::new(Call {
            caller,
            method,
            peer: peer.into(),
            request_id: String::new(),
            audited: AtomicBool::new(false),
        })
    }

    /// As [`Call::new`], for a call that arrived with `request_id`.
    pub fn with_request_id(
        caller: Caller,
        method: impl Into<String>,
        peer: impl Into<String>,
        request_id: String,
    ) -> Arc<Call> {
        let mut call = Call::new(caller, method, peer);
        if let Some(c) = Arc::get_mut(&mut call) {
            c.request_id = request_id;
        }
        call
    }

    /// The audit event of this call.
    pub fn event(&self, resource_ids: Vec<String>, code: &str, time: DateTime<Utc>) -> AuditEvent {
        AuditEvent {
            id: super::new_id(),
            time,
            token_id: self.caller.token_id.clone(),
            token_name: self.caller.token_name.clone(),
            role: self.caller.role,
            method: self.method.clone(),
            resource_ids,
            code: code.to_owned(),
            peer: self.peer.clone(),
            request_id: self.request_id.clone(),
        }
    }

    /// Called by the store once the event was committed with the change.
    pub fn mark_audited(&self) {
        self.audited.store(true, Ordering::Release);
    }

    pub fn is_audited(&self) -> bool {
        self.audited.load(Ordering::Acquire)
    }
}

/// A bearer token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub create_time: DateTime<Utc>,
    pub expire_time: Option<DateTime<Utc>>,
    pub revoke_time: Option<DateTime<Utc>>,
    pub created_by: String,
}

impl Token {
    /// The caller this token makes, if it is usable at `now`.
    pub fn caller_at(&self, now: DateTime<Utc>) -> Result<Caller, Error> {
        if self.revoke_time.is_some() {
            return Err(Error::Unauthenticated {
                reason: "TOKEN_REVOKED",
                message: "the bearer token was revoked".into(),
            });
        }
        if self.expire_time.is_some_and(|t| t <= now) {
            return Err(Error::Unauthenticated {
                reason: "TOKEN_EXPIRED",
                message: "the bearer token has expired".into(),
            });
        }
        Ok(Caller {
            token_id: self.id.clone(),
            token_name: self.name.clone(),
            role: self.role,
        })
    }
}

/// What a client asks for when creating a token, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub expire_time: Option<DateTime<Utc>>,
}

impl NewToken {
    pub fn validate(self, now: DateTime<Utc>) -> Result<NewToken, Error> {
        let mut v = Violations::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            v.add("name", "is required");
        } else if !valid_token_name(&name) {
            v.add(
                "name",
                "must match ^[a-z0-9][a-z0-9._-]{0,62}$ (lowercase letters, digits, . _ -)",
            );
        }
        if self.role == Role::Unspecified {
            v.add("role", format!("is required ({})", role_names()));
        }
        if self.expire_time.is_some_and(|t| t <= now) {
            v.add("expire_time", "must be in the future");
        }
        v.finish(NewToken {
            name,
            role: self.role,
            expire_time: self.expire_time,
        })
    }
}

fn role_names() -> String {
    Role::names()
}

pub fn valid_token_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
}

/// A new secret: `hc_` and 256 random bits from the operating system, base64url.
pub fn new_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Internal(format!("no randomness for a token: {e}")))?;
    Ok(format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// What is stored of a secret: hex SHA-256.
pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One audit event: who called what, on which resources, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: String,
    pub time: DateTime<Utc>,
    pub token_id: String,
    pub token_name: String,
    pub role: Role,
    /// Full gRPC path, `/homecoming.v1.PersonService/GetPerson`.
    pub method: String,
    pub resource_ids: Vec<String>,
    /// Canonical code name: `OK`, `NOT_FOUND`, ...
    pub code: String,
    pub peer: String,
    /// The call's `x-request-id` (the client's, or one the server made).
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Meta, PersonFields};

    fn person(restricted: bool) -> Person {
        Person {
            meta: Meta {
                id: "x".into(),
                create_time: Utc::now(),
                update_time: Utc::now(),
                revision: 1,
            },
            fields: PersonFields {
                family_name: "Testenko".into(),
                service_number: "S-1".into(),
                place_of_birth: "Testville".into(),
                notes: "n".into(),
                date_of_birth: chrono::NaiveDate::from_ymd_opt(1990, 1, 1),
                restricted,
                ..Default::default()
            },
            derived: Default::default(),
        }
    }

    fn caller(role: Role) -> Caller {
        Caller {
            token_id: "t".into(),
            token_name: "t".into(),
            role,
        }
    }

    #[test]
    fn secrets_are_long_random_and_hashed_consistently() {
        let a = new_secret().unwrap_or_default();
        let b = new_secret().unwrap_or_default();
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX) && a.len() >= 3 + 43);
        assert_eq!(secret_hash(&a), secret_hash(&a));
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }

    #[test]
    fn viewers_get_sensitive_fields_cleared_and_editors_do_not() {
        let p = caller(Role::Viewer).redact(person(false));
        assert!(p.fields.service_number.is_empty() && p.fields.notes.is_empty());
        assert!(p.fields.date_of_birth.is_none() && p.fields.place_of_birth.is_empty());
        assert_eq!(p.fields.family_name, "Testenko");
        let p = caller(Role::Editor).redact(person(false));
        assert_eq!(p.fields.service_number, "S-1");
    }

    #[test]
    fn restricted_persons_are_visible_to_admins_only() {
        assert!(!caller(Role::Viewer).may_see(&person(true)));
        assert!(!caller(Role::Editor).may_see(&person(true)));
        assert!(caller(Role::Admin).may_see(&person(true)));
        assert!(caller(Role::Viewer).may_see(&person(false)));
    }

    #[test]
    fn viewers_may_not_filter_by_sensitive_fields() {
        let v = caller(Role::Viewer);
        assert!(v.check_fields_visible("filter", ["family_name"]).is_ok());
        assert!(v.check_fields_visible("filter", ["date_of_birth"]).is_err());
        assert!(
            caller(Role::Editor)
                .check_fields_visible("filter", ["notes"])
                .is_ok()
        );
    }

    #[test]
    fn revoked_and_expired_tokens_make_no_caller() {
        let now = Utc::now();
        let mut t = Token {
            id: "i".into(),
            name: "n".into(),
            role: Role::Editor,
            create_time: now,
            expire_time: None,
            revoke_time: None,
            created_by: "system".into(),
        };
        assert!(t.caller_at(now).is_ok());
        t.expire_time = Some(now - chrono::Duration::seconds(1));
        assert!(matches!(
            t.caller_at(now),
            Err(Error::Unauthenticated {
                reason: "TOKEN_EXPIRED",
                ..
            })
        ));
        t.revoke_time = Some(now);
        assert!(matches!(
            t.caller_at(now),
            Err(Error::Unauthenticated {
                reason: "TOKEN_REVOKED",
                ..
            })
        ));
    }

    #[test]
    fn token_names_are_short_lowercase_words() {
        assert!(valid_token_name("ops-bot.1"));
        assert!(!valid_token_name("Ops"));
        assert!(!valid_token_name("-x"));
        assert!(!valid_token_name(&"a".repeat(64)));
    }
}
