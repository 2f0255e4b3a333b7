//! A local simulator of the WooCommerce REST API wc/v3.
