//! Helpers for connector tests against their sandboxes (feature `sandbox`): the upstream
//! settings tests use, list parameters, and walking every page of a list.

use std::future::Future;
use std::time::Duration;

use crate::http::UpstreamConfig;
use crate::page::{Filters, ListParams, Page};
use crate::Result;

/// Loopback allowed, short backoff, bounded retry wait.
pub fn upstream_config(max_retry_wait: Duration) -> UpstreamConfig {
    UpstreamConfig {
        allow_private: true,
        base_backoff: Duration::from_millis(20),
        max_retry_wait,
        ..Default::default()
    }
}

pub fn params(limit: u32, filters: Filters) -> ListParams {
    ListParams {
        limit,
        state: None,
        filters,
    }
}

/// Every item of a list, following the connector's paging state; fails the test on an
/// error, on a page larger than `limit`, or when paging does not end.
pub async fn all_pages<T, F, Fut>(limit: u32, filters: Filters, mut page: F) -> Vec<T>
where
    F: FnMut(ListParams) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut p = params(limit, filters);
    let mut out = Vec::new();
    loop {
        let got = page(p.clone()).await.expect("a page");
        assert!(got.items.len() <= limit as usize, "a page over the limit");
        out.extend(got.items);
        match got.next {
            Some(next) => p.state = Some(next),
            None => return out,
        }
        assert!(out.len() < 10_000, "paging does not end");
    }
}
