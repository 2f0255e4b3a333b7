//! Shared OpenAPI pieces: the document's head, security schemes and common error responses.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cartgate",
        description = "One REST API for Shopify, Magento 2, WooCommerce, Amazon SP-API and eBay stores: \
                       orders, products, customers, categories and shipments in one model. \
                       Errors are application/problem+json with a stable `code`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Security),
    components(schemas(Problem)),
    tags(
        (name = "platforms", description = "Supported platforms and what each can do"),
        (name = "stores", description = "Connected stores"),
        (name = "orders", description = "Orders and shipments"),
        (name = "products", description = "Products and variants"),
        (name = "customers", description = "Customers"),
        (name = "categories", description = "Categories and collections"),
        (name = "locations", description = "Where a store keeps its stock"),
        (name = "proxy", description = "Raw platform calls with the stored credentials"),
        (name = "logs", description = "This account's request log"),
        (name = "webhooks", description = "Subscriptions to the signed event stream, their deliveries, and the platforms' inbound webhooks"),
        (name = "admin", description = "Accounts and keys; authorized by the admin token"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key: `Authorization: Bearer cg_…` (also accepted: `X-API-Key`)",
                    ))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("CARTGATE_ADMIN_TOKEN"))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "api_key_header",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

/// Errors any authenticated `/v1` call may answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum CommonErrors {
    /// validation_failed or invalid_cursor
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// unauthorized: missing, unknown or revoked API key
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// not_found
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// rate_limited (this API key) or upstream_rate_limited (the platform); see Retry-After
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Problem),
}

/// Errors of calls that reach a platform.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum UpstreamErrors {
    /// store_permission_denied: the platform accepted the stored credentials but they may
    /// not do this (a read-only key, a missing access scope)
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// store_auth_failed (the platform refused the stored credentials) or validation_failed
    /// (the platform refused the input)
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(Problem),
    /// unsupported_operation: the platform cannot do this
    #[response(status = 501, content_type = "application/problem+json")]
    NotImplemented(Problem),
    /// upstream_error: the platform answered something unusable, or redirected to another
    /// origin
    #[response(status = 502, content_type = "application/problem+json")]
    BadGateway(Problem),
    /// upstream_unavailable, upstream_busy (see Retry-After), storage_unavailable or
    /// master_key_unavailable
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
    /// timeout
    #[response(status = 504, content_type = "application/problem+json")]
    Timeout(Problem),
}
