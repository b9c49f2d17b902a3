//! # Homecoming client
//!
//! A typed Rust client for the Homecoming registry (`homecoming.v1` over gRPC).
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use homecoming_client::{Client, ListQuery, date, filter::field, proto};
//!
//! # async fn demo() -> Result<(), homecoming_client::Error> {
//! let client = Client::builder("http://127.0.0.1:50051")
//!     .bearer_token("hc_...") // e.g. the content of homecoming.db.admin-token
//!     .connect()
//!     .await?;
//! let exchange = client
//!     .exchanges()
//!     .create(proto::Exchange {
//!         title: "Exchange stage".into(),
//!         exchange_date: Some(date(2025, 7, 4)),
//!         ..Default::default()
//!     })
//!     .await?;
//! let returned: Vec<proto::Person> = client
//!     .persons()
//!     .list(ListQuery::new().filter(field("exchange_id").eq(&exchange.id)))
//!     .try_collect()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`Client`] / [`ClientBuilder`]: one cheap-to-clone client over one HTTP/2 channel.
//! - [`Categories`], [`Exchanges`], [`Persons`]: typed handles, one per service. Creates send a
//!   request id (AIP-155) and retry on UNAVAILABLE with the same id, so a retry never creates
//!   twice. `list` returns a `Stream` that pages for you; `list_page` gives one page.
//! - [`filter`]: a builder for AIP-160 filter strings.
//! - [`Client::watch`] / [`WatchBuilder`]: streaming changes that resume by themselves.
//! - [`ClientBuilder::bearer_token`], [`ClientBuilder::tls_ca_pem`],
//!   [`ClientBuilder::tls_identity_pem`]: authentication and (mutual) TLS. Tokens and the audit
//!   trail (admin only): [`Client::create_token`], [`Client::list_tokens`],
//!   [`Client::revoke_token`], [`Client::audit_events`].
//! - [`Error`]: one variant per status code (incl. `Unauthenticated`, `PermissionDenied`), with
//!   `ErrorInfo` and field violations.
//! - [`proto`]: the generated message types, re-exported.

mod error;
pub mod filter;
mod watch;

use std::time::Duration;

use futures::{Stream, TryStreamExt, stream};
use homecoming_proto::v1::{
    access_service_client::AccessServiceClient, audit_service_client::AuditServiceClient,
    category_service_client::CategoryServiceClient, exchange_service_client::ExchangeServiceClient,
    person_service_client::PersonServiceClient, registry_service_client::RegistryServiceClient,
    watch_service_client::WatchServiceClient,
};
use prost_types::FieldMask;
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};

pub use error::{Details, Error, FieldViolation};
pub use homecoming_proto::google::r#type::Date;
/// The generated `homecoming.v1` types.
pub use homecoming_proto::v1 as proto;
pub use watch::{WatchBuilder, WatchEvent};

/// The transport every service client uses: the channel, with the bearer token added.
pub type Transport = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to every call (if a token was given).
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            request.metadata_mut().insert("authorization", v.clone());
        }
        Ok(request)
    }
}

/// `google.type.Date` for a calendar day.
pub fn date(year: i32, month: i32, day: i32) -> Date {
    Date { year, month, day }
}

/// Builds a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    connect_timeout: Duration,
    timeout: Option<Duration>,
    max_message_bytes: usize,
    create_retries: u32,
    bearer: Option<MetadataValue<Ascii>>,
    bearer_error: Option<String>,
    tls: Option<ClientTlsConfig>,
}

impl ClientBuilder {
    /// How long to wait for the TCP/HTTP2 connection (default 5 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Deadline of every call (default 30 s); sent to the server as `grpc-timeout`.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Largest message sent or received (default 16 MiB, as the server's default).
    pub fn max_message_bytes(mut self, n: usize) -> Self {
        self.max_message_bytes = n;
        self
    }

    /// How often a create is retried on UNAVAILABLE, with the same request id (default 2).
    pub fn create_retries(mut self, n: u32) -> Self {
        self.create_retries = n;
        self
    }

