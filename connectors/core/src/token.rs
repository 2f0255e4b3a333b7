//! Short-lived access tokens obtained from a long-lived grant, shared by the connectors
//! that need one (Magento's admin token, Amazon's Login with Amazon access token).
//!
//! * [`TokenCache`] keeps one store's token in memory (never on disk, never logged):
//!   renewed a margin before it expires ([`renew_at`]), renewed on demand when the platform
//!   refuses it as expired, and one renewal at a time: concurrent requests wait for the
//!   renewal in flight and share its token instead of each asking for one.
//! * [`RefreshGrant`] is the OAuth 2.0 refresh-token grant (RFC 6749 §6) as Login with
//!   Amazon speaks it (client credentials in the form body) and as other platforms do
//!   (HTTP Basic): a form POST through the shared [`Upstream`], its answer read into an
//!   [`AccessToken`], its refusals mapped to [`ConnectorError`]s (`invalid_grant` and
//!   `invalid_client` are the store's credentials refused: `AuthFailed`).
//!
//! Nothing here formats a token, a secret or the token endpoint's body into an error.

use std::future::Future;
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::{HeaderValue, Method, StatusCode};
use serde::Deserialize;
use url::Url;

use crate::http::{RequestSpec, StoreGate, Upstream};
use crate::{CallContext, ConnectorError, Result};

/// When to renew a token obtained at `obtained` that lives `lifetime`: a margin before the
/// end (a quarter of the lifetime, at most 5 minutes), so a request never races expiry.
pub fn renew_at(obtained: Instant, lifetime: Duration) -> Instant {
    let margin = (lifetime / 4).min(Duration::from_secs(300));
    obtained + lifetime.saturating_sub(margin)
}

/// One store's current token (see the module docs).
pub struct TokenCache<T> {
    slot: tokio::sync::Mutex<Option<(T, Instant)>>,
}

impl<T> Default for TokenCache<T> {
    fn default() -> Self {
        TokenCache {
            slot: tokio::sync::Mutex::new(None),
        }
    }
}

impl<T> std::fmt::Debug for TokenCache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache(…)")
    }
}

impl<T: Clone + PartialEq> TokenCache<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The token to send now. `refused` is a token the platform just refused as expired
    /// or invalid: it is renewed, unless another request already renewed it meanwhile (then
    /// that newer token is answered). `fetch` obtains a new token and says how long it
    /// lives; it runs only when the cached one is missing, due for renewal or refused, and
    /// never twice at once.
    pub async fn get<F, Fut>(&self, refused: Option<&T>, fetch: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(T, Duration)>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some((token, renew)) = slot.as_ref() {
            let refused_this = refused.is_some_and(|r| r == token);
            if !refused_this && Instant::now() < *renew {
                return Ok(token.clone());
            }
        }
        let obtained = Instant::now();
        let (token, lifetime) = match fetch().await {
            Ok(t) => t,
            Err(e) => {
                // A refused grant must not leave a token that was refused behind.
                *slot = None;
                return Err(e);
            }
        };
        *slot = Some((token.clone(), renew_at(obtained, lifetime)));
        Ok(token)
    }

    /// Forgets the token (new credentials, a revoked grant).
    pub async fn clear(&self) {
        *self.slot.lock().await = None;
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body (Login with Amazon).
    Body,
    /// HTTP Basic with `client_id:client_secret` (RFC 6749 §2.3.1).
    Basic,
}

/// An access token from a token endpoint. Its text is secret: the type prints nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: Duration,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"…")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl AccessToken {
    /// The token as a header value marked sensitive (never in debug output).
    pub fn header(&self) -> Result<HeaderValue> {
        let mut h = HeaderValue::from_str(&self.token).map_err(|_| {
            ConnectorError::upstream(
                None,
                "the token endpoint sent a token with invalid characters",
            )
        })?;
        h.set_sensitive(true);
        Ok(h)
    }
}

