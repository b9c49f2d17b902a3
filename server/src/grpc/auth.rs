//! Authentication and authorisation of every call, before any handler runs.
//!
//! - The services table (`grpc::services`) holds the least role each RPC requires. A method
//!   missing from it is refused (deny by default); the end-to-end suite walks the service
//!   descriptors and fails when an RPC has no entry.
//! - Health and reflection ([`PUBLIC_PREFIXES`]) need no token.
//! - Everything else needs `authorization: Bearer <secret>`. Tokens are looked up by the hash of
//!   the secret and cached for `token_cache_ttl`: a revocation through this server's
//!   AccessService is effective at once; one made on another replica or with the command line is
//!   effective within the TTL.
//! - The caller, method and peer become an [`Call`] in the request's extensions, which the
//!   handlers read with [`call`].
//! - Refused calls are audited (with their code) like every other call.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use chrono::Utc;
use futures::future::BoxFuture;
use tonic::{Code, Request, Status};
use tower::{Layer, Service};

pub use super::tokens::Authenticator;
use super::{
    observe::{observed, peer_of},
    status::code_name,
};
use crate::domain::{
    Error, Role,
    access::{Call, Caller},
};

/// Methods anyone may call, without a token (standard practice for health and reflection).
pub const PUBLIC_PREFIXES: &[&str] = &[
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

pub use super::services::METHOD_ROLES;

/// Who may call a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token.
    Public,
    /// A token with at least this role.
    Requires(Role),
    /// Nobody: the method is missing from the services table.
    Undeclared,
}

pub fn required_role(method: &str) -> Access {
    if PUBLIC_PREFIXES.iter().any(|p| method.starts_with(p)) {
        return Access::Public;
    }
    super::services::role_of(method).map_or(Access::Undeclared, Access::Requires)
}

/// The call a handler serves (put there by [`AuthLayer`]).
pub fn call<T>(request: &Request<T>) -> Result<Arc<Call>, Status> {
    request
        .extensions()
        .get::<Arc<Call>>()
        .cloned()
        .ok_or_else(|| {
            Status::from(Error::Internal(
                "request reached a handler unauthenticated".into(),
            ))
        })
}

/// Authenticates and authorises every call (see the module documentation).
#[derive(Clone)]
pub struct AuthLayer {
    auth: Arc<Authenticator>,
}

impl AuthLayer {
    pub fn new(auth: Arc<Authenticator>) -> Self {
        Self { auth }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            auth: self.auth.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Arc<Authenticator>,
}

impl<S, ReqB, ResB> Service<http::Request<ReqB>> for AuthService<S>
where
    S: Service<http::Request<ReqB>, Response = http::Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqB: Send + 'static,
    ResB: Default + Send,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<ReqB>) -> Self::Future {
        // The clone is ready only if polled; swap so the ready one serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        Box::pin(async move {
            let method = req.uri().path().to_owned();
            let observed = observed(&req);
            let peer = observed
                .as_ref()
                .map_or_else(|| peer_of(&req), |o| o.peer.clone());
            let request_id = observed
                .as_ref()
                .map(|o| o.request_id.clone())
                .unwrap_or_default();
            let new_call = |caller: Caller, method: String, peer: String| {
                if let Some(o) = &observed {
                    o.set_token_name(&caller.token_name);
                }
                Call::with_request_id(caller, method, peer, request_id.clone())
            };
            let required = match required_role(&method) {
                Access::Public => return inner.call(req).await.map(resource_exhausted),
                Access::Requires(role) => role,
                Access::Undeclared => {
                    // Before authentication: a newer client learns the method is missing here,
                    // not that its token lacks a role.
                    let status = Status::unimplemented(format!("no method {method} here"));
                    let call = new_call(Caller::anonymous(), method, peer);
                    let _ = auth
                        .audit
                        .record(call.event(Vec::new(), code_name(status.code()), Utc::now()))
                        .await;
                    return Ok(status.into_http());
                }
            };
            let authorization = req
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            match auth.authorize(authorization, required).await {
                Ok(caller) => {
                    let call = new_call(caller, method, peer);
                    req.extensions_mut().insert(call.clone());
                    let response = inner.call(req).await?;
                    let response = resource_exhausted(response);
                    if !call.is_audited() {
                        // The handler never ran (the request could not be decoded): the call is
                        // recorded with the code it was answered with.
                        let code = response
                            .headers()
                            .get("grpc-status")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<i32>().ok())
                            .map_or("UNKNOWN", |c| code_name(Code::from_i32(c)));
                        let _ = auth
                            .audit
                            .record(call.event(Vec::new(), code, Utc::now()))
                            .await;
                    }
                    Ok(response)
                }
                Err((e, caller)) => {
                    let status = Status::from(e);
                    let call = new_call(caller.unwrap_or_else(Caller::anonymous), method, peer);
                    // The refusal goes out whether or not its record could be written.
                    let _ = auth
                        .audit
                        .record(call.event(Vec::new(), code_name(status.code()), Utc::now()))
                        .await;
                    Ok(status.into_http())
                }
            }
        })
    }
}

/// tonic answers a message over the size limit with OUT_OF_RANGE; gRPC's own code for it is
/// RESOURCE_EXHAUSTED, which is what clients expect (and do not retry blindly).
fn resource_exhausted<B>(mut response: http::Response<B>) -> http::Response<B> {
    let headers = response.headers_mut();
    let too_large = headers.get("grpc-status").is_some_and(|s| s == "11")
        && headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            // grpc-message is percent-encoded.
            .is_some_and(|m| m.replace("%20", " ").contains("too large"));
    if too_large {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    response
}
