//! What to list, one page of it, and streams that fetch the pages as they are read.

use futures::{Stream, TryStreamExt, stream};

use crate::Error;

/// What to list: filter (AIP-160, see [`filter`](crate::filter)), ordering and page size.
///
/// ```
/// use homecoming_client::{ListQuery, filter::field};
///
/// let q = ListQuery::new()
///     .filter(field("family_name").eq("Shevchenko"))
///     .order_by("given_name")
///     .page_size(200);
/// assert_eq!(q.filter, r#"family_name = "Shevchenko""#);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// An AIP-160 filter; empty: everything.
    pub filter: String,
    /// An AIP-132 ordering (`"field [desc], ..."`); empty: the server's default order.
    pub order_by: String,
    /// 0 means the server's default (50); at most 1000 (larger values count as 1000).
    pub page_size: i32,
}

impl ListQuery {
    /// Everything, in the server's default order and page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the filter: a string, or a [`Filter`](crate::filter::Filter) (which converts into
    /// one).
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = filter.into();
        self
    }

    /// Sets the ordering, e.g. `"family_name, given_name"` or `"exchange_date desc"`.
    pub fn order_by(mut self, order_by: impl Into<String>) -> Self {
        self.order_by = order_by.into();
        self
    }

    /// Sets how many items a page holds (the stream of `list` fetches pages of this size): 0
    /// for the server's default (50), at most 1000 (larger values count as 1000). A negative
    /// size is rejected with [`Error::InvalidArgument`].
    pub fn page_size(mut self, n: i32) -> Self {
        self.page_size = n;
        self
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The page's items, in the list's order.
    pub items: Vec<T>,
    /// Empty on the last page.
    pub next_page_token: String,
    /// The registry revision the page was read at.
    pub revision: i64,
}

/// Streams every item of a paged list, fetching pages as they are consumed.
pub(crate) fn paged<T, F, Fut>(fetch: F) -> impl Stream<Item = Result<T, Error>> + Send
where
    T: Send + 'static,
    F: FnMut(String) -> Fut + Send,
    Fut: Future<Output = Result<Page<T>, Error>> + Send,
{
    stream::try_unfold(
        (fetch, Some(String::new())),
        |(mut fetch, token)| async move {
            let Some(token) = token else {
                return Ok::<_, Error>(None);
            };
            let page = fetch(token).await?;
            let next = (!page.next_page_token.is_empty()).then_some(page.next_page_token);
            let items = stream::iter(page.items.into_iter().map(Ok::<T, Error>));
            Ok::<_, Error>(Some((items, (fetch, next))))
        },
    )
    .try_flatten()
}
