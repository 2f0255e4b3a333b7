//! The Magento store session: every upstream call of the connector.
//!
//! All requests go through the shared [`Upstream`] (SSRF rules, retries, timeouts) and this
//! store's [`StoreGate`]. Reads go to `{rest}/{store_code}/V1/…`; product writes to
//! `{rest}/all/V1/…` (the admin scope: a write through a store view would save store-view
//! overrides instead of the product's own values).
//!
//! Authentication (see `lib.rs`): OAuth 1.0a signatures are computed per request (fresh
//! nonce and timestamp); a bearer token is a fixed header; an admin token is fetched lazily,
//! kept in memory and renewed a margin before its lifetime ends. Whatever the scheme, a 401
//! is answered by renewing what can be renewed (a new admin token; a new OAuth nonce, since
//! the shared client retries a transient failure with the very same signed request, whose
//! nonce Magento has already seen) and sending the request once more.
//!
//! Paging: `searchCriteria[pageSize]` = the asked limit (≤ 250) and `[currentPage]`; the
//! paging state handed to the gateway is `{"page", "page_size"}` and listing stops by
//! `total_count`: Magento answers a page past the end with the last page again.
//!
//! Nothing here logs or formats credentials, URLs or response bodies into errors except
//! Magento's own error `message` of a 400 (it describes the request).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cartgate_connector::connector::MAX_LOCATIONS;
use cartgate_connector::http::{RequestSpec, StoreGate, Upstream, UpstreamResponse};
use cartgate_connector::model::*;
use cartgate_connector::token::TokenCache;
use cartgate_connector::util::{encode_segment, non_empty, valid_id};
use cartgate_connector::{
    CallContext, ConnectorError, Filters, ListParams, Page, Result, StoreSession,
};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use futures::{StreamExt, TryStreamExt};
use http::{HeaderValue, Method, StatusCode};
use serde_json::{json, Value};
use url::Url;

use crate::mapping;
use crate::oauth;

/// Largest `searchCriteria[pageSize]` sent (Magento allows more; 2.4.7 caps at 300 by
/// default).
const MAX_PAGE_SIZE: u32 = 250;
/// Configurable products expanded concurrently while listing (within the store gate).
const VARIANT_FETCH_CONCURRENCY: usize = 4;
/// How long the store's MSI sources (or that it has no MSI) are trusted.
const SOURCES_TTL: Duration = Duration::from_secs(300);
/// How long the store configuration (currency, media URL, weight units) is trusted.
const STORE_FACTS_TTL: Duration = Duration::from_secs(300);
/// Longest value of one `in` filter (ids or SKUs joined by commas): longer lists are split
/// into several searches, so URLs stay far below what servers in front of Magento accept
/// (nginx's default request line buffer is 8 KB).
const MAX_IN_FILTER_CHARS: usize = 1500;
/// How long attribute metadata (option labels) is trusted.
const ATTRIBUTE_TTL: Duration = Duration::from_secs(600);
/// Longest Magento error message passed on to clients.
const MAX_MESSAGE_CHARS: usize = 300;

/// How a session authenticates, from the parsed credentials.
pub(crate) enum AuthConfig {
    OAuth1(oauth::Credentials),
    Bearer(String),
    Admin {
        username: String,
        password: String,
        lifetime: Duration,
    },
}

/// The admin password, kept only in memory for renewals; never printed.
struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

enum Auth {
    OAuth1(oauth::Credentials),
    Bearer(HeaderValue),
    Admin {
        username: String,
        password: Password,
        lifetime: Duration,
        token: TokenCache<HeaderValue>,
    },
}

/// What the store configuration says, read once per session and re-read after
/// [`STORE_FACTS_TTL`].
#[derive(Debug, Clone, Default)]
struct StoreFacts {
    currency: Option<String>,
    media_url: Option<String>,
    /// The weight unit of this session's store view (`weight_unit`: `lbs` or `kgs`).
    weight_unit: Option<WeightUnit>,
    /// Weight units by store view id: an order is weighed in its own store view's unit.
    weight_units: HashMap<String, WeightUnit>,
}

impl StoreFacts {
    fn unit_for(&self, store_id: Option<&str>) -> Option<WeightUnit> {
        store_id
            .and_then(|id| self.weight_units.get(id).copied())
            .or(self.weight_unit)
    }
}

pub(crate) struct Session {
    upstream: Upstream,
    gate: StoreGate,
    /// `{url}/rest` or the `endpoint` credential, without a trailing slash.
    rest_root: String,
    site_url: String,
    store_code: String,
    auth: Auth,
    facts: std::sync::Mutex<Option<(StoreFacts, Instant)>>,
    /// The MSI sources (`None`: the store has no MSI), as last read.
    sources: std::sync::Mutex<Option<(Option<Vec<Value>>, Instant)>>,
    attributes: std::sync::Mutex<HashMap<String, (Value, Instant)>>,
}

/// What a request reads, for error messages (`"order"`).
#[derive(Clone, Copy)]
struct What<'a>(&'a str);

/// One `searchCriteria`: AND of filter groups, each an OR of filters.
#[derive(Debug, Clone, Default)]
pub(crate) struct Search {
    groups: Vec<Vec<(String, String, &'static str)>>,
    sort: Vec<(&'static str, &'static str)>,
    page_size: Option<u32>,
    current_page: Option<u64>,
}

impl Search {
    fn filter(mut self, field: &str, value: impl Into<String>, condition: &'static str) -> Self {
        self.groups
            .push(vec![(field.to_owned(), value.into(), condition)]);
        self
    }

    fn sort(mut self, field: &'static str, direction: &'static str) -> Self {
        self.sort.push((field, direction));
        self
    }

    fn page(mut self, size: u32, page: u64) -> Self {
        self.page_size = Some(size);
        self.current_page = Some(page);
        self
    }

    /// The query pairs, in the documented `searchCriteria[filter_groups][g][filters][f]…`
    /// form.
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            for (f, (field, value, cond)) in group.iter().enumerate() {
                let p = format!("searchCriteria[filter_groups][{g}][filters][{f}]");
                q.push((format!("{p}[field]"), field.clone()));
                q.push((format!("{p}[value]"), value.clone()));
                q.push((format!("{p}[condition_type]"), (*cond).to_owned()));
            }
        }
        for (n, (field, dir)) in self.sort.iter().enumerate() {
            q.push((
                format!("searchCriteria[sortOrders][{n}][field]"),
                (*field).into(),
            ));
            q.push((
                format!("searchCriteria[sortOrders][{n}][direction]"),
                (*dir).into(),
            ));
        }
        if let Some(s) = self.page_size {
            q.push(("searchCriteria[pageSize]".into(), s.to_string()));
        }
        if let Some(p) = self.current_page {
            q.push(("searchCriteria[currentPage]".into(), p.to_string()));
        }
        if q.is_empty() {
            // Magento requires a searchCriteria on search routes, even an empty one.
            q.push(("searchCriteria".into(), String::new()));
        }
        q
    }
}

