//! `homecoming.v1.PersonService`.

use chrono::Utc;
use homecoming_proto::v1::{self as pb, person_service_server::PersonService};
use tonic::{Request, Response, Status};

use super::{Rpc, check, convert, create_input, etag, list_query, required, update_input};
use crate::{
    domain::{
        Error, PERSON, PersonFields, Violations, WireEnum, access::Caller, filter, order, parse_id,
        parse_request_id,
    },
    store::{CreateShape, ImportOptions},
};

/// Most persons in one BatchCreatePersons (AIP-233).
pub const MAX_BATCH: usize = 1000;

pub struct PersonApi {
    rpc: Rpc,
}

impl PersonApi {
    pub fn new(rpc: Rpc) -> Self {
        Self { rpc }
    }
}

/// A batch's size: at least one entry, at most `MAX_BATCH` (over it, the call fails at once: not
/// worth validating what will not be written).
fn batch_size(v: &mut Violations, field: &str, n: usize) -> Result<(), Error> {
    if n == 0 {
        v.add(field, "must have at least one entry");
    }
    if n > MAX_BATCH {
        v.add(
            field,
            format!("must have at most {MAX_BATCH} entries (got {n})"),
        );
        return Err(Error::InvalidArgument(std::mem::take(v).into_vec()));
    }
    Ok(())
}

/// Only an admin may withhold a person or release one.
fn check_may_restrict(caller: &Caller, fields: &PersonFields, field: &str) -> Result<(), Error> {
    if fields.restricted && !caller.sees_restricted() {
        return Err(Error::PermissionDenied {
            field: Some(field.to_owned()),
            message: format!(
                "{field}: only an admin may mark a person restricted (role {})",
                caller.role.name()
            ),
        });
    }
    Ok(())
}

/// A filter or ordering naming a field the caller may not see is refused (it would reveal the
/// values). Parsed here only for such callers; the store parses it again to run it.
fn check_visible(caller: &Caller, filter: &str, order_by: &str) -> Result<(), Error> {
    if caller.sees_sensitive() {
        return Ok(());
    }
    let in_filter = filter::fields_of(filter);
    caller.check_fields_visible("filter", in_filter.iter().map(String::as_str))?;
    let in_order = order::parse(order_by)
        .map(|keys| keys.into_iter().map(|k| k.field).collect::<Vec<_>>())
        .unwrap_or_default();
    caller.check_fields_visible("order_by", in_order.iter().map(String::as_str))
}

