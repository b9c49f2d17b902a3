//! Building a [`Client`]: the endpoint, deadlines, message limits, the bearer token and
//! (mutual) TLS.

use std::time::Duration;

use homecoming_proto::v1::{
    access_service_client::AccessServiceClient, audit_service_client::AuditServiceClient,
    category_service_client::CategoryServiceClient,
    duplicate_service_client::DuplicateServiceClient,
    exchange_service_client::ExchangeServiceClient,
    person_event_service_client::PersonEventServiceClient,
    person_service_client::PersonServiceClient, registry_service_client::RegistryServiceClient,
    watch_service_client::WatchServiceClient,
};
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};

use crate::{Categories, Client, Error, Exchanges, PersonEvents, Persons};

/// The transport every service client uses: the channel, with the bearer token added.
pub type Transport = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to every call (if a token was given); the interceptor
/// in [`Transport`], set up by [`ClientBuilder::bearer_token`].
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

/// Builds a [`Client`]; start with [`Client::builder`].
///
/// Defaults: connect timeout 5 s, call deadline 30 s, messages up to 16 MiB, 2 retries of
/// calls that are safe to repeat, no token, plain HTTP/2 (no TLS).
///
/// ```no_run
/// use std::time::Duration;
/// use homecoming_client::Client;
///
/// # async fn demo() -> Result<(), homecoming_client::Error> {
/// let client = Client::builder("https://registry.example.org:50051")
///     .tls_ca_pem(std::fs::read("ca.pem").unwrap_or_default())
///     .bearer_token(std::fs::read_to_string("token").unwrap_or_default())
///     .timeout(Duration::from_secs(10))
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
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
    pub(crate) fn new(url: String) -> Self {
        ClientBuilder {
            url,
            connect_timeout: Duration::from_secs(5),
            timeout: Some(Duration::from_secs(30)),
            max_message_bytes: 16 * 1024 * 1024,
            create_retries: 2,
            bearer: None,
            bearer_error: None,
            tls: None,
        }
    }

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

    /// How often a call that is safe to repeat is retried on UNAVAILABLE (default 2): reads,
    /// and creates (with the same request id, so a retry never creates twice). Updates and
    /// deletes are not retried.
    pub fn create_retries(mut self, n: u32) -> Self {
        self.create_retries = n;
        self
    }

    /// Sends `authorization: Bearer <token>` with every call. Surrounding whitespace (as read
    /// from a token file) is ignored. A token that is not printable ASCII makes
    /// [`connect`](Self::connect) and [`connect_lazy`](Self::connect_lazy) fail with
    /// [`Error::Config`].
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
    ///
    /// # Errors
    /// [`Error::Config`] for an unusable url, TLS setup or bearer token;
    /// [`Error::Transport`] if the connection cannot be made within the connect timeout.
    pub async fn connect(self) -> Result<Client, Error> {
        let channel = self.endpoint()?.connect().await?;
        Ok(self.client(channel))
    }

    /// Connects on first use (and reconnects as needed); an unreachable server shows as errors
    /// of the calls.
    ///
    /// # Errors
    /// [`Error::Config`] for an unusable url, TLS setup or bearer token.
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
            person_events: PersonEvents {
                inner: PersonEventServiceClient::with_interceptor(channel.clone(), auth.clone())
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
            audit: AuditServiceClient::with_interceptor(channel.clone(), auth.clone())
                .max_decoding_message_size(n),
            duplicates: DuplicateServiceClient::with_interceptor(channel.clone(), auth)
                .max_decoding_message_size(n)
                .max_encoding_message_size(n),
            channel,
        }
    }
}
