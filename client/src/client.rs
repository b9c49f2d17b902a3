//! The registry client: one cheap-to-clone handle over one HTTP/2 channel.

use futures::Stream;
use homecoming_proto::v1::{
    access_service_client::AccessServiceClient, audit_service_client::AuditServiceClient,
    duplicate_service_client::DuplicateServiceClient,
    registry_service_client::RegistryServiceClient, watch_service_client::WatchServiceClient,
};
use tonic::transport::Channel;

use crate::{
    Categories, ClientBuilder, Date, Error, Exchanges, ListQuery, PersonEvents, Persons,
    WatchBuilder,
    builder::Transport,
    paging::{Page, paged},
    proto,
};

/// The registry client. Cloning is cheap: clones share one channel.
///
/// Built with [`Client::builder`]; the resource services are reached through
/// [`categories`](Self::categories), [`exchanges`](Self::exchanges),
/// [`persons`](Self::persons) and [`events`](Self::events). Every call returns the server's
/// status as an [`Error`] when it fails.
#[derive(Clone)]
pub struct Client {
    pub(crate) channel: Channel,
    pub(crate) categories: Categories,
    pub(crate) exchanges: Exchanges,
    pub(crate) persons: Persons,
    pub(crate) person_events: PersonEvents,
    pub(crate) registry: RegistryServiceClient<Transport>,
    pub(crate) watch: WatchServiceClient<Transport>,
    pub(crate) access: AccessServiceClient<Transport>,
    pub(crate) audit: AuditServiceClient<Transport>,
    pub(crate) duplicates: DuplicateServiceClient<Transport>,
}