#[tonic::async_trait]
impl PersonService for PersonApi {
    async fn create_person(
        &self,
        request: Request<pb::CreatePersonRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let (fields, request_id) = create_input(&r.request_id, "person", r.person, |p| {
                    convert::new_person(p, "person", Utc::now().date_naive())
                })?;
                check_may_restrict(cx.caller(), &fields, "person.restricted")?;
                let mut created = cx
                    .store
                    .validating(r.validate_only)
                    .create_persons(vec![fields], request_id, CreateShape::Single)
                    .await?;
                let person = created
                    .pop()
                    .ok_or_else(|| Error::Internal("create returned no person".into()))?;
                Ok(convert::person_out(cx.caller().redact(person)))
            })
            .await
    }

    async fn batch_create_persons(
        &self,
        request: Request<pb::BatchCreatePersonsRequest>,
    ) -> Result<Response<pb::BatchCreatePersonsResponse>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let pb::BatchCreatePersonsRequest {
                    requests,
                    request_id,
                    validate_only,
                } = r;
                let mut v = Violations::new();
                let request_id =
                    check(&mut v, parse_request_id("request_id", &request_id)).flatten();
                batch_size(&mut v, "requests", requests.len())?;
                let mut batch = Vec::with_capacity(requests.len());
                for (i, r) in requests.into_iter().enumerate() {
                    // Each entry's own request_id is ignored: the batch's request_id covers it.
                    let pb::CreatePersonRequest {
                        person,
                        request_id: _,
                        validate_only: _,
                    } = r;
                    let prefix = format!("requests[{i}].person");
                    let today = Utc::now().date_naive();
                    let f = required(&prefix, person)
                        .and_then(|p| convert::new_person(p, &prefix, today));
                    if let Some(f) = check(&mut v, f) {
                        batch.push(f);
                    }
                }
                v.finish(())?;
                for (i, f) in batch.iter().enumerate() {
                    check_may_restrict(
                        cx.caller(),
                        f,
                        &format!("requests[{i}].person.restricted"),
                    )?;
                }
                let created = cx
                    .store
                    .validating(validate_only)
                    .create_persons(batch, request_id, CreateShape::Batch)
                    .await?;
                Ok(pb::BatchCreatePersonsResponse {
                    persons: created
                        .into_iter()
                        .map(|p| convert::person_out(cx.caller().redact(p)))
                        .collect(),
                })
            })
            .await
    }

    async fn get_person(
        &self,
        request: Request<pb::GetPersonRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let id = parse_id("id", &r.id)?;
                let found = cx.store.get_person(&id).await?;
                Ok(convert::person_out(cx.caller().redact(found)))
            })
            .await
    }

    async fn list_persons(
        &self,
        request: Request<pb::ListPersonsRequest>,
    ) -> Result<Response<pb::ListPersonsResponse>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let pb::ListPersonsRequest {
                    page_size,
                    page_token,
                    filter,
                    order_by,
                } = r;
                let caller = cx.caller();
                check_visible(caller, &filter, &order_by)?;
                let page = cx
                    .store
                    .list_persons(&list_query(page_size, page_token, filter, order_by))
                    .await?;
                Ok(pb::ListPersonsResponse {
                    persons: page
                        .items
                        .into_iter()
                        .map(|p| convert::person_out(caller.redact(p)))
                        .collect(),
                    next_page_token: page.next_page_token.unwrap_or_default(),
                    revision: page.revision,
                })
            })
            .await
    }

    async fn update_person(
        &self,
        request: Request<pb::UpdatePersonRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let u = update_input(
                    "person",
                    r.person,
                    |p| convert::person_in(p, "person"),
                    r.update_mask,
                )?;
                if PERSON.writes(&u.mask, &u.fields, "restricted") {
                    check_may_restrict(cx.caller(), &u.fields, "person.restricted")?;
                }
                let updated = cx
                    .store
                    .validating(r.validate_only)
                    .update_person(&u.id, u.etag.as_deref(), &u.fields, &u.mask)
                    .await?;
                Ok(convert::person_out(cx.caller().redact(updated)))
            })
            .await
    }

    async fn delete_person(
        &self,
        request: Request<pb::DeletePersonRequest>,
    ) -> Result<Response<()>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let id = parse_id("id", &r.id)?;
                cx.store.delete_person(&id, etag(&r.etag)).await
            })
            .await
    }

    async fn lookup_person(
        &self,
        request: Request<pb::LookupPersonRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let key = convert::external_key(r.external_id)?;
                let found = cx.store.lookup_person(&key).await?;
                Ok(convert::person_out(cx.caller().redact(found)))
            })
            .await
    }

    async fn import_persons(
        &self,
        request: Request<pb::ImportPersonsRequest>,
    ) -> Result<Response<pb::ImportPersonsResponse>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let pb::ImportPersonsRequest {
                    persons,
                    match_rule,
                    mode,
                    update_mask,
                    validate_only,
                    request_id,
                } = r;
                let mut v = Violations::new();
                let request_id =
                    check(&mut v, parse_request_id("request_id", &request_id)).flatten();
                batch_size(&mut v, "persons", persons.len())?;
                let rule = check(&mut v, convert::match_rule_in(match_rule));
                let mode = check(&mut v, convert::import_mode_in(mode));
                let mask = check(
                    &mut v,
                    PERSON.parse_mask(&update_mask.map(|m| m.paths).unwrap_or_default()),
                );
                v.finish(())?;
                let (Some(rule), Some(mode), Some(mask)) = (rule, mode, mask) else {
                    return Err(Error::Internal("import options missing".into()));
                };
                let report = cx
                    .store
                    .validating(validate_only)
                    .import_persons(
                        convert::import_rows_in(persons),
                        ImportOptions {
                            rule,
                            mode,
                            mask,
                            request_id,
                        },
                    )
                    .await?;
                Ok(convert::import_out(report))
            })
            .await
    }

    async fn get_person_history(
        &self,
        request: Request<pb::GetPersonHistoryRequest>,
    ) -> Result<Response<pb::GetPersonHistoryResponse>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let id = parse_id("id", &r.id)?;
                let h = cx
                    .store
                    .person_history(&id, r.page_size, &r.page_token)
                    .await?;
                Ok(convert::history_out(h, cx.caller()))
            })
            .await
    }
}
