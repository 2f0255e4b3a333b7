//! The WooCommerce store session: every upstream call of the connector.
//!
//! All requests go through the shared [`Upstream`] (SSRF rules, retries, timeouts) and this
//! store's [`StoreGate`]. Authentication is HTTP Basic with the consumer key and secret,
//! precomputed once and marked sensitive so it never shows in debug output. Nothing here
//! logs or formats credentials, URLs with credentials, or response bodies into errors
//! (WooCommerce's own `message` of a 400 is kept: it describes the request).
//!
//! Paging: clients ask for up to 250 items, wc/v3 serves at most 100 per request, so a page
//! may take several requests. The paging state handed to the gateway is `{"offset": n}`,
//! the number of items already returned; the wc total (`X-WP-Total`) says when to stop.

use std::collections::HashSet;

use async_trait::async_trait;
use base64::Engine as _;
use cartgate_connector::http::{RequestSpec, StoreGate, Upstream, UpstreamResponse};
use cartgate_connector::model::*;
use cartgate_connector::util::{encode_segment, non_empty, valid_id};
use cartgate_connector::{
    CallContext, ConnectorError, Filters, ListParams, Page, Result, StoreSession,
};
use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};
use futures::{StreamExt, TryStreamExt};
use http::{HeaderValue, Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use url::Url;

use crate::mapping;

/// wc/v3's largest `per_page`.
const WC_MAX_PER_PAGE: u32 = 100;
/// Variations fetched concurrently while listing products (within the store gate).
const VARIATION_FETCH_CONCURRENCY: usize = 4;
/// The namespace the Shipment Tracking extension registers in the `/wp-json/` index.
const TRACKING_NAMESPACE: &str = "wc-shipment-tracking/v3";
/// How long the "extension installed" answer is trusted.
const TRACKING_RECHECK: std::time::Duration = std::time::Duration::from_secs(300);
/// How long the store's measurement units (product settings) are trusted.
const UNITS_RECHECK: std::time::Duration = std::time::Duration::from_secs(300);
/// How long "this store has no `GET /wc/v3/refunds`" (WooCommerce before 9.0) is trusted.
const REFUNDS_ROUTE_RECHECK: std::time::Duration = std::time::Duration::from_secs(300);
/// Refund ids asked for per `GET /wc/v3/refunds?include=…` (its largest `per_page`).
const REFUNDS_PER_REQUEST: usize = 100;
/// Longest WooCommerce error message passed on to clients.
const MAX_MESSAGE_CHARS: usize = 300;
/// The webhook topics behind the seven unified event types (see `crate::inbound`).
pub(crate) const WEBHOOK_TOPICS: [&str; 7] = [
    "order.created",
    "order.updated",
    "product.created",
    "product.updated",
    "product.deleted",
    "customer.created",
    "customer.updated",
];

pub(crate) struct Session {
    upstream: Upstream,
    gate: StoreGate,
    /// `{url}/wp-json` or the `endpoint` credential, without a trailing slash.
    api_root: String,
    site_url: String,
    auth: HeaderValue,
    /// The store currency (wc products carry none), read once per session.
    currency: OnceCell<Option<String>>,
    /// Whether the Shipment Tracking extension is installed, read once per session.
    /// Whether the Shipment Tracking extension is installed, and when that was checked.
    /// Re-checked after a while and whenever its routes vanish (a merchant may uninstall it).
    tracking: std::sync::Mutex<Option<(bool, std::time::Instant)>>,
    /// The store's weight and dimension units, and when they were read.
    units: std::sync::Mutex<Option<(mapping::Units, std::time::Instant)>>,
    /// Whether `GET /wc/v3/refunds` exists (WooCommerce 9.0+), and when that was learnt.
    refunds_route: std::sync::Mutex<Option<(bool, std::time::Instant)>>,
}

/// A value read from the store, trusted for a while.
fn fresh<T: Copy>(
    slot: &std::sync::Mutex<Option<(T, std::time::Instant)>>,
    ttl: std::time::Duration,
) -> Option<T> {
    let cached = *slot.lock().unwrap_or_else(|e| e.into_inner());
    cached.filter(|(_, at)| at.elapsed() < ttl).map(|(v, _)| v)
}

fn remember<T>(slot: &std::sync::Mutex<Option<(T, std::time::Instant)>>, value: T) {
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((value, std::time::Instant::now()));
}

/// What a request reads, for error messages (`"order 12"`).
struct What<'a>(&'a str);

