//! The Shopify store session: every upstream call of the connector.
//!
//! One endpoint: `POST {endpoint or https://{shop}}/admin/api/{version}/graphql.json`
//! (the version is the connector's, `CARTGATE_SHOPIFY_API_VERSION`) with the
//! `X-Shopify-Access-Token` header (marked sensitive: never in debug output). Every
//! document comes from [`crate::queries`].
//!
//! # Throttling
//!
//! Shopify prices each query (`extensions.cost`) and keeps a leaky bucket per app and
//! store (`throttleStatus`: `maximumAvailable`, `currentlyAvailable`, `restoreRate`). The
//! session mirrors that bucket in the shared [`Pacer`](cartgate_connector::pace::Pacer)
//! under `shopify:<shop>` (several gateway instances share it in Redis mode):
//!
//! 1. before a call it reserves the expected requested cost (the `requestedQueryCost`
//!    Shopify last charged for the same document and sizes, else our own estimate from
//!    [`crate::cost`]) and sleeps the wait the pacer answers;
//! 2. after the answer it refunds `reserved - actualQueryCost`, adopts Shopify's bucket
//!    size and restore rate as the quota, and tells the pacer what Shopify says is left;
//! 3. a `THROTTLED` answer (HTTP 200, `errors[].extensions.code`) charged nothing: the
//!    session refunds, lets the pacer wait for the points and sends again, within the
//!    upstream's `max_retry_wait`; past that it answers `RateLimited`. Clients never see
//!    Shopify's throttling otherwise.
//!
//! Queries are sent as POST but are idempotent (`RequestSpec::idempotent`), so transient
//! failures are retried by the upstream client; mutations are sent once, except those
//! carrying an idempotency key (`@idempotent`), which Shopify applies once however often
//! the same request arrives.
//!
//! # Store-wide facts
//!
//! The shop's currency and weight unit are read once per session; its locations are kept
//! for [`LOCATIONS_TTL`] (they size the `inventoryLevels` pages and check the location ids
//! of stock writes), so no order or product of a list costs an extra call.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cartgate_connector::http::{RequestSpec, StoreGate, Upstream};
use cartgate_connector::model::*;
use cartgate_connector::pace::{self, Quota};
use cartgate_connector::util::non_empty;
use cartgate_connector::{
    CallContext, ConnectorError, Filters, ListParams, Page, Result, StoreSession,
};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use url::Url;

use crate::cost::{self, MAX_QUERY_COST};
use crate::mapping::{self, gid};
use crate::queries as q;
use crate::ApiVersion;

/// Before Shopify has told us the bucket: the smallest published one (1000 points,
/// 50 points/s). The first answer replaces it.
const DEFAULT_QUOTA: Quota = Quota {
    rate_per_sec: 50.0,
    burst: 1000.0,
};
/// Nested page sizes in lists (small: a list page must stay under the single-query cost
/// limit) and for one object (large). An object whose nested list was cut short in a
/// list is read again on its own.
const LIST_LINE_ITEMS: u64 = 5;
const LIST_FULFILLMENTS: u64 = 3;
const LIST_SHIPPING_LINES: u64 = 2;
const LIST_TRANSACTIONS: u64 = 5;
const LIST_REFUNDS: u64 = 2;
const LIST_REFUND_LINES: u64 = 5;
/// One order: every page of line items is followed; the other nested lists are read this
/// far (Shopify's `refunds` and `transactions` have no cursor to page on).
const ONE_LINE_ITEMS: u64 = 20;
const MORE_LINE_ITEMS: u64 = 40;
const ONE_FULFILLMENTS: u64 = 10;
const ONE_SHIPPING_LINES: u64 = 5;
const ONE_TRANSACTIONS: u64 = 25;
const ONE_REFUNDS: u64 = 8;
const ONE_REFUND_LINES: u64 = 10;
/// Variants per product page: at most these many, fewer when each variant's
/// `inventoryLevels` page is large (see [`variant_pages`]).
const LIST_VARIANTS: u64 = 10;
const ONE_VARIANTS: u64 = 100;
/// The most locations one item's `inventoryLevels` page asks for.
const MAX_LEVELS: u64 = 50;
/// How long the shop's locations are kept.
pub(crate) const LOCATIONS_TTL: Duration = Duration::from_secs(60);
const MEDIA: u64 = 10;
const COLLECTIONS: u64 = 10;
const LIST_ADDRESSES: u64 = 10;
const ONE_ADDRESSES: u64 = 50;
/// Longest Shopify message passed on to clients.
const MAX_MESSAGE_CHARS: usize = 300;
/// The webhook topics behind the seven unified event types (see `crate::inbound`).
pub(crate) const WEBHOOK_TOPICS: [&str; 7] = [
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "PRODUCTS_CREATE",
    "PRODUCTS_UPDATE",
    "PRODUCTS_DELETE",
    "CUSTOMERS_CREATE",
    "CUSTOMERS_UPDATE",
];

pub(crate) struct Session {
    upstream: Upstream,
    gate: StoreGate,
    version: ApiVersion,
    /// `{endpoint or https://{shop}}/admin/api/{version}/graphql.json`.
    url: Url,
    token: HeaderValue,
    /// The pacer key: `shopify:<shop>` (plus the endpoint when one is given, so two
    /// sandboxes with the same demo shop do not share a budget).
    pace_key: String,
    quota: Mutex<Quota>,
    /// Shopify's `requestedQueryCost` by (operation, our estimate for the sizes asked).
    learned: Mutex<HashMap<(String, u64), f64>>,
    currency: OnceCell<Option<String>>,
    weight_unit: OnceCell<Option<WeightUnit>>,
    location: OnceCell<String>,
    /// The `locations` nodes and when they were read.
    locations: Mutex<Option<(Instant, Vec<Value>)>>,
}

