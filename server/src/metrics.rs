//! Prometheus metrics, on a listener of their own (`--metrics-listen`), in the OpenMetrics
//! text format.
//!
//! Per-call metrics follow go-grpc-prometheus (the names etcd and most gRPC dashboards use):
//! `grpc_server_started_total`, `grpc_server_handled_total` and the histogram
//! `grpc_server_handling_seconds`, labelled `grpc_type`, `grpc_service`, `grpc_method` (and
//! `grpc_code` where the call has ended — the histogram has it too, unlike go-grpc-prometheus,
//! so that the latency of failures can be told from that of answers). Methods outside the
//! services table are counted under `unknown`, so a client cannot grow the label set.
//! Everything else is `homecoming_*`, read when scraped: watch streams and their lag, where the
//! watch cache took its revisions from, the change log's extent, group commits, the connection
//! pools, the audit queue, build info.

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
        info::Info,
    },
    registry::{Registry, Unit},
};
use tokio::net::TcpListener;

use crate::{audit::AuditLog, store::Store, watch::Hub};

/// A method as its metrics name it.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    /// `unary`, `server_stream` or `bidi_stream`.
    pub grpc_type: &'static str,
    pub grpc_service: &'static str,
    pub grpc_method: &'static str,
}

/// A method and the code a call of it ended with.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HandledLabels {
    pub grpc_type: &'static str,
    pub grpc_service: &'static str,
    pub grpc_method: &'static str,
    /// The canonical name (`OK`, `NOT_FOUND`, …).
    pub grpc_code: &'static str,
}

