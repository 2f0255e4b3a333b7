//! End-to-end tests: the real gateway and the real sandboxes on loopback sockets.
//! One test binary (faster to build and link than one per file).

mod harness;
mod redis_server;

mod amazon;
mod api_input;
mod api_resources;
mod api_stores;
mod cli;
mod connections;
mod distributed;
mod ebay;
mod idempotency;
mod logs;
mod model;
mod permissions;
mod platforms;
mod privacy;
mod races;
mod receiver;
mod sdk;
mod storage;
mod throttling;
mod upstream_faults;
mod webhooks;
