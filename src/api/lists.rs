//! List and count parameters, their validation, and cursors.
//!
//! A cursor is `base64url(payload).base64url(hmac)`: the payload binds its owner (the store,
//! or the account for the request log), the list and a fingerprint of the filters to the
//! paging state (the connector's own, or the log's position), so a cursor cannot be forged,
//! moved to another store or list, or reused with other filters.

use cartgate_connector::model::{OrderStatus, ProductStatus};
use cartgate_connector::page::{DEFAULT_LIMIT, MAX_LIMIT};
use cartgate_connector::{Filters, ListParams};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::IntoParams;

use crate::crypto::Signers;
use crate::error::{ApiError, ApiResult};

macro_rules! query_struct {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default, Deserialize, IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }
    };
}

const ORDER_STATUSES: &str = "pending, processing, on_hold, completed, cancelled, refunded, failed";
const PRODUCT_STATUSES: &str = "active, draft, archived";

macro_rules! common {
    ($q:expr) => {
        Common {
            created_from: &$q.created_from,
            created_to: &$q.created_to,
            updated_from: &$q.updated_from,
            updated_to: &$q.updated_to,
        }
    };
}

/// `page()`: the paging part of a list query.
macro_rules! paged {
    ($name:ident) => {
        impl $name {
            pub fn page(&self) -> PageQuery<'_> {
                PageQuery {
                    limit: self.limit,
                    cursor: &self.cursor,
                    include: &self.include,
                }
            }
        }
    };
}

/// A list query (paging, `include` and the filters) and its count query (the same
/// filters), with one `filters()` written once for both.
macro_rules! list_queries {
    ($list:ident, $count:ident {
        $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)?
    } |$q:ident| $filters:expr) => {
        query_struct!($list {
            /// Page size, 1..=250 (default 50).
            limit: Option<u32>,
            /// `next_cursor` of the previous page.
            cursor: Option<String>,
            /// `raw` adds each object's untouched platform payload as `raw`.
            include: Option<String>,
            $($(#[$fm])* $field: $ty),*
        });
        query_struct!($count { $($(#[$fm])* $field: $ty),* });
        paged!($list);
        impl $list {
            pub fn filters(&self) -> ApiResult<Filters> {
                let $q = self;
                $filters
            }
        }
        impl $count {
            pub fn filters(&self) -> ApiResult<Filters> {
                let $q = self;
                $filters
            }
        }
    };
}

/// `limit`, `cursor` and `include` of a list query.
pub struct PageQuery<'a> {
    pub limit: Option<u32>,
    pub cursor: &'a Option<String>,
    pub include: &'a Option<String>,
}

list_queries!(OrderListQuery, OrderCountQuery {
    /// RFC 3339.
    created_from: Option<String>,
    created_to: Option<String>,
    updated_from: Option<String>,
    updated_to: Option<String>,
    /// pending, processing, on_hold, completed, cancelled, refunded or failed.
    status: Option<String>,
} |q| Ok(Filters {
    status: status::<OrderStatus>(&q.status, ORDER_STATUSES)?,
    ..filters(common!(q))?
}));
list_queries!(ProductListQuery, ProductCountQuery {
    /// RFC 3339.
    created_from: Option<String>,
    created_to: Option<String>,
    updated_from: Option<String>,
    updated_to: Option<String>,
    /// active, draft or archived.
    status: Option<String>,
    /// Exact SKU.
    sku: Option<String>,
} |q| Ok(Filters {
    status: status::<ProductStatus>(&q.status, PRODUCT_STATUSES)?,
    sku: q.sku.clone(),
    ..filters(common!(q))?
}));
list_queries!(CustomerListQuery, CustomerCountQuery {
    /// RFC 3339.
    created_from: Option<String>,
    created_to: Option<String>,
    updated_from: Option<String>,
    updated_to: Option<String>,
    /// Exact email.
    email: Option<String>,
} |q| Ok(Filters {
    email: q.email.clone(),
    ..filters(common!(q))?
}));
query_struct!(CategoryListQuery {
    /// Page size, 1..=250 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// `raw` adds each object's untouched platform payload as `raw`.
    include: Option<String>,
});
paged!(CategoryListQuery);
query_struct!(IncludeQuery {
    /// `raw` adds the untouched platform payload as `raw`.
    include: Option<String>,
});

/// An optional RFC 3339 query value.
pub fn time(name: &str, v: &Option<String>) -> ApiResult<Option<DateTime<Utc>>> {
    v.as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::validation(format!(
                        "{name} must be an RFC 3339 time such as 2024-05-01T00:00:00Z"
                    ))
                })
        })
        .transpose()
}

fn status<T: for<'de> Deserialize<'de>>(
    v: &Option<String>,
    allowed: &str,
) -> ApiResult<Option<String>> {
    match v {
        None => Ok(None),
        Some(s) => serde_json::from_value::<T>(Value::String(s.clone()))
            .map(|_| Some(s.clone()))
            .map_err(|_| ApiError::validation(format!("status must be one of {allowed}"))),
    }
}

/// Whether `include=raw` was asked; any other include value is refused.
pub fn include_raw(include: &Option<String>) -> ApiResult<bool> {
    match include.as_deref() {
        None | Some("") => Ok(false),
        Some(v) => {
            let mut raw = false;
            for part in v.split(',') {
                match part.trim() {
                    "raw" => raw = true,
                    other => {
                        return Err(ApiError::validation(format!(
                            "include={other} is not known; the only value is raw"
                        )))
                    }
                }
            }
            Ok(raw)
        }
    }
}

