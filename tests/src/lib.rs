//! # End-to-end test support
//!
//! `spawn_app(backend)` gives each test its own world: a real server on port 0 over TCP, its own
//! database (a temporary SQLite file, or a fresh PostgreSQL database created under
//! `HOMECOMING_TEST_POSTGRES_URL`), and a client from the public client crate. Server logs are
//! printed only when `TEST_LOG` is set.
//!
//! The server creates its first admin token in a file of the test's temporary directory;
//! `app.client` uses it. `app.client_as(role)` gives a client with a new token of that role,
//! `app.client_with(token)` one with any token (or none).
//!
//! The tests themselves live in `tests/`; `backend_tests!` runs each one on both backends.

use std::{net::SocketAddr, time::Duration};

use homecoming_client::Client;
use homecoming_server::{App, Config, telemetry};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tokio::sync::oneshot;

pub use homecoming_client as client;

/// The `--admin-token-file` among the server arguments.
fn config_token_file(args: &[String]) -> String {
    args.iter()
        .position(|a| a == "--admin-token-file")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .expect("spawn_app passes --admin-token-file")
}

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "HOMECOMING_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server with its own database. The server runs on a runtime of its own, so that
/// `crash` can drop it the way SIGKILL would: every task and socket gone, nothing graceful.
pub struct TestApp {
    /// A client with the admin token.
    pub client: Client,
    pub admin_token: String,
    pub addr: SocketAddr,
    /// Where the server answers `GET /metrics` (a port of its own, chosen by the system).
    pub metrics_addr: Option<SocketAddr>,
    pub database_url: String,
    pub backend: Backend,
    args: Vec<String>,
    server: Option<Server>,
    _dir: Option<std::sync::Arc<tempfile::TempDir>>,
}

struct Server {
    runtime: tokio::runtime::Runtime,
    shutdown: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<anyhow::Result<()>>>,
}

/// Runs each named test (an `async fn(Backend)`) on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if !$crate::postgres_configured() {
                        $crate::report_skipped(stringify!($name));
                        return;
                    }
                    super::$name($crate::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// Says, past libtest's output capture, that a PostgreSQL test was skipped.
pub fn report_skipped(test: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED postgres::{test}: {POSTGRES_ENV} is not set (see README: Testing)"
    );
}

pub fn postgres_configured() -> bool {
    std::env::var(POSTGRES_ENV).is_ok_and(|v| !v.trim().is_empty())
}

fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = telemetry::init(homecoming_server::config::LogFormat::Text, None);
    }
}

/// A server on a fresh database of `backend`. Panics (failing the test) if it cannot start.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// As `spawn_app`, with extra server flags (e.g. `["--watch-progress-interval", "200ms"]`).
pub async fn spawn_app_with(backend: Backend, args: &[&str]) -> TestApp {
    init_logs();
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = match backend {
        Backend::Sqlite => {
            format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display())
        }
        Backend::Postgres => fresh_postgres_database().await,
    };
    let token_file = dir.path().join("admin-token");
    let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    args.extend([
        "--admin-token-file".to_owned(),
        token_file.display().to_string(),
    ]);
    let mut app = start(backend, database_url, "127.0.0.1:0", args, None).await;
    app._dir = Some(std::sync::Arc::new(dir));
    app
}

/// A client of `addr` with `token` (none: no authorization header).
pub async fn client_for(addr: SocketAddr, token: Option<&str>) -> Client {
    let mut b = Client::builder(format!("http://{addr}")).timeout(Duration::from_secs(60));
    if let Some(t) = token {
        b = b.bearer_token(t);
    }
    b.connect().await.expect("client connects")
}

