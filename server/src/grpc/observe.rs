//! What every call gets before anything else runs (the outermost layer): its request id, its
//! metrics, and its one log line.
//!
//! - The request id is the client's `x-request-id` when it sent a usable one (1 to 128 of
//!   `A-Z a-z 0-9 . _ : -`), else a new UUIDv7; it goes back in the response headers, into the
//!   call's audit event (through [`Observed`] in the request's extensions) and into the log.
//! - A call ends when its response does: at once for an error answered in the headers
//!   (trailers-only), else when the body's trailers carry `grpc-status` (a stream ends when its
//!   last message is sent), or `CANCELLED` when the client left before that.
//! - The log line (target `homecoming::request`): method, code, duration, peer, token name and
//!   request id; never the message of an error (it can quote a value of the request) nor
//!   anything of the request itself. Successes are logged at DEBUG
//!   (`RUST_LOG=info,homecoming::request=debug` turns them on), failures always: a server-side
//!   code (INTERNAL, UNKNOWN, UNAVAILABLE, DATA_LOSS) at WARN, the rest at INFO.

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll},
    time::Instant,
};

use futures::future::BoxFuture;
use http::HeaderValue;
use http_body::{Body, Frame, SizeHint};
use tonic::{
    Code,
    transport::server::{TcpConnectInfo, TlsConnectInfo},
};
use tower::{Layer, Service};
use tracing::Instrument;

use super::{services::labels_of, status::code_name};
use crate::metrics::{InFlight, RpcMetrics};

/// The header a request id travels in, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Longest request id taken from a client.
const MAX_REQUEST_ID: usize = 128;
/// Longest method path logged (unknown paths are the client's text).
const MAX_LOGGED_PATH: usize = 200;

/// The request id of a call and who made it, shared by the layers of one call.
#[derive(Debug)]
pub struct Observed {
    pub request_id: String,
    /// The client's address (so authentication need not work it out again).
    pub peer: String,
    token_name: OnceLock<String>,
}

impl Observed {
    /// Set by authentication once it knows the caller.
    pub fn set_token_name(&self, name: &str) {
        let _ = self.token_name.set(name.to_owned());
    }
}

/// The peer's address, with or without TLS.
pub fn peer_of<B>(req: &http::Request<B>) -> String {
    let ext = req.extensions();
    let addr: Option<SocketAddr> = ext
        .get::<TcpConnectInfo>()
        .and_then(|i| i.remote_addr)
        .or_else(|| {
            ext.get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|i| i.get_ref().remote_addr)
        });
    addr.map(|a| a.to_string()).unwrap_or_default()
}

/// The call's [`Observed`], if the observing layer ran (it always does in the server).
pub fn observed<B>(req: &http::Request<B>) -> Option<Arc<Observed>> {
    req.extensions().get::<Arc<Observed>>().cloned()
}

fn usable_request_id(v: &HeaderValue) -> Option<String> {
    let b = v.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= MAX_REQUEST_ID
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._:-".contains(c));
    // Checked ASCII just above.
    ok.then(|| String::from_utf8_lossy(b).into_owned())
}

#[derive(Clone)]
pub struct ObserveLayer {
    metrics: Option<Arc<RpcMetrics>>,
}

