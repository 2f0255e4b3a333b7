//! cartgate-connector: the unified commerce model, the [`Connector`] trait, paging types,
//! [`ConnectorError`] and the shared upstream HTTP client ([`http::Upstream`]).
//!
//! Platform crates depend on this crate only: never on the gateway, never on each other.
#![forbid(unsafe_code)]

pub mod connector;
pub mod context;
pub mod error;
pub mod http;
pub mod lenient;
pub mod model;
pub mod pace;
pub mod page;
#[cfg(feature = "sandbox")]
pub mod sandbox;
#[cfg(feature = "sandbox")]
pub mod testing;
pub mod token;
pub mod util;
pub mod webhook;

pub use connector::{Connector, ModelFields, ObjectKind, PlatformDescriptor, StoreSession};
pub use context::CallContext;
pub use error::{ConnectorError, Result};
pub use page::{Filters, ListParams, Page};
pub use webhook::{EventType, Inbound, InboundEvent};