impl MethodLabels {
    pub fn ended(self, code: &'static str) -> HandledLabels {
        HandledLabels {
            grpc_type: self.grpc_type,
            grpc_service: self.grpc_service,
            grpc_method: self.grpc_method,
            grpc_code: code,
        }
    }
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The per-call metrics the call layer updates.
#[derive(Debug)]
pub struct RpcMetrics {
    pub started: Family<MethodLabels, Counter>,
    pub handled: Family<HandledLabels, Counter>,
    pub handling_seconds: HistogramFamily<HandledLabels>,
    pub in_flight: Family<MethodLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 100 µs … about 13 s: the registry answers in well under a millisecond to seconds.
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

impl Default for RpcMetrics {
    fn default() -> Self {
        Self {
            started: Family::default(),
            handled: Family::default(),
            handling_seconds: Family::new_with_constructor(latency_histogram),
            in_flight: Family::default(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolStateLabels {
    pool: &'static str,
    /// `in_use` or `idle`.
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeedLabels {
    /// `memory` (this process's commits) or `change_log` (read back).
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    backend: &'static str,
}

/// Gauges set from the store, the hub and the audit log when scraped.
#[derive(Default)]
struct Gauges {
    watch_streams: Gauge,
    watch_lag_max: Gauge,
    watch_feed: Family<FeedLabels, Counter>,
    watch_cache_events: Gauge,
    watch_cache_bytes: Gauge,
    head_revision: Gauge,
    oldest_revision: Gauge,
    change_log_rows: Gauge,
    writes_waiting: Gauge,
    pool_connections: Family<PoolStateLabels, Gauge>,
    pool_max: Family<PoolLabels, Gauge>,
    audit_queued: Gauge,
    audit_capacity: Gauge,
    audit_journal: Gauge,
}

/// How long a count of the change log's rows is reused.
const ROWS_MAX_AGE: Duration = Duration::from_secs(15);

/// Everything a scrape reads.
pub struct Metrics {
    registry: Registry,
    gauges: Gauges,
    store: Store,
    hub: Hub,
    audit: AuditLog,
    rows: tokio::sync::Mutex<Option<(Instant, u64)>>,
    pub rpc: Arc<RpcMetrics>,
}

impl Metrics {
    pub fn new(store: Store, hub: Hub, audit: AuditLog) -> Arc<Metrics> {
        let mut registry = Registry::default();
        let rpc = Arc::new(RpcMetrics::default());
        registry.register(
            "grpc_server_started",
            "RPCs started on the server",
            rpc.started.clone(),
        );
        registry.register(
            "grpc_server_handled",
            "RPCs completed on the server, whatever their code",
            rpc.handled.clone(),
        );
        registry.register_with_unit(
            "grpc_server_handling",
            "Time from the request's arrival to the end of the response (a stream's whole life)",
            Unit::Seconds,
            rpc.handling_seconds.clone(),
        );
        registry.register(
            "grpc_server_in_flight_requests",
            "RPCs being served (open streams included)",
            rpc.in_flight.clone(),
        );
        let gauges = Gauges::default();
        let hc = registry.sub_registry_with_prefix("homecoming");
        hc.register(
            "watch_streams",
            "Open watch streams",
            gauges.watch_streams.clone(),
        );
        hc.register(
            "watch_lag_revisions_max",
            "Revisions between the head and the slowest open watch",
            gauges.watch_lag_max.clone(),
        );
        hc.register(
            "watch_feed_revisions",
            "Revisions the watch cache took from memory (this process's commits) or from the change log",
            gauges.watch_feed.clone(),
        );
        hc.register(
            "watch_cache_events",
            "Events the watch cache holds decoded (the newest revisions)",
            gauges.watch_cache_events.clone(),
        );
        hc.register(
            "watch_cache_bytes",
            "The size of the watch cache's revisions, as change log rows",
            gauges.watch_cache_bytes.clone(),
        );
        hc.register(
            "head_revision",
            "The last committed registry revision",
            gauges.head_revision.clone(),
        );
        hc.register(
            "change_log_oldest_revision",
            "The oldest revision a watch can start from (older ones were compacted)",
            gauges.oldest_revision.clone(),
        );
        hc.register(
            "change_log_rows",
            "Rows in the change log (counted at most every 15 s)",
            gauges.change_log_rows.clone(),
        );
        let commits = store.commit_metrics();
        hc.register(
            "store_group_commit_writes",
            "Writes per database commit (group commit)",
            commits.group_writes,
        );
        hc.register_with_unit(
            "store_commit_duration",
            "Time a database commit took",
            Unit::Seconds,
            commits.commit_seconds,
        );
        hc.register(
            "store_writes_waiting",
            "Writes waiting for their turn at the writer",
            gauges.writes_waiting.clone(),
        );
        hc.register(
            "db_pool_connections",
            "Open database connections by pool and state",
            gauges.pool_connections.clone(),
        );
        hc.register(
            "db_pool_max_connections",
            "Most connections a pool opens",
            gauges.pool_max.clone(),
        );
        hc.register(
            "audit_queue_events",
            "Audit events waiting to be written",
            gauges.audit_queued.clone(),
        );
        hc.register(
            "audit_queue_capacity",
            "Audit events that may wait before calls wait to queue theirs",
            gauges.audit_capacity.clone(),
        );
        hc.register(
            "audit_journal_events",
            "Audit events of reads in the SQLite audit journal, not yet moved into the trail",
            gauges.audit_journal.clone(),
        );
        hc.register(
            "build",
            "The server's version and database backend",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                backend: match store.backend() {
                    crate::store::Backend::Sqlite => "sqlite",
                    crate::store::Backend::Postgres => "postgres",
                },
            }),
        );
        Arc::new(Metrics {
            registry,
            gauges,
            store,
            hub,
            audit,
            rows: tokio::sync::Mutex::new(None),
            rpc,
        })
    }

    /// The text of one scrape. A value the database could not give keeps its last one (and
    /// the failure is logged), so a scrape still answers while the database is down.
    pub async fn scrape(&self) -> String {
        let g = &self.gauges;
        let lag = self.hub.lag();
        g.watch_streams.set(gauge(lag.streams as u64));
        g.watch_lag_max.set(lag.max_revisions);
        let (events, bytes) = self.hub.cache_size();
        g.watch_cache_events.set(gauge(events as u64));
        g.watch_cache_bytes.set(gauge(bytes as u64));
        let feed = self.hub.feed();
        for (source, n) in [
            ("memory", &feed.from_memory),
            ("change_log", &feed.from_change_log),
        ] {
            g.watch_feed
                .get_or_create(&FeedLabels { source })
                .inner()
                .store(n.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        match self.store.change_log_extent().await {
            Ok(e) => {
                g.head_revision.set(e.head_revision);
                g.oldest_revision.set(e.oldest_revision);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: reading the change log's extent"),
        }
        {
            let mut rows = self.rows.lock().await;
            let fresh = rows.is_some_and(|(at, _)| at.elapsed() < ROWS_MAX_AGE);
            if !fresh {
                match self.store.change_log_rows().await {
                    Ok(n) => *rows = Some((Instant::now(), n)),
                    Err(e) => tracing::warn!(error = %e, "metrics: counting the change log"),
                }
            }
            if let Some((_, n)) = *rows {
                g.change_log_rows.set(gauge(n));
            }
        }
        g.writes_waiting
            .set(gauge(self.store.writes_waiting() as u64));
        for p in self.store.pool_use() {
            let in_use = p.open.saturating_sub(p.idle);
            g.pool_connections
                .get_or_create(&PoolStateLabels {
                    pool: p.pool,
                    state: "in_use",
                })
                .set(i64::from(in_use));
            g.pool_connections
                .get_or_create(&PoolStateLabels {
                    pool: p.pool,
                    state: "idle",
                })
                .set(i64::from(p.idle));
            g.pool_max
                .get_or_create(&PoolLabels { pool: p.pool })
                .set(i64::from(p.max));
        }
        let (queued, capacity) = self.audit.queue();
        g.audit_queued.set(gauge(queued as u64));
        g.audit_capacity.set(gauge(capacity as u64));
        match self.store.audit_journal_events().await {
            Ok(n) => {
                g.audit_journal.set(gauge(n));
            }
            Err(e) => tracing::warn!(error = %e, "metrics: counting the audit journal"),
        }
        let mut text = String::new();
        if let Err(e) = encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "metrics: encoding");
        }
        text
    }
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Binds the metrics listener (so that a taken port fails the start, not the first scrape).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    use anyhow::Context;
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics listener {addr}"))
}

/// Serves `GET /metrics` until `stop` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics);
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::error!(error = %e, "metrics listener failed");
    }
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.scrape().await,
    )
}

/// Counts a call as in flight until dropped (no-op without metrics: `--metrics-listen off`).
pub struct InFlight {
    metrics: Option<Arc<RpcMetrics>>,
    method: MethodLabels,
}

impl InFlight {
    pub fn start(metrics: Option<Arc<RpcMetrics>>, method: MethodLabels) -> InFlight {
        if let Some(m) = &metrics {
            m.started.get_or_create(&method).inc();
            m.in_flight.get_or_create(&method).inc();
        }
        InFlight { metrics, method }
    }

    pub fn method(&self) -> MethodLabels {
        self.method
    }

    /// The call ended with `code` after `elapsed`.
    pub fn ended(&self, code: &'static str, elapsed: Duration) {
        let Some(m) = &self.metrics else { return };
        let labels = self.method.ended(code);
        m.handled.get_or_create(&labels).inc();
        m.handling_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(m) = &self.metrics {
            m.in_flight.get_or_create(&self.method).dec();
        }
    }
}
