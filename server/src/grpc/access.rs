//! `homecoming.v1.AccessService` (admin only): bearer tokens.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use homecoming_proto::v1::{self as pb, access_service_server::AccessService};
use tonic::{Request, Response, Status};

use super::{audited, auth, auth::Authenticator, convert, list_query, required};
use crate::{
    audit::AuditLog,
    domain::{Error, Role, Violations, WireEnum, access::NewToken},
    store::Store,
};

pub struct AccessApi {
    store: Store,
    audit: AuditLog,
    auth: Arc<Authenticator>,
}

impl AccessApi {
    pub fn new(store: Store, audit: AuditLog, auth: Arc<Authenticator>) -> Self {
        Self { store, audit, auth }
    }
}

fn new_token(t: pb::Token, now: DateTime<Utc>) -> Result<NewToken, Error> {
    let pb::Token {
        id: _,
        name,
        role,
        create_time: _,
        expire_time,
        revoke_time: _,
        created_by: _,
    } = t;
    let mut v = Violations::new();
    let role = match Role::from_code(role) {
        Some(r) => r,
        None => {
            v.add("token.role", format!("unknown value {role}"));
            Role::Unspecified
        }
    };
    let expire_time = expire_time.and_then(|ts| {
        let t = DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).unwrap_or(u32::MAX));
        if t.is_none() {
            v.add("token.expire_time", "is not a valid time");
        }
        t
    });
    let checked = v.absorb(
        "token",
        NewToken {
            name,
            role,
            expire_time,
        }
        .validate(now),
    );
    v.finish(checked)?
        .ok_or_else(|| Error::Internal("token validation gave nothing".into()))
}

#[tonic::async_trait]
impl AccessService for AccessApi {
    async fn create_token(
        &self,
        request: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        let call = auth::call(&request)?;
        let store = self.store.for_call(call.clone());
        let pb::CreateTokenRequest { token } = request.into_inner();
        let result = async {
            let new = new_token(required("token", token)?, Utc::now())?;
            let (token, secret) = store.create_token(new, &call.caller.token_name).await?;
            Ok(pb::CreateTokenResponse {
                token: Some(convert::token_out(token)),
                secret,
            })
        }
        .await;
        audited(&self.audit, &call, vec![], result, |r| {
            r.token.iter().map(|t| t.id.clone()).collect()
        })
        .await
        .map(Response::new)
    }

    async fn list_tokens(
        &self,
        request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        let call = auth::call(&request)?;
        let pb::ListTokensRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let result = async {
            let page = self
                .store
                .list_tokens(&list_query(
                    page_size,
                    page_token,
                    String::new(),
                    String::new(),
                ))
                .await?;
            Ok(pb::ListTokensResponse {
                tokens: page.items.into_iter().map(convert::token_out).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            })
        }
        .await;
        audited(&self.audit, &call, vec![], result, |_| vec![])
            .await
            .map(Response::new)
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::Token>, Status> {
        let call = auth::call(&request)?;
        let store = self.store.for_call(call.clone());
        let pb::RevokeTokenRequest { id } = request.into_inner();
        let requested = vec![id.trim().to_owned()];
        let result = async {
            let id = id.trim();
            if id.is_empty() {
                return Err(Error::invalid("id", "is required (a token's id or name)"));
            }
            let token = store.revoke_token(id).await?;
            self.auth.forget(&token.id);
            Ok(convert::token_out(token))
        }
        .await;
        audited(&self.audit, &call, requested, result, |t| {
            vec![t.id.clone()]
        })
        .await
        .map(Response::new)
    }
}