/// Lifetime assumed when a token endpoint does not say (`expires_in` absent): one hour,
/// what Login with Amazon and most OAuth 2.0 servers issue.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Lifetimes outside this range are clamped (a server answering `expires_in: 0` must not
/// make every request renew; one answering years must not keep a token forever).
const MIN_LIFETIME: Duration = Duration::from_secs(60);
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The OAuth 2.0 refresh-token grant (RFC 6749 §6).
pub struct RefreshGrant<'a> {
    /// The platform's name in error messages (`"Login with Amazon"`).
    pub platform: &'a str,
    pub endpoint: &'a Url,
    pub refresh_token: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub client_auth: ClientAuth,
    /// Space-separated scopes, where the platform wants them on refresh.
    pub scope: Option<&'a str>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
}

impl RefreshGrant<'_> {
    /// The form body of the request (the refresh token and, with [`ClientAuth::Body`], the
    /// client credentials).
    pub fn form(&self) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "refresh_token");
        form.append_pair("refresh_token", self.refresh_token);
        if self.client_auth == ClientAuth::Body {
            form.append_pair("client_id", self.client_id);
            form.append_pair("client_secret", self.client_secret);
        }
        if let Some(scope) = self.scope {
            form.append_pair("scope", scope);
        }
        form.finish()
    }

    /// Exchanges the refresh token for an access token. Asking again only issues another
    /// token, so transient failures are retried like a read.
    pub async fn exchange(
        &self,
        upstream: &Upstream,
        cx: &CallContext,
        gate: &StoreGate,
    ) -> Result<AccessToken> {
        let resp = post_form(upstream, cx, gate, self, self.form()).await?;
        self.read_answer(resp.status, &resp.body)
    }
}

/// POSTs a token request's form to `g.endpoint`, with HTTP Basic client authentication
/// when `g.client_auth` says so. Retried like a read: asking again only issues another token.
async fn post_form(
    upstream: &Upstream,
    cx: &CallContext,
    gate: &StoreGate,
    g: &RefreshGrant<'_>,
    form: String,
) -> Result<crate::http::UpstreamResponse> {
    let mut spec = RequestSpec::new(Method::POST, g.endpoint.clone())
        .header(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded;charset=UTF-8"),
        )
        .header(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
    if g.client_auth == ClientAuth::Basic {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", g.client_id, g.client_secret));
        let mut h = HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
            ConnectorError::Validation("the client credentials have invalid characters".into())
        })?;
        h.set_sensitive(true);
        spec = spec.header(http::header::AUTHORIZATION, h);
    }
    spec.body = Some(form.into());
    spec.idempotent = true;
    upstream.send(cx, gate, spec).await
}

/// The OAuth 2.0 client-credentials grant (RFC 6749 §4.4): an application token, for a
/// platform's app-level calls (eBay's Notification API destinations and keys). The same
/// fields as [`RefreshGrant`], whose `refresh_token` is not sent.
pub struct ClientCredentialsGrant<'a>(pub RefreshGrant<'a>);

impl ClientCredentialsGrant<'_> {
    pub fn form(&self) -> String {
        let g = &self.0;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if g.client_auth == ClientAuth::Body {
            form.append_pair("client_id", g.client_id);
            form.append_pair("client_secret", g.client_secret);
        }
        if let Some(scope) = g.scope {
            form.append_pair("scope", scope);
        }
        form.finish()
    }

    pub async fn exchange(
        &self,
        upstream: &Upstream,
        cx: &CallContext,
        gate: &StoreGate,
    ) -> Result<AccessToken> {
        let resp = post_form(upstream, cx, gate, &self.0, self.form()).await?;
        self.0.read_answer(resp.status, &resp.body)
    }
}

