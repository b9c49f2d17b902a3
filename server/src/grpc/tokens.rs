//! Bearer tokens resolved to callers: looked up by the hash of the secret and cached for
//! `token_cache_ttl`. A revocation through this server's AccessService is effective at once
//! ([`Authenticator::forget`]); one made on another replica or with the command line within
//! the TTL.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::Utc;

use crate::{
    audit::AuditLog,
    domain::{
        Error, Role, WireEnum,
        access::{Caller, Token, secret_hash},
    },
    store::Store,
};

/// Resolves bearer secrets to callers, with a short-lived cache.
pub struct Authenticator {
    store: Store,
    pub(super) audit: AuditLog,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Token, Instant)>>,
}

impl Authenticator {
    pub fn new(store: Store, audit: AuditLog, ttl: Duration) -> Arc<Authenticator> {
        Arc::new(Authenticator {
            store,
            audit,
            ttl,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Drops a token from the cache (after it was revoked here).
    pub fn forget(&self, token_id: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|_, (t, _)| t.id != token_id);
        }
    }

    async fn token(&self, hash: &str) -> Result<Option<Token>, Error> {
        if let Ok(cache) = self.cache.lock()
            && let Some((token, at)) = cache.get(hash)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(token.clone()));
        }
        let found = self.store.token_by_hash(hash).await?;
        if let (Some(token), Ok(mut cache)) = (&found, self.cache.lock()) {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(hash.to_owned(), (token.clone(), Instant::now()));
        }
        Ok(found)
    }

    /// The caller the request's token makes, allowed to call `method`.
    pub(super) async fn authorize(
        &self,
        authorization: Option<&str>,
        required: Role,
    ) -> Result<Caller, (Error, Option<Caller>)> {
        let secret = bearer(authorization).map_err(|e| (e, None))?;
        let token = self
            .token(&secret_hash(secret))
            .await
            .map_err(|e| (e, None))?
            .ok_or_else(|| {
                (
                    Error::Unauthenticated {
                        reason: "TOKEN_INVALID",
                        message: "the bearer token is not valid".into(),
                    },
                    None,
                )
            })?;
        let caller = token.caller_at(Utc::now()).map_err(|e| {
            let c = Caller {
                token_id: token.id.clone(),
                token_name: token.name.clone(),
                role: token.role,
            };
            (e, Some(c))
        })?;
        if !caller.role.includes(required) {
            let message = format!(
                "role {} may not call this method; it requires {}",
                caller.role.name(),
                required.name()
            );
            return Err((
                Error::PermissionDenied {
                    field: None,
                    message,
                },
                Some(caller),
            ));
        }
        Ok(caller)
    }
}

fn bearer(authorization: Option<&str>) -> Result<&str, Error> {
    let missing = || Error::Unauthenticated {
        reason: "TOKEN_MISSING",
        message: "this method needs `authorization: Bearer <token>` metadata".into(),
    };
    let value = authorization.ok_or_else(missing)?.trim();
    let (scheme, secret) = value.split_once(' ').ok_or_else(missing)?;
    let secret = secret.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || secret.is_empty() {
        return Err(missing());
    }
    Ok(secret)
}
