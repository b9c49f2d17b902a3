//! Accepted connections, within bounds: at most `max` at once (the next is closed at accept, so
//! a flood of idle sockets cannot take the file descriptors the database and real clients
//! need), and a connection that sends nothing within `first_byte` is closed (an HTTP/2 client
//! sends its preface at once). HTTP/2 keepalive and the connection age limits are the server
//! builder's (see `app`).

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use futures::Stream;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Sleep,
};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How many connections, and how long a silent one may wait.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max: usize,
    pub first_byte: Duration,
}

/// One accepted connection, holding its place among the `max`.
pub struct Conn {
    stream: TcpStream,
    _place: OwnedSemaphorePermit,
    /// Until the first byte arrives: when the connection is given up.
    silent_until: Option<Pin<Box<Sleep>>>,
}

/// Counts what the bounds refused (for the log; a metric later).
#[derive(Debug, Default)]
pub struct Refused {
    pub over_limit: AtomicU64,
}

/// The listener's connections, as a stream tonic serves. Accept errors (e.g. the process ran
/// out of file descriptors) are logged and accepting goes on after a short pause.
pub fn incoming(
    listener: TcpListener,
    limits: Limits,
    refused: Arc<Refused>,
) -> impl Stream<Item = io::Result<Conn>> + Send + 'static {
    let places = Arc::new(Semaphore::new(limits.max.max(1)));
    futures::stream::unfold(
        (listener, places, refused),
        move |(listener, places, refused)| async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(place) = places.clone().try_acquire_owned() else {
                    let n = refused.over_limit.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_power_of_two() {
                        tracing::warn!(%peer, max = limits.max, refused = n, "connection limit reached; closing new connections");
                    }
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let conn = Conn {
                    stream,
                    _place: place,
                    silent_until: Some(Box::pin(tokio::time::sleep(limits.first_byte))),
                };
                return Some((Ok(conn), (listener, places, refused)));
            }
        },
    )
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.silent_until = None;
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                let expired = this
                    .silent_until
                    .as_mut()
                    .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready());
                if expired {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no request on the connection",
                    )))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}
