//! Sell Inventory: inventory items, item groups, offers, bulk price and quantity, and
//! inventory locations (see the module docs of `sandbox`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cartgate_connector::sandbox::SimulateError;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::data::{market, Db, WAREHOUSE};
use super::{err_doc, error_response, invalid_body, json_ok, no_content, Call, Op, Sandbox, S};

const MAX_LIMIT: usize = 200;
const ITEMS_DEFAULT_LIMIT: usize = 25;
const OFFERS_DEFAULT_LIMIT: usize = 100;
const LOCATIONS_DEFAULT_LIMIT: usize = 100;
/// bulkUpdatePriceQuantity's most requests per call.
pub const MAX_BULK: usize = 25;
const MAX_SKU_LEN: usize = 50;

const WEIGHT_UNITS: [&str; 4] = ["POUND", "KILOGRAM", "OUNCE", "GRAM"];
const DIMENSION_UNITS: [&str; 4] = ["INCH", "FEET", "CENTIMETER", "METER"];

/// The fields each request body may carry (the contract's schemas); others are refused the
/// way eBay's deserializer refuses them (2004).
const ITEM_FIELDS: [&str; 6] = [
    "availability",
    "condition",
    "conditionDescription",
    "conditionDescriptors",
    "packageWeightAndSize",
    "product",
];
const PRODUCT_FIELDS: [&str; 12] = [
    "aspects",
    "brand",
    "description",
    "ean",
    "epid",
    "imageUrls",
    "isbn",
    "mpn",
    "subtitle",
    "title",
    "upc",
    "videoIds",
];
const PACKAGE_FIELDS: [&str; 4] = ["dimensions", "packageType", "shippingIrregular", "weight"];
const AVAILABILITY_FIELDS: [&str; 2] =
    ["pickupAtLocationAvailability", "shipToLocationAvailability"];
const SHIP_TO_FIELDS: [&str; 2] = ["availabilityDistributions", "quantity"];
const DISTRIBUTION_FIELDS: [&str; 3] = ["fulfillmentTime", "merchantLocationKey", "quantity"];
const GROUP_FIELDS: [&str; 9] = [
    "aspects",
    "description",
    "imageUrls",
    "inventoryItemGroupKey",
    "subtitle",
    "title",
    "variantSKUs",
    "variesBy",
    "videoIds",
];
/// EbayOfferDetailsWithKeys (createOffer); updateOffer takes the same less the keys.
const OFFER_FIELDS: [&str; 21] = [
    "availableQuantity",
    "categoryId",
    "charity",
    "extendedProducerResponsibility",
    "format",
    "hideBuyerDetails",
    "includeCatalogProductDetails",
    "listingDescription",
    "listingDuration",
    "listingPolicies",
    "listingStartDate",
    "lotSize",
    "marketplaceId",
    "merchantLocationKey",
    "pricingSummary",
    "quantityLimitPerBuyer",
    "regulatory",
    "secondaryCategoryId",
    "sku",
    "storeCategoryNames",
    "tax",
];
const OFFER_KEYS: [&str; 3] = ["sku", "marketplaceId", "format"];

fn inv_doc(id: u32, message: &str, params: &[(&str, &str)]) -> Value {
    err_doc(
        id,
        "API_INVENTORY",
        Some("Selling"),
        "REQUEST",
        message,
        None,
        params,
    )
}

fn inv_error(status: StatusCode, id: u32, message: &str, params: &[(&str, &str)]) -> Response {
    error_response(status, &[inv_doc(id, message, params)])
}

fn bad(id: u32, message: &str, params: &[(&str, &str)]) -> Response {
    inv_error(StatusCode::BAD_REQUEST, id, message, params)
}

fn invalid_value(field: &str) -> Response {
    bad(
        25709,
        &format!("Invalid value for {field}."),
        &[("fieldName", field)],
    )
}

fn not_found_entity() -> Response {
    inv_error(
        StatusCode::NOT_FOUND,
        25710,
        "We didn't find the resource/entity you are requesting. Please verify the request",
        &[],
    )
}

fn offer_not_available(id: &str) -> Response {
    inv_error(
        StatusCode::NOT_FOUND,
        25713,
        &format!("This Offer is not available : {id}."),
        &[("additionalInfo", id)],
    )
}

