//! Wiring: the only place that knows every part. `App::build` opens the store (migrations run
//! there) and binds the listener; `App::run_until_stopped` serves until the shutdown future
//! completes, then lets in-flight calls finish (up to the configured grace period).

use std::{future::Future, net::SocketAddr, path::Path};

use anyhow::Context;
use homecoming_proto::v1::{
    access_service_server::AccessServiceServer, audit_service_server::AuditServiceServer,
    category_service_server::CategoryServiceServer, exchange_service_server::ExchangeServiceServer,
    person_service_server::PersonServiceServer, registry_service_server::RegistryServiceServer,
    watch_service_server::WatchServiceServer,
};
use tokio::net::TcpListener;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig, server::TcpIncoming};
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::{
    audit::AuditLog,
    config::{Config, SqliteSynchronous, TokenCommand},
    domain::{Role, WireEnum, access::NewToken},
    grpc::{
        access::AccessApi,
        audit::AuditApi,
        auth::{AuthLayer, Authenticator},
        category::CategoryApi,
        exchange::ExchangeApi,
        person::PersonApi,
        registry::RegistryApi,
        watch::WatchApi,
    },
    store::{ListQuery, MaintenanceOptions, Store, StoreOptions},
    watch::{Hub, WatchOptions},
};

/// Opens (creating and migrating as needed) the database the configuration names.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let options = StoreOptions {
        max_connections: config.db_max_connections,
        sqlite_synchronous_full: config.sqlite_synchronous == SqliteSynchronous::Full,
        ..StoreOptions::default()
    };
    Store::open(&config.database_url, &options)
        .await
        .context("opening the database")
}

pub struct App {
    config: Config,
    listener: TcpListener,
    addr: SocketAddr,
    store: Store,
    tls: Option<ServerTlsConfig>,
}

/// Reads the TLS files the configuration names; refuses clear text on a non-loopback address
/// unless `--allow-insecure`.
fn tls_config(config: &Config) -> anyhow::Result<Option<ServerTlsConfig>> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        if !config.listen.ip().is_loopback() && !config.allow_insecure {
            anyhow::bail!(
                "refusing to serve {} without TLS: give --tls-cert and --tls-key, or \
                 --allow-insecure if the network is trusted (tokens and personal data would \
                 travel in clear text)",
                config.listen
            );
        }
        return Ok(None);
    };
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
    if let Some(ca) = &config.tls_client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read(ca)?));
    }
    Ok(Some(tls))
}

/// On the first start (no tokens at all) creates the administrator token and writes it to a
/// file only the owner can read; logs where it is, never the token.
pub async fn bootstrap_admin_token(config: &Config, store: &Store) -> anyhow::Result<()> {
    let Some((token, secret)) = store.bootstrap_admin_token().await? else {
        return Ok(());
    };
    let path = config.admin_token_path();
    write_private(&path, &format!("{secret}\n"))
        .with_context(|| format!("writing the admin token to {}", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        token = %token.name,
        "created the first admin token; it is in this file (readable by its owner only). \
         Create named tokens with it and keep it safe"
    );
    Ok(())
}

/// Writes `content` to a new file readable and writable by its owner only.
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // An existing file keeps its mode on open: tighten it.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(content.as_bytes())?;
    f.sync_all()
}

