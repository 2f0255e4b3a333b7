//! A local simulator of the eBay Sell APIs (being built).
