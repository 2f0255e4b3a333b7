//! The eBay store session: every upstream call of the connector.
//!
//! * Auth: the seller's refresh token is exchanged at `/identity/v1/oauth2/token` (HTTP
//!   Basic with the app's client id and secret) through the core
//!   [`RefreshGrant`](cartgate_connector::token::RefreshGrant), one access token per scope
//!   (each API asks only for its own scope, so a refresh token without one scope still
//!   serves the others, and a missing scope is named), cached in a core [`TokenCache`],
//!   renewed before expiry and once on a 401.
//! * Limits: eBay counts calls per app, per API and per day. Each call takes one unit from
//!   the app's bucket of that API in the core pacer (shared by every store of the app, and
//!   by every instance in Redis mode), refilled at the daily limit spread over the day, an
//!   hour's worth at most at once ([`Api::quota`]).
//! * Paging: getOrders and getInventoryItems by `offset`; the paging state handed to the
//!   gateway is `{"offset": n}` (the next position in eBay's list). Filters eBay cannot
//!   express exactly are applied to each object read, so a page may hold fewer items than
//!   asked and still have a next one.
//!
//! Nothing here logs or formats tokens, credentials or bodies into errors except eBay's own
//! error `longMessage` (it describes the request).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use cartgate_connector::connector::MAX_LOCATIONS;
use cartgate_connector::http::{RequestSpec, StoreGate, Upstream, UpstreamResponse};
use cartgate_connector::model::*;
use cartgate_connector::pace::{self, Quota};
use cartgate_connector::token::{
    AccessToken, ClientAuth, ClientCredentialsGrant, RefreshGrant, TokenCache,
};
use cartgate_connector::util::{encode_segment, valid_id};
use cartgate_connector::webhook::Inbound;
use cartgate_connector::{
    CallContext, ConnectorError, Filters, ListParams, Page, Result, StoreSession,
};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Value};
use url::Url;

use crate::inbound::{self, KeyCache};
use crate::mapping;
use crate::{StoreCredentials, FILTERS};

/// Largest page of getOrders (eBay refuses more).
pub const MAX_ORDER_PAGE: u32 = 200;
/// Page of getInventoryItems (its `offset` is a page number of pages this size; eBay
/// allows 1 to 200).
pub const INVENTORY_PAGE: u32 = 100;
/// eBay's limit of one bulkUpdatePriceQuantity call.
pub const MAX_BULK_UPDATES: usize = 25;
/// Upstream pages one list request reads at most while filtering; past it the page answers
/// what it found with a next cursor.
const MAX_SCAN_PAGES: usize = 10;
/// Objects a count reads at most when eBay cannot count for it.
pub const MAX_COUNT_SCAN: u64 = 10_000;
/// How far back getOrders reaches (eBay: two years), with a day's margin.
const ORDER_HISTORY: chrono::TimeDelta = chrono::TimeDelta::days(729);
/// Concurrent per-object reads (offers, groups, fulfillments) within the store gate.
const FETCH_CONCURRENCY: usize = 4;

const SCOPE_ROOT: &str = "https://api.ebay.com/oauth/api_scope";

/// The eBay APIs the connector calls, each with its OAuth scope and daily call limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Api {
    Fulfillment,
    Inventory,
    Account,
    Identity,
    Notification,
    /// The Notification API's app-level calls (config, destinations, public keys): an
    /// application token (client credentials grant) with the basic `api_scope`.
    NotificationApp,
    /// The token endpoint's refresh grants (limited per app and day too).
    OAuth,
    /// The token endpoint's client-credentials grants.
    OAuthApp,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Fulfillment => "sell.fulfillment",
            Api::Inventory => "sell.inventory",
            Api::Account => "sell.account",
            Api::Identity => "commerce.identity",
            Api::Notification => "commerce.notification",
            Api::NotificationApp => "commerce.notification.app",
            Api::OAuth => "oauth.refresh",
            Api::OAuthApp => "oauth.client_credentials",
        }
    }

    /// The scope a token for this API asks for.
    pub(crate) fn scope(self) -> &'static str {
        match self {
            Api::Fulfillment => "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
            Api::Inventory => "https://api.ebay.com/oauth/api_scope/sell.inventory",
            Api::Account => "https://api.ebay.com/oauth/api_scope/sell.account",
            Api::Identity => "https://api.ebay.com/oauth/api_scope/commerce.identity.readonly",
            Api::Notification => {
                "https://api.ebay.com/oauth/api_scope/commerce.notification.subscription"
            }
            Api::NotificationApp | Api::OAuth | Api::OAuthApp => SCOPE_ROOT,
        }
    }

    /// eBay's default daily call limit of an app for this API (developer.ebay.com "API
    /// call limits"; an app granted more after an application growth check paces
    /// conservatively).
    pub(crate) fn daily_limit(self) -> f64 {
        match self {
            Api::Fulfillment => 100_000.0,
            Api::Inventory => 2_000_000.0,
            Api::Account => 25_000.0,
            Api::Identity => 5_000.0,
            Api::Notification => 10_000.0,
            Api::NotificationApp => 10_000.0,
            Api::OAuth => 50_000.0,
            Api::OAuthApp => 1_000.0,
        }
    }

    /// The pacing budget: the daily limit spread evenly over the day, with at most an
    /// hour's worth at once.
    pub(crate) fn quota(self) -> Quota {
        let day = self.daily_limit();
        Quota {
            rate_per_sec: day / 86_400.0,
            burst: (day / 24.0).max(1.0),
        }
    }

    /// The API a proxied path belongs to (`/sell/{api}/v1/…`, `/commerce/{api}/v1/…`).
    fn of_path(path: &str) -> Option<Api> {
        let mut seg = path.trim_start_matches('/').split('/');
        Some(match (seg.next()?, seg.next()?) {
            ("sell", "fulfillment") => Api::Fulfillment,
            ("sell", "inventory") => Api::Inventory,
            ("sell", "account") => Api::Account,
            ("commerce", "identity") => Api::Identity,
            ("commerce", "notification") => Api::Notification,
            _ => return None,
        })
    }
}

/// Characters eBay wants percent-encoded in a `filter` value (`[`, `]`, `{`, `}`, `|`) and
/// what a query value must not carry raw; `:` `,` `.` stay as eBay documents them.
const FILTER_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'=')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'/');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, FILTER_VALUE).to_string()
}