/// The outcome of one GraphQL call that Shopify answered.
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Session {
    pub(crate) fn new(
        upstream: Upstream,
        version: &ApiVersion,
        shop: &str,
        token: &str,
        endpoint: Option<&str>,
    ) -> Result<Self> {
        let base = match endpoint {
            Some(e) => e.trim_end_matches('/').to_owned(),
            None => format!("https://{shop}"),
        };
        let url = Url::parse(&format!("{base}{}", version.path()))
            .map_err(|e| ConnectorError::Validation(format!("invalid Shopify API address: {e}")))?;
        upstream.check_url(&url)?;
        let mut token = HeaderValue::from_str(token).map_err(|_| {
            ConnectorError::Validation("the access token has invalid characters".into())
        })?;
        token.set_sensitive(true);
        let pace_key = match endpoint {
            Some(e) => format!("shopify:{shop}@{}", e.trim_end_matches('/')),
            None => format!("shopify:{shop}"),
        };
        Ok(Session {
            gate: upstream.gate(),
            upstream,
            version: version.clone(),
            url,
            token,
            pace_key,
            quota: Mutex::new(DEFAULT_QUOTA),
            learned: Mutex::default(),
            currency: OnceCell::new(),
            weight_unit: OnceCell::new(),
            location: OnceCell::new(),
            locations: Mutex::new(None),
        })
    }

    fn quota(&self) -> Quota {
        *self.quota.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn estimate(&self, op: &str, ours: u64) -> f64 {
        self.learned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(op.to_owned(), ours))
            .copied()
            .unwrap_or(ours as f64)
    }

    /// Sends one GraphQL body with pacing and THROTTLED recovery. Answers whatever else
    /// Shopify said (the caller interprets statuses and errors).
    async fn send(
        &self,
        cx: &CallContext,
        body: &Value,
        op: &str,
        ours: u64,
        mutation: bool,
    ) -> Result<Answer> {
        let started = Instant::now();
        let max_wait = self.upstream.config().max_retry_wait;
        let pacer = self.upstream.pacer().clone();
        let key = self.pace_key.as_str();
        loop {
            let quota = self.quota();
            let reserved = self.estimate(op, ours).min(quota.burst);
            // Within the upstream's wait budget and the request's deadline.
            let budget = max_wait
                .max(Duration::from_secs(1))
                .saturating_sub(started.elapsed());
            pace::take_turn(pacer.as_ref(), cx, key, reserved, quota, budget).await?;
            let mut spec = RequestSpec::new(Method::POST, self.url.clone())
                .header(
                    HeaderName::from_static("x-shopify-access-token"),
                    self.token.clone(),
                )
                .header(
                    http::header::ACCEPT,
                    HeaderValue::from_static("application/json"),
                )
                .json(body);
            spec.idempotent = !mutation;
            let resp = match self.upstream.send(cx, &self.gate, spec).await {
                Ok(r) => r,
                Err(e) => {
                    pacer.refund(key, reserved, quota).await?;
                    return Err(e);
                }
            };
            let status = resp.status;
            let parsed: Option<Value> = serde_json::from_slice(&resp.body).ok();
            let cost = parsed.as_ref().and_then(|b| b.pointer("/extensions/cost"));
            let throttled = parsed.as_ref().is_some_and(is_throttled);
            match cost {
                Some(c) => {
                    // Shopify's bucket size and restore rate; `observe` below hands them to
                    // the pacer, which keeps its level in points across quota changes.
                    let quota = self.adopt(c);
                    let requested = c.get("requestedQueryCost").and_then(Value::as_f64);
                    if let Some(r) = requested {
                        self.learned
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert((op.to_owned(), ours), r);
                    }
                    // A throttled query charged nothing; otherwise the bucket keeps the
                    // actual cost.
                    let charged = if throttled {
                        0.0
                    } else {
                        c.get("actualQueryCost")
                            .and_then(Value::as_f64)
                            .or(requested)
                            .unwrap_or(reserved)
                    };
                    pacer
                        .refund(key, (reserved - charged).max(0.0), quota)
                        .await?;
                    if let Some(avail) = c
                        .pointer("/throttleStatus/currentlyAvailable")
                        .and_then(Value::as_f64)
                    {
                        pacer.observe(key, avail, quota).await?;
                    }
                }
                None if !status.is_success() || throttled => {
                    pacer.refund(key, reserved, quota).await?;
                }
                None => {}
            }
            if throttled {
                let quota = self.quota();
                let need = self.estimate(op, ours).min(quota.burst);
                let avail = cost
                    .and_then(|c| c.pointer("/throttleStatus/currentlyAvailable"))
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                let eta = Duration::from_secs_f64(
                    ((need - avail).max(0.0) / quota.rate_per_sec.max(1e-3)).min(3600.0),
                );
                if started.elapsed() + eta > max_wait.max(Duration::from_secs(1)) {
                    return Err(ConnectorError::RateLimited {
                        retry_after: Some(eta),
                    });
                }
                tracing::debug!(?eta, "Shopify throttled a call; waiting for the bucket");
                continue;
            }
            return Ok(Answer {
                status,
                body: parsed.unwrap_or(Value::Null),
            });
        }
    }

    /// Takes Shopify's bucket size and restore rate as the quota.
    fn adopt(&self, cost: &Value) -> Quota {
        let mut quota = self.quota.lock().unwrap_or_else(|e| e.into_inner());
        let ts = cost.get("throttleStatus");
        let max = ts
            .and_then(|t| t.get("maximumAvailable"))
            .and_then(Value::as_f64);
        let rate = ts
            .and_then(|t| t.get("restoreRate"))
            .and_then(Value::as_f64);
        if let (Some(max), Some(rate)) = (max, rate) {
            if max > 0.0 && rate > 0.0 && max.is_finite() && rate.is_finite() {
                *quota = Quota {
                    rate_per_sec: rate,
                    burst: max,
                };
            }
        }
        *quota
    }

    /// Runs one of our documents and answers its `data`, with Shopify's errors mapped.
    async fn gql(&self, cx: &CallContext, op: &str, doc: &str, vars: Value) -> Result<Value> {
        let costed = cost::Costed::parse(doc, Some(op))
            .map_err(|e| ConnectorError::upstream(None, format!("bad built-in query {op}: {e}")))?;
        let ours = costed.requested(&vars).unwrap_or(MAX_QUERY_COST);
        let once = sent_once(costed.is_mutation(), doc);
        let body = json!({"query": doc, "operationName": op, "variables": vars});
        let answer = self.send(cx, &body, op, ours, once).await?;
        check_status(answer.status, &answer.body, &self.version)?;
        if let Some(errors) = answer.body.get("errors") {
            return Err(graphql_error(errors));
        }
        match answer.body.get("data") {
            Some(d) if d.is_object() => Ok(d.clone()),
            _ => Err(ConnectorError::bad_body("GraphQL answer", "no data")),
        }
    }

    /// The largest `first` for a list document that keeps the query under the single
    /// query cost limit.
    fn page_size(op: &str, doc: &str, vars: &Value, want: u32) -> u32 {
        let mut one = vars.clone();
        one["first"] = json!(1);
        let per_node = cost::requested(doc, Some(op), &one)
            .unwrap_or(MAX_QUERY_COST)
            .saturating_sub(2)
            .max(1);
        let fits = ((MAX_QUERY_COST - 2) / per_node).clamp(1, 250) as u32;
        want.clamp(1, fits)
    }

    /// A cursor walk of `limit` nodes of the connection at `field`, from the paging state.
    /// `more(node)` says whether a node was cut short and must be read again on its own.
    async fn list_nodes(
        &self,
        cx: &CallContext,
        op: &str,
        doc: &str,
        field: &str,
        vars: Value,
        p: &ListParams,
    ) -> Result<(Vec<Value>, Option<Value>)> {
        let mut after = paging_after(p.state.as_ref())?;
        let limit = p.limit.clamp(1, cartgate_connector::page::MAX_LIMIT);
        let mut items: Vec<Value> = Vec::new();
        loop {
            let want = limit - items.len() as u32;
            let mut v = vars.clone();
            v["first"] = json!(Self::page_size(op, doc, &vars, want));
            v["after"] = after.clone().map_or(Value::Null, Value::String);
            let data = self.gql(cx, op, doc, v).await?;
            let conn = data.get(field).cloned().unwrap_or(Value::Null);
            let nodes = match conn.get("nodes") {
                Some(Value::Array(a)) => a.clone(),
                _ => return Err(ConnectorError::bad_body("connection", "no nodes")),
            };
            let has_next = conn
                .pointer("/pageInfo/hasNextPage")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let end = conn
                .pointer("/pageInfo/endCursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let empty = nodes.is_empty();
            items.extend(nodes);
            if !has_next || end.is_none() || empty {
                return Ok((items, None));
            }
            after = end;
            if items.len() as u32 >= limit {
                return Ok((items, after.map(|a| json!({ "after": a }))));
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Shop data
    // -----------------------------------------------------------------------------------

    async fn shop(&self, cx: &CallContext) -> Result<Value> {
        let data = self.gql(cx, "CartgateShop", q::SHOP, json!({})).await?;
        let shop = data.get("shop").cloned().unwrap_or(Value::Null);
        let currency = non_empty(shop.get("currencyCode").and_then(Value::as_str));
        let _ = self.currency.set(currency);
        let unit = shop
            .get("weightUnit")
            .and_then(Value::as_str)
            .and_then(mapping::weight_unit);
        let _ = self.weight_unit.set(unit);
        Ok(shop)
    }

    /// The unit the shop weighs in (new weights are written in it).
    async fn shop_weight_unit(&self, cx: &CallContext) -> Result<Option<WeightUnit>> {
        if let Some(u) = self.weight_unit.get() {
            return Ok(*u);
        }
        self.shop(cx).await?;
        Ok(self.weight_unit.get().copied().flatten())
    }

    /// The shop's `locations` nodes: read again when `fresh` or older than
    /// [`LOCATIONS_TTL`].
    async fn locations_raw(&self, cx: &CallContext, fresh: bool) -> Result<Vec<Value>> {
        if !fresh {
            let kept = self.locations.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, nodes)) = kept.as_ref() {
                if at.elapsed() < LOCATIONS_TTL {
                    return Ok(nodes.clone());
                }
            }
        }
        let data = self
            .gql(cx, "CartgateLocations", q::LOCATIONS, json!({}))
            .await?;
        let nodes = data
            .pointer("/locations/nodes")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| ConnectorError::bad_body("locations", "no nodes"))?;
        *self.locations.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), nodes.clone()));
        Ok(nodes)
    }

    /// The size of one item's `inventoryLevels` page: every location of the shop (at
    /// most [`MAX_LEVELS`]).
    async fn levels(&self, cx: &CallContext) -> Result<u64> {
        let n = self.locations_raw(cx, false).await?.len() as u64;
        Ok(n.clamp(1, MAX_LEVELS))
    }

    /// The global ids of `location_ids` (unified ids), each a location of the shop.
    async fn location_gids(&self, cx: &CallContext, location_ids: &[&str]) -> Result<Vec<String>> {
        let mut known: HashSet<String> = self
            .locations_raw(cx, false)
            .await?
            .iter()
            .filter_map(|l| l.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        if location_ids
            .iter()
            .any(|id| !known.contains(&format!("gid://shopify/Location/{id}")))
        {
            // Maybe a location added since: ask once more before refusing.
            known = self
                .locations_raw(cx, true)
                .await?
                .iter()
                .filter_map(|l| l.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect();
        }
        location_ids
            .iter()
            .map(|id| {
                let gid = format!("gid://shopify/Location/{id}");
                if mapping::is_numeric_id(id) && known.contains(&gid) {
                    Ok(gid)
                } else {
                    Err(ConnectorError::Validation(format!(
                        "the shop has no location {:?} (see GET …/locations)",
                        short(id)
                    )))
                }
            })
            .collect()
    }

    async fn currency(&self, cx: &CallContext) -> Result<Option<String>> {
        if let Some(c) = self.currency.get() {
            return Ok(c.clone());
        }
        self.shop(cx).await?;
        Ok(self.currency.get().cloned().flatten())
    }

    async fn primary_location(&self, cx: &CallContext) -> Result<String> {
        self.location
            .get_or_try_init(|| async {
                let data = self
                    .gql(
                        cx,
                        "CartgatePrimaryLocation",
                        q::PRIMARY_LOCATION,
                        json!({}),
                    )
                    .await?;
                non_empty(data.pointer("/location/id").and_then(Value::as_str)).ok_or_else(|| {
                    ConnectorError::Validation(
                        "the shop has no primary location to keep quantities at".into(),
                    )
                })
            })
            .await
            .cloned()
    }

    // -----------------------------------------------------------------------------------
    // Orders
    // -----------------------------------------------------------------------------------

    /// One order node with every line item (followed page by page).
    async fn order_raw(&self, cx: &CallContext, id: &str) -> Result<Value> {
        let gid = gid("Order", id)?;
        let data = self
            .gql(cx, "CartgateOrder", q::ORDER, order_vars(&gid))
            .await?;
        let mut node = found(data.get("order"), "order")?;
        self.more_line_items(cx, &gid, &mut node).await?;
        Ok(node)
    }

    async fn more_line_items(&self, cx: &CallContext, gid: &str, node: &mut Value) -> Result<()> {
        let mut guard = 0;
        while node
            .pointer("/lineItems/pageInfo/hasNextPage")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            guard += 1;
            let after = node.pointer("/lineItems/pageInfo/endCursor").cloned();
            if guard > 100 || after.as_ref().is_none_or(Value::is_null) {
                break;
            }
            let data = self
                .gql(
                    cx,
                    "CartgateOrderLineItems",
                    q::ORDER_LINE_ITEMS,
                    json!({"id": gid, "after": after, "lineItems": MORE_LINE_ITEMS}),
                )
                .await?;
            let page = data
                .pointer("/order/lineItems")
                .cloned()
                .unwrap_or(Value::Null);
            let more = page
                .get("nodes")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(Value::Array(n)) = node.pointer_mut("/lineItems/nodes") {
                n.extend(more);
            }
            if let Some(pi) = node.pointer_mut("/lineItems/pageInfo") {
                *pi = page
                    .get("pageInfo")
                    .cloned()
                    .unwrap_or(json!({"hasNextPage": false}));
            }
        }
        Ok(())
    }

    fn order_from(&self, cx: &CallContext, raw: Value) -> Result<Order> {
        Ok(cx.keep_raw(mapping::order(&raw)?, raw))
    }

    // -----------------------------------------------------------------------------------
    // Products
    // -----------------------------------------------------------------------------------

    /// One product node with every variant (followed page by page).
    async fn product_raw(&self, cx: &CallContext, id: &str) -> Result<Value> {
        let gid = gid("Product", id)?;
        let levels = self.levels(cx).await?;
        let (_, variants) = variant_pages(levels);
        let data = self
            .gql(
                cx,
                "CartgateProduct",
                q::PRODUCT,
                json!({"id": gid, "media": MEDIA, "collections": COLLECTIONS, "variants": variants, "levels": levels}),
            )
            .await?;
        let mut node = found(data.get("product"), "product")?;
        let mut guard = 0;
        while has_next(&node, "/variants/pageInfo/hasNextPage") {
            guard += 1;
            let after = node.pointer("/variants/pageInfo/endCursor").cloned();
            if guard > 100 || after.as_ref().is_none_or(Value::is_null) {
                break;
            }
            let data = self
                .gql(
                    cx,
                    "CartgateProductVariants",
                    q::PRODUCT_VARIANTS,
                    json!({"id": gid, "after": after, "variants": variants, "levels": levels}),
                )
                .await?;
            let page = data
                .pointer("/product/variants")
                .cloned()
                .unwrap_or(Value::Null);
            let more = page
                .get("nodes")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(Value::Array(n)) = node.pointer_mut("/variants/nodes") {
                n.extend(more);
            }
            if let Some(pi) = node.pointer_mut("/variants/pageInfo") {
                *pi = page
                    .get("pageInfo")
                    .cloned()
                    .unwrap_or(json!({"hasNextPage": false}));
            }
        }
        Ok(node)
    }

    async fn product_from(&self, cx: &CallContext, raw: Value) -> Result<Product> {
        let currency = self.currency(cx).await?;
        Ok(cx.keep_raw(mapping::product(&raw, currency.as_deref())?, raw))
    }

    /// Writes one variant node of `product`: price, barcode, sku and weight in one bulk
    /// variant update; then `quantity` (the total over all locations becomes it, the
    /// difference adjusted at the primary location) or `levels` (each location named is
    /// brought to its quantity by its difference), both as `available` changes that apply
    /// on top of concurrent sales. Everything that can be refused is checked before the
    /// first write.
    async fn write_variant(
        &self,
        cx: &CallContext,
        product_gid: &str,
        variant: &Value,
        w: &VariantWrite<'_>,
    ) -> Result<()> {
        let vgid = variant
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ConnectorError::bad_body("variant", "no id"))?;
        let item = variant
            .pointer("/inventoryItem/id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let levels = match w.levels {
            Some(levels) => {
                let ids: Vec<&str> = levels.iter().map(|l| l.location_id.as_str()).collect();
                let gids = self.location_gids(cx, &ids).await?;
                let wanted: Vec<(String, i64)> = gids
                    .into_iter()
                    .zip(levels.iter().map(|l| l.available))
                    .collect();
                let current = current_levels(variant);
                let item = item
                    .as_deref()
                    .ok_or_else(|| ConnectorError::bad_body("variant", "no inventory item"))?;
                mapping::inventory_levels_input(item, &current, &wanted)?
            }
            None => None,
        };
        let quantity = match w.quantity {
            Some(qty) => {
                let item = item
                    .as_deref()
                    .ok_or_else(|| ConnectorError::bad_body("variant", "no inventory item"))?;
                let total = variant
                    .get("inventoryQuantity")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let location = self.primary_location(cx).await?;
                mapping::inventory_adjust_input(item, &location, total, qty)?
            }
            None => None,
        };
        let weight = match w.weight {
            Some(wt) => {
                let current = variant
                    .pointer("/inventoryItem/measurement/weight/unit")
                    .and_then(Value::as_str)
                    .and_then(mapping::weight_unit);
                let shop = if current.is_none() {
                    self.shop_weight_unit(cx).await?
                } else {
                    None
                };
                Some(mapping::weight_to_write(wt, current, shop)?)
            }
            None => None,
        };
        let untracked = variant
            .pointer("/inventoryItem/tracked")
            .and_then(Value::as_bool)
            == Some(false);
        let change = mapping::VariantChange {
            price: w.price,
            sku: w.sku,
            barcode: w.barcode,
            weight,
            track: (w.quantity.is_some() || w.levels.is_some()) && untracked,
        };
        if let Some(input) = mapping::variant_input(vgid, &change)? {
            let data = self
                .gql(
                    cx,
                    "CartgateVariantsBulkUpdate",
                    q::VARIANTS_BULK_UPDATE,
                    json!({"productId": product_gid, "variants": [input]}),
                )
                .await?;
            user_errors(&data, "/productVariantsBulkUpdate/userErrors")?;
        }
        for input in [quantity, levels].into_iter().flatten() {
            let data = self
                .gql(
                    cx,
                    "CartgateInventoryAdjust",
                    q::INVENTORY_ADJUST,
                    json!({"input": input, "idempotencyKey": uuid::Uuid::new_v4().to_string()}),
                )
                .await?;
            user_errors(&data, "/inventoryAdjustQuantities/userErrors")?;
        }
        Ok(())
    }

    async fn customer_from(&self, cx: &CallContext, raw: Value) -> Result<Customer> {
        Ok(cx.keep_raw(mapping::customer(&raw)?, raw))
    }

    fn category_from(&self, cx: &CallContext, raw: Value) -> Result<Category> {
        Ok(cx.keep_raw(mapping::category(&raw)?, raw))
    }

    /// Subscribes `callback` to one topic; a subscription of the same topic and callback
    /// that already exists (an earlier registration that was not removed) is reused.
    async fn register_webhook(
        &self,
        cx: &CallContext,
        topic: &str,
        callback: &Url,
    ) -> Result<String> {
        let data = self
            .gql(
                cx,
                "CartgateWebhookCreate",
                q::WEBHOOK_CREATE,
                json!({"topic": topic, "webhookSubscription": {"callbackUrl": callback.as_str(), "format": "JSON"}}),
            )
            .await?;
        let taken = data
            .pointer("/webhookSubscriptionCreate/userErrors")
            .and_then(Value::as_array)
            .is_some_and(|errs| {
                errs.iter().any(|e| {
                    e.get("message")
                        .and_then(Value::as_str)
                        .is_some_and(|m| m.contains("already been taken"))
                })
            });
        if taken {
            let found = self
                .gql(
                    cx,
                    "CartgateWebhooks",
                    q::WEBHOOKS,
                    json!({"callbackUrl": callback.as_str(), "topics": [topic]}),
                )
                .await?;
            let existing = found
                .pointer("/webhookSubscriptions/nodes")
                .and_then(Value::as_array)
                .and_then(|nodes| {
                    nodes
                        .iter()
                        .find(|n| n.get("topic").and_then(Value::as_str) == Some(topic))
                })
                .and_then(|n| n.get("id"))
                .and_then(Value::as_str);
            if let Some(id) = existing {
                return Ok(id.to_owned());
            }
        }
        user_errors(&data, "/webhookSubscriptionCreate/userErrors")?;
        data.pointer("/webhookSubscriptionCreate/webhookSubscription/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ConnectorError::bad_body("webhook subscription", "no id"))
    }

    async fn count(
        &self,
        cx: &CallContext,
        op: &str,
        doc: &str,
        field: &str,
        query: Option<String>,
    ) -> Result<u64> {
        let data = self.gql(cx, op, doc, json!({ "query": query })).await?;
        data.pointer(&format!("/{field}/count"))
            .and_then(Value::as_u64)
            .ok_or_else(|| ConnectorError::bad_body("count", "no count"))
    }
}

