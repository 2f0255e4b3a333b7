//! Every GraphQL document the connector sends, in one place, so the schema test
//! (`tests/schema.rs`) can validate each one: against Shopify's newest official schema in
//! `../shared/platform-specs` (2025-01) with the changes Shopify published since then for
//! the fields used here applied (`tests/support/changelog_delta.graphql`; the fields checked
//! only against the changelog are listed in `docs/mapping/shopify.md`). The documents are
//! written for [`crate::DEFAULT_API_VERSION`]; the path is the session's
//! ([`crate::ApiVersion::path`]).
//!
//! Nested connections take their sizes from variables (`$lineItems`, `$variants`, …):
//! a list asks for small nested pages to keep one request under Shopify's single-query
//! cost limit (1000), a single object asks for large ones. An object whose nested list was
//! cut short in a list is fetched again on its own (see `client.rs`).
//!
//! Deprecated fields used on purpose, still served by 2026-10: `Customer.email` and
//! `Customer.phone` (deprecated in 2025-04 for `defaultEmailAddress`/`defaultPhoneNumber`,
//! which the official 2025-01 schema lacks), `ProductVariant.barcode` and
//! `ProductVariantsBulkInput.barcode` (deprecated in 2026-10 for `barcodes`; `barcode` is
//! the first of them), `WebhookSubscriptionInput.callbackUrl` and
//! `webhookSubscriptions(callbackUrl:)` (deprecated in 2025-10 for `uri`).

macro_rules! address_fragment {
    () => {
        "
fragment CartgateAddress on MailingAddress {
  firstName lastName company address1 address2 city province provinceCode zip country countryCodeV2 phone
}"
    };
}

macro_rules! line_item_fragment {
    () => {
        "
fragment CartgateLineItem on LineItem {
  id name sku quantity requiresShipping
  originalUnitPriceSet { shopMoney { amount currencyCode } }
  discountedTotalSet { shopMoney { amount currencyCode } }
  taxLines { title rate ratePercentage priceSet { shopMoney { amount } } }
  discountAllocations {
    allocatedAmountSet { shopMoney { amount } }
    discountApplication { ... on DiscountCodeApplication { code } }
  }
  product { id }
  variant {
    id
    selectedOptions { name value }
    inventoryItem { measurement { weight { unit value } } }
  }
}"
    };
}

macro_rules! order_fragment {
    () => {
        "
fragment CartgateOrder on Order {
  id name email phone note tags createdAt updatedAt processedAt closed closedAt cancelledAt cancelReason
  displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode
  taxesIncluded discountCodes paymentGatewayNames totalWeight
  subtotalPriceSet { shopMoney { amount currencyCode } }
  totalShippingPriceSet { shopMoney { amount currencyCode } }
  totalTaxSet { shopMoney { amount currencyCode } }
  totalDiscountsSet { shopMoney { amount currencyCode } }
  totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
  totalRefundedSet { shopMoney { amount currencyCode } }
  customer { id firstName lastName email phone }
  billingAddress { ...CartgateAddress }
  shippingAddress { ...CartgateAddress }
  lineItems(first: $lineItems) {
    pageInfo { hasNextPage endCursor }
    nodes { ...CartgateLineItem }
  }
  fulfillments(first: $fulfillments) {
    id name status createdAt
    trackingInfo(first: 1) { company number url }
  }
  taxLines { title rate ratePercentage priceSet { shopMoney { amount } } }
  shippingLines(first: $shippingLines) {
    pageInfo { hasNextPage }
    nodes {
      title code source carrierIdentifier
      originalPriceSet { shopMoney { amount } }
      discountedPriceSet { shopMoney { amount } }
      taxLines { title rate ratePercentage priceSet { shopMoney { amount } } }
      discountAllocations {
        allocatedAmountSet { shopMoney { amount } }
        discountApplication { ... on DiscountCodeApplication { code } }
      }
    }
  }
  transactions(first: $transactions) { kind status gateway formattedGateway processedAt }
  refunds(first: $refunds) {
    id createdAt note
    totalRefundedSet { shopMoney { amount } }
    refundLineItems(first: $refundLines) {
      pageInfo { hasNextPage }
      nodes { quantity lineItem { id } subtotalSet { shopMoney { amount } } }
    }
  }
}"
    };
}

