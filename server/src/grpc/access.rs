//! `homecoming.v1.AccessService` (admin only): bearer tokens.

use std::sync::Arc;

use chrono::Utc;
use homecoming_proto::v1::{self as pb, access_service_server::AccessService};
use tonic::{Request, Response, Status};

use super::{Rpc, convert, list_query, required, tokens::Authenticator};
use crate::domain::{Error, access::valid_token_name, parse_id};

pub struct AccessApi {
    rpc: Rpc,
    auth: Arc<Authenticator>,
}

impl AccessApi {
    pub fn new(rpc: Rpc, auth: Arc<Authenticator>) -> Self {
        Self { rpc, auth }
    }
}

#[tonic::async_trait]
impl AccessService for AccessApi {
    async fn create_token(
        &self,
        request: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let new = convert::new_token_in(required("token", r.token)?, Utc::now())?;
                let (token, secret) = cx.store.create_token(new, &cx.caller().token_name).await?;
                Ok(pb::CreateTokenResponse {
                    token: Some(convert::token_out(token)),
                    secret,
                })
            })
            .await
    }

    async fn list_tokens(
        &self,
        request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let q = list_query(r.page_size, r.page_token, String::new(), String::new());
                let page = cx.store.list_tokens(&q).await?;
                Ok(pb::ListTokensResponse {
                    tokens: page.items.into_iter().map(convert::token_out).collect(),
                    next_page_token: page.next_page_token.unwrap_or_default(),
                })
            })
            .await
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::Token>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let id = r.id.trim();
                if id.is_empty() {
                    return Err(Error::invalid("id", "is required (a token's id or name)"));
                }
                if parse_id("id", id).is_err() && !valid_token_name(id) {
                    return Err(Error::invalid("id", "must be a token's id or name"));
                }
                let token = cx.store.revoke_token(id).await?;
                self.auth.forget(&token.id);
                Ok(convert::token_out(token))
            })
            .await
    }
}
