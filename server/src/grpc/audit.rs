//! `homecoming.v1.AuditService` (admin only): reading the audit trail. There is no method that
//! changes or deletes an event.

use homecoming_proto::v1::{self as pb, audit_service_server::AuditService};
use tonic::{Request, Response, Status};

use super::{audited, auth, convert, list_query};
use crate::{audit::AuditLog, store::Store};

pub struct AuditApi {
    store: Store,
    audit: AuditLog,
}

impl AuditApi {
    pub fn new(store: Store, audit: AuditLog) -> Self {
        Self { store, audit }
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let call = auth::call(&request)?;
        let pb::ListAuditEventsRequest {
            page_size,
            page_token,
            filter,
            order_by,
        } = request.into_inner();
        // Newest first unless asked otherwise.
        let order_by = if order_by.trim().is_empty() {
            "id desc".to_owned()
        } else {
            order_by
        };
        let result = async {
            let page = self
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
        }
        .await;
        audited(&self.audit, &call, vec![], result, |_| vec![])
            .await
            .map(Response::new)
    }
}
