//! `homecoming.v1.WatchService`: validates the request, starts a watcher on the hub, converts
//! its messages to the wire. The stream ends when the client leaves (the watcher notices its
//! channel closed) or with the status of the error that ended the watch.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use homecoming_proto::v1::{self as pb, watch_service_server::WatchService};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{Rpc, convert};
use crate::watch::Hub;

pub struct WatchApi {
    rpc: Rpc,
    hub: Hub,
}

impl WatchApi {
    pub fn new(rpc: Rpc, hub: Hub) -> Self {
        Self { rpc, hub }
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl WatchService for WatchApi {
    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        // The watch is audited when it starts (or is refused); the persons it then delivers
        // are not recorded one by one.
        let spec = self
            .rpc
            .run(request, |cx, r| async move {
                convert::watch_spec_in(r, cx.caller())
            })
            .await?;
        let caller = spec.caller.clone();
        let rx = self.hub.watch(spec);
        let stream = ReceiverStream::new(rx).map(move |m| {
            m.map(|m| convert::watch_response_out(m, &caller))
                .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
