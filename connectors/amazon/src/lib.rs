//! Amazon Seller Central through the Selling Partner API (SP-API) for cartgate: the
//! connector and its sandbox (issue 13; being built, not yet in the gateway's registry).
//!
//! - [`sandbox`]: a local simulator of the SP-API operations the connector uses, with the
//!   Login with Amazon token endpoint.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod sandbox;