pub fn limit(limit: Option<u32>) -> ApiResult<u32> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        l @ 1..=MAX_LIMIT => Ok(l),
        _ => Err(ApiError::validation(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        ))),
    }
}

struct Common<'a> {
    created_from: &'a Option<String>,
    created_to: &'a Option<String>,
    updated_from: &'a Option<String>,
    updated_to: &'a Option<String>,
}

fn filters(c: Common<'_>) -> ApiResult<Filters> {
    let f = Filters {
        created_from: time("created_from", c.created_from)?,
        created_to: time("created_to", c.created_to)?,
        updated_from: time("updated_from", c.updated_from)?,
        updated_to: time("updated_to", c.updated_to)?,
        ..Default::default()
    };
    if let (Some(a), Some(b)) = (f.created_from, f.created_to) {
        if a > b {
            return Err(ApiError::validation("created_from is after created_to"));
        }
    }
    if let (Some(a), Some(b)) = (f.updated_from, f.updated_to) {
        if a > b {
            return Err(ApiError::validation("updated_from is after updated_to"));
        }
    }
    Ok(f)
}

#[derive(Serialize, Deserialize)]
struct CursorPayload {
    v: u8,
    /// owner: the store id, or the account id for the request log
    s: String,
    /// resource
    r: String,
    /// filters fingerprint
    f: String,
    /// the connector's paging state
    st: Value,
}

fn fingerprint(f: &impl Serialize) -> String {
    let json = serde_json::to_vec(f).unwrap_or_default();
    hex::encode(&ring::digest::digest(&ring::digest::SHA256, &json).as_ref()[..8])
}

/// `?limit=&cursor=` of a list the gateway keeps itself (stores, webhooks, an account's
/// keys), read in id order.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1..=250 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of a list the gateway keeps itself, in id order: the storage reads
/// `limit + 1` rows after `after`, and [`IdPage::finish`] cuts the page and issues the
/// cursor of the next one (the last id, signed and bound to the owner and the list).
pub struct IdPage<'a> {
    cursors: CursorScope<'a>,
    pub limit: usize,
    pub after: Option<String>,
}

impl<'a> IdPage<'a> {
    pub fn read(cursors: CursorScope<'a>, q: &PageParams) -> ApiResult<IdPage<'a>> {
        let limit = limit(q.limit)? as usize;
        let after = cursors
            .state(&q.cursor, &())?
            .map(serde_json::from_value::<String>)
            .transpose()
            .map_err(|_| ApiError::invalid_cursor("the cursor is malformed"))?;
        Ok(IdPage {
            cursors,
            limit,
            after,
        })
    }

    /// How many rows to read: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> usize {
        self.limit + 1
    }

    /// The page of `rows` (read with [`IdPage::fetch`]) and the next page's cursor.
    pub fn finish<T>(&self, mut rows: Vec<T>, id: impl Fn(&T) -> &str) -> (Vec<T>, Option<String>) {
        if rows.len() <= self.limit {
            return (rows, None);
        }
        rows.truncate(self.limit);
        let next = rows.last().and_then(|l| {
            self.cursors
                .issue(&(), Some(Value::String(id(l).to_owned())))
        });
        (rows, next)
    }
}

/// Issues and checks cursors for one owner (a store, or an account's log), list and filter
/// set.
pub struct CursorScope<'a> {
    pub signers: &'a Signers,
    pub owner: &'a str,
    pub resource: &'static str,
}

impl CursorScope<'_> {
    pub fn issue(&self, filters: &impl Serialize, state: Option<Value>) -> Option<String> {
        let payload = CursorPayload {
            v: 1,
            s: self.owner.to_owned(),
            r: self.resource.to_owned(),
            f: fingerprint(filters),
            st: state?,
        };
        Some(
            self.signers
                .sign_cursor(&serde_json::to_vec(&payload).ok()?),
        )
    }

    pub fn read(&self, cursor: &str, filters: &impl Serialize) -> ApiResult<Value> {
        let bytes = self
            .signers
            .verify_cursor(cursor)
            .ok_or_else(|| ApiError::invalid_cursor("the cursor is malformed or was altered"))?;
        let p: CursorPayload = serde_json::from_slice(&bytes)
            .map_err(|_| ApiError::invalid_cursor("the cursor is malformed"))?;
        if p.v != 1 || p.s != self.owner || p.r != self.resource {
            return Err(ApiError::invalid_cursor(
                "the cursor belongs to another store or list",
            ));
        }
        if p.f != fingerprint(filters) {
            return Err(ApiError::invalid_cursor(
                "the cursor was issued for other filters; send the same filters as the first page",
            ));
        }
        Ok(p.st)
    }

    /// The paging state of a `cursor` query value (none for the first page).
    pub fn state(
        &self,
        cursor: &Option<String>,
        filters: &impl Serialize,
    ) -> ApiResult<Option<Value>> {
        match cursor.as_deref() {
            None | Some("") => Ok(None),
            Some(c) => self.read(c, filters).map(Some),
        }
    }

    /// Builds the connector's list parameters from a validated query.
    pub fn params(
        &self,
        limit_q: Option<u32>,
        cursor: &Option<String>,
        filters: Filters,
    ) -> ApiResult<ListParams> {
        Ok(ListParams {
            limit: limit(limit_q)?,
            state: self.state(cursor, &filters)?,
            filters,
        })
    }
}
