//! The Amazon store session: every upstream call of the connector.
//!
//! # Authentication
//!
//! Login with Amazon: the store's refresh token is exchanged at the LWA token endpoint
//! (core's [`RefreshGrant`], client credentials in the form body) for an access token
//! that lives an hour, sent as `x-amz-access-token`. The token lives in the session's
//! memory only ([`TokenCache`]): renewed a margin before it expires, and once more when
//! SP-API answers 401, or 403 saying the token expired. `invalid_grant` is the store's
//! credentials refused (`AuthFailed`, the store turns `auth_failed`). No SigV4.
//!
//! # Pacing
//!
//! SP-API keeps a token bucket per seller, app and operation ([`crate::limits`]). The
//! session keeps the same buckets in the shared [`Pacer`](cartgate_connector::pace::Pacer)
//! under `amazon:<endpoint>:<seller>:<operation>` (shared by every instance in Redis mode),
//! takes one unit per call before sending ([`pace::take_turn`]: a wait past the
//! request's deadline answers 429 `upstream_rate_limited` with `Retry-After` at once), adopts
//! the rate Amazon reports in `x-amzn-RateLimit-Limit`, and on an Amazon 429 empties the
//! bucket and waits its turn again, so clients do not see Amazon's 429s.
//!
//! # Marketplaces
//!
//! Products, prices and stock are read and written in the store's first marketplace
//! (`marketplace_ids[0]`, else the first one the seller participates in). Orders of
//! every marketplace are listed.
//!
//! Nothing here logs or formats credentials, tokens, URLs or bodies into errors except
//! Amazon's own error messages (they describe the request).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cartgate_connector::connector::ChangeOrder;
use cartgate_connector::http::{RequestSpec, StoreGate, Upstream, UpstreamResponse};
use cartgate_connector::model::*;
use cartgate_connector::pace::{self, Quota};
use cartgate_connector::page::MAX_LIMIT;
use cartgate_connector::token::{ClientAuth, RefreshGrant, TokenCache};
use cartgate_connector::util::encode_segment;
use cartgate_connector::{
    CallContext, ConnectorError, Filters, ListParams, Page, Result, StoreSession,
};
use chrono::{DateTime, SecondsFormat, Utc};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{json, Map, Value};
use url::Url;

use crate::limits::{self, Operation};
use crate::mapping::{self, Marketplace, ProductContext, WriteContext, MFN_LOCATION};
use crate::{StoreConfig, FILTERS};

/// Amazon requires one of createdAfter / lastUpdatedAfter on `searchOrders`. Without a
/// `created_from` or `updated_from` the session asks for orders created after this, before
/// any SP-API order, so a list shows the whole history.
pub const DEFAULT_ORDERS_SINCE: &str = "2000-01-01T00:00:00Z";
/// `searchOrders`' largest page.
const MAX_ORDERS_PAGE: u32 = 100;
/// `searchListingsItems`' largest page.
const MAX_LISTINGS_PAGE: u32 = 20;
/// SKUs per `getInventorySummaries` call (Amazon's maximum).
const INVENTORY_SKUS: usize = 50;
/// The datasets every order is read with.
const ORDER_DATA: &str = "BUYER,RECIPIENT,PROCEEDS,PROMOTION,FULFILLMENT,PACKAGES,PAYMENT";
/// The datasets every listing is read with.
const LISTING_DATA: &str = "summaries,attributes,offers,fulfillmentAvailability,relationships";
/// How long the seller's marketplace participations are trusted (Amazon allows one read
/// a minute).
const MARKETPLACES_TTL: Duration = Duration::from_secs(3600);
/// Amazon 429s one call may meet (each waits its turn in the bucket first, within the
/// request's deadline).
const MAX_THROTTLED: u32 = 10;
/// Family keys a filtered product walk remembers across pages (see `list_products`).
const MAX_SEEN_FAMILIES: usize = 50;
/// Longest Amazon message passed on to clients.
const MAX_MESSAGE_CHARS: usize = 300;
/// Language of written text attributes when the marketplace does not say.
const DEFAULT_LANGUAGE: &str = "en_US";
/// Product type of a new listing when the client names none.
pub const DEFAULT_PRODUCT_TYPE: &str = "PRODUCT";

/// A secret kept only in memory; never printed.
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

pub(crate) struct Session {
    upstream: Upstream,
    gate: StoreGate,
    /// The SP-API endpoint, without a trailing slash.
    base: String,
    lwa_endpoint: Url,
    refresh_token: Secret,
    client_id: String,
    client_secret: Secret,
    seller: String,
    configured_marketplaces: Vec<String>,
    token: TokenCache<HeaderValue>,
    marketplaces: tokio::sync::Mutex<Option<(Vec<Marketplace>, Instant)>>,
    /// `amazon:<endpoint>:<seller>`; each operation's bucket is `<prefix>:<operationId>`.
    pace_prefix: String,
    /// The rates Amazon reported per operation (`x-amzn-RateLimit-Limit`).
    learned: std::sync::Mutex<HashMap<&'static str, Quota>>,
}

/// What a request reads, for error messages (`"order"`).
#[derive(Clone, Copy)]
struct What<'a>(&'a str);

fn validation(m: impl Into<String>) -> ConnectorError {
    ConnectorError::Validation(m.into())
}

fn short(m: &str) -> String {
    let mut s: String = m.chars().take(MAX_MESSAGE_CHARS).collect();
    if m.chars().count() > MAX_MESSAGE_CHARS {
        s.push('…');
    }
    s
}

