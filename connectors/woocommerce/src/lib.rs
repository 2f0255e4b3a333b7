//! WooCommerce (REST API wc/v3) for cartgate: the connector and its sandbox.
#![forbid(unsafe_code)]

pub mod mapping;
pub mod sandbox;
