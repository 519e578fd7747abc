//! JetStream message storage for natsd.
//!
//! This crate knows nothing about the network: it stores and loads stream messages and
//! consumer state, in memory or on disk. It lives in its own crate so that it builds and
//! tests on its own, fast, and so that nothing in it can reach into connection code.
//!
//! Supporting structures, each a port of the behaviour of the Go package of the same name:
//! - [`stree`]: an adaptive radix tree keyed by subject, with wildcard matching.
//! - [`avl`]: a compact set of sequence numbers.
//! - [`thw`]: a timing hash wheel for per-message TTLs.
//! - [`ats`]: a coarse access-time clock.
pub mod avl;
pub mod cron;
pub mod file;
pub mod mem;
pub mod schedule;
pub mod store;
pub use store::*;
pub mod ats;
pub mod stree;
pub mod thw;
pub mod ttl_index;
pub mod tz;
