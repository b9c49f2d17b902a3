//! `homecoming.v1.PersonEventService`: a person's timeline.

use chrono::Utc;
use homecoming_proto::v1::{self as pb, person_event_service_server::PersonEventService};
use tonic::{Request, Response, Status};

use super::{Rpc, convert, create_input, etag, list_query, update_input};
use crate::domain::{PERSON_EVENT, filter, order, parse_id};

pub struct PersonEventApi {
    rpc: Rpc,
}

impl PersonEventApi {
    pub fn new(rpc: Rpc) -> Self {
        Self { rpc }
    }
}

#[tonic::async_trait]
impl PersonEventService for PersonEventApi {
    async fn create_person_event(
        &self,
        request: Request<pb::CreatePersonEventRequest>,
    ) -> Result<Response<pb::PersonEvent>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let (fields, request_id) = create_input(&r.request_id, "event", r.event, |e| {
                    convert::new_person_event(e, Utc::now().date_naive())
                })?;
                let created = cx
                    .store
                    .validating(r.validate_only)
                    .create_person_event(fields, request_id)
                    .await?;
                Ok(convert::person_event_out(cx.caller().redact_event(created)))
            })
            .await
    }

    async fn get_person_event(
        &self,
        request: Request<pb::GetPersonEventRequest>,
    ) -> Result<Response<pb::PersonEvent>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let id = parse_id("id", &r.id)?;
                let found = cx.store.get_person_event(&id).await?;
                Ok(convert::person_event_out(cx.caller().redact_event(found)))
            })
            .await
    }

    async fn list_person_events(
        &self,
        request: Request<pb::ListPersonEventsRequest>,
    ) -> Result<Response<pb::ListPersonEventsResponse>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let pb::ListPersonEventsRequest {
                    page_size,
                    page_token,
                    filter: filter_text,
                    order_by,
                } = r;
                let caller = cx.caller();
                if !caller.sees_sensitive() {
                    let in_order = order::parse(&order_by)
                        .map(|keys| keys.into_iter().map(|k| k.field).collect::<Vec<_>>())
                        .unwrap_or_default();
                    let in_filter = filter::fields_of(&filter_text);
                    caller.check_visible_in(
                        &PERSON_EVENT,
                        "filter",
                        in_filter.iter().map(String::as_str),
                    )?;
                    caller.check_visible_in(
                        &PERSON_EVENT,
                        "order_by",
                        in_order.iter().map(String::as_str),
                    )?;
                }
                let page = cx
                    .store
                    .list_person_events(&list_query(page_size, page_token, filter_text, order_by))
                    .await?;
                Ok(pb::ListPersonEventsResponse {
                    person_events: page
                        .items
                        .into_iter()
                        .map(|e| convert::person_event_out(caller.redact_event(e)))
                        .collect(),
                    next_page_token: page.next_page_token.unwrap_or_default(),
                    revision: page.revision,
                })
            })
            .await
    }

    async fn update_person_event(
        &self,
        request: Request<pb::UpdatePersonEventRequest>,
    ) -> Result<Response<pb::PersonEvent>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let u = update_input("event", r.event, convert::person_event_in, r.update_mask)?;
                let updated = cx
                    .store
                    .validating(r.validate_only)
                    .update_person_event(&u.id, u.etag.as_deref(), &u.fields, &u.mask)
                    .await?;
                Ok(convert::person_event_out(cx.caller().redact_event(updated)))
            })
            .await
    }

    async fn delete_person_event(
        &self,
        request: Request<pb::DeletePersonEventRequest>,
    ) -> Result<Response<()>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let id = parse_id("id", &r.id)?;
                cx.store.delete_person_event(&id, etag(&r.etag)).await
            })
            .await
    }
}
