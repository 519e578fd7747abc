//! Server options: CLI flags (Go `flag` semantics) and, later, the config file.

pub mod cli;
pub mod conf;
pub mod options;

pub use options::Options;
