//! `homecoming.v1.DuplicateService`.

use homecoming_proto::v1::{self as pb, duplicate_service_server::DuplicateService};
use tonic::{Request, Response, Status};

use super::{Rpc, check, convert};
use crate::{
    domain::{
        Error, PERSON, Violations, duplicates::DEFAULT_MIN_SCORE, parse_id, parse_request_id,
    },
    store::{CandidateQuery, REASON_MAX},
};

pub struct DuplicateApi {
    rpc: Rpc,
}

impl DuplicateApi {
    pub fn new(rpc: Rpc) -> Self {
        Self { rpc }
    }
}

/// `min_score`: 0 (unset) is the default; otherwise within 0..1.
fn min_score(v: &mut Violations, s: f64) -> f64 {
    if s == 0.0 {
        return DEFAULT_MIN_SCORE;
    }
    if !(0.0..=1.0).contains(&s) {
        v.add("min_score", "must be between 0 and 1");
    }
    s
}

/// A dismissal's reason: bounded (bytes first, so that a huge one is refused unread).
fn reason(v: &mut Violations, r: &str) {
    if r.len() > 4 * REASON_MAX || r.chars().count() > REASON_MAX {
        v.add("reason", format!("must be at most {REASON_MAX} characters"));
    } else if r.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        v.add("reason", "must not hold control characters");
    }
}

#[tonic::async_trait]
impl DuplicateService for DuplicateApi {
    async fn list_duplicate_candidates(
        &self,
        request: Request<pb::ListDuplicateCandidatesRequest>,
    ) -> Result<Response<pb::ListDuplicateCandidatesResponse>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let mut v = Violations::new();
                let person_id = if r.person_id.trim().is_empty() {
                    None
                } else {
                    check(&mut v, parse_id("person_id", &r.person_id))
                };
                let min_score = min_score(&mut v, r.min_score);
                v.finish(())?;
                let page = cx
                    .store
                    .list_duplicate_candidates(&CandidateQuery {
                        person_id,
                        min_score,
                        page_size: r.page_size,
                        page_token: r.page_token,
                    })
                    .await?;
                Ok(convert::candidates_out(page))
            })
            .await
    }

    async fn merge_persons(
        &self,
        request: Request<pb::MergePersonsRequest>,
    ) -> Result<Response<pb::Person>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let mut v = Violations::new();
                let survivor = check(&mut v, parse_id("survivor_id", &r.survivor_id));
                let duplicate = check(&mut v, parse_id("duplicate_id", &r.duplicate_id));
                let request_id = check(&mut v, parse_request_id("request_id", &r.request_id));
                let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
                let mask = if paths.is_empty() {
                    None
                } else {
                    check(&mut v, PERSON.parse_mask(&paths))
                };
                v.finish(())?;
                let (Some(survivor), Some(duplicate)) = (survivor, duplicate) else {
                    return Err(Error::Internal("ids checked above".into()));
                };
                let person = cx
                    .store
                    .merge_persons(&survivor, &duplicate, mask.as_ref(), request_id.flatten())
                    .await?;
                Ok(convert::person_out(cx.caller().redact(person)))
            })
            .await
    }

    async fn dismiss_duplicate_candidate(
        &self,
        request: Request<pb::DismissDuplicateCandidateRequest>,
    ) -> Result<Response<()>, Status> {
        self.rpc
            .serve(request, |cx, r| async move {
                let mut v = Violations::new();
                let a = check(&mut v, parse_id("person_id", &r.person_id));
                let b = check(&mut v, parse_id("other_person_id", &r.other_person_id));
                reason(&mut v, &r.reason);
                v.finish(())?;
                let (Some(a), Some(b)) = (a, b) else {
                    return Err(Error::Internal("ids checked above".into()));
                };
                cx.store.dismiss_duplicate(&a, &b, r.reason.trim()).await?;
                Ok(())
            })
            .await
    }
}