impl Client {
    /// Starts a builder for `url`, e.g. `http://127.0.0.1:50051`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url.into())
    }

    /// Categories (`homecoming.v1.CategoryService`).
    pub fn categories(&self) -> &Categories {
        &self.categories
    }

    /// Exchanges (`homecoming.v1.ExchangeService`).
    pub fn exchanges(&self) -> &Exchanges {
        &self.exchanges
    }

    /// Persons (`homecoming.v1.PersonService`).
    pub fn persons(&self) -> &Persons {
        &self.persons
    }

    /// Persons' timelines (`homecoming.v1.PersonEventService`).
    pub fn events(&self) -> &PersonEvents {
        &self.person_events
    }

    /// Figures across the exchanges dated from `start` to `end` (inclusive; `None`: open), per
    /// year and per exchange, and person figures over everyone returned in them.
    pub async fn statistics(
        &self,
        start: Option<Date>,
        end: Option<Date>,
    ) -> Result<proto::Statistics, Error> {
        let r = self
            .registry
            .clone()
            .get_statistics(proto::GetStatisticsRequest {
                start_date: start,
                end_date: end,
            })
            .await?;
        Ok(r.into_inner())
    }

    /// Starts building a watch: a stream of changes that resumes by itself after a broken
    /// connection or a server restart, with no gap and no duplicate.
    ///
    /// List-then-watch: `client.watch().types([T]).filter(f).after_list(page.revision)`.
    pub fn watch(&self) -> WatchBuilder {
        WatchBuilder::new(self.watch.clone())
    }

    /// Creates a bearer token (admin only); returns it with its secret, shown this once.
    /// `expire_time`: when it stops working (in the future), or `None` for never.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`] for a caller that is not an admin;
    /// [`Error::AlreadyExists`] if a token of this name exists; [`Error::InvalidArgument`] for
    /// a bad name or an `expire_time` in the past.
    pub async fn create_token(
        &self,
        name: &str,
        role: proto::Role,
        expire_time: Option<prost_types::Timestamp>,
    ) -> Result<(proto::Token, String), Error> {
        let r = self
            .access
            .clone()
            .create_token(proto::CreateTokenRequest {
                token: Some(proto::Token {
                    name: name.to_owned(),
                    role: role as i32,
                    expire_time,
                    ..Default::default()
                }),
            })
            .await?
            .into_inner();
        let token = r
            .token
            .ok_or_else(|| Error::Config("CreateToken answered without a token".into()))?;
        Ok((token, r.secret))
    }

    /// Every token (admin only), never their secrets.
    pub fn list_tokens(&self) -> impl Stream<Item = Result<proto::Token, Error>> + Send + use<> {
        let access = self.access.clone();
        paged(move |page_token| {
            let mut access = access.clone();
            async move {
                let r = access
                    .list_tokens(proto::ListTokensRequest {
                        page_size: 1000,
                        page_token,
                    })
                    .await?
                    .into_inner();
                Ok(Page {
                    items: r.tokens,
                    next_page_token: r.next_page_token,
                    revision: 0,
                })
            }
        })
    }

    /// Revokes a token by id or name (admin only); returns it as revoked. Revoking a revoked
    /// token again changes nothing.
    ///
    /// # Errors
    /// [`Error::NotFound`] if no token has this id or name; [`Error::PermissionDenied`] for a
    /// caller that is not an admin.
    pub async fn revoke_token(&self, id_or_name: &str) -> Result<proto::Token, Error> {
        Ok(self
            .access
            .clone()
            .revoke_token(proto::RevokeTokenRequest {
                id: id_or_name.to_owned(),
            })
            .await?
            .into_inner())
    }

    /// Audit events (admin only), newest first unless `query.order_by` says otherwise.
    /// Filter on `time`, `token_name`, `token_id`, `role`, `method`, `code`, `peer`,
    /// `resource_ids:"<id>"`.
    pub fn audit_events(
        &self,
        query: ListQuery,
    ) -> impl Stream<Item = Result<proto::AuditEvent, Error>> + Send + use<> {
        let audit = self.audit.clone();
        paged(move |page_token| {
            let mut audit = audit.clone();
            let q = query.clone();
            async move {
                let r = audit
                    .list_audit_events(proto::ListAuditEventsRequest {
                        page_size: q.page_size,
                        page_token,
                        filter: q.filter,
                        order_by: q.order_by,
                    })
                    .await?
                    .into_inner();
                Ok(Page {
                    items: r.audit_events,
                    next_page_token: r.next_page_token,
                    revision: 0,
                })
            }
        })
    }

    /// Open duplicate candidates, best first: of one person (`person_id`), or of the whole
    /// registry. `min_score`: 0 for the server's default (0.8).
    pub fn duplicate_candidates(
        &self,
        person_id: Option<&str>,
        min_score: f64,
    ) -> impl Stream<Item = Result<proto::DuplicateCandidate, Error>> + Send + use<> {
        let duplicates = self.duplicates.clone();
        let person_id = person_id.unwrap_or_default().to_owned();
        paged(move |page_token| {
            let mut duplicates = duplicates.clone();
            let person_id = person_id.clone();
            async move {
                let r = duplicates
                    .list_duplicate_candidates(proto::ListDuplicateCandidatesRequest {
                        person_id,
                        min_score,
                        page_size: 1000,
                        page_token,
                    })
                    .await?
                    .into_inner();
                Ok(Page {
                    items: r.candidates,
                    next_page_token: r.next_page_token,
                    revision: r.revision,
                })
            }
        })
    }

    /// Merges `duplicate_id` into `survivor_id` (editor): the fields of `take` (update-mask
    /// paths) from the duplicate, its links added to the survivor's, the duplicate gone (its
    /// id then answers [`Error::NotFound`] with reason `MERGED` and metadata `survivor_id`).
    /// `request_id` makes a retry safe.
    pub async fn merge_persons(
        &self,
        survivor_id: &str,
        duplicate_id: &str,
        take: &[&str],
        request_id: Option<&str>,
    ) -> Result<proto::Person, Error> {
        Ok(self
            .duplicates
            .clone()
            .merge_persons(proto::MergePersonsRequest {
                survivor_id: survivor_id.to_owned(),
                duplicate_id: duplicate_id.to_owned(),
                update_mask: (!take.is_empty()).then(|| prost_types::FieldMask {
                    paths: take.iter().map(|p| (*p).to_owned()).collect(),
                }),
                request_id: request_id.unwrap_or_default().to_owned(),
            })
            .await?
            .into_inner())
    }

    /// Records that two persons are not one (editor): the pair never becomes a candidate again.
    pub async fn dismiss_duplicate(
        &self,
        person_id: &str,
        other_person_id: &str,
        reason: &str,
    ) -> Result<(), Error> {
        self.duplicates
            .clone()
            .dismiss_duplicate_candidate(proto::DismissDuplicateCandidateRequest {
                person_id: person_id.to_owned(),
                other_person_id: other_person_id.to_owned(),
                reason: reason.to_owned(),
            })
            .await?;
        Ok(())
    }

    /// The underlying channel, for services this crate does not wrap (e.g. health).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }
}
