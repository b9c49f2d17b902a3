//! Wiring: the only place that knows every part. `App::build` opens the store (migrations run
//! there) and binds the listener; `App::run_until_stopped` serves until the shutdown future
//! completes, then lets in-flight calls finish (up to the configured grace period).

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::net::TcpListener;
use tonic::transport::{Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::{
    audit::AuditLog,
    bootstrap,
    config::{Config, SqliteSynchronous},
    connections,
    grpc::{
        Rpc,
        auth::{AuthLayer, Authenticator},
        observe::ObserveLayer,
        services::{self, Parts, SERVICES},
    },
    metrics::{self, Metrics},
    store::{MaintenanceOptions, Store, StoreOptions},
    watch::{Hub, WatchOptions},
};

/// Opens (creating and migrating as needed) the database the configuration names.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let options = StoreOptions {
        max_connections: config.db_max_connections,
        sqlite_synchronous_full: config.sqlite_synchronous == SqliteSynchronous::Full,
        duplicate_search: config.duplicate_search,
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
    metrics_listener: Option<TcpListener>,
    store: Store,
    tls: Option<ServerTlsConfig>,
}

impl App {
    /// Opens the database (creating and migrating it as needed), creates the first admin
    /// token if there is none, reads the TLS files and binds the listen address.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let tls = config.tls()?;
        let store = open_store(&config).await?;
        bootstrap::admin_token(&config, &store).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let metrics_listener = match config.metrics_listen.0 {
            Some(a) => Some(metrics::bind(a).await?),
            None => None,
        };
        Ok(App {
            config,
            listener,
            addr,
            metrics_listener,
            store,
            tls,
        })
    }

    /// Where `GET /metrics` is served, if it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
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
            metrics_listener,
            store,
            tls,
        } = self;
        let (audit, audit_writer) = AuditLog::start(store.clone(), config.audit_queue);
        let auth = Authenticator::new(store.clone(), audit.clone(), config.token_cache_ttl);
        let hub = Hub::start(
            store.clone(),
            WatchOptions {
                progress_interval: config.watch_progress_interval,
                poll_interval: config.watch_poll_interval,
                cache_events: config.watch_cache_events,
                cache_bytes: config.watch_cache_bytes,
            },
        )
        .await?;
        let maintenance = store.start_maintenance(MaintenanceOptions {
            retention: config.change_log_retention,
            max_revisions: config.change_log_max_revisions,
            compaction_interval: config.compaction_interval,
            request_id_retention: config.request_id_retention,
            audit_settle_interval: config.audit_journal_interval,
        });

        let metrics = Metrics::new(store.clone(), hub.clone(), audit.clone());
        let (metrics_stop, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_task = metrics_listener.map(|l| {
            let addr = l.local_addr().ok();
            tracing::info!(?addr, "serving metrics on /metrics");
            tokio::spawn(metrics::serve(l, metrics.clone(), async move {
                let _ = metrics_stopped.await;
            }))
        });

        let (health, health_service) = tonic_health::server::health_reporter();
        set_health(&health, ServingStatus::Serving).await;
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(homecoming_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let routes = services::routes(&Parts {
            rpc: Rpc::new(store.clone(), audit.clone()),
            hub: hub.clone(),
            auth: auth.clone(),
            max_message_bytes: config.max_message_bytes,
        })
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);

        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let draining_hub = hub.clone();
        let signal = async move {
            shutdown.await;
            // Watches end first, with UNAVAILABLE, so their clients resume elsewhere.
            draining_hub.shutdown();
            tracing::info!("shutting down: finishing in-flight calls");
            set_health(&health, ServingStatus::NotServing).await;
            let _ = stopping_tx.send(());
        };

        let incoming = connections::incoming(
            listener,
            connections::Limits {
                max: config.max_connections,
                first_byte: config.connection_first_byte_timeout,
            },
            Default::default(),
        );
        let mut builder = Server::builder();
        if let Some(tls) = tls {
            builder = builder.tls_config(tls).context("TLS configuration")?;
        }
        if !config.max_connection_age.is_zero() {
            builder = builder
                .max_connection_age(config.max_connection_age)
                .max_connection_age_grace(config.max_connection_age_grace);
        }
        let server = builder
            .timeout(config.request_timeout)
            .max_concurrent_streams(config.max_concurrent_streams)
            .http2_keepalive_interval(Some(config.http2_keepalive_interval))
            .http2_keepalive_timeout(Some(config.http2_keepalive_timeout))
            // Outermost: a call is counted, timed and given its request id before it queues.
            .layer(ObserveLayer::new(
                metrics_task.is_some().then(|| metrics.rpc.clone()),
            ))
            .layer(GlobalConcurrencyLimitLayer::new(
                config.max_concurrent_requests,
            ))
            .layer(AuthLayer::new(Arc::clone(&auth)))
            .add_routes(routes)
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
        let _ = metrics_stop.send(());
        if let Some(task) = metrics_task {
            let _ = task.await;
        }
        // What calls queued for the audit trail is written before the database closes.
        audit_writer.close().await;
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Sets the overall status ("") and every service's in the table.
async fn set_health(health: &tonic_health::server::HealthReporter, status: ServingStatus) {
    health.set_service_status("", status).await;
    for s in SERVICES {
        health.set_service_status(s.name, status).await;
    }
}