impl ObserveLayer {
    /// `metrics`: none when nobody scrapes them (`--metrics-listen off`): calls are then not
    /// counted (their ids, spans and log lines stay).
    pub fn new(metrics: Option<Arc<RpcMetrics>>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = ObserveService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ObserveService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct ObserveService<S> {
    inner: S,
    metrics: Option<Arc<RpcMetrics>>,
}

impl<S, ReqB, ResB> Service<http::Request<ReqB>> for ObserveService<S>
where
    S: Service<http::Request<ReqB>, Response = http::Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqB: Send + 'static,
    ResB: Body + Unpin + Send + 'static,
{
    type Response = http::Response<ObservedBody<ResB>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<ReqB>) -> Self::Future {
        let started = Instant::now();
        let path = req.uri().path();
        let method = labels_of(path);
        let path: String = path.chars().take(MAX_LOGGED_PATH).collect();
        let request_id = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(usable_request_id)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let peer = peer_of(&req);
        let observed = Arc::new(Observed {
            request_id,
            peer: peer.clone(),
            token_name: OnceLock::new(),
        });
        req.extensions_mut().insert(observed.clone());
        let flight = InFlight::start(self.metrics.clone(), method);
        // The call's span, named and labelled after OpenTelemetry's RPC conventions (what
        // `--otlp-endpoint` exports); open until the response's end, the store's spans in it.
        let span = tracing::info_span!(
            "rpc",
            otel.name = %format_args!("{}/{}", method.grpc_service, method.grpc_method),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = method.grpc_service,
            rpc.method = method.grpc_method,
            rpc.grpc.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        // The clone is ready only if polled; swap so the ready one serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let future = span.in_scope(|| inner.call(req));
        Box::pin(async move {
            let end = End {
                flight,
                started,
                observed,
                path,
                peer,
                span,
            };
            let mut response = match future.instrument(end.span.clone()).await {
                Ok(r) => r,
                Err(e) => {
                    end.finish(Code::Unknown);
                    return Err(e);
                }
            };
            if let Ok(v) = HeaderValue::from_str(&end.observed.request_id) {
                response.headers_mut().insert(REQUEST_ID_HEADER, v);
            }
            let answered = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok());
            let end = match answered {
                Some(code) => {
                    end.finish(Code::from_i32(code));
                    None
                }
                None => {
                    // A unary handler's error is answered in the headers (above), so this
                    // one answered OK: say so on the call's span now, which closes before the
                    // body's trailers are sent.
                    if end.flight.method().grpc_type == "unary" {
                        end.span.record("rpc.grpc.status_code", 0);
                    }
                    Some(end)
                }
            };
            Ok(response.map(|inner| ObservedBody { inner, end }))
        })
    }
}

/// What is needed to close a call's books.
struct End {
    flight: InFlight,
    started: Instant,
    observed: Arc<Observed>,
    path: String,
    peer: String,
    span: tracing::Span,
}

impl End {
    fn finish(self, code: Code) {
        let elapsed = self.started.elapsed();
        let name = code_name(code);
        self.flight.ended(name, elapsed);
        self.span.record("rpc.grpc.status_code", code as i32);
        // OpenTelemetry's rule for server spans: only the server's own failures are errors.
        if matches!(
            code,
            Code::Unknown
                | Code::DeadlineExceeded
                | Code::Unimplemented
                | Code::Internal
                | Code::Unavailable
                | Code::DataLoss
        ) {
            self.span.record("otel.status_code", "ERROR");
        }
        let token = self.observed.token_name.get().map_or("", String::as_str);
        let ms = elapsed.as_secs_f64() * 1000.0;
        let (path, peer, id) = (&self.path, &self.peer, &self.observed.request_id);
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    target: "homecoming::request",
                    method = %path,
                    code = name,
                    duration_ms = ms,
                    peer = %peer,
                    token = token,
                    request_id = %id,
                    "call"
                )
            };
        }
        match code {
            Code::Ok => line!(debug),
            Code::Internal | Code::Unknown | Code::Unavailable | Code::DataLoss => line!(warn),
            _ => line!(info),
        }
    }
}

/// A response body that ends its call when the trailers go out (or the client leaves).
pub struct ObservedBody<B> {
    inner: B,
    end: Option<End>,
}

impl<B> ObservedBody<B> {
    fn end(&mut self, code: Code) {
        if let Some(end) = self.end.take() {
            end.finish(code);
        }
    }
}

impl<B> Drop for ObservedBody<B> {
    fn drop(&mut self) {
        // Dropped before its trailers: the client went away (or the connection did).
        self.end(Code::Cancelled);
    }
}

impl<B: Body + Unpin> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame
                    .trailers_ref()
                    .and_then(|t| t.get("grpc-status"))
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                {
                    this.end(Code::from_i32(code));
                }
            }
            Poll::Ready(Some(Err(_))) => this.end(Code::Internal),
            // Ended without trailers: not a gRPC answer.
            Poll::Ready(None) => this.end(Code::Unknown),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_request_ids_are_taken() {
        let take = |s: &str| {
            HeaderValue::from_str(s)
                .ok()
                .and_then(|v| usable_request_id(&v))
        };
        assert_eq!(take("abc-123_x.y:z").as_deref(), Some("abc-123_x.y:z"));
        assert_eq!(take(""), None);
        assert_eq!(take("with space"), None);
        assert_eq!(take(&"a".repeat(129)), None);
        assert_eq!(take(&"a".repeat(128)).map(|s| s.len()), Some(128));
    }
}
