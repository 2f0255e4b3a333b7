//! The Connector trait: how the gateway talks to a platform.
//!
//! A [`Connector`] describes a platform and opens a [`StoreSession`] from a store's
//! credentials. The session owns per-store state (concurrency limit, cached tokens, pacing)
//! and performs the unified operations. Every operation has a default that answers
//! `Unsupported`, so a platform only implements what it can really do.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::http::Upstream;
use crate::model::*;
use crate::page::{Filters, ListParams, Page};
use crate::webhook::Inbound;
use crate::{CallContext, ConnectorError, Result};

/// The kinds of objects `cartgate normalize` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Order,
    Product,
    Customer,
    Category,
}

impl std::str::FromStr for ObjectKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "order" => Ok(ObjectKind::Order),
            "product" => Ok(ObjectKind::Product),
            "customer" => Ok(ObjectKind::Customer),
            "category" => Ok(ObjectKind::Category),
            other => Err(format!(
                "unknown object kind {other:?}: expected order, product, customer or category"
            )),
        }
    }
}

/// One credential field a platform expects in `POST /v1/stores`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialField {
    pub name: &'static str,
    pub required: bool,
    /// Secret fields are sealed at rest and never echoed.
    pub secret: bool,
    pub description: &'static str,
}

/// How a platform's changes reach webhook subscribers.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    Native,
    Polled,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookEventSupport {
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub source: EventSource,
}

impl WebhookEventSupport {
    pub fn native(event_type: &'static str) -> Self {
        WebhookEventSupport {
            event_type,
            source: EventSource::Native,
        }
    }
    pub fn polled(event_type: &'static str) -> Self {
        WebhookEventSupport {
            event_type,
            source: EventSource::Polled,
        }
    }
}

impl CredentialField {
    pub fn new(
        name: &'static str,
        required: bool,
        secret: bool,
        description: &'static str,
    ) -> Self {
        CredentialField {
            name,
            required,
            secret,
            description,
        }
    }
}

/// What `GET /v1/platforms` shows for one platform.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlatformDescriptor {
    /// The id used in `POST /v1/stores`, e.g. `woocommerce`.
    pub id: &'static str,
    pub name: &'static str,
    pub credential_fields: Vec<CredentialField>,
    /// Operation names, e.g. `orders.list`, `products.update`, `proxy`.
    pub operations: Vec<&'static str>,
    /// Filters each list understands, e.g. `orders: [created_from, status]`.
    pub filters: std::collections::BTreeMap<&'static str, Vec<&'static str>>,
    pub webhook_events: Vec<WebhookEventSupport>,
    /// Which optional model fields this platform fills: one not listed is always `null`
    /// (or an empty list) here because the platform does not have it.
    pub fields: ModelFields,
}

/// The optional fields of the unified model a platform fills, per object. The platform
/// suite checks both ways: each listed field is filled on the sandbox's seeded data, and
/// each field of [`ModelFields::ALL`] not listed never is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ModelFields {
    #[schema(value_type = Vec<String>)]
    pub order: &'static [&'static str],
    #[schema(value_type = Vec<String>)]
    pub line_item: &'static [&'static str],
    #[schema(value_type = Vec<String>)]
    pub product: &'static [&'static str],
    #[schema(value_type = Vec<String>)]
    pub variant: &'static [&'static str],
}

impl ModelFields {
    /// Every field a platform may or may not fill.
    pub const ALL: ModelFields = ModelFields {
        order: &[
            "shipping_lines",
            "payment_method",
            "prices_include_tax",
            "tax_lines",
            "discount_codes",
            "refunds",
            "refunded_total",
            "total_weight",
            "tags",
            "customer_note",
            "paid_at",
            "fulfilled_at",
        ],
        line_item: &[
            "tax_total",
            "tax_lines",
            "discount_total",
            "refunded_quantity",
            "weight",
            "requires_shipping",
            "variant_options",
        ],
        product: &[
            "barcode",
            "weight",
            "dimensions",
            "requires_shipping",
            "inventory_levels",
        ],
        variant: &[
            "barcode",
            "weight",
            "dimensions",
            "requires_shipping",
            "inventory_levels",
        ],
    };

