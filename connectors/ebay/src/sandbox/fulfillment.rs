//! Sell Fulfillment: getOrders, getOrder and shipping fulfillments (see the module docs of
//! `sandbox`).

use axum::http::StatusCode;
use axum::response::Response;
use cartgate_connector::sandbox::SimulateError;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::data::ts;
use super::{created, err_doc, error_response, json_ok, notify, Call, Op, Sandbox, S};

/// getOrders' largest `limit`, its default, and the most `orderIds`.
const MAX_LIMIT: usize = 200;
const DEFAULT_LIMIT: usize = 50;
const MAX_ORDER_IDS: usize = 50;
/// Without a filter, getOrders answers the orders created in the last 90 days.
const DEFAULT_WINDOW_SECS: i64 = 90 * 86_400;
/// The longest creation/modification date range: two years.
const MAX_RANGE_SECS: i64 = 2 * 365 * 86_400 + 86_400;

fn ful_error(status: StatusCode, id: u32, message: &str, params: &[(&str, &str)]) -> Response {
    error_response(
        status,
        &[err_doc(
            id,
            "API_FULFILLMENT",
            None,
            "REQUEST",
            message,
            None,
            params,
        )],
    )
}

fn bad(id: u32, message: &str, params: &[(&str, &str)]) -> Response {
    ful_error(StatusCode::BAD_REQUEST, id, message, params)
}

pub(crate) fn handle(s: &S, op: Op, call: &Call<'_>) -> Response {
    let r = match op {
        Op::GetOrders => get_orders(s, call),
        Op::GetOrder => get_order(s, call),
        Op::GetFulfillments => get_fulfillments(s, call),
        Op::GetFulfillment => get_fulfillment(s, call),
        Op::CreateFulfillment => create_fulfillment(s, call),
        _ => Err(super::not_found_route()),
    };
    r.unwrap_or_else(|e| e)
}

/// `fieldGroups`: only `TAX_BREAKDOWN` exists.
fn tax_breakdown(call: &Call<'_>) -> Result<bool, Response> {
    match call.q("fieldGroups") {
        None | Some("") => Ok(false),
        Some(v) => {
            for g in v.split(',') {
                if g != "TAX_BREAKDOWN" {
                    return Err(bad(
                        32800,
                        &format!("Invalid field group: {g}"),
                        &[("fieldGroup", g)],
                    ));
                }
            }
            Ok(true)
        }
    }
}

/// An order as answered: without `taxType` unless the tax breakdown was asked for, and (in
/// getOrders) with an empty `cancelRequests`.
fn present(order: &Value, breakdown: bool, in_search: bool) -> Value {
    let mut o = order.clone();
    if !breakdown {
        if let Some(lines) = o["lineItems"].as_array_mut() {
            for li in lines {
                if let Some(taxes) = li["taxes"].as_array_mut() {
                    for t in taxes {
                        if let Some(m) = t.as_object_mut() {
                            m.remove("taxType");
                        }
                    }
                }
            }
        }
    }
    if in_search {
        o["cancelStatus"]["cancelRequests"] = json!([]);
    }
    o
}

fn parse_date(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s).ok().map(|d| d.timestamp())
}

/// A date range `[start..end]` or `[start..]` (brackets already decoded).
/// `clock` is the sandbox's "now" for the two-year rule (its data lives at the seed epoch,
/// so a range ending at the wall clock would outgrow two years as the years pass); dates in
/// the future are judged by the wall clock, which a client may send as an end date.
fn parse_range(name: &str, value: &str, clock: i64) -> Result<(i64, Option<i64>), Response> {
    let invalid = || {
        bad(
            30800,
            &format!("Invalid filter value {value} for filter {name}"),
            &[("fieldvalue", value), ("fieldname", name)],
        )
    };
    let inner = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .ok_or_else(invalid)?;
    let (start, end) = inner.split_once("..").ok_or_else(invalid)?;
    if start.is_empty() {
        return Err(bad(30820, "Start date is missing", &[]));
    }
    let start = parse_date(start).ok_or_else(|| bad(30810, "Invalid date format", &[]))?;
    let end = if end.is_empty() {
        None
    } else {
        Some(parse_date(end).ok_or_else(|| bad(30810, "Invalid date format", &[]))?)
    };
    let now = Utc::now().timestamp() + 300;
    if start > now || end.is_some_and(|e| e > now) {
        return Err(bad(
            30850,
            "Start and end dates can't be in the future",
            &[],
        ));
    }
    if let Some(e) = end {
        if start > e {
            return Err(bad(30840, "Start date should be before end date", &[]));
        }
    }
    if end.unwrap_or(clock).min(clock.max(start)) - start > MAX_RANGE_SECS {
        return Err(bad(
            30830,
            "Time range between start date and end date must be within '2' years.",
            &[("allowedTime", "2")],
        ));
    }
    Ok((start, end))
}