/// `homecoming-server token ...`: token management straight on the database.
pub async fn token_command(config: &Config, command: &TokenCommand) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let result = async {
        match command {
            TokenCommand::Create {
                name,
                role,
                expires_in,
            } => {
                let role = Role::parse_name(role)
                    .filter(|r| *r != Role::Unspecified)
                    .ok_or_else(|| anyhow::anyhow!("--role must be viewer, editor or admin"))?;
                let now = chrono::Utc::now();
                let expire_time = expires_in
                    .map(|d| chrono::Duration::from_std(d).map(|d| now + d))
                    .transpose()?;
                let new = NewToken {
                    name: name.clone(),
                    role,
                    expire_time,
                }
                .validate(now)?;
                let (token, secret) = store.create_token(new, "command-line").await?;
                eprintln!(
                    "created token {} ({}, role {}); its secret follows, shown this once:",
                    token.name,
                    token.id,
                    token.role.name()
                );
                println!("{secret}");
            }
            TokenCommand::List => {
                let mut q = ListQuery {
                    page_size: 1000,
                    ..Default::default()
                };
                println!(
                    "{:<38} {:<24} {:<8} {:<26} {:<26} REVOKED",
                    "ID", "NAME", "ROLE", "CREATED", "EXPIRES"
                );
                loop {
                    let page = store.list_tokens(&q).await?;
                    for t in page.items {
                        let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                            t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
                        };
                        println!(
                            "{:<38} {:<24} {:<8} {:<26} {:<26} {}",
                            t.id,
                            t.name,
                            t.role.name().to_lowercase(),
                            t.create_time.to_rfc3339(),
                            when(t.expire_time),
                            when(t.revoke_time)
                        );
                    }
                    match page.next_page_token {
                        Some(next) => q.page_token = next,
                        None => break,
                    }
                }
            }
            TokenCommand::Revoke { token } => {
                let t = store.revoke_token(token).await?;
                eprintln!("revoked token {} ({})", t.name, t.id);
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

impl App {
    /// Opens the database (creating and migrating it as needed), creates the first admin
    /// token if there is none, reads the TLS files and binds the listen address.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let tls = tls_config(&config)?;
        let store = open_store(&config).await?;
        bootstrap_admin_token(&config, &store).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        Ok(App {
            config,
            listener,
            addr,
            store,
            tls,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes, then drains: health turns NOT_SERVING, new calls are
    /// refused, in-flight calls get `shutdown_grace` to finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App {
            config,
            listener,
            addr,
            store,
            tls,
        } = self;
        let (audit, audit_writer) = AuditLog::start(store.clone(), config.audit_queue);
        let authenticator =
            Authenticator::new(store.clone(), audit.clone(), config.token_cache_ttl);
        let max_msg = config.max_message_bytes;
        let hub = Hub::start(
            store.clone(),
            WatchOptions {
                progress_interval: config.watch_progress_interval,
                poll_interval: config.watch_poll_interval,
                cache_events: config.watch_cache_events,
            },
        )
        .await?;
        let maintenance = store.start_maintenance(MaintenanceOptions {
            retention: config.change_log_retention,
            max_revisions: config.change_log_max_revisions,
            compaction_interval: config.compaction_interval,
            request_id_retention: config.request_id_retention,
        });

        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_serving::<CategoryServiceServer<CategoryApi>>()
            .await;
        health
            .set_serving::<ExchangeServiceServer<ExchangeApi>>()
            .await;
        health.set_serving::<PersonServiceServer<PersonApi>>().await;
        health
            .set_serving::<RegistryServiceServer<RegistryApi>>()
            .await;
        health.set_serving::<WatchServiceServer<WatchApi>>().await;
        health.set_serving::<AccessServiceServer<AccessApi>>().await;
        health.set_serving::<AuditServiceServer<AuditApi>>().await;

        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(homecoming_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection().build_v1()?;
        let reflection_v1alpha = reflection().build_v1alpha()?;

        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let draining_health = health.clone();
        let draining_hub = hub.clone();
        let signal = async move {
            shutdown.await;
            // Watches end first, with UNAVAILABLE, so their clients resume elsewhere.
            draining_hub.shutdown();
            tracing::info!("shutting down: finishing in-flight calls");
            for name in [
                "",
                "homecoming.v1.CategoryService",
                "homecoming.v1.ExchangeService",
                "homecoming.v1.PersonService",
                "homecoming.v1.RegistryService",
                "homecoming.v1.WatchService",
                "homecoming.v1.AccessService",
                "homecoming.v1.AuditService",
            ] {
                draining_health
                    .set_service_status(name, tonic_health::ServingStatus::NotServing)
                    .await;
            }
            let _ = stopping_tx.send(());
        };

        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let mut builder = Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls).context("TLS configuration")?;
        }
        let server = builder
            .timeout(config.request_timeout)
            .max_concurrent_streams(config.max_concurrent_streams)
            .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(std::time::Duration::from_secs(10)))
            .trace_fn(|req| tracing::info_span!("rpc", method = %req.uri().path()))
            .layer(GlobalConcurrencyLimitLayer::new(
                config.max_concurrent_requests,
            ))
            .layer(AuthLayer::new(authenticator.clone()))
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(
                CategoryServiceServer::new(CategoryApi::new(store.clone(), audit.clone()))
                    .max_decoding_message_size(max_msg)
                    .max_encoding_message_size(max_msg),
            )
            .add_service(
                ExchangeServiceServer::new(ExchangeApi::new(store.clone(), audit.clone()))
                    .max_decoding_message_size(max_msg)
                    .max_encoding_message_size(max_msg),
            )
            .add_service(
                PersonServiceServer::new(PersonApi::new(store.clone(), audit.clone()))
                    .max_decoding_message_size(max_msg)
                    .max_encoding_message_size(max_msg),
            )
            .add_service(
                RegistryServiceServer::new(RegistryApi::new(store.clone(), audit.clone()))
                    .max_decoding_message_size(max_msg)
                    .max_encoding_message_size(max_msg),
            )
            .add_service(
                AccessServiceServer::new(AccessApi::new(
                    store.clone(),
                    audit.clone(),
                    authenticator.clone(),
                ))
                .max_decoding_message_size(max_msg)
                .max_encoding_message_size(max_msg),
            )
            .add_service(
                AuditServiceServer::new(AuditApi::new(store.clone(), audit.clone()))
                    .max_decoding_message_size(max_msg)
                    .max_encoding_message_size(max_msg),
            )
            .add_service(
                WatchServiceServer::new(WatchApi::new(hub.clone(), audit.clone()))
                    .max_decoding_message_size(max_msg)
                    .max_encoding_message_size(max_msg),
            )
            .serve_with_incoming_shutdown(incoming, signal);

        tracing::info!(%addr, backend = ?store.backend(), "serving gRPC");
        let grace = config.shutdown_grace;
        tokio::pin!(server);
        tokio::select! {
            result = &mut server => result.context("serving gRPC")?,
            _ = async {
                if stopping_rx.await.is_ok() {
                    tokio::time::sleep(grace).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                tracing::warn!(?grace, "grace period over; closing remaining connections");
            }
        }
        hub.shutdown();
        drop(maintenance);
        // What calls queued for the audit trail is written before the database closes.
        audit_writer.close().await;
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
