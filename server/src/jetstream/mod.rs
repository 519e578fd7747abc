//! JetStream: streams on top of the `natsd-store` message stores, driven by requests on
//! the `$JS.API.>` subjects of each JetStream-enabled account.

pub mod api;