pub(crate) fn handle(s: &S, op: Op, call: &Call<'_>) -> Response {
    let r = match op {
        Op::GetItems => get_items(s, call),
        Op::GetItem => get_item(s, call),
        Op::PutItem => put_item(s, call),
        Op::DeleteItem => delete_item(s, call),
        Op::GetGroup => get_group(s, call),
        Op::PutGroup => put_group(s, call),
        Op::DeleteGroup => delete_group(s, call),
        Op::GetOffers => get_offers(s, call),
        Op::CreateOffer => create_offer(s, call),
        Op::GetOffer => get_offer(s, call),
        Op::PutOffer => put_offer(s, call),
        Op::DeleteOffer => delete_offer(s, call),
        Op::PublishOffer => publish_offer(s, call),
        Op::BulkPriceQuantity => bulk(s, call),
        Op::GetLocations => get_locations(s, call),
        Op::GetLocation => get_location(s, call),
        _ => Err(super::not_found_route()),
    };
    r.unwrap_or_else(|e| e)
}

/// `limit` and `offset` as integers in range, else 25706 (invalid pagination values).
fn paging(call: &Call<'_>, default_limit: usize) -> Result<(usize, usize), Response> {
    let invalid = |what: &str, v: &str| {
        bad(
            25706,
            &format!("You have provided invalid pagination values. {what} {v} is invalid."),
            &[("additionalInfo", &format!("{what}={v}"))],
        )
    };
    let limit = match call.q("limit") {
        None => default_limit,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(invalid("limit", v)),
        },
    };
    let offset = match call.q("offset") {
        None => 0,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| invalid("offset", v))?,
    };
    Ok((limit, offset))
}

fn url(s: &Sandbox, path: &str, extra: &[(&str, String)], limit: usize, offset: usize) -> String {
    let mut q: Vec<String> = extra
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect();
    q.push(format!("limit={limit}"));
    q.push(format!("offset={offset}"));
    format!("{}/sell/inventory/v1/{path}?{}", s.base_url, q.join("&"))
}

