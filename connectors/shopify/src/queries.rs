//! Every GraphQL document the connector sends, in one place, so the schema test
//! (`tests/schema.rs`) can validate each one against the official 2025-01 Admin schema.
//!
//! Nested connections take their sizes from variables (`$lineItems`, `$variants`, …):
//! a list asks for small nested pages to keep one request under Shopify's single-query
//! cost limit (1000), a single object asks for large ones. An object whose nested list was
//! cut short in a list is fetched again on its own (see `client.rs`).
//!
//! Deprecated fields used on purpose (2025-01 has no replacement yet): `Customer.email`
//! (its replacement `defaultEmailAddress` arrives in a later version).

/// The Admin API version every request is pinned to.
pub const API_VERSION: &str = "2025-01";

/// The API path under the shop's origin.
pub const API_PATH: &str = "/admin/api/2025-01/graphql.json";

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
  id name sku quantity
  originalUnitPriceSet { shopMoney { amount currencyCode } }
  discountedTotalSet { shopMoney { amount currencyCode } }
  product { id }
  variant { id }
}"
    };
}

macro_rules! order_fragment {
    () => {
        "
fragment CartgateOrder on Order {
  id name email phone note createdAt updatedAt processedAt closed closedAt cancelledAt cancelReason
  displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode
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
    trackingInfo(first: 5) { company number url }
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
    nodes {
      id title sku price position inventoryQuantity
      selectedOptions { name value }
      inventoryItem { id tracked }
    }
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

/// The shop: validates the token and gives the store info.
pub const SHOP: &str = "query CartgateShop {
  shop { id name myshopifyDomain url currencyCode ianaTimezone }
}";

/// The primary location (where quantities are set).
pub const PRIMARY_LOCATION: &str = "query CartgatePrimaryLocation {
  location { id name isActive }
}";

/// Newest first by id: ids only grow, so a cursor walk is stable while orders change.
pub const ORDERS: &str = concat!(
    "query CartgateOrders($first: Int!, $after: String, $query: String, $lineItems: Int!, $fulfillments: Int!) {
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
    "query CartgateOrder($id: ID!, $lineItems: Int!, $fulfillments: Int!) {
  order(id: $id) { ...CartgateOrder }
}",
    order_fragment!(),
    line_item_fragment!(),
    address_fragment!()
);

/// The line items of an order past the first page.
pub const ORDER_LINE_ITEMS: &str = concat!(
    "query CartgateOrderLineItems($id: ID!, $after: String) {
  order(id: $id) {
    id
    lineItems(first: 100, after: $after) {
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
    "query CartgateProducts($first: Int!, $after: String, $query: String, $media: Int!, $collections: Int!, $variants: Int!) {
  products(first: $first, after: $after, query: $query, sortKey: ID, reverse: true) {
    pageInfo { hasNextPage endCursor }
    nodes { ...CartgateProduct }
  }
}",
    product_fragment!()
);

pub const PRODUCT: &str = concat!(
    "query CartgateProduct($id: ID!, $media: Int!, $collections: Int!, $variants: Int!) {
  product(id: $id) { ...CartgateProduct }
}",
    product_fragment!()
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

/// Price and sku (`inventoryItem.sku` in 2025-01) of variants.
pub const VARIANTS_BULK_UPDATE: &str = "mutation CartgateVariantsBulkUpdate($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id }
    userErrors { field message code }
  }
}";

/// Absolute `available` quantities at a location.
pub const INVENTORY_ADJUST: &str =
    "mutation CartgateInventoryAdjust($input: InventoryAdjustQuantitiesInput!) {
  inventoryAdjustQuantities(input: $input) {
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
        ("CartgateOrders", ORDERS),
        ("CartgateOrder", ORDER),
        ("CartgateOrderLineItems", ORDER_LINE_ITEMS),
        ("CartgateOrdersCount", ORDERS_COUNT),
        ("CartgateFulfillmentOrders", FULFILLMENT_ORDERS),
        ("CartgateFulfillmentCreate", FULFILLMENT_CREATE),
        ("CartgateProducts", PRODUCTS),
        ("CartgateProduct", PRODUCT),
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
