//! `homecoming.v1.AuditService` (admin only): reading the audit trail. There is no method that
//! changes or deletes an event.

use homecoming_proto::v1::{self as pb, audit_service_server::AuditService};
use tonic::{Request, Response, Status};

use super::{Rpc, convert, list_query};

pub struct AuditApi {
    rpc: Rpc,
}

impl AuditApi {
    pub fn new(rpc: Rpc) -> Self {
        Self { rpc }
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let pb::ListAuditEventsRequest {
                    page_size,
                    page_token,
                    filter,
                    order_by,
                } = r;
                // Newest first unless asked otherwise.
                let order_by = if order_by.trim().is_empty() {
                    "id desc".to_owned()
                } else {
                    order_by
                };
                let page = cx
                    .store
                    .list_audit_events(&list_query(page_size, page_token, filter, order_by))
                    .await?;
                Ok(pb::ListAuditEventsResponse {
                    audit_events: page
                        .items
                        .into_iter()
                        .map(convert::audit_event_out)
                        .collect(),
                    next_page_token: page.next_page_token.unwrap_or_default(),
                })
            })
            .await
    }
}