    /// The lists by object name (`order`, `line_item`, `product`, `variant`).
    pub fn by_object(&self) -> [(&'static str, &'static [&'static str]); 4] {
        [
            ("order", self.order),
            ("line_item", self.line_item),
            ("product", self.product),
            ("variant", self.variant),
        ]
    }
}

/// Every operation of the unified API, in the order `GET /v1/platforms` lists them. A
/// platform that can do all of them uses this; one that cannot lists its own subset.
pub const ALL_OPERATIONS: [&str; 18] = [
    "store.info",
    "orders.list",
    "orders.count",
    "orders.get",
    "shipments.create",
    "products.list",
    "products.count",
    "products.get",
    "products.create",
    "products.update",
    "variants.update",
    "customers.list",
    "customers.count",
    "customers.get",
    "categories.list",
    "categories.get",
    "locations.list",
    "proxy",
];

/// The most locations `GET …/locations` answers.
pub const MAX_LOCATIONS: usize = 250;

/// How a store's lists filtered by `updated_from` come, for the gateway's poller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOrder {
    /// Newest objects first (by id or creation): the first poll starts at the newest
    /// change of the first page, a walk cut short leaves the rest to the next poll.
    NewestFirst,
    /// Oldest change first, stamped with the real clock (Amazon): the first poll starts
    /// now, and a walk cut short resumes after the last change it saw.
    Chronological,
}

pub trait Connector: Send + Sync + 'static {
    fn descriptor(&self) -> PlatformDescriptor;

    /// Checks the shape of user-supplied credentials (no I/O) and returns the canonical form
    /// that will be sealed and later given to [`Connector::open`].
    fn parse_credentials(&self, raw: &Value) -> Result<Value>;

    /// Opens a session for one store. Must not do I/O: `StoreSession::info` validates.
    fn open(&self, credentials: &Value, upstream: Upstream) -> Result<Arc<dyn StoreSession>>;

    /// Maps one raw platform object to its unified JSON (`cartgate normalize`).
    fn normalize(&self, kind: ObjectKind, raw: Value) -> Result<Value>;

    /// Whether this store's platform webhooks can be registered and verified with these
    /// (canonical) credentials; when not, the gateway polls the store. No I/O. Default:
    /// no native webhooks.
    fn native_webhooks(&self, _credentials: &Value) -> bool {
        false
    }

    /// Verifies and reads one platform webhook as it reached the gateway (`headers` and
    /// the raw `body`). The signature is checked first, in constant time, before anything
    /// is parsed: a missing or wrong one is [`ConnectorError::InvalidSignature`].
    /// `credentials` are the store's canonical credentials (Shopify's app secret lives
    /// there); `webhook_secret` is the per-store secret the gateway generated and gave to
    /// [`StoreSession::register_webhooks`]. No I/O. Default: `Unsupported`.
    fn verify_inbound(
        &self,
        _credentials: &Value,
        _webhook_secret: Option<&str>,
        _headers: &http::HeaderMap,
        _body: &[u8],
    ) -> Result<Inbound> {
        unsupported("inbound webhooks")
    }

    /// Answers a platform's validation of the callback URL (eBay's `GET
    /// {endpoint}?challenge_code=…`): the JSON to send back for a GET of `endpoint` (the
    /// store's exact callback URL) with this `query`. No I/O. Default: `Unsupported`.
    fn inbound_challenge(
        &self,
        _credentials: &Value,
        _endpoint: &str,
        _query: &std::collections::BTreeMap<String, String>,
    ) -> Result<Value> {
        unsupported("callback validation")
    }
}

fn unsupported<T>(what: &str) -> Result<T> {
    Err(ConnectorError::Unsupported(format!(
        "this platform does not support {what}"
    )))
}

#[async_trait]
pub trait StoreSession: Send + Sync {
    /// The shop itself; also what `POST /v1/stores` calls to validate credentials.
    async fn info(&self, cx: &CallContext) -> Result<StoreInfo>;

