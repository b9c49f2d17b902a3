//! `homecoming.v1.ExchangeService`.

use homecoming_proto::v1::{self as pb, exchange_service_server::ExchangeService};
use tonic::{Request, Response, Status};

use super::{Rpc, convert, create_input, etag, list_query, update_input};
use crate::domain::parse_id;

pub struct ExchangeApi {
    rpc: Rpc,
}

impl ExchangeApi {
    pub fn new(rpc: Rpc) -> Self {
        Self { rpc }
    }
}

#[tonic::async_trait]
impl ExchangeService for ExchangeApi {
    async fn create_exchange(
        &self,
        request: Request<pb::CreateExchangeRequest>,
    ) -> Result<Response<pb::Exchange>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let (fields, request_id) =
                    create_input(&r.request_id, "exchange", r.exchange, convert::new_exchange)?;
                let created = cx
                    .store
                    .validating(r.validate_only)
                    .create_exchange(fields, request_id)
                    .await?;
                Ok(convert::exchange_out(created))
            })
            .await
    }

    async fn get_exchange(
        &self,
        request: Request<pb::GetExchangeRequest>,
    ) -> Result<Response<pb::Exchange>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let id = parse_id("id", &r.id)?;
                Ok(convert::exchange_out(cx.store.get_exchange(&id).await?))
            })
            .await
    }

    async fn lookup_exchange(
        &self,
        request: Request<pb::LookupExchangeRequest>,
    ) -> Result<Response<pb::Exchange>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let key = convert::external_key(r.external_id)?;
                Ok(convert::exchange_out(cx.store.lookup_exchange(&key).await?))
            })
            .await
    }

    async fn list_exchanges(
        &self,
        request: Request<pb::ListExchangesRequest>,
    ) -> Result<Response<pb::ListExchangesResponse>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let pb::ListExchangesRequest {
                    page_size,
                    page_token,
                    filter,
                    order_by,
                } = r;
                let page = cx
                    .store
                    .list_exchanges(&list_query(page_size, page_token, filter, order_by))
                    .await?;
                Ok(pb::ListExchangesResponse {
                    exchanges: page.items.into_iter().map(convert::exchange_out).collect(),
                    next_page_token: page.next_page_token.unwrap_or_default(),
                    revision: page.revision,
                })
            })
            .await
    }

    async fn update_exchange(
        &self,
        request: Request<pb::UpdateExchangeRequest>,
    ) -> Result<Response<pb::Exchange>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let u = update_input("exchange", r.exchange, convert::exchange_in, r.update_mask)?;
                let updated = cx
                    .store
                    .validating(r.validate_only)
                    .update_exchange(&u.id, u.etag.as_deref(), &u.fields, &u.mask)
                    .await?;
                Ok(convert::exchange_out(updated))
            })
            .await
    }

    async fn get_exchange_summary(
        &self,
        request: Request<pb::GetExchangeSummaryRequest>,
    ) -> Result<Response<pb::ExchangeSummary>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let id = parse_id("id", &r.id)?;
                Ok(convert::summary_out(cx.store.exchange_summary(&id).await?))
            })
            .await
    }

    async fn delete_exchange(
        &self,
        request: Request<pb::DeleteExchangeRequest>,
    ) -> Result<Response<()>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let id = parse_id("id", &r.id)?;
                cx.store.delete_exchange(&id, etag(&r.etag)).await
            })
            .await
    }
}
