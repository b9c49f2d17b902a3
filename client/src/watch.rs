//! Watching the registry: a `Stream` of typed events that reconnects with backoff and resumes
//! from the last revision it delivered, dropping anything it already delivered.

use std::time::Duration;

use futures::{Stream, stream};
use homecoming_proto::v1::{self as proto, watch_service_client::WatchServiceClient};
use tonic::{Code, Streaming};

use crate::Transport;

use crate::Error;

/// What a watch delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// The (matching) changes of one revision; during the initial state, the current
    /// resources as CREATED events at the snapshot's revision.
    Events(proto::EventBatch),
    /// Everything up to this revision has been delivered.
    Progress(i64),
    /// The initial state is complete; it was read at this revision.
    InitialStateDone(i64),
}

/// Builds a watch; see [`crate::Client::watch`].
#[derive(Clone)]
pub struct WatchBuilder {
    client: WatchServiceClient<Transport>,
    request: proto::WatchRequest,
    max_retries: Option<u32>,
}

impl WatchBuilder {
    pub(crate) fn new(client: WatchServiceClient<Transport>) -> Self {
        Self {
            client,
            request: proto::WatchRequest::default(),
            max_retries: None,
        }
    }

    /// Only these resource types (default: all).
    pub fn types(mut self, types: impl IntoIterator<Item = proto::ResourceType>) -> Self {
        self.request.types = types.into_iter().map(|t| t as i32).collect();
        self
    }

    /// The List filter syntax, applied to each resource (needs exactly one type).
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.request.filter = filter.into();
        self
    }

    /// Deliver from this revision on (its events included). Default: from now.
    pub fn start_revision(mut self, revision: i64) -> Self {
        self.request.start_revision = revision;
        self
    }

    /// List-then-watch: continue right after a List response's `revision`, with no gap.
    pub fn after_list(self, list_revision: i64) -> Self {
        self.start_revision(list_revision + 1)
    }

    /// First the current matching resources, then live changes.
    pub fn initial_state(mut self, yes: bool) -> Self {
        self.request.send_initial_state = yes;
        self
    }

    /// Progress bookmarks while idle.
    pub fn progress_notify(mut self, yes: bool) -> Self {
        self.request.progress_notify = yes;
        self
    }

    /// Give up after this many reconnections in a row (default: never).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// The event stream. It ends only with an error that retrying cannot fix — such as
    /// [`Error::RevisionCompacted`] — or when dropped.
    pub fn stream(self) -> impl Stream<Item = Result<WatchEvent, Error>> + Send + 'static {
        let state = State {
            initial_wanted: self.request.send_initial_state,
            client: self.client,
            request: self.request,
            max_retries: self.max_retries,
            inner: None,
            last: None,
            initial_done: false,
            failures: 0,
            finished: false,
        };
        stream::unfold(state, |mut s| async move {
            let item = s.next().await?;
            Some((item, s))
        })
    }
}

struct State {
    client: WatchServiceClient<Transport>,
    request: proto::WatchRequest,
    max_retries: Option<u32>,
    inner: Option<Streaming<proto::WatchResponse>>,
    /// The last revision delivered (events, progress or initial state).
    last: Option<i64>,
    initial_wanted: bool,
    initial_done: bool,
    failures: u32,
    finished: bool,
}

fn retryable(e: &Error) -> bool {
    match e {
        Error::Transport(_) | Error::Unavailable(_) => true,
        Error::Other { code, .. } => {
            matches!(code, Code::Unknown | Code::Cancelled | Code::Aborted)
        }
        Error::DeadlineExceeded(_) => true,
        _ => false,
    }
}

impl State {
    /// The request for the next (re)connection: resume after the last delivered revision.
    fn resume_request(&self) -> proto::WatchRequest {
        let mut r = self.request.clone();
        match self.last {
            Some(last) if !self.initial_wanted || self.initial_done => {
                r.start_revision = last + 1;
                r.send_initial_state = false;
            }
            // Nothing delivered yet (or the initial state was cut short): start over.
            _ => {}
        }
        r
    }

    async fn backoff(&mut self, e: Error) -> Option<Result<WatchEvent, Error>> {
        self.inner = None;
        self.failures += 1;
        if self.max_retries.is_some_and(|m| self.failures > m) {
            self.finished = true;
            return Some(Err(e));
        }
        let delay =
            Duration::from_millis(100u64 << self.failures.min(6)).min(Duration::from_secs(5));
        tokio::time::sleep(delay).await;
        None
    }

    async fn next(&mut self) -> Option<Result<WatchEvent, Error>> {
        loop {
            if self.finished {
                return None;
            }
            let Some(inner) = self.inner.as_mut() else {
                let request = self.resume_request();
                match self.client.watch(request).await {
                    Ok(r) => self.inner = Some(r.into_inner()),
                    Err(status) => {
                        let e = Error::from(status);
                        if !retryable(&e) {
                            self.finished = true;
                            return Some(Err(e));
                        }
                        if let Some(give_up) = self.backoff(e).await {
                            return Some(give_up);
                        }
                    }
                }
                continue;
            };
            match inner.message().await {
                Ok(Some(m)) => {
                    self.failures = 0;
                    if let Some(event) = self.accept(m) {
                        return Some(Ok(event));
                    }
                }
                // The server ended the stream without an error: reconnect and resume.
                Ok(None) => self.inner = None,
                Err(status) => {
                    let e = Error::from(status);
                    if !retryable(&e) {
                        self.finished = true;
                        return Some(Err(e));
                    }
                    if let Some(give_up) = self.backoff(e).await {
                        return Some(give_up);
                    }
                }
            }
        }
    }

    /// Decides what of a message to deliver; duplicates (after a resume) are dropped.
    fn accept(&mut self, m: proto::WatchResponse) -> Option<WatchEvent> {
        use proto::watch_response::Kind;
        let in_initial = self.initial_wanted && !self.initial_done;
        match m.kind? {
            Kind::Events(batch) => {
                if !in_initial {
                    if self.last.is_some_and(|l| batch.revision <= l) {
                        return None;
                    }
                    self.last = Some(batch.revision);
                }
                Some(WatchEvent::Events(batch))
            }
            Kind::InitialStateDone(d) => {
                self.initial_done = true;
                self.last = Some(d.revision);
                Some(WatchEvent::InitialStateDone(d.revision))
            }
            Kind::Progress(p) => {
                if self.last.is_some_and(|l| p.revision < l) {
                    return None;
                }
                self.last = Some(p.revision);
                Some(WatchEvent::Progress(p.revision))
            }
        }
    }
}
