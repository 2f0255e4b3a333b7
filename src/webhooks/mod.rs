//! The webhook stream: subscriptions, signed deliveries and the event sources that feed them.

pub mod sign;
