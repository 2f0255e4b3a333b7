//! Listings Items API 2021-08-01 (`searchListingsItems`, `getListingsItem`,
//! `patchListingsItem`, `putListingsItem`, `deleteListingsItem`), FBA Inventory
//! `getInventorySummaries` and Sellers `getMarketplaceParticipations`.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use base64::Engine as _;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::data::{
    iso, marketplace, marketplaces, new_asin, parse_time, participating, Db, FbaStock, Listing,
    MFN_CHANNEL,
};
use super::{sp_error, sp_json, Query, Reply};

/// The `includedData` of the read operations.
pub const READ_DATASETS: [&str; 8] = [
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
];

/// Largest `pageSize` of searchListingsItems, and how far its pages reach.
const MAX_PAGE: usize = 20;
const DEFAULT_PAGE: usize = 10;
const MAX_RESULTS: usize = 1000;

/// Attributes the sandbox's product types know (anything else is "invalid", as Amazon
/// answers for an attribute its product type does not define).
const KNOWN_ATTRIBUTES: &[&str] = &[
    "item_name",
    "brand",
    "bullet_point",
    "product_description",
    "generic_keyword",
    "condition_type",
    "condition_note",
    "item_weight",
    "item_dimensions",
    "item_package_weight",
    "item_package_dimensions",
    "externally_assigned_product_identifier",
    "supplier_declared_has_product_identifier_exemption",
    "merchant_suggested_asin",
    "purchasable_offer",
    "list_price",
    "fulfillment_availability",
    "main_product_image_locator",
    "other_product_image_locator_1",
    "variation_theme",
    "parentage_level",
    "child_parent_sku_relationship",
    "color",
    "size",
    "material",
    "model_name",
    "model_number",
    "manufacturer",
    "country_of_origin",
    "batteries_required",
    "item_type_keyword",
    "target_audience_keyword",
    "number_of_items",
    "unit_count",
];

/// Attributes that apply to the whole listing, not to one marketplace.
fn untagged(name: &str) -> bool {
    matches!(name, "fulfillment_availability" | "variation_theme")
}

fn bad_request(message: &str) -> Reply {
    sp_error(StatusCode::BAD_REQUEST, "InvalidInput", message, "")
}

fn unparsable() -> Reply {
    bad_request("Request has missing or invalid parameters and cannot be parsed.")
}

fn check_seller(db: &Db, seller: &str) -> Result<(), Reply> {
    if seller == db.seller_id {
        Ok(())
    } else {
        Err(sp_error(
            StatusCode::FORBIDDEN,
            "Unauthorized",
            "Access to requested resource is denied.",
            "",
        ))
    }
}

/// `marketplaceIds` (required), each a participating marketplace.
fn marketplace_ids(q: &Query) -> Result<Vec<String>, Reply> {
    let ids = q.list("marketplaceIds");
    if ids.is_empty() {
        return Err(bad_request("Missing required parameter marketplaceIds"));
    }
    if let Some(bad) = ids.iter().find(|m| !participating(m)) {
        return Err(sp_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "Invalid input",
            &format!("Invalid marketplaceId: {bad}"),
        ));
    }
    Ok(ids)
}

fn read_datasets(q: &Query) -> Result<Vec<String>, Reply> {
    let mut sets = q.list("includedData");
    if let Some(bad) = sets.iter().find(|d| !READ_DATASETS.contains(&d.as_str())) {
        return Err(bad_request(&format!(
            "{bad} is not a valid value for includedData"
        )));
    }
    if sets.is_empty() {
        sets.push("summaries".into());
    }
    Ok(sets)
}

/// Buyable where it has an offer and stock in some channel.
fn statuses(db: &Db, l: &Listing, m: &str) -> Vec<&'static str> {
    if l.is_parent() {
        return vec!["DISCOVERABLE"];
    }
    let stock = l.mfn_quantity().unwrap_or(0) > 0
        || (l.is_afn() && db.fba.get(&l.sku).is_some_and(|s| s.fulfillable > 0));
    if l.price(m, "ALL").is_some() && stock {
        vec!["BUYABLE", "DISCOVERABLE"]
    } else {
        vec!["DISCOVERABLE"]
    }
}