#[derive(Default)]
struct Filter {
    created: Option<(i64, Option<i64>)>,
    modified: Option<(i64, Option<i64>)>,
    statuses: Option<Vec<String>>,
}

fn parse_filter(raw_query: &str, filter: &str, clock: i64) -> Result<Filter, Response> {
    // eBay requires these reserved characters percent-encoded in the query string.
    if let Some(c) = raw_query
        .chars()
        .find(|c| matches!(c, '[' | ']' | '{' | '}' | '|'))
    {
        return Err(error_response(
            StatusCode::BAD_REQUEST,
            &[err_doc(
                30800,
                "API_FULFILLMENT",
                None,
                "REQUEST",
                &format!("Invalid filter value {filter} for filter filter"),
                Some("The characters [ ] { } | in the filter must be percent-encoded (%5B %5D %7B %7D %7C)."),
                &[("fieldvalue", &c.to_string()), ("fieldname", "filter")],
            )],
        ));
    }
    let mut f = Filter::default();
    for criterion in filter.split(',').filter(|c| !c.trim().is_empty()) {
        let (name, value) = criterion.split_once(':').unwrap_or((criterion, ""));
        let name = name.trim();
        match name {
            "creationdate" => f.created = Some(parse_range(name, value, clock)?),
            "lastmodifieddate" => f.modified = Some(parse_range(name, value, clock)?),
            "orderfulfillmentstatus" => {
                let mut set: Vec<String> = value
                    .strip_prefix('{')
                    .and_then(|v| v.strip_suffix('}'))
                    .map(|v| v.split('|').map(str::to_owned).collect())
                    .unwrap_or_default();
                set.sort();
                let ok =
                    set == ["IN_PROGRESS", "NOT_STARTED"] || set == ["FULFILLED", "IN_PROGRESS"];
                if !ok {
                    return Err(bad(
                        30800,
                        &format!("Invalid filter value {value} for filter {name}"),
                        &[("fieldvalue", value), ("fieldname", name)],
                    ));
                }
                f.statuses = Some(set);
            }
            _ => {
                return Err(bad(
                    30700,
                    &format!("Invalid filter name: {name}"),
                    &[("fieldname", name)],
                ))
            }
        }
    }
    Ok(f)
}

fn int_param(
    call: &Call<'_>,
    name: &str,
    id: u32,
    min: usize,
    max: usize,
) -> Result<Option<usize>, Response> {
    match call.q(name) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n >= min && n <= max => Ok(Some(n)),
            _ => Err(bad(
                id,
                &format!("Invalid {name}: {v}"),
                &[(
                    if name == "limit" {
                        "limitvalue"
                    } else {
                        "offsetvalue"
                    },
                    v,
                )],
            )),
        },
    }
}

/// The request's query with `offset` (and `limit`) replaced, keeping the other raw pairs as
/// they were sent (so the filter stays percent-encoded).
pub(crate) fn page_url(
    base: &str,
    path: &str,
    raw_query: &str,
    offset: usize,
    limit: usize,
) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut pairs: Vec<String> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let k = p.split('=').next().unwrap_or("");
            k != "offset" && k != "limit"
        })
        .map(str::to_owned)
        .collect();
    pairs.push(format!("limit={limit}"));
    pairs.push(format!("offset={offset}"));
    format!("{base}{path}?{}", pairs.join("&"))
}

