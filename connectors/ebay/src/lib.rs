//! eBay through the Sell APIs (Fulfillment, Inventory, Account) for cartgate: the connector
//! and its sandbox (issue 14; being built, not yet in the gateway's registry).
//!
//! - [`sandbox`]: a local simulator of the Sell API operations the connector uses, with the
//!   OAuth token endpoint and signed Notification API pushes.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod sandbox;
