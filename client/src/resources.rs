//! Typed handles of the resource services: create (with request ids and retries), get, list
//! (a stream that pages), update (field masks) and delete.

use std::time::Duration;

use futures::Stream;
use homecoming_proto::v1::{
    category_service_client::CategoryServiceClient, exchange_service_client::ExchangeServiceClient,
    person_event_service_client::PersonEventServiceClient,
    person_service_client::PersonServiceClient,
};
use prost_types::FieldMask;

use crate::{
    Error, ListQuery,
    builder::Transport,
    paging::{Page, paged},
    proto,
};

/// A fresh request id for a create (AIP-155): a UUIDv7, for
/// [`create_with_request_id`](Persons::create_with_request_id) and the like when the caller
/// wants to keep the id (e.g. to repeat the call after a crash).
pub fn new_request_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Calls `f` until it succeeds, fails for good, or `retries` retries were spent on retryable
/// errors (with backoff: 100 ms, 200 ms, ...).
async fn with_retries<T, F, Fut>(retries: u32, mut f: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut attempt = 0;
    loop {
        match f().await {
            Err(e) if e.is_retryable() && attempt < retries => {
                tokio::time::sleep(Duration::from_millis(100 << attempt.min(6))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

macro_rules! handle {
    (
        $(#[$doc:meta])*
        $Handle:ident, $Client:ident, $Res:ident, $field:ident, $items:ident,
        $create:ident / $CreateReq:ident,
        $get:ident / $GetReq:ident,
        $list:ident / $ListReq:ident,
        $update:ident / $UpdateReq:ident,
        $delete:ident / $DeleteReq:ident $(,)?
    ) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $Handle {
            pub(crate) inner: $Client<Transport>,
            pub(crate) retries: u32,
        }

        impl $Handle {
            /// Creates with a fresh request id; retried on UNAVAILABLE with the same id.
            /// Returns the resource as stored (with its id and etag).
            ///
            /// # Errors
            /// [`Error::InvalidArgument`] with the bad fields; [`Error::AlreadyExists`] for a
            /// value that must be unique and is taken.
            pub async fn create(&self, $field: proto::$Res) -> Result<proto::$Res, Error> {
                self.create_with_request_id($field, new_request_id()).await
            }

            /// Creates with the caller's request id: a repeat with the same id (even after a
            /// crash of the caller) returns the first result and creates nothing new.
            pub async fn create_with_request_id(
                &self,
                $field: proto::$Res,
                request_id: impl Into<String>,
            ) -> Result<proto::$Res, Error> {
                let request = proto::$CreateReq {
                    $field: Some($field),
                    request_id: request_id.into(),
                    validate_only: false,
                };
                with_retries(self.retries, || {
                    let mut c = self.inner.clone();
                    let r = request.clone();
                    async move { Ok(c.$create(r).await?.into_inner()) }
                })
                .await
            }

            /// Validates a create (AIP-163): every check the server makes, references and
            /// uniqueness included, and the answer it would give; nothing is written.
            pub async fn validate_create(&self, $field: proto::$Res) -> Result<proto::$Res, Error> {
                let request = proto::$CreateReq {
                    $field: Some($field),
                    request_id: String::new(),
                    validate_only: true,
                };
                Ok(self.inner.clone().$create(request).await?.into_inner())
            }

            /// Reads one; retried on UNAVAILABLE (a read is safe to repeat).
            ///
            /// # Errors
            /// [`Error::NotFound`] if none has this id.
            pub async fn get(&self, id: &str) -> Result<proto::$Res, Error> {
                let request = proto::$GetReq { id: id.to_owned() };
                with_retries(self.retries, || {
                    let mut c = self.inner.clone();
                    let r = request.clone();
                    async move { Ok(c.$get(r).await?.into_inner()) }
                })
                .await
            }

            /// One page; pass the previous page's `next_page_token` (empty for the first).
            /// Retried on UNAVAILABLE.
            pub async fn list_page(
                &self,
                query: &ListQuery,
                page_token: &str,
            ) -> Result<Page<proto::$Res>, Error> {
                let request = proto::$ListReq {
                    page_size: query.page_size,
                    page_token: page_token.to_owned(),
                    filter: query.filter.clone(),
                    order_by: query.order_by.clone(),
                };
                let r = with_retries(self.retries, || {
                    let mut c = self.inner.clone();
                    let r = request.clone();
                    async move { Ok(c.$list(r).await?.into_inner()) }
                })
                .await?;
                Ok(Page {
                    items: r.$items,
                    next_page_token: r.next_page_token,
                    revision: r.revision,
                })
            }

            /// Every match, page after page, as a stream.
            pub fn list(
                &self,
                query: ListQuery,
            ) -> impl Stream<Item = Result<proto::$Res, Error>> + Send + 'static {
                let this = self.clone();
                paged(move |token| {
                    let this = this.clone();
                    let query = query.clone();
                    async move { this.list_page(&query, &token).await }
                })
            }

            /// Updates the fields named in `paths` (empty: every field set in the message;
            /// `["*"]`: all). Set `etag` in the message to fail with `Aborted` on a
            /// concurrent change.
            ///
            /// # Errors
            /// [`Error::NotFound`]; [`Error::Aborted`] for a stale `etag`;
            /// [`Error::InvalidArgument`] with the bad fields.
            pub async fn update(
                &self,
                $field: proto::$Res,
                paths: &[&str],
            ) -> Result<proto::$Res, Error> {
                self.update_request($field, paths, false).await
            }

            /// Validates an update (AIP-163): the answer it would give; nothing is written.
            pub async fn validate_update(
                &self,
                $field: proto::$Res,
                paths: &[&str],
            ) -> Result<proto::$Res, Error> {
                self.update_request($field, paths, true).await
            }

            async fn update_request(
                &self,
                $field: proto::$Res,
                paths: &[&str],
                validate_only: bool,
            ) -> Result<proto::$Res, Error> {
                let r = self
                    .inner
                    .clone()
                    .$update(proto::$UpdateReq {
                        $field: Some($field),
                        update_mask: mask(paths),
                        validate_only,
                    })
                    .await?;
                Ok(r.into_inner())
            }

            /// Deletes; with `etag`, only if unchanged since read.
            ///
            /// # Errors
            /// [`Error::NotFound`]; [`Error::Aborted`] for a stale `etag`;
            /// [`Error::FailedPrecondition`] for what is still referenced (a category or an
            /// exchange in use).
            pub async fn delete(&self, id: &str, etag: Option<&str>) -> Result<(), Error> {
                self.inner
                    .clone()
                    .$delete(proto::$DeleteReq {
                        id: id.to_owned(),
                        etag: etag.unwrap_or_default().to_owned(),
                    })
                    .await?;
                Ok(())
            }
        }
    };
}

handle!(
    /// `homecoming.v1.CategoryService`.
    Categories, CategoryServiceClient, Category, category, categories,
    create_category / CreateCategoryRequest,
    get_category / GetCategoryRequest,
    list_categories / ListCategoriesRequest,
    update_category / UpdateCategoryRequest,
    delete_category / DeleteCategoryRequest,
);

handle!(
    /// `homecoming.v1.ExchangeService`.
    Exchanges, ExchangeServiceClient, Exchange, exchange, exchanges,
    create_exchange / CreateExchangeRequest,
    get_exchange / GetExchangeRequest,
    list_exchanges / ListExchangesRequest,
    update_exchange / UpdateExchangeRequest,
    delete_exchange / DeleteExchangeRequest,
);

handle!(
    /// `homecoming.v1.PersonService`.
    Persons, PersonServiceClient, Person, person, persons,
    create_person / CreatePersonRequest,
    get_person / GetPersonRequest,
    list_persons / ListPersonsRequest,
    update_person / UpdatePersonRequest,
    delete_person / DeletePersonRequest,
);

handle!(
    /// `homecoming.v1.PersonEventService`: persons' timelines (`person_id = "…"` filters one).
    PersonEvents, PersonEventServiceClient, PersonEvent, event, person_events,
    create_person_event / CreatePersonEventRequest,
    get_person_event / GetPersonEventRequest,
    list_person_events / ListPersonEventsRequest,
    update_person_event / UpdatePersonEventRequest,
    delete_person_event / DeletePersonEventRequest,
);

/// `ExternalId` for `system` and `id`.
fn external_id(system: &str, id: &str) -> Option<proto::ExternalId> {
    Some(proto::ExternalId {
        system: system.to_owned(),
        id: id.to_owned(),
    })
}

impl Exchanges {
    /// The exchange another system calls `id` (`system`: e.g. `coordination-hq`).
    pub async fn lookup(&self, system: &str, id: &str) -> Result<proto::Exchange, Error> {
        let request = proto::LookupExchangeRequest {
            external_id: external_id(system, id),
        };
        with_retries(self.retries, || {
            let mut c = self.inner.clone();
            let r = request.clone();
            async move { Ok(c.lookup_exchange(r).await?.into_inner()) }
        })
        .await
    }

    /// What the records of one exchange say (counts by service, region, rank, category, ages,
    /// time in captivity, aftercare), computed by the server at one revision.
    pub async fn summary(&self, id: &str) -> Result<proto::ExchangeSummary, Error> {
        let r = self
            .inner
            .clone()
            .get_exchange_summary(proto::GetExchangeSummaryRequest { id: id.to_owned() })
            .await?;
        Ok(r.into_inner())
    }
}

impl Persons {
    /// The person another system calls `id` (`system`: e.g. `coordination-hq`).
    pub async fn lookup(&self, system: &str, id: &str) -> Result<proto::Person, Error> {
        let request = proto::LookupPersonRequest {
            external_id: external_id(system, id),
        };
        with_retries(self.retries, || {
            let mut c = self.inner.clone();
            let r = request.clone();
            async move { Ok(c.lookup_person(r).await?.into_inner()) }
        })
        .await
    }

    /// Imports up to 1000 roster rows (`ImportPersons`): per row whether it was created,
    /// updated, unchanged or failed. A request without a request id gets one, so that the
    /// retries on UNAVAILABLE never write twice.
    pub async fn import(
        &self,
        mut request: proto::ImportPersonsRequest,
    ) -> Result<proto::ImportPersonsResponse, Error> {
        if request.request_id.is_empty() && !request.validate_only {
            request.request_id = new_request_id();
        }
        with_retries(self.retries, || {
            let mut c = self.inner.clone();
            let r = request.clone();
            async move { Ok(c.import_persons(r).await?.into_inner()) }
        })
        .await
    }

    /// Every version of a person, oldest first (who wrote it, when, what changed), page after
    /// page as the stream is read.
    pub fn history(
        &self,
        id: &str,
    ) -> impl Stream<Item = Result<proto::PersonVersion, Error>> + Send + 'static {
        let this = self.clone();
        let id = id.to_owned();
        paged(move |page_token| {
            let this = this.clone();
            let request = proto::GetPersonHistoryRequest {
                id: id.clone(),
                page_size: 1000,
                page_token,
            };
            async move {
                let r = with_retries(this.retries, || {
                    let mut c = this.inner.clone();
                    let r = request.clone();
                    async move { Ok(c.get_person_history(r).await?.into_inner()) }
                })
                .await?;
                Ok(Page {
                    items: r.versions,
                    next_page_token: r.next_page_token,
                    revision: 0,
                })
            }
        })
    }

    /// Creates up to 1000 persons atomically (all or none), results in input order.
    pub async fn batch_create(
        &self,
        persons: Vec<proto::Person>,
    ) -> Result<Vec<proto::Person>, Error> {
        self.batch_create_with_request_id(persons, new_request_id())
            .await
    }

    /// As [`Persons::batch_create`], with the caller's request id.
    pub async fn batch_create_with_request_id(
        &self,
        persons: Vec<proto::Person>,
        request_id: impl Into<String>,
    ) -> Result<Vec<proto::Person>, Error> {
        let request = proto::BatchCreatePersonsRequest {
            requests: persons
                .into_iter()
                .map(|p| proto::CreatePersonRequest {
                    person: Some(p),
                    request_id: String::new(),
                    validate_only: false,
                })
                .collect(),
            request_id: request_id.into(),
            validate_only: false,
        };
        with_retries(self.retries, || {
            let mut c = self.inner.clone();
            let r = request.clone();
            async move { Ok(c.batch_create_persons(r).await?.into_inner().persons) }
        })
        .await
    }
}