/// A query string encoded with RFC 3986 (`%20`, never `+`: see `oauth`'s module docs).
fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", oauth::percent_encode(k), oauth::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Session {
    pub(crate) fn new(
        upstream: Upstream,
        site_url: &str,
        endpoint: Option<&str>,
        store_code: &str,
        auth: AuthConfig,
    ) -> Result<Self> {
        let rest_root = match endpoint {
            Some(e) => e.trim_end_matches('/').to_owned(),
            None => format!("{}/rest", site_url.trim_end_matches('/')),
        };
        // Fail early on a URL the upstream client would refuse anyway (no I/O here).
        let root = Url::parse(&rest_root)
            .map_err(|e| ConnectorError::Validation(format!("invalid Magento REST root: {e}")))?;
        upstream.check_url(&root)?;
        let auth = match auth {
            AuthConfig::OAuth1(c) => Auth::OAuth1(c),
            AuthConfig::Bearer(t) => {
                let mut h = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
                    ConnectorError::Validation("the access token has invalid characters".into())
                })?;
                h.set_sensitive(true);
                Auth::Bearer(h)
            }
            AuthConfig::Admin {
                username,
                password,
                lifetime,
            } => Auth::Admin {
                username,
                password: Password(password),
                lifetime,
                token: TokenCache::new(),
            },
        };
        Ok(Session {
            gate: upstream.gate(),
            upstream,
            rest_root,
            site_url: site_url.trim_end_matches('/').to_owned(),
            store_code: store_code.to_owned(),
            auth,
            facts: std::sync::Mutex::new(None),
            sources: std::sync::Mutex::new(None),
            attributes: std::sync::Mutex::new(HashMap::new()),
        })
    }

    // -----------------------------------------------------------------------------------
    // Plumbing
    // -----------------------------------------------------------------------------------

    /// `{rest}/{scope}/V1{path}?{query}`; `path` starts with `/` and has its ids encoded.
    fn url_in(&self, scope: &str, path: &str, query: &[(String, String)]) -> Result<Url> {
        let mut url = Url::parse(&format!("{}/{scope}/V1{path}", self.rest_root)).map_err(|e| {
            ConnectorError::Validation(format!("cannot build the request URL: {e}"))
        })?;
        if !query.is_empty() {
            url.set_query(Some(&query_string(query)));
        }
        Ok(url)
    }

    fn url(&self, path: &str, query: &[(String, String)]) -> Result<Url> {
        self.url_in(&self.store_code, path, query)
    }

    /// The `Authorization` header for one attempt. `refused`: the header Magento just
    /// refused, renewed when it is an admin token (see [`TokenCache::get`]).
    async fn authorization(
        &self,
        cx: &CallContext,
        method: &Method,
        url: &Url,
        refused: Option<&HeaderValue>,
    ) -> Result<HeaderValue> {
        match &self.auth {
            Auth::Bearer(h) => Ok(h.clone()),
            Auth::OAuth1(c) => {
                let header = oauth::authorization_header(
                    c,
                    method.as_str(),
                    url,
                    &oauth::nonce(),
                    Utc::now().timestamp(),
                );
                let mut h = HeaderValue::from_str(&header).map_err(|_| {
                    ConnectorError::Validation(
                        "the integration credentials have invalid characters".into(),
                    )
                })?;
                h.set_sensitive(true);
                Ok(h)
            }
            Auth::Admin {
                username,
                password,
                lifetime,
                token,
            } => {
                // One renewal at a time: concurrent requests wait for it and share the token.
                token
                    .get(refused, || async {
                        Ok((
                            self.admin_token(cx, username, &password.0).await?,
                            *lifetime,
                        ))
                    })
                    .await
            }
        }
    }

    /// `POST /V1/integration/admin/token`: the token, as a bearer header.
    async fn admin_token(
        &self,
        cx: &CallContext,
        username: &str,
        password: &str,
    ) -> Result<HeaderValue> {
        let url = self.url("/integration/admin/token", &[])?;
        let mut spec = RequestSpec::new(Method::POST, url)
            .json(&json!({"username": username, "password": password}))
            .header(
                http::header::ACCEPT,
                HeaderValue::from_static("application/json"),
            );
        // Asking again only issues another token: safe to retry on 5xx and timeouts.
        spec.idempotent = true;
        let resp = self.upstream.send(cx, &self.gate, spec).await?;
        match resp.status {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(ConnectorError::AuthFailed(
                    "Magento refused the admin user name or password (or the account is locked, or needs two-factor authentication)".into(),
                ))
            }
            StatusCode::NOT_FOUND => {
                return Err(ConnectorError::Validation(
                    "no Magento REST API (admin token route) at this URL".into(),
                ))
            }
            s => {
                return Err(ConnectorError::upstream(
                    Some(s.as_u16()),
                    format!("Magento answered {s} to the admin token request"),
                ))
            }
        }
        let token = match resp.json()? {
            Value::String(t) if !t.trim().is_empty() => t,
            _ => {
                return Err(ConnectorError::bad_body(
                    "admin token",
                    "expected a JSON string",
                ))
            }
        };
        let mut h = HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
            ConnectorError::upstream(None, "Magento sent an admin token with invalid characters")
        })?;
        h.set_sensitive(true);
        Ok(h)
    }

    /// Sends with authentication; on a 401, renews what can be renewed and sends once more.
    /// Answers the raw response (any status) for the caller to interpret.
    async fn send_raw(
        &self,
        cx: &CallContext,
        method: Method,
        url: Url,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<UpstreamResponse> {
        let renewable = !matches!(self.auth, Auth::Bearer(_));
        let mut refused: Option<HeaderValue> = None;
        loop {
            let auth = self
                .authorization(cx, &method, &url, refused.as_ref())
                .await?;
            let mut spec = RequestSpec::new(method.clone(), url.clone())
                .header(http::header::AUTHORIZATION, auth.clone())
                .header(
                    http::header::ACCEPT,
                    HeaderValue::from_static("application/json"),
                );
            if let Some(b) = body {
                spec = spec.json(b);
            }
            spec.idempotent = idempotent;
            let resp = self.upstream.send(cx, &self.gate, spec).await?;
            if resp.status == StatusCode::UNAUTHORIZED && renewable && refused.is_none() {
                tracing::debug!("Magento answered 401: renewing authentication once");
                refused = Some(auth);
                continue;
            }
            return Ok(resp);
        }
    }

    async fn send(
        &self,
        cx: &CallContext,
        method: Method,
        url: Url,
        body: Option<&Value>,
        idempotent: bool,
        what: What<'_>,
    ) -> Result<Value> {
        let resp = self.send_raw(cx, method, url, body, idempotent).await?;
        check_status(&resp, what)?;
        resp.json()
    }

    async fn get(
        &self,
        cx: &CallContext,
        path: &str,
        query: &[(String, String)],
        what: What<'_>,
    ) -> Result<Value> {
        let url = self.url(path, query)?;
        self.send(cx, Method::GET, url, None, true, what).await
    }

    /// One search page: `(items, total_count)`.
    async fn search(
        &self,
        cx: &CallContext,
        path: &str,
        search: &Search,
        what: What<'_>,
    ) -> Result<(Vec<Value>, u64)> {
        let body = self.get(cx, path, &search.query(), what).await?;
        search_result(body, what.0)
    }

    /// Every item of a search (small sets: shipments of an order, a product's children).
    async fn search_all(
        &self,
        cx: &CallContext,
        path: &str,
        search: Search,
        what: What<'_>,
    ) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for page in 1u64.. {
            let s = search.clone().page(MAX_PAGE_SIZE, page);
            let (items, total) = self.search(cx, path, &s, what).await?;
            let n = items.len();
            out.extend(items);
            // Stop by total_count (a page past the end repeats the last one).
            if n == 0 || out.len() as u64 >= total {
                break;
            }
        }
        Ok(out)
    }

    /// One page of a list: the paging state is `{page, page_size}`.
    async fn list_raw(
        &self,
        cx: &CallContext,
        path: &str,
        search: Search,
        p: &ListParams,
    ) -> Result<(Vec<Value>, Option<Value>)> {
        let (page, size) = paging_state(p.state.as_ref(), p.limit)?;
        let s = search.page(size, page);
        let (mut items, total) = self.search(cx, path, &s, What("list")).await?;
        let skipped = (page - 1).saturating_mul(u64::from(size));
        if skipped >= total {
            // Past the end (objects were deleted while paging): Magento repeated its last
            // page, which the client has already seen.
            return Ok((Vec::new(), None));
        }
        items.truncate(size as usize);
        let seen = skipped + items.len() as u64;
        let next = (seen < total && !items.is_empty())
            .then(|| json!({"page": page + 1, "page_size": size}));
        Ok((items, next))
    }

    async fn count(&self, cx: &CallContext, path: &str, search: Search) -> Result<u64> {
        let s = search.page(1, 1);
        Ok(self.search(cx, path, &s, What("count")).await?.1)
    }

    /// Currency, media URL and weight units of the store, cached for [`STORE_FACTS_TTL`].
    async fn facts(&self, cx: &CallContext) -> Result<StoreFacts> {
        {
            let cached = self.facts.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((f, at)) = cached.as_ref() {
                if at.elapsed() < STORE_FACTS_TTL {
                    return Ok(f.clone());
                }
            }
        }
        let configs = self.store_configs(cx).await?;
        Ok(self.remember_facts(&configs))
    }

    /// The facts of a `storeConfigs` answer, remembered for the session.
    fn remember_facts(&self, configs: &[Value]) -> StoreFacts {
        let mine = self.own_config(configs);
        let unit = |c: &Value| {
            c.get("weight_unit")
                .and_then(Value::as_str)
                .and_then(WeightUnit::parse)
        };
        let facts = StoreFacts {
            currency: str_at(mine, "base_currency_code"),
            media_url: str_at(mine, "secure_base_media_url")
                .or_else(|| str_at(mine, "base_media_url"))
                .or_else(|| Some(format!("{}/media/", self.site_url))),
            weight_unit: mine.and_then(unit),
            weight_units: configs
                .iter()
                .filter_map(|c| {
                    let id = match c.get("id")? {
                        Value::Number(n) => n.to_string(),
                        Value::String(s) => s.clone(),
                        _ => return None,
                    };
                    Some((id, unit(c)?))
                })
                .collect(),
        };
        *self.facts.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((facts.clone(), Instant::now()));
        facts
    }

    async fn store_configs(&self, cx: &CallContext) -> Result<Vec<Value>> {
        let body = self
            .get(cx, "/store/storeConfigs", &[], What("store configuration"))
            .await?;
        into_array(body, "store configuration list")
    }

    fn own_config<'a>(&self, configs: &'a [Value]) -> Option<&'a Value> {
        configs
            .iter()
            .find(|c| c.get("code").and_then(Value::as_str) == Some(self.store_code.as_str()))
    }

    // -----------------------------------------------------------------------------------
    // Orders and shipments
    // -----------------------------------------------------------------------------------

    /// Maps a page of raw orders with what Magento keeps apart from them: credit memos,
    /// invoices and shipments (one search each for the whole page, and only for the orders
    /// that have any), the labels of the configurable options on their lines (attribute
    /// metadata, cached) and the weight unit of each order's store view (store
    /// configuration, cached).
    async fn orders_from(&self, cx: &CallContext, raws: Vec<Value>) -> Result<Vec<Order>> {
        if raws.is_empty() {
            return Ok(Vec::new());
        }
        let facts = self.facts(cx).await?;
        let (mut memo_ids, mut invoice_ids, mut shipment_ids) =
            (Vec::new(), Vec::new(), Vec::new());
        let mut attribute_ids = std::collections::BTreeSet::new();
        for raw in &raws {
            let Some(id) = raw_id(raw, "entity_id") else {
                continue;
            };
            let (memos, invoices, shipments) = mapping::order_documents(raw);
            if memos {
                memo_ids.push(id.clone());
            }
            if invoices {
                invoice_ids.push(id.clone());
            }
            if shipments {
                shipment_ids.push(id);
            }
            attribute_ids.extend(mapping::order_option_attributes(raw));
        }
        let (memos, invoices, shipments, attributes) = futures::try_join!(
            self.by_order(cx, "/creditmemos", &memo_ids, What("credit memo list")),
            self.by_order(cx, "/invoices", &invoice_ids, What("invoice list")),
            self.by_order(cx, "/shipments", &shipment_ids, What("shipment list")),
            self.option_labels(cx, &attribute_ids),
        )?;
        let none: Vec<Value> = Vec::new();
        raws.into_iter()
            .map(|raw| {
                let id = raw_id(&raw, "entity_id").unwrap_or_default();
                let ocx = mapping::OrderContext {
                    weight_unit: facts.unit_for(mapping::order_store_id(&raw).as_deref()),
                    attributes: Some(&attributes),
                    credit_memos: Some(memos.get(&id).unwrap_or(&none)),
                    invoices: Some(invoices.get(&id).unwrap_or(&none)),
                    shipments: Some(shipments.get(&id).unwrap_or(&none)),
                };
                let order = mapping::order_with(&raw, &ocx)?;
                Ok(cx.keep_raw(order, raw))
            })
            .collect()
    }

    async fn order_raw(&self, cx: &CallContext, id: &str) -> Result<Value> {
        let path = format!("/orders/{}", numeric_id(id, "order")?);
        self.get(cx, &path, &[], What("order")).await
    }

    /// The documents (credit memos, invoices, shipments) of some orders by order id, oldest
    /// first: searches with `order_id in (…)`, none when there are no orders.
    async fn by_order(
        &self,
        cx: &CallContext,
        path: &str,
        order_ids: &[String],
        what: What<'_>,
    ) -> Result<HashMap<String, Vec<Value>>> {
        let mut out: HashMap<String, Vec<Value>> = HashMap::new();
        for doc in self
            .search_in(cx, path, ("order_id", Some("entity_id")), order_ids, what)
            .await?
        {
            if let Some(order) = raw_id(&doc, "order_id") {
                out.entry(order).or_default().push(doc);
            }
        }
        Ok(out)
    }

    /// Every item of `path` whose `field` is one of `values`, ordered by `sort` (ascending)
    /// when given: `in` searches, split so no filter value is longer than
    /// [`MAX_IN_FILTER_CHARS`]. A value with a comma (which `in` would split) gets an `eq`
    /// search of its own.
    async fn search_in(
        &self,
        cx: &CallContext,
        path: &str,
        (field, sort): (&str, Option<&'static str>),
        values: &[String],
        what: What<'_>,
    ) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut chunk: Vec<&str> = Vec::new();
        let mut len = 0;
        let mut searches: Vec<Search> = Vec::new();
        for v in values {
            if v.contains(',') {
                searches.push(Search::default().filter(field, v.clone(), "eq"));
                continue;
            }
            if !chunk.is_empty() && len + v.len() + 1 > MAX_IN_FILTER_CHARS {
                searches.push(Search::default().filter(field, chunk.join(","), "in"));
                chunk.clear();
                len = 0;
            }
            len += v.len() + 1;
            chunk.push(v);
        }
        if !chunk.is_empty() {
            searches.push(Search::default().filter(field, chunk.join(","), "in"));
        }
        for s in searches {
            let s = match sort {
                Some(by) => s.sort(by, "ASC"),
                None => s,
            };
            out.extend(self.search_all(cx, path, s, what).await?);
        }
        Ok(out)
    }

    /// The configurable attributes among `ids` with their option labels (attribute
    /// metadata, cached like the products' variants use it). An attribute deleted since is
    /// left out.
    async fn option_labels(
        &self,
        cx: &CallContext,
        ids: &std::collections::BTreeSet<String>,
    ) -> Result<std::collections::BTreeMap<String, mapping::ConfigurableOption>> {
        let mut out = std::collections::BTreeMap::new();
        for id in ids {
            let meta = match self.attribute(cx, id).await {
                Ok(m) => m,
                Err(ConnectorError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            if let Some(o) = mapping::configurable_option(&json!({}), &meta) {
                out.insert(id.clone(), o);
            }
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------
    // Products
    // -----------------------------------------------------------------------------------

    /// A product by its entity id (Magento's product routes are keyed by SKU).
    async fn product_raw(&self, cx: &CallContext, id: &str) -> Result<Value> {
        let id = numeric_id(id, "product")?;
        let search = Search::default().filter("entity_id", id, "eq").page(1, 1);
        let (items, total) = self
            .search(cx, "/products", &search, What("product"))
            .await?;
        match items.into_iter().next() {
            Some(p) if total > 0 => Ok(p),
            _ => Err(ConnectorError::NotFound(
                "Magento has no such product".into(),
            )),
        }
    }

    /// Attribute metadata (code, option labels), cached for a while.
    async fn attribute(&self, cx: &CallContext, attribute_id: &str) -> Result<Value> {
        {
            let cache = self.attributes.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((v, at)) = cache.get(attribute_id) {
                if at.elapsed() < ATTRIBUTE_TTL {
                    return Ok(v.clone());
                }
            }
        }
        let path = format!("/products/attributes/{}", segment(attribute_id)?);
        let v = self.get(cx, &path, &[], What("product attribute")).await?;
        self.attributes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(attribute_id.to_owned(), (v.clone(), Instant::now()));
        Ok(v)
    }

    /// The raw children of a configurable product.
    async fn children_raw(&self, cx: &CallContext, sku: &str) -> Result<Vec<Value>> {
        let path = format!("/configurable-products/{}/children", encode_segment(sku));
        let body = self.get(cx, &path, &[], What("product")).await?;
        into_array(body, "child product list")
    }

    /// What a configurable product's variants are made of: its options (with their values'
    /// labels from the attributes' metadata), its children, and the children's legacy
    /// stock quantities by id (one product search: the children route carries no stock
    /// items).
    async fn configurable_parts(&self, cx: &CallContext, sku: &str) -> Result<Configurable> {
        let path = format!("/configurable-products/{}/options/all", encode_segment(sku));
        let options_raw = into_array(
            self.get(cx, &path, &[], What("product")).await?,
            "configurable option list",
        )?;
        let mut options = Vec::new();
        for o in &options_raw {
            let Some(attr_id) = o.get("attribute_id").and_then(|v| match v {
                Value::String(s) => non_empty(Some(s)),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }) else {
                continue;
            };
            let meta = self.attribute(cx, &attr_id).await?;
            options.extend(mapping::configurable_option(o, &meta));
        }
        let children = self.children_raw(cx, sku).await?;
        let ids: Vec<String> = children
            .iter()
            .filter_map(|c| raw_id(c, "id"))
            .filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        let mut stock: HashMap<String, Option<i64>> = HashMap::new();
        if !ids.is_empty() {
            let search = Search::default().filter("entity_id", ids.join(","), "in");
            for p in self
                .search_all(cx, "/products", search, What("product"))
                .await?
            {
                if let Some(id) = raw_id(&p, "id") {
                    stock.insert(id, mapping::stock_item(&p).1);
                }
            }
        }
        Ok(Configurable {
            options,
            children,
            stock,
        })
    }

    async fn maybe_configurable_parts(
        &self,
        cx: &CallContext,
        sku: Option<String>,
    ) -> Result<Option<Configurable>> {
        match sku {
            Some(sku) => self.configurable_parts(cx, &sku).await.map(Some),
            None => Ok(None),
        }
    }

    /// Maps a page of raw products: configurable ones with their variants (a few requests
    /// each, a few products at a time, in order), and every item's stock per MSI source
    /// from one source item search for the whole page.
    async fn products_from(&self, cx: &CallContext, raws: Vec<Value>) -> Result<Vec<Product>> {
        let facts = self.facts(cx).await?;
        let configurable: Vec<Option<String>> = raws
            .iter()
            .map(|raw| {
                mapping::is_configurable(raw)
                    .then(|| mapping::product_sku(raw))
                    .flatten()
            })
            .collect();
        let parts: Vec<Option<Configurable>> = futures::stream::iter(configurable)
            .map(|sku| self.maybe_configurable_parts(cx, sku))
            .buffered(VARIANT_FETCH_CONCURRENCY)
            .try_collect()
            .await?;
        let mut skus: Vec<String> = Vec::new();
        for (raw, part) in raws.iter().zip(&parts) {
            match part {
                Some(c) => skus.extend(c.children.iter().filter_map(mapping::product_sku)),
                None => skus.extend(mapping::product_sku(raw)),
            }
        }
        skus.sort();
        skus.dedup();
        let levels = match self.sources(cx).await? {
            Some(_) if !skus.is_empty() => {
                let items = self
                    .search_in(
                        cx,
                        "/inventory/source-items",
                        ("sku", None),
                        &skus,
                        What("source item list"),
                    )
                    .await?;
                Some(mapping::source_item_levels(&items))
            }
            Some(_) => Some(Default::default()),
            None => None,
        };
        let stock_of = |raw: &Value| match &levels {
            None => mapping::Stock::SingleStock,
            Some(map) => mapping::Stock::Sources(
                mapping::product_sku(raw)
                    .and_then(|sku| map.get(&sku).cloned())
                    .unwrap_or_default(),
            ),
        };
        let currency = facts.currency.as_deref();
        raws.into_iter()
            .zip(parts)
            .map(|(raw, part)| {
                let variants = match &part {
                    Some(c) => c
                        .children
                        .iter()
                        .map(|child| {
                            let id = raw_id(child, "id").unwrap_or_default();
                            mapping::variant(
                                child,
                                &mapping::VariantContext {
                                    options: &c.options,
                                    quantity: c.stock.get(&id).copied().flatten(),
                                    stock: stock_of(child),
                                    currency,
                                    weight_unit: facts.weight_unit,
                                },
                            )
                        })
                        .collect::<Result<Vec<_>>>()?,
                    None => Vec::new(),
                };
                let pcx = mapping::ProductContext {
                    media_url: facts.media_url.as_deref(),
                    currency,
                    weight_unit: facts.weight_unit,
                    stock: stock_of(&raw),
                    variants,
                };
                Ok(cx.keep_raw(mapping::product(&raw, &pcx)?, raw))
            })
            .collect()
    }

    /// The store's MSI sources, or `None` when the store has no MSI (the MSI modules are
    /// disabled or removed: the route does not exist). Cached for [`SOURCES_TTL`]; the
    /// first [`MAX_LOCATIONS`] only.
    async fn sources(&self, cx: &CallContext) -> Result<Option<Vec<Value>>> {
        {
            let cached = self.sources.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((s, at)) = cached.as_ref() {
                if at.elapsed() < SOURCES_TTL {
                    return Ok(s.clone());
                }
            }
        }
        let page = u32::try_from(MAX_LOCATIONS)
            .unwrap_or(MAX_PAGE_SIZE)
            .min(MAX_PAGE_SIZE);
        let search = Search::default().page(page, 1);
        let sources = match self
            .search(cx, "/inventory/sources", &search, What("inventory source"))
            .await
        {
            Ok((items, _)) => Some(items),
            Err(ConnectorError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        *self.sources.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((sources.clone(), Instant::now()));
        Ok(sources)
    }

    /// The quantity per source of one SKU (MSI), in Magento's order.
    async fn source_levels(&self, cx: &CallContext, sku: &str) -> Result<Vec<InventoryLevel>> {
        let search = Search::default().filter("sku", sku, "eq");
        let items = self
            .search_all(cx, "/inventory/source-items", search, What("source item"))
            .await?;
        Ok(mapping::source_item_levels(&items)
            .remove(sku)
            .unwrap_or_default())
    }

    /// `POST /V1/inventory/source-items`: sets these sources' quantities of one SKU.
    async fn save_source_items(
        &self,
        cx: &CallContext,
        sku: &str,
        levels: &[(String, i64)],
    ) -> Result<()> {
        let url = self.url_in("all", "/inventory/source-items", &[])?;
        // Setting absolute quantities twice is harmless: retried like a read.
        self.send(
            cx,
            Method::POST,
            url,
            Some(&mapping::source_items_body(sku, levels)),
            true,
            What("source item"),
        )
        .await?;
        Ok(())
    }

    /// Sets the total quantity of one simple product. With MSI: the product's one source
    /// (`default` when it has none yet); with several, the difference is applied at the
    /// primary one (`default` when the product is assigned to it, else the first) and the
    /// others keep theirs. Without MSI: the legacy stock item.
    async fn set_quantity(&self, cx: &CallContext, sku: &str, raw: &Value, qty: i64) -> Result<()> {
        if qty < 0 {
            return Err(ConnectorError::Validation(
                "quantity must not be negative".into(),
            ));
        }
        if self.sources(cx).await?.is_none() {
            return self.set_legacy_quantity(cx, sku, raw, qty).await;
        }
        let levels = self.source_levels(cx, sku).await?;
        let primary = levels
            .iter()
            .find(|l| l.location_id == mapping::DEFAULT_LOCATION)
            .or_else(|| levels.first())
            .map_or_else(
                || mapping::DEFAULT_LOCATION.to_owned(),
                |l| l.location_id.clone(),
            );
        let others: i64 = levels
            .iter()
            .filter(|l| l.location_id != primary)
            .map(|l| l.available)
            .sum();
        if others > qty {
            return Err(ConnectorError::Validation(format!(
                "this product's other sources hold {others} units, more than the quantity {qty}: set per-source quantities with inventory_levels"
            )));
        }
        self.save_source_items(cx, sku, &[(primary, qty - others)])
            .await
    }

    /// Sets the quantity at exactly the given locations. With MSI the locations are source
    /// codes, checked first (one search): an unknown one is refused and nothing is
    /// written. Without MSI the only location is `default`, the legacy stock item.
    async fn set_levels(
        &self,
        cx: &CallContext,
        sku: &str,
        raw: &Value,
        levels: &[InventoryLevel],
    ) -> Result<()> {
        let unknown = |ids: Vec<&str>| {
            ConnectorError::Validation(format!(
                "this Magento store has no location {}: see GET …/locations",
                ids.iter()
                    .map(|i| format!("{i:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        if self.sources(cx).await?.is_none() {
            let others: Vec<&str> = levels
                .iter()
                .map(|l| l.location_id.as_str())
                .filter(|id| *id != mapping::DEFAULT_LOCATION)
                .collect();
            if !others.is_empty() {
                return Err(unknown(others));
            }
            let qty = levels.first().map_or(0, |l| l.available);
            return self.set_legacy_quantity(cx, sku, raw, qty).await;
        }
        let codes: Vec<String> = levels.iter().map(|l| l.location_id.clone()).collect();
        let known: HashSet<String> = if codes.iter().any(|c| c.contains(',')) {
            HashSet::new()
        } else {
            self.search_in(
                cx,
                "/inventory/sources",
                ("source_code", None),
                &codes,
                What("inventory source"),
            )
            .await?
            .iter()
            .filter_map(|s| {
                s.get("source_code")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect()
        };
        let missing: Vec<&str> = codes
            .iter()
            .map(String::as_str)
            .filter(|c| !known.contains(*c))
            .collect();
        if !missing.is_empty() {
            return Err(unknown(missing));
        }
        let pairs: Vec<(String, i64)> = levels
            .iter()
            .map(|l| (l.location_id.clone(), l.available))
            .collect();
        self.save_source_items(cx, sku, &pairs).await
    }

    /// `PUT /V1/products/{sku}/stockItems/{itemId}` (a store without MSI).
    async fn set_legacy_quantity(
        &self,
        cx: &CallContext,
        sku: &str,
        raw: &Value,
        qty: i64,
    ) -> Result<()> {
        let fetched;
        let item = match mapping::stock_item_object(raw) {
            Some(item) => item,
            None => {
                let path = format!("/stockItems/{}", encode_segment(sku));
                fetched = self.get(cx, &path, &[], What("stock item")).await?;
                &fetched
            }
        };
        let item_id = item
            .get("item_id")
            .map(|v| v.to_string().trim_matches('"').to_owned())
            .filter(|s| !s.is_empty() && s != "null")
            .ok_or_else(|| {
                ConnectorError::upstream(None, "Magento sent a stock item without id")
            })?;
        let path = format!(
            "/products/{}/stockItems/{}",
            encode_segment(sku),
            segment(&item_id)?
        );
        let url = self.url_in("all", &path, &[])?;
        self.send(
            cx,
            Method::PUT,
            url,
            Some(&mapping::stock_item_body(item, qty)),
            true,
            What("stock item"),
        )
        .await?;
        Ok(())
    }

    /// `PUT /all/V1/products/{sku}` when the body changes anything.
    async fn put_product(&self, cx: &CallContext, sku: &str, body: &Value) -> Result<()> {
        if !mapping::body_changes(body) {
            return Ok(());
        }
        let url = self.url_in("all", &format!("/products/{}", encode_segment(sku)), &[])?;
        self.send(cx, Method::PUT, url, Some(body), true, What("product"))
            .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Free helpers
// ---------------------------------------------------------------------------------------

/// The parts of a configurable product its variants are mapped from.
struct Configurable {
    options: Vec<mapping::ConfigurableOption>,
    children: Vec<Value>,
    /// Legacy stock quantity by child id (`None`: stock not managed).
    stock: HashMap<String, Option<i64>>,
}

/// An id field of a raw object as text (`3` or `"3"`); `None` when absent or `0`.
fn raw_id(v: &Value, key: &str) -> Option<String> {
    let text = match v.get(key)? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    cartgate_connector::lenient::id_text(Some(&text))
}

fn str_at(v: Option<&Value>, key: &str) -> Option<String> {
    non_empty(v?.get(key)?.as_str())
}

/// Validates a client-supplied id and percent-encodes it for a path.
fn segment(id: &str) -> Result<String> {
    if !valid_id(id) {
        return Err(ConnectorError::Validation(format!("invalid id {id:?}")));
    }
    Ok(encode_segment(id))
}

/// Magento entity ids are positive integers; anything else cannot exist.
fn numeric_id(id: &str, what: &str) -> Result<String> {
    let id = id.trim();
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConnectorError::NotFound(format!(
            "Magento has no such {what}: {what} ids are numbers"
        )));
    }
    Ok(id.to_owned())
}

fn check_status(resp: &UpstreamResponse, what: What<'_>) -> Result<()> {
    let status = resp.status;
    if status.is_success() {
        return Ok(());
    }
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            let detail = magento_message(resp)
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            Err(ConnectorError::AuthFailed(format!(
                "Magento refused the stored credentials or their access rights{detail}"
            )))
        }
        StatusCode::NOT_FOUND => Err(ConnectorError::NotFound(format!(
            "Magento has no such {}",
            what.0
        ))),
        StatusCode::BAD_REQUEST => Err(ConnectorError::Validation(format!(
            "Magento rejected the request: {}",
            magento_message(resp).unwrap_or_else(|| "no reason given".into())
        ))),
        s => Err(ConnectorError::upstream(
            Some(s.as_u16()),
            format!("Magento answered {s} for the {}", what.0),
        )),
    }
}

/// Magento's error `message` with its `%1`/`%name` placeholders filled, bounded.
fn magento_message(resp: &UpstreamResponse) -> Option<String> {
    let v: Value = serde_json::from_slice(&resp.body).ok()?;
    let m = mapping::error_message(&v)?;
    Some(m.chars().take(MAX_MESSAGE_CHARS).collect())
}

fn into_array(v: Value, what: &str) -> Result<Vec<Value>> {
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(ConnectorError::bad_body(what, "expected a JSON array")),
    }
}

/// `{items, total_count}` of a search answer.
fn search_result(v: Value, what: &str) -> Result<(Vec<Value>, u64)> {
    let Value::Object(mut o) = v else {
        return Err(ConnectorError::bad_body(
            what,
            "expected a search result object",
        ));
    };
    let total = o
        .get("total_count")
        .and_then(|t| t.as_u64().or_else(|| t.as_str()?.parse().ok()))
        .ok_or_else(|| ConnectorError::bad_body(what, "it has no total_count"))?;
    let items = match o.remove("items") {
        Some(Value::Array(a)) => a,
        // Magento omits `items` when a search finds nothing.
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(ConnectorError::bad_body(what, "items is not a list")),
    };
    Ok((items, total))
}

fn paging_state(state: Option<&Value>, limit: u32) -> Result<(u64, u32)> {
    let bad = || ConnectorError::Validation("the cursor does not belong to this list".into());
    match state {
        None => Ok((1, limit.clamp(1, MAX_PAGE_SIZE))),
        Some(s) => {
            let page = s.get("page").and_then(Value::as_u64).ok_or_else(bad)?;
            let size = s.get("page_size").and_then(Value::as_u64).ok_or_else(bad)?;
            if page < 1 || !(1..=u64::from(MAX_PAGE_SIZE)).contains(&size) {
                return Err(bad());
            }
            Ok((page, size as u32))
        }
    }
}

/// Magento's date format for filters: UTC `YYYY-MM-DD HH:MM:SS`.
fn mg_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Magento dates have whole seconds: `x >= from` ⇔ `x >= ceil(from)`.
fn from_bound(from: DateTime<Utc>) -> String {
    let floor = from.duration_trunc(TimeDelta::seconds(1)).unwrap_or(from);
    mg_time(if floor == from {
        from
    } else {
        floor + TimeDelta::seconds(1)
    })
}

/// `x <= to` ⇔ `x <= floor(to)`.
fn to_bound(to: DateTime<Utc>) -> String {
    mg_time(to.duration_trunc(TimeDelta::seconds(1)).unwrap_or(to))
}

fn date_filters(f: &Filters, mut s: Search) -> Search {
    if let Some(t) = f.created_from {
        s = s.filter("created_at", from_bound(t), "gteq");
    }
    if let Some(t) = f.created_to {
        s = s.filter("created_at", to_bound(t), "lteq");
    }
    if let Some(t) = f.updated_from {
        s = s.filter("updated_at", from_bound(t), "gteq");
    }
    if let Some(t) = f.updated_to {
        s = s.filter("updated_at", to_bound(t), "lteq");
    }
    s
}

fn order_search(f: &Filters) -> Result<Search> {
    crate::FILTERS.check("orders", f)?;
    let mut s = date_filters(f, Search::default());
    if let Some(st) = &f.status {
        let states = mapping::order_states_for(st)?;
        s = if states.len() == 1 {
            s.filter("state", states[0], "eq")
        } else {
            s.filter("state", states.join(","), "in")
        };
    }
    Ok(s)
}

fn product_search(f: &Filters) -> Result<Search> {
    crate::FILTERS.check("products", f)?;
    // Children of configurable products are "not visible individually": they are listed
    // as their parent's variants, not as products of their own.
    let mut s = date_filters(f, Search::default()).filter("visibility", "1", "neq");
    if let Some(st) = &f.status {
        s = s.filter(
            "status",
            mapping::product_status_filter(st)?.to_string(),
            "eq",
        );
    }
    if let Some(sku) = &f.sku {
        s = s.filter("sku", sku.clone(), "eq");
    }
    Ok(s)
}

fn customer_search(f: &Filters) -> Result<Search> {
    crate::FILTERS.check("customers", f)?;
    let mut s = date_filters(f, Search::default());
    if let Some(e) = &f.email {
        s = s.filter("email", e.trim(), "eq");
    }
    Ok(s)
}

/// Checks the lines of a shipment against what is left to ship and answers the
/// `(order item id, qty)` pairs to send.
fn shipment_items(
    remaining: &std::collections::BTreeMap<String, i64>,
    lines: Option<&[ShipmentLine]>,
) -> Result<Vec<(String, i64)>> {
    let Some(lines) = lines.filter(|l| !l.is_empty()) else {
        let all: Vec<(String, i64)> = remaining
            .iter()
            .filter(|(_, q)| **q > 0)
            .map(|(id, q)| (id.clone(), *q))
            .collect();
        if all.is_empty() {
            return Err(ConnectorError::Validation(
                "this order has nothing left to ship".into(),
            ));
        }
        return Ok(all);
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for l in lines {
        let Some(left) = remaining.get(&l.line_item_id) else {
            return Err(ConnectorError::Validation(format!(
                "order has no line item {:?}",
                l.line_item_id
            )));
        };
        if l.quantity < 1 || l.quantity > *left {
            return Err(ConnectorError::Validation(format!(
                "line item {:?}: quantity must be between 1 and {left} (what is left to ship)",
                l.line_item_id
            )));
        }
        if !seen.insert(l.line_item_id.as_str()) {
            return Err(ConnectorError::Validation(format!(
                "line item {:?} is listed twice",
                l.line_item_id
            )));
        }
        out.push((l.line_item_id.clone(), l.quantity));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// The session
// ---------------------------------------------------------------------------------------

#[async_trait]
impl StoreSession for Session {
    async fn info(&self, cx: &CallContext) -> Result<StoreInfo> {
        // storeConfigs needs the credentials (Magento_Backend::store): a wrong key fails here.
        let configs = self.store_configs(cx).await.map_err(|e| match e {
            ConnectorError::NotFound(_) => ConnectorError::Validation(
                "no Magento REST API (V1) at this URL, or no such store view code".into(),
            ),
            e => e,
        })?;
        let mine = self.own_config(&configs).ok_or_else(|| {
            ConnectorError::Validation(format!(
                "this Magento store has no store view with code {:?}",
                self.store_code
            ))
        })?;
        let views = into_array(
            self.get(cx, "/store/storeViews", &[], What("store views"))
                .await?,
            "store view list",
        )?;
        let groups = into_array(
            self.get(cx, "/store/storeGroups", &[], What("store groups"))
                .await?,
            "store group list",
        )?;
        let view = views
            .iter()
            .find(|v| v.get("code").and_then(Value::as_str) == Some(self.store_code.as_str()));
        let group = view.and_then(|v| {
            let gid = v.get("store_group_id")?;
            groups.iter().find(|g| g.get("id") == Some(gid))
        });
        let facts = self.remember_facts(&configs);
        Ok(StoreInfo {
            // The store (group) name is what merchants name their shop; the view name
            // ("Default Store View") only when there is no group.
            name: str_at(group, "name")
                .or_else(|| str_at(view, "name"))
                .map(cartgate_connector::lenient::decoded),
            url: str_at(Some(mine), "secure_base_url")
                .or_else(|| str_at(Some(mine), "base_url"))
                .or_else(|| Some(self.site_url.clone())),
            currency: facts.currency,
            timezone: str_at(Some(mine), "timezone"),
            // Magento does not expose its version over REST.
            platform_version: None,
        })
    }

    async fn list_orders(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Order>> {
        let s = order_search(&p.filters)?.sort("entity_id", "DESC");
        let (raw, next) = self.list_raw(cx, "/orders", s, p).await?;
        let items = self.orders_from(cx, raw).await?;
        Ok(Page { items, next })
    }

    async fn count_orders(&self, cx: &CallContext, f: &Filters) -> Result<u64> {
        self.count(cx, "/orders", order_search(f)?).await
    }

    async fn get_order(&self, cx: &CallContext, id: &str) -> Result<Order> {
        let raw = self.order_raw(cx, id).await?;
        self.orders_from(cx, vec![raw])
            .await?
            .pop()
            .ok_or_else(|| ConnectorError::NotFound("Magento has no such order".into()))
    }

    async fn create_shipment(
        &self,
        cx: &CallContext,
        order_id: &str,
        s: &NewShipment,
    ) -> Result<Order> {
        s.validate()?;
        let raw = self.order_raw(cx, order_id).await?;
        let id = numeric_id(order_id, "order")?;
        let remaining = mapping::remaining_to_ship(&raw)?;
        let items = shipment_items(&remaining, s.line_items.as_deref())?;
        let body = mapping::ship_body(s, &items)?;
        let url = self.url(&format!("/order/{id}/ship"), &[])?;
        // Not retried: a second POST would ship twice.
        self.send(cx, Method::POST, url, Some(&body), false, What("order"))
            .await?;
        self.get_order(cx, &id).await
    }

    async fn list_products(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Product>> {
        let s = product_search(&p.filters)?.sort("entity_id", "DESC");
        let (raw, next) = self.list_raw(cx, "/products", s, p).await?;
        let items = self.products_from(cx, raw).await?;
        Ok(Page { items, next })
    }

    async fn count_products(&self, cx: &CallContext, f: &Filters) -> Result<u64> {
        self.count(cx, "/products", product_search(f)?).await
    }

    async fn get_product(&self, cx: &CallContext, id: &str) -> Result<Product> {
        let raw = self.product_raw(cx, id).await?;
        self.products_from(cx, vec![raw])
            .await?
            .pop()
            .ok_or_else(|| ConnectorError::NotFound("Magento has no such product".into()))
    }

    async fn create_product(&self, cx: &CallContext, p: &NewProduct) -> Result<Product> {
        let body = mapping::new_product_body(p)?;
        let url = self.url_in("all", "/products", &[])?;
        let raw = self
            .send(cx, Method::POST, url, Some(&body), false, What("product"))
            .await?;
        // Read it back through the store view, as lists show it.
        let id = raw
            .get("id")
            .map(|v| v.to_string().trim_matches('"').to_owned())
            .filter(|s| !s.is_empty() && s != "null")
            .ok_or_else(|| ConnectorError::bad_body("created product", "it has no id"))?;
        if let Some(q) = p.quantity {
            let sku = mapping::product_sku(&raw).unwrap_or_default();
            self.set_quantity(cx, &sku, &raw, q).await?;
        }
        self.get_product(cx, &id).await
    }

    async fn update_product(
        &self,
        cx: &CallContext,
        id: &str,
        u: &ProductUpdate,
    ) -> Result<Product> {
        // Refused before anything is read or written.
        mapping::refuse_unwritable(&u.barcode, &u.dimensions)?;
        let raw = self.product_raw(cx, id).await?;
        let sku = mapping::product_sku(&raw)
            .ok_or_else(|| ConnectorError::bad_body("Magento product", "it has no sku"))?;
        if (u.quantity.is_some() || u.inventory_levels.is_some()) && mapping::is_configurable(&raw)
        {
            return Err(ConnectorError::Validation(
                "a configurable product has no stock of its own: set its variants' quantities"
                    .into(),
            ));
        }
        let unit = match u.weight {
            Some(_) => self.facts(cx).await?.weight_unit,
            None => None,
        };
        let mut body = mapping::product_update_body(&sku, u, unit)?;
        if u.sku.is_some() {
            // A new SKU is only a rename when Magento knows which product: send its id.
            if let (Some(p), Some(pid)) = (body.get_mut("product"), raw.get("id")) {
                p["id"] = pid.clone();
            }
        }
        self.put_product(cx, &sku, &body).await?;
        let sku_now = mapping::product_sku(&body["product"]).unwrap_or(sku);
        if let Some(q) = u.quantity {
            self.set_quantity(cx, &sku_now, &raw, q).await?;
        }
        if let Some(levels) = &u.inventory_levels {
            self.set_levels(cx, &sku_now, &raw, levels).await?;
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
        mapping::refuse_unwritable(&u.barcode, &u.dimensions)?;
        let variant_id = numeric_id(variant_id, "variant")?;
        let parent = self.product_raw(cx, product_id).await?;
        let parent_sku = mapping::product_sku(&parent)
            .ok_or_else(|| ConnectorError::bad_body("Magento product", "it has no sku"))?;
        let not_found =
            || ConnectorError::NotFound("Magento has no such variant of this product".into());
        if !mapping::is_configurable(&parent) {
            return Err(not_found());
        }
        let children = self.children_raw(cx, &parent_sku).await?;
        let is_child = children
            .iter()
            .any(|c| raw_id(c, "id").as_deref() == Some(variant_id.as_str()));
        if !is_child {
            return Err(not_found());
        }
        let child = self.product_raw(cx, &variant_id).await?;
        let child_sku = mapping::product_sku(&child)
            .ok_or_else(|| ConnectorError::bad_body("Magento product", "it has no sku"))?;
        let update = ProductUpdate {
            price: u.price.clone(),
            sku: u.sku.clone(),
            weight: u.weight.clone(),
            ..Default::default()
        };
        let unit = match u.weight {
            Some(_) => self.facts(cx).await?.weight_unit,
            None => None,
        };
        let mut body = mapping::product_update_body(&child_sku, &update, unit)?;
        if u.sku.is_some() {
            if let (Some(p), Some(pid)) = (body.get_mut("product"), child.get("id")) {
                p["id"] = pid.clone();
            }
        }
        self.put_product(cx, &child_sku, &body).await?;
        let sku_now = mapping::product_sku(&body["product"]).unwrap_or(child_sku);
        if let Some(q) = u.quantity {
            self.set_quantity(cx, &sku_now, &child, q).await?;
        }
        if let Some(levels) = &u.inventory_levels {
            self.set_levels(cx, &sku_now, &child, levels).await?;
        }
        self.get_product(cx, product_id).await
    }

    async fn list_customers(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Customer>> {
        let s = customer_search(&p.filters)?.sort("entity_id", "DESC");
        let (raw, next) = self.list_raw(cx, "/customers/search", s, p).await?;
        let items = raw
            .into_iter()
            .map(|r| Ok(cx.keep_raw(mapping::customer(&r)?, r)))
            .collect::<Result<_>>()?;
        Ok(Page { items, next })
    }

    async fn count_customers(&self, cx: &CallContext, f: &Filters) -> Result<u64> {
        self.count(cx, "/customers/search", customer_search(f)?)
            .await
    }

    async fn get_customer(&self, cx: &CallContext, id: &str) -> Result<Customer> {
        let path = format!("/customers/{}", numeric_id(id, "customer")?);
        let raw = self.get(cx, &path, &[], What("customer")).await?;
        Ok(cx.keep_raw(mapping::customer(&raw)?, raw))
    }

    async fn list_categories(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Category>> {
        crate::FILTERS.check("categories", &p.filters)?;
        // Everything but the invisible tree root (level 0), oldest first.
        let s = Search::default()
            .filter("level", "0", "gt")
            .sort("entity_id", "ASC");
        let (raw, next) = self.list_raw(cx, "/categories/list", s, p).await?;
        let items = raw
            .into_iter()
            .map(|r| Ok(cx.keep_raw(mapping::category(&r)?, r)))
            .collect::<Result<_>>()?;
        Ok(Page { items, next })
    }

    async fn get_category(&self, cx: &CallContext, id: &str) -> Result<Category> {
        let id = numeric_id(id, "category")?;
        if id == mapping::TREE_ROOT_ID {
            return Err(ConnectorError::NotFound(
                "Magento's tree root (1) is not a category of the catalog".into(),
            ));
        }
        let raw = self
            .get(cx, &format!("/categories/{id}"), &[], What("category"))
            .await?;
        Ok(cx.keep_raw(mapping::category(&raw)?, raw))
    }

    async fn list_locations(&self, cx: &CallContext) -> Result<Vec<Location>> {
        match self.sources(cx).await? {
            Some(sources) => sources
                .iter()
                .take(MAX_LOCATIONS)
                .map(mapping::location)
                .collect(),
            // One legacy stock: one location.
            None => Ok(vec![mapping::single_stock_location()]),
        }
    }

    async fn proxy(&self, cx: &CallContext, r: &ProxyRequest) -> Result<ProxyResponse> {
        let method = r.http_method()?;
        let path = r.checked_path("/rest/{store_code}/V1")?;
        let query: Vec<(String, String)> = r
            .query
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let url = self.url(path, &query)?;
        // Defence in depth: whatever URL parsing made of the path, it stays under V1.
        let root = self.url("/", &[])?;
        if url.origin() != root.origin() || !url.path().starts_with(root.path()) {
            return Err(ConnectorError::Validation(
                "proxy path leaves the Magento REST API".into(),
            ));
        }
        let idempotent = method == Method::GET;
        let resp = self
            .send_raw(cx, method, url, r.body.as_ref(), idempotent)
            .await?;
        if resp.status == StatusCode::UNAUTHORIZED {
            // The stored credentials no longer work: the gateway marks the store.
            return Err(ConnectorError::AuthFailed(
                "Magento refused the stored credentials".into(),
            ));
        }
        Ok(resp.into_proxy_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_criteria_query() {
        let s = Search::default()
            .filter("created_at", "2024-05-01 10:00:00", "gteq")
            .filter("state", "new,pending_payment", "in")
            .sort("entity_id", "DESC")
            .page(50, 2);
        let q = query_string(&s.query());
        assert_eq!(
            q,
            "searchCriteria%5Bfilter_groups%5D%5B0%5D%5Bfilters%5D%5B0%5D%5Bfield%5D=created_at\
             &searchCriteria%5Bfilter_groups%5D%5B0%5D%5Bfilters%5D%5B0%5D%5Bvalue%5D=2024-05-01%2010%3A00%3A00\
             &searchCriteria%5Bfilter_groups%5D%5B0%5D%5Bfilters%5D%5B0%5D%5Bcondition_type%5D=gteq\
             &searchCriteria%5Bfilter_groups%5D%5B1%5D%5Bfilters%5D%5B0%5D%5Bfield%5D=state\
             &searchCriteria%5Bfilter_groups%5D%5B1%5D%5Bfilters%5D%5B0%5D%5Bvalue%5D=new%2Cpending_payment\
             &searchCriteria%5Bfilter_groups%5D%5B1%5D%5Bfilters%5D%5B0%5D%5Bcondition_type%5D=in\
             &searchCriteria%5BsortOrders%5D%5B0%5D%5Bfield%5D=entity_id\
             &searchCriteria%5BsortOrders%5D%5B0%5D%5Bdirection%5D=DESC\
             &searchCriteria%5BpageSize%5D=50&searchCriteria%5BcurrentPage%5D=2"
        );
        assert!(!q.contains('+'), "spaces are %20 for Magento's OAuth check");
        assert_eq!(query_string(&Search::default().query()), "searchCriteria=");
    }

    #[test]
    fn date_bounds_are_inclusive_and_whole_seconds() {
        let t: DateTime<Utc> = "2024-05-01T10:00:00.5Z".parse().expect("time");
        assert_eq!(from_bound(t), "2024-05-01 10:00:01");
        assert_eq!(to_bound(t), "2024-05-01 10:00:00");
        let t: DateTime<Utc> = "2024-05-01T10:00:00Z".parse().expect("time");
        assert_eq!(from_bound(t), "2024-05-01 10:00:00");
    }

    #[test]
    fn paging_state_is_checked() {
        assert_eq!(paging_state(None, 500).ok(), Some((1, 250)));
        assert_eq!(
            paging_state(Some(&json!({"page": 3, "page_size": 7})), 50).ok(),
            Some((3, 7))
        );
        assert!(paging_state(Some(&json!({"offset": 2})), 50).is_err());
        assert!(paging_state(Some(&json!({"page": 0, "page_size": 7})), 50).is_err());
    }

    #[test]
    fn shipment_lines_are_checked() {
        let remaining: std::collections::BTreeMap<String, i64> =
            [("1".to_string(), 2), ("2".to_string(), 0)].into();
        assert_eq!(
            shipment_items(&remaining, None).unwrap(),
            vec![("1".to_string(), 2)]
        );
        let line = |id: &str, q| ShipmentLine {
            line_item_id: id.into(),
            quantity: q,
        };
        assert!(shipment_items(&remaining, Some(&[line("1", 3)])).is_err());
        assert!(shipment_items(&remaining, Some(&[line("9", 1)])).is_err());
        assert!(shipment_items(&remaining, Some(&[line("1", 1), line("1", 1)])).is_err());
        assert_eq!(
            shipment_items(&remaining, Some(&[line("1", 1)])).unwrap(),
            vec![("1".to_string(), 1)]
        );
    }
}
