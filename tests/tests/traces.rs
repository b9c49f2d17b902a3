//! Traces: with an OTLP endpoint the server exports a span per call, named and labelled after
//! OpenTelemetry's RPC conventions, with the store's operations as its children. A test binary
//! of its own: it installs the process's global subscriber, which the other suites leave alone.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use homecoming_server::{config::LogFormat, telemetry};
use homecoming_tests::{Backend, postgres_configured, report_skipped, spawn_app};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value::Value,
    trace::v1::Span,
};
use tonic::{Request, Response, Status};

/// An OTLP collector that keeps every span it receives.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            Value::StringValue(s) => s.clone(),
            Value::IntValue(i) => i.to_string(),
            other => format!("{other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_and_their_store_operations_are_exported_as_spans() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let collector = Collector::default();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let telemetry = telemetry::init(LogFormat::Text, Some(&endpoint)).unwrap();

    let mut backends = vec![Backend::Sqlite];
    if postgres_configured() {
        backends.push(Backend::Postgres);
    } else {
        report_skipped("calls_and_their_store_operations_are_exported_as_spans (PostgreSQL)");
    }
    for backend in backends {
        collector.spans.lock().unwrap().clear();
        let app = spawn_app(backend).await;
        let p = app.person("Slidenko", "Petro").await;
        app.client.persons().get(&p.id).await.unwrap();
        telemetry.flush();

        let mut waited = Duration::ZERO;
        let (call, children) = loop {
            let spans = collector.spans.lock().unwrap().clone();
            let call = spans
                .iter()
                .find(|s| s.name == "homecoming.v1.PersonService/GetPerson")
                .cloned();
            if let Some(call) = call {
                let children: Vec<Span> = spans
                    .into_iter()
                    .filter(|s| s.parent_span_id == call.span_id && s.trace_id == call.trace_id)
                    .collect();
                if !children.is_empty() {
                    break (call, children);
                }
            }
            assert!(
                waited < Duration::from_secs(20),
                "{backend:?}: no GetPerson span with children reached the collector"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            telemetry.flush();
            waited += Duration::from_millis(100);
        };
        assert_eq!(attribute(&call, "rpc.system").as_deref(), Some("grpc"));
        assert_eq!(
            attribute(&call, "rpc.service").as_deref(),
            Some("homecoming.v1.PersonService")
        );
        assert_eq!(attribute(&call, "rpc.method").as_deref(), Some("GetPerson"));
        assert_eq!(
            attribute(&call, "rpc.grpc.status_code").as_deref(),
            Some("0"),
            "{call:?}"
        );
        // SPAN_KIND_SERVER.
        assert_eq!(call.kind, 2);
        assert!(
            children.iter().any(|s| s.name == "store.get_person"),
            "{backend:?}: {:?}",
            children.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        let spans = collector.spans.lock().unwrap().clone();
        assert!(
            spans
                .iter()
                .any(|s| s.name == "homecoming.v1.PersonService/CreatePerson"),
            "the write's call is exported too"
        );
        assert!(spans.iter().any(|s| s.name == "store.commit"));
    }
    telemetry.shutdown();
}