/// A variant with its inventory item: weight (`measurement`, where Shopify keeps it since
/// 2024-04), shipping, and the `available` quantity at each location stocking it.
macro_rules! variant_fragment {
    () => {
        "
fragment CartgateVariant on ProductVariant {
  id title sku barcode price position inventoryQuantity
  selectedOptions { name value }
  inventoryItem {
    id tracked requiresShipping
    measurement { weight { unit value } }
    inventoryLevels(first: $levels) {
      pageInfo { hasNextPage }
      nodes { location { id } quantities(names: [\"available\"]) { name quantity } }
    }
  }
}"
    };
}

macro_rules! product_fragment {
    () => {
        "
fragment CartgateProduct on Product {
  id title handle descriptionHtml status vendor productType createdAt updatedAt tracksInventory totalInventory
  media(first: $media) { nodes { ... on MediaImage { image { url } } } }
  collections(first: $collections) { pageInfo { hasNextPage } nodes { id } }
  variants(first: $variants) {
    pageInfo { hasNextPage endCursor }
    nodes { ...CartgateVariant }
  }
}"
    };
}

macro_rules! customer_fragment {
    () => {
        "
fragment CartgateCustomer on Customer {
  id firstName lastName email phone state createdAt updatedAt
  addresses(first: $addresses) { ...CartgateAddress }
}"
    };
}

macro_rules! collection_fragment {
    () => {
        "
fragment CartgateCollection on Collection {
  id title handle description descriptionHtml updatedAt
}"
    };
}

/// The shop: validates the token and gives the store info (and the weight unit new
/// weights are written in).
pub const SHOP: &str = "query CartgateShop {
  shop { id name myshopifyDomain url currencyCode ianaTimezone weightUnit }
}";

/// The primary location (where a change of the total `quantity` is applied).
pub const PRIMARY_LOCATION: &str = "query CartgatePrimaryLocation {
  location { id name isActive }
}";

/// Every location, inactive and legacy (fulfillment-service) ones included: the ids
/// `inventory_levels` refer to. 250 is the most one page holds; shops have far fewer.
pub const LOCATIONS: &str = "query CartgateLocations {
  locations(first: 250, includeInactive: true, includeLegacy: true) {
    nodes {
      id name isActive
      address { address1 address2 city province provinceCode zip countryCode phone }
    }
  }
}";

/// Newest first by id: ids only grow, so a cursor walk is stable while orders change.
pub const ORDERS: &str = concat!(
    "query CartgateOrders($first: Int!, $after: String, $query: String, $lineItems: Int!, $fulfillments: Int!, $shippingLines: Int!, $transactions: Int!, $refunds: Int!, $refundLines: Int!) {
  orders(first: $first, after: $after, query: $query, sortKey: ID, reverse: true) {
    pageInfo { hasNextPage endCursor }
    nodes { ...CartgateOrder }
  }
}",
    order_fragment!(),
    line_item_fragment!(),
    address_fragment!()
);

pub const ORDER: &str = concat!(
    "query CartgateOrder($id: ID!, $lineItems: Int!, $fulfillments: Int!, $shippingLines: Int!, $transactions: Int!, $refunds: Int!, $refundLines: Int!) {
  order(id: $id) { ...CartgateOrder }
}",
    order_fragment!(),
    line_item_fragment!(),
    address_fragment!()
);

/// The line items of an order past the first page.
pub const ORDER_LINE_ITEMS: &str = concat!(
    "query CartgateOrderLineItems($id: ID!, $after: String, $lineItems: Int!) {
  order(id: $id) {
    id
    lineItems(first: $lineItems, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...CartgateLineItem }
    }
  }
}",
    line_item_fragment!()
);

/// `limit: null` lifts the default cap of 10 000 on counts.
pub const ORDERS_COUNT: &str = "query CartgateOrdersCount($query: String) {
  ordersCount(query: $query, limit: null) { count precision }
}";

/// The open work of an order, for `fulfillmentCreate`.
pub const FULFILLMENT_ORDERS: &str = "query CartgateFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 5) {
      nodes {
        id status
        lineItems(first: 50) { nodes { id remainingQuantity totalQuantity lineItem { id } } }
      }
    }
  }
}";

pub const FULFILLMENT_CREATE: &str =
    "mutation CartgateFulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}";

pub const PRODUCTS: &str = concat!(
    "query CartgateProducts($first: Int!, $after: String, $query: String, $media: Int!, $collections: Int!, $variants: Int!, $levels: Int!) {
  products(first: $first, after: $after, query: $query, sortKey: ID, reverse: true) {
    pageInfo { hasNextPage endCursor }
    nodes { ...CartgateProduct }
  }
}",
    product_fragment!(),
    variant_fragment!()
);

pub const PRODUCT: &str = concat!(
    "query CartgateProduct($id: ID!, $media: Int!, $collections: Int!, $variants: Int!, $levels: Int!) {
  product(id: $id) { ...CartgateProduct }
}",
    product_fragment!(),
    variant_fragment!()
);

/// The variants of a product past the first page.
pub const PRODUCT_VARIANTS: &str = concat!(
    "query CartgateProductVariants($id: ID!, $after: String, $variants: Int!, $levels: Int!) {
  product(id: $id) {
    id
    variants(first: $variants, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { ...CartgateVariant }
    }
  }
}",
    variant_fragment!()
);

pub const PRODUCTS_COUNT: &str = "query CartgateProductsCount($query: String) {
  productsCount(query: $query, limit: null) { count precision }
}";