fn get_orders(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let breakdown = tax_breakdown(call)?;
    let db = s.db();
    let href = format!("{}{}", s.base_url, call.path);
    if let Some(ids) = call.q("orderIds").filter(|v| !v.trim().is_empty()) {
        let ids: Vec<&str> = ids
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect();
        if ids.len() > MAX_ORDER_IDS {
            return Err(bad(
                30900,
                "Exceeded maximum number of order IDs (the current limit is 50)",
                &[],
            ));
        }
        let orders: Vec<Value> = ids
            .iter()
            .filter_map(|id| db.orders.get(*id))
            .map(|o| present(o, breakdown, true))
            .collect();
        return Ok(json_ok(json!({
            "href": href,
            "total": orders.len(),
            "limit": DEFAULT_LIMIT,
            "offset": 0,
            "orders": orders,
        })));
    }
    let limit = int_param(call, "limit", 31100, 1, MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT);
    let offset = int_param(call, "offset", 31000, 0, usize::MAX)?.unwrap_or(0);
    let filter = match call.q("filter") {
        Some(f) => parse_filter(call.raw_query, f, db.clock)?,
        None => Filter::default(),
    };
    let within = |date: &Value, (start, end): (i64, Option<i64>)| {
        date.as_str()
            .and_then(parse_date)
            .is_some_and(|d| d >= start && end.is_none_or(|e| d <= e))
    };
    let default_window = (db.clock - DEFAULT_WINDOW_SECS, None);
    let mut matched: Vec<&Value> = db
        .orders
        .values()
        .filter(|o| match (filter.created, filter.modified) {
            (Some(c), _) => within(&o["creationDate"], c),
            (None, Some(m)) => within(&o["lastModifiedDate"], m),
            (None, None) => within(&o["creationDate"], default_window),
        })
        .filter(|o| {
            filter.statuses.as_ref().is_none_or(|set| {
                o["orderFulfillmentStatus"]
                    .as_str()
                    .is_some_and(|st| set.iter().any(|x| x == st))
            })
        })
        .collect();
    // Newest first.
    matched.sort_by(|a, b| {
        b["creationDate"]
            .as_str()
            .cmp(&a["creationDate"].as_str())
            .then_with(|| b["orderId"].as_str().cmp(&a["orderId"].as_str()))
    });
    let total = matched.len();
    let orders: Vec<Value> = matched
        .iter()
        .skip(offset)
        .take(limit)
        .map(|o| present(o, breakdown, true))
        .collect();
    let mut page = json!({
        "href": href,
        "total": total,
        "limit": limit,
        "offset": offset,
        "orders": orders,
    });
    if offset + limit < total {
        page["next"] = json!(page_url(
            &s.base_url,
            call.path,
            call.raw_query,
            offset + limit,
            limit
        ));
    }
    if offset > 0 {
        page["prev"] = json!(page_url(
            &s.base_url,
            call.path,
            call.raw_query,
            offset.saturating_sub(limit),
            limit
        ));
    }
    Ok(json_ok(page))
}

fn order_not_found(id: &str) -> Response {
    ful_error(
        StatusCode::NOT_FOUND,
        32100,
        &format!("Invalid order ID: {id}"),
        &[("orderId", id)],
    )
}

fn get_order(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let breakdown = tax_breakdown(call)?;
    let id = &call.seg[1];
    let db = s.db();
    let o = db.orders.get(id).ok_or_else(|| order_not_found(id))?;
    Ok(json_ok(present(o, breakdown, false)))
}

fn get_fulfillments(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let id = &call.seg[1];
    let db = s.db();
    if !db.orders.contains_key(id) {
        return Err(order_not_found(id));
    }
    let list = db.fulfillments.get(id).cloned().unwrap_or_default();
    Ok(json_ok(json!({"total": list.len(), "fulfillments": list})))
}

fn get_fulfillment(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let (id, fid) = (&call.seg[1], &call.seg[3]);
    let db = s.db();
    if !db.orders.contains_key(id) {
        return Err(order_not_found(id));
    }
    db.fulfillments
        .get(id)
        .and_then(|l| l.iter().find(|f| f["fulfillmentId"] == fid.as_str()))
        .map(|f| json_ok(f.clone()))
        .ok_or_else(|| {
            ful_error(
                StatusCode::NOT_FOUND,
                32110,
                &format!("Invalid shipping fulfillment ID: {fid}"),
                &[("fulfillmentId", fid)],
            )
        })
}

