//! Orders API v2026-01-01 (`searchOrders`, `getOrder`) and Orders v0 `confirmShipment`.

use std::collections::HashSet;

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::data::{iso, parse_time, participating, ship_from_address, Db};
use super::{sp_error, sp_json, Query, Reply};

/// The `includedData` datasets of v2026-01-01.
pub const DATASETS: [&str; 11] = [
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
];

const STATUSES: [&str; 7] = [
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
];

/// Largest and default `maxResultsPerPage`.
const MAX_PAGE: usize = 100;

/// How far before the request an explicit upper time bound must be (Amazon's rule).
const SETTLE_SECS: i64 = 120;

fn invalid(message: impl Into<String>) -> Reply {
    sp_error(StatusCode::BAD_REQUEST, "InvalidInput", &message.into(), "")
}

fn included(q: &Query) -> Result<HashSet<String>, Reply> {
    let mut set = HashSet::new();
    for d in q.list("includedData") {
        if !DATASETS.contains(&d.as_str()) {
            return Err(invalid(format!(
                "{d} is not a valid value for includedData. Valid values: {}",
                DATASETS.join(", ")
            )));
        }
        set.insert(d);
    }
    Ok(set)
}

/// The order as a request with `included` datasets sees it; without PII access the
/// buyer's and recipient's personal data are left out, as for an app without the roles.
pub fn project(doc: &Value, included: &HashSet<String>, pii_access: bool) -> Value {
    let has = |d: &str| included.contains(d);
    let mut out = Map::new();
    let Some(src) = doc.as_object() else {
        return Value::Null;
    };
    for (k, v) in src {
        let keep = match k.as_str() {
            "buyer" => has("BUYER"),
            "recipient" => has("RECIPIENT"),
            "proceeds" => has("PROCEEDS"),
            "payment" => has("PAYMENT"),
            "tax" => has("TAX"),
            "fulfillment" => has("FULFILLMENT"),
            "packages" => has("PACKAGES"),
            "fulfillmentOrders" => has("FULFILLMENT_ORDERS"),
            _ => true,
        };
        if !keep {
            continue;
        }
        let v = match k.as_str() {
            "orderItems" => Value::Array(
                v.as_array()
                    .map(|items| items.iter().map(|item| project_item(item, &has)).collect())
                    .unwrap_or_default(),
            ),
            "buyer" if !pii_access => {
                let mut b = v.clone();
                if let Some(o) = b.as_object_mut() {
                    o.retain(|k, _| k == "buyerPurchaseOrderNumber");
                }
                if b.as_object().is_some_and(Map::is_empty) {
                    continue;
                }
                b
            }
            "recipient" if !pii_access => {
                let mut r = json!({});
                if let Some(a) = v.get("deliveryAddress").and_then(Value::as_object) {
                    let kept: Map<String, Value> = a
                        .iter()
                        .filter(|(k, _)| {
                            matches!(
                                k.as_str(),
                                "city"
                                    | "stateOrRegion"
                                    | "postalCode"
                                    | "countryCode"
                                    | "addressType"
                            )
                        })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    r["deliveryAddress"] = Value::Object(kept);
                }
                r
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

fn project_item(item: &Value, has: &dyn Fn(&str) -> bool) -> Value {
    let mut out = Map::new();
    if let Some(src) = item.as_object() {
        for (k, v) in src {
            let keep = match k.as_str() {
                "proceeds" => has("PROCEEDS"),
                "expense" => has("EXPENSE"),
                "promotion" => has("PROMOTION"),
                "cancellation" => has("CANCELLATION"),
                "fulfillment" => has("FULFILLMENT"),
                "tax" => has("TAX"),
                _ => true,
            };
            if keep {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The opaque `nextToken` of searchOrders: where the next page starts, the upper bound
/// of the first page, and a fingerprint of the filters (which must not change).
#[derive(serde::Serialize, serde::Deserialize)]
struct PageToken {
    /// Sort key of the last order served: (time, order id).
    t: i64,
    id: String,
    /// The effective upper time bound.
    b: i64,
    /// Fingerprint of the filters.
    f: String,
}

fn encode_token(t: &PageToken) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(t).unwrap_or_default())
}

fn decode_token(s: &str) -> Option<PageToken> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim())
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `GET /orders/2026-01-01/orders`.
pub fn search_orders(db: &Db, q: &Query, pii_access: bool, now: i64) -> Reply {
    let included = match included(q) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let time = |name: &str| -> Result<Option<i64>, Reply> {
        match q.one(name) {
            None => Ok(None),
            Some(v) => parse_time(v)
                .map(Some)
                .ok_or_else(|| invalid(format!("{name} must be a date-time in ISO 8601 format"))),
        }
    };
    let (created_after, created_before, updated_after, updated_before) = match (
        time("createdAfter"),
        time("createdBefore"),
        time("lastUpdatedAfter"),
        time("lastUpdatedBefore"),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (Err(r), ..) | (_, Err(r), ..) | (_, _, Err(r), _) | (.., Err(r)) => return r,
    };
    let by_update = match (created_after, updated_after) {
        (Some(_), Some(_)) | (None, None) => {
            return invalid("Exactly one of createdAfter and lastUpdatedAfter must be provided")
        }
        (None, Some(_)) => true,
        (Some(_), None) => false,
    };
    if by_update && created_before.is_some() {
        return invalid("createdBefore cannot be provided with lastUpdatedAfter");
    }
    if !by_update && updated_before.is_some() {
        return invalid("lastUpdatedBefore cannot be provided with createdAfter");
    }
    let after = if by_update {
        updated_after
    } else {
        created_after
    }
    .unwrap_or(0);
    let before = if by_update {
        updated_before
    } else {
        created_before
    };
    let (after_name, before_name) = if by_update {
        ("lastUpdatedAfter", "lastUpdatedBefore")
    } else {
        ("createdAfter", "createdBefore")
    };
    if after > now {
        return invalid(format!("{after_name} must be in the past"));
    }
    if let Some(b) = before {
        if b < after {
            return invalid(format!(
                "{before_name} must be equal to or after {after_name}"
            ));
        }
        if b > now - SETTLE_SECS {
            return invalid(format!(
                "{before_name} must be at least two minutes before the time of the request"
            ));
        }
    }
    let statuses = q.list("fulfillmentStatuses");
    if let Some(bad) = statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
        return invalid(format!(
            "{bad} is not a valid value for fulfillmentStatuses"
        ));
    }
    let marketplaces = q.list("marketplaceIds");
    if marketplaces.len() > 50 {
        return invalid("marketplaceIds accepts at most 50 values");
    }
    if let Some(bad) = marketplaces.iter().find(|m| !participating(m)) {
        return invalid(format!("Invalid marketplaceId: {bad}"));
    }
    let fulfilled_by = q.list("fulfilledBy");
    if let Some(bad) = fulfilled_by
        .iter()
        .find(|s| !matches!(s.as_str(), "MERCHANT" | "AMAZON"))
    {
        return invalid(format!("{bad} is not a valid value for fulfilledBy"));
    }
    let page_size = match q.one("maxResultsPerPage") {
        None => MAX_PAGE,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => return invalid("maxResultsPerPage must be an integer between 1 and 100"),
        },
    };
    // Every parameter but the page size, included data and token must stay the same
    // across pages.
    let mut fp: Vec<String> = q
        .pairs
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "paginationToken" | "maxResultsPerPage" | "includedData"
            )
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    fp.sort();
    let fingerprint = format!("{:016x}", fnv(fp.join("&").as_bytes()));
    let (start, bound) = match q.one("paginationToken") {
        None => (None, before.unwrap_or(now)),
        Some(t) => match decode_token(t) {
            Some(tok) if tok.f == fingerprint => (Some((tok.t, tok.id)), tok.b),
            Some(_) => {
                return invalid(
                    "The paginationToken does not match the other parameters of the request",
                )
            }
            None => return invalid("Invalid paginationToken"),
        },
    };
    let key = |o: &super::data::Order| if by_update { o.updated } else { o.created };
    let mut found: Vec<&super::data::Order> = db
        .orders
        .values()
        .filter(|o| {
            let k = key(o);
            k >= after
                && k <= bound
                && (statuses.is_empty() || statuses.iter().any(|s| s == o.status()))
                && (marketplaces.is_empty() || marketplaces.iter().any(|m| m == o.marketplace()))
                && (fulfilled_by.is_empty() || fulfilled_by.iter().any(|f| f == o.fulfilled_by()))
        })
        .collect();
    found.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id)));
    if let Some((t, id)) = &start {
        found.retain(|o| (key(o), o.id.as_str()) > (*t, id.as_str()));
    }
    let more = found.len() > page_size;
    found.truncate(page_size);
    let orders: Vec<Value> = found
        .iter()
        .map(|o| project(&o.doc, &included, pii_access))
        .collect();
    let mut body = json!({ "orders": orders });
    if more {
        if let Some(last) = found.last() {
            body["pagination"] = json!({"nextToken": encode_token(&PageToken {
                t: key(last),
                id: last.id.clone(),
                b: bound,
                f: fingerprint,
            })});
        }
    }
    body[before_name] = json!(iso(bound));
    sp_json(StatusCode::OK, body)
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Amazon order ids are 3-7-7 digits.
pub fn valid_order_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 3
        && [3, 7, 7]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit()))
}