/// An SP-API answer that is not a success, as a connector error.
fn status_error(resp: &UpstreamResponse, what: What<'_>) -> ConnectorError {
    let (code, message) = mapping::error_of(&resp.body).unwrap_or_default();
    let said = if message.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", short(message.trim()))
    };
    match resp.status {
        StatusCode::NOT_FOUND => ConnectorError::NotFound(format!("no such {}", what.0)),
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT => {
            ConnectorError::Validation(format!("Amazon refused the request{said}"))
        }
        StatusCode::UNAUTHORIZED => ConnectorError::AuthFailed(format!(
            "Amazon refused the store's access token{said}"
        )),
        StatusCode::FORBIDDEN if token_refused(&code, &message) => ConnectorError::AuthFailed(
            format!("Amazon refused the store's access token{said}"),
        ),
        StatusCode::FORBIDDEN => ConnectorError::PermissionDenied(format!(
            "Amazon denied this to the app (the seller's authorization or the app's roles do not cover it){said}"
        )),
        StatusCode::TOO_MANY_REQUESTS => ConnectorError::RateLimited { retry_after: None },
        s if s.is_server_error() => {
            ConnectorError::Unavailable(format!("Amazon answered {s}{said}"))
        }
        s => ConnectorError::upstream(
            Some(s.as_u16()),
            format!("Amazon answered {s} reading the {}{said}", what.0),
        ),
    }
}

/// A 403 that says the access token itself is bad (expired, revoked, malformed) rather
/// than the app lacking a role.
fn token_refused(code: &str, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    code == "Unauthorized"
        && (m.contains("expired") || m.contains("invalid") || m.contains("access token"))
        && !m.contains("access to requested resource is denied")
        || m.contains("token you provided has expired")
}