impl RefreshGrant<'_> {
    /// Reads the token endpoint's answer (pure; see [`RefreshGrant::exchange`]).
    pub fn read_answer(&self, status: StatusCode, body: &[u8]) -> Result<AccessToken> {
        let platform = self.platform;
        if !status.is_success() {
            let err: TokenError = serde_json::from_slice(body).unwrap_or_default();
            let code = err.error.as_deref().unwrap_or("");
            // Only the endpoint's own words (never echoing what was sent), kept short.
            let said = err
                .error_description
                .as_deref()
                .map(|d| format!(": {}", d.chars().take(200).collect::<String>()))
                .unwrap_or_default();
            return Err(match code {
                "invalid_grant" => ConnectorError::AuthFailed(format!(
                    "{platform} refused the store's refresh token (invalid_grant{said}): it was \
                     revoked, has expired or was issued to another app; authorize the app again \
                     and update the store's credentials"
                )),
                // The grant does not carry a scope asked for (eBay names it per API).
                "invalid_scope" => ConnectorError::PermissionDenied(format!(
                    "{platform} refused the scope {} for the store's refresh token \
                     (invalid_scope{said}): authorize the app again with that scope",
                    self.scope.unwrap_or("asked for")
                )),
                "invalid_client" | "unauthorized_client" => ConnectorError::AuthFailed(format!(
                    "{platform} refused the app's client_id or client_secret ({code}{said})"
                )),
                _ if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN => {
                    ConnectorError::AuthFailed(format!(
                        "{platform} refused the token request ({status}{said})"
                    ))
                }
                "" => ConnectorError::upstream(
                    Some(status.as_u16()),
                    format!("{platform} answered {status} to the token request"),
                ),
                other => ConnectorError::upstream(
                    Some(status.as_u16()),
                    format!(
                        "{platform} answered {status} ({}) to the token request{said}",
                        other.chars().take(64).collect::<String>()
                    ),
                ),
            });
        }
        let answer: TokenAnswer = serde_json::from_slice(body)
            .map_err(|e| ConnectorError::bad_body("token answer", e))?;
        let token = answer
            .access_token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| ConnectorError::bad_body("token answer", "it has no access_token"))?;
        let seconds = match answer.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let expires_in = seconds
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map_or(DEFAULT_TOKEN_LIFETIME, |s| {
                Duration::from_secs_f64(s.min(MAX_LIFETIME.as_secs_f64()))
            })
            .clamp(MIN_LIFETIME, MAX_LIFETIME);
        Ok(AccessToken {
            token: token.trim().to_owned(),
            expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[test]
    fn tokens_renew_before_expiry() {
        let t0 = Instant::now();
        let four_hours = Duration::from_secs(4 * 3600);
        assert_eq!(
            renew_at(t0, four_hours),
            t0 + four_hours - Duration::from_secs(300)
        );
        let minute = Duration::from_secs(60);
        assert_eq!(renew_at(t0, minute), t0 + Duration::from_secs(45));
    }

    #[tokio::test]
    async fn one_renewal_at_a_time_and_a_refused_token_is_renewed_once() {
        let cache: Arc<TokenCache<String>> = Arc::default();
        let fetched = Arc::new(AtomicU32::new(0));
        let fetch = |fetched: Arc<AtomicU32>| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let n = fetched.fetch_add(1, Ordering::SeqCst) + 1;
            Ok((format!("t{n}"), Duration::from_secs(3600)))
        };
        // Ten concurrent first requests share one fetch.
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (cache, fetched) = (cache.clone(), fetched.clone());
            tasks.push(tokio::spawn(async move {
                cache.get(None, || fetch(fetched)).await.unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), "t1");
        }
        assert_eq!(fetched.load(Ordering::SeqCst), 1);
        // Two requests both saw t1 refused: one renewal, both get t2.
        let a = cache
            .get(Some(&"t1".into()), || fetch(fetched.clone()))
            .await;
        let b = cache
            .get(Some(&"t1".into()), || fetch(fetched.clone()))
            .await;
        assert_eq!((a.unwrap(), b.unwrap()), ("t2".into(), "t2".into()));
        assert_eq!(fetched.load(Ordering::SeqCst), 2);
        // A failed renewal leaves nothing cached.
        let err = cache
            .get(Some(&"t2".into()), || async {
                Err::<(String, Duration), _>(ConnectorError::AuthFailed("no".into()))
            })
            .await;
        assert!(err.is_err());
        assert_eq!(
            cache.get(None, || fetch(fetched.clone())).await.unwrap(),
            "t3"
        );
    }

    #[tokio::test]
    async fn a_token_due_for_renewal_is_renewed() {
        let cache = TokenCache::<String>::new();
        // Lives 60 s, renewed 15 s before: a token of 0 s lifetime is due at once.
        cache
            .get(None, || async { Ok(("old".to_string(), Duration::ZERO)) })
            .await
            .unwrap();
        let t = cache
            .get(None, || async {
                Ok(("new".to_string(), Duration::from_secs(60)))
            })
            .await
            .unwrap();
        assert_eq!(t, "new");
    }

    fn grant(url: &Url) -> RefreshGrant<'_> {
        RefreshGrant {
            platform: "Login with Amazon",
            endpoint: url,
            refresh_token: "Atzr|secret-refresh",
            client_id: "amzn1.application-oa2-client.x",
            client_secret: "very-secret",
            client_auth: ClientAuth::Body,
            scope: None,
        }
    }

    #[test]
    fn client_credentials_form() {
        let url = Url::parse("https://api.ebay.com/identity/v1/oauth2/token").unwrap();
        let g = ClientCredentialsGrant(RefreshGrant {
            client_auth: ClientAuth::Basic,
            scope: Some("https://api.ebay.com/oauth/api_scope"),
            ..grant(&url)
        });
        assert_eq!(
            g.form(),
            "grant_type=client_credentials&scope=https%3A%2F%2Fapi.ebay.com%2Foauth%2Fapi_scope"
        );
    }

    #[test]
    fn answers_and_refusals() {
        let url = Url::parse("https://api.amazon.com/auth/o2/token").unwrap();
        let g = grant(&url);
        assert_eq!(
            g.form(),
            "grant_type=refresh_token&refresh_token=Atzr%7Csecret-refresh&client_id=amzn1.application-oa2-client.x&client_secret=very-secret"
        );
        let ok = g
            .read_answer(
                StatusCode::OK,
                br#"{"access_token":"Atza|abc","token_type":"bearer","expires_in":3600,"refresh_token":"Atzr|x"}"#,
            )
            .unwrap();
        assert_eq!(ok.token, "Atza|abc");
        assert_eq!(ok.expires_in, Duration::from_secs(3600));
        assert!(!format!("{ok:?}").contains("abc"));
        let ok = g
            .read_answer(StatusCode::OK, br#"{"access_token":"t","expires_in":"0"}"#)
            .unwrap();
        assert_eq!(ok.expires_in, MIN_LIFETIME);

        let bad = g.read_answer(
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_grant","error_description":"The request has an invalid grant parameter : refresh_token"}"#,
        );
        assert!(matches!(bad, Err(ConnectorError::AuthFailed(_))), "{bad:?}");
        let bad = g.read_answer(
            StatusCode::UNAUTHORIZED,
            br#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        );
        assert!(matches!(bad, Err(ConnectorError::AuthFailed(_))), "{bad:?}");
        let bad = g.read_answer(StatusCode::BAD_REQUEST, br#"{"error":"invalid_scope"}"#);
        assert!(
            matches!(bad, Err(ConnectorError::PermissionDenied(_))),
            "{bad:?}"
        );
        let bad = g.read_answer(StatusCode::BAD_REQUEST, b"<html>");
        assert!(
            matches!(bad, Err(ConnectorError::Upstream { .. })),
            "{bad:?}"
        );
        for bad in [&b"{}"[..], br#"{"access_token":""}"#, b"nope"] {
            assert!(g.read_answer(StatusCode::OK, bad).is_err());
        }
        for e in [
            g.read_answer(StatusCode::BAD_REQUEST, br#"{"error":"invalid_grant"}"#),
            g.read_answer(StatusCode::BAD_REQUEST, br#"{"error":"invalid_request"}"#),
        ] {
            let text = e.unwrap_err().to_string();
            assert!(!text.contains("secret"), "{text}");
        }
    }
}