/// The listing as the read operations render it for `mps` and `sets`.
pub fn render(db: &Db, l: &Listing, mps: &[String], sets: &[String]) -> Value {
    let ms: Vec<&String> = mps.iter().filter(|m| l.marketplaces.contains(m)).collect();
    let mut item = json!({ "sku": l.sku });
    let has = |s: &str| sets.iter().any(|x| x == s);
    if has("summaries") {
        item["summaries"] = Value::Array(
            ms.iter()
                .map(|m| {
                    let mut s = json!({
                        "marketplaceId": m,
                        "asin": l.asin,
                        "productType": l.product_type,
                        "conditionType": "new_new",
                        "status": statuses(db, l, m),
                        "itemName": l.item_name(m),
                        "createdDate": iso(l.created),
                        "lastUpdatedDate": iso(l.updated),
                    });
                    if let Some(f) = &l.fn_sku {
                        s["fnSku"] = json!(f);
                    }
                    if let Some(link) = l
                        .attr_in("main_product_image_locator", m)
                        .first()
                        .and_then(|v| v.get("media_location"))
                    {
                        s["mainImage"] = json!({"link": link, "height": 1000, "width": 1000});
                    }
                    s
                })
                .collect(),
        );
    }
    if has("attributes") {
        let mut attrs = Map::new();
        for (name, vals) in &l.attributes {
            let kept: Vec<Value> = vals
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|v| {
                            v.get("marketplace_id")
                                .and_then(Value::as_str)
                                .is_none_or(|m| ms.iter().any(|x| *x == m))
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if !kept.is_empty() {
                attrs.insert(name.clone(), Value::Array(kept));
            }
        }
        item["attributes"] = Value::Object(attrs);
    }
    if has("issues") {
        item["issues"] = Value::Array(
            l.issues
                .iter()
                .filter(|i| {
                    i.get("marketplaceIds")
                        .and_then(Value::as_array)
                        .is_none_or(|ids| ids.iter().any(|id| ms.iter().any(|m| id == m.as_str())))
                })
                .cloned()
                .collect(),
        );
    }
    if has("offers") {
        let mut offers = Vec::new();
        for m in &ms {
            for audience in ["ALL", "B2B"] {
                if let Some((price, currency)) = l.price(m, audience) {
                    offers.push(json!({
                        "marketplaceId": m,
                        "offerType": if audience == "B2B" { "B2B" } else { "B2C" },
                        "price": {"currencyCode": currency, "amount": super::data::amount(price)},
                        "audience": if audience == "B2B" {
                            json!({"value": "B2B", "displayName": "Amazon Business"})
                        } else {
                            json!({"value": "ALL", "displayName": "Sell on Amazon"})
                        },
                    }));
                }
            }
        }
        item["offers"] = Value::Array(offers);
    }
    if has("fulfillmentAvailability") {
        item["fulfillmentAvailability"] = Value::Array(
            l.channels()
                .into_iter()
                .map(|(code, q)| match q {
                    Some(q) if code == MFN_CHANNEL => {
                        json!({"fulfillmentChannelCode": code, "quantity": q})
                    }
                    _ => json!({"fulfillmentChannelCode": code}),
                })
                .collect(),
        );
    }
    if has("relationships") {
        item["relationships"] = Value::Array(
            ms.iter()
                .map(|m| {
                    let theme = l
                        .theme
                        .as_ref()
                        .map(|(a, t)| json!({"attributes": a, "theme": t}));
                    let mut rels = Vec::new();
                    if !l.children.is_empty() {
                        let mut r = json!({"type": "VARIATION", "childSkus": l.children});
                        if let Some(t) = &theme {
                            r["variationTheme"] = t.clone();
                        }
                        rels.push(r);
                    }
                    if let Some(p) = &l.parent {
                        let mut r = json!({"type": "VARIATION", "parentSkus": [p]});
                        if let Some(t) = &theme {
                            r["variationTheme"] = t.clone();
                        }
                        rels.push(r);
                    }
                    json!({"marketplaceId": m, "relationships": rels})
                })
                .collect(),
        );
    }
    if has("productTypes") {
        item["productTypes"] = Value::Array(
            ms.iter()
                .map(|m| json!({"marketplaceId": m, "productType": l.product_type}))
                .collect(),
        );
    }
    if has("procurement") {
        // Vendor-only data: a seller's listings have none.
        item["procurement"] = json!([]);
    }
    item
}

fn not_found(sku: &str) -> Reply {
    sp_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        &format!("SKU '{sku}' not found in marketplace"),
        "",
    )
}

