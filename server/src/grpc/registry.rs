//! `homecoming.v1.RegistryService`: figures across exchanges.

use homecoming_proto::v1::{self as pb, registry_service_server::RegistryService};
use tonic::{Request, Response, Status};

use super::{Rpc, convert};
use crate::domain::Violations;

pub struct RegistryApi {
    rpc: Rpc,
}

impl RegistryApi {
    pub fn new(rpc: Rpc) -> Self {
        Self { rpc }
    }
}

#[tonic::async_trait]
impl RegistryService for RegistryApi {
    async fn get_statistics(
        &self,
        request: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::Statistics>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let pb::GetStatisticsRequest {
                    start_date,
                    end_date,
                } = r;
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
                let stats = cx.store.statistics(start, end).await?;
                Ok(convert::statistics_out(stats))
            })
            .await
    }
}
