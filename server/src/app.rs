//! Wiring: the only place that knows every part. `App::build` opens the store (migrations run
//! there) and binds the listener; `App::run_until_stopped` serves until the shutdown future
//! completes, then lets in-flight calls finish (up to the configured grace period).

use std::{future::Future, net::SocketAddr};

use anyhow::Context;
use homecoming_proto::v1::{
    category_service_server::CategoryServiceServer, exchange_service_server::ExchangeServiceServer,
    person_service_server::PersonServiceServer, registry_service_server::RegistryServiceServer,
    watch_service_server::WatchServiceServer,
};
use tokio::net::TcpListener;
use tonic::transport::{Server, server::TcpIncoming};
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::{
    config::{Config, SqliteSynchronous},
    grpc::{
        category::CategoryApi, exchange::ExchangeApi, person::PersonApi, registry::RegistryApi,
        watch::WatchApi,
    },
    store::{Store, StoreOptions},
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
}

impl App {
    /// Opens the database (creating and migrating it as needed) and binds the listen address.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let store = open_store(&config).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        Ok(App {
            config,
            listener,
            addr,
            store,
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
        } = self;
        let max_msg = config.max_message_bytes;
        let hub = Hub::start(
            store.clone(),
            WatchOptions {
                progress_interval: config.watch_progress_interval,
                poll_interval: config.watch_poll_interval,
                retention: config.change_log_retention,
                max_revisions: config.change_log_max_revisions,
                compaction_interval: config.compaction_interval,
                cache_events: config.watch_cache_events,
                request_id_retention: config.request_id_retention,
            },
        )
        .await?;

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
            ] {
                draining_health
                    .set_service_status(name, tonic_health::ServingStatus::NotServing)
                    .await;
            }
            let _ = stopping_tx.send(());
        };

        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let server = Server::builder()
            .timeout(config.request_timeout)
            .max_concurrent_streams(config.max_concurrent_streams)
            .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(std::time::Duration::from_secs(10)))
            .trace_fn(|req| tracing::info_span!("rpc", method = %req.uri().path()))
            .layer(GlobalConcurrencyLimitLayer::new(
                config.max_concurrent_requests,
            ))
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(
                CategoryServiceServer::new(CategoryApi::new(store.clone()))
                    .max_decoding_message_size(max_msg)
                    .max_encoding_message_size(max_msg),
            )
            .add_service(
                ExchangeServiceServer::new(ExchangeApi::new(store.clone()))
                    .max_decoding_message_size(max_msg)
                    .max_encoding_message_size(max_msg),
            )
            .add_service(
                PersonServiceServer::new(PersonApi::new(store.clone()))
                    .max_decoding_message_size(max_msg)
                    .max_encoding_message_size(max_msg),
            )
            .add_service(
                RegistryServiceServer::new(RegistryApi::new(store.clone()))
                    .max_decoding_message_size(max_msg)
                    .max_encoding_message_size(max_msg),
            )
            .add_service(
                WatchServiceServer::new(WatchApi::new(hub.clone()))
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
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
