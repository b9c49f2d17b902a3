//! `homecoming.v1.ExchangeService`.

use homecoming_proto::v1::{self as pb, exchange_service_server::ExchangeService};
use tonic::{Request, Response, Status};

use super::{check, convert, etag, list_query, mask_paths, required, structural, validated};
use crate::{
    domain::{Violations, parse_id, parse_request_id},
    store::Store,
};

pub struct ExchangeApi {
    store: Store,
}

impl ExchangeApi {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl ExchangeService for ExchangeApi {
    async fn create_exchange(
        &self,
        request: Request<pb::CreateExchangeRequest>,
    ) -> Result<Response<pb::Exchange>, Status> {
        let pb::CreateExchangeRequest {
            exchange,
            request_id,
        } = request.into_inner();
        let mut v = Violations::new();
        let request_id = check(&mut v, parse_request_id("request_id", &request_id)).flatten();
        let fields = check(
            &mut v,
            required("exchange", exchange).and_then(|r| {
                let (incoming, v) = convert::exchange_in(r);
                validated(
                    v,
                    incoming
                        .fields
                        .validate()
                        .map_err(|e| e.prefixed("exchange")),
                )
            }),
        );
        let fields = v.finish(fields)?.unwrap_or_default();
        let created = self.store.create_exchange(fields, request_id).await?;
        Ok(Response::new(convert::exchange_out(created)))
    }

    async fn get_exchange(
        &self,
        request: Request<pb::GetExchangeRequest>,
    ) -> Result<Response<pb::Exchange>, Status> {
        let id = parse_id("id", &request.into_inner().id)?;
        let found = self.store.get_exchange(&id).await?;
        Ok(Response::new(convert::exchange_out(found)))
    }

    async fn list_exchanges(
        &self,
        request: Request<pb::ListExchangesRequest>,
    ) -> Result<Response<pb::ListExchangesResponse>, Status> {
        let pb::ListExchangesRequest {
            page_size,
            page_token,
            filter,
            order_by,
        } = request.into_inner();
        let page = self
            .store
            .list_exchanges(&list_query(page_size, page_token, filter, order_by))
            .await?;
        Ok(Response::new(pb::ListExchangesResponse {
            exchanges: page.items.into_iter().map(convert::exchange_out).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
            revision: page.revision,
        }))
    }

    async fn update_exchange(
        &self,
        request: Request<pb::UpdateExchangeRequest>,
    ) -> Result<Response<pb::Exchange>, Status> {
        let pb::UpdateExchangeRequest {
            exchange,
            update_mask,
        } = request.into_inner();
        let (incoming, v) = convert::exchange_in(required("exchange", exchange)?);
        structural(v)?;
        let id = parse_id("exchange.id", &incoming.id)?;
        let updated = self
            .store
            .update_exchange(
                &id,
                etag(&incoming.etag),
                &incoming.fields,
                &mask_paths(update_mask),
            )
            .await?;
        Ok(Response::new(convert::exchange_out(updated)))
    }

    async fn get_exchange_summary(
        &self,
        request: Request<pb::GetExchangeSummaryRequest>,
    ) -> Result<Response<pb::ExchangeSummary>, Status> {
        let id = parse_id("id", &request.into_inner().id)?;
        let summary = self.store.exchange_summary(&id).await?;
        Ok(Response::new(convert::summary_out(summary)))
    }

    async fn delete_exchange(
        &self,
        request: Request<pb::DeleteExchangeRequest>,
    ) -> Result<Response<()>, Status> {
        let pb::DeleteExchangeRequest { id, etag: sent } = request.into_inner();
        let id = parse_id("id", &id)?;
        self.store.delete_exchange(&id, etag(&sent)).await?;
        Ok(Response::new(()))
    }
}
