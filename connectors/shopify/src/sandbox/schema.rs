//! The served part of the Admin API schema (2026-10), with Shopify's own type, field,
//! argument and enum names (checked by `tests/schema.rs` against the official 2025-01
//! introspection with the published changes since applied), resolved over the seeded
//! [`Db`].

use std::sync::{Arc, Mutex, MutexGuard};

use async_graphql::{
    Context, CustomDirective, Directive, EmptySubscription, Enum, InputObject, InputValueError,
    InputValueResult, Interface, MaybeUndefined, Object, Scalar, ScalarType, Schema, SimpleObject,
    Union, Value, ID,
};
use base64::Engine as _;
use chrono::{SecondsFormat, TimeZone, Utc};
use rust_decimal::Decimal;

use super::data::*;
use super::hooks::Hooks;
use super::search::{self, Field, Searchable};
use cartgate_connector::sandbox::SANDBOX_EPOCH;

pub type Handle = Arc<Mutex<Db>>;
pub type SandboxSchema = Schema<QueryRoot, Mutation, EmptySubscription>;

/// The schema over `db`; with `hooks`, subscribed changes send webhooks.
pub fn build(db: Handle, hooks: Option<Arc<Hooks>>) -> SandboxSchema {
    let schema = Schema::build(QueryRoot, Mutation, EmptySubscription)
        .data(db)
        .data(Replays::default())
        .directive(idempotent);
    match hooks {
        Some(h) => schema.data(h).finish(),
        None => schema.finish(),
    }
}

struct Passthrough;

#[async_trait::async_trait]
impl CustomDirective for Passthrough {}

/// `@idempotent(key:)` (2026-01; required on the inventory mutations from 2026-04): the
/// mutations read the key themselves (see [`idempotency_key`]).
#[Directive(location = "Field")]
fn idempotent(key: String) -> impl CustomDirective {
    let _ = key;
    Passthrough
}

/// What an inventory mutation answered, by idempotency key, with its input as text: a
/// repeat with the same input answers the same without applying twice, one with another
/// input is `IDEMPOTENCY_KEY_PARAMETER_MISMATCH`.
#[derive(Default)]
struct Replays(Mutex<std::collections::HashMap<String, (String, Replay)>>);

#[derive(Clone)]
enum Replay {
    Adjust(InventoryAdjustQuantitiesPayload),
    Set(InventorySetQuantitiesPayload),
}

/// The `key` of the field's `@idempotent` directive (a literal or a variable); an error
/// without one, as Shopify answers from 2026-04.
fn idempotency_key(ctx: &Context<'_>) -> async_graphql::Result<String> {
    let field = &ctx.item.node;
    let key = field
        .directives
        .iter()
        .find(|d| d.node.name.node == "idempotent")
        .and_then(|d| d.node.get_argument("key"))
        .and_then(|v| match &v.node {
            async_graphql_value::Value::String(s) => Some(s.clone()),
            async_graphql_value::Value::Variable(name) => match ctx.query_env.variables.get(name) {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        });
    match key {
        Some(k) if !k.trim().is_empty() => Ok(k),
        _ => Err(async_graphql::Error::new(format!(
            "The @idempotent directive with a key is required for the {} mutation.",
            field.name.node
        ))),
    }
}

/// Sends `topic` about `id` to its subscriptions (a schema without hooks sends nothing).
fn emit(ctx: &Context<'_>, d: &Db, topic: Topic, id: u64, at: i64) {
    if let Some(h) = ctx.data_opt::<Arc<Hooks>>() {
        super::hooks::emit(h, d, topic, id, at);
    }
}

fn db<'a>(ctx: &'a Context<'_>) -> MutexGuard<'a, Db> {
    ctx.data_unchecked::<Handle>()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn gid(kind: &str, id: u64) -> ID {
    ID(format!("gid://shopify/{kind}/{id}"))
}

/// The number of a global id of `kind`; other kinds and malformed ids are `Err`.
fn parse_gid(kind: &str, id: &str) -> async_graphql::Result<u64> {
    id.strip_prefix("gid://shopify/")
        .and_then(|r| r.strip_prefix(kind))
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|n| n.split('?').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| async_graphql::Error::new(format!("Invalid global id '{id}'")))
}

/// Like [`parse_gid`] for ids inside mutation inputs: a wrong id is a userError there.
fn gid_num(kind: &str, id: &str) -> Option<u64> {
    parse_gid(kind, id).ok()
}

/// `UnsignedInt64`: a whole number sent as a string of digits.
#[derive(Clone, Copy)]
pub struct UnsignedInt64(pub u64);

#[Scalar(name = "UnsignedInt64")]
impl ScalarType for UnsignedInt64 {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => s
                .parse()
                .map(UnsignedInt64)
                .map_err(|_| InputValueError::custom("invalid UnsignedInt64")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// A `Float` from a decimal.
fn float(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(0.0)
}

fn time(secs: i64) -> String {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------

/// `DateTime`: ISO 8601 in UTC, e.g. `2025-06-01T12:00:00Z`.
#[derive(Clone, Copy)]
pub struct DateTime(pub i64);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| DateTime(t.timestamp()))
                .map_err(|_| InputValueError::custom("invalid DateTime")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(time(self.0))
    }
}

/// A decimal as Shopify renders it: no trailing zeros but one (`25.0`, `12.99`).
fn decimal_text(d: Decimal) -> String {
    let n = d.normalize();
    if n.scale() == 0 {
        format!("{n}.0")
    } else {
        n.to_string()
    }
}

fn parse_decimal(value: &Value) -> Result<Decimal, String> {
    match value {
        Value::String(s) => s
            .trim()
            .parse::<Decimal>()
            .map_err(|_| format!("invalid decimal {s:?}")),
        Value::Number(n) => n
            .to_string()
            .parse::<Decimal>()
            .map_err(|_| "invalid decimal".to_owned()),
        _ => Err("expected a decimal string".to_owned()),
    }
}

/// `Decimal`: a decimal string.
#[derive(Clone, Copy)]
pub struct DecimalScalar(pub Decimal);

#[Scalar(name = "Decimal")]
impl ScalarType for DecimalScalar {
    fn parse(value: Value) -> InputValueResult<Self> {
        parse_decimal(&value)
            .map(DecimalScalar)
            .map_err(InputValueError::custom)
    }
    fn to_value(&self) -> Value {
        Value::String(decimal_text(self.0))
    }
}

/// `Money`: a decimal string with the currency's digits (`25.00`).
#[derive(Clone, Copy)]
pub struct Money(pub Decimal);

#[Scalar(name = "Money")]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        parse_decimal(&value)
            .map(Money)
            .map_err(InputValueError::custom)
    }
    fn to_value(&self) -> Value {
        let mut d = self.0;
        if d.scale() < 2 {
            d.rescale(2);
        }
        Value::String(d.to_string())
    }
}

/// `URL`: an absolute URL.
#[derive(Clone)]
pub struct Url(pub String);