    /// Sends `authorization: Bearer <token>` with every call. Trailing whitespace (as read
    /// from a token file) is ignored.
    pub fn bearer_token(mut self, token: impl AsRef<str>) -> Self {
        match format!("Bearer {}", token.as_ref().trim()).parse() {
            Ok(v) => {
                self.bearer = Some(v);
                self.bearer_error = None;
            }
            Err(_) => self.bearer_error = Some("the bearer token is not printable ASCII".into()),
        }
        self
    }

    /// Verifies the server's certificate against this PEM CA (implies TLS; use an `https://`
    /// url).
    pub fn tls_ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        let tls = self.tls.take().unwrap_or_default();
        self.tls = Some(tls.ca_certificate(Certificate::from_pem(pem)));
        self
    }

    /// Presents this client certificate and key (PEM) to a server that asks for one (mutual
    /// TLS).
    pub fn tls_identity_pem(mut self, cert: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Self {
        let tls = self.tls.take().unwrap_or_default();
        self.tls = Some(tls.identity(Identity::from_pem(cert, key)));
        self
    }

    /// The name the server's certificate must carry, when it differs from the url's host.
    pub fn tls_domain(mut self, name: impl Into<String>) -> Self {
        let tls = self.tls.take().unwrap_or_default();
        self.tls = Some(tls.domain_name(name));
        self
    }

    fn endpoint(&self) -> Result<Endpoint, Error> {
        if let Some(e) = &self.bearer_error {
            return Err(Error::Config(e.clone()));
        }
        let mut e = Endpoint::from_shared(self.url.clone())
            .map_err(|e| Error::Config(format!("endpoint {:?}: {e}", self.url)))?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10))
            .keep_alive_while_idle(true);
        if let Some(t) = self.timeout {
            e = e.timeout(t);
        }
        if let Some(tls) = &self.tls {
            e = e
                .tls_config(tls.clone())
                .map_err(|e| Error::Config(format!("TLS: {e}")))?;
        }
        Ok(e)
    }

    /// Connects now; fails if the server cannot be reached.
    pub async fn connect(self) -> Result<Client, Error> {
        let channel = self.endpoint()?.connect().await?;
        Ok(self.client(channel))
    }

    /// Connects on first use (and reconnects as needed).
    pub fn connect_lazy(self) -> Result<Client, Error> {
        let channel = self.endpoint()?.connect_lazy();
        Ok(self.client(channel))
    }

    fn client(&self, channel: Channel) -> Client {
        let n = self.max_message_bytes;
        let auth = Bearer(self.bearer.clone());
        Client {
            categories: Categories {
                inner: CategoryServiceClient::with_interceptor(channel.clone(), auth.clone())
                    .max_decoding_message_size(n)
                    .max_encoding_message_size(n),
                retries: self.create_retries,
            },
            exchanges: Exchanges {
                inner: ExchangeServiceClient::with_interceptor(channel.clone(), auth.clone())
                    .max_decoding_message_size(n)
                    .max_encoding_message_size(n),
                retries: self.create_retries,
            },
            persons: Persons {
                inner: PersonServiceClient::with_interceptor(channel.clone(), auth.clone())
                    .max_decoding_message_size(n)
                    .max_encoding_message_size(n),
                retries: self.create_retries,
            },
            registry: RegistryServiceClient::with_interceptor(channel.clone(), auth.clone())
                .max_decoding_message_size(n)
                .max_encoding_message_size(n),
            watch: WatchServiceClient::with_interceptor(channel.clone(), auth.clone())
                .max_decoding_message_size(n),
            access: AccessServiceClient::with_interceptor(channel.clone(), auth.clone()),
            audit: AuditServiceClient::with_interceptor(channel.clone(), auth)
                .max_decoding_message_size(n),
            channel,
        }
    }
}

/// The registry client. Cloning is cheap: clones share one channel.
#[derive(Clone)]
pub struct Client {
    channel: Channel,
    categories: Categories,
    exchanges: Exchanges,
    persons: Persons,
    registry: RegistryServiceClient<Transport>,
    watch: WatchServiceClient<Transport>,
    access: AccessServiceClient<Transport>,
    audit: AuditServiceClient<Transport>,
}