// ---------------------------------------------------------------------------------------
// Free helpers
// ---------------------------------------------------------------------------------------

/// What a product or variant write changes on one variant.
#[derive(Debug, Default, PartialEq)]
struct VariantWrite<'a> {
    price: Option<&'a str>,
    sku: Option<&'a str>,
    barcode: Option<&'a str>,
    weight: Option<&'a Weight>,
    quantity: Option<i64>,
    levels: Option<&'a [InventoryLevel]>,
}

/// Shopify keeps no product dimensions: such a write is refused, never ignored.
fn no_dimensions() -> ConnectorError {
    ConnectorError::Unsupported(
        "Shopify keeps no product dimensions (only a weight per variant): dimensions cannot be written".into(),
    )
}

/// The `available` quantity per location (global id) of a variant node, as read.
fn current_levels(variant: &Value) -> Vec<(String, i64)> {
    variant
        .pointer("/inventoryItem/inventoryLevels/nodes")
        .and_then(Value::as_array)
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|l| {
                    let loc = l.pointer("/location/id")?.as_str()?.to_owned();
                    let q = l
                        .get("quantities")?
                        .as_array()?
                        .iter()
                        .find(|q| q.get("name").and_then(Value::as_str) == Some("available"))?
                        .get("quantity")?
                        .as_i64()?;
                    Some((loc, q))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a document may be sent only once: a mutation, unless it carries an idempotency
/// key (`@idempotent`), with which Shopify applies it once however often it arrives, so
/// transient failures are retried like queries.
fn sent_once(mutation: bool, doc: &str) -> bool {
    mutation && !doc.contains("@idempotent(")
}

fn is_throttled(body: &Value) -> bool {
    body.get("errors")
        .and_then(Value::as_array)
        .is_some_and(|errs| {
            errs.iter()
                .any(|e| e.pointer("/extensions/code").and_then(Value::as_str) == Some("THROTTLED"))
        })
}

fn short(m: &str) -> String {
    m.chars().take(MAX_MESSAGE_CHARS).collect()
}

/// HTTP statuses of the GraphQL endpoint. Bodies are never echoed except Shopify's own
/// short messages.
fn check_status(status: StatusCode, body: &Value, version: &ApiVersion) -> Result<()> {
    if status.is_success() {
        return Ok(());
    }
    match status {
        StatusCode::UNAUTHORIZED => Err(ConnectorError::AuthFailed(
            "Shopify refused the access token".into(),
        )),
        // 403: the app lacks a scope or the merchant restricted it; the token is valid.
        StatusCode::FORBIDDEN => Err(ConnectorError::PermissionDenied(format!(
            "Shopify refused this to the access token (missing access scope?): {}",
            body.get("errors")
                .map(|e| match e {
                    Value::String(s) => short(s),
                    other => short(&other.to_string()),
                })
                .unwrap_or_else(|| "no reason given".into())
        ))),
        StatusCode::NOT_FOUND => Err(ConnectorError::Validation(format!(
            "no Shopify Admin API ({version}) at this address: check the shop domain"
        ))),
        StatusCode::PAYMENT_REQUIRED | StatusCode::LOCKED => Err(ConnectorError::Unavailable(
            "the shop is frozen or locked by Shopify".into(),
        )),
        StatusCode::BAD_REQUEST => Err(ConnectorError::Validation(format!(
            "Shopify rejected the request: {}",
            body.get("errors")
                .map(|e| match e {
                    Value::String(s) => short(s),
                    other => short(&other.to_string()),
                })
                .unwrap_or_else(|| "no reason given".into())
        ))),
        s => Err(ConnectorError::upstream(
            Some(s.as_u16()),
            format!("Shopify answered {s}"),
        )),
    }
}

/// Top-level GraphQL `errors` of an answer with HTTP 200.
fn graphql_error(errors: &Value) -> ConnectorError {
    let first = errors.as_array().and_then(|a| a.first());
    let message = first
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(short)
        .unwrap_or_else(|| "no message".into());
    let code = first
        .and_then(|e| e.pointer("/extensions/code"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match code {
        "ACCESS_DENIED" => {
            let required = first
                .and_then(|e| e.pointer("/extensions/requiredAccess"))
                .and_then(Value::as_str)
                .map(|r| format!(" (required: {})", short(r)))
                .unwrap_or_default();
            ConnectorError::PermissionDenied(format!(
                "the Shopify access token may not do this: {message}{required}"
            ))
        }
        "MAX_COST_EXCEEDED" => {
            ConnectorError::upstream(None, format!("query too costly: {message}"))
        }
        "INTERNAL_SERVER_ERROR" => {
            ConnectorError::Unavailable(format!("Shopify failed: {message}"))
        }
        "BAD_USER_INPUT" | "argumentLiteralsIncompatible" => {
            ConnectorError::Validation(format!("Shopify rejected the request: {message}"))
        }
        _ if message.contains("Invalid global id") => {
            ConnectorError::NotFound("Shopify has no such object".into())
        }
        _ => ConnectorError::upstream(None, format!("Shopify answered an error: {message}")),
    }
}

/// A mutation's `userErrors` as one validation error: `field: message; …`.
fn user_errors(data: &Value, ptr: &str) -> Result<()> {
    let errs = data.pointer(ptr).and_then(Value::as_array);
    let Some(errs) = errs.filter(|e| !e.is_empty()) else {
        return Ok(());
    };
    let text: Vec<String> = errs
        .iter()
        .map(|e| {
            let msg = e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("invalid");
            let field = e
                .get("field")
                .and_then(Value::as_array)
                .map(|f| {
                    f.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .filter(|f| !f.is_empty());
            match field {
                Some(f) => format!("{f}: {msg}"),
                None => msg.to_owned(),
            }
        })
        .collect();
    Err(ConnectorError::Validation(format!(
        "Shopify rejected the change: {}",
        short(&text.join("; "))
    )))
}

/// A single-object field: null is not found.
fn found(v: Option<&Value>, what: &str) -> Result<Value> {
    match v {
        Some(v) if v.is_object() => Ok(v.clone()),
        _ => Err(ConnectorError::NotFound(format!(
            "Shopify has no such {what}"
        ))),
    }
}

fn paging_after(state: Option<&Value>) -> Result<Option<String>> {
    match state {
        None => Ok(None),
        Some(s) => match s.get("after") {
            Some(Value::String(a)) if !a.is_empty() => Ok(Some(a.clone())),
            _ => Err(ConnectorError::Validation(
                "the cursor does not belong to this list".into(),
            )),
        },
    }
}

/// The variables of the one-order document (also what `examples/order_request.rs`
/// prints).
pub fn order_vars(gid: &str) -> Value {
    json!({
        "id": gid, "lineItems": ONE_LINE_ITEMS, "fulfillments": ONE_FULFILLMENTS,
        "shippingLines": ONE_SHIPPING_LINES, "transactions": ONE_TRANSACTIONS,
        "refunds": ONE_REFUNDS, "refundLines": ONE_REFUND_LINES,
    })
}

fn has_next(v: &Value, ptr: &str) -> bool {
    v.pointer(ptr).and_then(Value::as_bool).unwrap_or(false)
}

/// `v[field]` is a list of at least `n` (maybe cut at `n`).
fn full(v: &Value, field: &str, n: u64) -> bool {
    v.get(field)
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() as u64 >= n)
}

/// A list node one of whose nested lists did not all fit: read again on its own, so a
/// list answers what a single read does.
fn order_cut_short(node: &Value) -> bool {
    has_next(node, "/lineItems/pageInfo/hasNextPage")
        || has_next(node, "/shippingLines/pageInfo/hasNextPage")
        || full(node, "fulfillments", LIST_FULFILLMENTS)
        || full(node, "transactions", LIST_TRANSACTIONS)
        || full(node, "refunds", LIST_REFUNDS)
        || node
            .get("refunds")
            .and_then(Value::as_array)
            .is_some_and(|rs| {
                rs.iter()
                    .any(|r| has_next(r, "/refundLineItems/pageInfo/hasNextPage"))
            })
}

fn product_cut_short(node: &Value) -> bool {
    has_next(node, "/variants/pageInfo/hasNextPage")
}

/// Variants per page in a list and for one product, given the size of each variant's
/// `inventoryLevels` page: a variant costs 7 + 3 per location asked (its options,
/// inventory item, weight and levels), and a page must stay well under the single-query
/// cost limit.
fn variant_pages(levels: u64) -> (u64, u64) {
    let per = 7 + 3 * levels;
    (
        (400 / per).clamp(1, LIST_VARIANTS),
        (800 / per).clamp(1, ONE_VARIANTS),
    )
}

fn customer_cut_short(node: &Value) -> bool {
    node.get("addresses")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() as u64 >= LIST_ADDRESSES)
}

/// The proxy accepts exactly the GraphQL endpoint.
fn proxy_body(r: &ProxyRequest, version: &ApiVersion) -> Result<Value> {
    if !r.method.eq_ignore_ascii_case("POST") {
        return Err(ConnectorError::Validation(
            "the Shopify proxy takes POST /graphql.json only".into(),
        ));
    }
    if r.path.trim_end_matches('/') != "/graphql.json" {
        return Err(ConnectorError::Validation(format!(
            "the Shopify proxy takes POST /graphql.json only (relative to /admin/api/{version})"
        )));
    }
    if !r.query.is_empty() {
        return Err(ConnectorError::Validation(
            "the Shopify proxy takes no query parameters".into(),
        ));
    }
    let body = r.body.clone().unwrap_or(Value::Null);
    let query = body.get("query").and_then(Value::as_str);
    if query.is_none_or(|q| q.trim().is_empty()) {
        return Err(ConnectorError::Validation(
            "the proxy body must be {\"query\": \"…\", \"variables\": {…}}".into(),
        ));
    }
    let mut out = serde_json::Map::new();
    for k in ["query", "variables", "operationName"] {
        if let Some(v) = body.get(k).filter(|v| !v.is_null()) {
            out.insert(k.into(), v.clone());
        }
    }
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------------------
// The session
// ---------------------------------------------------------------------------------------

#[async_trait]
impl StoreSession for Session {
    async fn info(&self, cx: &CallContext) -> Result<StoreInfo> {
        let shop = self.shop(cx).await?;
        Ok(mapping::store_info(&shop, &self.version))
    }

    async fn list_orders(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Order>> {
        let query = mapping::orders_query(&p.filters)?;
        let vars = json!({
            "query": query, "lineItems": LIST_LINE_ITEMS, "fulfillments": LIST_FULFILLMENTS,
            "shippingLines": LIST_SHIPPING_LINES, "transactions": LIST_TRANSACTIONS,
            "refunds": LIST_REFUNDS, "refundLines": LIST_REFUND_LINES,
        });
        let (raw, next) = self
            .list_nodes(cx, "CartgateOrders", q::ORDERS, "orders", vars, p)
            .await?;
        let mut items = Vec::with_capacity(raw.len());
        for node in raw {
            let node = if order_cut_short(&node) {
                let id = mapping::gid_tail(node.get("id").and_then(Value::as_str).unwrap_or(""))
                    .ok_or_else(|| ConnectorError::bad_body("order", "no id"))?;
                self.order_raw(cx, &id).await?
            } else {
                node
            };
            items.push(self.order_from(cx, node)?);
        }
        Ok(Page { items, next })
    }

    async fn count_orders(&self, cx: &CallContext, f: &Filters) -> Result<u64> {
        let query = mapping::orders_query(f)?;
        self.count(
            cx,
            "CartgateOrdersCount",
            q::ORDERS_COUNT,
            "ordersCount",
            query,
        )
        .await
    }

    async fn get_order(&self, cx: &CallContext, id: &str) -> Result<Order> {
        let raw = self.order_raw(cx, id).await?;
        self.order_from(cx, raw)
    }

    async fn create_shipment(
        &self,
        cx: &CallContext,
        order_id: &str,
        s: &NewShipment,
    ) -> Result<Order> {
        s.validate()?;
        let ogid = gid("Order", order_id)?;
        let data = self
            .gql(
                cx,
                "CartgateFulfillmentOrders",
                q::FULFILLMENT_ORDERS,
                json!({"id": ogid}),
            )
            .await?;
        let order = found(data.get("order"), "order")?;
        let input = mapping::fulfillment_input(&order, s)?;
        let data = self
            .gql(
                cx,
                "CartgateFulfillmentCreate",
                q::FULFILLMENT_CREATE,
                json!({"fulfillment": input}),
            )
            .await?;
        user_errors(&data, "/fulfillmentCreate/userErrors")?;
        self.get_order(cx, order_id).await
    }

    async fn list_products(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Product>> {
        let query = mapping::products_query(&p.filters)?;
        let levels = self.levels(cx).await?;
        let (variants, _) = variant_pages(levels);
        let vars = json!({"query": query, "media": MEDIA, "collections": COLLECTIONS, "variants": variants, "levels": levels});
        let (raw, next) = self
            .list_nodes(cx, "CartgateProducts", q::PRODUCTS, "products", vars, p)
            .await?;
        let mut items = Vec::with_capacity(raw.len());
        for node in raw {
            let node = if product_cut_short(&node) {
                let id = mapping::gid_tail(node.get("id").and_then(Value::as_str).unwrap_or(""))
                    .ok_or_else(|| ConnectorError::bad_body("product", "no id"))?;
                self.product_raw(cx, &id).await?
            } else {
                node
            };
            items.push(self.product_from(cx, node).await?);
        }
        Ok(Page { items, next })
    }

    async fn count_products(&self, cx: &CallContext, f: &Filters) -> Result<u64> {
        let query = mapping::products_query(f)?;
        self.count(
            cx,
            "CartgateProductsCount",
            q::PRODUCTS_COUNT,
            "productsCount",
            query,
        )
        .await
    }

    async fn get_product(&self, cx: &CallContext, id: &str) -> Result<Product> {
        let raw = self.product_raw(cx, id).await?;
        self.product_from(cx, raw).await
    }

    async fn create_product(&self, cx: &CallContext, p: &NewProduct) -> Result<Product> {
        let input = mapping::product_create_input(p)?;
        let data = self
            .gql(
                cx,
                "CartgateProductCreate",
                q::PRODUCT_CREATE,
                json!({"product": input}),
            )
            .await?;
        user_errors(&data, "/productCreate/userErrors")?;
        let product = found(data.pointer("/productCreate/product"), "product")?;
        let pgid = product
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ConnectorError::bad_body("product", "no id"))?
            .to_owned();
        let variant = product
            .pointer("/variants/nodes/0")
            .cloned()
            .ok_or_else(|| ConnectorError::bad_body("product", "no default variant"))?;
        // Shopify creates the default variant untracked; a quantity makes it tracked.
        let mut variant = variant;
        if variant.pointer("/inventoryItem/tracked").is_none() {
            if let Some(item) = variant.get_mut("inventoryItem") {
                item["tracked"] = json!(false);
            }
        }
        let sku = p.sku.as_deref().and_then(|s| non_empty(Some(s)));
        self.write_variant(
            cx,
            &pgid,
            &variant,
            &VariantWrite {
                price: p.price.as_deref(),
                sku: sku.as_deref(),
                quantity: p.quantity,
                ..Default::default()
            },
        )
        .await?;
        let id = mapping::gid_tail(&pgid)
            .ok_or_else(|| ConnectorError::bad_body("product", "bad id"))?;
        self.get_product(cx, &id).await
    }

    async fn update_product(
        &self,
        cx: &CallContext,
        id: &str,
        u: &ProductUpdate,
    ) -> Result<Product> {
        let pgid = gid("Product", id)?;
        if u.dimensions.is_some() {
            return Err(no_dimensions());
        }
        let write = VariantWrite {
            price: u.price.as_deref(),
            sku: u.sku.as_deref(),
            barcode: u.barcode.as_deref(),
            weight: u.weight.as_ref(),
            quantity: u.quantity,
            levels: u.inventory_levels.as_deref(),
        };
        let current = self.product_raw(cx, id).await?;
        let variants = current
            .pointer("/variants/nodes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if write != VariantWrite::default() && variants.len() != 1 {
            return Err(ConnectorError::Validation(format!(
                "this product has {} variants: set price, sku, barcode, weight and stock per variant (PATCH …/variants/{{variant_id}})",
                variants.len()
            )));
        }
        if let Some(input) = mapping::product_update_input(&pgid, u)? {
            let data = self
                .gql(
                    cx,
                    "CartgateProductUpdate",
                    q::PRODUCT_UPDATE,
                    json!({"product": input}),
                )
                .await?;
            user_errors(&data, "/productUpdate/userErrors")?;
        }
        if write != VariantWrite::default() {
            self.write_variant(cx, &pgid, &variants[0], &write).await?;
        }
        self.get_product(cx, id).await
    }

    async fn update_variant(
        &self,
        cx: &CallContext,
        product_id: &str,
        variant_id: &str,
        u: &VariantUpdate,
    ) -> Result<Product> {
        let pgid = gid("Product", product_id)?;
        let vgid = gid("ProductVariant", variant_id)?;
        if u.dimensions.is_some() {
            return Err(no_dimensions());
        }
        let current = self.product_raw(cx, product_id).await?;
        let variant = current
            .pointer("/variants/nodes")
            .and_then(Value::as_array)
            .and_then(|vs| {
                vs.iter()
                    .find(|v| v.get("id").and_then(Value::as_str) == Some(vgid.as_str()))
            })
            .cloned()
            .ok_or_else(|| {
                ConnectorError::NotFound("Shopify has no such variant of this product".into())
            })?;
        self.write_variant(
            cx,
            &pgid,
            &variant,
            &VariantWrite {
                price: u.price.as_deref(),
                sku: u.sku.as_deref(),
                barcode: u.barcode.as_deref(),
                weight: u.weight.as_ref(),
                quantity: u.quantity,
                levels: u.inventory_levels.as_deref(),
            },
        )
        .await?;
        self.get_product(cx, product_id).await
    }

    async fn list_customers(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Customer>> {
        let query = mapping::customers_query(&p.filters)?;
        let vars = json!({"query": query, "addresses": LIST_ADDRESSES});
        let (raw, next) = self
            .list_nodes(cx, "CartgateCustomers", q::CUSTOMERS, "customers", vars, p)
            .await?;
        let mut items = Vec::with_capacity(raw.len());
        for node in raw {
            if customer_cut_short(&node) {
                let id = mapping::gid_tail(node.get("id").and_then(Value::as_str).unwrap_or(""))
                    .ok_or_else(|| ConnectorError::bad_body("customer", "no id"))?;
                items.push(self.get_customer(cx, &id).await?);
            } else {
                items.push(self.customer_from(cx, node).await?);
            }
        }
        Ok(Page { items, next })
    }

    async fn count_customers(&self, cx: &CallContext, f: &Filters) -> Result<u64> {
        let query = mapping::customers_query(f)?;
        self.count(
            cx,
            "CartgateCustomersCount",
            q::CUSTOMERS_COUNT,
            "customersCount",
            query,
        )
        .await
    }

    async fn get_customer(&self, cx: &CallContext, id: &str) -> Result<Customer> {
        let gid = gid("Customer", id)?;
        let data = self
            .gql(
                cx,
                "CartgateCustomer",
                q::CUSTOMER,
                json!({"id": gid, "addresses": ONE_ADDRESSES}),
            )
            .await?;
        let raw = found(data.get("customer"), "customer")?;
        self.customer_from(cx, raw).await
    }

    async fn list_categories(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Category>> {
        crate::FILTERS.check("categories", &p.filters)?;
        let (raw, next) = self
            .list_nodes(
                cx,
                "CartgateCollections",
                q::COLLECTIONS,
                "collections",
                json!({}),
                p,
            )
            .await?;
        let items = raw
            .into_iter()
            .map(|r| self.category_from(cx, r))
            .collect::<Result<_>>()?;
        Ok(Page { items, next })
    }

    async fn get_category(&self, cx: &CallContext, id: &str) -> Result<Category> {
        let gid = gid("Collection", id)?;
        let data = self
            .gql(cx, "CartgateCollection", q::COLLECTION, json!({"id": gid}))
            .await?;
        let raw = found(data.get("collection"), "category")?;
        self.category_from(cx, raw)
    }

    /// Every location (`locations`, inactive and legacy ones included), read fresh.
    async fn list_locations(&self, cx: &CallContext) -> Result<Vec<Location>> {
        let nodes = self.locations_raw(cx, true).await?;
        Ok(nodes
            .iter()
            .filter_map(mapping::location)
            .take(cartgate_connector::connector::MAX_LOCATIONS)
            .collect())
    }

    /// One `webhookSubscriptionCreate` per topic of [`WEBHOOK_TOPICS`], JSON format.
    /// Shopify signs every webhook with the app's API secret key, so `secret` is unused.
    async fn register_webhooks(
        &self,
        cx: &CallContext,
        callback: &Url,
        _secret: &str,
    ) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(WEBHOOK_TOPICS.len());
        for topic in WEBHOOK_TOPICS {
            match self.register_webhook(cx, topic, callback).await {
                Ok(id) => ids.push(id),
                Err(e) => {
                    if let Err(undo) = self.unregister_webhooks(cx, &ids).await {
                        tracing::warn!(error = %undo, "could not remove the Shopify webhooks of a failed registration");
                    }
                    return Err(e);
                }
            }
        }
        Ok(ids)
    }

    async fn unregister_webhooks(&self, cx: &CallContext, ids: &[String]) -> Result<()> {
        for id in ids {
            if !id.starts_with("gid://shopify/WebhookSubscription/") {
                return Err(ConnectorError::Validation(format!(
                    "{:?} is not a Shopify webhook subscription id",
                    short(id)
                )));
            }
            let data = match self
                .gql(
                    cx,
                    "CartgateWebhookDelete",
                    q::WEBHOOK_DELETE,
                    json!({ "id": id }),
                )
                .await
            {
                // An id Shopify does not know (any more) is gone already.
                Err(ConnectorError::NotFound(_)) => continue,
                other => other?,
            };
            let missing = data
                .pointer("/webhookSubscriptionDelete/userErrors")
                .and_then(Value::as_array)
                .is_some_and(|errs| {
                    !errs.is_empty()
                        && errs.iter().all(|e| {
                            e.get("message")
                                .and_then(Value::as_str)
                                .is_some_and(|m| m.contains("does not exist"))
                        })
                });
            if !missing {
                user_errors(&data, "/webhookSubscriptionDelete/userErrors")?;
            }
        }
        Ok(())
    }

    async fn proxy(&self, cx: &CallContext, r: &ProxyRequest) -> Result<ProxyResponse> {
        let body = proxy_body(r, &self.version)?;
        let query = body.get("query").and_then(Value::as_str).unwrap_or("");
        let op = body.get("operationName").and_then(Value::as_str);
        let vars = body.get("variables").cloned().unwrap_or(json!({}));
        // Unparseable documents go through as they are: Shopify answers their errors.
        let (ours, mutation) = match cost::Costed::parse(query, op) {
            Ok(c) => (
                c.requested(&vars)
                    .unwrap_or(MAX_QUERY_COST)
                    .min(MAX_QUERY_COST),
                c.is_mutation(),
            ),
            Err(_) => (1, true),
        };
        let key = format!("proxy:{}", op.unwrap_or(""));
        let answer = self.send(cx, &body, &key, ours, mutation).await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            return Err(ConnectorError::AuthFailed(
                "Shopify refused the access token".into(),
            ));
        }
        Ok(ProxyResponse {
            status: answer.status.as_u16(),
            body: answer.body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_keep_queries_under_the_cost_limit() {
        let vars = json!({
            "lineItems": LIST_LINE_ITEMS, "fulfillments": LIST_FULFILLMENTS,
            "shippingLines": LIST_SHIPPING_LINES, "transactions": LIST_TRANSACTIONS,
            "refunds": LIST_REFUNDS, "refundLines": LIST_REFUND_LINES,
        });
        let n = Session::page_size("CartgateOrders", q::ORDERS, &vars, 250);
        assert!(n >= 3, "{n} orders per page");
        let mut v = vars.clone();
        v["first"] = json!(n);
        let cost = cost::requested(q::ORDERS, Some("CartgateOrders"), &v).unwrap();
        assert!(cost <= MAX_QUERY_COST, "{n} orders cost {cost}");
        v["first"] = json!(n + 1);
        assert!(cost::requested(q::ORDERS, Some("CartgateOrders"), &v).unwrap() > MAX_QUERY_COST);
        for levels in [1, 2, 10, MAX_LEVELS] {
            let (list, one) = variant_pages(levels);
            let v = json!({"media": MEDIA, "collections": COLLECTIONS, "variants": list, "levels": levels, "first": 1});
            let c = cost::requested(q::PRODUCTS, Some("CartgateProducts"), &v).unwrap();
            assert!(
                c <= 500,
                "a product of a list with {levels} levels costs {c}"
            );
            let v = json!({"media": MEDIA, "collections": COLLECTIONS, "variants": one, "levels": levels});
            let c = cost::requested(q::PRODUCT, Some("CartgateProduct"), &v).unwrap();
            assert!(
                c <= MAX_QUERY_COST,
                "one product with {levels} levels costs {c}"
            );
            let c =
                cost::requested(q::PRODUCT_VARIANTS, Some("CartgateProductVariants"), &v).unwrap();
            assert!(c <= MAX_QUERY_COST, "a page of variants costs {c}");
        }
        for (op, doc, vars) in [
            (
                "CartgateOrder",
                q::ORDER,
                order_vars("gid://shopify/Order/1"),
            ),
            (
                "CartgateOrderLineItems",
                q::ORDER_LINE_ITEMS,
                json!({"lineItems": MORE_LINE_ITEMS}),
            ),
            ("CartgateLocations", q::LOCATIONS, json!({})),
            (
                "CartgateCustomer",
                q::CUSTOMER,
                json!({"addresses": ONE_ADDRESSES}),
            ),
            (
                "CartgateFulfillmentOrders",
                q::FULFILLMENT_ORDERS,
                json!({}),
            ),
        ] {
            let c = cost::requested(doc, Some(op), &vars).unwrap();
            assert!(c <= MAX_QUERY_COST, "{op} costs {c}");
        }
    }

    #[test]
    fn only_keyed_mutations_are_sent_again() {
        for (op, doc, once) in [
            ("CartgateOrder", q::ORDER, false),
            ("CartgateInventoryAdjust", q::INVENTORY_ADJUST, false),
            ("CartgateVariantsBulkUpdate", q::VARIANTS_BULK_UPDATE, true),
            ("CartgateFulfillmentCreate", q::FULFILLMENT_CREATE, true),
        ] {
            let c = cost::Costed::parse(doc, Some(op)).unwrap();
            assert_eq!(sent_once(c.is_mutation(), doc), once, "{op}");
        }
    }

    #[test]
    fn proxy_only_takes_the_graphql_endpoint() {
        let ok = ProxyRequest {
            method: "post".into(),
            path: "/graphql.json".into(),
            query: Default::default(),
            body: Some(json!({"query": "{ shop { name } }"})),
        };
        assert!(proxy_body(&ok, &ApiVersion::default()).is_ok());
        for (m, p) in [
            ("GET", "/graphql.json"),
            ("POST", "/orders.json"),
            ("POST", "/../x"),
        ] {
            let r = ProxyRequest {
                method: m.into(),
                path: p.into(),
                ..ok.clone()
            };
            assert!(proxy_body(&r, &ApiVersion::default()).is_err(), "{m} {p}");
        }
        let r = ProxyRequest {
            body: None,
            ..ok.clone()
        };
        assert!(proxy_body(&r, &ApiVersion::default()).is_err());
    }

    #[test]
    fn errors_are_mapped() {
        assert!(matches!(
            graphql_error(
                &json!([{"message": "Access denied", "extensions": {"code": "ACCESS_DENIED"}}])
            ),
            ConnectorError::PermissionDenied(_)
        ));
        let data = json!({"x": {"userErrors": [{"field": ["variants", "0", "price"], "message": "Price must be positive"}]}});
        let err = user_errors(&data, "/x/userErrors").unwrap_err();
        assert!(
            err.to_string()
                .contains("variants.0.price: Price must be positive"),
            "{err}"
        );
        assert!(user_errors(&json!({"x": {"userErrors": []}}), "/x/userErrors").is_ok());
        assert!(paging_after(Some(&json!({"offset": 1}))).is_err());
    }
}