    async fn list_orders(&self, _cx: &CallContext, _p: &ListParams) -> Result<Page<Order>> {
        unsupported("listing orders")
    }
    async fn count_orders(&self, _cx: &CallContext, _f: &Filters) -> Result<u64> {
        unsupported("counting orders")
    }
    async fn get_order(&self, _cx: &CallContext, _id: &str) -> Result<Order> {
        unsupported("reading orders")
    }
    /// Adds a shipment and returns the order as it is afterwards.
    async fn create_shipment(
        &self,
        _cx: &CallContext,
        _order_id: &str,
        _s: &NewShipment,
    ) -> Result<Order> {
        unsupported("adding shipments")
    }

    async fn list_products(&self, _cx: &CallContext, _p: &ListParams) -> Result<Page<Product>> {
        unsupported("listing products")
    }
    async fn count_products(&self, _cx: &CallContext, _f: &Filters) -> Result<u64> {
        unsupported("counting products")
    }
    async fn get_product(&self, _cx: &CallContext, _id: &str) -> Result<Product> {
        unsupported("reading products")
    }
    async fn create_product(&self, _cx: &CallContext, _p: &NewProduct) -> Result<Product> {
        unsupported("creating products")
    }
    /// Whether [`StoreSession::create_product`] reads [`NewProduct::platform_fields`]; the
    /// gateway refuses them for a platform that does not, so none is silently ignored.
    fn takes_platform_fields(&self) -> bool {
        false
    }
    async fn update_product(
        &self,
        _cx: &CallContext,
        _id: &str,
        _u: &ProductUpdate,
    ) -> Result<Product> {
        unsupported("updating products")
    }
    /// Updates one variant and returns its product as it is afterwards.
    async fn update_variant(
        &self,
        _cx: &CallContext,
        _product_id: &str,
        _variant_id: &str,
        _u: &VariantUpdate,
    ) -> Result<Product> {
        unsupported("updating variants")
    }

    async fn list_customers(&self, _cx: &CallContext, _p: &ListParams) -> Result<Page<Customer>> {
        unsupported("listing customers")
    }
    async fn count_customers(&self, _cx: &CallContext, _f: &Filters) -> Result<u64> {
        unsupported("counting customers")
    }
    async fn get_customer(&self, _cx: &CallContext, _id: &str) -> Result<Customer> {
        unsupported("reading customers")
    }

    async fn list_categories(&self, _cx: &CallContext, _p: &ListParams) -> Result<Page<Category>> {
        unsupported("listing categories")
    }
    async fn get_category(&self, _cx: &CallContext, _id: &str) -> Result<Category> {
        unsupported("reading categories")
    }

    /// How this store's lists filtered by `updated_from` come (for the poller).
    fn change_order(&self) -> ChangeOrder {
        ChangeOrder::NewestFirst
    }

    /// Where the store keeps stock: every location, active or not (stores have few; a
    /// platform with more than [`MAX_LOCATIONS`] answers the first ones).
    async fn list_locations(&self, _cx: &CallContext) -> Result<Vec<Location>> {
        unsupported("listing locations")
    }

    async fn proxy(&self, _cx: &CallContext, _r: &ProxyRequest) -> Result<ProxyResponse> {
        unsupported("the proxy")
    }

    /// Registers the platform webhooks that cover the seven unified event types, delivered
    /// to `callback` and (where the platform signs with a per-webhook secret) signed with
    /// `secret`. Answers the platform's ids of what was registered, for
    /// [`StoreSession::unregister_webhooks`]. All or nothing: when one registration fails,
    /// those already made are removed (best effort) and the error is answered.
    async fn register_webhooks(
        &self,
        _cx: &CallContext,
        _callback: &url::Url,
        _secret: &str,
    ) -> Result<Vec<String>> {
        unsupported("webhook registration")
    }

    /// Removes webhooks [`StoreSession::register_webhooks`] registered. An id the platform
    /// no longer knows is not an error.
    async fn unregister_webhooks(&self, _cx: &CallContext, _ids: &[String]) -> Result<()> {
        unsupported("webhook registration")
    }

    /// Verifies one inbound platform webhook where that needs the platform itself (eBay
    /// signs with keys fetched by id and cached). `None` (the default): the platform
    /// verifies without I/O in [`Connector::verify_inbound`]. Same contract: the signature
    /// is checked before anything is parsed.
    async fn verify_inbound(
        &self,
        _cx: &CallContext,
        _headers: &http::HeaderMap,
        _body: &[u8],
    ) -> Option<Result<Inbound>> {
        None
    }
}