async fn start(
    backend: Backend,
    database_url: String,
    listen: &str,
    args: Vec<String>,
    admin_token: Option<String>,
) -> TestApp {
    let mut argv: Vec<String> = [
        "homecoming-server",
        "--listen",
        listen,
        "--database-url",
        &database_url,
        "--shutdown-grace",
        "5s",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if !args.iter().any(|a| a == "--metrics-listen") {
        // Each server its own metrics port: the default one would be shared by all tests.
        argv.extend(["--metrics-listen".to_owned(), "127.0.0.1:0".to_owned()]);
    }
    argv.extend(args.iter().cloned());
    let config = Config::from_args(argv).expect("test config");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("server runtime");
    let (addr_tx, addr_rx) = oneshot::channel();
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = oneshot::channel();
    runtime.spawn(async move {
        let app = match App::build(config).await {
            Ok(app) => app,
            Err(e) => {
                let _ = addr_tx.send(Err(e));
                return;
            }
        };
        let _ = addr_tx.send(Ok((app.local_addr(), app.metrics_addr())));
        let result = app
            .run_until_stopped(async move {
                let _ = shutdown_rx.await;
            })
            .await;
        let _ = done_tx.send(result);
    });
    let (addr, metrics_addr) = addr_rx.await.expect("server task").expect("server builds");
    let admin_token = match admin_token {
        Some(t) => t,
        None => {
            let file = config_token_file(&args);
            std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("reading the admin token file {file}: {e}"))
                .trim()
                .to_owned()
        }
    };
    let client = if args.iter().any(|a| a == "--tls-cert") {
        // A TLS server: the test builds its own TLS clients; this one is never connected.
        Client::builder(format!("http://{addr}"))
            .bearer_token(&admin_token)
            .connect_lazy()
            .expect("lazy client")
    } else {
        client_for(addr, Some(&admin_token)).await
    };
    TestApp {
        client,
        admin_token,
        addr,
        metrics_addr,
        database_url,
        backend,
        args,
        server: Some(Server {
            runtime,
            shutdown: Some(shutdown_tx),
            done: Some(done_rx),
        }),
        _dir: None,
    }
}

impl TestApp {
    /// Stops the server gracefully and waits for it.
    pub async fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            if let Some(tx) = server.shutdown.take() {
                let _ = tx.send(());
            }
            if let Some(done) = server.done.take() {
                let result = done.await.expect("server finished");
                result.expect("server stopped cleanly");
            }
            server.runtime.shutdown_background();
        }
    }

    /// Kills the server as SIGKILL would: its runtime is dropped with every task and socket.
    pub fn crash(&mut self) {
        if let Some(server) = self.server.take() {
            server.runtime.shutdown_background();
        }
    }

    /// Starts the server again on the same address and database (after `stop` or `crash`).
    pub async fn start_again(&mut self) {
        let next = start(
            self.backend,
            self.database_url.clone(),
            &self.addr.to_string(),
            self.args.clone(),
            Some(self.admin_token.clone()),
        )
        .await;
        self.metrics_addr = next.metrics_addr;
        self.server = next.into_server();
    }

    fn into_server(mut self) -> Option<Server> {
        self.server.take()
    }

    /// Stops this server and starts a new one on the same database.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let mut next = start(
            self.backend,
            self.database_url.clone(),
            "127.0.0.1:0",
            self.args.clone(),
            Some(self.admin_token.clone()),
        )
        .await;
        next._dir = self._dir.take();
        next
    }

    /// A second server on the same database (a replica), on its own address.
    pub async fn replica(&self) -> TestApp {
        let mut r = start(
            self.backend,
            self.database_url.clone(),
            "127.0.0.1:0",
            self.args.clone(),
            Some(self.admin_token.clone()),
        )
        .await;
        r._dir = self._dir.clone();
        r
    }

    /// A client with a new token of `role` (named after it, once per app).
    pub async fn client_as(&self, role: homecoming_client::proto::Role) -> Client {
        let token = self.token_for(role).await;
        client_for(self.addr, Some(&token)).await
    }

    /// A new token's secret for `role`.
    pub async fn token_for(&self, role: homecoming_client::proto::Role) -> String {
        let name = format!(
            "test-{}-{}",
            role.as_str_name().to_lowercase(),
            uuid::Uuid::new_v4().simple()
        );
        let name: String = name.replace('_', "-").chars().take(60).collect();
        let (_, secret) = self
            .client
            .create_token(&name, role, None)
            .await
            .expect("admin creates a token");
        secret
    }

    /// Creates a category (from `fixtures::category`) for each code, in order.
    pub async fn categories(&self, codes: &[&str]) -> Vec<homecoming_client::proto::Category> {
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            let c = self
                .client
                .categories()
                .create(fixtures::category(code))
                .await
                .unwrap_or_else(|e| panic!("creating category {code}: {e}"));
            out.push(c);
        }
        out
    }

    /// Creates a person (from `fixtures::person`) with the admin's client.
    pub async fn person(&self, family: &str, given: &str) -> homecoming_client::proto::Person {
        self.client
            .persons()
            .create(fixtures::person(family, given))
            .await
            .unwrap_or_else(|e| panic!("creating person {family}: {e}"))
    }

    /// Every audit event of `method` (its full path, `/homecoming.v1.PersonService/GetPerson`)
    /// that names the resource `id`, read by the admin through ListAuditEvents.
    pub async fn audit_events_naming(
        &self,
        method: &str,
        id: &str,
    ) -> Vec<homecoming_client::proto::AuditEvent> {
        use futures::TryStreamExt;
        self.client
            .audit_events(
                homecoming_client::ListQuery::new()
                    .filter(format!("method = \"{method}\" AND resource_ids:\"{id}\"")),
            )
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("listing the audit events of {method} naming {id}: {e}"))
    }

    /// A client with `token`, or with no token at all.
    pub async fn client_with(&self, token: Option<&str>) -> Client {
        client_for(self.addr, token).await
    }

    /// `message` as a request carrying the admin token (for raw generated clients).
    pub fn authorized<T>(&self, message: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(message);
        r.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", self.admin_token)
                .parse()
                .expect("ascii token"),
        );
        r
    }

    /// The body of `GET /metrics` (plain HTTP/1.1, as Prometheus scrapes it).
    pub async fn scrape(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.metrics_addr.expect("the server serves metrics");
        let mut s = tokio::net::TcpStream::connect(addr)
            .await
            .expect("metrics listener");
        s.write_all(
            format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("scrape sent");
        let mut response = String::new();
        s.read_to_string(&mut response).await.expect("scrape read");
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("openmetrics-text"), "{head}");
        body.to_owned()
    }

    /// A direct connection to the test database, for checks the API cannot make.
    pub async fn db(&self) -> DatabaseConnection {
        Database::connect(self.database_url.as_str())
            .await
            .expect("direct database connection")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            if let Some(tx) = server.shutdown.take() {
                let _ = tx.send(());
            }
            server.runtime.shutdown_background();
        }
    }
}