/// Carrier codes and tracking numbers: letters and digits (eBay rejects spaces and
/// punctuation in tracking numbers); carriers also take `_` and `-`.
fn valid_tracking(t: &str) -> bool {
    !t.is_empty() && t.len() <= 64 && t.chars().all(|c| c.is_ascii_alphanumeric())
}

fn valid_carrier(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= 64
        && c.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// How many units of each line item are already in a fulfillment.
fn shipped_quantity(list: &[Value], line_id: &str) -> u64 {
    list.iter()
        .flat_map(|f| f["lineItems"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["lineItemId"] == line_id)
        .map(|r| r["quantity"].as_u64().unwrap_or(0))
        .sum()
}

fn create_fulfillment(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let id = call.seg[1].clone();
    let body = call.json()?;
    let invalid = |why: &str| {
        ful_error(
            StatusCode::BAD_REQUEST,
            32600,
            "Invalid input data",
            &[("reason", why)],
        )
    };
    let mut db = s.db();
    let order = db
        .orders
        .get(&id)
        .ok_or_else(|| order_not_found(&id))?
        .clone();
    if order["cancelStatus"]["cancelState"] == "CANCELED" {
        return Err(invalid("the order is cancelled"));
    }
    let carrier = body["shippingCarrierCode"]
        .as_str()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let tracking = body["trackingNumber"]
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    match (carrier, tracking) {
        (None, None) => {}
        (Some(c), Some(t)) if valid_carrier(c) && valid_tracking(t) => {}
        _ => {
            return Err(bad(
                32300,
                "Invalid shipment tracking number or carrier",
                &[
                    ("shippingCarrierCode", carrier.unwrap_or("")),
                    ("trackingNumber", tracking.unwrap_or("")),
                ],
            ))
        }
    }
    let now = db.clock + 1;
    let shipped = match &body["shippedDate"] {
        Value::Null => now,
        Value::String(d) => match parse_date(d) {
            Some(t) if t <= Utc::now().timestamp() + 300 => t,
            _ => return Err(bad(32500, "Invalid shipped date", &[("shippedDate", d)])),
        },
        _ => return Err(bad(32500, "Invalid shipped date", &[])),
    };
    let Some(refs) = body["lineItems"].as_array().filter(|l| !l.is_empty()) else {
        return Err(invalid("lineItems is required"));
    };
    let existing = db.fulfillments.get(&id).cloned().unwrap_or_default();
    let mut seen = Vec::new();
    let mut lines_out = Vec::new();
    for r in refs {
        let Some(lid) = r["lineItemId"].as_str() else {
            return Err(invalid("lineItemId is required"));
        };
        let Some(line) = order["lineItems"]
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["lineItemId"] == lid))
        else {
            return Err(bad(
                32200,
                &format!("Invalid line item id: {lid}"),
                &[("lineItemId", lid)],
            ));
        };
        if seen.contains(&lid) {
            return Err(bad(
                32210,
                "Duplicate line item in the request",
                &[("lineItemId", lid)],
            ));
        }
        seen.push(lid);
        let quantity = match &r["quantity"] {
            Value::Null => 1,
            q => match q.as_u64() {
                Some(n) if n >= 1 => n,
                _ => return Err(invalid("quantity must be a whole number greater than zero")),
            },
        };
        let left = line["quantity"]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(shipped_quantity(&existing, lid));
        if quantity > left {
            return Err(invalid(&format!(
                "line item {lid} has {left} unit(s) left to ship"
            )));
        }
        lines_out.push(json!({"lineItemId": lid, "quantity": quantity}));
    }
    let fid = match tracking {
        Some(t) => {
            if existing.iter().any(|f| f["fulfillmentId"] == t) {
                return Err(bad(
                    34500,
                    "Please use PUT operation for updating shipping fulfillment",
                    &[("trackingNumber", t)],
                ));
            }
            t.to_owned()
        }
        None => format!("{}{:06}", id.replace('-', ""), existing.len() + 1),
    };
    let now = db.tick();
    let mut f = json!({
        "fulfillmentId": fid,
        "shippedDate": ts(shipped),
        "lineItems": lines_out,
    });
    if let (Some(c), Some(t)) = (carrier, tracking) {
        f["shippingCarrierCode"] = json!(c);
        f["shipmentTrackingNumber"] = json!(t);
    }
    let mut all = existing;
    all.push(f);
    let location = format!(
        "{}/sell/fulfillment/v1/order/{id}/shipping_fulfillment/{fid}",
        s.base_url
    );
    // Line and order statuses.
    let o = db.orders.get_mut(&id).ok_or_else(|| order_not_found(&id))?;
    let mut all_done = true;
    if let Some(lines) = o["lineItems"].as_array_mut() {
        for l in lines.iter_mut() {
            let lid = l["lineItemId"].as_str().unwrap_or_default().to_owned();
            let done = shipped_quantity(&all, &lid);
            let q = l["quantity"].as_u64().unwrap_or(0);
            if done >= q {
                l["lineItemFulfillmentStatus"] = json!("FULFILLED");
            } else {
                all_done = false;
                if done > 0 {
                    l["lineItemFulfillmentStatus"] = json!("IN_PROGRESS");
                }
            }
        }
    }
    o["orderFulfillmentStatus"] = json!(if all_done { "FULFILLED" } else { "IN_PROGRESS" });
    o["lastModifiedDate"] = json!(ts(now));
    if let Some(h) = o["fulfillmentHrefs"].as_array_mut() {
        h.push(json!(location));
    } else {
        o["fulfillmentHrefs"] = json!([location]);
    }
    let shipped_lines: Vec<String> = seen.iter().map(|s| (*s).to_owned()).collect();
    let marketplace = o["lineItems"][0]["listingMarketplaceId"]
        .as_str()
        .unwrap_or("EBAY_US")
        .to_owned();
    db.fulfillments.insert(id.clone(), all);
    drop(db);
    notify::push_marked_shipped(s, &id, &fid, &shipped_lines, &marketplace);
    Ok(created(&location, json!({})))
}