/// An inventory item as `getInventoryItem(s)` answer it.
fn present_item(db: &Db, sku: &str, item: &Value) -> Value {
    let mut out = Map::new();
    out.insert("sku".into(), json!(sku));
    out.insert(
        "locale".into(),
        item.get("locale")
            .cloned()
            .unwrap_or_else(|| json!("en_US")),
    );
    if let Some(m) = item.as_object() {
        for (k, v) in m {
            if k != "locale" {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    let groups = db.groups_of(sku);
    if !groups.is_empty() {
        out.insert("groupIds".into(), json!(groups));
        out.insert("inventoryItemGroupKeys".into(), json!(groups));
    }
    Value::Object(out)
}

fn get_items(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let (limit, page) = paging(call, ITEMS_DEFAULT_LIMIT)?;
    let db = s.db();
    let total = db.items.len();
    let pages = total.div_ceil(limit);
    let items: Vec<Value> = db
        .items
        .iter()
        .skip(page.saturating_mul(limit))
        .take(limit)
        .map(|(sku, it)| present_item(&db, sku, it))
        .collect();
    let mut body = json!({
        "href": url(s, "inventory_item", &[], limit, page),
        "limit": limit,
        "size": pages,
        "total": total,
        "inventoryItems": items,
    });
    if page + 1 < pages {
        body["next"] = json!(url(s, "inventory_item", &[], limit, page + 1));
    }
    if page > 0 {
        body["prev"] = json!(url(s, "inventory_item", &[], limit, page - 1));
    }
    Ok(json_ok(body))
}

fn get_item(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let sku = &call.seg[1];
    let db = s.db();
    let item = db.items.get(sku).ok_or_else(not_found_entity)?;
    Ok(json_ok(present_item(&db, sku, item)))
}

pub(crate) fn valid_sku(sku: &str) -> bool {
    !sku.is_empty()
        && sku.len() <= MAX_SKU_LEN
        && sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn check_sku(sku: &str) -> Result<(), Response> {
    if valid_sku(sku) {
        Ok(())
    } else {
        Err(bad(
            25707,
            "This is an invalid value for a SKU. Only alphanumeric characters can be used for SKUs, and their length must not exceed 50 characters.",
            &[("sku", sku)],
        ))
    }
}

/// `Content-Language` (e.g. `en-US`), required on the Inventory writes; answers the locale
/// (`en_US`).
fn content_language(call: &Call<'_>) -> Result<String, Response> {
    let v = call
        .headers
        .get("content-language")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    let ok = v.len() == 5
        && v.as_bytes()[2] == b'-'
        && v[..2].chars().all(|c| c.is_ascii_lowercase())
        && v[3..].chars().all(|c| c.is_ascii_uppercase());
    if ok {
        Ok(v.replace('-', "_"))
    } else {
        Err(invalid_value("header Content-Language"))
    }
}

/// Refuses fields the schema does not have, as eBay's deserializer does.
fn only(obj: &Value, allowed: &[&str], at: &str) -> Result<(), Response> {
    let Some(m) = obj.as_object() else {
        return Err(invalid_body(&format!("{at} must be a JSON object")));
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        let field = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        return Err(invalid_body(&format!(
            "Could not serialize field [{field}]"
        )));
    }
    Ok(())
}

fn is_number(v: &Value) -> bool {
    v.as_f64().is_some_and(|x| x >= 0.0)
}

fn check_item(db: &Db, body: &Value) -> Result<(), Response> {
    only(body, &ITEM_FIELDS, "")?;
    if let Some(p) = body.get("product") {
        only(p, &PRODUCT_FIELDS, "product")?;
        if let Some(a) = p.get("aspects") {
            let ok = a.as_object().is_some_and(|m| {
                m.values().all(|v| {
                    v.as_array()
                        .is_some_and(|vals| vals.iter().all(Value::is_string))
                })
            });
            if !ok {
                return Err(invalid_value("product.aspects"));
            }
        }
        for gtin in ["ean", "upc", "isbn", "imageUrls"] {
            if let Some(v) = p.get(gtin) {
                if !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
                    return Err(invalid_value(&format!("product.{gtin}")));
                }
            }
        }
    }
    if let Some(pkg) = body.get("packageWeightAndSize") {
        only(pkg, &PACKAGE_FIELDS, "packageWeightAndSize")?;
        let bad_pkg = || {
            bad(
                25715,
                "Invalid values for dimensions and/or weight of shipping package.",
                &[],
            )
        };
        if let Some(w) = pkg.get("weight") {
            only(w, &["unit", "value"], "packageWeightAndSize.weight")?;
            let unit_ok = w["unit"]
                .as_str()
                .is_some_and(|u| WEIGHT_UNITS.contains(&u));
            if !unit_ok || !is_number(&w["value"]) {
                return Err(bad_pkg());
            }
        }
        if let Some(d) = pkg.get("dimensions") {
            only(
                d,
                &["height", "length", "unit", "width"],
                "packageWeightAndSize.dimensions",
            )?;
            let unit_ok = d["unit"]
                .as_str()
                .is_some_and(|u| DIMENSION_UNITS.contains(&u));
            if !unit_ok
                || !["height", "length", "width"]
                    .iter()
                    .all(|k| is_number(&d[*k]))
            {
                return Err(bad_pkg());
            }
        }
    }
    if let Some(a) = body.get("availability") {
        only(a, &AVAILABILITY_FIELDS, "availability")?;
        if let Some(st) = a.get("shipToLocationAvailability") {
            check_ship_to(db, st)?;
        }
    }
    Ok(())
}

fn check_ship_to(db: &Db, st: &Value) -> Result<(), Response> {
    only(
        st,
        &SHIP_TO_FIELDS,
        "availability.shipToLocationAvailability",
    )?;
    if let Some(q) = st.get("quantity") {
        if !q
            .as_i64()
            .is_some_and(|q| (0..=i64::from(i32::MAX)).contains(&q))
        {
            return Err(invalid_value("shipToLocationAvailability.quantity"));
        }
    }
    if let Some(d) = st.get("availabilityDistributions") {
        let Some(list) = d.as_array() else {
            return Err(invalid_value("availabilityDistributions"));
        };
        for x in list {
            only(x, &DISTRIBUTION_FIELDS, "availabilityDistributions")?;
            let key = x["merchantLocationKey"].as_str().unwrap_or("");
            if !db.locations.contains_key(key) {
                return Err(bad(
                    25709,
                    "Invalid value for merchantLocationKey.",
                    &[("fieldName", "merchantLocationKey"), ("value", key)],
                ));
            }
            if x["quantity"].as_i64().is_none_or(|q| q < 0) {
                return Err(invalid_value("availabilityDistributions.quantity"));
            }
        }
    }
    Ok(())
}

/// The total ship-to-home quantity of an item.
fn item_quantity(item: &Value) -> Option<u64> {
    item["availability"]["shipToLocationAvailability"]["quantity"].as_u64()
}

fn put_item(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let sku = call.seg[1].clone();
    check_sku(&sku)?;
    let locale = content_language(call)?;
    let body = call.json()?;
    let mut db = s.db();
    check_item(&db, &body)?;
    let mut item = body;
    item["locale"] = json!(locale);
    // A published listing's quantity follows the item's.
    if let Some(q) = item_quantity(&item) {
        for o in db.offers.values_mut().filter(|o| o["sku"] == sku.as_str()) {
            o["availableQuantity"] = json!(q);
        }
    }
    db.items.insert(sku, item);
    db.tick();
    Ok(no_content())
}

fn delete_item(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let sku = &call.seg[1];
    let mut db = s.db();
    if db.items.remove(sku).is_none() {
        return Err(not_found_entity());
    }
    db.offers.retain(|_, o| o["sku"] != sku.as_str());
    db.tick();
    Ok(no_content())
}

fn group_not_found(key: &str) -> Response {
    inv_error(
        StatusCode::NOT_FOUND,
        25705,
        &format!("The Inventory Item Group named {key} could not be found or is not available in the system."),
        &[("inventoryItemGroupKey", key)],
    )
}

fn get_group(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let key = &call.seg[1];
    let db = s.db();
    db.groups
        .get(key)
        .map(|g| json_ok(g.clone()))
        .ok_or_else(|| group_not_found(key))
}

fn put_group(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let key = call.seg[1].clone();
    content_language(call)?;
    let body = call.json()?;
    only(&body, &GROUP_FIELDS, "")?;
    let mut db = s.db();
    let Some(skus) = body["variantSKUs"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .map(|x| x.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
        })
        .filter(|v| !v.is_empty())
    else {
        return Err(invalid_value("variantSKUs"));
    };
    if let Some(missing) = skus.iter().find(|s| !db.items.contains_key(*s)) {
        return Err(bad(
            25702,
            &format!("{missing} could not be found or is not available in the system."),
            &[("skuValue", missing)],
        ));
    }
    if !body["variesBy"]["specifications"].is_array() {
        return Err(invalid_value("variesBy"));
    }
    let mut group = body;
    group["inventoryItemGroupKey"] = json!(key);
    db.groups.insert(key, group);
    db.tick();
    Ok(no_content())
}

fn delete_group(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let key = &call.seg[1];
    let mut db = s.db();
    if db.groups.remove(key).is_none() {
        return Err(group_not_found(key));
    }
    db.tick();
    Ok(no_content())
}

fn get_offers(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let Some(sku) = call.q("sku").filter(|v| !v.is_empty()) else {
        return Err(bad(
            25709,
            "Invalid value for sku. This is an invalid value for a SKU.",
            &[("fieldName", "sku")],
        ));
    };
    check_sku(sku)?;
    let (limit, page) = paging(call, OFFERS_DEFAULT_LIMIT)?;
    let db = s.db();
    let all: Vec<&Value> = db
        .offers_of(sku)
        .into_iter()
        .filter(|o| {
            call.q("marketplace_id")
                .is_none_or(|m| o["marketplaceId"] == m)
        })
        .filter(|o| call.q("format").is_none_or(|f| o["format"] == f))
        .collect();
    if all.is_empty() {
        return Err(offer_not_available(sku));
    }
    let offers: Vec<Value> = all
        .iter()
        .skip(page.saturating_mul(limit))
        .take(limit)
        .map(|o| (*o).clone())
        .collect();
    let extra = [("sku", sku.to_owned())];
    let pages = all.len().div_ceil(limit);
    let mut body = json!({
        "href": url(s, "offer", &extra, limit, page),
        "limit": limit,
        "size": offers.len(),
        "total": all.len(),
        "offers": offers,
    });
    if page + 1 < pages {
        body["next"] = json!(url(s, "offer", &extra, limit, page + 1));
    }
    if page > 0 {
        body["prev"] = json!(url(s, "offer", &extra, limit, page - 1));
    }
    Ok(json_ok(body))
}

/// Checks an offer body's values shared by create and update.
fn check_offer(db: &Db, body: &Value, marketplace: &str) -> Result<(), Response> {
    if let Some(q) = body.get("availableQuantity") {
        if q.as_i64().is_none_or(|q| q < 0) {
            return Err(invalid_value("availableQuantity"));
        }
    }
    if let Some(p) = body.get("pricingSummary") {
        if let Some(price) = p.get("price") {
            check_price(price, marketplace)?;
        }
    }
    if let Some(k) = body.get("merchantLocationKey") {
        if !k.as_str().is_some_and(|k| db.locations.contains_key(k)) {
            return Err(bad(
                25709,
                "Invalid value for merchantLocationKey.",
                &[("fieldName", "merchantLocationKey")],
            ));
        }
    }
    Ok(())
}

fn check_price(price: &Value, marketplace: &str) -> Result<(), Response> {
    let value = price["value"]
        .as_str()
        .and_then(|v| v.parse::<Decimal>().ok())
        .filter(|v| *v > Decimal::ZERO && v.scale() <= 2);
    let currency_ok = market(marketplace).is_none_or(|m| price["currency"] == m.currency);
    if value.is_none() || !currency_ok {
        return Err(bad(
            25709,
            "Invalid value for price.",
            &[("fieldName", "pricingSummary.price")],
        ));
    }
    Ok(())
}

fn create_offer(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    content_language(call)?;
    let body = call.json()?;
    only(&body, &OFFER_FIELDS, "")?;
    let mut db = s.db();
    let sku = body["sku"].as_str().unwrap_or("").to_owned();
    check_sku(&sku)?;
    if !db.items.contains_key(&sku) {
        return Err(bad(
            25702,
            &format!("{sku} could not be found or is not available in the system."),
            &[("skuValue", &sku)],
        ));
    }
    let marketplace = body["marketplaceId"].as_str().unwrap_or("").to_owned();
    if market(&marketplace).is_none() {
        return Err(invalid_value("marketplaceId"));
    }
    let format = body["format"].as_str().unwrap_or("").to_owned();
    if format != "FIXED_PRICE" && format != "AUCTION" {
        return Err(invalid_value("format"));
    }
    check_offer(&db, &body, &marketplace)?;
    if let Some(existing) = db.offers.values().find(|o| {
        o["sku"] == sku.as_str()
            && o["marketplaceId"] == marketplace.as_str()
            && o["format"] == format.as_str()
    }) {
        let id = existing["offerId"].as_str().unwrap_or("").to_owned();
        return Err(bad(
            25002,
            "A user error has occurred. Offer entity already exists.",
            &[("offerId", &id)],
        ));
    }
    let id = db.new_offer_id();
    let mut offer = body;
    offer["offerId"] = json!(id);
    offer["status"] = json!("UNPUBLISHED");
    if offer.get("listingDuration").is_none() && format == "FIXED_PRICE" {
        offer["listingDuration"] = json!("GTC");
    }
    db.offers.insert(id.clone(), offer);
    db.tick();
    Ok((
        StatusCode::CREATED,
        Json(json!({"offerId": id, "warnings": []})),
    )
        .into_response())
}

fn get_offer(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let id = &call.seg[1];
    let db = s.db();
    db.offers
        .get(id)
        .map(|o| json_ok(o.clone()))
        .ok_or_else(|| offer_not_available(id))
}

fn put_offer(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let id = call.seg[1].clone();
    content_language(call)?;
    let body = call.json()?;
    let update_fields: Vec<&str> = OFFER_FIELDS
        .iter()
        .copied()
        .filter(|f| !OFFER_KEYS.contains(f))
        .collect();
    only(&body, &update_fields, "")?;
    let mut db = s.db();
    let old = db
        .offers
        .get(&id)
        .cloned()
        .ok_or_else(|| offer_not_available(&id))?;
    let marketplace = old["marketplaceId"].as_str().unwrap_or("").to_owned();
    check_offer(&db, &body, &marketplace)?;
    // updateOffer replaces the offer; the keys, status and listing stay.
    let mut offer = body;
    for k in [
        "offerId",
        "sku",
        "marketplaceId",
        "format",
        "status",
        "listing",
    ] {
        if let Some(v) = old.get(k) {
            offer[k] = v.clone();
        }
    }
    db.offers.insert(id, offer);
    db.tick();
    Ok(no_content())
}

fn delete_offer(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let id = &call.seg[1];
    let mut db = s.db();
    if db.offers.remove(id).is_none() {
        return Err(offer_not_available(id));
    }
    db.tick();
    Ok(no_content())
}

fn publish_offer(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let id = call.seg[1].clone();
    let mut db = s.db();
    let offer = db
        .offers
        .get(&id)
        .cloned()
        .ok_or_else(|| offer_not_available(&id))?;
    let sku = offer["sku"].as_str().unwrap_or("").to_owned();
    let item = db.items.get(&sku).cloned().unwrap_or(Value::Null);
    let fail = |code: u32, message: &str| Err(bad(code, message, &[("offerId", &id)]));
    if offer["pricingSummary"]["price"]["value"].as_str().is_none() {
        return fail(25003, "The eBay listing associated with the inventory item, or the unpublished offer has an invalid price. No price is set.");
    }
    let qty = offer["availableQuantity"]
        .as_u64()
        .or_else(|| item_quantity(&item))
        .unwrap_or(0);
    if qty == 0 {
        return fail(25004, "The eBay listing associated with the inventory item, or the unpublished offer has an invalid quantity. The quantity must be greater than 0.");
    }
    if offer["categoryId"].as_str().is_none_or(str::is_empty) {
        return fail(25005, "The eBay listing associated with the inventory item, or the unpublished offer has an invalid category ID.");
    }
    let policies = &offer["listingPolicies"];
    for (field, code) in [
        ("fulfillmentPolicyId", 25007),
        ("paymentPolicyId", 25008),
        ("returnPolicyId", 25009),
    ] {
        if policies[field].as_str().is_none_or(str::is_empty) {
            return fail(code, &format!("The eBay listing associated with the inventory item, or the unpublished offer has invalid data in the associated policy: {field} is missing."));
        }
    }
    if offer["merchantLocationKey"]
        .as_str()
        .is_none_or(|k| !db.locations.contains_key(k))
    {
        return fail(25012, "Invalid inventory location. The offer has no merchantLocationKey of an enabled location.");
    }
    if item["product"]["title"].as_str().is_none_or(str::is_empty) {
        return fail(
            25016,
            "The title value is invalid. The inventory item has no product title.",
        );
    }
    let listing_id = match offer["listing"]["listingId"].as_str() {
        Some(l) => l.to_owned(),
        None => db.new_listing_id(),
    };
    if let Some(o) = db.offers.get_mut(&id) {
        o["status"] = json!("PUBLISHED");
        o["listing"] = json!({
            "listingId": listing_id,
            "listingStatus": "ACTIVE",
            "soldQuantity": o["listing"]["soldQuantity"].as_u64().unwrap_or(0),
            "listingOnHold": false
        });
    }
    db.tick();
    Ok(json_ok(json!({"listingId": listing_id, "warnings": []})))
}

fn bulk(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let body = call.json()?;
    only(&body, &["requests"], "")?;
    let Some(requests) = body["requests"].as_array() else {
        return Err(invalid_value("requests"));
    };
    if requests.is_empty() || requests.len() > MAX_BULK {
        return Err(bad(
            25709,
            &format!("Invalid value for requests. Between 1 and {MAX_BULK} requests are allowed per call."),
            &[("fieldName", "requests")],
        ));
    }
    let mut db = s.db();
    let mut responses = Vec::new();
    for r in requests {
        only(
            r,
            &["offers", "shipToLocationAvailability", "sku"],
            "requests",
        )?;
        let sku = r["sku"].as_str().unwrap_or("").to_owned();
        let failed = |status: u16, e: Value, offer: Option<&str>| {
            let mut x = json!({"statusCode": status, "sku": sku, "errors": [e]});
            if let Some(o) = offer {
                x["offerId"] = json!(o);
            }
            x
        };
        if let Some(st) = r.get("shipToLocationAvailability") {
            if !db.items.contains_key(&sku) {
                responses.push(failed(
                    404,
                    inv_doc(
                        25702,
                        &format!("{sku} could not be found or is not available in the system."),
                        &[("skuValue", &sku)],
                    ),
                    None,
                ));
            } else if let Err(e) = check_ship_to(&db, st) {
                let _ = e;
                responses.push(failed(
                    400,
                    inv_doc(
                        25709,
                        "Invalid value for shipToLocationAvailability.",
                        &[("fieldName", "shipToLocationAvailability")],
                    ),
                    None,
                ));
            } else {
                let item = db
                    .items
                    .get_mut(&sku)
                    .map(|i| &mut i["availability"]["shipToLocationAvailability"]);
                if let Some(target) = item {
                    if !target.is_object() {
                        *target = json!({});
                    }
                    if let Some(q) = st.get("quantity") {
                        target["quantity"] = q.clone();
                    }
                    if let Some(d) = st.get("availabilityDistributions") {
                        target["availabilityDistributions"] = d.clone();
                        if st.get("quantity").is_none() {
                            let sum: i64 = d
                                .as_array()
                                .map(|l| l.iter().filter_map(|x| x["quantity"].as_i64()).sum())
                                .unwrap_or(0);
                            target["quantity"] = json!(sum);
                        }
                    }
                }
                responses.push(json!({"statusCode": 200, "sku": sku, "warnings": []}));
            }
        }
        if let Some(offers) = r.get("offers") {
            let Some(offers) = offers.as_array() else {
                return Err(invalid_value("offers"));
            };
            for o in offers {
                only(
                    o,
                    &["availableQuantity", "offerId", "price"],
                    "requests.offers",
                )?;
                let oid = o["offerId"].as_str().unwrap_or("").to_owned();
                let Some(existing) = db
                    .offers
                    .get(&oid)
                    .filter(|x| sku.is_empty() || x["sku"] == sku.as_str())
                    .cloned()
                else {
                    responses.push(failed(
                        404,
                        inv_doc(
                            25713,
                            &format!("This Offer is not available : {oid}."),
                            &[("offerId", &oid)],
                        ),
                        Some(&oid),
                    ));
                    continue;
                };
                let marketplace = existing["marketplaceId"].as_str().unwrap_or("").to_owned();
                if let Some(p) = o.get("price") {
                    if check_price(p, &marketplace).is_err() {
                        responses.push(failed(
                            400,
                            inv_doc(25709, "Invalid value for price.", &[("fieldName", "price")]),
                            Some(&oid),
                        ));
                        continue;
                    }
                }
                if let Some(q) = o.get("availableQuantity") {
                    if q.as_i64().is_none_or(|q| q < 0) {
                        responses.push(failed(
                            400,
                            inv_doc(
                                25709,
                                "Invalid value for availableQuantity.",
                                &[("fieldName", "availableQuantity")],
                            ),
                            Some(&oid),
                        ));
                        continue;
                    }
                }
                if let Some(target) = db.offers.get_mut(&oid) {
                    if let Some(p) = o.get("price") {
                        target["pricingSummary"]["price"] = p.clone();
                    }
                    if let Some(q) = o.get("availableQuantity") {
                        target["availableQuantity"] = q.clone();
                    }
                }
                let offer_sku = existing["sku"].as_str().unwrap_or("").to_owned();
                responses.push(
                    json!({"statusCode": 200, "offerId": oid, "sku": offer_sku, "warnings": []}),
                );
            }
        }
        if r.get("shipToLocationAvailability").is_none() && r.get("offers").is_none() {
            responses.push(failed(
                400,
                inv_doc(25709, "Invalid value for requests. Each request needs offers or shipToLocationAvailability.", &[("fieldName", "requests")]),
                None,
            ));
        }
    }
    db.tick();
    let all_ok = responses.iter().all(|r| r["statusCode"] == 200);
    let status = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok((status, Json(json!({"responses": responses}))).into_response())
}

fn get_locations(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let (limit, offset) = paging(call, LOCATIONS_DEFAULT_LIMIT)?;
    let db = s.db();
    let total = db.locations.len();
    let locations: Vec<Value> = db
        .locations
        .values()
        .skip(offset)
        .take(limit)
        .cloned()
        .collect();
    let mut body = json!({
        "href": url(s, "location", &[], limit, offset),
        "limit": limit,
        "offset": offset,
        "total": total,
        "locations": locations,
    });
    if offset + limit < total {
        body["next"] = json!(url(s, "location", &[], limit, offset + limit));
    }
    if offset > 0 {
        body["prev"] = json!(url(s, "location", &[], limit, offset.saturating_sub(limit)));
    }
    Ok(json_ok(body))
}

fn get_location(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let key = &call.seg[1];
    let db = s.db();
    db.locations
        .get(key)
        .map(|l| json_ok(l.clone()))
        .ok_or_else(|| {
            inv_error(
                StatusCode::NOT_FOUND,
                25805,
                "merchantLocationKey Not Found.",
                &[("fieldName", "merchantLocationKey")],
            )
        })
}

// ---------------------------------------------------------------------------------------
// Simulated changes
// ---------------------------------------------------------------------------------------

/// `product.created`: a new inventory item, without offer, stocked at the warehouse.
pub(crate) fn simulate_created(s: &Sandbox) -> String {
    let mut db = s.db();
    db.next_item += 1;
    let sku = format!("CG9{:03}", db.next_item);
    let title = format!("New Arrival No. {} – Édition limitée", db.next_item);
    db.items.insert(
        sku.clone(),
        json!({
            "product": {
                "title": title,
                "description": "<p>Just in.</p>",
                "aspects": {"Brand": ["Cartgate"]},
                "brand": "Cartgate",
                "mpn": sku,
                "imageUrls": [format!("https://i.ebayimg.example/images/g/{sku}/s-l1600.jpg")]
            },
            "condition": "NEW",
            "availability": {"shipToLocationAvailability": {"quantity": 5,
                "availabilityDistributions": [{"merchantLocationKey": WAREHOUSE, "quantity": 5}]}},
            "packageWeightAndSize": {"weight": {"unit": "POUND", "value": 1}}
        }),
    );
    db.tick();
    sku
}

fn pick_id(db: &Db, id: Option<&str>) -> Result<String, SimulateError> {
    match id {
        Some(id) if db.items.contains_key(id) || db.groups.contains_key(id) => Ok(id.to_owned()),
        Some(id) => Err(SimulateError::NotFound(format!(
            "no inventory item or group {id}"
        ))),
        None => db
            .items
            .keys()
            .next_back()
            .cloned()
            .ok_or_else(|| SimulateError::Nothing("the shop has no inventory item".into())),
    }
}

/// `product.updated`: renames an item (by SKU) or a group (by key).
pub(crate) fn simulate_updated(s: &Sandbox, id: Option<&str>) -> Result<String, SimulateError> {
    let mut db = s.db();
    let id = pick_id(&db, id)?;
    let n = db.tick();
    if let Some(g) = db.groups.get_mut(&id) {
        let t = g["title"].as_str().unwrap_or("").to_owned();
        g["title"] = json!(format!("{} (rev. {})", base_title(&t), n % 1000));
    } else if let Some(i) = db.items.get_mut(&id) {
        let t = i["product"]["title"].as_str().unwrap_or("").to_owned();
        i["product"]["title"] = json!(format!("{} (rev. {})", base_title(&t), n % 1000));
    }
    Ok(id)
}

fn base_title(t: &str) -> &str {
    t.split(" (rev. ").next().unwrap_or(t)
}

/// `product.deleted`: deletes an item and its offers (or a group and its variations).
pub(crate) fn simulate_deleted(s: &Sandbox, id: Option<&str>) -> Result<String, SimulateError> {
    let mut db = s.db();
    let id = pick_id(&db, id)?;
    let skus: Vec<String> = match db.groups.remove(&id) {
        Some(g) => g["variantSKUs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        None => vec![id.clone()],
    };
    for sku in &skus {
        db.items.remove(sku);
        db.offers.retain(|_, o| o["sku"] != sku.as_str());
    }
    for g in db.groups.values_mut() {
        if let Some(v) = g["variantSKUs"].as_array_mut() {
            v.retain(|x| !skus.iter().any(|s| x == s));
        }
    }
    db.tick();
    Ok(id)
}