/// Creates a database named after the configured one plus a random suffix, and returns its URL.
async fn fresh_postgres_database() -> String {
    let base = std::env::var(POSTGRES_ENV).expect("postgres url");
    let (prefix, rest) = base
        .rsplit_once('/')
        .expect("postgres url has a database path");
    let (db, query) = match rest.split_once('?') {
        Some((db, q)) => (db, format!("?{q}")),
        None => (rest, String::new()),
    };
    let name = format!(
        "{}_t{}",
        if db.is_empty() { "homecoming" } else { db },
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let admin = Database::connect(base.as_str())
        .await
        .expect("connect to HOMECOMING_TEST_POSTGRES_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    let _ = admin.close().await;
    format!("{prefix}/{name}{query}")
}

/// Synthetic fixtures: generated names only, never a real person's.
pub mod fixtures {
    use homecoming_client::{date, proto};

    pub fn category(code: &str) -> proto::Category {
        proto::Category {
            code: code.to_owned(),
            title: format!("Category {code}"),
            kind: proto::CategoryKind::Priority as i32,
            ..Default::default()
        }
    }

    pub fn exchange(title: &str, (y, m, d): (i32, i32, i32)) -> proto::Exchange {
        proto::Exchange {
            title: title.to_owned(),
            exchange_date: Some(date(y, m, d)),
            status: proto::ExchangeStatus::Completed as i32,
            ..Default::default()
        }
    }

    pub fn person(family: &str, given: &str) -> proto::Person {
        proto::Person {
            kind: proto::PersonKind::Military as i32,
            family_name: family.to_owned(),
            given_name: given.to_owned(),
            ..Default::default()
        }
    }
}
