//! `homecoming.v1.RegistryService`: figures across exchanges.

use homecoming_proto::v1::{self as pb, registry_service_server::RegistryService};
use tonic::{Request, Response, Status};

use super::{audited, auth, convert};
use crate::{audit::AuditLog, domain::Violations, store::Store};

pub struct RegistryApi {
    store: Store,
    audit: AuditLog,
}

impl RegistryApi {
    pub fn new(store: Store, audit: AuditLog) -> Self {
        Self { store, audit }
    }
}

#[tonic::async_trait]
impl RegistryService for RegistryApi {
    async fn get_statistics(
        &self,
        request: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::Statistics>, Status> {
        let call = auth::call(&request)?;
        let store = self.store.for_call(call.clone());
        let pb::GetStatisticsRequest {
            start_date,
            end_date,
        } = request.into_inner();
        let result = async {
            let mut v = Violations::new();
            let start = v
                .absorb("", convert::optional_date_in("start_date", start_date))
                .flatten();
            let end = v
                .absorb("", convert::optional_date_in("end_date", end_date))
                .flatten();
            if let (Some(s), Some(e)) = (start, end)
                && e < s
            {
                v.add("end_date", "must not be before start_date");
            }
            v.finish(())?;
            let stats = store.statistics(start, end).await?;
            Ok(convert::statistics_out(stats))
        }
        .await;
        audited(&self.audit, &call, vec![], result, |_| vec![])
            .await
            .map(Response::new)
    }
}