/// A query string from pairs, each value encoded as eBay documents.
fn query(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn ebay_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The getOrders `filter` for unified filters at `now`, and whether eBay applies them
/// exactly (else each order is checked too). `None`: nothing can match.
pub(crate) fn order_filter(f: &Filters, now: DateTime<Utc>) -> Option<(String, bool)> {
    let oldest = now - ORDER_HISTORY;
    let mut parts = Vec::new();
    let mut exact = f.status.is_none();
    let range = |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| {
        let from = from.map_or(oldest, |t| t.max(oldest));
        let to = to.map(|t| t.min(now));
        if from > now || to.is_some_and(|t| t < from) {
            return None;
        }
        Some(match to {
            Some(to) => format!("[{}..{}]", ebay_time(from), ebay_time(to)),
            None => format!("[{}..]", ebay_time(from)),
        })
    };
    let created = f.created_from.is_some() || f.created_to.is_some();
    let updated = f.updated_from.is_some() || f.updated_to.is_some();
    if created || !updated {
        // Without any time filter eBay answers 90 days only: ask for all it keeps.
        parts.push(format!(
            "creationdate:{}",
            range(f.created_from, f.created_to)?
        ));
        // eBay ignores lastmodifieddate beside creationdate: checked per order.
        exact &= !updated;
    } else {
        parts.push(format!(
            "lastmodifieddate:{}",
            range(f.updated_from, f.updated_to)?
        ));
    }
    match f.status.as_deref() {
        Some("processing" | "on_hold") => {
            parts.push("orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}".into())
        }
        Some("completed") => parts.push("orderfulfillmentstatus:{FULFILLED|IN_PROGRESS}".into()),
        _ => {}
    }
    Some((parts.join(","), exact))
}

/// Does this raw order pass the unified filters (the ones eBay could not apply)?
pub(crate) fn order_matches(o: &Value, f: &Filters) -> bool {
    let t = |p: &str| cartgate_connector::util::utc_time(o.pointer(p).and_then(Value::as_str));
    let within =
        |at: Option<DateTime<Utc>>, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| {
            (from.is_none() && to.is_none())
                || at.is_some_and(|at| from.is_none_or(|f| at >= f) && to.is_none_or(|t| at <= t))
        };
    let status_ok = f.status.as_deref().is_none_or(|s| {
        serde_json::to_value(mapping::order_status(o))
            .ok()
            .and_then(|v| v.as_str().map(|x| x == s))
            .unwrap_or(false)
    });
    status_ok
        && within(t("/creationDate"), f.created_from, f.created_to)
        && within(t("/lastModifiedDate"), f.updated_from, f.updated_to)
}

fn offset_of(state: &Option<Value>) -> Result<u64> {
    match state {
        None => Ok(0),
        Some(s) => s
            .get("offset")
            .and_then(Value::as_u64)
            .ok_or_else(|| ConnectorError::Validation("invalid cursor".into())),
    }
}

/// The last path segment of a `Location` header (eBay names created resources there).
fn location_id(resp: &UpstreamResponse) -> Option<String> {
    let loc = resp.header_str("location")?;
    let path = loc.split(['?', '#']).next()?;
    let id = path.trim_end_matches('/').rsplit('/').next()?;
    let id = percent_encoding::percent_decode_str(id)
        .decode_utf8()
        .ok()?;
    valid_id(&id).then(|| id.into_owned())
}

pub(crate) struct Session {
    upstream: Upstream,
    gate: StoreGate,
    creds: StoreCredentials,
    token_url: Url,
    /// User access tokens (refresh grant), one per scope.
    tokens: HashMap<&'static str, TokenCache<AccessToken>>,
    /// The application token (client credentials grant).
    app_token: TokenCache<AccessToken>,
    keys: Arc<KeyCache>,
}

/// What a request reads, for error messages (`"order"`).
#[derive(Clone, Copy)]
struct What<'a>(&'a str);

impl Session {
    pub(crate) fn new(
        upstream: Upstream,
        creds: StoreCredentials,
        keys: Arc<KeyCache>,
    ) -> Result<Self> {
        for base in [&creds.endpoint, &creds.identity_endpoint] {
            let url = Url::parse(base)
                .map_err(|e| ConnectorError::Validation(format!("invalid eBay endpoint: {e}")))?;
            upstream.check_url(&url)?;
        }
        let token_url = Url::parse(&creds.token_url)
            .map_err(|e| ConnectorError::Validation(format!("invalid eBay auth endpoint: {e}")))?;
        upstream.check_url(&token_url)?;
        let tokens = [
            Api::Fulfillment,
            Api::Inventory,
            Api::Account,
            Api::Identity,
            Api::Notification,
        ]
        .into_iter()
        .map(|a| (a.scope(), TokenCache::new()))
        .collect();
        Ok(Session {
            gate: upstream.gate(),
            upstream,
            creds,
            token_url,
            tokens,
            app_token: TokenCache::new(),
            keys,
        })
    }

    // -----------------------------------------------------------------------------------
    // Plumbing
    // -----------------------------------------------------------------------------------

    fn base(&self, api: Api) -> String {
        match api {
            Api::Fulfillment => format!("{}/sell/fulfillment/v1", self.creds.endpoint),
            Api::Inventory => format!("{}/sell/inventory/v1", self.creds.endpoint),
            Api::Account => format!("{}/sell/account/v1", self.creds.endpoint),
            Api::Identity => format!("{}/commerce/identity/v1", self.creds.identity_endpoint),
            Api::Notification | Api::NotificationApp => {
                format!("{}/commerce/notification/v1", self.creds.endpoint)
            }
            Api::OAuth | Api::OAuthApp => self.creds.token_url.clone(),
        }
    }

    fn url(&self, api: Api, path: &str, query: &str) -> Result<Url> {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        Url::parse(&format!("{}{path}{q}", self.base(api)))
            .map_err(|e| ConnectorError::Validation(format!("cannot build the request URL: {e}")))
    }

    /// One unit of the app's daily budget of `api`.
    async fn pace(&self, cx: &CallContext, api: Api) -> Result<()> {
        let key = format!("ebay:{}:{}", self.creds.client_id, api.name());
        let max_wait = self.upstream.config().max_retry_wait;
        pace::take_turn(
            self.upstream.pacer().as_ref(),
            cx,
            &key,
            1.0,
            api.quota(),
            max_wait,
        )
        .await
    }

    /// An access token for `api`; `refused` is one eBay just refused (renewed once).
    async fn token(
        &self,
        cx: &CallContext,
        api: Api,
        refused: Option<&AccessToken>,
    ) -> Result<AccessToken> {
        let scope = api.scope();
        let grant = RefreshGrant {
            platform: "eBay",
            endpoint: &self.token_url,
            refresh_token: &self.creds.refresh_token,
            client_id: &self.creds.client_id,
            client_secret: &self.creds.client_secret,
            client_auth: ClientAuth::Basic,
            scope: Some(scope),
        };
        if api == Api::NotificationApp {
            return self
                .app_token
                .get(refused, || async {
                    self.pace(cx, Api::OAuthApp).await?;
                    let t = ClientCredentialsGrant(grant)
                        .exchange(&self.upstream, cx, &self.gate)
                        .await?;
                    let lifetime = t.expires_in;
                    Ok((t, lifetime))
                })
                .await;
        }
        let cache = self
            .tokens
            .get(scope)
            .ok_or_else(|| ConnectorError::upstream(None, "no token cache for this scope"))?;
        cache
            .get(refused, || async {
                self.pace(cx, Api::OAuth).await?;
                let t = grant.exchange(&self.upstream, cx, &self.gate).await?;
                let lifetime = t.expires_in;
                Ok((t, lifetime))
            })
            .await
    }

    /// Sends with the API's token and pacing; on a 401, renews the token and sends once
    /// more. Answers the raw response (any status) for the caller to interpret.
    async fn send_raw(
        &self,
        cx: &CallContext,
        api: Api,
        method: Method,
        url: Url,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<UpstreamResponse> {
        self.pace(cx, api).await?;
        let mut refused: Option<AccessToken> = None;
        loop {
            let token = self.token(cx, api, refused.as_ref()).await?;
            let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.token))
                .map_err(|_| ConnectorError::upstream(None, "eBay sent an unusable token"))?;
            bearer.set_sensitive(true);
            let mut spec = RequestSpec::new(method.clone(), url.clone())
                .header(http::header::AUTHORIZATION, bearer)
                .header(
                    http::header::ACCEPT,
                    HeaderValue::from_static("application/json"),
                )
                .header(
                    HeaderName::from_static("x-ebay-c-marketplace-id"),
                    HeaderValue::from_static(self.creds.marketplace.id),
                );
            if let Some(b) = body {
                spec = spec.json(b).header(
                    http::header::CONTENT_LANGUAGE,
                    HeaderValue::from_static(self.creds.marketplace.locale),
                );
            }
            spec.idempotent = idempotent;
            let resp = self.upstream.send(cx, &self.gate, spec).await?;
            if resp.status == StatusCode::UNAUTHORIZED && refused.is_none() {
                tracing::debug!("eBay answered 401: renewing the access token once");
                refused = Some(token);
                continue;
            }
            return Ok(resp);
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        cx: &CallContext,
        api: Api,
        method: Method,
        url: Url,
        body: Option<&Value>,
        idempotent: bool,
        what: What<'_>,
    ) -> Result<UpstreamResponse> {
        let resp = self
            .send_raw(cx, api, method, url, body, idempotent)
            .await?;
        check_status(&resp, api, what)?;
        Ok(resp)
    }