fn not_found(id: &str) -> Reply {
    sp_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("Order {id} was not found"),
        "",
    )
}

/// `GET /orders/2026-01-01/orders/{orderId}`.
pub fn get_order(db: &Db, id: &str, q: &Query, pii_access: bool) -> Reply {
    let included = match included(q) {
        Ok(i) => i,
        Err(r) => return r,
    };
    if !valid_order_id(id) {
        return invalid(format!("Invalid orderId: {id}"));
    }
    match db.orders.get(id) {
        Some(o) => sp_json(
            StatusCode::OK,
            json!({"order": project(&o.doc, &included, pii_access)}),
        ),
        None => not_found(id),
    }
}

/// `POST /orders/v0/orders/{orderId}/shipmentConfirmation`: one package of a
/// merchant-fulfilled order. 204 on success; the package then shows in `packages`.
pub fn confirm_shipment(db: &mut Db, id: &str, body: &[u8]) -> Reply {
    if !valid_order_id(id) {
        return invalid(format!("Invalid orderId: {id}"));
    }
    let req: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return invalid("The request body is not a valid ConfirmShipmentRequest"),
    };
    fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
        v.get(k).and_then(Value::as_str).map(str::trim)
    }
    let Some(marketplace) = str_field(&req, "marketplaceId").filter(|s| !s.is_empty()) else {
        return invalid("marketplaceId is required");
    };
    let Some(pd) = req.get("packageDetail").filter(|p| p.is_object()) else {
        return invalid("packageDetail is required");
    };
    let reference = match pd.get("packageReferenceId") {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(_)) => return invalid("packageReferenceId must be a string"),
        _ => return invalid("packageDetail.packageReferenceId is required"),
    };
    if reference.is_empty()
        || !reference.bytes().all(|b| b.is_ascii_digit())
        || reference.trim_start_matches('0').is_empty()
    {
        return invalid("packageReferenceId must be a positive number (as a string)");
    }
    let Some(carrier_code) = str_field(pd, "carrierCode").filter(|s| !s.is_empty()) else {
        return invalid("packageDetail.carrierCode is required");
    };
    let carrier_name = str_field(pd, "carrierName").filter(|s| !s.is_empty());
    if carrier_code.eq_ignore_ascii_case("Other") && carrier_name.is_none() {
        return invalid("carrierName is required when carrierCode is Other");
    }
    let Some(tracking) = str_field(pd, "trackingNumber").filter(|s| !s.is_empty()) else {
        return invalid("packageDetail.trackingNumber is required");
    };
    let Some(ship_date) = str_field(pd, "shipDate") else {
        return invalid("packageDetail.shipDate is required");
    };
    let Some(ship_time) = parse_time(ship_date) else {
        return invalid(format!(
            "shipDate {ship_date} is not a valid ISO 8601 date-time"
        ));
    };
    let Some(items) = pd.get("orderItems").and_then(Value::as_array) else {
        return invalid("packageDetail.orderItems is required");
    };
    if items.is_empty() {
        return invalid("packageDetail.orderItems must not be empty");
    }
    let shipping_method = str_field(pd, "shippingMethod").filter(|s| !s.is_empty());
    let now = db.now();
    let Some(order) = db.orders.get_mut(id) else {
        return not_found(id);
    };
    if order.marketplace() != marketplace {
        return invalid(format!(
            "Order {id} does not belong to marketplace {marketplace}"
        ));
    }
    if order.fulfilled_by() != "MERCHANT" {
        return invalid(format!(
            "Order {id} is fulfilled by Amazon: shipments can only be confirmed for merchant-fulfilled orders"
        ));
    }
    let status = order.status().to_owned();
    if !matches!(status.as_str(), "UNSHIPPED" | "PARTIALLY_SHIPPED") {
        return invalid(format!(
            "Order {id} has status {status}: only UNSHIPPED and PARTIALLY_SHIPPED orders can be shipped"
        ));
    }
    if ship_time < order.created {
        return invalid("shipDate must not be before the order was placed");
    }
    if ship_time > now + 2 * 86_400 {
        return invalid("shipDate must not be more than two days in the future");
    }
    let packages = order
        .doc
        .get("packages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if packages
        .iter()
        .any(|p| p["packageReferenceId"].as_str() == Some(reference.as_str()))
    {
        return invalid(format!(
            "packageReferenceId {reference} is already used by another package of this order"
        ));
    }
    // Check every line before changing anything.
    let mut lines: Vec<(usize, u64)> = Vec::new();
    let order_items = order.doc["orderItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (n, line) in items.iter().enumerate() {
        let Some(item_id) = line.get("orderItemId").and_then(Value::as_str) else {
            return invalid(format!("orderItems[{n}].orderItemId is required"));
        };
        let Some(qty) = line
            .get("quantity")
            .and_then(Value::as_u64)
            .filter(|q| *q > 0)
        else {
            return invalid(format!(
                "orderItems[{n}].quantity must be a positive integer"
            ));
        };
        let Some(pos) = order_items
            .iter()
            .position(|i| i["orderItemId"].as_str() == Some(item_id))
        else {
            return invalid(format!("Order item {item_id} is not part of order {id}"));
        };
        let already: u64 = lines
            .iter()
            .filter(|(p, _)| *p == pos)
            .map(|(_, q)| q)
            .sum();
        let open = order_items[pos]
            .pointer("/fulfillment/quantityUnfulfilled")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if qty + already > open {
            return invalid(format!(
                "The quantity for order item {item_id} exceeds the unshipped quantity ({open})"
            ));
        }
        lines.push((pos, qty));
    }
    let doc = &mut order.doc;
    for (pos, qty) in &lines {
        let f = &mut doc["orderItems"][*pos]["fulfillment"];
        let done = f["quantityFulfilled"].as_u64().unwrap_or(0) + qty;
        let open = f["quantityUnfulfilled"].as_u64().unwrap_or(0) - qty;
        f["quantityFulfilled"] = json!(done);
        f["quantityUnfulfilled"] = json!(open);
    }
    let all_shipped = doc["orderItems"].as_array().is_some_and(|items| {
        items.iter().all(|i| {
            i.pointer("/fulfillment/quantityUnfulfilled")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                == 0
        })
    });
    doc["fulfillment"]["fulfillmentStatus"] = json!(if all_shipped {
        "SHIPPED"
    } else {
        "PARTIALLY_SHIPPED"
    });
    let mut package = json!({
        "packageReferenceId": reference,
        "createdTime": iso(now),
        "packageStatus": {"status": "SHIPPED"},
        "carrier": carrier_name.unwrap_or(carrier_code),
        "shipTime": iso(ship_time),
        "trackingNumber": tracking,
        "shipFromAddress": ship_from_address(),
        "packageItems": lines.iter().map(|(pos, qty)| json!({
            "orderItemId": order_items[*pos]["orderItemId"],
            "quantity": qty,
        })).collect::<Vec<_>>(),
    });
    if let Some(m) = shipping_method {
        package["shippingService"] = json!(m);
    }
    let mut packages = packages;
    packages.push(package);
    doc["packages"] = Value::Array(packages);
    doc["lastUpdatedTime"] = json!(iso(now));
    order.updated = now;
    Reply::empty(StatusCode::NO_CONTENT)
}

