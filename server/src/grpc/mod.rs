//! gRPC adapters, one file per service. Every handler goes through [`Rpc::serve`], which runs
//! the steps in a fixed order: take the authorised call (`auth`: the role was checked before
//! the handler ran), convert and validate the request (every bad field reported at once), call
//! the store (a handle made for the call, so it sees what the caller may see and audits writes
//! in their transaction), convert back (redacted for the caller), and audit the outcome. A
//! handler is the middle two steps. Conversions, and what the audit trail records of each
//! message ([`Audited`]), live in `convert`; errors become `tonic::Status` only through
//! `status`.

pub mod access;
pub mod audit;
pub mod auth;
pub mod category;
pub mod convert;
pub mod duplicate;
pub mod event;
pub mod exchange;
pub mod observe;
pub mod person;
pub mod registry;
pub mod services;
pub mod status;
pub mod tokens;
pub mod watch;

use std::sync::Arc;

use chrono::Utc;
use prost_types::FieldMask;
use tonic::{Request, Response, Status};

use crate::{
    audit::AuditLog,
    domain::{
        Error, Violations,
        access::{Call, Caller},
        parse_id, parse_request_id,
        schema::{Declared, Mask},
    },
    store::{ListQuery, Store},
};

/// What the audit trail records of a message: the resources a request names (kept when the
/// answer names none, e.g. NOT_FOUND) or an answer carries. Every request and response type of
/// a handler implements it (`convert`), so a new RPC cannot leave it out.
pub trait Audited {
    fn resource_ids(&self) -> Vec<String>;
}

/// The call a handler serves: who makes it, and the store handle made for it (reads see what
/// the caller may see; writes record the call's audit event in their transaction).
#[derive(Clone)]
pub struct Ctx {
    pub call: Arc<Call>,
    pub store: Store,
}

impl Ctx {
    pub fn caller(&self) -> &Caller {
        &self.call.caller
    }
}

/// What every service adapter holds: the store and the audit trail.
#[derive(Clone)]
pub struct Rpc {
    store: Store,
    audit: AuditLog,
}

impl Rpc {
    pub fn new(store: Store, audit: AuditLog) -> Self {
        Self { store, audit }
    }

    /// Serves one unary call: takes the authorised call (`auth` checked the role before the
    /// handler ran), runs `handle` (convert and validate, call the store, convert back), audits
    /// the outcome, and turns an error into its `Status`.
    pub async fn serve<Req, T, F, Fut>(
        &self,
        request: Request<Req>,
        handle: F,
    ) -> Result<Response<T>, Status>
    where
        Req: Audited,
        T: Audited,
        F: FnOnce(Ctx, Req) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.run(request, handle).await.map(Response::new)
    }

    /// As [`Rpc::serve`], giving the answer itself (a stream's start).
    pub async fn run<Req, T, F, Fut>(&self, request: Request<Req>, handle: F) -> Result<T, Status>
    where
        Req: Audited,
        T: Audited,
        F: FnOnce(Ctx, Req) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let call = auth::call(&request)?;
        let cx = Ctx {
            store: self.store.for_call(call.clone()),
            call: call.clone(),
        };
        let request = request.into_inner();
        let requested = request.resource_ids();
        let result = handle(cx, request).await;
        audited(&self.audit, &call, requested, result).await
    }
}

/// Audits a call's outcome and turns its error into a `Status`. A call whose write committed
/// was audited in its transaction already; any other outcome (a read, a failure, a write that
/// changed nothing) is recorded here, and a successful answer goes out only once its record is
/// durable.
async fn audited<T: Audited>(
    audit: &AuditLog,
    call: &Call,
    requested: Vec<String>,
    result: Result<T, Error>,
) -> Result<T, Status> {
    if call.is_audited() {
        return result.map_err(Status::from);
    }
    let (ids, result) = match result {
        Ok(v) => {
            let ids = v.resource_ids();
            (if ids.is_empty() { requested } else { ids }, Ok(v))
        }
        Err(e) => (requested, Err(Status::from(e))),
    };
    let code = match &result {
        Ok(_) => "OK",
        Err(s) => status::code_name(s.code()),
    };
    let recorded = audit.record(call.event(ids, code, Utc::now())).await;
    call.mark_audited();
    match (result, recorded) {
        (Ok(v), Ok(())) => Ok(v),
        // No answer without its audit record.
        (Ok(_), Err(e)) => Err(Status::from(e)),
        (Err(status), _) => Err(status),
    }
}

/// A required message field.
fn required<T>(field: &str, value: Option<T>) -> Result<T, Error> {
    value.ok_or_else(|| Error::invalid(field, "is required"))
}

/// An etag sent by the client, if any.
fn etag(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

fn list_query(page_size: i32, page_token: String, filter: String, order_by: String) -> ListQuery {
    ListQuery {
        page_size,
        page_token,
        filter,
        order_by,
    }
}

/// The result of validating a converted resource, with the violations the conversion found.
/// Every bad field is reported once: a field with a structural violation (e.g. an unknown enum
/// number) is not reported again by validation.
fn validated<T>(structural: Violations, result: Result<T, Error>) -> Result<T, Error> {
    let mut list = structural.into_vec();
    match result {
        Ok(v) if list.is_empty() => return Ok(v),
        Ok(_) => {}
        Err(Error::InvalidArgument(more)) => {
            for m in more {
                if !list.iter().any(|v| v.field == m.field) {
                    list.push(m);
                }
            }
        }
        Err(other) => return Err(other),
    }
    Err(Error::InvalidArgument(list))
}

/// A create's input: the request id and the validated resource, every bad field of both
/// reported at once. `validate` converts and validates the resource message.
fn create_input<P, F: Default>(
    request_id: &str,
    field: &str,
    message: Option<P>,
    validate: impl FnOnce(P) -> Result<F, Error>,
) -> Result<(F, Option<String>), Error> {
    let mut v = Violations::new();
    let request_id = check(&mut v, parse_request_id("request_id", request_id)).flatten();
    let fields = check(&mut v, required(field, message).and_then(validate));
    Ok((v.finish(fields)?.unwrap_or_default(), request_id))
}

/// An update's input: the target, its etag, the incoming fields and the parsed mask (the one
/// every check and the store use). Structural violations of the resource fail it at once; the
/// rules are checked by the store after the mask is applied.
struct UpdateInput<F> {
    id: String,
    etag: Option<String>,
    fields: F,
    mask: Mask,
}

fn update_input<P, F: Declared>(
    field: &str,
    message: Option<P>,
    convert: impl FnOnce(P) -> (convert::Incoming<F>, Violations),
    mask: Option<FieldMask>,
) -> Result<UpdateInput<F>, Error> {
    let (incoming, v) = convert(required(field, message)?);
    v.finish(())?;
    Ok(UpdateInput {
        id: parse_id(&format!("{field}.id"), &incoming.id)?,
        etag: etag(&incoming.etag).map(str::to_owned),
        fields: incoming.fields,
        mask: F::SCHEMA.parse_mask(&mask.map(|m| m.paths).unwrap_or_default())?,
    })
}

/// Runs `f`, folding its INVALID_ARGUMENT into `v`.
fn check<T>(v: &mut Violations, r: Result<T, Error>) -> Option<T> {
    v.absorb("", r)
}
