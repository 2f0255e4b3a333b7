//! Listing parameters and pages shared by every connector.
//!
//! A connector returns its own paging state (`Page::next`) as JSON; the gateway seals it into
//! an opaque, tamper-evident cursor and hands it back on the next call (`ListParams::state`).
//! Connectors therefore never see or produce cursor strings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Largest page a client may ask for; platforms with smaller pages fetch several.
pub const MAX_LIMIT: u32 = 250;
pub const DEFAULT_LIMIT: u32 = 50;

/// Filters of a list or count. The gateway has already checked `status` against the unified
/// status words of the resource (orders: `OrderStatus`, products: `ProductStatus`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_to: Option<DateTime<Utc>>,
    pub status: Option<String>,
    pub email: Option<String>,
    pub sku: Option<String>,
}

impl Filters {
    /// The names of the filters that are set, for "cannot filter by X" messages.
    pub fn set_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.created_from.is_some() {
            names.push("created_from");
        }
        if self.created_to.is_some() {
            names.push("created_to");
        }
        if self.updated_from.is_some() {
            names.push("updated_from");
        }
        if self.updated_to.is_some() {
            names.push("updated_to");
        }
        if self.status.is_some() {
            names.push("status");
        }
        if self.email.is_some() {
            names.push("email");
        }
        if self.sku.is_some() {
            names.push("sku");
        }
        names
    }
}

/// Every filter name of the unified API, in the order `GET /v1/platforms` lists them.
pub const ALL_FILTERS: [&str; 7] = [
    "created_from",
    "created_to",
    "updated_from",
    "updated_to",
    "status",
    "email",
    "sku",
];

/// The time filters and `status` (orders).
pub const ORDER_FILTERS: &[&str] = &[
    "created_from",
    "created_to",
    "updated_from",
    "updated_to",
    "status",
];
/// The time filters, `status` and `sku` (products).
pub const PRODUCT_FILTERS: &[&str] = &[
    "created_from",
    "created_to",
    "updated_from",
    "updated_to",
    "status",
    "sku",
];

/// The filters a platform applies, per list (`orders`, `products`, `customers`,
/// `categories`). Declared once per connector: `GET /v1/platforms` advertises it
/// ([`SupportedFilters::to_map`]) and the connector enforces it ([`SupportedFilters::check`]),
/// so the two cannot drift.
#[derive(Debug, Clone, Copy)]
pub struct SupportedFilters(pub &'static [(&'static str, &'static [&'static str])]);

impl SupportedFilters {
    /// The filters of one list; none for a list the platform does not declare.
    pub fn of(&self, resource: &str) -> &'static [&'static str] {
        self.0
            .iter()
            .find(|(r, _)| *r == resource)
            .map_or(&[], |(_, names)| names)
    }

    /// Refuses every set filter the list does not apply, so none is silently ignored.
    pub fn check(&self, resource: &str, f: &Filters) -> crate::Result<()> {
        let supported = self.of(resource);
        let refused: Vec<_> = f
            .set_names()
            .into_iter()
            .filter(|n| !supported.contains(n))
            .collect();
        if refused.is_empty() {
            Ok(())
        } else {
            Err(crate::ConnectorError::Unsupported(format!(
                "this platform cannot filter {resource} by {}",
                refused.join(", ")
            )))
        }
    }

    /// What `GET /v1/platforms` shows.
    pub fn to_map(&self) -> std::collections::BTreeMap<&'static str, Vec<&'static str>> {
        self.0.iter().map(|(r, n)| (*r, n.to_vec())).collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// 1..=MAX_LIMIT, already validated.
    pub limit: u32,
    /// The connector's own paging state from the previous page; `None` for the first page.
    pub state: Option<Value>,
    pub filters: Filters,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Paging state for the next page; `None` on the last page.
    pub next: Option<Value>,
}