    async fn get(
        &self,
        cx: &CallContext,
        api: Api,
        path: &str,
        q: &str,
        what: What<'_>,
    ) -> Result<Value> {
        let url = self.url(api, path, q)?;
        self.send(cx, api, Method::GET, url, None, true, what)
            .await?
            .json()
    }

    /// A GET whose 404 (or eBay's "not found" error ids) is `None`.
    async fn get_opt(
        &self,
        cx: &CallContext,
        api: Api,
        path: &str,
        q: &str,
        what: What<'_>,
    ) -> Result<Option<Value>> {
        match self.get(cx, api, path, q, what).await {
            Ok(v) => Ok(Some(v)),
            Err(ConnectorError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // -----------------------------------------------------------------------------------
    // Orders
    // -----------------------------------------------------------------------------------

    async fn raw_order(&self, cx: &CallContext, id: &str) -> Result<Value> {
        if !valid_id(id) {
            return Err(ConnectorError::Validation("invalid order id".into()));
        }
        self.get(
            cx,
            Api::Fulfillment,
            &format!("/order/{}", encode_segment(id)),
            "fieldGroups=TAX_BREAKDOWN",
            What("order"),
        )
        .await
    }

    /// The order with its shipping fulfillments (read only when it has some).
    async fn full_order(&self, cx: &CallContext, raw: Value) -> Result<Order> {
        let has = raw
            .get("fulfillmentHrefs")
            .and_then(Value::as_array)
            .is_some_and(|h| !h.is_empty())
            || raw.get("orderFulfillmentStatus").and_then(Value::as_str) != Some("NOT_STARTED");
        let fulfillments = if has {
            let id = raw
                .get("orderId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let v = self
                .get_opt(
                    cx,
                    Api::Fulfillment,
                    &format!("/order/{}/shipping_fulfillment", encode_segment(id)),
                    "",
                    What("shipping fulfillments"),
                )
                .await?
                .unwrap_or(Value::Null);
            v.get("fulfillments")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let order = mapping::order(&raw, Some(&fulfillments))?;
        Ok(cx.keep_raw(order, raw))
    }

    async fn orders_page(
        &self,
        cx: &CallContext,
        filter: &str,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<Value>, u64)> {
        let q = query(&[
            ("filter", filter.to_owned()),
            ("limit", limit.to_string()),
            ("offset", offset.to_string()),
            ("fieldGroups", "TAX_BREAKDOWN".into()),
        ]);
        let page = self
            .get(cx, Api::Fulfillment, "/order", &q, What("orders"))
            .await?;
        let orders = page
            .get("orders")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let total = page.get("total").and_then(Value::as_u64).unwrap_or(0);
        Ok((orders, total))
    }

    // -----------------------------------------------------------------------------------
    // Products
    // -----------------------------------------------------------------------------------

    /// An inventory object read by its key at `{collection}/{key}`, carrying the key under
    /// `key_field` as lists do (a single read is keyed by the URL only).
    async fn keyed_read(
        &self,
        cx: &CallContext,
        collection: &str,
        key_field: &str,
        key: &str,
        what: &'static str,
    ) -> Result<Option<Value>> {
        let found = self
            .get_opt(
                cx,
                Api::Inventory,
                &format!("/{collection}/{}", encode_segment(key)),
                "",
                What(what),
            )
            .await?;
        Ok(found.map(|mut v| {
            if v.get(key_field).is_none() {
                v[key_field] = Value::String(key.to_owned());
            }
            v
        }))
    }

    async fn raw_item(&self, cx: &CallContext, sku: &str) -> Result<Option<Value>> {
        self.keyed_read(cx, "inventory_item", "sku", sku, "inventory item")
            .await
    }

    async fn raw_group(&self, cx: &CallContext, key: &str) -> Result<Option<Value>> {
        self.keyed_read(
            cx,
            "inventory_item_group",
            "inventoryItemGroupKey",
            key,
            "inventory item group",
        )
        .await
    }

    /// The SKU's offers on the store's marketplace (none is an empty list).
    async fn offers(&self, cx: &CallContext, sku: &str) -> Result<Vec<Value>> {
        let q = query(&[
            ("sku", sku.to_owned()),
            ("marketplace_id", self.creds.marketplace.id.to_owned()),
        ]);
        let url = self.url(Api::Inventory, "/offer", &q)?;
        let resp = self
            .send_raw(cx, Api::Inventory, Method::GET, url, None, true)
            .await?;
        // eBay answers 404 (errorId 25713) for a SKU without offers.
        if resp.status == StatusCode::NOT_FOUND
            || (resp.status == StatusCode::BAD_REQUEST
                && mapping::error_ids(&resp.body).contains(&25713))
        {
            return Ok(Vec::new());
        }
        check_status(&resp, Api::Inventory, What("offers"))?;
        Ok(resp
            .json()?
            .get("offers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    async fn item_product(&self, cx: &CallContext, item: Value) -> Result<Product> {
        let sku = mapping::item_sku(&item).unwrap_or_default();
        let offers = self.offers(cx, &sku).await?;
        let p = mapping::product(&item, &offers, &self.creds.marketplace)?;
        Ok(cx.keep_raw(p, json!({"inventoryItem": item, "offers": offers})))
    }

    async fn group_product(&self, cx: &CallContext, group: Value) -> Result<Product> {
        let skus = mapping::group_skus(&group);
        let members: Vec<(Value, Vec<Value>)> = futures::stream::iter(skus)
            .map(|sku| async move {
                let item = self.raw_item(cx, &sku).await?;
                let offers = match &item {
                    Some(_) => self.offers(cx, &sku).await?,
                    None => Vec::new(),
                };
                Ok::<_, ConnectorError>(item.map(|i| (i, offers)))
            })
            .buffered(FETCH_CONCURRENCY)
            .try_filter_map(|m| async move { Ok(m) })
            .try_collect()
            .await?;
        let p = mapping::group_product(&group, &members, &self.creds.marketplace)?;
        let raw = json!({
            "inventoryItemGroup": group,
            "members": members.iter().map(|(i, o)| json!({"inventoryItem": i, "offers": o})).collect::<Vec<_>>(),
        });
        Ok(cx.keep_raw(p, raw))
    }

    /// A product by id: an inventory item's SKU (not one in a group) or a group's key.
    async fn find_product(&self, cx: &CallContext, id: &str) -> Result<Found> {
        if !valid_id(id) {
            return Err(ConnectorError::Validation("invalid product id".into()));
        }
        if let Some(item) = self.raw_item(cx, id).await? {
            if let Some(group) = mapping::item_groups(&item).into_iter().next() {
                return Err(ConnectorError::NotFound(format!(
                    "no product {id}: it is a variant of product {group}"
                )));
            }
            return Ok(Found::Item(item));
        }
        match self.raw_group(cx, id).await? {
            Some(g) => Ok(Found::Group(g)),
            None => Err(ConnectorError::NotFound(format!("no product {id}"))),
        }
    }

    async fn product_of(&self, cx: &CallContext, found: Found) -> Result<Product> {
        match found {
            Found::Item(i) => self.item_product(cx, i).await,
            Found::Group(g) => self.group_product(cx, g).await,
        }
    }

    /// The inventory items from position `from` to the end of its page of
    /// [`INVENTORY_PAGE`] (getInventoryItems' `offset` is a page number), and the total.
    async fn inventory_page(&self, cx: &CallContext, from: u64) -> Result<(Vec<Value>, u64)> {
        let page = from / u64::from(INVENTORY_PAGE);
        let skip = (from % u64::from(INVENTORY_PAGE)) as usize;
        let q = query(&[
            ("limit", INVENTORY_PAGE.to_string()),
            ("offset", page.to_string()),
        ]);
        let page = self
            .get(
                cx,
                Api::Inventory,
                "/inventory_item",
                &q,
                What("inventory items"),
            )
            .await?;
        let items: Vec<Value> = page
            .get("inventoryItems")
            .and_then(Value::as_array)
            .map(|a| a.iter().skip(skip).cloned().collect())
            .unwrap_or_default();
        let total = page.get("total").and_then(Value::as_u64).unwrap_or(0);
        Ok((items, total))
    }

    /// Writes an inventory item (createOrReplaceInventoryItem) from what was read.
    async fn put_item(&self, cx: &CallContext, sku: &str, mut item: Value) -> Result<()> {
        if let Some(o) = item.as_object_mut() {
            for k in ["sku", "locale", "groupIds", "inventoryItemGroupKeys"] {
                o.remove(k);
            }
        }
        let url = self.url(
            Api::Inventory,
            &format!("/inventory_item/{}", encode_segment(sku)),
            "",
        )?;
        // A full replacement: sending it twice leaves the same item.
        self.send(
            cx,
            Api::Inventory,
            Method::PUT,
            url,
            Some(&item),
            true,
            What("inventory item"),
        )
        .await?;
        Ok(())
    }

    /// bulkUpdatePriceQuantity, at most 25 requests per call; a refused line is answered
    /// with eBay's words.
    async fn bulk_update(&self, cx: &CallContext, requests: Vec<Value>) -> Result<()> {
        for chunk in requests.chunks(MAX_BULK_UPDATES) {
            let url = self.url(Api::Inventory, "/bulk_update_price_quantity", "")?;
            let body = json!({"requests": chunk});
            let resp = self
                .send(
                    cx,
                    Api::Inventory,
                    Method::POST,
                    url,
                    Some(&body),
                    true,
                    What("price and quantity update"),
                )
                .await?;
            let answer = resp.json().unwrap_or(Value::Null);
            for r in answer
                .get("responses")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
            {
                let status = r.get("statusCode").and_then(Value::as_u64).unwrap_or(200);
                if !(200..300).contains(&status) {
                    let detail = mapping::error_detail(r.to_string().as_bytes())
                        .unwrap_or_else(|| format!("status {status}"));
                    return Err(ConnectorError::Validation(format!(
                        "eBay refused the price or quantity update: {detail}"
                    )));
                }
            }
        }
        Ok(())
    }

    async fn location_keys(&self, cx: &CallContext) -> Result<Vec<String>> {
        Ok(self
            .list_locations(cx)
            .await?
            .into_iter()
            .map(|l| l.id)
            .collect())
    }

    /// Applies the item-level fields of an update to one inventory item (read fresh),
    /// writes it when something changed, then prices and quantities its offer.
    async fn update_item(
        &self,
        cx: &CallContext,
        mut item: Value,
        u: &ItemChange<'_>,
    ) -> Result<()> {
        let sku = mapping::item_sku(&item).unwrap_or_default();
        if u.sku.is_some_and(|s| s.trim() != sku) {
            return Err(ConnectorError::Validation(
                "eBay keys inventory items by SKU: the SKU cannot change".into(),
            ));
        }
        let mut changed = false;
        if let Some(name) = u.name {
            item["product"]["title"] = json!(name.trim());
            changed = true;
        }
        if let Some(d) = u.description {
            item["product"]["description"] = json!(d);
            changed = true;
        }
        if let Some(b) = u.barcode {
            let b = b.trim();
            // The kind of GTIN follows its length: 12 digits UPC, 13 EAN, else ISBN.
            let field = match (b.len(), b.bytes().all(|c| c.is_ascii_digit())) {
                (12, true) => "upc",
                (13, true) if !(b.starts_with("978") || b.starts_with("979")) => "ean",
                (8, true) => "ean",
                _ => "isbn",
            };
            for k in ["upc", "ean", "isbn"] {
                if let Some(o) = item["product"].as_object_mut() {
                    o.remove(k);
                }
                if k == field {
                    item["product"][k] = json!([b]);
                }
            }
            changed = true;
        }
        if let Some(w) = u.weight {
            item["packageWeightAndSize"]["weight"] = json!({
                "value": number(&w.value)?,
                "unit": mapping::ebay_weight_unit(w.unit),
            });
            changed = true;
        }
        if let Some(d) = u.dimensions {
            // eBay takes all three sides: a side not given keeps the item's own.
            let current = mapping::item_dimensions(&item);
            let (unit, word) = mapping::ebay_length_unit(d.unit);
            let mut dims = json!({"unit": word});
            for (k, side) in [
                ("length", &d.length),
                ("width", &d.width),
                ("height", &d.height),
            ] {
                let v = match Dimensions::side_in(side, d.unit, unit)? {
                    Some(v) => Some(v),
                    None => match &current {
                        Some(c) => {
                            let old = match k {
                                "length" => &c.length,
                                "width" => &c.width,
                                _ => &c.height,
                            };
                            Dimensions::side_in(old, c.unit, unit)?
                        }
                        None => None,
                    },
                };
                let Some(v) = v else {
                    return Err(ConnectorError::Validation(format!(
                        "eBay keeps a package's length, width and height together: give its {k}"
                    )));
                };
                dims[k] = number(&v)?;
            }
            item["packageWeightAndSize"]["dimensions"] = dims;
            changed = true;
        }
        let stock = "/availability/shipToLocationAvailability";
        let mut new_total = None;
        if let Some(levels) = u.levels {
            let known = self.location_keys(cx).await?;
            if let Some(bad) = levels.iter().find(|l| !known.contains(&l.location_id)) {
                return Err(ConnectorError::Validation(format!(
                    "no inventory location {}",
                    bad.location_id
                )));
            }
            let mut dists: Vec<Value> = item
                .pointer(&format!("{stock}/availabilityDistributions"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for l in levels {
                match dists.iter_mut().find(|d| {
                    d.get("merchantLocationKey").and_then(Value::as_str) == Some(&l.location_id)
                }) {
                    Some(d) => d["quantity"] = json!(l.available),
                    None => dists.push(
                        json!({"merchantLocationKey": l.location_id, "quantity": l.available}),
                    ),
                }
            }
            let total: i64 = dists
                .iter()
                .filter_map(|d| d.get("quantity").and_then(Value::as_i64))
                .sum();
            set_stock(&mut item, Some(dists), total);
            new_total = Some(total);
            changed = true;
        } else if let Some(q) = u.quantity {
            let dists = item
                .pointer(&format!("{stock}/availabilityDistributions"))
                .and_then(Value::as_array)
                .cloned()
                .filter(|d| !d.is_empty());
            let old: i64 = item
                .pointer(&format!("{stock}/quantity"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let dists = dists.map(|mut d| {
                // The difference goes to the primary (first) location.
                let first = d[0].get("quantity").and_then(Value::as_i64).unwrap_or(0);
                d[0]["quantity"] = json!((first + q - old).max(0));
                d
            });
            let total = match &dists {
                Some(d) => d
                    .iter()
                    .filter_map(|x| x.get("quantity").and_then(Value::as_i64))
                    .sum(),
                None => q,
            };
            set_stock(&mut item, dists, total);
            new_total = Some(total);
            changed = true;
        }
        if changed {
            self.put_item(cx, &sku, item).await?;
        }
        if u.price.is_some() || new_total.is_some() || u.status.is_some() {
            let offers = self.offers(cx, &sku).await?;
            let offer = mapping::offer_for(&offers, &self.creds.marketplace).cloned();
            let offer_id = offer
                .as_ref()
                .and_then(|o| o.get("offerId").and_then(Value::as_str))
                .map(str::to_owned);
            let offer_id = match (offer_id, u.price) {
                (Some(id), _) => Some(id),
                // Pricing a product without an offer creates its (unpublished) offer.
                (None, Some(price)) => Some(self.create_offer(cx, &sku, price, new_total).await?),
                (None, None) => None,
            };
            if let Some(id) = &offer_id {
                if u.price.is_some() || new_total.is_some() {
                    let mut o = json!({"offerId": id});
                    if let Some(p) = u.price {
                        o["price"] =
                            json!({"value": p, "currency": self.offer_currency(offer.as_ref())});
                    }
                    if let Some(t) = new_total {
                        o["availableQuantity"] = json!(t);
                    }
                    self.bulk_update(cx, vec![json!({"sku": sku, "offers": [o]})])
                        .await?;
                }
            }
            if let Some(status) = u.status {
                self.set_status(cx, offer_id.as_deref(), offer.as_ref(), status)
                    .await?;
            }
        }
        Ok(())
    }

    fn offer_currency(&self, offer: Option<&Value>) -> String {
        offer
            .and_then(|o| o.pointer("/pricingSummary/price/currency"))
            .and_then(Value::as_str)
            .unwrap_or(self.creds.marketplace.currency)
            .to_owned()
    }

    /// createOffer (fixed price, unpublished) for a SKU: the offer's id.
    async fn create_offer(
        &self,
        cx: &CallContext,
        sku: &str,
        price: &str,
        quantity: Option<i64>,
    ) -> Result<String> {
        let mut body = json!({
            "sku": sku,
            "marketplaceId": self.creds.marketplace.id,
            "format": "FIXED_PRICE",
            "pricingSummary": {"price": {"value": price, "currency": self.creds.marketplace.currency}},
        });
        if let Some(q) = quantity {
            body["availableQuantity"] = json!(q);
        }
        let url = self.url(Api::Inventory, "/offer", "")?;
        let resp = self
            .send(
                cx,
                Api::Inventory,
                Method::POST,
                url,
                Some(&body),
                false,
                What("offer"),
            )
            .await?;
        resp.json()
            .ok()
            .and_then(|v| v.get("offerId").and_then(Value::as_str).map(str::to_owned))
            .or_else(|| location_id(&resp))
            .ok_or_else(|| ConnectorError::bad_body("createOffer answer", "it names no offerId"))
    }

    /// Publishing is explicit: `active` publishes the offer, `archived` withdraws it;
    /// a published offer cannot go back to `draft`.
    async fn set_status(
        &self,
        cx: &CallContext,
        offer_id: Option<&str>,
        offer: Option<&Value>,
        status: ProductStatus,
    ) -> Result<()> {
        let published =
            offer.and_then(|o| o.get("status").and_then(Value::as_str)) == Some("PUBLISHED");
        let action = match (status, published) {
            (ProductStatus::Active, false) => "publish",
            (ProductStatus::Archived, true) => "withdraw",
            (ProductStatus::Draft, true) => {
                return Err(ConnectorError::Validation(
                    "eBay cannot unpublish a listing: set status archived to end it".into(),
                ))
            }
            _ => return Ok(()),
        };
        let Some(id) = offer_id else {
            return Err(ConnectorError::Validation(
                "the product has no offer to publish: give it a price first".into(),
            ));
        };
        let url = self.url(
            Api::Inventory,
            &format!("/offer/{}/{action}", encode_segment(id)),
            "",
        )?;
        self.send(
            cx,
            Api::Inventory,
            Method::POST,
            url,
            Some(&json!({})),
            false,
            What("offer"),
        )
        .await?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------
    // Notification API
    // -----------------------------------------------------------------------------------

    async fn delete_notification(&self, cx: &CallContext, id: &str) -> Result<()> {
        let (kind, id) = id
            .split_once(':')
            .ok_or_else(|| ConnectorError::Validation("unknown webhook id".into()))?;
        if !valid_id(id) || !matches!(kind, "subscription" | "destination") {
            return Err(ConnectorError::Validation("unknown webhook id".into()));
        }
        let api = notification_api(kind);
        let url = self.url(api, &format!("/{kind}/{}", encode_segment(id)), "")?;
        let resp = self
            .send_raw(cx, api, Method::DELETE, url, None, true)
            .await?;
        if resp.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        check_status(&resp, api, What("notification registration"))
    }

    async fn create_notification(
        &self,
        cx: &CallContext,
        kind: &str,
        body: Value,
    ) -> Result<String> {
        let api = notification_api(kind);
        let url = self.url(api, &format!("/{kind}"), "")?;
        let resp = self
            .send(cx, api, Method::POST, url, Some(&body), false, What(kind))
            .await?;
        location_id(&resp)
            .or_else(|| {
                resp.json().ok().and_then(|v| {
                    v.get(format!("{kind}Id"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
            })
            .map(|id| format!("{kind}:{id}"))
            .ok_or_else(|| ConnectorError::bad_body("Notification API answer", "it names no id"))
    }

    /// The public key of `kid`, from the cache or the Notification API.
    async fn public_key(
        &self,
        cx: &CallContext,
        kid: &str,
    ) -> Result<Option<p256::ecdsa::VerifyingKey>> {
        if let Some(k) = self.keys.get(kid) {
            return Ok(k);
        }
        let url = self.url(
            Api::NotificationApp,
            &format!("/public_key/{}", encode_segment(kid)),
            "",
        )?;
        let resp = self
            .send_raw(cx, Api::NotificationApp, Method::GET, url, None, true)
            .await?;
        let key = match resp.status {
            s if s.is_success() => Some(inbound::public_key_answer(&resp.body)?),
            StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => None,
            _ => {
                check_status(&resp, Api::NotificationApp, What("public key"))?;
                None
            }
        };
        self.keys.put(kid, key);
        Ok(key)
    }
}

/// Destinations (like the config and public keys) are the app's: an application token;
/// subscriptions to user topics are the seller's: a user token.
fn notification_api(kind: &str) -> Api {
    if kind == "subscription" {
        Api::Notification
    } else {
        Api::NotificationApp
    }
}

enum Found {
    Item(Value),
    Group(Value),
}

/// The item-level changes of a product or variant update.
#[derive(Default)]
struct ItemChange<'a> {
    name: Option<&'a str>,
    description: Option<&'a str>,
    sku: Option<&'a str>,
    price: Option<&'a str>,
    quantity: Option<i64>,
    barcode: Option<&'a str>,
    weight: Option<&'a Weight>,
    dimensions: Option<&'a Dimensions>,
    levels: Option<&'a [InventoryLevel]>,
    status: Option<ProductStatus>,
}

fn set_stock(item: &mut Value, dists: Option<Vec<Value>>, total: i64) {
    let s = &mut item["availability"]["shipToLocationAvailability"];
    s["quantity"] = json!(total);
    if let Some(d) = dists {
        s["availabilityDistributions"] = Value::Array(d);
    }
}

/// A decimal string as the JSON number eBay's weights and sizes are.
fn number(s: &str) -> Result<Value> {
    serde_json::from_str::<serde_json::Number>(s.trim())
        .map(Value::Number)
        .map_err(|_| ConnectorError::Validation(format!("{s:?} is not a number")))
}

/// Maps an eBay answer's status to our errors (2xx passes).
fn check_status(resp: &UpstreamResponse, api: Api, what: What<'_>) -> Result<()> {
    let status = resp.status;
    if status.is_success() {
        return Ok(());
    }
    let detail = mapping::error_detail(&resp.body);
    let said = detail
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    let ids = mapping::error_ids(&resp.body);
    Err(match status {
        StatusCode::UNAUTHORIZED => ConnectorError::AuthFailed(format!(
            "eBay refused the store's access token{said}; authorize the app again"
        )),
        StatusCode::FORBIDDEN => ConnectorError::PermissionDenied(format!(
            "eBay refused this to the store's token: it needs the scope {}{said}",
            api.scope()
        )),
        StatusCode::NOT_FOUND => ConnectorError::NotFound(format!("no such {}", what.0)),
        // Invalid order id (getOrder) reads as not found.
        StatusCode::BAD_REQUEST if ids.contains(&32100) => {
            ConnectorError::NotFound(format!("no such {}", what.0))
        }
        StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
            ConnectorError::Validation(format!("eBay refused the {} request{said}", what.0))
        }
        StatusCode::TOO_MANY_REQUESTS => ConnectorError::RateLimited { retry_after: None },
        s => ConnectorError::upstream(
            Some(s.as_u16()),
            format!("eBay answered {s} to the {} request{said}", what.0),
        ),
    })
}

#[async_trait]
impl StoreSession for Session {
    async fn info(&self, cx: &CallContext) -> Result<StoreInfo> {
        let user = self
            .get(cx, Api::Identity, "/user/", "", What("user"))
            .await?;
        Ok(mapping::store_info(&user, &self.creds.marketplace))
    }

    async fn list_orders(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Order>> {
        FILTERS.check("orders", &p.filters)?;
        let Some((filter, exact)) = order_filter(&p.filters, Utc::now()) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let mut offset = offset_of(&p.state)?;
        let want = p.limit as usize;
        let mut raws: Vec<Value> = Vec::new();
        let mut next = None;
        for _ in 0..MAX_SCAN_PAGES {
            let ask = if exact {
                (want - raws.len()).min(MAX_ORDER_PAGE as usize) as u32
            } else {
                MAX_ORDER_PAGE
            };
            let (orders, total) = self.orders_page(cx, &filter, offset, ask).await?;
            let read = orders.len() as u64;
            let mut consumed = 0u64;
            for o in orders {
                consumed += 1;
                if order_matches(&o, &p.filters) {
                    raws.push(o);
                    if raws.len() == want {
                        break;
                    }
                }
            }
            offset += consumed;
            let more = read > 0 && offset < total;
            next = more.then(|| json!({"offset": offset}));
            if raws.len() == want || !more {
                break;
            }
        }
        let items = futures::stream::iter(raws)
            .map(|raw| self.full_order(cx, raw))
            .buffered(FETCH_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(Page { items, next })
    }

    async fn count_orders(&self, cx: &CallContext, f: &Filters) -> Result<u64> {
        FILTERS.check("orders", f)?;
        let Some((filter, exact)) = order_filter(f, Utc::now()) else {
            return Ok(0);
        };
        if exact {
            return Ok(self.orders_page(cx, &filter, 0, 1).await?.1);
        }
        let (mut offset, mut count) = (0u64, 0u64);
        loop {
            let (orders, total) = self
                .orders_page(cx, &filter, offset, MAX_ORDER_PAGE)
                .await?;
            if total > MAX_COUNT_SCAN {
                return Err(ConnectorError::Unsupported(format!(
                    "eBay cannot count these orders itself and more than {MAX_COUNT_SCAN} would have to be read: narrow the time window"
                )));
            }
            offset += orders.len() as u64;
            count += orders.iter().filter(|o| order_matches(o, f)).count() as u64;
            if orders.is_empty() || offset >= total {
                return Ok(count);
            }
        }
    }

    async fn get_order(&self, cx: &CallContext, id: &str) -> Result<Order> {
        let raw = self.raw_order(cx, id).await?;
        self.full_order(cx, raw).await
    }

    async fn create_shipment(
        &self,
        cx: &CallContext,
        order_id: &str,
        s: &NewShipment,
    ) -> Result<Order> {
        let raw = self.raw_order(cx, order_id).await?;
        let lines = raw
            .get("lineItems")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let line_of = |id: &str| {
            lines
                .iter()
                .find(|l| l.get("lineItemId").and_then(Value::as_str) == Some(id))
        };
        let items: Vec<Value> = match &s.line_items {
            Some(chosen) => {
                let mut out = Vec::new();
                for c in chosen {
                    let Some(l) = line_of(&c.line_item_id) else {
                        return Err(ConnectorError::Validation(format!(
                            "order {order_id} has no line item {}",
                            c.line_item_id
                        )));
                    };
                    let q = l.get("quantity").and_then(Value::as_i64).unwrap_or(0);
                    if c.quantity > q {
                        return Err(ConnectorError::Validation(format!(
                            "line item {} has {q} unit(s), not {}",
                            c.line_item_id, c.quantity
                        )));
                    }
                    out.push(json!({"lineItemId": c.line_item_id, "quantity": c.quantity}));
                }
                out
            }
            None => lines
                .iter()
                .filter(|l| {
                    l.get("lineItemFulfillmentStatus").and_then(Value::as_str) != Some("FULFILLED")
                })
                .filter_map(|l| {
                    Some(json!({
                        "lineItemId": l.get("lineItemId")?.as_str()?,
                        "quantity": l.get("quantity").and_then(Value::as_i64).unwrap_or(1),
                    }))
                })
                .collect(),
        };
        if items.is_empty() {
            return Err(ConnectorError::Validation(format!(
                "order {order_id} has nothing left to ship"
            )));
        }
        let body = json!({
            "lineItems": items,
            "shippedDate": ebay_time(Utc::now()),
            "shippingCarrierCode": s.carrier.trim(),
            "trackingNumber": s.tracking_number.trim(),
        });
        let url = self.url(
            Api::Fulfillment,
            &format!("/order/{}/shipping_fulfillment", encode_segment(order_id)),
            "",
        )?;
        self.send(
            cx,
            Api::Fulfillment,
            Method::POST,
            url,
            Some(&body),
            false,
            What("shipping fulfillment"),
        )
        .await?;
        self.get_order(cx, order_id).await
    }

    async fn list_products(&self, cx: &CallContext, p: &ListParams) -> Result<Page<Product>> {
        FILTERS.check("products", &p.filters)?;
        let status_ok = |prod: &Product| {
            p.filters.status.as_deref().is_none_or(|s| {
                serde_json::to_value(prod.status)
                    .ok()
                    .is_some_and(|v| v == s)
            })
        };
        if let Some(sku) = p.filters.sku.as_deref() {
            if p.state.is_some() || !valid_id(sku) {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
            let Some(item) = self.raw_item(cx, sku).await? else {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            };
            let product = match mapping::item_groups(&item).into_iter().next() {
                Some(key) => match self.raw_group(cx, &key).await? {
                    Some(g) => self.group_product(cx, g).await?,
                    None => self.item_product(cx, item).await?,
                },
                None => self.item_product(cx, item).await?,
            };
            let items = if status_ok(&product) {
                vec![product]
            } else {
                Vec::new()
            };
            return Ok(Page { items, next: None });
        }
        let start = offset_of(&p.state)?;
        let want = p.limit as usize;
        let mut offset = start;
        let mut items: Vec<Product> = Vec::new();
        let mut groups: HashMap<String, Option<Value>> = HashMap::new();
        for _ in 0..MAX_SCAN_PAGES {
            let (page, total) = self.inventory_page(cx, offset).await?;
            // Each product with the position after the item it was found at.
            let mut found: Vec<(Found, u64)> = Vec::new();
            for (n, item) in page.iter().enumerate() {
                let after = offset + n as u64 + 1;
                match mapping::item_groups(item).into_iter().next() {
                    None => found.push((Found::Item(item.clone()), after)),
                    Some(key) => {
                        if !groups.contains_key(&key) {
                            let g = self.raw_group(cx, &key).await?;
                            groups.insert(key.clone(), g);
                        }
                        // A group is listed once, where its first member is.
                        let sku = mapping::item_sku(item);
                        match groups.get(&key).cloned().flatten() {
                            Some(g) if mapping::group_skus(&g).first() == sku.as_ref() => {
                                found.push((Found::Group(g), after))
                            }
                            Some(_) => {}
                            // A group that is gone: the item stands alone.
                            None => found.push((Found::Item(item.clone()), after)),
                        }
                    }
                }
                if p.filters.status.is_none() && items.len() + found.len() == want {
                    break;
                }
            }
            let read_to = offset + page.len() as u64;
            let positions: Vec<u64> = found.iter().map(|(_, a)| *a).collect();
            let products: Vec<Product> = futures::stream::iter(found.into_iter().map(|(f, _)| f))
                .map(|f| self.product_of(cx, f))
                .buffered(FETCH_CONCURRENCY)
                .try_collect()
                .await?;
            offset = read_to;
            for (product, after) in products.into_iter().zip(positions) {
                if status_ok(&product) {
                    items.push(product);
                    if items.len() == want {
                        offset = after;
                        break;
                    }
                }
            }
            let more = !page.is_empty() && offset < total;
            if items.len() == want || !more {
                let next = more.then(|| json!({"offset": offset}));
                return Ok(Page { items, next });
            }
        }
        Ok(Page {
            items,
            next: Some(json!({"offset": offset})),
        })
    }

    async fn count_products(&self, cx: &CallContext, f: &Filters) -> Result<u64> {
        FILTERS.check("products", f)?;
        if f.status.is_some() || f.sku.is_some() {
            let mut params = ListParams {
                limit: cartgate_connector::page::MAX_LIMIT,
                state: None,
                filters: f.clone(),
            };
            let mut count = 0u64;
            loop {
                let page = self.list_products(cx, &params).await?;
                count += page.items.len() as u64;
                match page.next {
                    Some(n) if count < MAX_COUNT_SCAN => params.state = Some(n),
                    Some(_) => {
                        return Err(ConnectorError::Unsupported(format!(
                            "eBay cannot count these products itself and more than {MAX_COUNT_SCAN} would have to be read"
                        )))
                    }
                    None => return Ok(count),
                }
            }
        }
        // Every standalone item, and every group once.
        let (mut offset, mut count) = (0u64, 0u64);
        let mut groups = std::collections::HashSet::new();
        loop {
            let (items, total) = self.inventory_page(cx, offset).await?;
            if total > MAX_COUNT_SCAN {
                return Err(ConnectorError::Unsupported(format!(
                    "more than {MAX_COUNT_SCAN} inventory items would have to be read to count products"
                )));
            }
            offset += items.len() as u64;
            for item in &items {
                match mapping::item_groups(item).into_iter().next() {
                    None => count += 1,
                    Some(key) => {
                        if groups.insert(key) {
                            count += 1;
                        }
                    }
                }
            }
            if items.is_empty() || offset >= total {
                return Ok(count);
            }
        }
    }

    async fn get_product(&self, cx: &CallContext, id: &str) -> Result<Product> {
        let found = self.find_product(cx, id).await?;
        self.product_of(cx, found).await
    }

    async fn create_product(&self, cx: &CallContext, p: &NewProduct) -> Result<Product> {
        let Some(sku) = p.sku.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
            return Err(ConnectorError::Validation(
                "eBay keys inventory items by SKU: give the product a sku".into(),
            ));
        };
        if !valid_id(sku) || sku.len() > 50 {
            return Err(ConnectorError::Validation(
                "sku must be at most 50 printable characters without / \\ ? # % or spaces".into(),
            ));
        }
        if !p.category_ids.is_empty() {
            return Err(ConnectorError::Unsupported(
                "eBay products have no categories here (marketplace categories are set on offers through the proxy)".into(),
            ));
        }
        if p.price
            .as_deref()
            .is_some_and(|x| mapping_price(x).is_none())
        {
            return Err(ConnectorError::Validation(
                "price must be a non-negative decimal string such as \"19.99\"".into(),
            ));
        }
        if self.raw_item(cx, sku).await?.is_some() {
            return Err(ConnectorError::Validation(format!(
                "an inventory item with SKU {sku} exists already"
            )));
        }
        let mut item = json!({
            "condition": "NEW",
            "product": {"title": p.name.trim()},
            "availability": {"shipToLocationAvailability": {"quantity": p.quantity.unwrap_or(0)}},
        });
        if let Some(d) = &p.description {
            item["product"]["description"] = json!(d);
        }
        self.put_item(cx, sku, item).await?;
        let status = p.status.unwrap_or(ProductStatus::Draft);
        if let Some(price) = &p.price {
            let offer_id = self.create_offer(cx, sku, price, p.quantity).await?;
            if status == ProductStatus::Active {
                self.set_status(cx, Some(&offer_id), None, status).await?;
            }
        } else if status == ProductStatus::Active {
            return Err(ConnectorError::Validation(
                "publishing on eBay needs a price: the inventory item was created as a draft"
                    .into(),
            ));
        }
        self.get_product(cx, sku).await
    }

    async fn update_product(
        &self,
        cx: &CallContext,
        id: &str,
        u: &ProductUpdate,
    ) -> Result<Product> {
        match self.find_product(cx, id).await? {
            Found::Item(item) => {
                let change = ItemChange {
                    name: u.name.as_deref(),
                    description: u.description.as_deref(),
                    sku: u.sku.as_deref(),
                    price: u.price.as_deref(),
                    quantity: u.quantity,
                    barcode: u.barcode.as_deref(),
                    weight: u.weight.as_ref(),
                    dimensions: u.dimensions.as_ref(),
                    levels: u.inventory_levels.as_deref(),
                    status: u.status,
                };
                self.update_item(cx, item, &change).await?;
            }
            Found::Group(mut group) => {
                if u.quantity.is_some()
                    || u.sku.is_some()
                    || u.barcode.is_some()
                    || u.weight.is_some()
                    || u.dimensions.is_some()
                    || u.inventory_levels.is_some()
                {
                    return Err(ConnectorError::Validation(
                        "this product has variants: set sku, quantity, barcode, weight, dimensions and stock on each variant".into(),
                    ));
                }
                if u.name.is_some() || u.description.is_some() {
                    if let Some(n) = &u.name {
                        group["title"] = json!(n.trim());
                    }
                    if let Some(d) = &u.description {
                        group["description"] = json!(d);
                    }
                    let url = self.url(
                        Api::Inventory,
                        &format!("/inventory_item_group/{}", encode_segment(id)),
                        "",
                    )?;
                    self.send(
                        cx,
                        Api::Inventory,
                        Method::PUT,
                        url,
                        Some(&group),
                        true,
                        What("inventory item group"),
                    )
                    .await?;
                }
                if u.price.is_some() || u.status.is_some() {
                    for sku in mapping::group_skus(&group) {
                        if let Some(item) = self.raw_item(cx, &sku).await? {
                            let change = ItemChange {
                                price: u.price.as_deref(),
                                status: u.status,
                                ..Default::default()
                            };
                            self.update_item(cx, item, &change).await?;
                        }
                    }
                }
            }
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
        let Found::Group(group) = self.find_product(cx, product_id).await? else {
            return Err(ConnectorError::NotFound(format!(
                "product {product_id} has no variants"
            )));
        };
        if !mapping::group_skus(&group).iter().any(|s| s == variant_id) {
            return Err(ConnectorError::NotFound(format!(
                "product {product_id} has no variant {variant_id}"
            )));
        }
        let item = self
            .raw_item(cx, variant_id)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no variant {variant_id}")))?;
        let change = ItemChange {
            sku: u.sku.as_deref(),
            price: u.price.as_deref(),
            quantity: u.quantity,
            barcode: u.barcode.as_deref(),
            weight: u.weight.as_ref(),
            dimensions: u.dimensions.as_ref(),
            levels: u.inventory_levels.as_deref(),
            ..Default::default()
        };
        self.update_item(cx, item, &change).await?;
        self.get_product(cx, product_id).await
    }

    async fn list_locations(&self, cx: &CallContext) -> Result<Vec<Location>> {
        let mut out = Vec::new();
        let mut offset = 0u64;
        loop {
            let q = query(&[("limit", "100".into()), ("offset", offset.to_string())]);
            let page = self
                .get(
                    cx,
                    Api::Inventory,
                    "/location",
                    &q,
                    What("inventory locations"),
                )
                .await?;
            let locations = page
                .get("locations")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            offset += locations.len() as u64;
            for l in &locations {
                out.push(mapping::location(l)?);
            }
            let total = page.get("total").and_then(Value::as_u64).unwrap_or(0);
            if locations.is_empty() || offset >= total || out.len() >= MAX_LOCATIONS {
                out.truncate(MAX_LOCATIONS);
                return Ok(out);
            }
        }
    }

    async fn proxy(&self, cx: &CallContext, r: &ProxyRequest) -> Result<ProxyResponse> {
        let method = r.http_method()?;
        let path = r.checked_path("the eBay API host (/sell/… or /commerce/…)")?;
        let api = Api::of_path(path).ok_or_else(|| {
            ConnectorError::Validation(
                "proxy path must start with /sell/{fulfillment,inventory,account}/ or /commerce/{identity,notification}/".into(),
            )
        })?;
        let base = match api {
            Api::Identity => &self.creds.identity_endpoint,
            _ => &self.creds.endpoint,
        };
        let mut url = Url::parse(&format!("{base}{path}"))
            .map_err(|e| ConnectorError::Validation(format!("invalid proxy path: {e}")))?;
        if !r.query.is_empty() {
            url.query_pairs_mut().extend_pairs(r.query.iter());
        }
        let idempotent = matches!(method, Method::GET | Method::PUT | Method::DELETE);
        let resp = self
            .send_raw(cx, api, method, url, r.body.as_ref(), idempotent)
            .await?;
        if resp.status == StatusCode::UNAUTHORIZED {
            return Err(ConnectorError::AuthFailed(
                "eBay refused the store's access token".into(),
            ));
        }
        Ok(resp.into_proxy_response())
    }

    async fn register_webhooks(
        &self,
        cx: &CallContext,
        callback: &Url,
        _secret: &str,
    ) -> Result<Vec<String>> {
        let endpoint = callback.as_str();
        let token = inbound::verification_token(&self.creds.client_secret, endpoint);
        let name: String = format!("cartgate {}", callback.path())
            .chars()
            .take(64)
            .collect();
        let request = json!({
            "name": name,
            "status": "ENABLED",
            "deliveryConfig": {"endpoint": endpoint, "verificationToken": token},
        });
        let destination = match self
            .create_notification(cx, "destination", request.clone())
            .await
        {
            // The app has no notification config yet (195003): set its alert email, once.
            Err(ConnectorError::Validation(m)) if m.contains("195003") => {
                let Some(email) = &self.creds.alert_email else {
                    return Err(ConnectorError::Validation(format!(
                        "{m}; set CARTGATE_EBAY_ALERT_EMAIL so the gateway can create the app's notification config"
                    )));
                };
                let url = self.url(Api::NotificationApp, "/config", "")?;
                self.send(
                    cx,
                    Api::NotificationApp,
                    Method::PUT,
                    url,
                    Some(&json!({"alertEmail": email})),
                    true,
                    What("notification config"),
                )
                .await?;
                self.create_notification(cx, "destination", request).await?
            }
            other => other?,
        };
        let mut ids = vec![destination.clone()];
        let destination_id = destination.trim_start_matches("destination:").to_owned();
        for (topic, _) in inbound::ORDER_TOPICS {
            let made = self
                .create_notification(
                    cx,
                    "subscription",
                    json!({
                        "topicId": topic,
                        "status": "ENABLED",
                        "destinationId": destination_id,
                        "payload": {"format": "JSON", "schemaVersion": "1.0", "deliveryProtocol": "HTTPS"},
                    }),
                )
                .await;
            match made {
                Ok(id) => ids.push(id),
                Err(e) => {
                    let _ = self.unregister_webhooks(cx, &ids).await;
                    return Err(e);
                }
            }
        }
        Ok(ids)
    }

    async fn unregister_webhooks(&self, cx: &CallContext, ids: &[String]) -> Result<()> {
        // Subscriptions first: a destination with subscriptions cannot be deleted.
        let mut ordered: Vec<&String> = ids
            .iter()
            .filter(|i| i.starts_with("subscription:"))
            .collect();
        ordered.extend(ids.iter().filter(|i| !i.starts_with("subscription:")));
        let mut first_err = None;
        for id in ordered {
            if let Err(e) = self.delete_notification(cx, id).await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    async fn verify_inbound(
        &self,
        cx: &CallContext,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Option<Result<Inbound>> {
        Some(self.verify_push(cx, headers, body).await)
    }
}

impl Session {
    /// Verifies one push (signature first, nothing parsed before it verifies).
    async fn verify_push(
        &self,
        cx: &CallContext,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Inbound> {
        let h = inbound::signature_header(headers)?;
        let key = self
            .public_key(cx, &h.kid)
            .await
            .map_err(|e| match e {
                ConnectorError::NotFound(_) => inbound_unknown_key(),
                other => other,
            })?
            .ok_or_else(inbound_unknown_key)?;
        if !inbound::verify_signature(&key, &h.signature, body) {
            return Err(cartgate_connector::webhook::invalid_signature(
                "X-EBAY-SIGNATURE does not verify",
            ));
        }
        inbound::read_push(body)
    }
}

fn inbound_unknown_key() -> ConnectorError {
    cartgate_connector::webhook::invalid_signature(
        "X-EBAY-SIGNATURE names a key eBay does not know",
    )
}

fn mapping_price(s: &str) -> Option<rust_decimal::Decimal> {
    s.trim()
        .parse::<rust_decimal::Decimal>()
        .ok()
        .filter(|d| !d.is_sign_negative())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn filters_are_encoded_as_ebay_documents() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let (f, exact) = order_filter(&Filters::default(), now).unwrap();
        assert_eq!(f, "creationdate:[2024-06-02T12:00:00.000Z..]");
        assert!(exact);
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let (f, exact) = order_filter(
            &Filters {
                updated_from: Some(from),
                status: Some("processing".into()),
                ..Default::default()
            },
            now,
        )
        .unwrap();
        assert_eq!(
            f,
            "lastmodifieddate:[2026-01-01T00:00:00.000Z..],orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}"
        );
        assert!(!exact);
        assert_eq!(
            query(&[("filter", f)]),
            "filter=lastmodifieddate:%5B2026-01-01T00:00:00.000Z..%5D,orderfulfillmentstatus:%7BNOT_STARTED%7CIN_PROGRESS%7D"
        );
        // Both time filters: eBay uses creationdate only; the rest is checked per order.
        let (f, exact) = order_filter(
            &Filters {
                created_from: Some(from),
                created_to: Some(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()),
                updated_from: Some(from),
                ..Default::default()
            },
            now,
        )
        .unwrap();
        assert_eq!(
            f,
            "creationdate:[2026-01-01T00:00:00.000Z..2026-06-01T12:00:00.000Z]"
        );
        assert!(!exact);
        // A window wholly in the future matches nothing.
        assert!(order_filter(
            &Filters {
                created_from: Some(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()),
                ..Default::default()
            },
            now
        )
        .is_none());
    }

    #[test]
    fn quotas_spread_the_daily_limit() {
        let q = Api::Fulfillment.quota();
        assert!((q.rate_per_sec * 86_400.0 - 100_000.0).abs() < 1e-6);
        assert!((q.burst - 100_000.0 / 24.0).abs() < 1e-6);
        assert_eq!(
            Api::of_path("/sell/inventory/v1/location"),
            Some(Api::Inventory)
        );
        assert_eq!(Api::of_path("/buy/browse/v1/item"), None);
    }
}