/// A 429's `Retry-After` in seconds (at most a minute), when it has one.
fn retry_after(resp: &UpstreamResponse) -> Option<Duration> {
    resp.header_str("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(60.0)))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The paging state of a list: Amazon's token and, for filtered product walks, the
/// families already answered.
fn paging_token(state: Option<&Value>) -> Result<Option<String>> {
    match state {
        None => Ok(None),
        Some(v) => match v.get("token").and_then(Value::as_str) {
            Some(t) if !t.is_empty() && t.len() <= 4096 => Ok(Some(t.to_owned())),
            _ => Err(validation("the cursor's paging state is not Amazon's")),
        },
    }
}

impl Session {
    pub(crate) fn new(upstream: Upstream, c: StoreConfig) -> Result<Self> {
        let base = c.endpoint.trim_end_matches('/').to_owned();
        let root =
            Url::parse(&base).map_err(|e| validation(format!("invalid SP-API endpoint: {e}")))?;
        upstream.check_url(&root)?;
        let lwa_endpoint = Url::parse(&c.lwa_endpoint)
            .map_err(|e| validation(format!("invalid LWA token endpoint: {e}")))?;
        upstream.check_url(&lwa_endpoint)?;
        Ok(Session {
            gate: upstream.gate(),
            upstream,
            pace_prefix: format!("amazon:{base}:{}", c.selling_partner_id),
            base,
            lwa_endpoint,
            refresh_token: Secret(c.refresh_token),
            client_id: c.client_id,
            client_secret: Secret(c.client_secret),
            seller: c.selling_partner_id,
            configured_marketplaces: c.marketplace_ids,
            token: TokenCache::new(),
            marketplaces: tokio::sync::Mutex::new(None),
            learned: std::sync::Mutex::default(),
        })
    }

    // -----------------------------------------------------------------------------------
    // Plumbing
    // -----------------------------------------------------------------------------------

    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url> {
        let mut url = Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| validation(format!("cannot build the request URL: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    /// The access token to send; `refused` is one SP-API just refused.
    async fn access_token(
        &self,
        cx: &CallContext,
        refused: Option<&HeaderValue>,
    ) -> Result<HeaderValue> {
        self.token
            .get(refused, || async {
                let grant = RefreshGrant {
                    platform: "Login with Amazon",
                    endpoint: &self.lwa_endpoint,
                    refresh_token: &self.refresh_token.0,
                    client_id: &self.client_id,
                    client_secret: &self.client_secret.0,
                    client_auth: ClientAuth::Body,
                    scope: None,
                };
                let t = grant.exchange(&self.upstream, cx, &self.gate).await?;
                Ok((t.header()?, t.expires_in))
            })
            .await
    }

    fn pace_key(&self, op: &Operation) -> String {
        format!("{}:{}", self.pace_prefix, op.name)
    }

    fn quota(&self, op: &Operation) -> Quota {
        self.learned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(op.name)
            .copied()
            .unwrap_or(op.quota())
    }

    /// Adopts the rate Amazon reports for the operation; answers the quota to pace by.
    async fn learn(&self, op: &Operation, resp: &UpstreamResponse) -> Result<Quota> {
        let current = self.quota(op);
        let Some(rate) = resp
            .header_str("x-amzn-ratelimit-limit")
            .and_then(limits::header_rate)
        else {
            return Ok(current);
        };
        if (rate - current.rate_per_sec).abs() <= current.rate_per_sec * 1e-6 {
            return Ok(current);
        }
        let quota = Quota {
            rate_per_sec: rate,
            burst: op.burst,
        };
        self.learned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(op.name, quota);
        // Hands the rate to the shared bucket (other instances pace by it too) without
        // changing what it holds.
        self.upstream
            .pacer()
            .observe(&self.pace_key(op), quota.burst, quota)
            .await?;
        Ok(quota)
    }

    /// Sends one SP-API call: paced, authenticated, renewed once on a refused token, and
    /// waiting its turn again after an Amazon 429. Answers the response for any status.
    async fn call(
        &self,
        cx: &CallContext,
        op: Option<&Operation>,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<UpstreamResponse> {
        let pacer = self.upstream.pacer().clone();
        let max_wait = self.upstream.config().deadline;
        let mut refused: Option<HeaderValue> = None;
        let mut throttled = 0;
        loop {
            let token = self.access_token(cx, refused.as_ref()).await?;
            if let Some(op) = op {
                let key = self.pace_key(op);
                pace::take_turn(pacer.as_ref(), cx, &key, 1.0, self.quota(op), max_wait).await?;
            }
            let mut spec = RequestSpec::new(method.clone(), url.clone())
                .header(HeaderName::from_static("x-amz-access-token"), token.clone())
                .header(
                    HeaderName::from_static("x-amz-date"),
                    HeaderValue::from_str(&Utc::now().format("%Y%m%dT%H%M%SZ").to_string())
                        .expect("a date is a header value"),
                )
                .header(
                    http::header::ACCEPT,
                    HeaderValue::from_static("application/json"),
                );
            if let Some(b) = body {
                spec = spec.json(b);
            }
            // Listings PUT and PATCH replace attributes: sending them twice changes nothing
            // more. confirmShipment is sent once.
            spec.idempotent = matches!(method, Method::GET | Method::PUT | Method::PATCH);
            spec.paced = op.is_some();
            let resp = self.upstream.send(cx, &self.gate, spec).await?;
            let quota = match op {
                Some(op) => self.learn(op, &resp).await?,
                None => Quota {
                    rate_per_sec: 1.0,
                    burst: 1.0,
                },
            };
            match resp.status {
                StatusCode::TOO_MANY_REQUESTS if op.is_some() && throttled < MAX_THROTTLED => {
                    throttled += 1;
                    let key = self.pace_key(op.expect("paced"));
                    match retry_after(&resp) {
                        // A 429 that says when to come back (a proxy in front, not
                        // Amazon's own) is waited out, within the request's deadline;
                        // the unit was not used.
                        Some(wait) => {
                            pacer.refund(&key, 1.0, quota).await?;
                            let past = Instant::now() + wait
                                >= cx.deadline.unwrap_or_else(|| Instant::now() + max_wait);
                            if past {
                                return Err(ConnectorError::RateLimited {
                                    retry_after: Some(wait),
                                });
                            }
                            tokio::time::sleep(wait).await;
                        }
                        // Amazon's own says nothing more: someone else used the seller's
                        // budget (another app instance, a changed plan), so the bucket is
                        // empty now; the next turn waits for a unit.
                        None => pacer.observe(&key, 0.0, quota).await?,
                    }
                    tracing::debug!("Amazon answered 429: waiting for the bucket");
                    continue;
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if refused.is_none() => {
                    let (code, message) = mapping::error_of(&resp.body).unwrap_or_default();
                    if resp.status == StatusCode::UNAUTHORIZED || token_refused(&code, &message) {
                        tracing::debug!("Amazon refused the access token: renewing it once");
                        // The refused call spent no unit of the operation's budget.
                        if let Some(op) = op {
                            pacer.refund(&self.pace_key(op), 1.0, quota).await?;
                        }
                        refused = Some(token);
                        continue;
                    }
                    return Ok(resp);
                }
                _ => return Ok(resp),
            }
        }
    }

    /// A call whose answer must be a success: its JSON (`null` for an empty body).
    async fn json(
        &self,
        cx: &CallContext,
        op: &Operation,
        method: Method,
        url: Url,
        body: Option<&Value>,
        what: What<'_>,
    ) -> Result<Value> {
        let resp = self.call(cx, Some(op), method, url, body).await?;
        if !resp.status.is_success() {
            return Err(status_error(&resp, what));
        }
        if resp.body.is_empty() {
            return Ok(Value::Null);
        }
        resp.json()
    }

    // -----------------------------------------------------------------------------------
    // Marketplaces
    // -----------------------------------------------------------------------------------

    /// The seller's marketplace participations, read at most once an hour.
    async fn marketplaces(&self, cx: &CallContext) -> Result<Vec<Marketplace>> {
        let mut slot = self.marketplaces.lock().await;
        if let Some((m, at)) = slot.as_ref() {
            if at.elapsed() < MARKETPLACES_TTL {
                return Ok(m.clone());
            }
        }
        let op = &limits::MARKETPLACE_PARTICIPATIONS;
        let url = self.url(op.path, &[])?;
        let raw = self
            .json(
                cx,
                op,
                Method::GET,
                url,
                None,
                What("marketplace participations"),
            )
            .await?;
        let list = mapping::marketplaces(&raw)?;
        *slot = Some((list.clone(), Instant::now()));
        Ok(list)
    }

    /// The marketplace products are read and written in (see the module docs).
    async fn primary(&self, cx: &CallContext) -> Result<String> {
        if let Some(m) = self.configured_marketplaces.first() {
            return Ok(m.clone());
        }
        let all = self.marketplaces(cx).await?;
        all.iter()
            .find(|m| m.participating)
            .or(all.first())
            .map(|m| m.id.clone())
            .ok_or_else(|| {
                validation("the seller participates in no marketplace: give marketplace_ids")
            })
    }

    /// The primary marketplace as the Sellers API describes it (currency, language).
    async fn primary_marketplace(&self, cx: &CallContext) -> Result<Marketplace> {
        let id = self.primary(cx).await?;
        let all = self.marketplaces(cx).await?;
        Ok(all.into_iter().find(|m| m.id == id).unwrap_or(Marketplace {
            id,
            store_name: None,
            country_code: None,
            currency: None,
            language: None,
            domain: None,
            participating: true,
        }))
    }

    // -----------------------------------------------------------------------------------
    // Orders
    // -----------------------------------------------------------------------------------

    fn order_url(&self, id: &str, data: &str) -> Result<Url> {
        self.url(
            &format!("/orders/2026-01-01/orders/{}", encode_segment(id)),
            &[("includedData", data.to_owned())],
        )
    }

    async fn raw_order(&self, cx: &CallContext, id: &str, data: &str) -> Result<Value> {
        let url = self.order_url(id, data)?;
        let resp = self
            .call(cx, Some(&limits::GET_ORDER), Method::GET, url, None)
            .await?;
        // Amazon answers 400 for an id that is no Amazon order id (not 3-7-7 digits): to a
        // client that is an order that does not exist.
        if resp.status == StatusCode::BAD_REQUEST {
            return Err(ConnectorError::NotFound(format!("no order {id}")));
        }
        if !resp.status.is_success() {
            return Err(status_error(&resp, What("order")));
        }
        let raw = resp.json()?;
        match raw.get("order") {
            Some(o) if o.is_object() => Ok(o.clone()),
            _ => Err(ConnectorError::bad_body("order", "no order")),
        }
    }

    /// The `searchOrders` query of a page: exactly one of createdAfter / lastUpdatedAfter,
    /// and what the client filters ask that Amazon cannot (applied to the answer).
    fn orders_query(
        &self,
        f: &Filters,
        limit: u32,
        token: Option<String>,
    ) -> Vec<(&'static str, String)> {
        let mut q: Vec<(&'static str, String)> = Vec::new();
        // Amazon wants "before" bounds at least two minutes in the past; later bounds are
        // left to the filter applied on the answer.
        let settled = Utc::now() - chrono::TimeDelta::minutes(2);
        let by_update = f.updated_from.is_some() || f.updated_to.is_some();
        let (after, before, after_key, before_key) = if by_update {
            (
                f.updated_from,
                f.updated_to,
                "lastUpdatedAfter",
                "lastUpdatedBefore",
            )
        } else {
            (
                f.created_from,
                f.created_to,
                "createdAfter",
                "createdBefore",
            )
        };
        q.push((
            after_key,
            after.map_or_else(|| DEFAULT_ORDERS_SINCE.to_owned(), rfc3339),
        ));
        if let Some(b) = before.filter(|b| *b < settled && after.is_none_or(|a| a <= *b)) {
            q.push((before_key, rfc3339(b)));
        }
        if let Some(s) = &f.status {
            q.push((
                "fulfillmentStatuses",
                mapping::fulfillment_statuses(s).join(","),
            ));
        }
        if !self.configured_marketplaces.is_empty() {
            q.push(("marketplaceIds", self.configured_marketplaces.join(",")));
        }
        q.push((
            "maxResultsPerPage",
            limit.clamp(1, MAX_ORDERS_PAGE).to_string(),
        ));
        q.push(("includedData", ORDER_DATA.to_owned()));
        if let Some(t) = token {
            q.push(("paginationToken", t));
        }
        q
    }

    // -----------------------------------------------------------------------------------
    // Listings
    // -----------------------------------------------------------------------------------

    fn listing_path(&self, sku: &str) -> String {
        format!(
            "/listings/2021-08-01/items/{}/{}",
            encode_segment(&self.seller),
            encode_segment(sku)
        )
    }

    /// One listing, or `None` when Amazon has no such SKU.
    async fn listing(
        &self,
        cx: &CallContext,
        marketplace: &str,
        sku: &str,
    ) -> Result<Option<Value>> {
        let url = self.url(
            &self.listing_path(sku),
            &[
                ("marketplaceIds", marketplace.to_owned()),
                ("includedData", LISTING_DATA.to_owned()),
            ],
        )?;
        let resp = self
            .call(cx, Some(&limits::GET_LISTING), Method::GET, url, None)
            .await?;
        match resp.status {
            s if s.is_success() => Ok(Some(resp.json()?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(status_error(&resp, What("product"))),
        }
    }

    /// One page of `searchListingsItems`.
    async fn search_listings(
        &self,
        cx: &CallContext,
        marketplace: &str,
        extra: Vec<(&'static str, String)>,
        page_size: u32,
        token: Option<String>,
    ) -> Result<(Vec<Value>, Option<String>)> {
        // By the filtered time when there is one (oldest change first, as the poller reads
        // it), else by SKU.
        let sort_by = if extra.iter().any(|(k, _)| k.starts_with("lastUpdated")) {
            "lastUpdatedDate"
        } else if extra.iter().any(|(k, _)| k.starts_with("created")) {
            "createdDate"
        } else {
            "sku"
        };
        let mut q = vec![
            ("marketplaceIds", marketplace.to_owned()),
            ("includedData", LISTING_DATA.to_owned()),
            (
                "pageSize",
                page_size.clamp(1, MAX_LISTINGS_PAGE).to_string(),
            ),
            ("sortBy", sort_by.to_owned()),
            ("sortOrder", "ASC".to_owned()),
        ];
        q.extend(extra);
        if let Some(t) = token {
            q.push(("pageToken", t));
        }
        let op = &limits::SEARCH_LISTINGS;
        let url = self.url(
            &format!(
                "/listings/2021-08-01/items/{}",
                encode_segment(&self.seller)
            ),
            &q,
        )?;
        let raw = self
            .json(cx, op, Method::GET, url, None, What("products"))
            .await?;
        let items = raw
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| ConnectorError::bad_body("listings search", "no items"))?;
        let next = raw
            .pointer("/pagination/nextToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        Ok((items, next))
    }

    /// Every child listing of a variation parent.
    async fn children(
        &self,
        cx: &CallContext,
        marketplace: &str,
        parent: &str,
    ) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let (items, next) = self
                .search_listings(
                    cx,
                    marketplace,
                    vec![("variationParentSku", parent.to_owned())],
                    MAX_LISTINGS_PAGE,
                    token,
                )
                .await?;
            out.extend(items);
            match next {
                Some(t) if out.len() < 10_000 => token = Some(t),
                _ => return Ok(out),
            }
        }
    }

    /// FBA stock of the SKUs Amazon fulfils among `items` (one call per 50 SKUs).
    async fn fba_stock(
        &self,
        cx: &CallContext,
        marketplace: &str,
        items: &[&Value],
    ) -> Result<HashMap<String, i64>> {
        let skus: BTreeSet<String> = items
            .iter()
            .filter(|i| {
                i.get("fulfillmentAvailability")
                    .and_then(Value::as_array)
                    .is_some_and(|a| {
                        a.iter().any(|f| {
                            f.get("fulfillmentChannelCode")
                                .and_then(Value::as_str)
                                .is_some_and(|c| c.starts_with("AMAZON"))
                        })
                    })
            })
            .filter_map(|i| mapping::item_sku(i))
            .collect();
        let skus: Vec<String> = skus.into_iter().collect();
        let mut out = HashMap::new();
        for chunk in skus.chunks(INVENTORY_SKUS) {
            let op = &limits::INVENTORY_SUMMARIES;
            let url = self.url(
                op.path,
                &[
                    ("details", "true".to_owned()),
                    ("granularityType", "Marketplace".to_owned()),
                    ("granularityId", marketplace.to_owned()),
                    ("marketplaceIds", marketplace.to_owned()),
                    ("sellerSkus", chunk.join(",")),
                ],
            )?;
            let raw = self
                .json(cx, op, Method::GET, url, None, What("FBA inventory"))
                .await?;
            out.extend(mapping::fba_quantities(&raw));
        }
        Ok(out)
    }

    /// Maps families (a listing and its children) with their FBA stock.
    async fn products_of(
        &self,
        cx: &CallContext,
        marketplace: &str,
        families: Vec<(Value, Vec<Value>)>,
    ) -> Result<Vec<Product>> {
        let all: Vec<&Value> = families
            .iter()
            .flat_map(|(p, c)| std::iter::once(p).chain(c.iter()))
            .collect();
        let fba = self.fba_stock(cx, marketplace, &all).await?;
        let pcx = ProductContext {
            marketplace_id: marketplace,
            fba: &fba,
            fba_location: mapping::fba_location(marketplace),
        };
        families
            .into_iter()
            .map(|(item, children)| {
                let p = mapping::product(&item, &children, &pcx)?;
                let raw = if cx.include_raw {
                    json!({"listing": item, "children": children})
                } else {
                    Value::Null
                };
                Ok(cx.keep_raw(p, raw))
            })
            .collect()
    }

    /// The family a listing belongs to: (the parent or the listing itself, its children).
    async fn family(
        &self,
        cx: &CallContext,
        marketplace: &str,
        item: Value,
    ) -> Result<(Value, Vec<Value>)> {
        let item = match mapping::parent_sku(&item, marketplace) {
            Some(parent) => match self.listing(cx, marketplace, &parent).await? {
                Some(p) => p,
                // An orphan child stands alone.
                None => return Ok((item, Vec::new())),
            },
            None => item,
        };
        if mapping::is_parent(&item, marketplace) {
            let sku = mapping::item_sku(&item).unwrap_or_default();
            let children = self.children(cx, marketplace, &sku).await?;
            Ok((item, children))
        } else {
            Ok((item, Vec::new()))
        }
    }

    async fn product_by_sku(&self, cx: &CallContext, sku: &str) -> Result<Product> {
        let marketplace = self.primary(cx).await?;
        let item = self.listing(cx, &marketplace, sku).await?.ok_or_else(|| {
            ConnectorError::NotFound(format!("no product {}", mapping::sku_id(sku)))
        })?;
        let family = self.family(cx, &marketplace, item).await?;
        self.products_of(cx, &marketplace, vec![family])
            .await?
            .pop()
            .ok_or_else(|| ConnectorError::bad_body("listing", "no product"))
    }

    /// Applies unified field changes to one listing (`PATCH`), after checking each can be
    /// written there.
    async fn patch_listing(
        &self,
        cx: &CallContext,
        item: &Value,
        changes: &ListingChanges<'_>,
    ) -> Result<()> {
        let marketplace = self.primary(cx).await?;
        let sku =
            mapping::item_sku(item).ok_or_else(|| ConnectorError::bad_body("listing", "no sku"))?;
        let fba_loc = mapping::fba_location(&marketplace);
        let by_amazon = item
            .get("fulfillmentAvailability")
            .and_then(Value::as_array)
            .is_some_and(|a| {
                a.iter().any(|f| {
                    f.get("fulfillmentChannelCode")
                        .and_then(Value::as_str)
                        .is_some_and(|c| c.starts_with("AMAZON"))
                })
            });
        // What the merchant-fulfilled stock becomes.
        let mut mfn: Option<i64> = None;
        if let Some(levels) = changes.levels {
            for l in levels {
                if l.location_id != MFN_LOCATION && l.location_id != fba_loc {
                    return Err(validation(format!(
                        "unknown location {:?}: this store's locations are {MFN_LOCATION} and {fba_loc}",
                        l.location_id
                    )));
                }
            }
            for l in levels {
                if l.location_id == fba_loc {
                    return Err(ConnectorError::Unsupported(format!(
                        "Amazon counts the stock at {fba_loc} (FBA) itself: it changes through inbound shipments, not listings"
                    )));
                }
                mfn = Some(l.available);
            }
        }
        if let Some(total) = changes.quantity {
            let fba = if by_amazon {
                self.fba_stock(cx, &marketplace, &[item])
                    .await?
                    .get(&sku)
                    .copied()
                    .unwrap_or(0)
            } else {
                0
            };
            if total < fba {
                return Err(validation(format!(
                    "quantity {total} is below the {fba} units Amazon holds for this listing (FBA); \
                     the merchant-fulfilled stock is what quantity sets"
                )));
            }
            mfn = Some(total - fba);
        }
        let needs_marketplace =
            changes.name.is_some() || changes.description.is_some() || changes.price.is_some();
        let mk = if needs_marketplace {
            Some(self.primary_marketplace(cx).await?)
        } else {
            None
        };
        let currency = mk.as_ref().and_then(|m| m.currency.clone());
        let language = mk
            .as_ref()
            .and_then(|m| m.language.clone())
            .unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned());
        let w = WriteContext {
            marketplace_id: &marketplace,
            language_tag: &language,
            currency: currency.as_deref(),
        };
        let mut patches = Vec::new();
        if let Some(n) = changes.name {
            patches.push(mapping::replace(
                "item_name",
                mapping::name_attribute(n, &w),
            ));
        }
        if let Some(d) = changes.description {
            patches.push(mapping::replace(
                "product_description",
                mapping::name_attribute(d, &w),
            ));
        }
        if let Some(p) = changes.price {
            patches.push(mapping::replace(
                "purchasable_offer",
                mapping::price_attribute(p, &w),
            ));
        }
        if let Some(q) = mfn {
            patches.push(mapping::replace(
                "fulfillment_availability",
                mapping::quantity_attribute(Some(item), q),
            ));
        }
        if let Some(b) = changes.barcode {
            patches.push(mapping::replace(
                "externally_assigned_product_identifier",
                mapping::barcode_attribute(b, &w),
            ));
        }
        if let Some(wt) = changes.weight {
            patches.push(mapping::replace(
                "item_package_weight",
                mapping::weight_attribute(wt, &w),
            ));
        }
        if let Some(d) = changes.dimensions {
            patches.push(mapping::replace(
                "item_package_dimensions",
                mapping::dimensions_attribute(d, &w),
            ));
        }
        if patches.is_empty() {
            return Ok(());
        }
        let product_type = mapping::product_type(item, &marketplace)
            .unwrap_or_else(|| DEFAULT_PRODUCT_TYPE.to_owned());
        let url = self.url(
            &self.listing_path(&sku),
            &[("marketplaceIds", marketplace.clone())],
        )?;
        let body = json!({"productType": product_type, "patches": patches});
        let raw = self
            .json(
                cx,
                &limits::PATCH_LISTING,
                Method::PATCH,
                url,
                Some(&body),
                What("product"),
            )
            .await?;
        submission_result(&raw)
    }
}

/// What a product or variant update changes on one listing.
struct ListingChanges<'a> {
    name: Option<&'a str>,
    description: Option<&'a str>,
    price: Option<&'a str>,
    quantity: Option<i64>,
    barcode: Option<&'a str>,
    weight: Option<&'a Weight>,
    dimensions: Option<&'a Dimensions>,
    levels: Option<&'a [InventoryLevel]>,
}

impl ListingChanges<'_> {
    fn touches_stock_or_price(&self) -> bool {
        self.price.is_some() || self.quantity.is_some() || self.levels.is_some()
    }
}

/// A listings submission Amazon found invalid is the client's input refused.
fn submission_result(raw: &Value) -> Result<()> {
    match raw.get("status").and_then(Value::as_str) {
        Some("INVALID") => Err(validation(format!(
            "Amazon refused the listing: {}",
            short(&mapping::submission_errors(raw).unwrap_or_else(|| "invalid".into()))
        ))),
        _ => Ok(()),
    }
}

/// Products matching the filters Amazon cannot apply to listings (status, on the
/// family).
fn product_matches(p: &Product, f: &Filters) -> bool {
    let status_ok = f.status.as_deref().is_none_or(|s| {
        serde_json::to_value(p.status)
            .ok()
            .and_then(|v| v.as_str().map(|x| x == s))
            .unwrap_or(false)
    });
    let within =
        |t: Option<DateTime<Utc>>, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| {
            (from.is_none() && to.is_none())
                || t.is_some_and(|t| from.is_none_or(|f| t >= f) && to.is_none_or(|e| t <= e))
        };
    status_ok
        && within(p.created_at, f.created_from, f.created_to)
        && within(p.updated_at, f.updated_from, f.updated_to)
}

fn order_matches(o: &Order, f: &Filters) -> bool {
    let within =
        |t: Option<DateTime<Utc>>, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| {
            (from.is_none() && to.is_none())
                || t.is_some_and(|t| from.is_none_or(|f| t >= f) && to.is_none_or(|e| t <= e))
        };
    within(o.created_at, f.created_from, f.created_to)
        && within(o.updated_at, f.updated_from, f.updated_to)
}

#[async_trait]
impl StoreSession for Session {
    async fn info(&self, cx: &CallContext) -> Result<StoreInfo> {
        let m = self.primary_marketplace(cx).await?;
        Ok(mapping::store_info(&m))
    }

    async fn list_orders(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Order>> {
        FILTERS.check("orders", &p.filters)?;
        if p.filters
            .status
            .as_deref()
            .is_some_and(|s| mapping::fulfillment_statuses(s).is_empty())
        {
            // A unified status no Amazon order has (on_hold, refunded, …).
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let token = paging_token(p.state.as_ref())?;
        let op = &limits::SEARCH_ORDERS;
        let url = self.url(op.path, &self.orders_query(&p.filters, p.limit, token))?;
        let raw = self
            .json(cx, op, Method::GET, url, None, What("orders"))
            .await?;
        let orders = raw
            .get("orders")
            .and_then(Value::as_array)
            .ok_or_else(|| ConnectorError::bad_body("orders search", "no orders"))?;
        let mut items = Vec::with_capacity(orders.len());
        for o in orders {
            let order = mapping::order(o)?;
            if order_matches(&order, &p.filters) {
                items.push(cx.keep_raw(order, o.clone()));
            }
        }
        let next = raw
            .pointer("/pagination/nextToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(|t| json!({"token": t}));
        Ok(Page { items, next })
    }

    async fn get_order(&self, cx: &CallContext, id: &str) -> Result<Order> {
        let raw = self.raw_order(cx, id, ORDER_DATA).await?;
        let order = mapping::order(&raw)?;
        Ok(cx.keep_raw(order, raw))
    }

    async fn create_shipment(
        &self,
        cx: &CallContext,
        order_id: &str,
        s: &NewShipment,
    ) -> Result<Order> {
        let raw = self.raw_order(cx, order_id, "FULFILLMENT,PACKAGES").await?;
        let facts = mapping::shipping_facts(&raw)?;
        if facts.fulfilled_by_amazon {
            return Err(validation(
                "Amazon fulfils this order itself (FBA): it ships it and adds the tracking; \
                 only merchant-fulfilled orders take shipments",
            ));
        }
        if matches!(
            facts.status.as_deref(),
            Some("CANCELLED" | "PENDING" | "PENDING_AVAILABILITY" | "UNFULFILLABLE")
        ) {
            return Err(validation(format!(
                "Amazon takes shipments only for unshipped or partly shipped orders; this one is {}",
                facts.status.as_deref().unwrap_or("?")
            )));
        }
        let remaining: HashMap<&str, i64> = facts
            .remaining
            .iter()
            .map(|(id, q)| (id.as_str(), *q))
            .collect();
        let items: Vec<(String, i64)> = match &s.line_items {
            None => facts
                .remaining
                .iter()
                .filter(|(_, q)| *q > 0)
                .cloned()
                .collect(),
            Some(lines) => {
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                for l in lines {
                    let Some(left) = remaining.get(l.line_item_id.as_str()) else {
                        return Err(validation(format!(
                            "order {order_id} has no line item {:?}",
                            l.line_item_id
                        )));
                    };
                    if !seen.insert(l.line_item_id.as_str()) {
                        return Err(validation(format!(
                            "line item {:?} is named twice",
                            l.line_item_id
                        )));
                    }
                    if l.quantity > *left {
                        return Err(validation(format!(
                            "line item {:?} has {left} unit(s) left to ship, not {}",
                            l.line_item_id, l.quantity
                        )));
                    }
                    out.push((l.line_item_id.clone(), l.quantity));
                }
                out
            }
        };
        if items.is_empty() {
            return Err(validation(format!(
                "order {order_id} has nothing left to ship"
            )));
        }
        let marketplace = match facts.marketplace_id {
            Some(m) => m,
            None => self.primary(cx).await?,
        };
        let body = mapping::confirm_shipment_body(
            &marketplace,
            facts.next_package_id,
            s,
            &items,
            Utc::now(),
        );
        let op = &limits::CONFIRM_SHIPMENT;
        let url = self.url(
            &format!(
                "/orders/v0/orders/{}/shipmentConfirmation",
                encode_segment(order_id)
            ),
            &[],
        )?;
        self.json(cx, op, Method::POST, url, Some(&body), What("order"))
            .await?;
        self.get_order(cx, order_id).await
    }

    async fn list_products(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Product>> {
        FILTERS.check("products", &p.filters)?;
        let f = &p.filters;
        let marketplace = self.primary(cx).await?;
        let mut extra: Vec<(&'static str, String)> = Vec::new();
        if let Some(sku) = &f.sku {
            extra.push(("identifiers", sku.clone()));
            extra.push(("identifiersType", "SKU".into()));
        }
        for (key, t) in [
            ("createdAfter", f.created_from),
            ("createdBefore", f.created_to),
            ("lastUpdatedAfter", f.updated_from),
            ("lastUpdatedBefore", f.updated_to),
        ] {
            if let Some(t) = t {
                extra.push((key, rfc3339(t)));
            }
        }
        // Without a filter on the listings, children are skipped (they come with their
        // parent); with one, a matching child brings its family, remembered across pages.
        let filtered = f.sku.is_some()
            || extra
                .iter()
                .any(|(k, _)| k.contains("After") || k.contains("Before"));
        let mut token = paging_token(p.state.as_ref())?;
        let mut seen: Vec<String> = p
            .state
            .as_ref()
            .and_then(|s| s.get("seen"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let page_size = p.limit.clamp(1, MAX_LIMIT).min(MAX_LISTINGS_PAGE);
        loop {
            let (items, next) = self
                .search_listings(cx, &marketplace, extra.clone(), page_size, token.clone())
                .await?;
            let mut families = Vec::new();
            let mut keys = HashSet::new();
            for item in items {
                let child_of = mapping::parent_sku(&item, &marketplace);
                if child_of.is_some() && !filtered {
                    continue;
                }
                let key = child_of
                    .clone()
                    .or_else(|| mapping::item_sku(&item))
                    .unwrap_or_default();
                if !keys.insert(key.clone()) || seen.contains(&key) {
                    continue;
                }
                families.push(self.family(cx, &marketplace, item).await?);
            }
            let products: Vec<Product> = self
                .products_of(cx, &marketplace, families)
                .await?
                .into_iter()
                .filter(|prod| product_matches(prod, f))
                .collect();
            if filtered {
                seen.extend(keys);
                let over = seen.len().saturating_sub(MAX_SEEN_FAMILIES);
                seen.drain(..over);
            }
            match next {
                Some(t) if products.is_empty() => token = Some(t),
                Some(t) => {
                    let mut state = json!({"token": t});
                    if filtered && !seen.is_empty() {
                        state["seen"] = json!(seen);
                    }
                    return Ok(Page {
                        items: products,
                        next: Some(state),
                    });
                }
                None => {
                    return Ok(Page {
                        items: products,
                        next: None,
                    })
                }
            }
        }
    }

    async fn get_product(&self, cx: &CallContext, id: &str) -> Result<Product> {
        let sku = mapping::id_sku(id)
            .ok_or_else(|| ConnectorError::NotFound(format!("no product {id}")))?;
        self.product_by_sku(cx, &sku).await
    }

    async fn create_product(&self, cx: &CallContext, p: &NewProduct) -> Result<Product> {
        let sku = p
            .sku
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| validation("Amazon listings are keyed by their SKU: send sku"))?;
        if sku.chars().count() > 40 {
            return Err(validation("Amazon SKUs have at most 40 characters"));
        }
        match p.status {
            None | Some(ProductStatus::Draft) => {}
            Some(_) => {
                return Err(ConnectorError::Unsupported(
                    "Amazon decides when a new listing becomes buyable (after it processes the \
                     submission): create it without status or as draft"
                        .into(),
                ))
            }
        }
        if !p.category_ids.is_empty() {
            return Err(ConnectorError::Unsupported(
                "Amazon files listings under a product type, not categories: send \
                 platform_fields.product_type"
                    .into(),
            ));
        }
        let pf = p.platform_fields.as_ref();
        let product_type = match pf.and_then(|m| m.get("product_type")) {
            None | Some(Value::Null) => DEFAULT_PRODUCT_TYPE.to_owned(),
            Some(Value::String(t)) if !t.trim().is_empty() && t.len() <= 100 => t.trim().to_owned(),
            Some(_) => return Err(validation(
                "platform_fields.product_type must be Amazon's product type name, e.g. \"LUGGAGE\"",
            )),
        };
        let requirements = match pf.and_then(|m| m.get("requirements")) {
            None | Some(Value::Null) => None,
            Some(Value::String(r))
                if ["LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY"].contains(&r.as_str()) =>
            {
                Some(r.clone())
            }
            Some(_) => {
                return Err(validation(
                    "platform_fields.requirements must be LISTING, LISTING_PRODUCT_ONLY or LISTING_OFFER_ONLY",
                ))
            }
        };
        let given: Option<&Map<String, Value>> = match pf.and_then(|m| m.get("attributes")) {
            None | Some(Value::Null) => None,
            Some(Value::Object(a)) => Some(a),
            Some(_) => {
                return Err(validation(
                    "platform_fields.attributes must be an object of Amazon listing attributes",
                ))
            }
        };
        if let Some(unknown) = pf.and_then(|m| {
            m.keys()
                .find(|k| !["product_type", "requirements", "attributes"].contains(&k.as_str()))
        }) {
            return Err(validation(format!(
                "unknown Amazon platform field {:?}: expected product_type, requirements, attributes",
                unknown.chars().take(64).collect::<String>()
            )));
        }
        let marketplace = self.primary_marketplace(cx).await?;
        if self.listing(cx, &marketplace.id, sku).await?.is_some() {
            return Err(validation(format!(
                "a listing with SKU {sku:?} exists already: update it instead"
            )));
        }
        let language = marketplace
            .language
            .clone()
            .unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned());
        let w = WriteContext {
            marketplace_id: &marketplace.id,
            language_tag: &language,
            currency: marketplace.currency.as_deref(),
        };
        let attributes = mapping::new_listing_attributes(p, given, &w);
        let mut body = json!({"productType": product_type, "attributes": attributes});
        if let Some(r) = requirements {
            body["requirements"] = json!(r);
        }
        let url = self.url(
            &self.listing_path(sku),
            &[("marketplaceIds", marketplace.id.clone())],
        )?;
        let raw = self
            .json(
                cx,
                &limits::PUT_LISTING,
                Method::PUT,
                url,
                Some(&body),
                What("product"),
            )
            .await?;
        submission_result(&raw)?;
        self.product_by_sku(cx, sku).await
    }

    async fn update_product(
        &self,
        cx: &CallContext,
        id: &str,
        u: &ProductUpdate,
    ) -> Result<Product> {
        if u.status.is_some() {
            return Err(ConnectorError::Unsupported(
                "Amazon decides whether a listing is buyable; status cannot be set".into(),
            ));
        }
        if u.sku.is_some() {
            return Err(ConnectorError::Unsupported(
                "an Amazon listing's SKU is its key and cannot change".into(),
            ));
        }
        let sku = mapping::id_sku(id)
            .ok_or_else(|| ConnectorError::NotFound(format!("no product {id}")))?;
        let marketplace = self.primary(cx).await?;
        let item = self
            .listing(cx, &marketplace, &sku)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no product {id}")))?;
        if mapping::parent_sku(&item, &marketplace).is_some() {
            return Err(ConnectorError::NotFound(format!(
                "no product {id}: it is a variant of another product"
            )));
        }
        let changes = ListingChanges {
            name: u.name.as_deref(),
            description: u.description.as_deref(),
            price: u.price.as_deref(),
            quantity: u.quantity,
            barcode: u.barcode.as_deref(),
            weight: u.weight.as_ref(),
            dimensions: u.dimensions.as_ref(),
            levels: u.inventory_levels.as_deref(),
        };
        if mapping::is_parent(&item, &marketplace) && changes.touches_stock_or_price() {
            return Err(validation(
                "this product has variants: set price and stock on each variant",
            ));
        }
        self.patch_listing(cx, &item, &changes).await?;
        self.product_by_sku(cx, &sku).await
    }

    async fn update_variant(
        &self,
        cx: &CallContext,
        product_id: &str,
        variant_id: &str,
        u: &VariantUpdate,
    ) -> Result<Product> {
        if u.sku.is_some() {
            return Err(ConnectorError::Unsupported(
                "an Amazon listing's SKU is its key and cannot change".into(),
            ));
        }
        let not_found =
            || ConnectorError::NotFound(format!("no variant {variant_id} of product {product_id}"));
        let parent = mapping::id_sku(product_id).ok_or_else(not_found)?;
        let sku = mapping::id_sku(variant_id).ok_or_else(not_found)?;
        let marketplace = self.primary(cx).await?;
        let item = self
            .listing(cx, &marketplace, &sku)
            .await?
            .ok_or_else(not_found)?;
        if mapping::parent_sku(&item, &marketplace).as_deref() != Some(parent.as_str()) {
            return Err(not_found());
        }
        let changes = ListingChanges {
            name: None,
            description: None,
            price: u.price.as_deref(),
            quantity: u.quantity,
            barcode: u.barcode.as_deref(),
            weight: u.weight.as_ref(),
            dimensions: u.dimensions.as_ref(),
            levels: u.inventory_levels.as_deref(),
        };
        self.patch_listing(cx, &item, &changes).await?;
        self.product_by_sku(cx, &parent).await
    }

    /// `searchOrders` and the listings search (sorted so) answer a time window oldest
    /// first, stamped by Amazon's clock.
    fn change_order(&self) -> ChangeOrder {
        ChangeOrder::Chronological
    }

    async fn list_locations(&self, cx: &CallContext) -> Result<Vec<Location>> {
        let marketplace = self.primary(cx).await?;
        Ok(mapping::locations(mapping::fba_location(&marketplace)))
    }

    async fn proxy(&self, cx: &CallContext, r: &ProxyRequest) -> Result<ProxyResponse> {
        let method = r.http_method()?;
        let path = r.checked_path("the SP-API endpoint")?;
        let query: Vec<(&str, String)> = r
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let url = self.url(path, &query)?;
        let op = limits::for_request(&method, path);
        let resp = self.call(cx, op, method, url, r.body.as_ref()).await?;
        Ok(resp.into_proxy_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_tokens_are_told_from_missing_roles() {
        assert!(token_refused(
            "Unauthorized",
            "The access token you provided has expired."
        ));
        assert!(!token_refused(
            "Unauthorized",
            "Access to requested resource is denied."
        ));
        assert!(!token_refused("InvalidInput", "bad date"));
    }

    #[test]
    fn paging_state_is_checked() {
        assert_eq!(paging_token(None).unwrap(), None);
        assert_eq!(
            paging_token(Some(&json!({"token": "abc"}))).unwrap(),
            Some("abc".into())
        );
        assert!(paging_token(Some(&json!({"page": 2}))).is_err());
    }

    #[test]
    fn client_side_filters() {
        let t = |s: &str| Some(s.parse::<DateTime<Utc>>().unwrap());
        let f = Filters {
            created_from: t("2025-01-01T00:00:00Z"),
            ..Default::default()
        };
        let mut o = mapping::order(&json!({"orderId": "1", "createdTime": "2025-02-01T00:00:00Z"}))
            .unwrap();
        assert!(order_matches(&o, &f));
        o.created_at = t("2024-12-31T23:59:59Z");
        assert!(!order_matches(&o, &f));
        assert!(order_matches(&o, &Filters::default()));
    }
}