#[Scalar(name = "URL")]
impl ScalarType for Url {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) if url::Url::parse(s).is_ok() => Ok(Url(s.clone())),
            Value::String(s) => Err(InputValueError::custom(format!("Invalid url '{s}'"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

/// `HTML`: an HTML string.
#[derive(Clone)]
pub struct Html(pub String);

#[Scalar(name = "HTML")]
impl ScalarType for Html {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => Ok(Html(s)),
            other => Err(InputValueError::expected_type(other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

// ---------------------------------------------------------------------------------------
// Enums (subsets of Shopify's)
// ---------------------------------------------------------------------------------------

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CurrencyCode {
    Usd,
    Eur,
    Gbp,
    Jpy,
    Cad,
}

impl CurrencyCode {
    pub fn from_code(c: &str) -> CurrencyCode {
        match c {
            "EUR" => CurrencyCode::Eur,
            "GBP" => CurrencyCode::Gbp,
            "JPY" => CurrencyCode::Jpy,
            "CAD" => CurrencyCode::Cad,
            _ => CurrencyCode::Usd,
        }
    }
    fn decimals(self) -> u32 {
        if self == CurrencyCode::Jpy {
            0
        } else {
            2
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CountryCode {
    Ca,
    Us,
    De,
    Jp,
    Gb,
    Fr,
}

fn country(c: &str) -> Option<CountryCode> {
    Some(match c {
        "CA" => CountryCode::Ca,
        "US" => CountryCode::Us,
        "DE" => CountryCode::De,
        "JP" => CountryCode::Jp,
        "GB" => CountryCode::Gb,
        "FR" => CountryCode::Fr,
        _ => return None,
    })
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderDisplayFinancialStatus {
    Pending,
    Authorized,
    PartiallyPaid,
    PartiallyRefunded,
    Voided,
    Paid,
    Refunded,
    Expired,
}

fn financial(s: &str) -> OrderDisplayFinancialStatus {
    use OrderDisplayFinancialStatus::*;
    match s {
        "AUTHORIZED" => Authorized,
        "PARTIALLY_PAID" => PartiallyPaid,
        "PARTIALLY_REFUNDED" => PartiallyRefunded,
        "VOIDED" => Voided,
        "PAID" => Paid,
        "REFUNDED" => Refunded,
        "EXPIRED" => Expired,
        _ => Pending,
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderDisplayFulfillmentStatus {
    Unfulfilled,
    PartiallyFulfilled,
    Fulfilled,
    OnHold,
    /// 2026-10: nothing shipped and nothing left to ship.
    FulfillmentNotRequired,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WeightUnit {
    Kilograms,
    Grams,
    Pounds,
    Ounces,
}

impl WeightUnit {
    fn of(word: &str) -> WeightUnit {
        match word {
            "KILOGRAMS" => WeightUnit::Kilograms,
            "POUNDS" => WeightUnit::Pounds,
            "OUNCES" => WeightUnit::Ounces,
            _ => WeightUnit::Grams,
        }
    }
    fn word(self) -> &'static str {
        match self {
            WeightUnit::Kilograms => "KILOGRAMS",
            WeightUnit::Grams => "GRAMS",
            WeightUnit::Pounds => "POUNDS",
            WeightUnit::Ounces => "OUNCES",
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderTransactionKind {
    Sale,
    Capture,
    Authorization,
    Void,
    Refund,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderTransactionStatus {
    Success,
    Failure,
    Pending,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DiscountApplicationAllocationMethod {
    Across,
    Each,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DiscountApplicationTargetSelection {
    All,
    Entitled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DiscountApplicationTargetType {
    LineItem,
    ShippingLine,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum RefundLineItemRestockType {
    Return,
    Cancel,
    NoRestock,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum LocationSortKeys {
    Id,
    Name,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderCancelReason {
    Customer,
    Declined,
    Fraud,
    Inventory,
    Staff,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum FulfillmentStatus {
    Success,
    Cancelled,
    Error,
    Failure,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum FulfillmentOrderStatus {
    Open,
    InProgress,
    Cancelled,
    Closed,
    OnHold,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ProductStatus {
    Active,
    Archived,
    Draft,
}

impl ProductStatus {
    fn word(self) -> &'static str {
        match self {
            ProductStatus::Active => "ACTIVE",
            ProductStatus::Archived => "ARCHIVED",
            ProductStatus::Draft => "DRAFT",
        }
    }
    fn from_word(s: &str) -> ProductStatus {
        match s {
            "ACTIVE" => ProductStatus::Active,
            "ARCHIVED" => ProductStatus::Archived,
            _ => ProductStatus::Draft,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CustomerState {
    Declined,
    Disabled,
    Enabled,
    Invited,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CountPrecision {
    Exact,
    AtLeast,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderSortKeys {
    CreatedAt,
    Id,
    ProcessedAt,
    UpdatedAt,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ProductSortKeys {
    CreatedAt,
    Id,
    Title,
    UpdatedAt,
}

/// The topics the sandbox sends (a subset of Shopify's).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum WebhookSubscriptionTopic {
    OrdersCreate,
    OrdersUpdated,
    ProductsCreate,
    ProductsUpdate,
    ProductsDelete,
    CustomersCreate,
    CustomersUpdate,
}

impl WebhookSubscriptionTopic {
    fn topic(self) -> Topic {
        match self {
            WebhookSubscriptionTopic::OrdersCreate => Topic::OrdersCreate,
            WebhookSubscriptionTopic::OrdersUpdated => Topic::OrdersUpdated,
            WebhookSubscriptionTopic::ProductsCreate => Topic::ProductsCreate,
            WebhookSubscriptionTopic::ProductsUpdate => Topic::ProductsUpdate,
            WebhookSubscriptionTopic::ProductsDelete => Topic::ProductsDelete,
            WebhookSubscriptionTopic::CustomersCreate => Topic::CustomersCreate,
            WebhookSubscriptionTopic::CustomersUpdate => Topic::CustomersUpdate,
        }
    }

    fn of(t: Topic) -> Self {
        match t {
            Topic::OrdersCreate => WebhookSubscriptionTopic::OrdersCreate,
            Topic::OrdersUpdated => WebhookSubscriptionTopic::OrdersUpdated,
            Topic::ProductsCreate => WebhookSubscriptionTopic::ProductsCreate,
            Topic::ProductsUpdate => WebhookSubscriptionTopic::ProductsUpdate,
            Topic::ProductsDelete => WebhookSubscriptionTopic::ProductsDelete,
            Topic::CustomersCreate => WebhookSubscriptionTopic::CustomersCreate,
            Topic::CustomersUpdate => WebhookSubscriptionTopic::CustomersUpdate,
        }
    }
}

/// JSON only: the sandbox does not send XML.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum WebhookSubscriptionFormat {
    Json,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum WebhookSubscriptionSortKeys {
    CreatedAt,
    Id,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CustomerSortKeys {
    CreatedAt,
    Id,
    UpdatedAt,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CollectionSortKeys {
    Id,
    Title,
    UpdatedAt,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ProductVariantsBulkUpdateUserErrorCode {
    InvalidInput,
    ProductDoesNotExist,
    ProductVariantIdMissing,
    ProductVariantDoesNotExist,
    NegativePriceValue,
}

/// As of 2026-10: the compare-and-swap codes of `changeFromQuantity` and idempotency;
/// `ITEM_NOT_STOCKED_AT_LOCATION` is gone (an item can be stocked anywhere).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum InventorySetQuantitiesUserErrorCode {
    InvalidInventoryItem,
    InvalidLocation,
    InvalidReason,
    InvalidName,
    InvalidQuantityTooHigh,
    InvalidQuantityTooLow,
    ChangeFromQuantityStale,
    IdempotencyKeyParameterMismatch,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum InventoryAdjustQuantitiesUserErrorCode {
    InvalidInventoryItem,
    InvalidLocation,
    InvalidReason,
    InvalidQuantityName,
    InvalidQuantityTooHigh,
    InvalidQuantityTooLow,
    ChangeFromQuantityStale,
    IdempotencyKeyParameterMismatch,
}

// ---------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------

#[derive(SimpleObject, Clone)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

fn cursor(id: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"last_id\":{id}}}"))
}

fn cursor_id(c: &str) -> async_graphql::Result<u64> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(c.trim())
        .map_err(|_| async_graphql::Error::new("Invalid cursor for current pagination sort."))?;
    let v: serde_json::Value = serde_json::from_slice(&raw)
        .map_err(|_| async_graphql::Error::new("Invalid cursor for current pagination sort."))?;
    v.get("last_id")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| async_graphql::Error::new("Invalid cursor for current pagination sort."))
}

pub const MAX_PAGE: i32 = 250;

/// The paging arguments of a connection field.
pub struct Window {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    pub reverse: Option<bool>,
}

/// `items` in ascending order of their sort key (ties by id), keys dropped.
fn by_key<K: Ord, T>(mut items: Vec<(u64, (K, T))>) -> Vec<(u64, T)> {
    items.sort_by(|a, b| (&a.1 .0, a.0).cmp(&(&b.1 .0, b.0)));
    items.into_iter().map(|(id, (_, t))| (id, t)).collect()
}

/// One page of `items` (already filtered and in ascending order; `reverse` turns it),
/// Relay style.
fn paginate<T: Clone>(
    mut items: Vec<(u64, T)>,
    w: Window,
) -> async_graphql::Result<(Vec<(String, T)>, PageInfo)> {
    if w.reverse == Some(true) {
        items.reverse();
    }
    if w.first.is_none() && w.last.is_none() {
        return Err(async_graphql::Error::new(
            "you must provide one of first or last",
        ));
    }
    for n in [w.first, w.last].into_iter().flatten() {
        if !(0..=MAX_PAGE).contains(&n) {
            return Err(async_graphql::Error::new(format!(
                "The page size must be between 0 and {MAX_PAGE}."
            )));
        }
    }
    let pos = |c: &str| -> async_graphql::Result<usize> {
        let id = cursor_id(c)?;
        items
            .iter()
            .position(|(i, _)| *i == id)
            .ok_or_else(|| async_graphql::Error::new("Invalid cursor for current pagination sort."))
    };
    let mut start = 0;
    let mut end = items.len();
    if let Some(a) = &w.after {
        start = pos(a)? + 1;
    }
    if let Some(b) = &w.before {
        end = pos(b)?.max(start);
    }
    let mut has_next = end < items.len();
    let mut has_prev = start > 0;
    if let Some(f) = w.first {
        if end - start > f as usize {
            end = start + f as usize;
            has_next = true;
        }
    }
    if let Some(l) = w.last {
        if end - start > l as usize {
            start = end - l as usize;
            has_prev = true;
        }
    }
    let page: Vec<(String, T)> = items[start..end]
        .iter()
        .map(|(id, t)| (cursor(*id), t.clone()))
        .collect();
    let info = PageInfo {
        has_next_page: has_next,
        has_previous_page: has_prev,
        start_cursor: page.first().map(|(c, _)| c.clone()),
        end_cursor: page.last().map(|(c, _)| c.clone()),
    };
    Ok((page, info))
}

macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty) => {
        #[derive(SimpleObject, Clone)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        #[derive(SimpleObject, Clone)]
        pub struct $conn {
            pub edges: Vec<$edge>,
            pub nodes: Vec<$node>,
            pub page_info: PageInfo,
        }

        impl $conn {
            fn build(page: Vec<(String, $node)>, page_info: PageInfo) -> Self {
                $conn {
                    nodes: page.iter().map(|(_, n)| n.clone()).collect(),
                    edges: page
                        .into_iter()
                        .map(|(cursor, node)| $edge { cursor, node })
                        .collect(),
                    page_info,
                }
            }
        }
    };
}

connection!(OrderConnection, OrderEdge, Order);
connection!(LineItemConnection, LineItemEdge, LineItem);
connection!(
    FulfillmentOrderConnection,
    FulfillmentOrderEdge,
    FulfillmentOrder
);
connection!(
    FulfillmentOrderLineItemConnection,
    FulfillmentOrderLineItemEdge,
    FulfillmentOrderLineItem
);
connection!(ProductConnection, ProductEdge, Product);
connection!(ProductVariantConnection, ProductVariantEdge, ProductVariant);
connection!(MediaConnection, MediaEdge, Media);
connection!(CollectionConnection, CollectionEdge, Collection);
connection!(CustomerConnection, CustomerEdge, Customer);
connection!(ShippingLineConnection, ShippingLineEdge, ShippingLine);
connection!(RefundLineItemConnection, RefundLineItemEdge, RefundLineItem);
connection!(InventoryLevelConnection, InventoryLevelEdge, InventoryLevel);
connection!(LocationConnection, LocationEdge, Location);

// ---------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------

#[derive(SimpleObject, Clone)]
pub struct Shop {
    pub id: ID,
    pub name: String,
    pub email: String,
    pub myshopify_domain: String,
    pub url: Url,
    pub currency_code: CurrencyCode,
    pub iana_timezone: String,
    pub timezone_abbreviation: String,
    pub weight_unit: WeightUnit,
}

#[derive(SimpleObject, Clone)]
pub struct LocationAddress {
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub province_code: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
    pub formatted: Vec<String>,
}

#[derive(SimpleObject, Clone)]
pub struct Location {
    pub id: ID,
    pub name: String,
    pub is_active: bool,
    pub fulfills_online_orders: bool,
    pub address: LocationAddress,
}

fn location(l: &LocationRec) -> Location {
    let (line1, city, province, zip, country) = l.address;
    Location {
        id: gid("Location", l.id),
        name: l.name.into(),
        is_active: l.active,
        fulfills_online_orders: true,
        address: LocationAddress {
            address1: Some(line1.into()),
            address2: None,
            city: Some(city.into()),
            province: Some("Ontario".into()),
            province_code: Some(province.into()),
            zip: Some(zip.into()),
            country: Some("Canada".into()),
            country_code: Some(country.into()),
            phone: None,
            formatted: vec![
                line1.into(),
                format!("{city} {province} {zip}"),
                "Canada".into(),
            ],
        },
    }
}

#[derive(SimpleObject, Clone)]
pub struct Weight {
    pub unit: WeightUnit,
    pub value: f64,
}

#[derive(SimpleObject, Clone)]
pub struct InventoryItemMeasurement {
    pub id: ID,
    pub weight: Option<Weight>,
}

#[derive(SimpleObject, Clone)]
pub struct InventoryQuantity {
    pub id: ID,
    pub name: String,
    pub quantity: i32,
    pub updated_at: Option<DateTime>,
}

/// A `TaxLine`: rate as a Float fraction and as a percentage.
#[derive(SimpleObject, Clone)]
pub struct TaxLine {
    pub title: String,
    pub rate: Option<f64>,
    pub rate_percentage: Option<f64>,
    pub price_set: MoneyBag,
    pub channel_liable: Option<bool>,
}

fn tax_line(t: &TaxRec, o: &OrderRec) -> TaxLine {
    TaxLine {
        title: t.title.into(),
        rate: Some(float(t.rate)),
        rate_percentage: Some(float(t.rate * Decimal::from(100))),
        price_set: bag(t.amount, o),
        channel_liable: Some(false),
    }
}

#[derive(SimpleObject, Clone)]
pub struct PricingPercentageValue {
    pub percentage: f64,
}

#[derive(Union, Clone)]
pub enum PricingValue {
    MoneyV2(MoneyV2),
    PricingPercentageValue(PricingPercentageValue),
}

#[derive(SimpleObject, Clone)]
pub struct DiscountCodeApplication {
    pub code: String,
    pub index: i32,
    pub allocation_method: DiscountApplicationAllocationMethod,
    pub target_selection: DiscountApplicationTargetSelection,
    pub target_type: DiscountApplicationTargetType,
    pub value: PricingValue,
}

#[derive(Interface, Clone)]
#[graphql(
    field(name = "index", ty = "&i32"),
    field(
        name = "allocation_method",
        ty = "&DiscountApplicationAllocationMethod"
    ),
    field(name = "target_selection", ty = "&DiscountApplicationTargetSelection"),
    field(name = "target_type", ty = "&DiscountApplicationTargetType"),
    field(name = "value", ty = "&PricingValue")
)]
pub enum DiscountApplication {
    DiscountCodeApplication(DiscountCodeApplication),
}

#[derive(SimpleObject, Clone)]
pub struct DiscountAllocation {
    pub allocated_amount_set: MoneyBag,
    pub discount_application: DiscountApplication,
}

/// The allocation of a discount code (`WELCOME10`: 10 % of the lines; `FREESHIP`: the
/// shipping line).
fn allocation(code: &str, amount: Decimal, o: &OrderRec, shipping: bool) -> DiscountAllocation {
    let percentage = if code == "FREESHIP" { 100.0 } else { 10.0 };
    DiscountAllocation {
        allocated_amount_set: bag(amount, o),
        discount_application: DiscountApplication::DiscountCodeApplication(
            DiscountCodeApplication {
                code: code.into(),
                index: 0,
                allocation_method: DiscountApplicationAllocationMethod::Across,
                target_selection: DiscountApplicationTargetSelection::All,
                target_type: if shipping {
                    DiscountApplicationTargetType::ShippingLine
                } else {
                    DiscountApplicationTargetType::LineItem
                },
                value: PricingValue::PricingPercentageValue(PricingPercentageValue { percentage }),
            },
        ),
    }
}

#[derive(Clone)]
pub struct ShippingLine {
    rec: ShippingLineRec,
    order: Arc<OrderRec>,
}

#[Object]
impl ShippingLine {
    async fn id(&self) -> Option<ID> {
        Some(gid("ShippingLine", self.rec.id))
    }
    async fn title(&self) -> &str {
        &self.rec.title
    }
    async fn code(&self) -> Option<&str> {
        Some(&self.rec.code)
    }
    async fn source(&self) -> Option<&str> {
        Some(self.rec.source)
    }
    async fn carrier_identifier(&self) -> Option<&str> {
        self.rec.carrier_identifier.as_deref()
    }
    async fn delivery_category(&self) -> Option<&str> {
        None
    }
    async fn custom(&self) -> bool {
        false
    }
    async fn is_removed(&self) -> bool {
        false
    }
    async fn original_price_set(&self) -> MoneyBag {
        bag(self.rec.price, &self.order)
    }
    async fn discounted_price_set(&self) -> MoneyBag {
        bag(self.rec.discounted(), &self.order)
    }
    async fn current_discounted_price_set(&self) -> MoneyBag {
        bag(self.rec.discounted(), &self.order)
    }
    async fn tax_lines(&self) -> Vec<TaxLine> {
        self.rec
            .taxes
            .iter()
            .map(|t| tax_line(t, &self.order))
            .collect()
    }
    async fn discount_allocations(&self) -> Vec<DiscountAllocation> {
        self.rec
            .discount
            .iter()
            .map(|(c, d)| allocation(c, *d, &self.order, true))
            .collect()
    }
}

#[derive(Clone)]
pub struct OrderTransaction {
    rec: TransactionRec,
    order: Arc<OrderRec>,
}

#[Object]
impl OrderTransaction {
    async fn id(&self) -> ID {
        gid("OrderTransaction", self.rec.id)
    }
    async fn kind(&self) -> OrderTransactionKind {
        match self.rec.kind {
            "CAPTURE" => OrderTransactionKind::Capture,
            "AUTHORIZATION" => OrderTransactionKind::Authorization,
            "VOID" => OrderTransactionKind::Void,
            "REFUND" => OrderTransactionKind::Refund,
            _ => OrderTransactionKind::Sale,
        }
    }
    async fn status(&self) -> OrderTransactionStatus {
        match self.rec.status {
            "FAILURE" => OrderTransactionStatus::Failure,
            "PENDING" => OrderTransactionStatus::Pending,
            _ => OrderTransactionStatus::Success,
        }
    }
    async fn gateway(&self) -> Option<&str> {
        Some(self.rec.gateway)
    }
    async fn formatted_gateway(&self) -> Option<&str> {
        Some(self.rec.formatted_gateway)
    }
    async fn processed_at(&self) -> Option<DateTime> {
        Some(DateTime(self.rec.processed_at))
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.rec.processed_at)
    }
    async fn amount_set(&self) -> MoneyBag {
        bag(self.rec.amount, &self.order)
    }
    async fn test(&self) -> bool {
        false
    }
}

#[derive(Clone)]
pub struct RefundLineItem {
    line: LineItem,
    quantity: i64,
    subtotal: Decimal,
}

#[Object]
impl RefundLineItem {
    async fn id(&self) -> Option<ID> {
        Some(gid("RefundLineItem", self.line.rec.id + 7_000_000_000))
    }
    async fn line_item(&self) -> LineItem {
        self.line.clone()
    }
    async fn quantity(&self) -> i32 {
        self.quantity as i32
    }
    async fn restocked(&self) -> bool {
        false
    }
    async fn restock_type(&self) -> RefundLineItemRestockType {
        RefundLineItemRestockType::NoRestock
    }
    async fn price_set(&self) -> MoneyBag {
        bag(self.line.rec.unit_price, &self.line.order)
    }
    async fn subtotal_set(&self) -> MoneyBag {
        bag(self.subtotal, &self.line.order)
    }
    async fn total_tax_set(&self) -> MoneyBag {
        let q = Decimal::from(self.line.rec.quantity.max(1));
        let tax: Decimal = self.line.rec.taxes.iter().map(|t| t.amount).sum();
        let share = if self.line.order.taxes_included {
            Decimal::ZERO
        } else {
            (tax * Decimal::from(self.quantity) / q).round_dp(2)
        };
        bag(share, &self.line.order)
    }
}

#[derive(Clone)]
pub struct Refund {
    rec: RefundRec,
    order: Arc<OrderRec>,
}

#[Object]
impl Refund {
    async fn id(&self) -> ID {
        gid("Refund", self.rec.id)
    }
    async fn created_at(&self) -> Option<DateTime> {
        Some(DateTime(self.rec.created_at))
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.rec.created_at)
    }
    async fn note(&self) -> Option<&str> {
        self.rec.note.as_deref()
    }
    async fn total_refunded_set(&self) -> MoneyBag {
        bag(self.rec.amount, &self.order)
    }
    async fn refund_line_items(
        &self,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
    ) -> async_graphql::Result<RefundLineItemConnection> {
        let items: Vec<(u64, RefundLineItem)> = self
            .rec
            .lines
            .iter()
            .filter_map(|(line, qty, subtotal)| {
                let rec = self.order.line_items.iter().find(|l| l.id == *line)?;
                Some((
                    rec.id,
                    RefundLineItem {
                        line: LineItem {
                            rec: rec.clone(),
                            order: self.order.clone(),
                        },
                        quantity: *qty,
                        subtotal: *subtotal,
                    },
                ))
            })
            .collect();
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(RefundLineItemConnection::build(page, info))
    }
}

/// One location's stock of an inventory item.
#[derive(Clone)]
pub struct InventoryLevel {
    item: u64,
    location: LocationRec,
    available: i64,
}

#[Object]
impl InventoryLevel {
    async fn id(&self) -> ID {
        ID(format!(
            "gid://shopify/InventoryLevel/{}?inventory_item_id={}",
            self.location.id, self.item
        ))
    }
    async fn location(&self) -> Location {
        location(&self.location)
    }
    /// `available` and `on_hand` (the sandbox commits nothing, so they agree).
    async fn quantities(&self, names: Vec<String>) -> Vec<InventoryQuantity> {
        names
            .into_iter()
            .filter(|n| matches!(n.as_str(), "available" | "on_hand"))
            .map(|name| InventoryQuantity {
                id: ID(format!(
                    "gid://shopify/InventoryQuantity/{}?inventory_item_id={}&name={name}",
                    self.location.id, self.item
                )),
                name,
                quantity: self.available as i32,
                updated_at: None,
            })
            .collect()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(SANDBOX_EPOCH)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(SANDBOX_EPOCH)
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MoneyV2")]
pub struct MoneyV2 {
    pub amount: DecimalScalar,
    pub currency_code: CurrencyCode,
}

#[derive(SimpleObject, Clone)]
pub struct MoneyBag {
    pub shop_money: MoneyV2,
    pub presentment_money: MoneyV2,
}

fn bag(shop: Decimal, o: &OrderRec) -> MoneyBag {
    let cur = CurrencyCode::from_code(o.presentment_currency);
    let presented = (shop * o.rate).round_dp_with_strategy(
        cur.decimals(),
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    );
    MoneyBag {
        shop_money: MoneyV2 {
            amount: DecimalScalar(shop),
            currency_code: CurrencyCode::from_code(SHOP_CURRENCY),
        },
        presentment_money: MoneyV2 {
            amount: DecimalScalar(presented),
            currency_code: cur,
        },
    }
}

#[derive(SimpleObject, Clone)]
pub struct MailingAddress {
    pub id: ID,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: Option<String>,
    pub company: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub province_code: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    #[graphql(name = "countryCodeV2")]
    pub country_code_v2: Option<CountryCode>,
    pub phone: Option<String>,
}

fn mailing(a: &AddressRec, owner: u64) -> MailingAddress {
    let id = if a.id == 0 { owner } else { a.id };
    let name = [a.first_name.as_deref(), a.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    MailingAddress {
        id: ID(format!(
            "gid://shopify/MailingAddress/{id}?model_name=Address"
        )),
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        name: (!name.is_empty()).then_some(name),
        company: a.company.clone(),
        address1: a.address1.clone(),
        address2: a.address2.clone(),
        city: a.city.clone(),
        province: a.province.clone(),
        province_code: a.province_code.clone(),
        zip: a.zip.clone(),
        country: a.country.clone(),
        country_code_v2: a.country_code.as_deref().and_then(country),
        phone: a.phone.clone(),
    }
}

#[derive(SimpleObject, Clone)]
pub struct FulfillmentTrackingInfo {
    pub company: Option<String>,
    pub number: Option<String>,
    pub url: Option<Url>,
}

#[derive(Clone)]
pub struct Fulfillment(FulfillmentRec);

#[Object]
impl Fulfillment {
    async fn id(&self) -> ID {
        gid("Fulfillment", self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn status(&self) -> FulfillmentStatus {
        match self.0.status {
            "CANCELLED" => FulfillmentStatus::Cancelled,
            "ERROR" => FulfillmentStatus::Error,
            "FAILURE" => FulfillmentStatus::Failure,
            _ => FulfillmentStatus::Success,
        }
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn tracking_info(&self, first: Option<i32>) -> Vec<FulfillmentTrackingInfo> {
        self.0
            .tracking
            .iter()
            .take(first.map_or(usize::MAX, |n| n.max(0) as usize))
            .map(|t| FulfillmentTrackingInfo {
                company: t.company.clone(),
                number: t.number.clone(),
                url: t.url.clone().map(Url),
            })
            .collect()
    }
}

#[derive(Clone)]
pub struct LineItem {
    rec: LineItemRec,
    order: Arc<OrderRec>,
}

#[Object]
impl LineItem {
    async fn id(&self) -> ID {
        gid("LineItem", self.rec.id)
    }
    async fn name(&self) -> &str {
        &self.rec.name
    }
    async fn title(&self) -> &str {
        self.rec.name.split(" - ").next().unwrap_or(&self.rec.name)
    }
    async fn sku(&self) -> Option<&str> {
        self.rec.sku.as_deref()
    }
    async fn quantity(&self) -> i32 {
        self.rec.quantity as i32
    }
    async fn unfulfilled_quantity(&self) -> i32 {
        (self.rec.quantity - self.order.fulfilled_qty(self.rec.id)).max(0) as i32
    }
    async fn original_unit_price_set(&self) -> MoneyBag {
        bag(self.rec.unit_price, &self.order)
    }
    async fn original_total_set(&self) -> MoneyBag {
        bag(
            self.rec.unit_price * Decimal::from(self.rec.quantity),
            &self.order,
        )
    }
    /// Without code discounts unless asked (as Shopify documents it).
    async fn discounted_total_set(&self, with_code_discounts: Option<bool>) -> MoneyBag {
        let gross = self.rec.unit_price * Decimal::from(self.rec.quantity);
        let less = if with_code_discounts == Some(true) {
            self.rec.discount_amount()
        } else {
            Decimal::ZERO
        };
        bag(gross - less, &self.order)
    }
    async fn requires_shipping(&self) -> bool {
        self.rec.requires_shipping
    }
    async fn tax_lines(&self, first: Option<i32>) -> Vec<TaxLine> {
        self.rec
            .taxes
            .iter()
            .take(first.map_or(usize::MAX, |n| n.max(0) as usize))
            .map(|t| tax_line(t, &self.order))
            .collect()
    }
    async fn discount_allocations(&self) -> Vec<DiscountAllocation> {
        self.rec
            .discount
            .iter()
            .map(|(c, d)| allocation(c, *d, &self.order, false))
            .collect()
    }
    async fn refundable_quantity(&self) -> i32 {
        let refunded: i64 = self
            .order
            .refunds
            .iter()
            .flat_map(|r| &r.lines)
            .filter(|(l, _, _)| *l == self.rec.id)
            .map(|(_, q, _)| q)
            .sum();
        (self.rec.quantity - refunded).max(0) as i32
    }
    async fn product(&self, ctx: &Context<'_>) -> Option<Product> {
        let id = self.rec.product_id?;
        db(ctx).products.get(&id).cloned().map(Product)
    }
    async fn variant(&self, ctx: &Context<'_>) -> Option<ProductVariant> {
        let (pid, vid) = (self.rec.product_id?, self.rec.variant_id?);
        let d = db(ctx);
        let v = d
            .products
            .get(&pid)?
            .variants
            .iter()
            .find(|v| v.id == vid)?
            .clone();
        Some(ProductVariant(v))
    }
}

#[derive(Clone)]
pub struct FulfillmentOrderLineItem {
    line: LineItem,
}

#[Object]
impl FulfillmentOrderLineItem {
    async fn id(&self) -> ID {
        gid("FulfillmentOrderLineItem", self.line.rec.fo_line_id)
    }
    async fn total_quantity(&self) -> i32 {
        self.line.rec.quantity as i32
    }
    async fn remaining_quantity(&self) -> i32 {
        self.line.order.remaining(&self.line.rec) as i32
    }
    async fn sku(&self) -> Option<&str> {
        self.line.rec.sku.as_deref()
    }
    async fn product_title(&self) -> &str {
        self.line
            .rec
            .name
            .split(" - ")
            .next()
            .unwrap_or(&self.line.rec.name)
    }
    async fn line_item(&self) -> LineItem {
        self.line.clone()
    }
}

#[derive(Clone)]
pub struct FulfillmentOrder(Arc<OrderRec>);

#[Object]
impl FulfillmentOrder {
    async fn id(&self) -> ID {
        gid("FulfillmentOrder", self.0.fulfillment_order_id)
    }
    async fn status(&self) -> FulfillmentOrderStatus {
        match self.0.fulfillment_order_status() {
            "CANCELLED" => FulfillmentOrderStatus::Cancelled,
            "CLOSED" => FulfillmentOrderStatus::Closed,
            "ON_HOLD" => FulfillmentOrderStatus::OnHold,
            "IN_PROGRESS" => FulfillmentOrderStatus::InProgress,
            _ => FulfillmentOrderStatus::Open,
        }
    }
    async fn line_items(
        &self,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
    ) -> async_graphql::Result<FulfillmentOrderLineItemConnection> {
        let items: Vec<(u64, FulfillmentOrderLineItem)> = self
            .0
            .line_items
            .iter()
            .map(|l| {
                (
                    l.fo_line_id,
                    FulfillmentOrderLineItem {
                        line: LineItem {
                            rec: l.clone(),
                            order: self.0.clone(),
                        },
                    },
                )
            })
            .collect();
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(FulfillmentOrderLineItemConnection::build(page, info))
    }
}

#[derive(Clone)]
pub struct Order(pub Arc<OrderRec>);

#[Object]
impl Order {
    async fn id(&self) -> ID {
        gid("Order", self.0.id)
    }
    async fn name(&self) -> String {
        self.0.name()
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn processed_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    async fn closed(&self) -> bool {
        self.0.closed_at.is_some()
    }
    async fn closed_at(&self) -> Option<DateTime> {
        self.0.closed_at.map(DateTime)
    }
    async fn cancelled_at(&self) -> Option<DateTime> {
        self.0.cancelled_at.map(DateTime)
    }
    async fn cancel_reason(&self) -> Option<OrderCancelReason> {
        self.0.cancel_reason.map(|r| match r {
            "CUSTOMER" => OrderCancelReason::Customer,
            "DECLINED" => OrderCancelReason::Declined,
            "FRAUD" => OrderCancelReason::Fraud,
            "INVENTORY" => OrderCancelReason::Inventory,
            "STAFF" => OrderCancelReason::Staff,
            _ => OrderCancelReason::Other,
        })
    }
    async fn display_financial_status(&self) -> Option<OrderDisplayFinancialStatus> {
        Some(financial(self.0.financial))
    }
    async fn display_fulfillment_status(&self) -> OrderDisplayFulfillmentStatus {
        match self.0.display_fulfillment() {
            "FULFILLED" => OrderDisplayFulfillmentStatus::Fulfilled,
            "PARTIALLY_FULFILLED" => OrderDisplayFulfillmentStatus::PartiallyFulfilled,
            "ON_HOLD" => OrderDisplayFulfillmentStatus::OnHold,
            "FULFILLMENT_NOT_REQUIRED" => OrderDisplayFulfillmentStatus::FulfillmentNotRequired,
            _ => OrderDisplayFulfillmentStatus::Unfulfilled,
        }
    }
    async fn currency_code(&self) -> CurrencyCode {
        CurrencyCode::from_code(SHOP_CURRENCY)
    }
    async fn presentment_currency_code(&self) -> CurrencyCode {
        CurrencyCode::from_code(self.0.presentment_currency)
    }
    async fn subtotal_price_set(&self) -> Option<MoneyBag> {
        Some(bag(self.0.subtotal(), &self.0))
    }
    async fn total_shipping_price_set(&self) -> MoneyBag {
        bag(self.0.shipping, &self.0)
    }
    async fn total_tax_set(&self) -> Option<MoneyBag> {
        Some(bag(self.0.tax, &self.0))
    }
    async fn total_discounts_set(&self) -> Option<MoneyBag> {
        Some(bag(self.0.discounts, &self.0))
    }
    async fn total_price_set(&self) -> MoneyBag {
        bag(self.0.total(), &self.0)
    }
    async fn total_refunded_set(&self) -> MoneyBag {
        bag(self.0.refunded, &self.0)
    }
    async fn tags(&self) -> Vec<String> {
        self.0.tags.clone()
    }
    async fn taxes_included(&self) -> bool {
        self.0.taxes_included
    }
    async fn discount_codes(&self) -> Vec<String> {
        self.0.discount_codes.clone()
    }
    /// The gateways of the order's payments, once each.
    async fn payment_gateway_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in &self.0.transactions {
            if t.kind != "REFUND" && !out.iter().any(|g| g == t.gateway) {
                out.push(t.gateway.to_owned());
            }
        }
        out
    }
    /// In grams.
    async fn total_weight(&self) -> Option<UnsignedInt64> {
        Some(UnsignedInt64(self.0.total_weight_grams))
    }
    /// The taxes of the line items (not the shipping), summed per title and rate.
    async fn tax_lines(&self) -> Vec<TaxLine> {
        let mut sums: Vec<TaxRec> = Vec::new();
        for t in self.0.line_items.iter().flat_map(|l| &l.taxes) {
            match sums
                .iter_mut()
                .find(|s| s.title == t.title && s.rate == t.rate)
            {
                Some(s) => s.amount += t.amount,
                None => sums.push(t.clone()),
            }
        }
        sums.iter().map(|t| tax_line(t, &self.0)).collect()
    }
    #[allow(clippy::too_many_arguments)]
    async fn shipping_lines(
        &self,
        #[graphql(name = "includeRemovals")] _include_removals: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
    ) -> async_graphql::Result<ShippingLineConnection> {
        let items: Vec<(u64, ShippingLine)> = self
            .0
            .shipping_lines
            .iter()
            .map(|l| {
                (
                    l.id,
                    ShippingLine {
                        rec: l.clone(),
                        order: self.0.clone(),
                    },
                )
            })
            .collect();
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(ShippingLineConnection::build(page, info))
    }
    async fn transactions(
        &self,
        first: Option<i32>,
        #[graphql(name = "capturable")] _capturable: Option<bool>,
        #[graphql(name = "manuallyResolvable")] _manually_resolvable: Option<bool>,
    ) -> Vec<OrderTransaction> {
        self.0
            .transactions
            .iter()
            .take(first.map_or(usize::MAX, |n| n.max(0) as usize))
            .map(|t| OrderTransaction {
                rec: t.clone(),
                order: self.0.clone(),
            })
            .collect()
    }
    async fn refunds(&self, first: Option<i32>) -> Vec<Refund> {
        self.0
            .refunds
            .iter()
            .take(first.map_or(usize::MAX, |n| n.max(0) as usize))
            .map(|r| Refund {
                rec: r.clone(),
                order: self.0.clone(),
            })
            .collect()
    }
    async fn customer(&self, ctx: &Context<'_>) -> Option<Customer> {
        let id = self.0.customer_id?;
        db(ctx).customers.get(&id).cloned().map(Customer)
    }
    async fn billing_address(&self) -> Option<MailingAddress> {
        self.0
            .billing
            .as_ref()
            .map(|a| mailing(a, self.0.id * 10 + 1))
    }
    async fn shipping_address(&self) -> Option<MailingAddress> {
        self.0
            .shipping_address
            .as_ref()
            .map(|a| mailing(a, self.0.id * 10 + 2))
    }
    async fn line_items(
        &self,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
    ) -> async_graphql::Result<LineItemConnection> {
        let items: Vec<(u64, LineItem)> = self
            .0
            .line_items
            .iter()
            .map(|l| {
                (
                    l.id,
                    LineItem {
                        rec: l.clone(),
                        order: self.0.clone(),
                    },
                )
            })
            .collect();
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(LineItemConnection::build(page, info))
    }
    async fn fulfillments(&self, first: Option<i32>) -> Vec<Fulfillment> {
        self.0
            .fulfillments
            .iter()
            .take(first.map_or(usize::MAX, |n| n.max(0) as usize))
            .cloned()
            .map(Fulfillment)
            .collect()
    }
    #[allow(clippy::too_many_arguments)]
    async fn fulfillment_orders(
        &self,
        #[graphql(name = "displayable")] _displayable: Option<bool>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        #[graphql(name = "query")] _query: Option<String>,
    ) -> async_graphql::Result<FulfillmentOrderConnection> {
        let items = if self.0.line_items.is_empty() {
            Vec::new()
        } else {
            vec![(
                self.0.fulfillment_order_id,
                FulfillmentOrder(self.0.clone()),
            )]
        };
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(FulfillmentOrderConnection::build(page, info))
    }
}

#[derive(SimpleObject, Clone)]
pub struct SelectedOption {
    pub name: String,
    pub value: String,
}

/// A variant's inventory item: its weight, shipping and stock per location.
#[derive(Clone)]
pub struct InventoryItem(VariantRec);

impl InventoryItem {
    fn levels(&self, ctx: &Context<'_>) -> Vec<(u64, InventoryLevel)> {
        let d = db(ctx);
        self.0
            .stock
            .iter()
            .filter_map(|(loc, q)| {
                let l = d.locations.iter().find(|l| l.id == *loc)?.clone();
                Some((
                    l.id,
                    InventoryLevel {
                        item: self.0.inventory_item_id,
                        location: l,
                        available: *q,
                    },
                ))
            })
            .collect()
    }
}

#[Object]
impl InventoryItem {
    async fn id(&self) -> ID {
        gid("InventoryItem", self.0.inventory_item_id)
    }
    async fn sku(&self) -> Option<&str> {
        self.0.sku.as_deref()
    }
    async fn tracked(&self) -> bool {
        self.0.tracked
    }
    async fn requires_shipping(&self) -> bool {
        self.0.requires_shipping
    }
    async fn measurement(&self) -> InventoryItemMeasurement {
        InventoryItemMeasurement {
            id: gid("InventoryItemMeasurement", self.0.inventory_item_id),
            weight: self.0.weight.map(|(v, unit)| Weight {
                unit: WeightUnit::of(unit),
                value: float(v),
            }),
        }
    }
    #[allow(clippy::too_many_arguments)]
    async fn inventory_levels(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        #[graphql(name = "query")] _query: Option<String>,
    ) -> async_graphql::Result<InventoryLevelConnection> {
        let (page, info) = paginate(
            self.levels(ctx),
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(InventoryLevelConnection::build(page, info))
    }
    async fn inventory_level(
        &self,
        ctx: &Context<'_>,
        location_id: ID,
    ) -> async_graphql::Result<Option<InventoryLevel>> {
        let want = parse_gid("Location", &location_id)?;
        Ok(self
            .levels(ctx)
            .into_iter()
            .find(|(l, _)| *l == want)
            .map(|(_, level)| level))
    }
}

#[derive(Clone)]
pub struct ProductVariant(VariantRec);

#[Object]
impl ProductVariant {
    async fn id(&self) -> ID {
        gid("ProductVariant", self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn sku(&self) -> Option<&str> {
        self.0.sku.as_deref()
    }
    async fn barcode(&self) -> Option<&str> {
        self.0.barcode.as_deref()
    }
    async fn price(&self) -> Money {
        Money(self.0.price)
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn inventory_quantity(&self) -> Option<i32> {
        Some(self.0.quantity() as i32)
    }
    async fn selected_options(&self) -> Vec<SelectedOption> {
        self.0
            .options
            .iter()
            .map(|(n, v)| SelectedOption {
                name: n.clone(),
                value: v.clone(),
            })
            .collect()
    }
    async fn inventory_item(&self) -> InventoryItem {
        InventoryItem(self.0.clone())
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

#[derive(SimpleObject, Clone)]
pub struct Image {
    pub id: Option<ID>,
    pub url: Url,
    pub alt_text: Option<String>,
}

#[derive(SimpleObject, Clone)]
pub struct MediaImage {
    pub id: ID,
    pub image: Option<Image>,
}

#[derive(Interface, Clone)]
#[graphql(field(name = "id", ty = "&ID"))]
pub enum Media {
    MediaImage(MediaImage),
}

#[derive(SimpleObject, Clone)]
pub struct Collection {
    pub id: ID,
    pub title: String,
    pub handle: String,
    pub description: String,
    pub description_html: Html,
    pub updated_at: DateTime,
}

fn collection(c: &CollectionRec) -> Collection {
    Collection {
        id: gid("Collection", c.id),
        title: c.title.clone(),
        handle: c.handle.clone(),
        description: strip_tags(&c.description_html),
        description_html: Html(c.description_html.clone()),
        updated_at: DateTime(c.updated_at),
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
}

#[derive(Clone)]
pub struct Product(pub ProductRec);

#[Object]
impl Product {
    async fn id(&self) -> ID {
        gid("Product", self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn handle(&self) -> &str {
        &self.0.handle
    }
    async fn description_html(&self) -> Html {
        Html(self.0.description_html.clone())
    }
    async fn description(&self, truncate_at: Option<i32>) -> String {
        let text = strip_tags(&self.0.description_html);
        match truncate_at {
            Some(n) if n >= 0 => text.chars().take(n as usize).collect(),
            _ => text,
        }
    }
    async fn status(&self) -> ProductStatus {
        ProductStatus::from_word(self.0.status)
    }
    async fn vendor(&self) -> &str {
        &self.0.vendor
    }
    async fn product_type(&self) -> &str {
        &self.0.product_type
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    async fn tracks_inventory(&self) -> bool {
        self.0.tracks_inventory()
    }
    async fn total_inventory(&self) -> i32 {
        self.0.total_inventory() as i32
    }
    #[allow(clippy::too_many_arguments)]
    async fn media(
        &self,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        #[graphql(name = "query")] _query: Option<String>,
    ) -> async_graphql::Result<MediaConnection> {
        let items: Vec<(u64, Media)> = self
            .0
            .images
            .iter()
            .map(|(id, url)| {
                (
                    *id,
                    Media::MediaImage(MediaImage {
                        id: gid("MediaImage", *id),
                        image: Some(Image {
                            id: Some(gid("ImageSource", *id)),
                            url: Url(url.clone()),
                            alt_text: Some(self.0.title.clone()),
                        }),
                    }),
                )
            })
            .collect();
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(MediaConnection::build(page, info))
    }
    #[allow(clippy::too_many_arguments)]
    async fn collections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        #[graphql(name = "sortKey")] _sort_key: Option<CollectionSortKeys>,
        #[graphql(name = "query")] _query: Option<String>,
    ) -> async_graphql::Result<CollectionConnection> {
        let items: Vec<(u64, Collection)> = {
            let d = db(ctx);
            self.0
                .collection_ids
                .iter()
                .filter_map(|id| d.collections.get(id).map(|c| (*id, collection(c))))
                .collect()
        };
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(CollectionConnection::build(page, info))
    }
    async fn variants(
        &self,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
    ) -> async_graphql::Result<ProductVariantConnection> {
        let items: Vec<(u64, ProductVariant)> = self
            .0
            .variants
            .iter()
            .map(|v| (v.id, ProductVariant(v.clone())))
            .collect();
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(ProductVariantConnection::build(page, info))
    }
}

#[derive(Clone)]
pub struct Customer(pub CustomerRec);

#[Object]
impl Customer {
    async fn id(&self) -> ID {
        gid("Customer", self.0.id)
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    async fn display_name(&self) -> String {
        [self.0.first_name.as_deref(), self.0.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
    #[graphql(deprecation = "Use `defaultEmailAddress.emailAddress` instead.")]
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn state(&self) -> CustomerState {
        match self.0.state {
            "DISABLED" => CustomerState::Disabled,
            "INVITED" => CustomerState::Invited,
            "DECLINED" => CustomerState::Declined,
            _ => CustomerState::Enabled,
        }
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    async fn default_address(&self) -> Option<MailingAddress> {
        self.0.addresses.first().map(|a| mailing(a, 0))
    }
    async fn addresses(&self, first: Option<i32>) -> Vec<MailingAddress> {
        self.0
            .addresses
            .iter()
            .take(first.map_or(usize::MAX, |n| n.max(0) as usize))
            .map(|a| mailing(a, 0))
            .collect()
    }
}

#[derive(SimpleObject, Clone)]
pub struct Count {
    pub count: i32,
    pub precision: CountPrecision,
}

fn count(n: usize, limit: Option<i32>) -> Count {
    match limit {
        Some(l) if l >= 0 && n > l as usize => Count {
            count: l,
            precision: CountPrecision::AtLeast,
        },
        _ => Count {
            count: n as i32,
            precision: CountPrecision::Exact,
        },
    }
}

// ---------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------

fn text(v: &str) -> Option<Field> {
    Some(Field::Text(vec![v.to_owned()]))
}

impl Searchable for OrderRec {
    fn field(&self, name: &str) -> Option<Field> {
        match name {
            "created_at" | "processed_at" => Some(Field::Time(self.created_at)),
            "updated_at" => Some(Field::Time(self.updated_at)),
            "id" => Some(Field::Number(self.id as i64)),
            "name" => text(&self.name()),
            "email" => Some(Field::Text(self.email.iter().cloned().collect())),
            "financial_status" => text(&self.financial.to_ascii_lowercase()),
            "fulfillment_status" => {
                let words: &[&str] = match self.display_fulfillment() {
                    "FULFILLED" => &["fulfilled", "shipped"],
                    "PARTIALLY_FULFILLED" => &["partial"],
                    "ON_HOLD" => &["on_hold", "unshipped", "unfulfilled"],
                    _ => &["unshipped", "unfulfilled"],
                };
                Some(Field::Text(words.iter().map(|w| (*w).to_owned()).collect()))
            }
            "status" => {
                let mut words = Vec::new();
                if self.cancelled_at.is_some() {
                    words.push("cancelled".to_owned());
                }
                if self.closed_at.is_some() {
                    words.push("closed".to_owned());
                } else {
                    words.push("not_closed".to_owned());
                }
                if self.cancelled_at.is_none() && self.closed_at.is_none() {
                    words.push("open".to_owned());
                }
                Some(Field::Text(words))
            }
            _ => None,
        }
    }
    fn default_text(&self) -> String {
        format!("{} {}", self.name(), self.email.as_deref().unwrap_or(""))
    }
}

impl Searchable for ProductRec {
    fn field(&self, name: &str) -> Option<Field> {
        match name {
            "created_at" => Some(Field::Time(self.created_at)),
            "updated_at" => Some(Field::Time(self.updated_at)),
            "id" => Some(Field::Number(self.id as i64)),
            "title" => text(&self.title),
            "handle" => text(&self.handle),
            "status" => text(self.status),
            "sku" => Some(Field::Text(
                self.variants.iter().filter_map(|v| v.sku.clone()).collect(),
            )),
            "product_type" => text(&self.product_type),
            "vendor" => text(&self.vendor),
            _ => None,
        }
    }
    fn default_text(&self) -> String {
        self.title.clone()
    }
}

impl Searchable for CustomerRec {
    fn field(&self, name: &str) -> Option<Field> {
        match name {
            "created_at" => Some(Field::Time(self.created_at)),
            "updated_at" => Some(Field::Time(self.updated_at)),
            "id" => Some(Field::Number(self.id as i64)),
            "email" => Some(Field::Text(self.email.iter().cloned().collect())),
            "phone" => Some(Field::Text(self.phone.iter().cloned().collect())),
            "first_name" => Some(Field::Text(self.first_name.iter().cloned().collect())),
            "last_name" => Some(Field::Text(self.last_name.iter().cloned().collect())),
            "state" => text(self.state),
            _ => None,
        }
    }
    fn default_text(&self) -> String {
        format!(
            "{} {} {}",
            self.first_name.as_deref().unwrap_or(""),
            self.last_name.as_deref().unwrap_or(""),
            self.email.as_deref().unwrap_or("")
        )
    }
}

impl Searchable for CollectionRec {
    fn field(&self, name: &str) -> Option<Field> {
        match name {
            "id" => Some(Field::Number(self.id as i64)),
            "title" => text(&self.title),
            "handle" => text(&self.handle),
            "updated_at" => Some(Field::Time(self.updated_at)),
            _ => None,
        }
    }
    fn default_text(&self) -> String {
        self.title.clone()
    }
}

/// The records matching a `query:` argument.
fn filter<'a, T: Searchable + 'a>(
    items: impl Iterator<Item = &'a T>,
    query: Option<&str>,
) -> async_graphql::Result<Vec<&'a T>> {
    let expr = match query {
        Some(q) => search::parse(q).map_err(async_graphql::Error::new)?,
        None => None,
    };
    let now = chrono::Utc::now().timestamp().max(SANDBOX_EPOCH);
    Ok(items
        .filter(|r| expr.as_ref().is_none_or(|e| search::matches(e, *r, now)))
        .collect())
}

// ---------------------------------------------------------------------------------------
// Query root
// ---------------------------------------------------------------------------------------

#[derive(SimpleObject, Clone)]
pub struct WebhookHttpEndpoint {
    pub callback_url: Url,
}

#[derive(async_graphql::Union, Clone)]
pub enum WebhookSubscriptionEndpoint {
    WebhookHttpEndpoint(WebhookHttpEndpoint),
}

#[derive(Clone)]
pub struct WebhookSubscription(WebhookRec);

#[Object]
impl WebhookSubscription {
    async fn id(&self) -> ID {
        gid("WebhookSubscription", self.0.id)
    }
    async fn topic(&self) -> WebhookSubscriptionTopic {
        WebhookSubscriptionTopic::of(self.0.topic)
    }
    async fn format(&self) -> WebhookSubscriptionFormat {
        WebhookSubscriptionFormat::Json
    }
    async fn endpoint(&self) -> WebhookSubscriptionEndpoint {
        WebhookSubscriptionEndpoint::WebhookHttpEndpoint(WebhookHttpEndpoint {
            callback_url: Url(self.0.callback_url.clone()),
        })
    }
    async fn include_fields(&self) -> Vec<String> {
        Vec::new()
    }
    async fn filter(&self) -> Option<String> {
        None
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

connection!(
    WebhookSubscriptionConnection,
    WebhookSubscriptionEdge,
    WebhookSubscription
);

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    async fn shop(&self) -> Shop {
        Shop {
            id: ID("gid://shopify/Shop/68000000001".into()),
            name: "Cartgate Demo".into(),
            email: "owner@cartgate-demo.example".into(),
            myshopify_domain: SHOP_DOMAIN.into(),
            url: Url(format!("https://{SHOP_DOMAIN}")),
            currency_code: CurrencyCode::from_code(SHOP_CURRENCY),
            iana_timezone: "America/Toronto".into(),
            timezone_abbreviation: "EDT".into(),
            weight_unit: WeightUnit::Kilograms,
        }
    }

    async fn location(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<Option<Location>> {
        let d = db(ctx);
        let want = match id {
            Some(id) => parse_gid("Location", &id)?,
            None => d.primary_location(),
        };
        Ok(d.locations.iter().find(|l| l.id == want).map(location))
    }

    #[allow(clippy::too_many_arguments)]
    async fn locations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        sort_key: Option<LocationSortKeys>,
        #[graphql(name = "query")] _query: Option<String>,
        #[graphql(name = "includeLegacy")] _include_legacy: Option<bool>,
        include_inactive: Option<bool>,
    ) -> async_graphql::Result<LocationConnection> {
        let items: Vec<(u64, (String, Location))> = db(ctx)
            .locations
            .iter()
            .filter(|l| l.active || include_inactive == Some(true))
            .map(|l| {
                let key = match sort_key.unwrap_or(LocationSortKeys::Name) {
                    LocationSortKeys::Name => l.name.to_lowercase(),
                    LocationSortKeys::Id => format!("{:020}", l.id),
                };
                (l.id, (key, location(l)))
            })
            .collect();
        let (page, info) = paginate(
            by_key(items),
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(LocationConnection::build(page, info))
    }

    async fn order(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Order>> {
        let n = parse_gid("Order", &id)?;
        Ok(db(ctx).orders.get(&n).cloned().map(|o| Order(Arc::new(o))))
    }

    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        sort_key: Option<OrderSortKeys>,
        query: Option<String>,
    ) -> async_graphql::Result<OrderConnection> {
        let items: Vec<(u64, (i64, Order))> = {
            let d = db(ctx);
            filter(d.orders.values(), query.as_deref())?
                .into_iter()
                .map(|o| {
                    let key = match sort_key.unwrap_or(OrderSortKeys::ProcessedAt) {
                        OrderSortKeys::Id => o.id as i64,
                        OrderSortKeys::UpdatedAt => o.updated_at,
                        OrderSortKeys::CreatedAt | OrderSortKeys::ProcessedAt => o.created_at,
                    };
                    (o.id, (key, Order(Arc::new(o.clone()))))
                })
                .collect()
        };
        let items = by_key(items);
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(OrderConnection::build(page, info))
    }

    async fn orders_count(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        #[graphql(name = "savedSearchId")] _saved_search_id: Option<ID>,
        #[graphql(default = 10000)] limit: Option<i32>,
    ) -> async_graphql::Result<Option<Count>> {
        let d = db(ctx);
        Ok(Some(count(
            filter(d.orders.values(), query.as_deref())?.len(),
            limit,
        )))
    }

    async fn product(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Product>> {
        let n = parse_gid("Product", &id)?;
        Ok(db(ctx).products.get(&n).cloned().map(Product))
    }

    async fn inventory_item(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<InventoryItem>> {
        let n = parse_gid("InventoryItem", &id)?;
        let d = db(ctx);
        Ok(d.products
            .values()
            .flat_map(|p| p.variants.iter())
            .find(|v| v.inventory_item_id == n)
            .cloned()
            .map(InventoryItem))
    }

    async fn product_variant(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<ProductVariant>> {
        let n = parse_gid("ProductVariant", &id)?;
        let d = db(ctx);
        Ok(d.products
            .values()
            .flat_map(|p| p.variants.iter())
            .find(|v| v.id == n)
            .cloned()
            .map(ProductVariant))
    }

    #[allow(clippy::too_many_arguments)]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        sort_key: Option<ProductSortKeys>,
        query: Option<String>,
    ) -> async_graphql::Result<ProductConnection> {
        let items: Vec<(u64, (String, Product))> = {
            let d = db(ctx);
            filter(d.products.values(), query.as_deref())?
                .into_iter()
                .map(|p| {
                    let key = match sort_key.unwrap_or(ProductSortKeys::Id) {
                        ProductSortKeys::Id => format!("{:020}", p.id),
                        ProductSortKeys::Title => p.title.to_lowercase(),
                        ProductSortKeys::CreatedAt => format!("{:020}", p.created_at),
                        ProductSortKeys::UpdatedAt => format!("{:020}", p.updated_at),
                    };
                    (p.id, (key, Product(p.clone())))
                })
                .collect()
        };
        let items = by_key(items);
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(ProductConnection::build(page, info))
    }

    async fn products_count(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        #[graphql(name = "savedSearchId")] _saved_search_id: Option<ID>,
        #[graphql(default = 10000)] limit: Option<i32>,
    ) -> async_graphql::Result<Option<Count>> {
        let d = db(ctx);
        Ok(Some(count(
            filter(d.products.values(), query.as_deref())?.len(),
            limit,
        )))
    }

    async fn customer(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Customer>> {
        let n = parse_gid("Customer", &id)?;
        Ok(db(ctx).customers.get(&n).cloned().map(Customer))
    }

    #[allow(clippy::too_many_arguments)]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        sort_key: Option<CustomerSortKeys>,
        query: Option<String>,
    ) -> async_graphql::Result<CustomerConnection> {
        let items: Vec<(u64, (i64, Customer))> = {
            let d = db(ctx);
            filter(d.customers.values(), query.as_deref())?
                .into_iter()
                .map(|c| {
                    let key = match sort_key.unwrap_or(CustomerSortKeys::Id) {
                        CustomerSortKeys::Id => c.id as i64,
                        CustomerSortKeys::CreatedAt => c.created_at,
                        CustomerSortKeys::UpdatedAt => c.updated_at,
                    };
                    (c.id, (key, Customer(c.clone())))
                })
                .collect()
        };
        let items = by_key(items);
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(CustomerConnection::build(page, info))
    }

    async fn customers_count(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
    ) -> async_graphql::Result<Option<Count>> {
        let d = db(ctx);
        Ok(Some(count(
            filter(d.customers.values(), query.as_deref())?.len(),
            None,
        )))
    }

    async fn collection(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Collection>> {
        let n = parse_gid("Collection", &id)?;
        Ok(db(ctx).collections.get(&n).map(collection))
    }

    #[allow(clippy::too_many_arguments)]
    async fn collections(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        sort_key: Option<CollectionSortKeys>,
        query: Option<String>,
    ) -> async_graphql::Result<CollectionConnection> {
        let items: Vec<(u64, (String, Collection))> = {
            let d = db(ctx);
            filter(d.collections.values(), query.as_deref())?
                .into_iter()
                .map(|c| {
                    let key = match sort_key.unwrap_or(CollectionSortKeys::Id) {
                        CollectionSortKeys::Id => format!("{:020}", c.id),
                        CollectionSortKeys::Title => c.title.to_lowercase(),
                        CollectionSortKeys::UpdatedAt => format!("{:020}", c.updated_at),
                    };
                    (c.id, (key, collection(c)))
                })
                .collect()
        };
        let items = by_key(items);
        let (page, info) = paginate(
            items,
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(CollectionConnection::build(page, info))
    }

    #[allow(clippy::too_many_arguments)]
    async fn webhook_subscriptions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        reverse: Option<bool>,
        sort_key: Option<WebhookSubscriptionSortKeys>,
        callback_url: Option<Url>,
        format: Option<WebhookSubscriptionFormat>,
        topics: Option<Vec<WebhookSubscriptionTopic>>,
    ) -> async_graphql::Result<WebhookSubscriptionConnection> {
        let _ = format;
        let items: Vec<(u64, (i64, WebhookSubscription))> = db(ctx)
            .webhooks
            .values()
            .filter(|w| callback_url.as_ref().is_none_or(|u| u.0 == w.callback_url))
            .filter(|w| {
                topics
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|x| x.topic() == w.topic))
            })
            .map(|w| {
                let key = match sort_key.unwrap_or(WebhookSubscriptionSortKeys::CreatedAt) {
                    WebhookSubscriptionSortKeys::CreatedAt => w.created_at,
                    WebhookSubscriptionSortKeys::Id => w.id as i64,
                };
                (w.id, (key, WebhookSubscription(w.clone())))
            })
            .collect();
        let (page, info) = paginate(
            by_key(items),
            Window {
                first,
                after,
                last,
                before,
                reverse,
            },
        )?;
        Ok(WebhookSubscriptionConnection::build(page, info))
    }
}

// ---------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------

#[derive(SimpleObject, Clone)]
pub struct UserError {
    pub field: Option<Vec<String>>,
    pub message: String,
}

fn user_error(field: &[&str], message: &str) -> UserError {
    UserError {
        field: Some(field.iter().map(|s| (*s).to_owned()).collect()),
        message: message.into(),
    }
}

#[derive(InputObject)]
pub struct FulfillmentOrderLineItemInput {
    pub id: ID,
    pub quantity: i32,
}

#[derive(InputObject)]
pub struct FulfillmentOrderLineItemsInput {
    pub fulfillment_order_id: ID,
    pub fulfillment_order_line_items: Option<Vec<FulfillmentOrderLineItemInput>>,
}

#[derive(InputObject)]
pub struct FulfillmentTrackingInput {
    pub number: Option<String>,
    pub url: Option<Url>,
    pub company: Option<String>,
    pub numbers: Option<Vec<String>>,
    pub urls: Option<Vec<Url>>,
}

#[derive(InputObject)]
pub struct FulfillmentInput {
    pub tracking_info: Option<FulfillmentTrackingInput>,
    pub notify_customer: Option<bool>,
    pub line_items_by_fulfillment_order: Vec<FulfillmentOrderLineItemsInput>,
}

#[derive(SimpleObject)]
pub struct FulfillmentCreatePayload {
    pub fulfillment: Option<Fulfillment>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct ProductCreateInput {
    pub title: Option<String>,
    pub description_html: Option<String>,
    pub handle: Option<String>,
    pub product_type: Option<String>,
    pub vendor: Option<String>,
    pub tags: Option<Vec<String>>,
    pub status: Option<ProductStatus>,
    pub collections_to_join: Option<Vec<ID>>,
}

#[derive(InputObject)]
pub struct ProductUpdateInput {
    pub id: Option<ID>,
    pub title: Option<String>,
    pub description_html: Option<String>,
    pub handle: Option<String>,
    pub product_type: Option<String>,
    pub vendor: Option<String>,
    pub tags: Option<Vec<String>>,
    pub status: Option<ProductStatus>,
    pub collections_to_join: Option<Vec<ID>>,
    pub collections_to_leave: Option<Vec<ID>>,
}

#[derive(SimpleObject)]
pub struct ProductCreatePayload {
    pub product: Option<Product>,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct ProductUpdatePayload {
    pub product: Option<Product>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct WeightInput {
    pub value: f64,
    pub unit: WeightUnit,
}

#[derive(InputObject)]
pub struct InventoryItemMeasurementInput {
    pub weight: Option<WeightInput>,
}

#[derive(InputObject)]
pub struct InventoryItemInput {
    pub sku: Option<String>,
    pub tracked: Option<bool>,
    pub requires_shipping: Option<bool>,
    pub measurement: Option<InventoryItemMeasurementInput>,
}

#[derive(InputObject)]
pub struct ProductVariantsBulkInput {
    pub id: Option<ID>,
    pub price: Option<Money>,
    pub barcode: Option<String>,
    pub inventory_item: Option<InventoryItemInput>,
}

#[derive(SimpleObject, Clone)]
pub struct ProductVariantsBulkUpdateUserError {
    pub code: Option<ProductVariantsBulkUpdateUserErrorCode>,
    pub field: Option<Vec<String>>,
    pub message: String,
}

#[derive(SimpleObject)]
pub struct ProductVariantsBulkUpdatePayload {
    pub product: Option<Product>,
    pub product_variants: Option<Vec<ProductVariant>>,
    pub user_errors: Vec<ProductVariantsBulkUpdateUserError>,
}

/// As of 2026-04: `changeFromQuantity` must be given (`null` opts out of the check);
/// `compareQuantity` is gone.
#[derive(InputObject, Debug)]
pub struct InventoryQuantityInput {
    pub inventory_item_id: ID,
    pub location_id: ID,
    pub quantity: i32,
    pub change_from_quantity: MaybeUndefined<i32>,
}

/// As of 2026-04 without `ignoreCompareQuantity`.
#[derive(InputObject, Debug)]
pub struct InventorySetQuantitiesInput {
    pub reason: String,
    pub name: String,
    pub reference_document_uri: Option<String>,
    pub quantities: Vec<InventoryQuantityInput>,
}

#[derive(InputObject, Debug)]
pub struct InventoryChangeInput {
    pub delta: i32,
    pub inventory_item_id: ID,
    pub location_id: ID,
    pub ledger_document_uri: Option<String>,
    pub change_from_quantity: MaybeUndefined<i32>,
}

#[derive(InputObject, Debug)]
pub struct InventoryAdjustQuantitiesInput {
    pub reason: String,
    pub name: String,
    pub reference_document_uri: Option<String>,
    pub changes: Vec<InventoryChangeInput>,
}

#[derive(SimpleObject, Clone)]
pub struct InventoryAdjustQuantitiesUserError {
    pub code: Option<InventoryAdjustQuantitiesUserErrorCode>,
    pub field: Option<Vec<String>>,
    pub message: String,
}

#[derive(SimpleObject, Clone)]
pub struct InventoryAdjustQuantitiesPayload {
    pub inventory_adjustment_group: Option<InventoryAdjustmentGroup>,
    pub user_errors: Vec<InventoryAdjustQuantitiesUserError>,
}

#[derive(SimpleObject, Clone)]
pub struct InventoryAdjustmentGroup {
    pub id: ID,
    pub reason: String,
    pub created_at: DateTime,
}

#[derive(SimpleObject, Clone)]
pub struct InventorySetQuantitiesUserError {
    pub code: Option<InventorySetQuantitiesUserErrorCode>,
    pub field: Option<Vec<String>>,
    pub message: String,
}

#[derive(SimpleObject, Clone)]
pub struct InventorySetQuantitiesPayload {
    pub inventory_adjustment_group: Option<InventoryAdjustmentGroup>,
    pub user_errors: Vec<InventorySetQuantitiesUserError>,
}

const LOCATION_NOT_FOUND: &str = "The specified location could not be found.";
const ITEM_NOT_FOUND: &str = "The specified inventory item could not be found.";

/// Which id of an inventory change names nothing.
enum StockMiss {
    Location,
    Item,
}

/// Where an inventory change applies: (product id, variant index, location id).
fn stock_target(
    d: &Db,
    location_id: &ID,
    inventory_item_id: &ID,
) -> Result<(u64, usize, u64), StockMiss> {
    let loc = gid_num("Location", location_id)
        .filter(|n| d.locations.iter().any(|l| l.id == *n))
        .ok_or(StockMiss::Location)?;
    let item = gid_num("InventoryItem", inventory_item_id).ok_or(StockMiss::Item)?;
    d.products
        .iter()
        .find_map(|(pid, p)| {
            p.variants
                .iter()
                .position(|v| v.inventory_item_id == item)
                .map(|i| (*pid, i, loc))
        })
        .ok_or(StockMiss::Item)
}

/// The reasons the inventory mutations accept.
const REASONS: [&str; 12] = [
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "restock",
];

#[derive(InputObject)]
pub struct WebhookSubscriptionInput {
    pub callback_url: Option<Url>,
    pub format: Option<WebhookSubscriptionFormat>,
    pub include_fields: Option<Vec<String>>,
    pub filter: Option<String>,
}

#[derive(SimpleObject)]
pub struct WebhookSubscriptionCreatePayload {
    pub webhook_subscription: Option<WebhookSubscription>,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct WebhookSubscriptionDeletePayload {
    pub deleted_webhook_subscription_id: Option<ID>,
    pub user_errors: Vec<UserError>,
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Subscribes `callbackUrl` to `topic`. The sandbox takes http:// addresses too (Shopify
    /// wants https://), so a local receiver can subscribe.
    async fn webhook_subscription_create(
        &self,
        ctx: &Context<'_>,
        topic: WebhookSubscriptionTopic,
        webhook_subscription: WebhookSubscriptionInput,
    ) -> Option<WebhookSubscriptionCreatePayload> {
        let fail = |msg: &str| {
            Some(WebhookSubscriptionCreatePayload {
                webhook_subscription: None,
                user_errors: vec![user_error(&["webhookSubscription", "callbackUrl"], msg)],
            })
        };
        let Some(url) = webhook_subscription.callback_url.map(|u| u.0) else {
            return fail("Address can't be blank");
        };
        let valid = url::Url::parse(&url)
            .ok()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !valid {
            return fail("Address is invalid");
        }
        let mut d = db(ctx);
        let topic = topic.topic();
        if d.webhooks
            .values()
            .any(|w| w.topic == topic && w.callback_url == url)
        {
            return fail("Address for this topic has already been taken");
        }
        let now = d.now();
        let id = d.next_id();
        let rec = WebhookRec {
            id,
            topic,
            callback_url: url,
            created_at: now,
            updated_at: now,
        };
        d.webhooks.insert(id, rec.clone());
        Some(WebhookSubscriptionCreatePayload {
            webhook_subscription: Some(WebhookSubscription(rec)),
            user_errors: Vec::new(),
        })
    }

    async fn webhook_subscription_delete(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Option<WebhookSubscriptionDeletePayload> {
        let mut d = db(ctx);
        match gid_num("WebhookSubscription", &id).and_then(|n| d.webhooks.remove(&n)) {
            Some(_) => Some(WebhookSubscriptionDeletePayload {
                deleted_webhook_subscription_id: Some(id),
                user_errors: Vec::new(),
            }),
            None => Some(WebhookSubscriptionDeletePayload {
                deleted_webhook_subscription_id: None,
                user_errors: vec![user_error(&["id"], "Webhook subscription does not exist")],
            }),
        }
    }

    async fn fulfillment_create(
        &self,
        ctx: &Context<'_>,
        fulfillment: FulfillmentInput,
        #[graphql(name = "message")] _message: Option<String>,
    ) -> Option<FulfillmentCreatePayload> {
        let fail = |field: &[&str], msg: &str| {
            Some(FulfillmentCreatePayload {
                fulfillment: None,
                user_errors: vec![user_error(field, msg)],
            })
        };
        let mut d = db(ctx);
        if fulfillment.line_items_by_fulfillment_order.is_empty() {
            return fail(
                &["fulfillment", "lineItemsByFulfillmentOrder"],
                "Line items by fulfillment order can't be blank.",
            );
        }
        let mut order_id = None;
        let mut take: Vec<(u64, i64)> = Vec::new();
        for (k, group) in fulfillment
            .line_items_by_fulfillment_order
            .iter()
            .enumerate()
        {
            let k = k.to_string();
            let fo = gid_num("FulfillmentOrder", &group.fulfillment_order_id);
            let Some(order) =
                fo.and_then(|fo| d.orders.values().find(|o| o.fulfillment_order_id == fo))
            else {
                return fail(
                    &[
                        "fulfillment",
                        "lineItemsByFulfillmentOrder",
                        &k,
                        "fulfillmentOrderId",
                    ],
                    "Fulfillment order does not exist.",
                );
            };
            if order_id.is_some_and(|o| o != order.id) {
                return fail(
                    &["fulfillment"],
                    "All fulfillment orders must belong to the same order.",
                );
            }
            order_id = Some(order.id);
            if !matches!(order.fulfillment_order_status(), "OPEN" | "IN_PROGRESS") {
                return fail(
                    &["fulfillment"],
                    "Fulfillment order is not in an open state.",
                );
            }
            match &group.fulfillment_order_line_items {
                None => {
                    for l in &order.line_items {
                        let left = order.remaining(l);
                        if left > 0 {
                            take.push((l.id, left));
                        }
                    }
                }
                Some(lines) => {
                    for (j, want) in lines.iter().enumerate() {
                        let j = j.to_string();
                        let line = gid_num("FulfillmentOrderLineItem", &want.id)
                            .and_then(|n| order.line_items.iter().find(|l| l.fo_line_id == n));
                        let Some(line) = line else {
                            return fail(
                                &[
                                    "fulfillment",
                                    "lineItemsByFulfillmentOrder",
                                    &k,
                                    "fulfillmentOrderLineItems",
                                    &j,
                                    "id",
                                ],
                                "Fulfillment order line item does not exist.",
                            );
                        };
                        let already: i64 = take
                            .iter()
                            .filter(|(l, _)| *l == line.id)
                            .map(|(_, q)| q)
                            .sum();
                        if want.quantity < 1
                            || i64::from(want.quantity) + already > order.remaining(line)
                        {
                            return fail(
                                &[
                                    "fulfillment",
                                    "lineItemsByFulfillmentOrder",
                                    &k,
                                    "fulfillmentOrderLineItems",
                                    &j,
                                    "quantity",
                                ],
                                "Invalid fulfillment order line item quantity requested.",
                            );
                        }
                        take.push((line.id, i64::from(want.quantity)));
                    }
                }
            }
        }
        let Some(order_id) = order_id else {
            return fail(&["fulfillment"], "Fulfillment order does not exist.");
        };
        if take.is_empty() {
            return fail(
                &["fulfillment"],
                "Fulfillment order has no line items to fulfill.",
            );
        }
        let tracking = fulfillment
            .tracking_info
            .map(|t| TrackingRec {
                company: t.company.filter(|c| !c.trim().is_empty()),
                number: t
                    .number
                    .or_else(|| t.numbers.and_then(|n| n.into_iter().next())),
                url: t
                    .url
                    .map(|u| u.0)
                    .or_else(|| t.urls.and_then(|u| u.into_iter().next().map(|u| u.0))),
            })
            .filter(|t| t.number.is_some() || t.company.is_some() || t.url.is_some());
        let now = d.now();
        let id = d.next_id();
        let order = d.orders.get_mut(&order_id)?;
        let rec = FulfillmentRec {
            id,
            name: format!("{}-F{}", order.name(), order.fulfillments.len() + 1),
            status: "SUCCESS",
            created_at: now,
            tracking: tracking.into_iter().collect(),
            lines: take,
        };
        order.fulfillments.push(rec.clone());
        order.updated_at = now;
        emit(ctx, &d, Topic::OrdersUpdated, order_id, now);
        Some(FulfillmentCreatePayload {
            fulfillment: Some(Fulfillment(rec)),
            user_errors: Vec::new(),
        })
    }

    async fn product_create(
        &self,
        ctx: &Context<'_>,
        product: Option<ProductCreateInput>,
    ) -> Option<ProductCreatePayload> {
        let fail = |field: &[&str], msg: &str| {
            Some(ProductCreatePayload {
                product: None,
                user_errors: vec![user_error(field, msg)],
            })
        };
        let Some(input) = product else {
            return fail(&["product"], "Product input can't be blank");
        };
        let title = input.title.clone().unwrap_or_default();
        if title.trim().is_empty() {
            return fail(&["title"], "Title can't be blank");
        }
        let mut d = db(ctx);
        let mut cols = Vec::new();
        for (k, c) in input.collections_to_join.iter().flatten().enumerate() {
            match gid_num("Collection", c).filter(|n| d.collections.contains_key(n)) {
                Some(n) => cols.push(n),
                None => {
                    return fail(
                        &["collectionsToJoin", &k.to_string()],
                        "Collection does not exist",
                    )
                }
            }
        }
        let now = d.now();
        let id = d.next_id();
        let vid = d.next_id();
        let item = d.next_id();
        let handle = input.handle.unwrap_or_else(|| handleize(&title));
        let mut stock = std::collections::BTreeMap::new();
        stock.insert(d.primary_location(), 0);
        let rec = ProductRec {
            id,
            title,
            handle,
            description_html: input.description_html.unwrap_or_default(),
            status: input.status.unwrap_or(ProductStatus::Active).word(),
            vendor: input.vendor.unwrap_or_else(|| "Cartgate Demo".into()),
            product_type: input.product_type.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            images: Vec::new(),
            collection_ids: cols,
            variants: vec![VariantRec {
                id: vid,
                title: "Default Title".into(),
                sku: None,
                barcode: None,
                weight: None,
                requires_shipping: true,
                price: Decimal::ZERO,
                position: 1,
                inventory_item_id: item,
                tracked: false,
                stock,
                options: vec![("Title".into(), "Default Title".into())],
                created_at: now,
                updated_at: now,
            }],
        };
        d.products.insert(id, rec.clone());
        emit(ctx, &d, Topic::ProductsCreate, id, now);
        Some(ProductCreatePayload {
            product: Some(Product(rec)),
            user_errors: Vec::new(),
        })
    }

    async fn product_update(
        &self,
        ctx: &Context<'_>,
        product: Option<ProductUpdateInput>,
    ) -> Option<ProductUpdatePayload> {
        let fail = |field: &[&str], msg: &str| {
            Some(ProductUpdatePayload {
                product: None,
                user_errors: vec![user_error(field, msg)],
            })
        };
        let Some(input) = product else {
            return fail(&["product"], "Product input can't be blank");
        };
        let mut d = db(ctx);
        let Some(id) = input
            .id
            .as_deref()
            .and_then(|i| gid_num("Product", i))
            .filter(|n| d.products.contains_key(n))
        else {
            return fail(&["id"], "Product does not exist");
        };
        if input.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return fail(&["title"], "Title can't be blank");
        }
        let mut join = Vec::new();
        for (k, c) in input.collections_to_join.iter().flatten().enumerate() {
            match gid_num("Collection", c).filter(|n| d.collections.contains_key(n)) {
                Some(n) => join.push(n),
                None => {
                    return fail(
                        &["collectionsToJoin", &k.to_string()],
                        "Collection does not exist",
                    )
                }
            }
        }
        let leave: Vec<u64> = input
            .collections_to_leave
            .iter()
            .flatten()
            .filter_map(|c| gid_num("Collection", c))
            .collect();
        let now = d.now();
        let p = d.products.get_mut(&id)?;
        if let Some(t) = input.title {
            p.title = t;
        }
        if let Some(h) = input.description_html {
            p.description_html = h;
        }
        if let Some(h) = input.handle {
            p.handle = h;
        }
        if let Some(t) = input.product_type {
            p.product_type = t;
        }
        if let Some(v) = input.vendor {
            p.vendor = v;
        }
        if let Some(s) = input.status {
            p.status = s.word();
        }
        p.collection_ids.retain(|c| !leave.contains(c));
        for c in join {
            if !p.collection_ids.contains(&c) {
                p.collection_ids.push(c);
            }
        }
        p.updated_at = now;
        let product = p.clone();
        emit(ctx, &d, Topic::ProductsUpdate, id, now);
        Some(ProductUpdatePayload {
            product: Some(Product(product)),
            user_errors: Vec::new(),
        })
    }

    async fn product_variants_bulk_update(
        &self,
        ctx: &Context<'_>,
        variants: Vec<ProductVariantsBulkInput>,
        product_id: ID,
        #[graphql(name = "allowPartialUpdates")] _allow_partial_updates: Option<bool>,
    ) -> Option<ProductVariantsBulkUpdatePayload> {
        use ProductVariantsBulkUpdateUserErrorCode as Code;
        let fail = |code: Code, field: &[&str], msg: &str| {
            Some(ProductVariantsBulkUpdatePayload {
                product: None,
                product_variants: None,
                user_errors: vec![ProductVariantsBulkUpdateUserError {
                    code: Some(code),
                    field: Some(field.iter().map(|s| (*s).to_owned()).collect()),
                    message: msg.into(),
                }],
            })
        };
        let mut d = db(ctx);
        let Some(pid) = gid_num("Product", &product_id).filter(|n| d.products.contains_key(n))
        else {
            return fail(
                Code::ProductDoesNotExist,
                &["productId"],
                "Product does not exist",
            );
        };
        // Validate everything first: the mutation applies all or nothing.
        for (k, v) in variants.iter().enumerate() {
            let k = k.to_string();
            let Some(id) = &v.id else {
                return fail(
                    Code::ProductVariantIdMissing,
                    &["variants", &k, "id"],
                    "Product variant is missing ID attribute.",
                );
            };
            let exists = gid_num("ProductVariant", id)
                .is_some_and(|n| d.products[&pid].variants.iter().any(|x| x.id == n));
            if !exists {
                return fail(
                    Code::ProductVariantDoesNotExist,
                    &["variants", &k, "id"],
                    "Product variant does not exist",
                );
            }
            if v.price.as_ref().is_some_and(|p| p.0.is_sign_negative()) {
                return fail(
                    Code::NegativePriceValue,
                    &["variants", &k, "price"],
                    "Price must be greater than or equal to 0",
                );
            }
            if v.barcode.as_ref().is_some_and(|b| b.chars().count() > 255) {
                return fail(
                    Code::InvalidInput,
                    &["variants", &k, "barcode"],
                    "Barcode value is too long",
                );
            }
            let weight = v
                .inventory_item
                .as_ref()
                .and_then(|i| i.measurement.as_ref())
                .and_then(|m| m.weight.as_ref());
            if weight.is_some_and(|w| !w.value.is_finite() || w.value < 0.0) {
                return fail(
                    Code::InvalidInput,
                    &[
                        "variants",
                        &k,
                        "inventoryItem",
                        "measurement",
                        "weight",
                        "value",
                    ],
                    "Weight must be greater than or equal to 0",
                );
            }
            if v.inventory_item
                .as_ref()
                .and_then(|i| i.sku.as_ref())
                .is_some_and(|s| s.chars().count() > 255)
            {
                return fail(
                    Code::InvalidInput,
                    &["variants", &k, "inventoryItem", "sku"],
                    "SKU is too long (maximum is 255 characters)",
                );
            }
        }
        let now = d.now();
        let p = d.products.get_mut(&pid)?;
        let mut changed = Vec::new();
        for v in variants {
            let n = v.id.as_deref().and_then(|i| gid_num("ProductVariant", i))?;
            let rec = p.variants.iter_mut().find(|x| x.id == n)?;
            if let Some(price) = v.price {
                rec.price = price.0;
            }
            if let Some(b) = v.barcode {
                rec.barcode = (!b.trim().is_empty()).then_some(b);
            }
            if let Some(item) = v.inventory_item {
                if let Some(sku) = item.sku {
                    rec.sku = (!sku.trim().is_empty()).then_some(sku);
                }
                if let Some(t) = item.tracked {
                    rec.tracked = t;
                }
                if let Some(r) = item.requires_shipping {
                    rec.requires_shipping = r;
                }
                if let Some(w) = item.measurement.and_then(|m| m.weight) {
                    let value = Decimal::from_f64_retain(w.value)
                        .unwrap_or_default()
                        .round_dp(6)
                        .normalize();
                    rec.weight = Some((value, w.unit.word()));
                }
            }
            rec.updated_at = now;
            changed.push(ProductVariant(rec.clone()));
        }
        p.updated_at = now;
        let product = p.clone();
        emit(ctx, &d, Topic::ProductsUpdate, pid, now);
        Some(ProductVariantsBulkUpdatePayload {
            product: Some(Product(product)),
            product_variants: Some(changed),
            user_errors: Vec::new(),
        })
    }

    /// Adds each `delta` to the `available` quantity of an item at a location, atomically
    /// for the whole input, as of 2026-10: an `@idempotent` key is required (a repeat
    /// answers the first outcome without applying twice), every change names its
    /// `changeFromQuantity` (`null` skips the check, a value must match what is there),
    /// and a location not stocking the item yet starts stocking it.
    async fn inventory_adjust_quantities(
        &self,
        ctx: &Context<'_>,
        input: InventoryAdjustQuantitiesInput,
    ) -> async_graphql::Result<Option<InventoryAdjustQuantitiesPayload>> {
        use InventoryAdjustQuantitiesUserErrorCode as Code;
        let key = idempotency_key(ctx)?;
        let fingerprint = format!("{input:?}");
        let fail = |code: Option<Code>, field: &[&str], msg: &str| {
            Ok(Some(InventoryAdjustQuantitiesPayload {
                inventory_adjustment_group: None,
                user_errors: vec![InventoryAdjustQuantitiesUserError {
                    code,
                    field: Some(field.iter().map(|s| (*s).to_owned()).collect()),
                    message: msg.into(),
                }],
            }))
        };
        match replayed(ctx, &key, &fingerprint) {
            Some(Some(Replay::Adjust(p))) => return Ok(Some(p)),
            Some(_) => {
                return fail(
                    Some(Code::IdempotencyKeyParameterMismatch),
                    &["input"],
                    MISMATCH,
                )
            }
            None => {}
        }
        let payload = self.adjust(ctx, input);
        remember(ctx, key, fingerprint, Replay::Adjust(payload.clone()));
        Ok(Some(payload))
    }

    /// Sets `available` (or `on_hand`) quantities, with the same 2026-10 rules as
    /// `inventoryAdjustQuantities`: idempotency key, `changeFromQuantity` for each.
    async fn inventory_set_quantities(
        &self,
        ctx: &Context<'_>,
        input: InventorySetQuantitiesInput,
    ) -> async_graphql::Result<Option<InventorySetQuantitiesPayload>> {
        use InventorySetQuantitiesUserErrorCode as Code;
        let key = idempotency_key(ctx)?;
        let fingerprint = format!("{input:?}");
        match replayed(ctx, &key, &fingerprint) {
            Some(Some(Replay::Set(p))) => return Ok(Some(p)),
            Some(_) => {
                return Ok(Some(InventorySetQuantitiesPayload {
                    inventory_adjustment_group: None,
                    user_errors: vec![InventorySetQuantitiesUserError {
                        code: Some(Code::IdempotencyKeyParameterMismatch),
                        field: Some(vec!["input".into()]),
                        message: MISMATCH.into(),
                    }],
                }))
            }
            None => {}
        }
        let payload = self.set(ctx, input);
        remember(ctx, key, fingerprint, Replay::Set(payload.clone()));
        Ok(Some(payload))
    }
}

const MISMATCH: &str =
    "The same idempotency key cannot be used with different operation parameters.";
const CHANGE_FROM_REQUIRED: &str =
    "changeFromQuantity must be given for each quantity (pass null to skip the check).";
const STALE: &str = "The changeFromQuantity value does not match persisted value.";

/// `None`: a new key; `Some(Some(answer))`: the same request again; `Some(None)`: the key
/// was used for another input.
fn replayed(ctx: &Context<'_>, key: &str, fingerprint: &str) -> Option<Option<Replay>> {
    let r = ctx.data_unchecked::<Replays>();
    let seen = r.0.lock().unwrap_or_else(|e| e.into_inner());
    let (f, answer) = seen.get(key)?;
    Some((f == fingerprint).then(|| answer.clone()))
}

fn remember(ctx: &Context<'_>, key: String, fingerprint: String, answer: Replay) {
    let r = ctx.data_unchecked::<Replays>();
    r.0.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, (fingerprint, answer));
}

impl Mutation {
    fn adjust(
        &self,
        ctx: &Context<'_>,
        input: InventoryAdjustQuantitiesInput,
    ) -> InventoryAdjustQuantitiesPayload {
        use InventoryAdjustQuantitiesUserErrorCode as Code;
        let fail =
            |code: Option<Code>, field: &[&str], msg: &str| InventoryAdjustQuantitiesPayload {
                inventory_adjustment_group: None,
                user_errors: vec![InventoryAdjustQuantitiesUserError {
                    code,
                    field: Some(field.iter().map(|s| (*s).to_owned()).collect()),
                    message: msg.into(),
                }],
            };
        if input.name != "available" {
            return fail(
                Some(Code::InvalidQuantityName),
                &["input", "name"],
                "The quantity name must be 'available'.",
            );
        }
        if !REASONS.contains(&input.reason.as_str()) {
            return fail(
                Some(Code::InvalidReason),
                &["input", "reason"],
                "The specified reason is invalid.",
            );
        }
        let mut d = db(ctx);
        let mut plan: Vec<(u64, usize, u64, i64)> = Vec::new();
        for (k, c) in input.changes.iter().enumerate() {
            let k = k.to_string();
            let (pid, vi, loc) = match stock_target(&d, &c.location_id, &c.inventory_item_id) {
                Ok(t) => t,
                Err(StockMiss::Location) => {
                    return fail(
                        Some(Code::InvalidLocation),
                        &["input", "changes", &k, "locationId"],
                        LOCATION_NOT_FOUND,
                    )
                }
                Err(StockMiss::Item) => {
                    return fail(
                        Some(Code::InvalidInventoryItem),
                        &["input", "changes", &k, "inventoryItemId"],
                        ITEM_NOT_FOUND,
                    )
                }
            };
            // Earlier changes of this input count (the same item twice).
            let before: i64 = plan
                .iter()
                .filter(|(p, v, l, _)| (*p, *v, *l) == (pid, vi, loc))
                .map(|(_, _, _, delta)| delta)
                .sum();
            let current = d.products[&pid].variants[vi]
                .stock
                .get(&loc)
                .copied()
                .unwrap_or(0)
                + before;
            match &c.change_from_quantity {
                MaybeUndefined::Undefined => {
                    return fail(
                        None,
                        &["input", "changes", &k, "changeFromQuantity"],
                        CHANGE_FROM_REQUIRED,
                    )
                }
                MaybeUndefined::Value(n) if i64::from(*n) != current => {
                    return fail(
                        Some(Code::ChangeFromQuantityStale),
                        &["input", "changes", &k, "changeFromQuantity"],
                        STALE,
                    )
                }
                _ => {}
            }
            let next = current + i64::from(c.delta);
            if next > 1_000_000_000 {
                return fail(
                    Some(Code::InvalidQuantityTooHigh),
                    &["input", "changes", &k, "delta"],
                    "The quantity can't be higher than 1,000,000,000.",
                );
            }
            if next < -1_000_000_000 {
                return fail(
                    Some(Code::InvalidQuantityTooLow),
                    &["input", "changes", &k, "delta"],
                    "The quantity can't be lower than -1,000,000,000.",
                );
            }
            plan.push((pid, vi, loc, i64::from(c.delta)));
        }
        let now = d.now();
        let group = d.next_id();
        let mut changed = Vec::new();
        for (pid, vi, loc, delta) in plan {
            if let Some(p) = d.products.get_mut(&pid) {
                *p.variants[vi].stock.entry(loc).or_insert(0) += delta;
                p.variants[vi].updated_at = now;
                p.updated_at = now;
                if !changed.contains(&pid) {
                    changed.push(pid);
                }
            }
        }
        for pid in changed {
            emit(ctx, &d, Topic::ProductsUpdate, pid, now);
        }
        InventoryAdjustQuantitiesPayload {
            inventory_adjustment_group: Some(InventoryAdjustmentGroup {
                id: gid("InventoryAdjustmentGroup", group),
                reason: input.reason,
                created_at: DateTime(now),
            }),
            user_errors: Vec::new(),
        }
    }

    fn set(
        &self,
        ctx: &Context<'_>,
        input: InventorySetQuantitiesInput,
    ) -> InventorySetQuantitiesPayload {
        use InventorySetQuantitiesUserErrorCode as Code;
        let fail = |code: Option<Code>, field: &[&str], msg: &str| InventorySetQuantitiesPayload {
            inventory_adjustment_group: None,
            user_errors: vec![InventorySetQuantitiesUserError {
                code,
                field: Some(field.iter().map(|s| (*s).to_owned()).collect()),
                message: msg.into(),
            }],
        };
        if !matches!(input.name.as_str(), "available" | "on_hand") {
            return fail(
                Some(Code::InvalidName),
                &["input", "name"],
                "The quantity name must be either 'available' or 'on_hand'.",
            );
        }
        if !REASONS.contains(&input.reason.as_str()) {
            return fail(
                Some(Code::InvalidReason),
                &["input", "reason"],
                "The specified reason is invalid.",
            );
        }
        let mut d = db(ctx);
        let mut plan = Vec::new();
        for (k, q) in input.quantities.iter().enumerate() {
            let k = k.to_string();
            let (pid, vi, loc) = match stock_target(&d, &q.location_id, &q.inventory_item_id) {
                Ok(t) => t,
                Err(StockMiss::Location) => {
                    return fail(
                        Some(Code::InvalidLocation),
                        &["input", "quantities", &k, "locationId"],
                        LOCATION_NOT_FOUND,
                    )
                }
                Err(StockMiss::Item) => {
                    return fail(
                        Some(Code::InvalidInventoryItem),
                        &["input", "quantities", &k, "inventoryItemId"],
                        ITEM_NOT_FOUND,
                    )
                }
            };
            if q.quantity > 1_000_000_000 {
                return fail(
                    Some(Code::InvalidQuantityTooHigh),
                    &["input", "quantities", &k, "quantity"],
                    "The quantity can't be higher than 1,000,000,000.",
                );
            }
            if q.quantity < -1_000_000_000 {
                return fail(
                    Some(Code::InvalidQuantityTooLow),
                    &["input", "quantities", &k, "quantity"],
                    "The quantity can't be lower than -1,000,000,000.",
                );
            }
            let current = d.products[&pid].variants[vi]
                .stock
                .get(&loc)
                .copied()
                .unwrap_or(0);
            match &q.change_from_quantity {
                MaybeUndefined::Undefined => {
                    return fail(
                        None,
                        &["input", "quantities", &k, "changeFromQuantity"],
                        CHANGE_FROM_REQUIRED,
                    )
                }
                MaybeUndefined::Value(n) if i64::from(*n) != current => {
                    return fail(
                        Some(Code::ChangeFromQuantityStale),
                        &["input", "quantities", &k, "changeFromQuantity"],
                        STALE,
                    )
                }
                _ => {}
            }
            plan.push((pid, vi, loc, i64::from(q.quantity)));
        }
        let now = d.now();
        let group = d.next_id();
        let mut changed = Vec::new();
        for (pid, vi, loc, qty) in plan {
            if let Some(p) = d.products.get_mut(&pid) {
                p.variants[vi].stock.insert(loc, qty);
                p.variants[vi].updated_at = now;
                p.updated_at = now;
                if !changed.contains(&pid) {
                    changed.push(pid);
                }
            }
        }
        for pid in changed {
            emit(ctx, &d, Topic::ProductsUpdate, pid, now);
        }
        InventorySetQuantitiesPayload {
            inventory_adjustment_group: Some(InventoryAdjustmentGroup {
                id: gid("InventoryAdjustmentGroup", group),
                reason: input.reason,
                created_at: DateTime(now),
            }),
            user_errors: Vec::new(),
        }
    }
}
