//! A local simulator of SP-API (being built).