impl Client {
    /// Starts a builder for `url`, e.g. `http://127.0.0.1:50051`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            connect_timeout: Duration::from_secs(5),
            timeout: Some(Duration::from_secs(30)),
            max_message_bytes: 16 * 1024 * 1024,
            create_retries: 2,
            bearer: None,
            bearer_error: None,
            tls: None,
        }
    }

    pub fn categories(&self) -> &Categories {
        &self.categories
    }

    pub fn exchanges(&self) -> &Exchanges {
        &self.exchanges
    }

    pub fn persons(&self) -> &Persons {
        &self.persons
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

    /// Revokes a token by id or name (admin only).
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

    /// The underlying channel, for services this crate does not wrap (e.g. health).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }
}

/// What to list: filter (AIP-160, see [`filter`]), ordering and page size.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: String,
    pub order_by: String,
    /// 0 means the server's default (50); at most 1000.
    pub page_size: i32,
}

impl ListQuery {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = filter.into();
        self
    }

    /// e.g. `"family_name, given_name"` or `"exchange_date desc"`.
    pub fn order_by(mut self, order_by: impl Into<String>) -> Self {
        self.order_by = order_by.into();
        self
    }

    pub fn page_size(mut self, n: i32) -> Self {
        self.page_size = n;
        self
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Empty on the last page.
    pub next_page_token: String,
    /// The registry revision the page was read at.
    pub revision: i64,
}

/// A fresh request id for a create (AIP-155).
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

/// Streams every item of a paged list, fetching pages as they are consumed.
fn paged<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<T, Error>> + Send
where
    T: Send + 'static,
    F: FnMut(String) -> Fut + Send,
    Fut: Future<Output = Result<Page<T>, Error>> + Send,
{
    stream::try_unfold(
        (fetch, Some(String::new())),
        |(mut fetch, token)| async move {
            let Some(token) = token else {
                return Ok::<_, Error>(None);
            };
            let page = fetch(token).await?;
            let next = (!page.next_page_token.is_empty()).then_some(page.next_page_token);
            let items = stream::iter(page.items.into_iter().map(Ok::<T, Error>));
            Ok::<_, Error>(Some((items, (fetch, next))))
        },
    )
    .try_flatten()
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
            inner: $Client<Transport>,
            retries: u32,
        }

        impl $Handle {
            /// Creates with a fresh request id; retried on UNAVAILABLE with the same id.
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
                };
                with_retries(self.retries, || {
                    let mut c = self.inner.clone();
                    let r = request.clone();
                    async move { Ok(c.$create(r).await?.into_inner()) }
                })
                .await
            }

            pub async fn get(&self, id: &str) -> Result<proto::$Res, Error> {
                let r = self
                    .inner
                    .clone()
                    .$get(proto::$GetReq { id: id.to_owned() })
                    .await?;
                Ok(r.into_inner())
            }

            /// One page; pass the previous page's `next_page_token` (empty for the first).
            pub async fn list_page(
                &self,
                query: &ListQuery,
                page_token: &str,
            ) -> Result<Page<proto::$Res>, Error> {
                let r = self
                    .inner
                    .clone()
                    .$list(proto::$ListReq {
                        page_size: query.page_size,
                        page_token: page_token.to_owned(),
                        filter: query.filter.clone(),
                        order_by: query.order_by.clone(),
                    })
                    .await?
                    .into_inner();
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
            pub async fn update(
                &self,
                $field: proto::$Res,
                paths: &[&str],
            ) -> Result<proto::$Res, Error> {
                let r = self
                    .inner
                    .clone()
                    .$update(proto::$UpdateReq {
                        $field: Some($field),
                        update_mask: mask(paths),
                    })
                    .await?;
                Ok(r.into_inner())
            }

            /// Deletes; with `etag`, only if unchanged since read.
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

impl Exchanges {
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
                })
                .collect(),
            request_id: request_id.into(),
        };
        with_retries(self.retries, || {
            let mut c = self.inner.clone();
            let r = request.clone();
            async move { Ok(c.batch_create_persons(r).await?.into_inner().persons) }
        })
        .await
    }
}
