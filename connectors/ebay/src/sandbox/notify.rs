//! The Notification API: config, destinations (with the `challenge_code` endpoint
//! validation), subscriptions, topics, the public key, and the signed pushes (see the module
//! docs of `sandbox`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use cartgate_connector::sandbox::{random_hex, seeded_rng, OutgoingWebhook, WebhookOutbox};
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use rand::rngs::StdRng;
use serde_json::{json, Value};
use sha1::Digest as _;

use super::data::ts;
use super::{
    created, err_doc, error_response, invalid_body, json_ok, no_content, scope, Call, Op, Sandbox,
    S,
};

/// How long the sandbox waits for a destination's challenge answer.
const CHALLENGE_TIMEOUT: Duration = Duration::from_secs(5);
/// The topics' one payload version.
const SCHEMA_VERSION: &str = "1.0";

pub(crate) struct Notifier {
    pub outbox: WebhookOutbox,
    signer: SigningKey,
    kid: String,
    /// The public key as eBay serves it: PEM without line breaks.
    pem: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The alert e-mail of `PUT config`.
    config: Option<String>,
    destinations: BTreeMap<String, Value>,
    subscriptions: BTreeMap<String, Value>,
    log: VecDeque<Value>,
    ids: Option<StdRng>,
}

/// An id in eBay's UUID-like form, from the sandbox's seeded RNG.
fn uuid_like(rng: &mut StdRng) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        random_hex(rng, 8),
        random_hex(rng, 4),
        random_hex(rng, 4),
        random_hex(rng, 4),
        random_hex(rng, 12)
    )
}

impl Notifier {
    pub fn new(seed: u64, outbox: WebhookOutbox) -> Notifier {
        let mut key_rng = seeded_rng(seed, "ebay-notification-key");
        let signer = SigningKey::random(&mut key_rng);
        let kid = uuid_like(&mut key_rng);
        let pem = signer
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map(|p| p.replace('\n', ""))
            .unwrap_or_default();
        Notifier {
            outbox,
            signer,
            kid,
            pem,
            state: Mutex::new(State {
                ids: Some(seeded_rng(seed, "ebay-notification-ids")),
                ..State::default()
            }),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new_id(&self) -> String {
        let mut st = self.lock();
        let rng = st
            .ids
            .get_or_insert_with(|| seeded_rng(0, "ebay-notification-ids"));
        uuid_like(rng)
    }

    pub fn log(&self) -> Vec<Value> {
        self.lock().log.iter().cloned().collect()
    }

    /// `X-EBAY-SIGNATURE` for `body`: base64 of `{"alg","kid","signature","digest"}`, the
    /// signature being DER ECDSA P-256 over the SHA-1 digest of the body.
    pub fn signature_header(&self, body: &[u8]) -> String {
        let digest = sha1::Sha1::digest(body);
        let sig: Signature = match self.signer.sign_prehash(&digest) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "sandbox: could not sign a push");
                return String::new();
            }
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let header = json!({
            "alg": "ecdsa",
            "kid": self.kid,
            "signature": b64.encode(sig.to_der().as_bytes()),
            "digest": "SHA1",
        });
        b64.encode(header.to_string())
    }

    /// Sends `data` for `topic` to every enabled subscription of an enabled destination.
    fn push(&self, topic: &str, datas: &[Value], at: i64) {
        let targets: Vec<String> = {
            let st = self.lock();
            st.subscriptions
                .values()
                .filter(|s| s["topicId"] == topic && s["status"] == "ENABLED")
                .filter_map(|s| s["destinationId"].as_str())
                .filter_map(|d| st.destinations.get(d))
                .filter(|d| d["status"] == "ENABLED")
                .filter_map(|d| d["deliveryConfig"]["endpoint"].as_str().map(str::to_owned))
                .collect()
        };
        for endpoint in targets {
            for data in datas {
                self.push_to(topic, &endpoint, data, at);
            }
        }
    }
}