/// `order.updated`: a pending payment completes, or else the buyer asks to cancel.
pub(crate) fn simulate_update(s: &Sandbox, id: Option<&str>) -> Result<String, SimulateError> {
    let mut db = s.db();
    let id = match id {
        Some(id) => {
            if !db.orders.contains_key(id) {
                return Err(SimulateError::NotFound(format!("no order {id}")));
            }
            id.to_owned()
        }
        None => db
            .orders
            .values()
            .max_by(|a, b| a["creationDate"].as_str().cmp(&b["creationDate"].as_str()))
            .and_then(|o| o["orderId"].as_str().map(str::to_owned))
            .ok_or_else(|| SimulateError::Nothing("the shop has no order to change".into()))?,
    };
    let now = db.tick();
    let o = db
        .orders
        .get_mut(&id)
        .ok_or_else(|| SimulateError::NotFound(format!("no order {id}")))?;
    if o["orderPaymentStatus"] == "PENDING" {
        o["orderPaymentStatus"] = json!("PAID");
        if let Some(ps) = o["paymentSummary"]["payments"].as_array_mut() {
            for p in ps {
                p["paymentStatus"] = json!("PAID");
                p["paymentDate"] = json!(ts(now));
                if let Some(m) = p.as_object_mut() {
                    m.remove("paymentHolds");
                }
            }
        }
    } else {
        o["cancelStatus"] = json!({
            "cancelState": "IN_PROGRESS",
            "cancelRequests": [{
                "cancelRequestId": format!("{}", 5_100_000_000i64 + now % 1_000_000),
                "cancelInitiator": "BUYER",
                "cancelReason": "BUYER_ASKED_CANCEL",
                "cancelRequestedDate": ts(now),
                "cancelRequestState": "REQUESTED"
            }]
        });
    }
    o["lastModifiedDate"] = json!(ts(now));
    Ok(id)
}