impl Session {
    pub(crate) fn new(
        upstream: Upstream,
        site_url: &str,
        endpoint: Option<&str>,
        consumer_key: &str,
        consumer_secret: &str,
    ) -> Result<Self> {
        let api_root = match endpoint {
            Some(e) => e.trim_end_matches('/').to_owned(),
            None => format!("{}/wp-json", site_url.trim_end_matches('/')),
        };
        // Fail early on a URL the upstream client would refuse anyway (no I/O here).
        let root = Url::parse(&api_root).map_err(|e| {
            ConnectorError::Validation(format!("invalid WooCommerce API root: {e}"))
        })?;
        upstream.check_url(&root)?;
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{consumer_key}:{consumer_secret}"));
        let mut auth = HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
            ConnectorError::Validation("the consumer key or secret has invalid characters".into())
        })?;
        auth.set_sensitive(true);
        Ok(Session {
            gate: upstream.gate(),
            upstream,
            api_root,
            site_url: site_url.trim_end_matches('/').to_owned(),
            auth,
            currency: OnceCell::new(),
            tracking: std::sync::Mutex::new(None),
            units: std::sync::Mutex::new(None),
            refunds_route: std::sync::Mutex::new(None),
        })
    }

    // -----------------------------------------------------------------------------------
    // Plumbing
    // -----------------------------------------------------------------------------------

    /// `{api_root}{path}?{query}`; `path` starts with `/` and has its ids encoded already.
    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url> {
        let mut url = Url::parse(&format!("{}{path}", self.api_root)).map_err(|e| {
            ConnectorError::Validation(format!("cannot build the request URL: {e}"))
        })?;
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    fn spec(&self, method: Method, url: Url, body: Option<&Value>) -> RequestSpec {
        let mut spec = RequestSpec::new(method, url)
            .header(http::header::AUTHORIZATION, self.auth.clone())
            .header(
                http::header::ACCEPT,
                HeaderValue::from_static("application/json"),
            );
        if let Some(b) = body {
            spec = spec.json(b);
        }
        spec
    }

    /// Sends and turns WooCommerce's error statuses into connector errors.
    async fn send(
        &self,
        cx: &CallContext,
        spec: RequestSpec,
        what: What<'_>,
    ) -> Result<UpstreamResponse> {
        let resp = self.upstream.send(cx, &self.gate, spec).await?;
        check_status(resp, what)
    }

    async fn get(
        &self,
        cx: &CallContext,
        path: &str,
        query: &[(&str, String)],
        what: What<'_>,
    ) -> Result<(Value, UpstreamResponse)> {
        let spec = self.spec(Method::GET, self.url(path, query)?, None);
        let resp = self.send(cx, spec, what).await?;
        Ok((resp.json()?, resp))
    }

    /// A write. `idempotent` only for PUTs that set absolute values (a status, a price, a
    /// stock level): sending them twice is harmless, so transient failures are retried.
    async fn write(
        &self,
        cx: &CallContext,
        method: Method,
        path: &str,
        body: &Value,
        idempotent: bool,
        what: What<'_>,
    ) -> Result<Value> {
        let mut spec = self.spec(method, self.url(path, &[])?, Some(body));
        spec.idempotent = idempotent;
        self.send(cx, spec, what).await?.json()
    }

    /// The `/wp-json/` index: site name, timezone and the installed REST namespaces.
    async fn index(&self, cx: &CallContext) -> Result<Value> {
        Ok(self.get(cx, "/", &[], What("site index")).await?.0)
    }

    async fn currency(&self, cx: &CallContext) -> Result<Option<String>> {
        self.currency
            .get_or_try_init(|| async {
                // The cheap documented route; system_status (heavy on real stores) only
                // when a store or proxy does not expose the data routes.
                let current = self
                    .get(
                        cx,
                        "/wc/v3/data/currencies/current",
                        &[],
                        What("store currency"),
                    )
                    .await;
                let code = match current {
                    Ok((v, _)) => non_empty(v.get("code").and_then(Value::as_str)),
                    Err(ConnectorError::NotFound(_)) => {
                        let (v, _) = self
                            .get(cx, "/wc/v3/system_status", &[], What("system status"))
                            .await?;
                        non_empty(v.pointer("/settings/currency").and_then(Value::as_str))
                    }
                    Err(e) => return Err(e),
                };
                Ok::<_, ConnectorError>(code)
            })
            .await
            .cloned()
    }

    /// The store's weight and dimension units (`GET /wc/v3/settings/products`), read once
    /// per [`UNITS_RECHECK`]. A key that may not read settings (or a store that hides
    /// them) gives unknown units: weights and dimensions then read as `null`, and writing
    /// them is refused.
    async fn units(&self, cx: &CallContext) -> Result<mapping::Units> {
        if let Some(u) = fresh(&self.units, UNITS_RECHECK) {
            return Ok(u);
        }
        let units = match self
            .get(
                cx,
                "/wc/v3/settings/products",
                &[],
                What("product settings"),
            )
            .await
        {
            Ok((v, _)) => mapping::Units::from_settings(&v),
            Err(ConnectorError::PermissionDenied(_) | ConnectorError::NotFound(_)) => {
                mapping::Units::default()
            }
            Err(e) => return Err(e),
        };
        remember(&self.units, units);
        Ok(units)
    }

    /// The store currency and units every product mapping needs, read together.
    async fn catalogue(&self, cx: &CallContext) -> Result<(Option<String>, mapping::Units)> {
        futures::try_join!(self.currency(cx), self.units(cx))
    }

    async fn has_tracking(&self, cx: &CallContext) -> Result<bool> {
        let cached = *self.tracking.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((has, at)) = cached {
            if at.elapsed() < TRACKING_RECHECK {
                return Ok(has);
            }
        }
        let has = index_has_tracking(&self.index(cx).await?);
        self.remember_tracking(has);
        Ok(has)
    }

    fn remember_tracking(&self, has: bool) {
        *self.tracking.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((has, std::time::Instant::now()));
    }

    fn forget_tracking(&self) {
        *self.tracking.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// After a 404 from a tracking route: true when the extension itself is gone (then the
    /// caller falls back to order notes), false when it was really the order.
    async fn tracking_vanished(&self, cx: &CallContext) -> Result<bool> {
        self.forget_tracking();
        Ok(!self.has_tracking(cx).await?)
    }

    /// Fetches `limit` items from `offset` (the paging state), in wc pages of at most 100.
    async fn list_raw(
        &self,
        cx: &CallContext,
        path: &str,
        query: &[(&str, String)],
        p: &ListParams,
    ) -> Result<(Vec<Value>, Option<Value>)> {
        let offset = paging_offset(p.state.as_ref())?;
        let limit = p.limit.clamp(1, cartgate_connector::page::MAX_LIMIT);
        let mut items = Vec::new();
        let mut total = None;
        loop {
            let want = (limit - items.len() as u32).min(WC_MAX_PER_PAGE);
            let mut q = query.to_vec();
            q.push(("per_page", want.to_string()));
            q.push(("offset", (offset + items.len() as u64).to_string()));
            let (body, resp) = self.get(cx, path, &q, What("list route")).await?;
            let page = into_array(body, "list")?;
            total = wp_total(&resp).or(total);
            let got = page.len();
            items.extend(page.into_iter().take(want as usize));
            let seen = offset + items.len() as u64;
            let exhausted = got < want as usize || total.is_some_and(|t| seen >= t);
            if exhausted || items.len() as u32 >= limit {
                let more = match total {
                    Some(t) => seen < t,
                    // No X-WP-Total (a proxy dropped it): a full page may have a successor.
                    None => !exhausted,
                };
                let next = more.then(|| json!({ "offset": seen }));
                return Ok((items, next));
            }
        }
    }

    /// Like [`Self::list_raw`] for routes without `offset` (product categories): the offset
    /// is emulated with `page`/`per_page`. When the offset is a multiple of what is still
    /// wanted (the usual case: the same limit on every page) one exact page is asked for;
    /// otherwise pages of 100 are read and the start is skipped.
    async fn list_raw_paged(
        &self,
        cx: &CallContext,
        path: &str,
        query: &[(&str, String)],
        p: &ListParams,
    ) -> Result<(Vec<Value>, Option<Value>)> {
        let offset = paging_offset(p.state.as_ref())?;
        let limit = p.limit.clamp(1, cartgate_connector::page::MAX_LIMIT);
        let mut items = Vec::new();
        let mut total = None;
        loop {
            let pos = offset + items.len() as u64;
            let want = (limit - items.len() as u32).min(WC_MAX_PER_PAGE);
            // (`%` rather than `is_multiple_of`: the workspace MSRV is 1.85.)
            let misaligned = pos % u64::from(want);
            let per_page = if misaligned == 0 {
                want
            } else {
                WC_MAX_PER_PAGE
            };
            let page_no = pos / u64::from(per_page) + 1;
            let skip = (pos % u64::from(per_page)) as usize;
            let mut q = query.to_vec();
            q.push(("per_page", per_page.to_string()));
            q.push(("page", page_no.to_string()));
            let (body, resp) = self.get(cx, path, &q, What("list route")).await?;
            let page = into_array(body, "list")?;
            total = wp_total(&resp).or(total);
            let got = page.len();
            items.extend(page.into_iter().skip(skip).take(want as usize));
            let seen = offset + items.len() as u64;
            let exhausted = got < per_page as usize || total.is_some_and(|t| seen >= t);
            if exhausted || items.len() as u32 >= limit {
                let more = match total {
                    Some(t) => seen < t,
                    None => !exhausted,
                };
                return Ok((items, more.then(|| json!({ "offset": seen }))));
            }
        }
    }

    async fn count(&self, cx: &CallContext, path: &str, query: &[(&str, String)]) -> Result<u64> {
        let mut q = query.to_vec();
        q.push(("per_page", "1".into()));
        let (_, resp) = self.get(cx, path, &q, What("count")).await?;
        wp_total(&resp).ok_or_else(|| {
            ConnectorError::upstream(None, "WooCommerce did not send the X-WP-Total header")
        })
    }

    // -----------------------------------------------------------------------------------
    // Orders and shipments
    // -----------------------------------------------------------------------------------

    async fn order_raw(&self, cx: &CallContext, id: &str) -> Result<Value> {
        let path = format!("/wc/v3/orders/{}", segment(id)?);
        Ok(self.get(cx, &path, &[], What("order")).await?.0)
    }

    async fn shipments(&self, cx: &CallContext, order_id: &str) -> Result<Vec<Shipment>> {
        let id = segment(order_id)?;
        if self.has_tracking(cx).await? {
            let path = format!("/wc-shipment-tracking/v3/orders/{id}/shipment-trackings");
            match self.get(cx, &path, &[], What("order")).await {
                Ok((body, _)) => {
                    return into_array(body, "shipment tracking list")?
                        .iter()
                        .map(mapping::shipment_from_tracking)
                        .collect()
                }
                Err(ConnectorError::NotFound(m)) => {
                    if !self.tracking_vanished(cx).await? {
                        return Err(ConnectorError::NotFound(m));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        {
            // Without the extension our shipments are order notes (see mapping docs).
            let path = format!("/wc/v3/orders/{id}/notes");
            let (body, _) = self.get(cx, &path, &[], What("order")).await?;
            let mut found: Vec<Shipment> = into_array(body, "order note list")?
                .iter()
                .filter_map(mapping::shipment_from_note)
                .collect();
            // Notes come newest first; shipments read oldest first.
            found.sort_by_key(|s| s.created_at);
            Ok(found)
        }
    }

    fn order_from(&self, cx: &CallContext, raw: Value) -> Result<Order> {
        Ok(cx.keep_raw(mapping::order(&raw)?, raw))
    }

    /// Completes a page of orders' refunds with one `GET /wc/v3/refunds?include=…` per
    /// 100 refunds (WooCommerce 9.0+), never one request per order. Without that route
    /// (older stores, learnt once per [`REFUNDS_ROUTE_RECHECK`]) the orders keep what
    /// their own `refunds[]` says.
    async fn attach_refunds(&self, cx: &CallContext, orders: &mut [Order]) -> Result<()> {
        let ids: Vec<&str> = orders
            .iter()
            .flat_map(|o| o.refunds.iter().map(|r| r.id.as_str()))
            .filter(|id| valid_id(id))
            .collect();
        if ids.is_empty() || fresh(&self.refunds_route, REFUNDS_ROUTE_RECHECK) == Some(false) {
            return Ok(());
        }
        let mut details = Vec::new();
        for chunk in ids.chunks(REFUNDS_PER_REQUEST) {
            let q = [
                ("include", chunk.join(",")),
                ("per_page", REFUNDS_PER_REQUEST.to_string()),
            ];
            match self
                .get(cx, "/wc/v3/refunds", &q, What("refund list"))
                .await
            {
                Ok((body, _)) => details.extend(into_array(body, "refund list")?),
                Err(ConnectorError::NotFound(_)) => {
                    remember(&self.refunds_route, false);
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        remember(&self.refunds_route, true);
        for o in orders {
            mapping::attach_refunds(o, &details)?;
        }
        Ok(())
    }

    /// One order's refunds, from the order's own refunds route (every wc/v3 version).
    async fn attach_order_refunds(&self, cx: &CallContext, order: &mut Order) -> Result<()> {
        if order.refunds.is_empty() {
            return Ok(());
        }
        let path = format!("/wc/v3/orders/{}/refunds", segment(&order.id)?);
        let q = [("per_page", WC_MAX_PER_PAGE.to_string())];
        let (body, _) = self.get(cx, &path, &q, What("order")).await?;
        mapping::attach_refunds(order, &into_array(body, "refund list")?)
    }

    // -----------------------------------------------------------------------------------
    // Products
    // -----------------------------------------------------------------------------------

    async fn variations(&self, cx: &CallContext, product_id: &str) -> Result<Vec<Value>> {
        let path = format!("/wc/v3/products/{}/variations", segment(product_id)?);
        let mut all = Vec::new();
        // A product rarely has more than 100 variations, but WooCommerce allows it.
        for page in 1u32.. {
            let q = [
                ("per_page", WC_MAX_PER_PAGE.to_string()),
                ("page", page.to_string()),
                ("orderby", "id".into()),
                ("order", "asc".into()),
            ];
            let (body, resp) = self.get(cx, &path, &q, What("product")).await?;
            let batch = into_array(body, "variation list")?;
            let n = batch.len();
            all.extend(batch);
            let done = match wp_total(&resp) {
                Some(t) => all.len() as u64 >= t,
                None => n < WC_MAX_PER_PAGE as usize,
            };
            if done || n == 0 {
                break;
            }
        }
        Ok(all)
    }

    /// Maps a product, fetching its variations when it is a variable product.
    async fn product_from(
        &self,
        cx: &CallContext,
        raw: Value,
        currency: Option<&str>,
        units: &mapping::Units,
    ) -> Result<Product> {
        let variations = if is_variable(&raw) {
            let id = mapping::product(&raw, &[], None, units)?.id;
            self.variations(cx, &id).await?
        } else {
            Vec::new()
        };
        Ok(cx.keep_raw(mapping::product(&raw, &variations, currency, units)?, raw))
    }

    async fn product_raw(&self, cx: &CallContext, id: &str) -> Result<Value> {
        let path = format!("/wc/v3/products/{}", segment(id)?);
        Ok(self.get(cx, &path, &[], What("product")).await?.0)
    }
}

// ---------------------------------------------------------------------------------------
// Free helpers
// ---------------------------------------------------------------------------------------

/// Validates a client-supplied id and percent-encodes it for a path.
fn segment(id: &str) -> Result<String> {
    if !valid_id(id) {
        return Err(ConnectorError::Validation(format!("invalid id {id:?}")));
    }
    Ok(encode_segment(id))
}

fn check_status(resp: UpstreamResponse, what: What<'_>) -> Result<UpstreamResponse> {
    let status = resp.status;
    if status.is_success() {
        return Ok(resp);
    }
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(refusal(&resp)),
        StatusCode::NOT_FOUND => Err(ConnectorError::NotFound(format!(
            "WooCommerce has no such {}",
            what.0
        ))),
        StatusCode::BAD_REQUEST => Err(ConnectorError::Validation(format!(
            "WooCommerce rejected the request: {}",
            wc_message(&resp).unwrap_or_else(|| "no reason given".into())
        ))),
        s => Err(ConnectorError::upstream(
            Some(s.as_u16()),
            format!("WooCommerce answered {s} reading the {}", what.0),
        )),
    }
}

/// A 401 or 403. WooCommerce answers 401 both to keys it does not know and to a key whose
/// permissions (read, write) do not cover the method ("The API key provided does not have
/// write permissions."), and 403 when the key's user lacks a capability: only the first
/// means the stored credentials are wrong.
fn refusal(resp: &UpstreamResponse) -> ConnectorError {
    let message = wc_message(resp);
    let key_permissions = message
        .as_deref()
        .is_some_and(|m| m.contains("does not have") && m.contains("permissions"));
    if resp.status == StatusCode::FORBIDDEN || key_permissions {
        ConnectorError::PermissionDenied(format!(
            "the WooCommerce API key may not do this (give it read/write permissions): {}",
            message.as_deref().unwrap_or("no reason given")
        ))
    } else {
        ConnectorError::AuthFailed("WooCommerce refused the consumer key and secret".into())
    }
}

/// WooCommerce's `message` of an error body, bounded. It describes the request (a bad
/// parameter, a duplicate SKU), not store data.
fn wc_message(resp: &UpstreamResponse) -> Option<String> {
    let v: Value = serde_json::from_slice(&resp.body).ok()?;
    let m = non_empty(v.get("message")?.as_str())?;
    Some(m.chars().take(MAX_MESSAGE_CHARS).collect())
}

fn wp_total(resp: &UpstreamResponse) -> Option<u64> {
    resp.header_str("x-wp-total")?.trim().parse().ok()
}

fn into_array(v: Value, what: &str) -> Result<Vec<Value>> {
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(ConnectorError::bad_body(what, "expected a JSON array")),
    }
}

fn paging_offset(state: Option<&Value>) -> Result<u64> {
    match state {
        None => Ok(0),
        Some(s) => s.get("offset").and_then(Value::as_u64).ok_or_else(|| {
            ConnectorError::Validation("the cursor does not belong to this list".into())
        }),
    }
}

fn index_has_tracking(index: &Value) -> bool {
    index
        .get("namespaces")
        .and_then(Value::as_array)
        .is_some_and(|ns| ns.iter().any(|n| n.as_str() == Some(TRACKING_NAMESPACE)))
}

/// WooCommerce 9.2 added `global_unique_id` to products and variations; older stores
/// ignore it in a write, so a barcode write there is refused instead of lost.
fn check_barcode_field(product: &Value) -> Result<()> {
    if product.get("global_unique_id").is_some() {
        Ok(())
    } else {
        Err(ConnectorError::Unsupported(
            "this store's WooCommerce (before 9.2) has no barcode field (global_unique_id)".into(),
        ))
    }
}

fn is_variable(raw: &Value) -> bool {
    raw.get("type").and_then(Value::as_str) == Some("variable")
}

/// RFC 3339 UTC with seconds, the form wc/v3 documents for its date filters.
fn wc_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// wc's `after`/`before` are exclusive and second-precise; the unified `*_from`/`*_to`
/// are inclusive. `x >= from` ⇔ `x > ceil(from) - 1s`; `x <= to` ⇔ `x < floor(to) + 1s`.
fn exclusive_after(from: DateTime<Utc>) -> String {
    let floor = from.duration_trunc(TimeDelta::seconds(1)).unwrap_or(from);
    let ceil = if floor == from {
        from
    } else {
        floor + TimeDelta::seconds(1)
    };
    wc_time(ceil - TimeDelta::seconds(1))
}

fn exclusive_before(to: DateTime<Utc>) -> String {
    let floor = to.duration_trunc(TimeDelta::seconds(1)).unwrap_or(to);
    wc_time(floor + TimeDelta::seconds(1))
}

/// The date filters shared by orders and products.
fn date_query(f: &Filters, q: &mut Vec<(&'static str, String)>) {
    if let Some(t) = f.created_from {
        q.push(("after", exclusive_after(t)));
    }
    if let Some(t) = f.created_to {
        q.push(("before", exclusive_before(t)));
    }
    if let Some(t) = f.updated_from {
        q.push(("modified_after", exclusive_after(t)));
    }
    if let Some(t) = f.updated_to {
        q.push(("modified_before", exclusive_before(t)));
    }
    if f.created_from.is_some()
        || f.created_to.is_some()
        || f.updated_from.is_some()
        || f.updated_to.is_some()
    {
        // Compare with the *_gmt columns, not the site's local time.
        q.push(("dates_are_gmt", "true".into()));
    }
}

fn order_query(f: &Filters) -> Result<Vec<(&'static str, String)>> {
    crate::FILTERS.check("orders", f)?;
    let mut q = Vec::new();
    date_query(f, &mut q);
    if let Some(s) = &f.status {
        q.push(("status", mapping::order_status_to_wc(s)?.to_owned()));
    }
    Ok(q)
}

fn product_query(f: &Filters) -> Result<Vec<(&'static str, String)>> {
    crate::FILTERS.check("products", f)?;
    let mut q = Vec::new();
    date_query(f, &mut q);
    if let Some(s) = &f.status {
        q.push(("status", mapping::product_status_word_to_wc(s)?.to_owned()));
    }
    if let Some(sku) = &f.sku {
        q.push(("sku", sku.clone()));
    }
    Ok(q)
}

fn customer_query(f: &Filters) -> Result<Vec<(&'static str, String)>> {
    crate::FILTERS.check("customers", f)?;
    Ok(f.email.iter().map(|e| ("email", e.clone())).collect())
}

/// Newest first for orders and products. `id` rather than `date`: ids only grow, while an
/// order's date can be edited and many objects share a second, either of which would
/// shift an offset-paged listing under a client walking it.
fn newest_first() -> [(&'static str, String); 2] {
    [("orderby", "id".into()), ("order", "desc".into())]
}

// ---------------------------------------------------------------------------------------
// The session
// ---------------------------------------------------------------------------------------

#[async_trait]
impl StoreSession for Session {
    async fn info(&self, cx: &CallContext) -> Result<StoreInfo> {
        // system_status first: it needs the credentials, so a wrong key fails here.
        let (status, _) = self
            .get(cx, "/wc/v3/system_status", &[], What("system status"))
            .await
            .map_err(|e| match e {
                // Connecting to a URL that is not a WooCommerce store is the client's
                // mistake, not a missing object.
                ConnectorError::NotFound(_) => {
                    ConnectorError::Validation("no WooCommerce REST API (wc/v3) at this URL".into())
                }
                e => e,
            })?;
        let index = self.index(cx).await?;
        let str_at = |v: &Value, ptr: &str| non_empty(v.pointer(ptr).and_then(Value::as_str));
        let currency = str_at(&status, "/settings/currency");
        let _ = self.currency.set(currency.clone());
        self.remember_tracking(index_has_tracking(&index));
        // WordPress gives a zone name, or only a UTC offset in hours ("-3", "5.5").
        let timezone = str_at(&index, "/timezone_string").or_else(|| {
            let off = index.get("gmt_offset")?;
            let hours: f64 = match off {
                Value::Number(n) => n.as_f64()?,
                Value::String(s) => s.trim().parse().ok()?,
                _ => return None,
            };
            let mins = (hours * 60.0).round() as i64;
            let sign = if mins < 0 { '-' } else { '+' };
            Some(format!(
                "{sign}{:02}:{:02}",
                mins.abs() / 60,
                mins.abs() % 60
            ))
        });
        Ok(StoreInfo {
            // WordPress stores the site title through esc_html (`Tom &amp; Jerry&#039;s`).
            name: str_at(&index, "/name").map(cartgate_connector::lenient::decoded),
            url: str_at(&status, "/environment/site_url")
                .or_else(|| str_at(&index, "/url"))
                .or_else(|| Some(self.site_url.clone())),
            currency,
            timezone,
            platform_version: str_at(&status, "/environment/version"),
        })
    }

    async fn list_orders(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Order>> {
        let mut q = order_query(&p.filters)?;
        q.extend(newest_first());
        let (raw, next) = self.list_raw(cx, "/wc/v3/orders", &q, p).await?;
        let mut items = raw
            .into_iter()
            .map(|r| self.order_from(cx, r))
            .collect::<Result<Vec<_>>>()?;
        self.attach_refunds(cx, &mut items).await?;
        Ok(Page { items, next })
    }

    async fn count_orders(&self, cx: &CallContext, f: &Filters) -> Result<u64> {
        self.count(cx, "/wc/v3/orders", &order_query(f)?).await
    }

    async fn get_order(&self, cx: &CallContext, id: &str) -> Result<Order> {
        // The order and its shipments are independent reads: fetch them together.
        let (raw, shipments) = futures::try_join!(self.order_raw(cx, id), self.shipments(cx, id))?;
        let mut order = self.order_from(cx, raw)?;
        mapping::attach_shipments(&mut order, shipments);
        self.attach_order_refunds(cx, &mut order).await?;
        Ok(order)
    }

    async fn create_shipment(
        &self,
        cx: &CallContext,
        order_id: &str,
        s: &NewShipment,
    ) -> Result<Order> {
        s.validate()?;
        let raw = self.order_raw(cx, order_id).await?;
        let order = mapping::order(&raw)?;
        let partial = shipped_partially(&order, s.line_items.as_deref())?;
        let id = segment(&order.id)?;

        let mut tracked = false;
        if self.has_tracking(cx).await? {
            let path = format!("/wc-shipment-tracking/v3/orders/{id}/shipment-trackings");
            let body = mapping::tracking_body(s);
            match self
                .write(cx, Method::POST, &path, &body, false, What("order"))
                .await
            {
                Ok(_) => tracked = true,
                Err(ConnectorError::NotFound(m)) => {
                    if !self.tracking_vanished(cx).await? {
                        return Err(ConnectorError::NotFound(m));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if !tracked {
            let note = json!({
                "note": mapping::shipment_note(s),
                "customer_note": s.notify_customer,
            });
            let path = format!("/wc/v3/orders/{id}/notes");
            self.write(cx, Method::POST, &path, &note, false, What("order"))
                .await?;
        }
        // Everything shipped: WooCommerce's only "shipped" signal is the completed status.
        // Orders already closed another way (cancelled, refunded, failed) are left alone.
        let open = matches!(
            order.platform_status.as_deref(),
            Some("pending" | "processing" | "on-hold")
        );
        if !partial && open {
            let path = format!("/wc/v3/orders/{id}");
            self.write(
                cx,
                Method::PUT,
                &path,
                &json!({"status": "completed"}),
                true,
                What("order"),
            )
            .await?;
        }
        self.get_order(cx, &order.id).await
    }

    async fn list_products(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Product>> {
        let mut q = product_query(&p.filters)?;
        q.extend(newest_first());
        let (raw, next) = self.list_raw(cx, "/wc/v3/products", &q, p).await?;
        let (currency, units) = self.catalogue(cx).await?;
        let currency = currency.as_deref();
        // Variations are one request per variable product: a few at a time, in order.
        let items = futures::stream::iter(raw)
            .map(|r| self.product_from(cx, r, currency, &units))
            .buffered(VARIATION_FETCH_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(Page { items, next })
    }

    async fn count_products(&self, cx: &CallContext, f: &Filters) -> Result<u64> {
        self.count(cx, "/wc/v3/products", &product_query(f)?).await
    }

    async fn get_product(&self, cx: &CallContext, id: &str) -> Result<Product> {
        let raw = self.product_raw(cx, id).await?;
        let (currency, units) = self.catalogue(cx).await?;
        self.product_from(cx, raw, currency.as_deref(), &units)
            .await
    }

    async fn create_product(&self, cx: &CallContext, p: &NewProduct) -> Result<Product> {
        let body = mapping::new_product_body(p)?;
        let raw = self
            .write(
                cx,
                Method::POST,
                "/wc/v3/products",
                &body,
                false,
                What("product"),
            )
            .await?;
        let (currency, units) = self.catalogue(cx).await?;
        self.product_from(cx, raw, currency.as_deref(), &units)
            .await
    }

    async fn update_product(
        &self,
        cx: &CallContext,
        id: &str,
        u: &ProductUpdate,
    ) -> Result<Product> {
        let (currency, units) = self.catalogue(cx).await?;
        let body = mapping::product_update_body(u, &units)?;
        let is_empty = body.as_object().is_some_and(|o| o.is_empty());
        if is_empty {
            return self.get_product(cx, id).await;
        }
        if u.barcode.is_some() {
            // Before 9.2 WooCommerce would drop the field without a word.
            check_barcode_field(&self.product_raw(cx, id).await?)?;
        }
        let path = format!("/wc/v3/products/{}", segment(id)?);
        let raw = self
            .write(cx, Method::PUT, &path, &body, true, What("product"))
            .await?;
        self.product_from(cx, raw, currency.as_deref(), &units)
            .await
    }

    async fn update_variant(
        &self,
        cx: &CallContext,
        product_id: &str,
        variant_id: &str,
        u: &VariantUpdate,
    ) -> Result<Product> {
        let units = self.units(cx).await?;
        let body = mapping::variant_update_body(u, &units)?;
        let vid = segment(variant_id)?;
        // The product lists its variations' ids: a variation of another product (which
        // WooCommerce might update anyway) is answered as not found.
        let product = self.product_raw(cx, product_id).await?;
        let is_child = product
            .get("variations")
            .and_then(Value::as_array)
            .is_some_and(|ids| {
                ids.iter().any(|v| match v {
                    Value::Number(n) => n.to_string() == variant_id,
                    Value::String(s) => s == variant_id,
                    _ => false,
                })
            });
        if !is_child {
            return Err(ConnectorError::NotFound(
                "WooCommerce has no such variant of this product".into(),
            ));
        }
        if u.barcode.is_some() {
            // Products and variations gained the field in the same version.
            check_barcode_field(&product)?;
        }
        if !body.as_object().is_some_and(|o| o.is_empty()) {
            let path = format!("/wc/v3/products/{}/variations/{vid}", segment(product_id)?);
            self.write(cx, Method::PUT, &path, &body, true, What("variant"))
                .await?;
        }
        self.get_product(cx, product_id).await
    }

    async fn list_customers(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Customer>> {
        let mut q = customer_query(&p.filters)?;
        q.push(("orderby", "id".into()));
        q.push(("order", "desc".into()));
        let (raw, next) = self.list_raw(cx, "/wc/v3/customers", &q, p).await?;
        let items = raw
            .into_iter()
            .map(|r| Ok(cx.keep_raw(mapping::customer(&r)?, r)))
            .collect::<Result<_>>()?;
        Ok(Page { items, next })
    }

    async fn count_customers(&self, cx: &CallContext, f: &Filters) -> Result<u64> {
        self.count(cx, "/wc/v3/customers", &customer_query(f)?)
            .await
    }

    async fn get_customer(&self, cx: &CallContext, id: &str) -> Result<Customer> {
        let path = format!("/wc/v3/customers/{}", segment(id)?);
        let (raw, _) = self.get(cx, &path, &[], What("customer")).await?;
        Ok(cx.keep_raw(mapping::customer(&raw)?, raw))
    }

    async fn list_categories(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Category>> {
        crate::FILTERS.check("categories", &p.filters)?;
        let q = [("orderby", "id".to_owned()), ("order", "asc".to_owned())];
        let (raw, next) = self
            .list_raw_paged(cx, "/wc/v3/products/categories", &q, p)
            .await?;
        let items = raw
            .into_iter()
            .map(|r| Ok(cx.keep_raw(mapping::category(&r)?, r)))
            .collect::<Result<_>>()?;
        Ok(Page { items, next })
    }

    async fn get_category(&self, cx: &CallContext, id: &str) -> Result<Category> {
        let path = format!("/wc/v3/products/categories/{}", segment(id)?);
        let (raw, _) = self.get(cx, &path, &[], What("category")).await?;
        Ok(cx.keep_raw(mapping::category(&raw)?, raw))
    }

    /// One `POST /wc/v3/webhooks` per topic of [`WEBHOOK_TOPICS`], active, delivering to
    /// `callback` and signed with `secret`.
    async fn register_webhooks(
        &self,
        cx: &CallContext,
        callback: &Url,
        secret: &str,
    ) -> Result<Vec<String>> {
        if secret.is_empty() {
            return Err(ConnectorError::Validation(
                "WooCommerce webhooks need a secret to be signed with".into(),
            ));
        }
        let mut ids = Vec::with_capacity(WEBHOOK_TOPICS.len());
        for topic in WEBHOOK_TOPICS {
            let body = json!({
                "name": format!("cartgate {topic}"),
                "topic": topic,
                "delivery_url": callback.as_str(),
                "secret": secret,
                "status": "active",
            });
            let made = self
                .write(
                    cx,
                    Method::POST,
                    "/wc/v3/webhooks",
                    &body,
                    false,
                    What("webhook"),
                )
                .await
                .and_then(|w| match w.get("id") {
                    Some(Value::Number(n)) => Ok(n.to_string()),
                    Some(Value::String(s)) if valid_id(s) => Ok(s.clone()),
                    _ => Err(ConnectorError::bad_body("webhook", "no id")),
                });
            match made {
                Ok(id) => ids.push(id),
                Err(e) => {
                    if let Err(undo) = self.unregister_webhooks(cx, &ids).await {
                        tracing::warn!(error = %undo, "could not remove the WooCommerce webhooks of a failed registration");
                    }
                    return Err(e);
                }
            }
        }
        Ok(ids)
    }

    /// `DELETE /wc/v3/webhooks/{id}?force=true` (webhooks cannot be trashed).
    async fn unregister_webhooks(&self, cx: &CallContext, ids: &[String]) -> Result<()> {
        for id in ids {
            let url = self.url(
                &format!("/wc/v3/webhooks/{}", segment(id)?),
                &[("force", "true".into())],
            )?;
            let mut spec = self.spec(Method::DELETE, url, None);
            // Deleting twice is harmless: a retry finds it gone.
            spec.idempotent = true;
            match self.send(cx, spec, What("webhook")).await {
                Ok(_) | Err(ConnectorError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// WooCommerce keeps one stock number per product or variation: one location,
    /// [`mapping::DEFAULT_LOCATION`], named after the site, at the store address.
    async fn list_locations(&self, cx: &CallContext) -> Result<Vec<Location>> {
        let general = async {
            match self
                .get(cx, "/wc/v3/settings/general", &[], What("general settings"))
                .await
            {
                Ok((v, _)) => Ok(v),
                // A key that may not read settings still learns the location's id.
                Err(ConnectorError::PermissionDenied(_) | ConnectorError::NotFound(_)) => {
                    Ok(Value::Null)
                }
                Err(e) => Err(e),
            }
        };
        let (index, general) = futures::try_join!(self.index(cx), general)?;
        let name = index.get("name").and_then(Value::as_str);
        Ok(vec![mapping::default_location(name, &general)])
    }

    async fn proxy(&self, cx: &CallContext, r: &ProxyRequest) -> Result<ProxyResponse> {
        let method = r.http_method()?;
        let path = r.checked_path("/wc/v3")?;
        let query: Vec<(&str, String)> = r
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let url = self.url(&format!("/wc/v3{path}"), &query)?;
        // Defence in depth: whatever URL parsing made of the path, it stays under wc/v3.
        let root = self.url("/wc/v3/", &[])?;
        if url.origin() != root.origin() || !url.path().starts_with(root.path()) {
            return Err(ConnectorError::Validation(
                "proxy path leaves the wc/v3 API".into(),
            ));
        }
        // RequestSpec makes GET alone idempotent (retried); writes are sent once.
        let spec = self.spec(method, url, r.body.as_ref());
        let resp = self.upstream.send(cx, &self.gate, spec).await?;
        if resp.status == StatusCode::UNAUTHORIZED {
            // The stored credentials no longer work: the gateway marks the store. A
            // permission refusal is the platform's answer to this request: passed through.
            if let err @ ConnectorError::AuthFailed(_) = refusal(&resp) {
                return Err(err);
            }
        }
        Ok(resp.into_proxy_response())
    }
}

/// Checks the lines of a shipment against the order and says whether it ships less than
/// everything. Unknown line ids and impossible quantities are the client's error.
fn shipped_partially(order: &Order, lines: Option<&[ShipmentLine]>) -> Result<bool> {
    let Some(lines) = lines.filter(|l| !l.is_empty()) else {
        return Ok(false);
    };
    let mut seen = HashSet::new();
    for l in lines {
        let Some(item) = order.line_items.iter().find(|i| i.id == l.line_item_id) else {
            return Err(ConnectorError::Validation(format!(
                "order has no line item {:?}",
                l.line_item_id
            )));
        };
        if l.quantity < 1 || l.quantity > item.quantity {
            return Err(ConnectorError::Validation(format!(
                "line item {:?}: quantity must be between 1 and {}",
                l.line_item_id, item.quantity
            )));
        }
        if !seen.insert(l.line_item_id.as_str()) {
            return Err(ConnectorError::Validation(format!(
                "line item {:?} is listed twice",
                l.line_item_id
            )));
        }
    }
    let everything = order.line_items.iter().all(|i| {
        lines
            .iter()
            .any(|l| l.line_item_id == i.id && l.quantity >= i.quantity)
    });
    Ok(!everything)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusive_bounds_become_exclusive() {
        let t: DateTime<Utc> = "2024-05-01T10:00:00Z".parse().expect("time");
        assert_eq!(exclusive_after(t), "2024-05-01T09:59:59Z");
        assert_eq!(exclusive_before(t), "2024-05-01T10:00:01Z");
        let frac: DateTime<Utc> = "2024-05-01T10:00:00.5Z".parse().expect("time");
        assert_eq!(exclusive_after(frac), "2024-05-01T10:00:00Z");
        assert_eq!(exclusive_before(frac), "2024-05-01T10:00:01Z");
    }

    #[test]
    fn paging_state_is_checked() {
        assert_eq!(paging_offset(None).ok(), Some(0));
        assert_eq!(paging_offset(Some(&json!({"offset": 7}))).ok(), Some(7));
        assert!(paging_offset(Some(&json!({"page": 2}))).is_err());
    }
}
