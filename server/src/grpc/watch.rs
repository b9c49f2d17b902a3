//! `homecoming.v1.WatchService`: validates the request, starts a watcher on the hub, converts
//! its messages to the wire. The stream ends when the client leaves (the watcher notices its
//! channel closed) or with the status of the error that ended the watch.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use homecoming_proto::v1::{self as pb, watch_service_server::WatchService};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{audited, auth, convert};
use crate::{
    audit::AuditLog,
    domain::{
        Change, Error, Operation, Resource, ResourceType, Violations, access::Caller, filter,
    },
    store::check_filter,
    watch::{Hub, Message, WatchSpec},
};

pub struct WatchApi {
    hub: Hub,
    audit: AuditLog,
}

impl WatchApi {
    pub fn new(hub: Hub, audit: AuditLog) -> Self {
        Self { hub, audit }
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchResponse, Status>> + Send>>;

fn spec(r: pb::WatchRequest, caller: &Caller) -> Result<WatchSpec, Error> {
    let pb::WatchRequest {
        start_revision,
        types,
        filter: filter_text,
        send_initial_state,
        progress_notify,
    } = r;
    let mut v = Violations::new();
    if start_revision < 0 {
        v.add("start_revision", "must not be negative (0 means from now)");
    }
    if send_initial_state && start_revision != 0 {
        v.add("start_revision", "must be 0 with send_initial_state");
    }
    let mut kinds = Vec::new();
    for (i, t) in types.iter().enumerate() {
        let kind = match pb::ResourceType::try_from(*t) {
            Ok(pb::ResourceType::Category) => Some(ResourceType::Category),
            Ok(pb::ResourceType::Exchange) => Some(ResourceType::Exchange),
            Ok(pb::ResourceType::Person) => Some(ResourceType::Person),
            _ => None,
        };
        match kind {
            Some(k) if !kinds.contains(&k) => kinds.push(k),
            Some(_) => v.add(format!("types[{i}]"), "is repeated"),
            None => v.add(
                format!("types[{i}]"),
                "must be CATEGORY, EXCHANGE or PERSON",
            ),
        }
    }
    let mut parsed = None;
    if !filter_text.trim().is_empty() {
        match kinds.as_slice() {
            [one] => {
                if v.absorb("", check_filter(*one, &filter_text)).is_some() {
                    parsed = filter::parse(&filter_text)
                        .map_err(|e| Error::invalid("filter", e.to_string()))?;
                    if *one == ResourceType::Person
                        && let Some(p) = &parsed
                    {
                        caller.check_fields_visible("filter", p.fields())?;
                    }
                }
            }
            _ => v.add(
                "filter",
                "needs exactly one entry in types (fields differ by resource)",
            ),
        }
    }
    v.finish(WatchSpec {
        start_revision,
        types: kinds,
        filter_text,
        filter: parsed,
        send_initial_state,
        progress_notify,
        caller: caller.clone(),
    })
}

fn event(
    caller: &Caller,
    revision: i64,
    operation: Operation,
    time: prost_types::Timestamp,
    r: Resource,
) -> pb::Event {
    let resource = match r {
        Resource::Category(c) => pb::event::Resource::Category(convert::category_out(c)),
        Resource::Exchange(x) => pb::event::Resource::Exchange(convert::exchange_out(x)),
        Resource::Person(p) => pb::event::Resource::Person(convert::person_out(caller.redact(p))),
    };
    let r#type = match operation {
        Operation::Created => pb::EventType::Created,
        Operation::Updated => pb::EventType::Updated,
        Operation::Deleted => pb::EventType::Deleted,
    };
    pb::Event {
        revision,
        r#type: r#type as i32,
        time: Some(time),
        resource: Some(resource),
    }
}

fn response(m: Message, caller: &Caller) -> pb::WatchResponse {
    use pb::watch_response::Kind;
    let kind = match m {
        Message::Events { revision, changes } => Kind::Events(pb::EventBatch {
            revision,
            events: changes
                .iter()
                .map(|c| {
                    let Change {
                        revision,
                        operation,
                        time,
                        resource,
                        previous: _,
                    } = c.as_ref();
                    event(
                        caller,
                        *revision,
                        *operation,
                        convert::timestamp(*time),
                        resource.clone(),
                    )
                })
                .collect(),
        }),
        Message::Initial {
            revision,
            resources,
        } => Kind::Events(pb::EventBatch {
            revision,
            events: resources
                .into_iter()
                .map(|r| {
                    let time = match &r {
                        Resource::Category(c) => c.meta.update_time,
                        Resource::Exchange(x) => x.meta.update_time,
                        Resource::Person(p) => p.meta.update_time,
                    };
                    event(
                        caller,
                        revision,
                        Operation::Created,
                        convert::timestamp(time),
                        r,
                    )
                })
                .collect(),
        }),
        Message::InitialStateDone(revision) => {
            Kind::InitialStateDone(pb::InitialStateDone { revision })
        }
        Message::Progress(revision) => Kind::Progress(pb::Progress { revision }),
    };
    pb::WatchResponse { kind: Some(kind) }
}

#[tonic::async_trait]
impl WatchService for WatchApi {
    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let call = auth::call(&request)?;
        let caller = call.caller.clone();
        // The watch is audited when it starts (or is refused); the persons it then delivers
        // are not recorded one by one.
        let spec = audited(
            &self.audit,
            &call,
            vec![],
            spec(request.into_inner(), &caller),
            |_| vec![],
        )
        .await?;
        let rx = self.hub.watch(spec);
        let stream = ReceiverStream::new(rx)
            .map(move |m| m.map(|m| response(m, &caller)).map_err(Status::from));
        Ok(Response::new(Box::pin(stream)))
    }
}
