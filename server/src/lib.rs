//! natsd: a NATS server, drop-in for nats-server v2.14.5.

pub mod account;
pub mod auth;
pub mod client;
pub mod closed;
pub mod config;
pub mod events;
pub mod feature_flags;
pub mod gsl;
pub mod jetstream;
pub mod logging;
pub mod mapping;
pub mod monitor;
pub mod msgtrace;
pub mod protocol;
pub mod proxyproto;
pub mod rate_counter;
pub mod reload;
pub mod ring;
pub mod server;
pub mod signal;
pub mod subject;
pub mod subject_transform;
pub mod sublist;
pub mod tls;
pub mod util;

/// The nats-server version natsd is compatible with; clients read it from INFO.
pub const VERSION: &str = "2.14.5";
/// Protocol version advertised in INFO.
pub const PROTO: i32 = 1;
/// natsd's own version.
pub const NATSD_VERSION: &str = env!("CARGO_PKG_VERSION");