/// `POST /__sandbox/simulate` `order.updated`: the order moves on as it would in Seller
/// Central: a pre-order becomes pending, a pending order is paid (merchant-fulfilled:
/// unshipped; Amazon-fulfilled: shipped), an unshipped order gets a buyer cancellation
/// request, a shipped package is delivered; anything else just gets a new
/// `lastUpdatedTime`.
pub fn simulate_update(db: &mut Db, id: &str) {
    let now = db.now();
    let Some(o) = db.orders.get_mut(id) else {
        return;
    };
    let afn = o.fulfilled_by() == "AMAZON";
    let status = o.status().to_owned();
    let doc = &mut o.doc;
    let set_status = |doc: &mut Value, s: &str| doc["fulfillment"]["fulfillmentStatus"] = json!(s);
    match status.as_str() {
        "PENDING_AVAILABILITY" => set_status(doc, "PENDING"),
        "PENDING" => {
            if afn {
                set_status(doc, "SHIPPED");
                if let Some(items) = doc["orderItems"].as_array_mut() {
                    for i in items {
                        let q = i["quantityOrdered"].clone();
                        i["fulfillment"]["quantityFulfilled"] = q;
                        i["fulfillment"]["quantityUnfulfilled"] = json!(0);
                    }
                }
            } else {
                set_status(doc, "UNSHIPPED");
            }
            let total = doc.pointer("/proceeds/grandTotal").cloned();
            if let Some(t) = total {
                doc["payment"] = json!({"paymentExecutions": [{"paymentMethod": "CreditCard", "paymentAmount": t}]});
            }
            if doc.get("buyer").is_none() {
                doc["buyer"] = json!({"buyerName": "Amara Okafor"});
                if !afn {
                    doc["buyer"]["buyerEmail"] = json!("0f3c9a1d2b7e4c55@marketplace.amazon.com");
                    if let Some(a) = doc.pointer_mut("/recipient/deliveryAddress") {
                        a["name"] = json!("Amara Okafor");
                        a["addressLine1"] = json!("600 Congress Ave");
                    }
                }
            }
        }
        "UNSHIPPED" | "PARTIALLY_SHIPPED" => {
            if let Some(items) = doc["orderItems"].as_array_mut() {
                for i in items {
                    i["cancellation"] = json!({"cancellationRequest": {"requester": "BUYER", "cancelReason": "No longer needed"}});
                }
            }
        }
        "SHIPPED" => {
            if let Some(ps) = doc.get_mut("packages").and_then(Value::as_array_mut) {
                for p in ps {
                    p["packageStatus"] =
                        json!({"status": "DELIVERED", "detailedStatus": "DELIVERED"});
                }
            }
        }
        _ => {}
    }
    doc["lastUpdatedTime"] = json!(iso(now));
    o.updated = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_3_7_7() {
        assert!(valid_order_id("113-1234567-7654321"));
        assert!(!valid_order_id("113-123456-7654321"));
        assert!(!valid_order_id("abc-1234567-7654321"));
        assert!(!valid_order_id("1131234567-7654321"));
    }

    #[test]
    fn tokens_round_trip() {
        let t = PageToken {
            t: 5,
            id: "x".into(),
            b: 9,
            f: "ff".into(),
        };
        let back = decode_token(&encode_token(&t)).unwrap();
        assert_eq!(
            (back.t, back.id, back.b, back.f),
            (5, "x".into(), 9, "ff".into())
        );
        assert!(decode_token("not a token").is_none());
    }

    #[test]
    fn projection_keeps_only_requested_datasets_and_hides_pii() {
        let doc = json!({
            "orderId": "1", "createdTime": "x", "lastUpdatedTime": "x", "salesChannel": {"channelName": "AMAZON"},
            "buyer": {"buyerName": "A", "buyerEmail": "e", "buyerPurchaseOrderNumber": "PO"},
            "recipient": {"deliveryAddress": {"name": "A", "addressLine1": "l", "city": "c", "countryCode": "US"}},
            "proceeds": {}, "fulfillment": {"fulfillmentStatus": "SHIPPED"},
            "orderItems": [{"orderItemId": "9", "quantityOrdered": 1, "product": {}, "proceeds": {}, "tax": {}}],
        });
        let none = project(&doc, &HashSet::new(), true);
        assert!(none.get("buyer").is_none() && none.get("proceeds").is_none());
        assert!(none["orderItems"][0].get("proceeds").is_none());
        let all: HashSet<String> = DATASETS.iter().map(|s| s.to_string()).collect();
        let full = project(&doc, &all, true);
        assert_eq!(full["buyer"]["buyerName"], "A");
        assert!(full["orderItems"][0].get("tax").is_some());
        let hidden = project(&doc, &all, false);
        assert_eq!(hidden["buyer"], json!({"buyerPurchaseOrderNumber": "PO"}));
        assert_eq!(
            hidden["recipient"]["deliveryAddress"],
            json!({"city": "c", "countryCode": "US"})
        );
    }
}
