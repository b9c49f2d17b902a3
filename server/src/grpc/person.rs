//! `homecoming.v1.PersonService`.

use chrono::Utc;
use homecoming_proto::v1::{self as pb, person_service_server::PersonService};
use tonic::{Request, Response, Status};

use super::{check, convert, etag, list_query, mask_paths, required, structural, validated};
use crate::{
    domain::{Error, PersonFields, Violations, parse_id, parse_request_id},
    store::{CreateShape, Store},
};

/// Most persons in one BatchCreatePersons (AIP-233).
pub const MAX_BATCH: usize = 1000;

pub struct PersonApi {
    store: Store,
}

impl PersonApi {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// Converts and validates one person of a create; violations are named under `prefix`.
fn new_person(person: Option<pb::Person>, prefix: &str) -> Result<PersonFields, Error> {
    let today = Utc::now().date_naive();
    let p = required(prefix, person)?;
    let (incoming, v) = convert::person_in(p, prefix);
    validated(
        v,
        incoming
            .fields
            .validate(today)
            .map_err(|e| e.prefixed(prefix)),
    )
}

#[tonic::async_trait]
impl PersonService for PersonApi {
    async fn create_person(
        &self,
        request: Request<pb::CreatePersonRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        let pb::CreatePersonRequest { person, request_id } = request.into_inner();
        let mut v = Violations::new();
        let request_id = check(&mut v, parse_request_id("request_id", &request_id)).flatten();
        let fields = check(&mut v, new_person(person, "person"));
        let fields = v.finish(fields)?.unwrap_or_default();
        let mut created = self
            .store
            .create_persons(vec![fields], request_id, CreateShape::Single)
            .await?;
        let person = created
            .pop()
            .ok_or_else(|| Error::Internal("create returned no person".into()))?;
        Ok(Response::new(convert::person_out(person)))
    }

    async fn batch_create_persons(
        &self,
        request: Request<pb::BatchCreatePersonsRequest>,
    ) -> Result<Response<pb::BatchCreatePersonsResponse>, Status> {
        let pb::BatchCreatePersonsRequest {
            requests,
            request_id,
        } = request.into_inner();
        let mut v = Violations::new();
        let request_id = check(&mut v, parse_request_id("request_id", &request_id)).flatten();
        if requests.is_empty() {
            v.add("requests", "must have at least one entry");
        }
        if requests.len() > MAX_BATCH {
            v.add(
                "requests",
                format!(
                    "must have at most {MAX_BATCH} entries (got {})",
                    requests.len()
                ),
            );
            // Not worth validating what will not be written.
            return Err(Error::InvalidArgument(v.into_vec()).into());
        }
        let mut batch = Vec::with_capacity(requests.len());
        for (i, r) in requests.into_iter().enumerate() {
            // Each entry's own request_id is ignored: the batch's request_id covers it.
            let pb::CreatePersonRequest {
                person,
                request_id: _,
            } = r;
            if let Some(f) = check(&mut v, new_person(person, &format!("requests[{i}].person"))) {
                batch.push(f);
            }
        }
        v.finish(())?;
        let created = self
            .store
            .create_persons(batch, request_id, CreateShape::Batch)
            .await?;
        Ok(Response::new(pb::BatchCreatePersonsResponse {
            persons: created.into_iter().map(convert::person_out).collect(),
        }))
    }

    async fn get_person(
        &self,
        request: Request<pb::GetPersonRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        let id = parse_id("id", &request.into_inner().id)?;
        let found = self.store.get_person(&id).await?;
        Ok(Response::new(convert::person_out(found)))
    }

    async fn list_persons(
        &self,
        request: Request<pb::ListPersonsRequest>,
    ) -> Result<Response<pb::ListPersonsResponse>, Status> {
        let pb::ListPersonsRequest {
            page_size,
            page_token,
            filter,
            order_by,
        } = request.into_inner();
        let page = self
            .store
            .list_persons(&list_query(page_size, page_token, filter, order_by))
            .await?;
        Ok(Response::new(pb::ListPersonsResponse {
            persons: page.items.into_iter().map(convert::person_out).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
            revision: page.revision,
        }))
    }

    async fn update_person(
        &self,
        request: Request<pb::UpdatePersonRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        let pb::UpdatePersonRequest {
            person,
            update_mask,
        } = request.into_inner();
        let (incoming, v) = convert::person_in(required("person", person)?, "person");
        structural(v)?;
        let id = parse_id("person.id", &incoming.id)?;
        let updated = self
            .store
            .update_person(
                &id,
                etag(&incoming.etag),
                &incoming.fields,
                &mask_paths(update_mask),
            )
            .await?;
        Ok(Response::new(convert::person_out(updated)))
    }

    async fn delete_person(
        &self,
        request: Request<pb::DeletePersonRequest>,
    ) -> Result<Response<()>, Status> {
        let pb::DeletePersonRequest { id, etag: sent } = request.into_inner();
        let id = parse_id("id", &id)?;
        self.store.delete_person(&id, etag(&sent)).await?;
        Ok(Response::new(()))
    }
}
