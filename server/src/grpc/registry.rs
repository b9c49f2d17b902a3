//! `homecoming.v1.RegistryService`: figures across exchanges.

use homecoming_proto::v1::{self as pb, registry_service_server::RegistryService};
use tonic::{Request, Response, Status};

use super::convert;
use crate::{domain::Violations, store::Store};

pub struct RegistryApi {
    store: Store,
}

impl RegistryApi {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl RegistryService for RegistryApi {
    async fn get_statistics(
        &self,
        request: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::Statistics>, Status> {
        let pb::GetStatisticsRequest {
            start_date,
            end_date,
        } = request.into_inner();
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
        let stats = self.store.statistics(start, end).await?;
        Ok(Response::new(convert::statistics_out(stats)))
    }
}
