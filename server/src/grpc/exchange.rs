//! `homecoming.v1.ExchangeService`.

use homecoming_proto::v1::{self as pb, exchange_service_server::ExchangeService};
use tonic::{Request, Response, Status};

use super::{
    audited, auth, check, convert, etag, list_query, mask_paths, required, structural, validated,
};
use crate::{
    audit::AuditLog,
    domain::{Violations, parse_id, parse_request_id},
    store::Store,
};

pub struct ExchangeApi {
    store: Store,
    audit: AuditLog,
}

impl ExchangeApi {
    pub fn new(store: Store, audit: AuditLog) -> Self {
        Self { store, audit }
    }
}

#[tonic::async_trait]
impl ExchangeService for ExchangeApi {
    async fn create_exchange(
        &self,
        request: Request<pb::CreateExchangeRequest>,
    ) -> Result<Response<pb::Exchange>, Status> {
        let call = auth::call(&request)?;
        let store = self.store.for_call(call.clone());
        let pb::CreateExchangeRequest {
            exchange,
            request_id,
        } = request.into_inner();
        let requested = Vec::new();
        let result = async {
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
            let created = store.create_exchange(fields, request_id).await?;
            Ok(convert::exchange_out(created))
        }
        .await;
        audited(&self.audit, &call, requested, result, |x| {
            vec![x.id.clone()]
        })
        .await
        .map(Response::new)
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
        let call = auth::call(&request)?;
        let store = self.store.for_call(call.clone());
        let pb::UpdateExchangeRequest {
            exchange,
            update_mask,
        } = request.into_inner();
        let requested = vec![
            exchange
                .as_ref()
                .map(|x| x.id.trim().to_owned())
                .unwrap_or_default(),
        ];
        let result = async {
            let (incoming, v) = convert::exchange_in(required("exchange", exchange)?);
            structural(v)?;
            let id = parse_id("exchange.id", &incoming.id)?;
            let updated = store
                .update_exchange(
                    &id,
                    etag(&incoming.etag),
                    &incoming.fields,
                    &mask_paths(update_mask),
                )
                .await?;
            Ok(convert::exchange_out(updated))
        }
        .await;
        audited(&self.audit, &call, requested, result, |x| {
            vec![x.id.clone()]
        })
        .await
        .map(Response::new)
    }

    async fn get_exchange_summary(
        &self,
        request: Request<pb::GetExchangeSummaryRequest>,
    ) -> Result<Response<pb::ExchangeSummary>, Status> {
        let call = auth::call(&request)?;
        let store = self.store.for_call(call.clone());
        let raw = request.into_inner().id;
        let result = async {
            let id = parse_id("id", &raw)?;
            let summary = store.exchange_summary(&id).await?;
            Ok(convert::summary_out(summary))
        }
        .await;
        let requested = vec![raw.trim().to_owned()];
        audited(&self.audit, &call, requested, result, |_| vec![])
            .await
            .map(Response::new)
    }

    async fn delete_exchange(
        &self,
        request: Request<pb::DeleteExchangeRequest>,
    ) -> Result<Response<()>, Status> {
        let call = auth::call(&request)?;
        let store = self.store.for_call(call.clone());
        let pb::DeleteExchangeRequest { id, etag: sent } = request.into_inner();
        let requested = vec![id.trim().to_owned()];
        let result = async {
            let id = parse_id("id", &id)?;
            store.delete_exchange(&id, etag(&sent)).await?;
            Ok(())
        }
        .await;
        audited(&self.audit, &call, requested, result, |_| vec![])
            .await
            .map(Response::new)
    }
}
