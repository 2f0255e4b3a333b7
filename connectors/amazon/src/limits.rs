//! Amazon's usage plans: a token bucket per seller, app and operation, with the default
//! rate and burst each model's operation documents ("Usage Plan" tables of
//! ../shared/platform-specs/amazon/models). Amazon may grant a seller more; it says so in
//! the `x-amzn-RateLimit-Limit` answer header (the rate), which the session adopts.

use cartgate_connector::pace::Quota;
use http::Method;

/// One SP-API operation and its default usage plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Operation {
    /// Amazon's operationId.
    pub name: &'static str,
    pub method: &'static str,
    /// The path template, `{…}` for parameters.
    pub path: &'static str,
    pub rate_per_sec: f64,
    pub burst: f64,
}

impl Operation {
    pub const fn quota(&self) -> Quota {
        Quota {
            rate_per_sec: self.rate_per_sec,
            burst: self.burst,
        }
    }

    /// Does `method path` (a path without query) call this operation?
    pub fn matches(&self, method: &Method, path: &str) -> bool {
        if method.as_str() != self.method {
            return false;
        }
        let mut want = self.path.split('/');
        let mut got = path.trim_end_matches('/').split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w.starts_with('{') => {
                    if g.is_empty() {
                        return false;
                    }
                }
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    }
}

const fn op(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    rate_per_sec: f64,
    burst: f64,
) -> Operation {
    Operation {
        name,
        method,
        path,
        rate_per_sec,
        burst,
    }
}

pub const SEARCH_ORDERS: Operation = op(
    "searchOrders",
    "GET",
    "/orders/2026-01-01/orders",
    0.0056,
    20.0,
);
pub const GET_ORDER: Operation = op(
    "getOrder",
    "GET",
    "/orders/2026-01-01/orders/{orderId}",
    0.5,
    30.0,
);
pub const CONFIRM_SHIPMENT: Operation = op(
    "confirmShipment",
    "POST",
    "/orders/v0/orders/{orderId}/shipmentConfirmation",
    2.0,
    10.0,
);
pub const SEARCH_LISTINGS: Operation = op(
    "searchListingsItems",
    "GET",
    "/listings/2021-08-01/items/{sellerId}",
    5.0,
    5.0,
);
pub const GET_LISTING: Operation = op(
    "getListingsItem",
    "GET",
    "/listings/2021-08-01/items/{sellerId}/{sku}",
    5.0,
    10.0,
);
pub const PATCH_LISTING: Operation = op(
    "patchListingsItem",
    "PATCH",
    "/listings/2021-08-01/items/{sellerId}/{sku}",
    5.0,
    5.0,
);
pub const PUT_LISTING: Operation = op(
    "putListingsItem",
    "PUT",
    "/listings/2021-08-01/items/{sellerId}/{sku}",
    5.0,
    10.0,
);
pub const DELETE_LISTING: Operation = op(
    "deleteListingsItem",
    "DELETE",
    "/listings/2021-08-01/items/{sellerId}/{sku}",
    5.0,
    5.0,
);
pub const INVENTORY_SUMMARIES: Operation = op(
    "getInventorySummaries",
    "GET",
    "/fba/inventory/v1/summaries",
    2.0,
    2.0,
);
pub const MARKETPLACE_PARTICIPATIONS: Operation = op(
    "getMarketplaceParticipations",
    "GET",
    "/sellers/v1/marketplaceParticipations",
    0.016,
    15.0,
);
pub const GET_ACCOUNT: Operation = op("getAccount", "GET", "/sellers/v1/account", 0.016, 15.0);

/// Every operation the session paces (the proxy paces these too when it reaches them).
pub const ALL: [Operation; 11] = [
    SEARCH_ORDERS,
    GET_ORDER,
    CONFIRM_SHIPMENT,
    SEARCH_LISTINGS,
    GET_LISTING,
    PATCH_LISTING,
    PUT_LISTING,
    DELETE_LISTING,
    INVENTORY_SUMMARIES,
    MARKETPLACE_PARTICIPATIONS,
    GET_ACCOUNT,
];

/// The operation a proxied call reaches, when it is one of [`ALL`].
pub fn for_request(method: &Method, path: &str) -> Option<&'static Operation> {
    ALL.iter().find(|o| o.matches(method, path))
}

/// The rate of an `x-amzn-RateLimit-Limit` header (requests per second), when usable.
pub fn header_rate(value: &str) -> Option<f64> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && *r > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_operations() {
        let get = Method::GET;
        assert_eq!(
            for_request(&get, "/orders/2026-01-01/orders").map(|o| o.name),
            Some("searchOrders")
        );
        assert_eq!(
            for_request(&get, "/orders/2026-01-01/orders/123-1234567-1234567").map(|o| o.name),
            Some("getOrder")
        );
        assert_eq!(
            for_request(&Method::PATCH, "/listings/2021-08-01/items/S1/SKU-1").map(|o| o.name),
            Some("patchListingsItem")
        );
        assert_eq!(for_request(&get, "/orders/2026-01-01/orders/1/x"), None);
        assert_eq!(for_request(&get, "/listings/2021-08-01/items//x"), None);
        assert_eq!(header_rate("0.0167"), Some(0.0167));
        assert_eq!(header_rate("1000000"), Some(1e6));
        assert_eq!(header_rate("NaN"), None);
        assert_eq!(header_rate("-1"), None);
    }
}