/// `GET /listings/2021-08-01/items/{sellerId}/{sku}`.
pub fn get_item(db: &Db, seller: &str, sku: &str, q: &Query) -> Reply {
    if let Err(r) = check_seller(db, seller) {
        return r;
    }
    let (mps, sets) = match (marketplace_ids(q), read_datasets(q)) {
        (Ok(m), Ok(s)) => (m, s),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    match db.listings.get(sku) {
        Some(l) if mps.iter().any(|m| l.marketplaces.contains(m)) => {
            sp_json(StatusCode::OK, render(db, l, &mps, &sets))
        }
        _ => not_found(sku),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PageToken {
    o: usize,
    f: String,
}

fn token(offset: usize, fingerprint: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&PageToken {
            o: offset,
            f: fingerprint.to_owned(),
        })
        .unwrap_or_default(),
    )
}

fn fingerprint(q: &Query, skip: &[&str]) -> String {
    let mut fp: Vec<String> = q
        .pairs
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    fp.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in fp.join("&").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn identifier_matches(db: &Db, l: &Listing, kind: &str, id: &str) -> bool {
    match kind {
        "SKU" => l.sku == id,
        "ASIN" => l.asin == id,
        "FNSKU" => l.fn_sku.as_deref() == Some(id),
        _ => {
            let want = kind.to_ascii_lowercase();
            let _ = db;
            l.attributes
                .get("externally_assigned_product_identifier")
                .and_then(Value::as_array)
                .is_some_and(|vals| {
                    vals.iter().any(|v| {
                        v["value"].as_str() == Some(id)
                            && (want == "gtin" || v["type"].as_str() == Some(want.as_str()))
                    })
                })
        }
    }
}

/// `GET /listings/2021-08-01/items/{sellerId}`.
pub fn search_items(db: &Db, seller: &str, q: &Query) -> Reply {
    if let Err(r) = check_seller(db, seller) {
        return r;
    }
    let (mps, sets) = match (marketplace_ids(q), read_datasets(q)) {
        (Ok(m), Ok(s)) => (m, s),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let identifiers = q.list("identifiers");
    let kind = q.one("identifiersType");
    let parent = q.one("variationParentSku");
    let hierarchy = q.one("packageHierarchySku");
    if identifiers.len() > 20 {
        return bad_request("identifiers accepts at most 20 values");
    }
    match (identifiers.is_empty(), kind) {
        (false, None) => {
            return bad_request("identifiersType is required when identifiers is provided")
        }
        (true, Some(_)) => {
            return bad_request("identifiers is required when identifiersType is provided")
        }
        _ => {}
    }
    if let Some(k) = kind {
        if ![
            "ASIN", "EAN", "FNSKU", "GTIN", "ISBN", "JAN", "MINSAN", "SKU", "UPC",
        ]
        .contains(&k)
        {
            return bad_request(&format!("{k} is not a valid value for identifiersType"));
        }
    }
    if [
        !identifiers.is_empty(),
        parent.is_some(),
        hierarchy.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count()
        > 1
    {
        return bad_request(
            "Only one of identifiers, variationParentSku and packageHierarchySku may be provided",
        );
    }
    let mut times = [None; 4];
    for (n, name) in [
        "createdAfter",
        "createdBefore",
        "lastUpdatedAfter",
        "lastUpdatedBefore",
    ]
    .iter()
    .enumerate()
    {
        if let Some(v) = q.one(name) {
            match parse_time(v) {
                Some(t) => times[n] = Some(t),
                None => return bad_request(&format!("{name} must be an ISO 8601 date-time")),
            }
        }
    }
    let severities = q.list("withIssueSeverity");
    let with_status = q.list("withStatus");
    let without_status = q.list("withoutStatus");
    for s in with_status.iter().chain(&without_status) {
        if s != "BUYABLE" && s != "DISCOVERABLE" {
            return bad_request(&format!("{s} is not a valid listing status"));
        }
    }
    let sort_by = q.one("sortBy").unwrap_or("lastUpdatedDate");
    if !["sku", "createdDate", "lastUpdatedDate"].contains(&sort_by) {
        return bad_request(&format!("{sort_by} is not a valid value for sortBy"));
    }
    let desc = match q.one("sortOrder").unwrap_or("DESC") {
        "DESC" => true,
        "ASC" => false,
        other => return bad_request(&format!("{other} is not a valid value for sortOrder")),
    };
    let page_size = match q.one("pageSize") {
        None => DEFAULT_PAGE,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => return bad_request("pageSize must be an integer between 1 and 20"),
        },
    };
    let fp = fingerprint(q, &["pageToken", "pageSize", "includedData", "issueLocale"]);
    let offset = match q.one("pageToken") {
        None => 0,
        Some(t) => {
            let tok = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t.trim())
                .ok()
                .and_then(|b| serde_json::from_slice::<PageToken>(&b).ok());
            match tok {
                Some(tok) if tok.f == fp => tok.o,
                _ => return bad_request("Invalid pageToken"),
            }
        }
    };
    let mut found: Vec<&Listing> = db
        .listings
        .values()
        .filter(|l| {
            let ms: Vec<&String> = mps.iter().filter(|m| l.marketplaces.contains(m)).collect();
            if ms.is_empty() {
                return false;
            }
            if !identifiers.is_empty() {
                let k = kind.unwrap_or("SKU");
                if !identifiers
                    .iter()
                    .any(|id| identifier_matches(db, l, k, id))
                {
                    return false;
                }
            }
            if let Some(p) = parent {
                if l.parent.as_deref() != Some(p) {
                    return false;
                }
            }
            if let Some(h) = hierarchy {
                // No package hierarchies in the sandbox: only the SKU itself.
                if l.sku != h {
                    return false;
                }
            }
            let in_window = |t: i64, after: Option<i64>, before: Option<i64>| {
                after.is_none_or(|a| t >= a) && before.is_none_or(|b| t <= b)
            };
            if !in_window(l.created, times[0], times[1])
                || !in_window(l.updated, times[2], times[3])
            {
                return false;
            }
            if !severities.is_empty()
                && !l.issues.iter().any(|i| {
                    severities
                        .iter()
                        .any(|s| i["severity"].as_str() == Some(s.as_str()))
                })
            {
                return false;
            }
            let st: BTreeSet<&str> = ms.iter().flat_map(|m| statuses(db, l, m)).collect();
            with_status.iter().all(|s| st.contains(s.as_str()))
                && !without_status.iter().any(|s| st.contains(s.as_str()))
        })
        .collect();
    found.sort_by(|a, b| {
        let o = match sort_by {
            "sku" => a.sku.cmp(&b.sku),
            "createdDate" => a.created.cmp(&b.created).then_with(|| a.sku.cmp(&b.sku)),
            _ => a.updated.cmp(&b.updated).then_with(|| a.sku.cmp(&b.sku)),
        };
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    let total = found.len();
    let reachable = total.min(MAX_RESULTS);
    if offset > reachable {
        return bad_request("Invalid pageToken");
    }
    let end = (offset + page_size).min(reachable);
    let items: Vec<Value> = found[offset..end]
        .iter()
        .map(|l| render(db, l, &mps, &sets))
        .collect();
    let mut body = json!({"numberOfResults": total, "items": items});
    let mut pagination = Map::new();
    if end < reachable {
        pagination.insert("nextToken".into(), json!(token(end, &fp)));
    }
    if offset > 0 {
        pagination.insert(
            "previousToken".into(),
            json!(token(offset.saturating_sub(page_size), &fp)),
        );
    }
    if !pagination.is_empty() {
        body["pagination"] = Value::Object(pagination);
    }
    sp_json(StatusCode::OK, body)
}

// ---------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------

fn issue(code: &str, message: String, attribute: &str, category: Option<&str>) -> Value {
    json!({
        "code": code,
        "message": message,
        "severity": "ERROR",
        "attributeNames": [attribute],
        "categories": category.map(|c| vec![c]).unwrap_or_default(),
    })
}

fn label(attr: &str) -> String {
    attr.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks one attribute's values; issues for what Amazon would refuse.
fn check_attribute(db: &Db, name: &str, value: &Value, issues: &mut Vec<Value>) {
    if !KNOWN_ATTRIBUTES.contains(&name) {
        issues.push(issue(
            "90000900",
            "The attributes are invalid.".into(),
            name,
            None,
        ));
        return;
    }
    let invalid = || {
        issue(
            "4000001",
            format!("The provided value for '{}' is invalid.", label(name)),
            name,
            Some("INVALID_ATTRIBUTE"),
        )
    };
    let Some(vals) = value.as_array().filter(|a| a.iter().all(Value::is_object)) else {
        issues.push(invalid());
        return;
    };
    let ok = match name {
        "purchasable_offer" => vals.iter().all(|o| {
            o.pointer("/our_price/0/schedule/0/value_with_tax")
                .and_then(Value::as_f64)
                .is_some_and(|p| p >= 0.0)
                && o.get("currency").is_none_or(Value::is_string)
                && o.get("marketplace_id")
                    .is_none_or(|m| m.as_str().is_some_and(participating))
        }),
        "fulfillment_availability" => {
            vals.iter().all(
                |v| match v.get("fulfillment_channel_code").and_then(Value::as_str) {
                    Some(MFN_CHANNEL) => v
                        .get("quantity")
                        .and_then(Value::as_i64)
                        .is_some_and(|q| q >= 0),
                    Some(c) => {
                        c.starts_with("AMAZON")
                            && v.get("quantity")
                                .is_none_or(|q| q.as_i64().is_some_and(|q| q >= 0))
                    }
                    None => false,
                },
            )
        }
        "item_weight" | "item_package_weight" => vals.iter().all(|v| {
            v.get("value")
                .and_then(Value::as_f64)
                .is_some_and(|x| x >= 0.0)
                && v.get("unit").and_then(Value::as_str).is_some_and(|u| {
                    ["grams", "kilograms", "ounces", "pounds", "milligrams"].contains(&u)
                })
        }),
        "item_dimensions" | "item_package_dimensions" => vals.iter().all(|v| {
            ["length", "width", "height"].iter().all(|d| {
                v.get(*d).is_none_or(|x| {
                    x.get("value")
                        .and_then(Value::as_f64)
                        .is_some_and(|n| n >= 0.0)
                        && x.get("unit").and_then(Value::as_str).is_some_and(|u| {
                            ["millimeters", "centimeters", "meters", "inches", "feet"].contains(&u)
                        })
                })
            })
        }),
        "externally_assigned_product_identifier" => vals.iter().all(|v| {
            v.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| ["ean", "upc", "gtin", "isbn", "jan"].contains(&t))
                && v.get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
        }),
        "child_parent_sku_relationship" => vals.iter().all(|v| {
            v.get("parent_sku")
                .and_then(Value::as_str)
                .is_some_and(|p| db.listings.get(p).is_some_and(Listing::is_parent))
        }),
        "variation_theme" => vals.iter().all(|v| {
            v.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.trim().is_empty())
        }),
        "main_product_image_locator" | "other_product_image_locator_1" => vals.iter().all(|v| {
            v.get("media_location")
                .and_then(Value::as_str)
                .is_some_and(|u| u.starts_with("http"))
        }),
        _ => vals
            .iter()
            .all(|v| v.get("value").is_some_and(|x| !x.is_null())),
    };
    if !ok {
        issues.push(invalid());
    }
}

/// Fills `marketplace_id` on marketplace-specific values that lack one (Amazon applies
/// them to the request's marketplaces).
fn tag(name: &str, value: &Value, mps: &[String]) -> Vec<Value> {
    let vals = value.as_array().cloned().unwrap_or_default();
    if untagged(name) {
        return vals;
    }
    let mut out = Vec::new();
    for v in vals {
        if v.get("marketplace_id").is_some() {
            out.push(v);
        } else {
            for m in mps {
                let mut t = v.clone();
                t["marketplace_id"] = json!(m);
                if name == "purchasable_offer" && t.get("currency").is_none() {
                    if let Some(mp) = marketplace(m) {
                        t["currency"] = json!(mp.currency);
                    }
                }
                out.push(t);
            }
        }
    }
    out
}

/// Two values describe the same slot (same marketplace, audience, channel, language).
fn same_slot(a: &Value, b: &Value) -> bool {
    [
        "marketplace_id",
        "audience",
        "fulfillment_channel_code",
        "language_tag",
    ]
    .iter()
    .all(|k| {
        a.get(*k)
            .and_then(Value::as_str)
            .unwrap_or(if *k == "audience" { "ALL" } else { "" })
            == b.get(*k)
                .and_then(Value::as_str)
                .unwrap_or(if *k == "audience" { "ALL" } else { "" })
    })
}

fn submission(
    db: &mut Db,
    sku: &str,
    status: &str,
    issues: Vec<Value>,
    identifiers: Option<Value>,
) -> Reply {
    let id = super::random_hex32(&mut db.rng);
    let mut body = json!({"sku": sku, "status": status, "submissionId": id, "issues": issues});
    if let Some(i) = identifiers {
        body["identifiers"] = i;
    }
    sp_json(StatusCode::OK, body)
}

fn write_params(q: &Query) -> Result<(Vec<String>, bool, bool, bool), Reply> {
    let mps = marketplace_ids(q)?;
    let mut identifiers = false;
    let mut issues = false;
    for d in q.list("includedData") {
        match d.as_str() {
            "identifiers" => identifiers = true,
            "issues" => issues = true,
            other => {
                return Err(bad_request(&format!(
                    "{other} is not a valid value for includedData"
                )))
            }
        }
    }
    let preview = match q.one("mode") {
        None => false,
        Some("VALIDATION_PREVIEW") => true,
        Some(other) => {
            return Err(bad_request(&format!(
                "{other} is not a valid value for mode"
            )))
        }
    };
    Ok((mps, identifiers, issues, preview))
}

fn identifiers_of(l: Option<&Listing>, mps: &[String]) -> Value {
    Value::Array(
        l.map(|l| {
            mps.iter()
                .filter(|m| l.marketplaces.contains(m))
                .map(|m| json!({"marketplaceId": m, "asin": l.asin}))
                .collect()
        })
        .unwrap_or_default(),
    )
}

/// `PATCH /listings/2021-08-01/items/{sellerId}/{sku}`.
pub fn patch_item(db: &mut Db, seller: &str, sku: &str, q: &Query, body: &[u8]) -> Reply {
    if let Err(r) = check_seller(db, seller) {
        return r;
    }
    let (mps, want_ids, _, preview) = match write_params(q) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return unparsable();
    };
    let Some(product_type) = req
        .get("productType")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
    else {
        return unparsable();
    };
    let Some(patches) = req
        .get("patches")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())
    else {
        return unparsable();
    };
    let mut ops = Vec::new();
    for (i, p) in patches.iter().enumerate() {
        let op = p.get("op").and_then(Value::as_str).unwrap_or("");
        if !["add", "replace", "merge", "delete"].contains(&op) {
            return unparsable();
        }
        let name = p
            .get("path")
            .and_then(Value::as_str)
            .and_then(|path| path.strip_prefix("/attributes/"))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        let Some(name) = name else {
            return bad_request(&format!("Invalid path provided in patch at index of {i}."));
        };
        let value = p.get("value");
        if op != "delete" && !value.is_some_and(Value::is_array) {
            return unparsable();
        }
        ops.push((op, name.to_owned(), value.cloned()));
    }
    let mut issues = Vec::new();
    if let Some(l) = db.listings.get(sku) {
        if l.product_type != product_type {
            issues.push(json!({
                "code": "4000003",
                "message": format!("The product type '{product_type}' does not match the product type '{}' of the listing.", l.product_type),
                "severity": "ERROR",
                "categories": ["INVALID_ATTRIBUTE"],
            }));
        }
    }
    for (op, name, value) in &ops {
        if *op != "delete" {
            if let Some(v) = value {
                check_attribute(db, name, v, &mut issues);
            }
        } else if !KNOWN_ATTRIBUTES.contains(&name.as_str()) {
            issues.push(issue(
                "90000900",
                "The attributes are invalid.".into(),
                name,
                None,
            ));
        }
    }
    let ids = want_ids.then(|| identifiers_of(db.listings.get(sku), &mps));
    if !issues.is_empty() {
        return submission(db, sku, "INVALID", issues, ids);
    }
    if preview {
        return submission(db, sku, "VALID", vec![], ids);
    }
    let now = db.now();
    let Some(l) = db.listings.get_mut(sku) else {
        // Amazon accepts an offer-only submission for an unknown SKU; nothing is listed.
        return submission(db, sku, "ACCEPTED", vec![], ids);
    };
    for (op, name, value) in ops {
        let new = value
            .as_ref()
            .map(|v| tag(&name, v, &mps))
            .unwrap_or_default();
        match op {
            "add" | "replace" => {
                // Values for other marketplaces stay; the request's marketplaces are replaced.
                let mut kept: Vec<Value> = l
                    .attributes
                    .get(&name)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter(|v| {
                                !untagged(&name)
                                    && v.get("marketplace_id")
                                        .and_then(Value::as_str)
                                        .is_some_and(|m| !mps.iter().any(|x| x == m))
                            })
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                kept.extend(new);
                l.attributes.insert(name, Value::Array(kept));
            }
            "merge" => {
                let mut cur: Vec<Value> = l
                    .attributes
                    .get(&name)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for v in new {
                    match cur.iter_mut().find(|c| same_slot(c, &v)) {
                        Some(c) => merge(c, &v),
                        None => cur.push(v),
                    }
                }
                l.attributes.insert(name, Value::Array(cur));
            }
            _ => {
                if new.is_empty() {
                    l.attributes.remove(&name);
                } else if let Some(cur) = l.attributes.get_mut(&name).and_then(Value::as_array_mut)
                {
                    cur.retain(|c| !new.iter().any(|v| same_slot(c, v)));
                }
            }
        }
    }
    l.updated = now;
    ensure_fba(db, sku);
    submission(db, sku, "ACCEPTED", vec![], ids)
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// An Amazon-fulfilled channel gets an FNSKU and an (empty) FBA inventory record.
fn ensure_fba(db: &mut Db, sku: &str) {
    let now = db.now();
    let Some(l) = db.listings.get_mut(sku) else {
        return;
    };
    if l.is_afn() && l.fn_sku.is_none() {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let tail: String = (0..7)
            .map(|_| char::from(A[db.rng.gen_range(0..A.len())]))
            .collect();
        l.fn_sku = Some(format!("X00{tail}"));
    }
    if l.is_afn() && !db.fba.contains_key(sku) {
        db.fba.insert(
            sku.to_owned(),
            FbaStock {
                fulfillable: 0,
                inbound_working: 0,
                inbound_shipped: 0,
                inbound_receiving: 0,
                reserved_customer: 0,
                reserved_transshipment: 0,
                reserved_processing: 0,
                researching: 0,
                unfulfillable_customer_damaged: 0,
                unfulfillable_warehouse_damaged: 0,
                updated: now,
            },
        );
    }
}

/// `PUT /listings/2021-08-01/items/{sellerId}/{sku}`: creates or fully replaces.
pub fn put_item(db: &mut Db, seller: &str, sku: &str, q: &Query, body: &[u8]) -> Reply {
    if let Err(r) = check_seller(db, seller) {
        return r;
    }
    let (mps, want_ids, _, preview) = match write_params(q) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return unparsable();
    };
    let Some(product_type) = req
        .get("productType")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return unparsable();
    };
    let Some(attributes) = req.get("attributes").and_then(Value::as_object) else {
        return unparsable();
    };
    let requirements = req
        .get("requirements")
        .and_then(Value::as_str)
        .unwrap_or("LISTING");
    let required: &[&str] = match requirements {
        "LISTING" => &["item_name", "condition_type"],
        "LISTING_PRODUCT_ONLY" => &["item_name"],
        "LISTING_OFFER_ONLY" => &["condition_type"],
        _ => return unparsable(),
    };
    if sku.trim().is_empty() || sku.chars().count() > 40 {
        return bad_request("The SKU must be 1 to 40 characters long");
    }
    let mut issues = Vec::new();
    for r in required {
        if !attributes.contains_key(*r) {
            issues.push(json!({
                "code": "90220",
                "message": format!("'{r}' is required but not supplied."),
                "severity": "ERROR",
                "attributeNames": [r],
                "categories": ["MISSING_ATTRIBUTE"],
            }));
        }
    }
    for (name, value) in attributes {
        check_attribute(db, name, value, &mut issues);
    }
    let ids_existing = want_ids.then(|| identifiers_of(db.listings.get(sku), &mps));
    if !issues.is_empty() {
        return submission(db, sku, "INVALID", issues, ids_existing);
    }
    if preview {
        return submission(db, sku, "VALID", vec![], ids_existing);
    }
    let now = db.now();
    let mut attrs = Map::new();
    for (name, value) in attributes {
        attrs.insert(name.clone(), Value::Array(tag(name, value, &mps)));
    }
    let parent = attrs
        .get("child_parent_sku_relationship")
        .and_then(|v| v.pointer("/0/parent_sku"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let theme_name = attrs
        .get("variation_theme")
        .and_then(|v| v.pointer("/0/name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let old = db.listings.remove(sku);
    if let Some(o) = &old {
        if let Some(p) = o.parent.as_ref().filter(|p| parent.as_ref() != Some(*p)) {
            if let Some(pl) = db.listings.get_mut(p) {
                pl.children.retain(|c| c != sku);
            }
        }
    }
    let theme = theme_name.map(|t| {
        let attrs: Vec<String> = t
            .split('/')
            .map(|a| a.trim().to_ascii_lowercase().replace(' ', "_"))
            .collect();
        (attrs, t)
    });
    let mut marketplaces_now: Vec<String> = old
        .as_ref()
        .map(|o| o.marketplaces.clone())
        .unwrap_or_default();
    for m in &mps {
        if !marketplaces_now.contains(m) {
            marketplaces_now.push(m.clone());
        }
    }
    let asin = old
        .as_ref()
        .map(|o| o.asin.clone())
        .unwrap_or_else(|| new_asin(&mut db.rng));
    let listing = Listing {
        sku: sku.to_owned(),
        product_type: product_type.to_owned(),
        asin,
        created: old.as_ref().map_or(now, |o| o.created),
        updated: now,
        marketplaces: marketplaces_now,
        attributes: attrs,
        issues: Vec::new(),
        parent: parent.clone(),
        children: old.as_ref().map(|o| o.children.clone()).unwrap_or_default(),
        theme,
        fn_sku: old.as_ref().and_then(|o| o.fn_sku.clone()),
    };
    db.listings.insert(sku.to_owned(), listing);
    if let Some(p) = parent {
        if let Some(pl) = db.listings.get_mut(&p) {
            if !pl.children.iter().any(|c| c == sku) {
                pl.children.push(sku.to_owned());
            }
            pl.updated = now;
        }
    }
    ensure_fba(db, sku);
    let ids = want_ids.then(|| identifiers_of(db.listings.get(sku), &mps));
    submission(db, sku, "ACCEPTED", vec![], ids)
}

/// `DELETE /listings/2021-08-01/items/{sellerId}/{sku}`: leaves the marketplaces asked for.
pub fn delete_item(db: &mut Db, seller: &str, sku: &str, q: &Query) -> Reply {
    if let Err(r) = check_seller(db, seller) {
        return r;
    }
    let mps = match marketplace_ids(q) {
        Ok(m) => m,
        Err(r) => return r,
    };
    remove_listing(db, sku, &mps);
    submission(db, sku, "ACCEPTED", vec![], None)
}

/// Takes a listing out of `mps` (out of the store when none remain; its variation
/// children with it, as a deleted family).
pub fn remove_listing(db: &mut Db, sku: &str, mps: &[String]) -> bool {
    let now = db.now();
    let Some(l) = db.listings.get_mut(sku) else {
        return false;
    };
    l.marketplaces.retain(|m| !mps.contains(m));
    l.updated = now;
    if !l.marketplaces.is_empty() {
        return true;
    }
    let l = db.listings.remove(sku).expect("present");
    db.fba.remove(sku);
    if let Some(p) = &l.parent {
        if let Some(pl) = db.listings.get_mut(p) {
            pl.children.retain(|c| c != sku);
        }
    }
    for c in &l.children {
        db.listings.remove(c);
        db.fba.remove(c);
    }
    true
}

// ---------------------------------------------------------------------------------------
// FBA Inventory and Sellers
// ---------------------------------------------------------------------------------------

/// Largest page of inventory summaries.
const FBA_PAGE: usize = 50;

fn fba_error(status: StatusCode, message: &str) -> Reply {
    sp_json(
        status,
        json!({"errors": [{"code": "InvalidInput", "message": message, "details": ""}]}),
    )
}

/// `GET /fba/inventory/v1/summaries`.
pub fn inventory_summaries(db: &Db, q: &Query) -> Reply {
    match q.one("granularityType") {
        Some("Marketplace") => {}
        Some(other) => {
            return fba_error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid granularityType: {other}"),
            )
        }
        None => return fba_error(StatusCode::BAD_REQUEST, "granularityType is required"),
    }
    let Some(granularity_id) = q.one("granularityId") else {
        return fba_error(StatusCode::BAD_REQUEST, "granularityId is required");
    };
    let mps = q.list("marketplaceIds");
    if mps.len() != 1 {
        return fba_error(
            StatusCode::BAD_REQUEST,
            "marketplaceIds is required and takes exactly one marketplace",
        );
    }
    let m = mps[0].as_str();
    if !participating(m) || granularity_id != m {
        return fba_error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid marketplace: {granularity_id}"),
        );
    }
    let details = match q.one("details") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return fba_error(StatusCode::BAD_REQUEST, "details must be true or false"),
    };
    let since = match q.one("startDateTime") {
        None => None,
        Some(v) => match parse_time(v) {
            Some(t) => Some(t),
            None => {
                return fba_error(
                    StatusCode::BAD_REQUEST,
                    "startDateTime must be an ISO 8601 date-time",
                )
            }
        },
    };
    let skus = q.list("sellerSkus");
    if skus.len() > 50 {
        return fba_error(
            StatusCode::BAD_REQUEST,
            "sellerSkus accepts at most 50 SKUs",
        );
    }
    let one = q.one("sellerSku");
    let offset = match q.one("nextToken") {
        None => 0,
        Some(t) => match t.strip_prefix("fba-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return fba_error(StatusCode::BAD_REQUEST, "Invalid nextToken"),
        },
    };
    let all: Vec<(&String, &FbaStock, &Listing)> = db
        .fba
        .iter()
        .filter_map(|(sku, s)| db.listings.get(sku).map(|l| (sku, s, l)))
        .filter(|(_, _, l)| l.marketplaces.iter().any(|x| x == m))
        .filter(|(sku, s, _)| match (since, skus.is_empty(), one) {
            (Some(t), _, _) => s.updated >= t,
            (None, false, _) => skus.iter().any(|x| x == *sku),
            (None, true, Some(o)) => o == sku.as_str(),
            (None, true, None) => true,
        })
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(FBA_PAGE)
        .map(|(sku, s, l)| {
            let mut v = json!({
                "asin": l.asin,
                "fnSku": l.fn_sku,
                "sellerSku": sku,
                "condition": "NewItem",
                "lastUpdatedTime": iso(s.updated),
                "productName": l.item_name(m),
                "totalQuantity": s.total(),
                "stores": [],
            });
            if details {
                v["inventoryDetails"] = json!({
                    "fulfillableQuantity": s.fulfillable,
                    "inboundWorkingQuantity": s.inbound_working,
                    "inboundShippedQuantity": s.inbound_shipped,
                    "inboundReceivingQuantity": s.inbound_receiving,
                    "reservedQuantity": {
                        "totalReservedQuantity": s.reserved(),
                        "pendingCustomerOrderQuantity": s.reserved_customer,
                        "pendingTransshipmentQuantity": s.reserved_transshipment,
                        "fcProcessingQuantity": s.reserved_processing,
                    },
                    "researchingQuantity": {
                        "totalResearchingQuantity": s.researching,
                        "researchingQuantityBreakdown": [
                            {"name": "researchingQuantityInShortTerm", "quantity": s.researching},
                            {"name": "researchingQuantityInMidTerm", "quantity": 0},
                            {"name": "researchingQuantityInLongTerm", "quantity": 0},
                        ],
                    },
                    "unfulfillableQuantity": {
                        "totalUnfulfillableQuantity": s.unfulfillable(),
                        "customerDamagedQuantity": s.unfulfillable_customer_damaged,
                        "warehouseDamagedQuantity": s.unfulfillable_warehouse_damaged,
                        "distributorDamagedQuantity": 0,
                        "carrierDamagedQuantity": 0,
                        "defectiveQuantity": 0,
                        "expiredQuantity": 0,
                    },
                });
            }
            v
        })
        .collect();
    let mut body = json!({
        "payload": {
            "granularity": {"granularityType": "Marketplace", "granularityId": m},
            "inventorySummaries": page,
        }
    });
    if offset + FBA_PAGE < all.len() {
        body["pagination"] = json!({"nextToken": format!("fba-{}", offset + FBA_PAGE)});
    }
    sp_json(StatusCode::OK, body)
}

/// `GET /sellers/v1/marketplaceParticipations`.
pub fn participations(db: &Db) -> Reply {
    let payload: Vec<Value> = marketplaces()
        .iter()
        .map(|m| {
            json!({
                "marketplace": {
                    "id": m.id,
                    "name": m.name,
                    "countryCode": m.country,
                    "defaultCurrencyCode": m.currency,
                    "defaultLanguageCode": m.language,
                    "domainName": m.domain,
                },
                "participation": {"isParticipating": m.participating, "hasSuspendedListings": false},
                "storeName": db.store_name,
            })
        })
        .collect();
    sp_json(StatusCode::OK, json!({"payload": payload}))
}

/// `POST /__sandbox/simulate` `product.updated`: the listing is renamed in Seller
/// Central (` (updated)` appended to its name in every marketplace, once).
pub fn simulate_update(db: &mut Db, sku: &str) {
    let now = db.now();
    let Some(l) = db.listings.get_mut(sku) else {
        return;
    };
    if let Some(names) = l
        .attributes
        .get_mut("item_name")
        .and_then(Value::as_array_mut)
    {
        for n in names {
            let base = n["value"]
                .as_str()
                .unwrap_or("")
                .trim_end_matches(" (updated)")
                .to_owned();
            n["value"] = json!(format!("{base} (updated)"));
        }
    }
    l.updated = now;
    if let Some(s) = db.fba.get_mut(sku) {
        s.updated = now;
    }
}