/// 2025-01: `productCreate(product: ProductCreateInput)` (the `input: ProductInput`
/// argument is deprecated). The new product has one default variant; its price, sku and
/// quantity are set by the two mutations below.
pub const PRODUCT_CREATE: &str = "mutation CartgateProductCreate($product: ProductCreateInput!) {
  productCreate(product: $product) {
    product { id variants(first: 1) { nodes { id inventoryItem { id } } } }
    userErrors { field message }
  }
}";

pub const PRODUCT_UPDATE: &str = "mutation CartgateProductUpdate($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product { id }
    userErrors { field message }
  }
}";

/// Price, barcode, and on the inventory item sku, tracking and weight
/// (`inventoryItem.measurement.weight`) of variants.
pub const VARIANTS_BULK_UPDATE: &str = "mutation CartgateVariantsBulkUpdate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id }
    userErrors { field message code }
  }
}";

/// Changes of the `available` quantity by a difference at locations. From 2026-04 every
/// change names its `changeFromQuantity` (the connector passes `null`: a difference
/// applies on top of concurrent sales) and the mutation needs an idempotency key, which
/// also makes it safe to send again.
pub const INVENTORY_ADJUST: &str =
    "mutation CartgateInventoryAdjust($input: InventoryAdjustQuantitiesInput!, $idempotencyKey: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}";

pub const CUSTOMERS: &str = concat!(
    "query CartgateCustomers($first: Int!, $after: String, $query: String, $addresses: Int!) {
  customers(first: $first, after: $after, query: $query, sortKey: ID, reverse: true) {
    pageInfo { hasNextPage endCursor }
    nodes { ...CartgateCustomer }
  }
}",
    customer_fragment!(),
    address_fragment!()
);

pub const CUSTOMER: &str = concat!(
    "query CartgateCustomer($id: ID!, $addresses: Int!) {
  customer(id: $id) { ...CartgateCustomer }
}",
    customer_fragment!(),
    address_fragment!()
);

pub const CUSTOMERS_COUNT: &str = "query CartgateCustomersCount($query: String) {
  customersCount(query: $query) { count precision }
}";

pub const COLLECTIONS: &str = concat!(
    "query CartgateCollections($first: Int!, $after: String) {
  collections(first: $first, after: $after, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes { ...CartgateCollection }
  }
}",
    collection_fragment!()
);

pub const COLLECTION: &str = concat!(
    "query CartgateCollection($id: ID!) {
  collection(id: $id) { ...CartgateCollection }
}",
    collection_fragment!()
);

/// Subscribes a callback to one topic (JSON, the REST-shaped payload).
pub const WEBHOOK_CREATE: &str = "mutation CartgateWebhookCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}";

pub const WEBHOOK_DELETE: &str = "mutation CartgateWebhookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}";

/// The subscriptions of a callback (to find one already registered for a topic).
pub const WEBHOOKS: &str =
    "query CartgateWebhooks($callbackUrl: URL!, $topics: [WebhookSubscriptionTopic!]) {
  webhookSubscriptions(first: 25, callbackUrl: $callbackUrl, topics: $topics) {
    nodes { id topic }
  }
}";

/// Every document the connector sends, by operation name (the proxy's client-supplied
/// documents aside).
pub fn all_documents() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CartgateShop", SHOP),
        ("CartgatePrimaryLocation", PRIMARY_LOCATION),
        ("CartgateLocations", LOCATIONS),
        ("CartgateOrders", ORDERS),
        ("CartgateOrder", ORDER),
        ("CartgateOrderLineItems", ORDER_LINE_ITEMS),
        ("CartgateOrdersCount", ORDERS_COUNT),
        ("CartgateFulfillmentOrders", FULFILLMENT_ORDERS),
        ("CartgateFulfillmentCreate", FULFILLMENT_CREATE),
        ("CartgateProducts", PRODUCTS),
        ("CartgateProduct", PRODUCT),
        ("CartgateProductVariants", PRODUCT_VARIANTS),
        ("CartgateProductsCount", PRODUCTS_COUNT),
        ("CartgateProductCreate", PRODUCT_CREATE),
        ("CartgateProductUpdate", PRODUCT_UPDATE),
        ("CartgateVariantsBulkUpdate", VARIANTS_BULK_UPDATE),
        ("CartgateInventoryAdjust", INVENTORY_ADJUST),
        ("CartgateCustomers", CUSTOMERS),
        ("CartgateCustomer", CUSTOMER),
        ("CartgateCustomersCount", CUSTOMERS_COUNT),
        ("CartgateCollections", COLLECTIONS),
        ("CartgateCollection", COLLECTION),
        ("CartgateWebhookCreate", WEBHOOK_CREATE),
        ("CartgateWebhookDelete", WEBHOOK_DELETE),
        ("CartgateWebhooks", WEBHOOKS),
    ]
}