/// ORDER_CONFIRMATION for each line item of a new order.
pub(crate) fn push_order_confirmation(s: &Sandbox, order_id: &str) {
    let (datas, at) = {
        let db = s.db();
        let Some(o) = db.orders.get(order_id) else {
            return;
        };
        let datas: Vec<Value> = o["lineItems"]
            .as_array()
            .map(|ls| {
                ls.iter()
                    .map(|l| {
                        json!({
                            "orderId": order_id,
                            "lineItemId": l["lineItemId"],
                            "sellerId": o["sellerId"],
                            "marketplaceId": l["listingMarketplaceId"]
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        (datas, db.clock)
    };
    s.notify.push("ORDER_CONFIRMATION", &datas, at);
}

/// ITEM_MARKED_SHIPPED for each line item of a new shipping fulfillment.
pub(crate) fn push_marked_shipped(
    s: &Sandbox,
    order_id: &str,
    fulfillment_id: &str,
    lines: &[String],
    marketplace: &str,
) {
    let (seller, at) = {
        let db = s.db();
        (db.user["username"].clone(), db.clock)
    };
    let datas: Vec<Value> = lines
        .iter()
        .map(|l| {
            json!({
                "orderId": order_id,
                "lineItemId": l,
                "fulfillmentId": fulfillment_id,
                "sellerId": seller,
                "marketplaceId": marketplace
            })
        })
        .collect();
    s.notify.push("ITEM_MARKED_SHIPPED", &datas, at);
}

fn n_error(status: StatusCode, id: u32, category: &str, message: &str) -> Response {
    error_response(
        status,
        &[err_doc(
            id,
            "API_NOTIFICATION",
            None,
            category,
            message,
            None,
            &[],
        )],
    )
}

fn bad(id: u32, message: &str) -> Response {
    n_error(StatusCode::BAD_REQUEST, id, "REQUEST", message)
}

fn only(body: &Value, allowed: &[&str], at: &str) -> Result<(), Response> {
    let Some(m) = body.as_object() else {
        return Err(invalid_body("the body must be a JSON object"));
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        let f = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        return Err(invalid_body(&format!("Could not serialize field [{f}]")));
    }
    Ok(())
}

pub(crate) async fn handle(s: &S, op: Op, call: &Call<'_>) -> Response {
    let r = match op {
        Op::GetConfig => get_config(s),
        Op::PutConfig => put_config(s, call),
        Op::GetDestinations => list(s, call, "destination", "destinations"),
        Op::CreateDestination => create_destination(s, call).await,
        Op::GetDestination => get_destination(s, call),
        Op::PutDestination => put_destination(s, call).await,
        Op::DeleteDestination => delete_destination(s, call),
        Op::GetPublicKey => get_public_key(s, call),
        Op::GetSubscriptions => list(s, call, "subscription", "subscriptions"),
        Op::CreateSubscription => create_subscription(s, call),
        Op::GetSubscription => get_subscription(s, call),
        Op::PutSubscription => put_subscription(s, call),
        Op::DeleteSubscription => delete_subscription(s, call),
        Op::EnableSubscription => set_subscription_status(s, call, true),
        Op::DisableSubscription => set_subscription_status(s, call, false),
        Op::TestSubscription => test_subscription(s, call),
        Op::GetTopics => get_topics(s, call),
        Op::GetTopic => get_topic(s, call),
        _ => Err(super::not_found_route()),
    };
    r.unwrap_or_else(|e| e)
}

fn get_config(s: &S) -> Result<Response, Response> {
    match &s.notify.lock().config {
        Some(email) => Ok(json_ok(json!({"alertEmail": email}))),
        None => Err(n_error(
            StatusCode::NOT_FOUND,
            195026,
            "APPLICATION",
            "Configuration Not Found.",
        )),
    }
}

fn put_config(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let body = call.json()?;
    only(&body, &["alertEmail"], "")?;
    let email = body["alertEmail"].as_str().unwrap_or("").trim().to_owned();
    let valid = email
        .split_once('@')
        .is_some_and(|(a, d)| !a.is_empty() && d.contains('.'));
    if !valid {
        return Err(bad(195025, "Invalid or missing email."));
    }
    s.notify.lock().config = Some(email);
    Ok(no_content())
}

/// `limit` of the list calls: 10..=100 (default 20), else 195004.
fn list_limit(call: &Call<'_>) -> Result<usize, Response> {
    match call.q("limit") {
        None => Ok(20),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (10..=100).contains(&n) => Ok(n),
            _ => Err(bad(195004, "Invalid limit. Supported ranges 10 - 100.")),
        },
    }
}

fn list(s: &S, call: &Call<'_>, what: &str, field: &str) -> Result<Response, Response> {
    let limit = list_limit(call)?;
    if call.q("continuation_token").is_some() {
        // Every list fits one page here: there is never a token to continue from.
        return Err(bad(195005, "Invalid continuation token."));
    }
    let st = s.notify.lock();
    let items: Vec<Value> = if what == "destination" {
        st.destinations.values().take(limit).cloned().collect()
    } else {
        st.subscriptions.values().take(limit).cloned().collect()
    };
    let total = if what == "destination" {
        st.destinations.len()
    } else {
        st.subscriptions.len()
    };
    Ok(json_ok(json!({
        "href": format!("{}/commerce/notification/v1/{what}?limit={limit}", s.base_url),
        "total": total,
        "limit": limit,
        field: items,
    })))
}

/// A checked DestinationRequest: (name, status, endpoint, verification token).
fn destination_request(call: &Call<'_>) -> Result<(String, String, String, String), Response> {
    let body = call.json()?;
    only(&body, &["name", "status", "deliveryConfig"], "")?;
    let name = body["name"].as_str().unwrap_or("").to_owned();
    if name.is_empty() || name.chars().count() > 64 || name.contains(['<', '>']) {
        return Err(bad(
            195016,
            "Invalid name. Markups or lengths greater than 64 not supported",
        ));
    }
    let status = body["status"].as_str().unwrap_or("").to_owned();
    if status != "ENABLED" && status != "DISABLED" {
        return Err(bad(
            195018,
            "Invalid or missing destination status. Supported values:[ENABLED,DISABLED]",
        ));
    }
    let dc = &body["deliveryConfig"];
    if dc.is_object() {
        only(dc, &["endpoint", "verificationToken"], "deliveryConfig")?;
    }
    let endpoint = dc["endpoint"].as_str().unwrap_or("").to_owned();
    let parsed = url::Url::parse(&endpoint).ok();
    if !parsed.is_some_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some()) {
        return Err(bad(195017, "Invalid or missing endpoint."));
    }
    let token = dc["verificationToken"].as_str().unwrap_or("").to_owned();
    let token_ok = (32..=80).contains(&token.len())
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !token_ok {
        return Err(bad(
            195019,
            "Invalid or missing verification token for this endpoint.",
        ));
    }
    Ok((name, status, endpoint, token))
}

/// The expected challenge response: hex SHA-256 of code, token and endpoint, in that order.
pub fn challenge_response(code: &str, token: &str, endpoint: &str) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(code.as_bytes());
    h.update(token.as_bytes());
    h.update(endpoint.as_bytes());
    hex::encode(h.finalize())
}

/// eBay's endpoint validation: `GET endpoint?challenge_code=…` must answer 200 with the
/// right `challengeResponse`.
async fn challenge(s: &S, endpoint: &str, token: &str) -> Result<(), Response> {
    let code = s.notify.new_id().replace('-', "");
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    let url = format!("{endpoint}{sep}challenge_code={code}");
    let failed = || {
        n_error(
            StatusCode::CONFLICT,
            195020,
            "REQUEST",
            "Challenge verification failed for requested endpoint",
        )
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(CHALLENGE_TIMEOUT)
        .user_agent("cartgate-sandbox-ebay-notification")
        .build()
        .map_err(|_| failed())?;
    let resp = client.get(&url).send().await.map_err(|_| failed())?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(failed());
    }
    let body: Value = resp.json().await.map_err(|_| failed())?;
    if body["challengeResponse"].as_str() == Some(&challenge_response(&code, token, endpoint)) {
        Ok(())
    } else {
        Err(failed())
    }
}

async fn create_destination(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let (name, status, endpoint, token) = destination_request(call)?;
    {
        let st = s.notify.lock();
        if st.config.is_none() {
            return Err(n_error(
                StatusCode::CONFLICT,
                195003,
                "REQUEST",
                "Please provide configurations required for notifications. Refer to /config",
            ));
        }
        if st
            .destinations
            .values()
            .any(|d| d["deliveryConfig"]["endpoint"] == endpoint.as_str())
        {
            return Err(n_error(
                StatusCode::CONFLICT,
                195021,
                "REQUEST",
                "Destination exists for this endpoint",
            ));
        }
    }
    if status == "ENABLED" {
        challenge(s, &endpoint, &token).await?;
    }
    let id = s.notify.new_id();
    s.notify.lock().destinations.insert(
        id.clone(),
        json!({
            "destinationId": id,
            "name": name,
            "status": status,
            "deliveryConfig": {"endpoint": endpoint, "verificationToken": token}
        }),
    );
    Ok(created(
        &format!("{}/commerce/notification/v1/destination/{id}", s.base_url),
        json!({}),
    ))
}

fn destination_not_found() -> Response {
    n_error(
        StatusCode::NOT_FOUND,
        195022,
        "REQUEST",
        "Invalid or missing destination id.",
    )
}

fn get_destination(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    s.notify
        .lock()
        .destinations
        .get(&call.seg[1])
        .map(|d| json_ok(d.clone()))
        .ok_or_else(destination_not_found)
}

async fn put_destination(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let id = call.seg[1].clone();
    let (name, status, endpoint, token) = destination_request(call)?;
    let old = s
        .notify
        .lock()
        .destinations
        .get(&id)
        .cloned()
        .ok_or_else(destination_not_found)?;
    {
        let st = s.notify.lock();
        if st
            .destinations
            .iter()
            .any(|(k, d)| *k != id && d["deliveryConfig"]["endpoint"] == endpoint.as_str())
        {
            return Err(n_error(
                StatusCode::CONFLICT,
                195021,
                "REQUEST",
                "Destination exists for this endpoint",
            ));
        }
    }
    let unchanged = old["status"] == "ENABLED"
        && old["deliveryConfig"]["endpoint"] == endpoint.as_str()
        && old["deliveryConfig"]["verificationToken"] == token.as_str();
    if status == "ENABLED" && !unchanged {
        challenge(s, &endpoint, &token).await?;
    }
    s.notify.lock().destinations.insert(
        id.clone(),
        json!({
            "destinationId": id,
            "name": name,
            "status": status,
            "deliveryConfig": {"endpoint": endpoint, "verificationToken": token}
        }),
    );
    Ok(no_content())
}

fn delete_destination(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let id = &call.seg[1];
    let mut st = s.notify.lock();
    if !st.destinations.contains_key(id) {
        return Err(destination_not_found());
    }
    if st
        .subscriptions
        .values()
        .any(|x| x["destinationId"] == id.as_str())
    {
        return Err(n_error(
            StatusCode::CONFLICT,
            195024,
            "REQUEST",
            "Destination is in use and cannot be deleted.",
        ));
    }
    st.destinations.remove(id);
    Ok(no_content())
}

fn get_public_key(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    if call.seg[1] != s.notify.kid {
        return Err(n_error(
            StatusCode::NOT_FOUND,
            195001,
            "REQUEST",
            "The specified key id is invalid.",
        ));
    }
    Ok(json_ok(json!({
        "key": s.notify.pem,
        "algorithm": "ECDSA",
        "digest": "SHA1"
    })))
}

fn topic(s: &S, id: &str) -> Option<Value> {
    s.db().topics.iter().find(|t| t["topicId"] == id).cloned()
}

fn get_topics(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let limit = list_limit(call)?;
    let topics = s.db().topics.clone();
    Ok(json_ok(json!({
        "href": format!("{}/commerce/notification/v1/topic?limit={limit}", s.base_url),
        "total": topics.len(),
        "limit": limit,
        "topics": topics,
    })))
}

fn get_topic(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    topic(s, &call.seg[1]).map(json_ok).ok_or_else(|| {
        n_error(
            StatusCode::NOT_FOUND,
            195002,
            "REQUEST",
            "Invalid or missing topic id.",
        )
    })
}

/// Checks a subscription's `payload`, `status` and `destinationId` (create and update).
fn check_subscription_fields(s: &S, body: &Value) -> Result<(String, String, Value), Response> {
    let status = body["status"].as_str().unwrap_or("").to_owned();
    if status != "ENABLED" && status != "DISABLED" {
        return Err(bad(195006, "Invalid or missing subscription status."));
    }
    let dest = body["destinationId"].as_str().unwrap_or("").to_owned();
    let dest_doc = s.notify.lock().destinations.get(&dest).cloned();
    let Some(dest_doc) = dest_doc else {
        return Err(bad(195007, "Invalid or missing destination id."));
    };
    let p = &body["payload"];
    if p.is_object() {
        only(
            p,
            &["deliveryProtocol", "format", "schemaVersion"],
            "payload",
        )?;
    }
    if p["schemaVersion"].as_str() != Some(SCHEMA_VERSION) {
        return Err(bad(
            195008,
            "Invalid or missing schema version. Please refer to /topic/{topic_id} for supported schema versions.",
        ));
    }
    if p["format"].as_str() != Some("JSON") {
        return Err(bad(
            195009,
            "Specified format is not supported for the topic.",
        ));
    }
    if p["deliveryProtocol"].as_str() != Some("HTTPS") {
        return Err(bad(195010, "Invalid or missing protocol"));
    }
    if status == "ENABLED" && dest_doc["status"] != "ENABLED" {
        return Err(n_error(
            StatusCode::CONFLICT,
            195015,
            "REQUEST",
            "The subscription cannot be enabled since the destination is not enabled.",
        ));
    }
    Ok((
        status,
        dest,
        json!({
            "format": "JSON",
            "schemaVersion": SCHEMA_VERSION,
            "deliveryProtocol": "HTTPS"
        }),
    ))
}

fn create_subscription(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let body = call.json()?;
    only(
        &body,
        &["destinationId", "payload", "status", "topicId"],
        "",
    )?;
    let topic_id = body["topicId"].as_str().unwrap_or("").to_owned();
    let Some(t) = topic(s, &topic_id) else {
        return Err(bad(195027, "Invalid or missing topic id."));
    };
    // User topics need a user token with the subscription scope; application topics an
    // application token.
    let authorized = if t["scope"] == "USER" {
        call.token.user && call.token.scopes.iter().any(|x| x == scope::NOTIFICATION)
    } else {
        !call.token.user
    };
    if !authorized {
        return Err(n_error(
            StatusCode::FORBIDDEN,
            195011,
            "REQUEST",
            "Not authorized for this topic.",
        ));
    }
    let (status, dest, payload) = check_subscription_fields(s, &body)?;
    if s.notify
        .lock()
        .subscriptions
        .values()
        .any(|x| x["topicId"] == topic_id.as_str())
    {
        return Err(n_error(
            StatusCode::CONFLICT,
            195012,
            "REQUEST",
            "Subscription already exists",
        ));
    }
    let id = s.notify.new_id();
    let now = s.db().clock;
    s.notify.lock().subscriptions.insert(
        id.clone(),
        json!({
            "subscriptionId": id,
            "topicId": topic_id,
            "status": status,
            "creationDate": ts(now),
            "destinationId": dest,
            "payload": payload
        }),
    );
    Ok(created(
        &format!("{}/commerce/notification/v1/subscription/{id}", s.base_url),
        json!({}),
    ))
}

fn subscription_not_found() -> Response {
    n_error(
        StatusCode::NOT_FOUND,
        195013,
        "REQUEST",
        "The subscription id does not exist.",
    )
}

fn get_subscription(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    s.notify
        .lock()
        .subscriptions
        .get(&call.seg[1])
        .map(|x| json_ok(x.clone()))
        .ok_or_else(subscription_not_found)
}

fn put_subscription(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let id = call.seg[1].clone();
    let body = call.json()?;
    only(&body, &["destinationId", "payload", "status"], "")?;
    if !s.notify.lock().subscriptions.contains_key(&id) {
        return Err(subscription_not_found());
    }
    let (status, dest, payload) = check_subscription_fields(s, &body)?;
    let mut st = s.notify.lock();
    let sub = st
        .subscriptions
        .get_mut(&id)
        .ok_or_else(subscription_not_found)?;
    sub["status"] = json!(status);
    sub["destinationId"] = json!(dest);
    sub["payload"] = payload;
    Ok(no_content())
}

fn delete_subscription(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    if s.notify.lock().subscriptions.remove(&call.seg[1]).is_none() {
        return Err(subscription_not_found());
    }
    Ok(no_content())
}

fn set_subscription_status(s: &S, call: &Call<'_>, enable: bool) -> Result<Response, Response> {
    let mut st = s.notify.lock();
    let dest = st
        .subscriptions
        .get(&call.seg[1])
        .ok_or_else(subscription_not_found)?["destinationId"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    if enable
        && st
            .destinations
            .get(&dest)
            .is_none_or(|d| d["status"] != "ENABLED")
    {
        return Err(n_error(
            StatusCode::CONFLICT,
            195015,
            "REQUEST",
            "The subscription cannot be enabled since the destination is not enabled.",
        ));
    }
    if let Some(sub) = st.subscriptions.get_mut(&call.seg[1]) {
        sub["status"] = json!(if enable { "ENABLED" } else { "DISABLED" });
    }
    Ok(no_content())
}

/// `POST subscription/{id}/test`: 202, and a test message of the topic to the destination.
fn test_subscription(s: &S, call: &Call<'_>) -> Result<Response, Response> {
    let sub = s
        .notify
        .lock()
        .subscriptions
        .get(&call.seg[1])
        .cloned()
        .ok_or_else(subscription_not_found)?;
    let topic = sub["topicId"].as_str().unwrap_or("").to_owned();
    let now = s.db().clock;
    let data = json!({"test": true, "subscriptionId": sub["subscriptionId"]});
    // A test goes out even while the subscription is disabled, as long as its destination
    // is enabled.
    let endpoint = {
        let st = s.notify.lock();
        st.destinations
            .get(sub["destinationId"].as_str().unwrap_or(""))
            .filter(|d| d["status"] == "ENABLED")
            .and_then(|d| d["deliveryConfig"]["endpoint"].as_str().map(str::to_owned))
    };
    if let Some(endpoint) = endpoint {
        s.notify.push_to(&topic, &endpoint, &data, now);
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

impl Notifier {
    /// One message to one endpoint (the test route).
    fn push_to(&self, topic: &str, endpoint: &str, data: &Value, at: i64) {
        let id = format!("{}_{}", self.new_id(), self.new_id());
        let message = json!({
            "metadata": {"topic": topic, "schemaVersion": SCHEMA_VERSION, "deprecated": false},
            "notification": {
                "notificationId": id,
                "eventDate": ts(at),
                "publishDate": ts(at),
                "publishAttemptCount": 1,
                "data": data
            }
        });
        let body = message.to_string().into_bytes();
        let mut headers = vec![(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("application/json"),
        )];
        if let Ok(v) = HeaderValue::from_str(&self.signature_header(&body)) {
            headers.push((HeaderName::from_static("x-ebay-signature"), v));
        }
        {
            let mut st = self.lock();
            if st.log.len() >= super::PUSH_LOG {
                st.log.pop_front();
            }
            st.log.push_back(json!({
                "topic": topic, "endpoint": endpoint, "notificationId": id, "data": data
            }));
        }
        self.outbox.send(OutgoingWebhook {
            url: endpoint.to_owned(),
            headers,
            body: body.into(),
            on_done: None,
        });
    }
}
